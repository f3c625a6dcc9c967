//! The audit log: every change writes its records in the same write, a refusal writes none, a
//! delete leaves only the record of the deletion. Each case runs on both stores.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::attribute::Attribute;
use idlink::audit::{Actor, Audit, AuditKind, AuditRecord, LogQuery};
use idlink::identity::{CustomId, ExternalAccountId, IdentityKey, ProjectId, Provider, UserId};
use idlink::store::accounts::{AccountStore, LinkIdentity, Merge, Unlink};
use idlink::store::profile::{BanChange, MetadataPatch, ProfileStore, ProfileUpdate};
use idlink::store::{
    AttributeStore, AttributeWrite, AuditLogStore, CustomIdChange, CustomIdStore, DeleteStore,
    LinkStore, LoginStore, SingleLink, UserStore,
};
use idlink::user::{Ban, LoginCommand};
use idlink_tests::contract;
use serde_json::json;

/// Everything an audited change goes through, and the log.
trait Changes:
    LoginStore + LinkStore + AccountStore + AttributeStore + CustomIdStore + ProfileStore
{
}
impl<T: LoginStore + LinkStore + AccountStore + AttributeStore + CustomIdStore + ProfileStore>
    Changes for T
{
}
trait Store: Changes + UserStore + DeleteStore + AuditLogStore {}
impl<T: Changes + UserStore + DeleteStore + AuditLogStore> Store for T {}

fn by(client: &str) -> Audit {
    Audit::new(Actor::Client(client.to_owned()), "req-1")
}

fn login(project: ProjectId, custom: &str, now: i64) -> LoginCommand {
    LoginCommand {
        by: by("game-server"),
        ..LoginCommand::new(project, CustomId::parse(custom).unwrap(), now)
    }
}

fn social(platform: &str, id: &str) -> IdentityKey {
    IdentityKey::social(platform, &json!(id)).unwrap()
}

fn custom(id: &str) -> IdentityKey {
    IdentityKey::custom_id(&CustomId::parse(id).unwrap())
}

/// The whole log of a user, newest first.
async fn log(store: &impl Store, project: ProjectId, user: UserId) -> Vec<AuditRecord> {
    let q = LogQuery {
        start: 0,
        limit: LogQuery::MAX_PER_PAGE,
        with_total: true,
    };
    let page = store.user_log(project, user, q).await.unwrap();
    assert_eq!(page.total, Some(page.records.len()));
    page.records
}

fn kinds(records: &[AuditRecord]) -> Vec<AuditKind> {
    records.iter().map(|r| r.what.kind).collect()
}

fn partner_link(project: ProjectId, user: UserId, id: &str) -> SingleLink {
    SingleLink {
        now: 3,
        ..idlink_tests::partner_link(project, user, id, None)
    }
    .by(Audit::new(Actor::User(user), "req-partner"))
}

fn attach(project: ProjectId, primary: UserId, identity: IdentityKey, now: i64) -> LinkIdentity {
    LinkIdentity {
        project,
        primary,
        identity,
        primary_session: None,
        now,
        by: by("support-tool"),
    }
}

async fn every_change_writes_its_record_with_who_and_the_request(store: impl Store) {
    let project = ProjectId::new_random();
    // First login with a social profile: created, naming both identities.
    let mut first = login(project, "alice", 1);
    first.social = Some(social("steam", "765"));
    let alice = store.login(&first).await.unwrap().user;
    // A plain returning login changes no identity: no record.
    store.login(&login(project, "alice", 2)).await.unwrap();
    // A returning login attaching a social profile.
    let mut again = login(project, "alice", 2);
    again.social = Some(social("xbox", "x1"));
    store.login(&again).await.unwrap();
    let ext = ExternalAccountId::parse("ext-1").unwrap();
    store
        .link_single(&SingleLink::external_id(project, alice.id, &ext, 3).by(by("game-server")))
        .await
        .unwrap();
    let partner = partner_link(project, alice.id, &"a".repeat(40));
    store.link_single(&partner).await.unwrap();
    store
        .link_identity(&attach(project, alice.id, social("google-oauth2", "g1"), 4))
        .await
        .unwrap();
    let set = Attribute::parse_server_write_list(Some(&json!([
        {"key": "level", "value": "48", "permission": "public"}
    ])))
    .unwrap();
    store
        .write_attributes(
            &AttributeWrite::new(
                project,
                CustomId::parse("alice").unwrap(),
                set,
                vec!["gone".into()],
                5,
            )
            .by(by("game-server")),
        )
        .await
        .unwrap();
    store
        .change_custom_id(&CustomIdChange {
            project,
            user: alice.id,
            new: CustomId::parse("alice-2").unwrap(),
            now: 6,
            by: by("game-server"),
        })
        .await
        .unwrap();

    let records = log(&store, project, alice.id).await;

    assert_eq!(
        kinds(&records),
        [
            AuditKind::CustomIdChanged,
            AuditKind::AttributesWritten,
            AuditKind::IdentityLinked,
            AuditKind::PartnerLinked,
            AuditKind::ExternalIdLinked,
            AuditKind::IdentityLinked,
            AuditKind::UserCreated,
        ],
        "newest first, one record per change"
    );
    let [
        changed,
        attrs,
        attached,
        partnered,
        external,
        login_attach,
        created,
    ] = &records[..]
    else {
        unreachable!()
    };
    assert_eq!(
        created.what.identities,
        [custom("alice"), social("steam", "765")]
    );
    assert_eq!(created.when.at, 1);
    assert_eq!(login_attach.what.identities, [social("xbox", "x1")]);
    assert_eq!(external.what.identities, [IdentityKey::external_id(&ext)]);
    // The partner identifier only as its keyed hash.
    assert_eq!(partnered.what.identities, [partner.identity()]);
    assert_eq!(partnered.what.identities[0].provider, Provider::partner());
    assert_ne!(
        partnered.what.identities[0].subject.as_str(),
        "a".repeat(40)
    );
    assert_eq!(partnered.by.actor, Actor::User(alice.id));
    assert_eq!(partnered.by.request_id, "req-partner");
    assert_eq!(attached.what.identities, [social("google-oauth2", "g1")]);
    assert_eq!(attached.by.actor, Actor::Client("support-tool".into()));
    assert_eq!(attrs.what.keys, ["level", "gone"]);
    assert_eq!(
        changed.what.identities,
        [custom("alice-2"), custom("alice")]
    );
    for r in &records {
        assert_eq!((r.user, r.project), (alice.id, project));
        assert!(!r.when.log_id.is_empty());
    }
    assert_eq!(created.by.request_id, "req-1");
    assert_eq!(created.by.actor, Actor::Client("game-server".into()));
}

async fn a_merge_is_in_both_logs_and_an_unlink_in_both_users(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let mut cmd = login(project, "b", 1);
    cmd.social = Some(social("steam", "b"));
    let b = store.login(&cmd).await.unwrap().user;
    let merge = Merge {
        project,
        primary: a.id,
        secondary: b.id,
        primary_session: None,
        secondary_session: None,
        proof: None,
        now: 2,
        by: Audit::new(Actor::User(a.id), "req-merge"),
    };
    store.merge(&merge).await.unwrap();

    let primary_log = log(&store, project, a.id).await;
    let secondary_log = log(&store, project, b.id).await;
    assert_eq!(
        kinds(&primary_log),
        [AuditKind::Merged, AuditKind::UserCreated]
    );
    assert_eq!(
        kinds(&secondary_log),
        [AuditKind::MergedAway, AuditKind::UserCreated]
    );
    let moved = vec![custom("b"), social("steam", "b")];
    let (mut into, mut away) = (
        primary_log[0].what.identities.clone(),
        secondary_log[0].what.identities.clone(),
    );
    into.sort();
    away.sort();
    assert_eq!((into, away), (moved.clone(), moved));
    assert_eq!(primary_log[0].what.other, Some(b.id));
    assert_eq!(secondary_log[0].what.other, Some(a.id));
    assert_eq!(primary_log[0].by.request_id, "req-merge");

    let unlinked = store
        .unlink(&Unlink {
            project,
            primary: a.id,
            identity: social("steam", "b"),
            primary_session: None,
            now: 3,
            by: by("game-server"),
        })
        .await
        .unwrap();

    let primary_log = log(&store, project, a.id).await;
    assert_eq!(primary_log[0].what.kind, AuditKind::IdentityUnlinked);
    assert_eq!(primary_log[0].what.other, Some(unlinked.standalone));
    let standalone_log = log(&store, project, unlinked.standalone).await;
    assert_eq!(kinds(&standalone_log), [AuditKind::UserCreated]);
    assert_eq!(standalone_log[0].what.identities, [social("steam", "b")]);
    assert_eq!(standalone_log[0].what.other, Some(a.id));
}

/// Server-written attributes `k<i>` for each `i` of `range`.
fn keyed(range: std::ops::Range<usize>) -> Vec<Attribute> {
    Attribute::parse_server_write_list(Some(&json!(
        range
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect::<Vec<_>>()
    )))
    .unwrap()
}

async fn refusals_write_no_record(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let b = store.login(&login(project, "b", 1)).await.unwrap().user;
    let ext = |x: &str| ExternalAccountId::parse(x).unwrap();
    let link_ext = |user: UserId, x: &str| SingleLink::external_id(project, user, &ext(x), 2);
    store.link_single(&link_ext(a.id, "E1")).await.unwrap();
    store.link_single(&link_ext(b.id, "E3")).await.unwrap();
    for chunk in 0..Attribute::MAX_PER_USER / Attribute::MAX_PER_REQUEST {
        let from = chunk * Attribute::MAX_PER_REQUEST;
        let fill = keyed(from..from + Attribute::MAX_PER_REQUEST);
        let write = AttributeWrite::new(project, CustomId::parse("a").unwrap(), fill, vec![], 2);
        store.write_attributes(&write).await.unwrap();
    }
    let before = (
        log(&store, project, a.id).await,
        log(&store, project, b.id).await,
    );
    let past_cap = |custom: &str| {
        let custom_id = CustomId::parse(custom).unwrap();
        AttributeWrite::new(project, custom_id, keyed(1000..1001), Vec::new(), 3)
    };
    let unlink_main = Unlink {
        by: Audit::internal(),
        project,
        primary: a.id,
        identity: custom("a"),
        primary_session: None,
        now: 3,
    };
    let taken_custom_id = CustomIdChange {
        project,
        user: b.id,
        new: CustomId::parse("a").unwrap(),
        now: 3,
        by: Audit::internal(),
    };

    // The same link again answers "already linked" and changes nothing.
    store.link_single(&link_ext(a.id, "E1")).await.unwrap();
    let refused = [
        // A taken external ID; a second one on a user.
        store.link_single(&link_ext(b.id, "E1")).await.is_err(),
        store.link_single(&link_ext(a.id, "E2")).await.is_err(),
        // An identity the user already holds; a merge of users with different external IDs.
        store
            .link_identity(&attach(project, a.id, custom("a"), 3))
            .await
            .is_err(),
        store
            .link_identity(&attach(project, a.id, custom("b"), 4))
            .await
            .is_err(),
        // Unlinking the main identity; a taken custom ID.
        store.unlink(&unlink_main).await.is_err(),
        store.change_custom_id(&taken_custom_id).await.is_err(),
        // Attributes past the cap (a is full); an unknown custom ID.
        store.write_attributes(&past_cap("a")).await.is_err(),
        store.write_attributes(&past_cap("nobody")).await.is_err(),
        // Deleting a user of another project.
        store
            .delete_user(ProjectId::new_random(), a.id, &Audit::internal())
            .await
            .is_err(),
    ];

    assert_eq!(refused, [true; 9]);
    let after = (
        log(&store, project, a.id).await,
        log(&store, project, b.id).await,
    );
    assert_eq!(after, before);
}

async fn a_delete_leaves_only_its_own_record(store: impl Store) {
    let project = ProjectId::new_random();
    let mut users = Vec::new();
    for custom_id in ["a", "b", "c"] {
        users.push(
            store
                .login(&login(project, custom_id, 1))
                .await
                .unwrap()
                .user,
        );
    }
    let [a, b, c] = <[_; 3]>::try_from(users).unwrap();
    // b goes into a, which then goes into c: deleting c purges all three logs.
    store
        .link_identity(&attach(project, a.id, custom("b"), 2))
        .await
        .unwrap();
    store
        .link_identity(&attach(project, c.id, custom("a"), 3))
        .await
        .unwrap();
    let kept = store.login(&login(project, "kept", 1)).await.unwrap().user;

    store
        .delete_user(
            project,
            c.id,
            &Audit::new(Actor::Client("gdpr".into()), "req-del"),
        )
        .await
        .unwrap();

    let left = log(&store, project, c.id).await;
    assert_eq!(kinds(&left), [AuditKind::Deleted]);
    let deletion = &left[0];
    assert!(deletion.what.identities.is_empty() && deletion.what.keys.is_empty());
    assert_eq!(deletion.what.other, None);
    assert_eq!(deletion.by.actor, Actor::Client("gdpr".into()));
    assert_eq!(deletion.by.request_id, "req-del");
    assert!(log(&store, project, a.id).await.is_empty());
    assert!(log(&store, project, b.id).await.is_empty());
    assert_eq!(
        kinds(&log(&store, project, kept.id).await),
        [AuditKind::UserCreated]
    );
}

async fn the_log_pages_newest_first_and_stays_in_its_project(store: impl Store) {
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", 1)).await.unwrap().user;
    for now in 2..=6 {
        let at = usize::try_from(now).unwrap();
        store
            .write_attributes(&AttributeWrite::new(
                project,
                CustomId::parse("p").unwrap(),
                keyed(at..at + 1),
                Vec::new(),
                now,
            ))
            .await
            .unwrap();
    }
    let page = |start, limit, with_total| LogQuery {
        start,
        limit,
        with_total,
    };

    let second = store
        .user_log(project, user.id, page(2, 2, true))
        .await
        .unwrap();
    let last = store
        .user_log(project, user.id, page(4, 2, false))
        .await
        .unwrap();
    let beyond = store
        .user_log(project, user.id, page(6, 2, true))
        .await
        .unwrap();
    let foreign = store
        .user_log(ProjectId::new_random(), user.id, page(0, 10, true))
        .await
        .unwrap();

    let times = |records: &[AuditRecord]| records.iter().map(|r| r.when.at).collect::<Vec<_>>();
    assert_eq!(
        (times(&second.records), second.total),
        (vec![4, 3], Some(6))
    );
    assert_eq!((times(&last.records), last.total), (vec![2, 1], None));
    assert_eq!((beyond.records.len(), beyond.total), (0, Some(6)));
    assert_eq!((foreign.records.len(), foreign.total), (0, Some(0)));
}

/// On DynamoDB: a delete racing attribute writes to the same user still leaves only its own
/// record (a write that lands after the log was purged cancels the delete, which runs again).
#[tokio::test]
async fn a_delete_racing_writes_leaves_only_its_record() {
    let store = idlink_tests::fresh_store().await;
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "racer", 1)).await.unwrap().user;
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let custom_id = CustomId::parse("racer").unwrap();
                let write = AttributeWrite::new(project, custom_id, keyed(i..i + 1), vec![], 2);
                // Before the delete: written and recorded; after it: not found.
                let _ = store.write_attributes(&write).await;
            })
        })
        .collect();

    let deleted = store
        .delete_user(project, user.id, &Audit::internal())
        .await;
    for w in writes {
        w.await.unwrap();
    }

    deleted.unwrap();
    let logs: Vec<_> = idlink_tests::scan(&store)
        .await
        .into_iter()
        .filter(|i| i["PK"].as_s().unwrap().starts_with("LOG#"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["what"].as_s().unwrap(), "user_deleted");
}

async fn bans_blocks_and_metadata_writes_record_what_changed(store: impl Store) {
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", 1)).await.unwrap().user;
    let update = |ban: Option<BanChange>| ProfileUpdate {
        ban,
        ..ProfileUpdate::new(project, user.id, 5).by(by("support-desk"))
    };
    let ban = Ban {
        from: 5,
        to: None,
        reason: Some("Cheating".into()),
    };
    let mut metadata = update(Some(BanChange::Unblock));
    metadata.app_metadata = Some(
        MetadataPatch::parse(
            "app_metadata",
            idlink::attribute::AttrType::Server,
            &json!({"tier": "gold", "old": null}),
        )
        .unwrap(),
    );
    for cmd in [
        update(Some(BanChange::Ban(ban))),
        update(Some(BanChange::Lift)),
        update(Some(BanChange::Block)),
        metadata,
    ] {
        store.update_profile(&cmd).await.unwrap();
    }
    let before = log(&store, project, user.id).await;
    // A profile update of an unknown user, or past the attribute cap, writes no record.
    let mut unknown = update(Some(BanChange::Lift));
    unknown.user = UserId::new_random();
    // The user holds "tier": 200 client attributes more are one too many.
    let mut too_many = update(None);
    let keys: serde_json::Map<String, serde_json::Value> =
        (0..200).map(|i| (format!("k{i}"), json!(i))).collect();
    too_many.user_metadata = Some(
        MetadataPatch::parse(
            "user_metadata",
            idlink::attribute::AttrType::Client,
            &serde_json::Value::Object(keys),
        )
        .unwrap(),
    );
    assert!(store.update_profile(&unknown).await.is_err());
    assert!(store.update_profile(&too_many).await.is_err());

    assert_eq!(
        kinds(&before)[..5],
        [
            AuditKind::MetadataUpdated,
            AuditKind::Unblocked,
            AuditKind::Blocked,
            AuditKind::Unbanned,
            AuditKind::Banned,
        ]
    );
    let mut keys = before[0].what.keys.clone();
    keys.sort();
    assert_eq!(keys, ["old", "tier"]);
    assert!(before[..5].iter().all(|r| r.by == by("support-desk")));
    assert_eq!(log(&store, project, user.id).await, before);
}

contract!(
    every_change_writes_its_record_with_who_and_the_request,
    a_merge_is_in_both_logs_and_an_unlink_in_both_users,
    refusals_write_no_record,
    a_delete_leaves_only_its_own_record,
    the_log_pages_newest_first_and_stays_in_its_project,
    bans_blocks_and_metadata_writes_record_what_changed,
);
