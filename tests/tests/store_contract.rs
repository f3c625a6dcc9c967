//! One contract, two stores: every case runs on the in-memory store and on the DynamoDB adapter
//! against the local DynamoDB API, and both must answer the same.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::Error;
use idlink::attribute::Attribute;
use idlink::client::{ClientId, Scope};
use idlink::identity::{CustomId, ExternalAccountId, IdentityKey, Nickname, ProjectId, UserId};
use idlink::partner::ApiKeyHash;
use idlink::store::accounts::{
    AccountStore, LinkIdentity, LinkProof, MAX_IDENTITIES_PER_USER, Merge, Unlink,
};
use idlink::store::{
    ApiKeyStore, ClientStore, LinkOutcome, LinkStore, LoginStore, SingleLink, UserStore,
};
use idlink::testing::Seed;
use idlink::user::LoginCommand;
use serde_json::json;

trait Store: LoginStore + UserStore + ClientStore + LinkStore + ApiKeyStore + AccountStore {}
impl<T: LoginStore + UserStore + ClientStore + LinkStore + ApiKeyStore + AccountStore> Store for T {}

fn login(project: ProjectId, custom: &str, now: i64) -> LoginCommand {
    LoginCommand::new(project, CustomId::parse(custom).unwrap(), now)
}

fn social(platform: &str, id: &str) -> IdentityKey {
    IdentityKey::social(platform, &json!(id)).unwrap()
}

fn attrs(keys: std::ops::Range<usize>, value: i64) -> Vec<Attribute> {
    Attribute::parse_list(Some(&json!(
        keys.map(|i| json!({"attr_type":"client","key":format!("k{i}"),"permission":"public","value":value}))
            .collect::<Vec<_>>()
    )))
    .unwrap()
}

async fn first_login_creates_then_returning_login_updates(store: impl Store) {
    let project = ProjectId::new_random();
    let mut cmd = login(project, "player-1", 1_000);
    cmd.nickname = Some(Nickname::parse("First").unwrap());
    cmd.attributes = attrs(0..2, 1);
    let first = store.login(&cmd).await.unwrap();
    assert!(first.created);
    assert_eq!(first.user.created_at, 1_000);

    let mut again = login(project, "player-1", 2_000);
    again.nickname = Some(Nickname::parse("Second").unwrap());
    again.attributes = attrs(1..3, 9);
    let second = store.login(&again).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.user.id, first.user.id);
    assert_eq!(second.user.created_at, 1_000);
    assert_eq!(second.user.last_login, 2_000);
    assert_eq!(second.user.nickname.as_ref().unwrap().as_str(), "Second");
    assert!(second.user.version > first.user.version);
    let values: Vec<(String, serde_json::Value)> = second
        .user
        .attributes
        .iter()
        .map(|a| (a.key().to_owned(), a.value()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("k0".into(), json!(1)),
            ("k1".into(), json!(9)),
            ("k2".into(), json!(9))
        ]
    );

    let stored = store
        .get_user(project, first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user, second.user);
    assert_eq!(stored.identities.len(), 1);
    assert_eq!(stored.identities[0].provider.as_str(), "server_custom_id");
    assert_eq!(stored.identities[0].subject.as_str(), "player-1");
}

async fn projects_are_isolated(store: impl Store) {
    let (a, b) = (ProjectId::new_random(), ProjectId::new_random());
    let in_a = store.login(&login(a, "same-id", 1)).await.unwrap();
    let in_b = store.login(&login(b, "same-id", 1)).await.unwrap();
    assert!(in_a.created && in_b.created);
    assert_ne!(in_a.user.id, in_b.user.id);
    assert!(store.get_user(b, in_a.user.id).await.unwrap().is_none());
    assert!(store.get_user(a, in_a.user.id).await.unwrap().is_some());
}

async fn social_profile_belongs_to_one_user(store: impl Store) {
    let project = ProjectId::new_random();
    let mut owner = login(project, "owner", 1);
    owner.social = Some(social("xbox", "42"));
    let owner = store.login(&owner).await.unwrap().user;

    // A first login claiming it is refused and creates nobody.
    let mut thief = login(project, "thief", 2);
    thief.social = Some(social("xbox", "42"));
    assert!(matches!(
        store.login(&thief).await,
        Err(Error::IdentityTaken)
    ));
    assert!(
        store
            .login(&login(project, "thief", 3))
            .await
            .unwrap()
            .created
    );
    // A returning user claiming it is refused too, and keeps only its own identity.
    let refused = store.login(&thief).await;
    assert!(matches!(refused, Err(Error::IdentityTaken)));

    // Its owner may send it again (idempotent), and the same platform ID in another project is free.
    let mut again = login(project, "owner", 4);
    again.social = Some(social("XBOX", "42"));
    assert_eq!(store.login(&again).await.unwrap().user.id, owner.id);
    let mut elsewhere = login(ProjectId::new_random(), "owner", 5);
    elsewhere.social = Some(social("xbox", "42"));
    assert!(store.login(&elsewhere).await.is_ok());

    let stored = store.get_user(project, owner.id).await.unwrap().unwrap();
    assert_eq!(stored.identities.len(), 2);
}

async fn social_profile_attaches_on_a_returning_login(store: impl Store) {
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", 1)).await.unwrap().user;
    let mut with_social = login(project, "p", 2);
    with_social.social = Some(social("steam", "7"));
    with_social.attributes = attrs(0..1, 3);
    let after = store.login(&with_social).await.unwrap().user;
    assert_eq!(after.id, user.id);
    assert_eq!(after.attributes.len(), 1);
    let stored = store.get_user(project, user.id).await.unwrap().unwrap();
    let mut providers: Vec<&str> = stored
        .identities
        .iter()
        .map(|i| i.provider.as_str())
        .collect();
    providers.sort();
    assert_eq!(providers, vec!["server_custom_id", "steam"]);
}

async fn with_logout_bumps_the_session_version(store: impl Store) {
    let project = ProjectId::new_random();
    let u = store.login(&login(project, "p", 1)).await.unwrap().user;
    assert_eq!(
        store.session_version(u.id).await.unwrap(),
        Some(u.session_version)
    );
    let mut logout = login(project, "p", 2);
    logout.end_other_sessions = true;
    let after = store.login(&logout).await.unwrap().user;
    assert_eq!(after.session_version, u.session_version + 1);
    assert_eq!(
        store.session_version(u.id).await.unwrap(),
        Some(after.session_version)
    );
    let plain = store.login(&login(project, "p", 3)).await.unwrap().user;
    assert_eq!(plain.session_version, after.session_version);
    assert_eq!(
        store
            .session_version(idlink::identity::UserId::new_random())
            .await
            .unwrap(),
        None
    );
}

async fn attributes_are_capped(store: impl Store) {
    let project = ProjectId::new_random();
    for round in 0..4 {
        let mut cmd = login(project, "p", round as i64);
        cmd.attributes = attrs(round * 50..round * 50 + 50, 1);
        store.login(&cmd).await.unwrap();
    }
    let mut over = login(project, "p", 9);
    over.attributes = attrs(500..501, 1);
    assert!(matches!(
        store.login(&over).await,
        Err(Error::TooManyAttributes)
    ));
    // Nothing of the refused login was written.
    let u = store.login(&login(project, "p", 10)).await.unwrap().user;
    assert_eq!(u.attributes.len(), 200);
    assert!(u.attributes.iter().all(|a| a.key() != "k500"));
}

async fn clients_and_projects_round_trip(store: impl Store) {
    let seed = Seed::create(&store, Some(11)).await;
    let project = store.get_project(seed.project.id).await.unwrap().unwrap();
    assert_eq!(project, seed.project);
    let client = store.get_client(&seed.client_id).await.unwrap().unwrap();
    assert_eq!(client.project, seed.project.id);
    assert_eq!(client.scopes, Scope::ALL.to_vec());
    assert!(client.secret_hash.matches(&seed.client_secret));
    assert!(
        store
            .get_client(&ClientId::new_random())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_project(ProjectId::new_random())
            .await
            .unwrap()
            .is_none()
    );
}

fn ext(s: &str) -> ExternalAccountId {
    ExternalAccountId::parse(s).unwrap()
}

async fn external_id_links_once_per_user_and_value(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let b = store.login(&login(project, "b", 1)).await.unwrap().user;
    assert_eq!(
        store
            .link_single(&SingleLink::external_id(project, a.id, &ext("X1"), 2))
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let linked = store.get_user(project, a.id).await.unwrap().unwrap();
    assert_eq!(linked.user.external_id.as_deref(), Some("X1"));
    assert!(
        linked
            .identities
            .contains(&IdentityKey::external_id(&ext("X1")))
    );

    // Same pair again: success, nothing written.
    assert_eq!(
        store
            .link_single(&SingleLink::external_id(project, a.id, &ext("X1"), 3))
            .await
            .unwrap(),
        LinkOutcome::AlreadyLinked
    );
    assert_eq!(
        store.get_user(project, a.id).await.unwrap().unwrap(),
        linked
    );

    assert!(matches!(
        store
            .link_single(&SingleLink::external_id(project, b.id, &ext("X1"), 4))
            .await,
        Err(Error::IdentityTaken)
    ));
    assert!(matches!(
        store
            .link_single(&SingleLink::external_id(project, a.id, &ext("X2"), 4))
            .await,
        Err(Error::DifferentIdentityLinked(_))
    ));
    assert!(matches!(
        store
            .link_single(&SingleLink::external_id(
                project,
                UserId::new_random(),
                &ext("X3"),
                4
            ))
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store
            .link_single(&SingleLink::external_id(
                ProjectId::new_random(),
                b.id,
                &ext("X3"),
                4
            ))
            .await,
        Err(Error::NotFound)
    ));
    // The refusals wrote nothing: b is unlinked, X2 and X3 are free.
    let b_now = store.get_user(project, b.id).await.unwrap().unwrap();
    assert_eq!(b_now.user.external_id, None);
    assert_eq!(b_now.identities.len(), 1);
    assert_eq!(
        store
            .link_single(&SingleLink::external_id(project, b.id, &ext("X2"), 5))
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    // The same value in another project belongs to nobody there.
    let c = store
        .login(&login(ProjectId::new_random(), "c", 1))
        .await
        .unwrap()
        .user;
    assert!(
        store
            .link_single(&SingleLink::external_id(c.project, c.id, &ext("X1"), 6))
            .await
            .is_ok()
    );
}

use idlink_tests::partner_link;

async fn partner_link_checks_the_session_in_the_same_write(store: impl Store) {
    let project = ProjectId::new_random();
    let u = store.login(&login(project, "u", 1)).await.unwrap().user;
    let id = "a".repeat(40);
    let stale = partner_link(project, u.id, &id, Some(u.session_version + 1));
    assert!(matches!(
        store.link_single(&stale).await,
        Err(Error::InvalidToken(idlink::TokenProblem::Revoked))
    ));
    assert_eq!(
        store
            .get_user(project, u.id)
            .await
            .unwrap()
            .unwrap()
            .user
            .partner_id,
        None
    );
    let live = partner_link(project, u.id, &id, Some(u.session_version));
    assert_eq!(store.link_single(&live).await.unwrap(), LinkOutcome::Linked);
    assert_eq!(
        store.link_single(&live).await.unwrap(),
        LinkOutcome::AlreadyLinked
    );
    let identity = live.identity();
    assert_eq!(
        store.owner_of(project, &identity).await.unwrap(),
        Some(u.id)
    );
    assert_eq!(
        store
            .owner_of(ProjectId::new_random(), &identity)
            .await
            .unwrap(),
        None
    );
    let stored = store.get_user(project, u.id).await.unwrap().unwrap();
    assert_eq!(
        stored.user.partner_id.as_deref(),
        Some(identity.subject.as_str())
    );
    assert!(
        !format!("{stored:?}").contains(&id),
        "only the keyed hash is stored"
    );
    // The external ID is a different kind: the user may hold one of each.
    assert!(
        store
            .link_single(&SingleLink::external_id(project, u.id, &ext("E"), 10))
            .await
            .is_ok()
    );
}

async fn api_keys_name_their_project(store: impl Store) {
    let project = ProjectId::new_random();
    let key = ApiKeyHash::of("idl_some-key");
    store.put_api_key(&key, project).await.unwrap();
    assert_eq!(store.api_key_project(&key).await.unwrap(), Some(project));
    assert_eq!(
        store
            .api_key_project(&ApiKeyHash::of("idl_other"))
            .await
            .unwrap(),
        None
    );
}

fn attach(project: ProjectId, primary: UserId, identity: IdentityKey) -> LinkIdentity {
    LinkIdentity {
        project,
        primary,
        identity,
        primary_session: None,
        now: 50,
        by: Default::default(),
    }
}

fn merge_cmd(project: ProjectId, primary: UserId, secondary: UserId, jti: Option<&str>) -> Merge {
    Merge {
        project,
        primary,
        secondary,
        primary_session: None,
        secondary_session: None,
        proof: jti.map(|j| LinkProof {
            jti: j.to_owned(),
            expires_at: 4_000_000_000,
        }),
        now: 60,
        by: Default::default(),
    }
}

async fn merge_moves_everything_and_tombstones_the_secondary(store: impl Store) {
    let project = ProjectId::new_random();
    let mut a_cmd = login(project, "a", 1);
    a_cmd.attributes = attrs(0..2, 1);
    let a = store.login(&a_cmd).await.unwrap().user;
    let mut b_cmd = login(project, "b", 1);
    b_cmd.social = Some(social("steam", "1"));
    b_cmd.attributes = attrs(1..3, 2);
    let b = store.login(&b_cmd).await.unwrap().user;
    store
        .link_single(&SingleLink::external_id(project, b.id, &ext("EB"), 2))
        .await
        .unwrap();

    let merged = store
        .link_identity(&attach(
            project,
            a.id,
            IdentityKey::custom_id(&CustomId::parse("b").unwrap()),
        ))
        .await
        .unwrap();
    assert_eq!(merged.identities.len(), 4, "{:?}", merged.identities);
    assert_eq!(merged.user.external_id.as_deref(), Some("EB"));
    let values: Vec<(String, serde_json::Value)> = merged
        .user
        .attributes
        .iter()
        .map(|x| (x.key().to_owned(), x.value()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("k0".into(), json!(1)),
            ("k1".into(), json!(1)),
            ("k2".into(), json!(2))
        ],
        "the primary wins on shared keys"
    );
    assert_eq!(merged.user.session_version, a.session_version + 1);
    // What the store holds is what the merge answered.
    assert_eq!(
        store.get_user(project, a.id).await.unwrap().unwrap(),
        merged
    );
    assert!(store.get_user(project, b.id).await.unwrap().is_none());
    assert_eq!(
        store.session_version(b.id).await.unwrap(),
        None,
        "b's tokens are dead"
    );
    assert_eq!(
        store
            .owner_of(project, &social("steam", "1"))
            .await
            .unwrap(),
        Some(a.id)
    );
    // Logging in by the former secondary's custom ID lands on the primary.
    let again = store.login(&login(project, "b", 3)).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.user.id, a.id);
    assert!(matches!(
        store.merge(&merge_cmd(project, a.id, b.id, None)).await,
        Err(Error::SecondaryNotFound)
    ));
}

async fn link_attaches_free_identities_and_refuses_before_writing(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let b = store.login(&login(project, "b", 1)).await.unwrap().user;
    let attached = store
        .link_identity(&attach(project, a.id, social("xbox", "9")))
        .await
        .unwrap();
    assert_eq!(attached.identities.len(), 2);
    assert_eq!(
        store.owner_of(project, &social("xbox", "9")).await.unwrap(),
        Some(a.id)
    );
    assert!(matches!(
        store
            .link_identity(&attach(project, a.id, social("xbox", "9")))
            .await,
        Err(Error::IdentityAlreadyOnUser)
    ));
    // The user's own main identity is "the same" as the new one (Auth0's 400), not a conflict.
    let main = IdentityKey::custom_id(&CustomId::parse("a").unwrap());
    assert!(matches!(
        store.link_identity(&attach(project, a.id, main)).await,
        Err(Error::SameUser)
    ));
    let nobody = IdentityKey::custom_id(&CustomId::parse("nobody").unwrap());
    assert!(matches!(
        store.link_identity(&attach(project, a.id, nobody)).await,
        Err(Error::ReservedProvider)
    ));
    assert!(matches!(
        store.merge(&merge_cmd(project, a.id, a.id, None)).await,
        Err(Error::SameUser)
    ));
    for (user, value) in [(&a, "EA"), (&b, "EB")] {
        store
            .link_single(&SingleLink::external_id(project, user.id, &ext(value), 2))
            .await
            .unwrap();
    }
    let before = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );
    assert!(matches!(
        store.merge(&merge_cmd(project, a.id, b.id, None)).await,
        Err(Error::ConflictingSingleIdentities(_))
    ));
    let mut stale = merge_cmd(project, a.id, b.id, None);
    stale.primary_session = Some(99);
    assert!(matches!(
        store.merge(&stale).await,
        Err(Error::InvalidToken(idlink::TokenProblem::Revoked))
    ));
    let after = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );
    assert_eq!(before, after, "refusals wrote nothing");
    assert!(matches!(
        store
            .link_identity(&attach(project, UserId::new_random(), social("psn", "1")))
            .await,
        Err(Error::NotFound)
    ));
}

/// `count` attributes `<prefix>0…` of ~900 bytes each, written by logins of 50.
async fn fill_attributes(store: &impl Store, project: ProjectId, custom: &str, prefix: &str) {
    let value = "x".repeat(896);
    for chunk in 0..Attribute::MAX_PER_USER / 50 {
        let mut cmd = login(project, custom, 1);
        cmd.attributes = Attribute::parse_list(Some(&json!(
            (chunk * 50..chunk * 50 + 50)
                .map(|i| json!({"attr_type":"server","key":format!("{prefix}{i}"),"permission":"private","value":value}))
                .collect::<Vec<_>>()
        )))
        .unwrap();
        store.login(&cmd).await.unwrap();
    }
}

async fn a_merge_past_the_attribute_limit_is_refused_before_writing(store: impl Store) {
    let project = ProjectId::new_random();
    fill_attributes(&store, project, "a", "a").await;
    fill_attributes(&store, project, "b", "b").await;
    let a = store.login(&login(project, "a", 2)).await.unwrap().user;
    let b = store.login(&login(project, "b", 2)).await.unwrap().user;
    assert_eq!((a.attributes.len(), b.attributes.len()), (200, 200));
    let before = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );

    let by_merge = store.merge(&merge_cmd(project, a.id, b.id, None)).await;
    let by_link = store
        .link_identity(&attach(
            project,
            a.id,
            IdentityKey::custom_id(&CustomId::parse("b").unwrap()),
        ))
        .await;

    for refused in [by_merge, by_link] {
        assert!(
            matches!(refused, Err(Error::UserLimit(limit)) if limit == "200 attributes"),
            "{refused:?}"
        );
    }
    let after = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );
    assert_eq!(before, after, "both users unchanged");
    assert_eq!(
        store
            .owner_of(
                project,
                &IdentityKey::custom_id(&CustomId::parse("b").unwrap())
            )
            .await
            .unwrap(),
        Some(b.id)
    );
}

/// Social identities attached to `user` until it holds as many of its own and social
/// identities as it may (the external ID and partner slots stay free).
async fn fill_identities(store: &impl Store, project: ProjectId, user: UserId, platform: &str) {
    let held = store.get_user(project, user).await.unwrap().unwrap();
    for i in held.identities.len()..MAX_IDENTITIES_PER_USER - 2 {
        store
            .link_identity(&attach(project, user, social(platform, &i.to_string())))
            .await
            .unwrap();
    }
}

fn identity_limit(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::UserLimit(limit)) if *limit == "32 identities")
}

async fn the_identity_cap_holds_on_attach(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    fill_identities(&store, project, a.id, "xbox").await;

    let refused = store
        .link_identity(&attach(project, a.id, social("psn", "1")))
        .await;

    assert!(identity_limit(&refused), "{refused:?}");
    assert_eq!(
        store.owner_of(project, &social("psn", "1")).await.unwrap(),
        None
    );
    // The external ID and partner identifier keep their slots: the cap is 32 with both.
    store
        .link_single(&SingleLink::external_id(project, a.id, &ext("E"), 2))
        .await
        .unwrap();
    let held = store.get_user(project, a.id).await.unwrap().unwrap();
    assert_eq!(held.identities.len(), MAX_IDENTITIES_PER_USER - 1);
}

async fn the_identity_cap_holds_on_merge(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let b = store.login(&login(project, "b", 1)).await.unwrap().user;
    for i in 0..15 {
        store
            .link_identity(&attach(project, a.id, social("xbox", &i.to_string())))
            .await
            .unwrap();
    }
    // a: 16 of its own and social identities; b: 15. Together 31 > 30.
    for i in 0..14 {
        store
            .link_identity(&attach(project, b.id, social("psn", &i.to_string())))
            .await
            .unwrap();
    }
    let before = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );

    let by_merge = store.merge(&merge_cmd(project, a.id, b.id, None)).await;
    let by_link = store
        .link_identity(&attach(project, a.id, social("psn", "0")))
        .await;

    assert!(identity_limit(&by_merge), "{by_merge:?}");
    assert!(identity_limit(&by_link), "{by_link:?}");
    let after = (
        store.get_user(project, a.id).await.unwrap(),
        store.get_user(project, b.id).await.unwrap(),
    );
    assert_eq!(before, after, "both users unchanged");
    // One identity fewer on b and the merge fits exactly.
    store
        .unlink(&Unlink {
            project,
            primary: b.id,
            identity: social("psn", "13"),
            primary_session: None,
            now: 70,
            by: Default::default(),
        })
        .await
        .unwrap();
    let merged = store
        .merge(&merge_cmd(project, a.id, b.id, None))
        .await
        .unwrap();
    assert_eq!(merged.identities.len(), MAX_IDENTITIES_PER_USER - 2);
}

async fn the_identity_cap_holds_on_login_with_a_social_profile(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    fill_identities(&store, project, a.id, "xbox").await;
    let before = store.get_user(project, a.id).await.unwrap();

    let mut with_social = login(project, "a", 5);
    with_social.social = Some(social("steam", "1"));
    let refused = store.login(&with_social).await;

    assert!(identity_limit(&refused), "{refused:?}");
    assert_eq!(store.get_user(project, a.id).await.unwrap(), before);
    assert_eq!(
        store
            .owner_of(project, &social("steam", "1"))
            .await
            .unwrap(),
        None
    );
    // A social profile it already holds still logs in.
    let mut held = login(project, "a", 6);
    held.social = Some(social("xbox", "1"));
    assert_eq!(store.login(&held).await.unwrap().user.id, a.id);
}

async fn a_returning_login_attaching_a_social_profile_answers_the_stored_user(store: impl Store) {
    let project = ProjectId::new_random();
    let mut first = login(project, "p", 1);
    first.attributes = attrs(0..2, 1);
    store.login(&first).await.unwrap();
    let mut again = login(project, "p", 7);
    again.social = Some(social("steam", "9"));
    again.nickname = Some(Nickname::parse("N").unwrap());
    again.attributes = attrs(1..3, 5);
    again.end_other_sessions = true;

    let answered = store.login(&again).await.unwrap().user;

    let stored = store.get_user(project, answered.id).await.unwrap().unwrap();
    assert_eq!(answered, stored.user);
    assert_eq!(stored.identities.len(), 2);
}

async fn a_link_proof_works_once(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let c = store.login(&login(project, "c", 1)).await.unwrap().user;
    let d = store.login(&login(project, "d", 1)).await.unwrap().user;
    store
        .merge(&merge_cmd(project, a.id, c.id, Some("jti-1")))
        .await
        .unwrap();
    assert!(matches!(
        store
            .merge(&merge_cmd(project, a.id, d.id, Some("jti-1")))
            .await,
        Err(Error::InvalidLinkWith(_))
    ));
    assert!(
        store.get_user(project, d.id).await.unwrap().is_some(),
        "d untouched"
    );
    assert!(
        store
            .merge(&merge_cmd(project, a.id, d.id, Some("jti-2")))
            .await
            .is_ok()
    );
}

async fn unlink_makes_a_standalone_user(store: impl Store) {
    let project = ProjectId::new_random();
    let a = store.login(&login(project, "a", 1)).await.unwrap().user;
    let b = store.login(&login(project, "b", 1)).await.unwrap().user;
    store
        .merge(&merge_cmd(project, a.id, b.id, None))
        .await
        .unwrap();
    let b_custom = IdentityKey::custom_id(&CustomId::parse("b").unwrap());
    let unlink = |identity: IdentityKey| Unlink {
        project,
        primary: a.id,
        identity,
        primary_session: None,
        now: 70,
        by: Default::default(),
    };
    let out = store.unlink(&unlink(b_custom.clone())).await.unwrap();
    assert_eq!(out.primary.identities.len(), 1);
    assert_eq!(
        store.get_user(project, a.id).await.unwrap().unwrap(),
        out.primary
    );
    assert_eq!(
        store.owner_of(project, &b_custom).await.unwrap(),
        Some(out.standalone)
    );
    // The custom ID logs in to its own user again.
    let relogin = store.login(&login(project, "b", 8)).await.unwrap();
    assert_eq!((relogin.user.id, relogin.created), (out.standalone, false));
    let a_custom = IdentityKey::custom_id(&CustomId::parse("a").unwrap());
    assert!(matches!(
        store.unlink(&unlink(a_custom)).await,
        Err(Error::LastIdentity)
    ));
    let again = store
        .link_identity(&attach(project, a.id, social("psn", "5")))
        .await
        .unwrap();
    assert_eq!(again.identities.len(), 2);
    let a_custom = IdentityKey::custom_id(&CustomId::parse("a").unwrap());
    assert!(matches!(
        store.unlink(&unlink(a_custom)).await,
        Err(Error::MainIdentity)
    ));
    assert!(matches!(
        store.unlink(&unlink(social("psn", "6"))).await,
        Err(Error::IdentityNotFound)
    ));
    // An external ID unlinked goes with its identity: the primary may take a new one.
    store
        .link_single(&SingleLink::external_id(project, a.id, &ext("E1"), 9))
        .await
        .unwrap();
    let out = store
        .unlink(&unlink(IdentityKey::external_id(&ext("E1"))))
        .await
        .unwrap();
    assert_eq!(out.primary.user.external_id, None);
    let standalone = store
        .get_user(project, out.standalone)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(standalone.user.external_id.as_deref(), Some("E1"));
    assert!(
        store
            .link_single(&SingleLink::external_id(project, a.id, &ext("E2"), 10))
            .await
            .is_ok()
    );
}

use idlink_tests::contract;

contract!(
    first_login_creates_then_returning_login_updates,
    projects_are_isolated,
    social_profile_belongs_to_one_user,
    social_profile_attaches_on_a_returning_login,
    with_logout_bumps_the_session_version,
    attributes_are_capped,
    clients_and_projects_round_trip,
    external_id_links_once_per_user_and_value,
    partner_link_checks_the_session_in_the_same_write,
    api_keys_name_their_project,
    merge_moves_everything_and_tombstones_the_secondary,
    link_attaches_free_identities_and_refuses_before_writing,
    a_merge_past_the_attribute_limit_is_refused_before_writing,
    the_identity_cap_holds_on_attach,
    the_identity_cap_holds_on_merge,
    the_identity_cap_holds_on_login_with_a_social_profile,
    a_returning_login_attaching_a_social_profile_answers_the_stored_user,
    a_link_proof_works_once,
    unlink_makes_a_standalone_user,
);

/// Attribute writes by custom ID (write-attributes): a module of its own, so that its cases
/// stand apart from the rest of the contract.
mod attribute_writes {
    use super::*;
    use idlink::store::{AttributeStore, AttributeWrite};
    use idlink::user::User;

    fn written(keys: impl IntoIterator<Item = String>, value: &str) -> Vec<Attribute> {
        Attribute::parse_server_write_list(Some(&json!(
            keys.into_iter()
                .map(|k| json!({"key": k, "value": value}))
                .collect::<Vec<_>>()
        )))
        .unwrap()
    }

    fn write(
        project: ProjectId,
        custom: &str,
        set: Vec<Attribute>,
        remove: &[&str],
    ) -> AttributeWrite {
        AttributeWrite::new(
            project,
            CustomId::parse(custom).unwrap(),
            set,
            remove.iter().map(|k| (*k).to_owned()).collect(),
            5_000,
        )
    }

    async fn user(store: &(impl Store + AttributeStore), project: ProjectId, id: UserId) -> User {
        store.get_user(project, id).await.unwrap().unwrap().user
    }

    async fn writes_and_removes_in_one_write_and_keeps_a_key_in_both(
        store: impl Store + AttributeStore,
    ) {
        let project = ProjectId::new_random();
        let mut cmd = login(project, "player", 1_000);
        cmd.attributes = attrs(0..3, 1);
        let before = store.login(&cmd).await.unwrap().user;

        let mut set = written(["k1".to_owned(), "fresh".to_owned()], "x");
        set.push(
            Attribute::parse_server_write(
                2,
                &json!({"key":"tier","value":"gold","attr_type":"server","permission":"public"}),
            )
            .unwrap(),
        );
        store
            .write_attributes(&write(project, "player", set, &["k0", "k1", "never_set"]))
            .await
            .unwrap();

        let after = user(&store, project, before.id).await;
        let got: Vec<(String, serde_json::Value, &str, &str)> = after
            .attributes
            .iter()
            .map(|a| {
                (
                    a.key().to_owned(),
                    a.value(),
                    a.attr_type.as_str(),
                    a.permission.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("fresh".into(), json!("x"), "client", "private"),
                ("k1".into(), json!("x"), "client", "private"),
                ("k2".into(), json!(1), "client", "public"),
                ("tier".into(), json!("gold"), "server", "public"),
            ]
        );
        assert!(after.version > before.version);
        assert_eq!(after.updated_at, 5_000);
        assert_eq!(after.session_version, before.session_version);
    }

    async fn unknown_and_foreign_custom_ids_are_not_found_and_nothing_is_written(
        store: impl Store + AttributeStore,
    ) {
        let a = ProjectId::new_random();
        let b = ProjectId::new_random();
        let held = store.login(&login(a, "player", 1_000)).await.unwrap().user;

        let set = || written(["k".to_owned()], "v");
        let unknown = store
            .write_attributes(&write(a, "nobody", set(), &[]))
            .await;
        assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
        // The custom ID is project A's: project B does not see it.
        let foreign = store
            .write_attributes(&write(b, "player", set(), &[]))
            .await;
        assert!(matches!(foreign, Err(Error::NotFound)), "{foreign:?}");
        assert_eq!(user(&store, a, held.id).await, held, "nothing written");
    }

    async fn the_attribute_cap_holds_inside_the_write(store: impl Store + AttributeStore) {
        let project = ProjectId::new_random();
        let id = store
            .login(&login(project, "full", 1_000))
            .await
            .unwrap()
            .user
            .id;
        for batch in 0..4 {
            let keys = (0..Attribute::MAX_PER_REQUEST).map(|i| format!("b{batch}_{i}"));
            store
                .write_attributes(&write(project, "full", written(keys, "v"), &[]))
                .await
                .unwrap();
        }
        let full = user(&store, project, id).await;
        assert_eq!(full.attributes.len(), Attribute::MAX_PER_USER);

        // One more is refused, also when the key it removes is not there; nothing is written.
        for remove in [&[][..], &["never_set"][..]] {
            let refused = store
                .write_attributes(&write(
                    project,
                    "full",
                    written(["one_more".to_owned()], "v"),
                    remove,
                ))
                .await;
            assert!(
                matches!(refused, Err(Error::TooManyAttributes)),
                "{refused:?}"
            );
            assert_eq!(user(&store, project, id).await, full, "nothing written");
        }

        // At the cap, an overwrite fits, and so does a replacement in one write.
        store
            .write_attributes(&write(
                project,
                "full",
                written(["b0_0".to_owned()], "w"),
                &[],
            ))
            .await
            .unwrap();
        store
            .write_attributes(&write(
                project,
                "full",
                written(["one_more".to_owned()], "v"),
                &["b0_1"],
            ))
            .await
            .unwrap();
        let after = user(&store, project, id).await;
        assert_eq!(after.attributes.len(), Attribute::MAX_PER_USER);
        assert!(after.attributes.iter().any(|a| a.key() == "one_more"));
        assert!(!after.attributes.iter().any(|a| a.key() == "b0_1"));
        let b0_0 = after.attributes.iter().find(|a| a.key() == "b0_0").unwrap();
        assert_eq!(b0_0.value(), json!("w"));
    }

    async fn a_write_follows_the_custom_id_into_a_merge(store: impl Store + AttributeStore) {
        let project = ProjectId::new_random();
        let primary = store
            .login(&login(project, "primary", 1_000))
            .await
            .unwrap()
            .user;
        let secondary = store
            .login(&login(project, "secondary", 1_000))
            .await
            .unwrap()
            .user;
        store
            .merge(&merge_cmd(project, primary.id, secondary.id, None))
            .await
            .unwrap();
        store
            .write_attributes(&write(
                project,
                "secondary",
                written(["k".to_owned()], "v"),
                &[],
            ))
            .await
            .unwrap();
        let after = user(&store, project, primary.id).await;
        assert_eq!(
            after.attributes.len(),
            1,
            "written to the user holding the custom ID"
        );
    }

    contract!(
        writes_and_removes_in_one_write_and_keeps_a_key_in_both,
        unknown_and_foreign_custom_ids_are_not_found_and_nothing_is_written,
        the_attribute_cap_holds_inside_the_write,
        a_write_follows_the_custom_id_into_a_merge,
    );
}

/// Changing a user's custom ID (issue 14): one more capability, held to the same contract.
mod custom_id_change {
    use super::*;
    use idlink::store::{CustomIdChange, CustomIdOutcome, CustomIdStore};

    trait Store: super::Store + CustomIdStore {}
    impl<T: super::Store + CustomIdStore> Store for T {}

    fn change(project: ProjectId, user: UserId, custom: &str) -> CustomIdChange {
        CustomIdChange {
            project,
            user,
            new: CustomId::parse(custom).unwrap(),
            now: 50,
            by: Default::default(),
        }
    }

    fn custom(id: &str) -> IdentityKey {
        IdentityKey::custom_id(&CustomId::parse(id).unwrap())
    }

    async fn a_change_takes_the_new_custom_id_and_frees_the_old_one(store: impl Store) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;

        let outcome = store.change_custom_id(&change(project, a.id, "a2")).await;

        assert_eq!(outcome.unwrap(), CustomIdOutcome::Changed);
        let after = store.get_user(project, a.id).await.unwrap().unwrap();
        assert_eq!(after.user.custom_id.as_ref().unwrap().as_str(), "a2");
        assert_eq!(after.identities, vec![custom("a2")]);
        assert_eq!(
            after.user.session_version,
            a.session_version + 1,
            "tokens end"
        );
        assert_eq!(after.user.version, a.version + 1);
        assert_eq!(
            store.owner_of(project, &custom("a2")).await.unwrap(),
            Some(a.id)
        );
        assert_eq!(store.owner_of(project, &custom("a")).await.unwrap(), None);
        // The new custom ID logs in to the same user; the old one is free for a new user.
        let again = store.login(&login(project, "a2", 2)).await.unwrap();
        assert_eq!((again.user.id, again.created), (a.id, false));
        let fresh = store.login(&login(project, "a", 3)).await.unwrap();
        assert!(fresh.created && fresh.user.id != a.id);
    }

    async fn the_same_custom_id_again_writes_nothing(store: impl Store) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;
        let before = store.get_user(project, a.id).await.unwrap();

        let outcome = store.change_custom_id(&change(project, a.id, "a")).await;

        assert_eq!(outcome.unwrap(), CustomIdOutcome::Unchanged);
        assert_eq!(store.get_user(project, a.id).await.unwrap(), before);
    }

    async fn a_custom_id_of_another_user_is_refused_and_nothing_changes(store: impl Store) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;
        let b = store.login(&login(project, "b", 1)).await.unwrap().user;
        let before = (
            store.get_user(project, a.id).await.unwrap(),
            store.get_user(project, b.id).await.unwrap(),
        );

        let refused = store.change_custom_id(&change(project, a.id, "b")).await;

        assert!(matches!(refused, Err(Error::IdentityTaken)), "{refused:?}");
        let after = (
            store.get_user(project, a.id).await.unwrap(),
            store.get_user(project, b.id).await.unwrap(),
        );
        assert_eq!(after, before);
        assert_eq!(
            store.owner_of(project, &custom("a")).await.unwrap(),
            Some(a.id)
        );
        assert_eq!(
            store.owner_of(project, &custom("b")).await.unwrap(),
            Some(b.id)
        );
    }

    async fn unknown_merged_and_foreign_users_are_not_found(store: impl Store) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;
        let b = store.login(&login(project, "b", 1)).await.unwrap().user;
        store
            .merge(&merge_cmd(project, a.id, b.id, None))
            .await
            .unwrap();
        let not_found = |r: Result<CustomIdOutcome, Error>| matches!(r, Err(Error::NotFound));

        assert!(not_found(
            store
                .change_custom_id(&change(project, UserId::new_random(), "x"))
                .await
        ));
        assert!(not_found(
            store.change_custom_id(&change(project, b.id, "x")).await
        ));
        let other = ProjectId::new_random();
        assert!(not_found(
            store.change_custom_id(&change(other, a.id, "x")).await
        ));
        assert_eq!(store.owner_of(project, &custom("x")).await.unwrap(), None);
        assert_eq!(store.owner_of(other, &custom("x")).await.unwrap(), None);
    }

    async fn a_custom_id_a_merge_brought_becomes_the_main_one(store: impl Store) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;
        let b = store.login(&login(project, "b", 1)).await.unwrap().user;
        store
            .merge(&merge_cmd(project, a.id, b.id, None))
            .await
            .unwrap();

        let outcome = store.change_custom_id(&change(project, a.id, "b")).await;

        assert_eq!(outcome.unwrap(), CustomIdOutcome::Changed);
        let after = store.get_user(project, a.id).await.unwrap().unwrap();
        assert_eq!(after.user.custom_id.as_ref().unwrap().as_str(), "b");
        assert_eq!(after.identities, vec![custom("b")]);
        assert_eq!(
            store.owner_of(project, &custom("b")).await.unwrap(),
            Some(a.id)
        );
        assert_eq!(store.owner_of(project, &custom("a")).await.unwrap(), None);
    }

    contract!(
        a_change_takes_the_new_custom_id_and_frees_the_old_one,
        the_same_custom_id_again_writes_nothing,
        a_custom_id_of_another_user_is_refused_and_nothing_changes,
        unknown_merged_and_foreign_users_are_not_found,
        a_custom_id_a_merge_brought_becomes_the_main_one,
    );
}

/// Deleting a user (`DeleteStore`): everything it held goes, its IDs are free, and a deleted or
/// merged-away user is not found.
mod delete {
    use super::*;
    use idlink::store::DeleteStore;

    trait DeletingStore: Store + DeleteStore {}
    impl<T: Store + DeleteStore> DeletingStore for T {}

    /// A partner identifier of its own for each custom ID.
    fn partner_of(custom: &str) -> String {
        format!("{custom:0>40}")
    }

    /// A user holding a custom ID, a social ID, an external ID and a partner identifier.
    async fn full_user(store: &impl DeletingStore, project: ProjectId, custom: &str) -> UserId {
        let mut cmd = login(project, custom, 1);
        cmd.social = Some(social("steam", custom));
        let user = store.login(&cmd).await.unwrap().user;
        store
            .link_single(&SingleLink::external_id(project, user.id, &ext(custom), 2))
            .await
            .unwrap();
        store
            .link_single(&partner_link(project, user.id, &partner_of(custom), None))
            .await
            .unwrap();
        user.id
    }

    async fn delete_frees_every_id_of_the_user(store: impl DeletingStore) {
        let project = ProjectId::new_random();
        let id = full_user(&store, project, "gone").await;
        let held = store.get_user(project, id).await.unwrap().unwrap();
        assert_eq!(held.identities.len(), 4);

        store
            .delete_user(project, id, &Default::default())
            .await
            .unwrap();

        assert!(store.get_user(project, id).await.unwrap().is_none());
        assert_eq!(
            store.session_version(id).await.unwrap(),
            None,
            "every token's session check fails"
        );
        for identity in &held.identities {
            assert_eq!(store.owner_of(project, identity).await.unwrap(), None);
        }
        let again = store.login(&login(project, "gone", 3)).await.unwrap();
        assert!(again.created, "the custom ID makes a new user");
        assert_ne!(again.user.id, id);
        let other = store.login(&login(project, "other", 3)).await.unwrap().user;
        for link in [
            SingleLink::external_id(project, other.id, &ext("gone"), 4),
            partner_link(project, other.id, &partner_of("gone"), None),
        ] {
            assert_eq!(store.link_single(&link).await.unwrap(), LinkOutcome::Linked);
        }
        let mut with_social = login(project, "gone", 5);
        with_social.social = Some(social("steam", "gone"));
        assert_eq!(
            store.login(&with_social).await.unwrap().user.id,
            again.user.id
        );
    }

    async fn a_second_delete_an_unknown_and_a_foreign_user_are_not_found(
        store: impl DeletingStore,
    ) {
        let project = ProjectId::new_random();
        let id = full_user(&store, project, "u").await;
        let kept = store.login(&login(project, "kept", 1)).await.unwrap().user;
        assert!(matches!(
            store
                .delete_user(ProjectId::new_random(), id, &Default::default())
                .await,
            Err(Error::NotFound)
        ));
        assert!(store.get_user(project, id).await.unwrap().is_some());

        store
            .delete_user(project, id, &Default::default())
            .await
            .unwrap();

        for gone in [id, UserId::new_random()] {
            assert!(matches!(
                store.delete_user(project, gone, &Default::default()).await,
                Err(Error::NotFound)
            ));
        }
        assert_eq!(
            store
                .get_user(project, kept.id)
                .await
                .unwrap()
                .unwrap()
                .user,
            kept
        );
    }

    async fn a_merged_away_user_is_not_found_and_its_primary_deletes_with_everything(
        store: impl DeletingStore,
    ) {
        let project = ProjectId::new_random();
        let a = store.login(&login(project, "a", 1)).await.unwrap().user;
        let b = full_user(&store, project, "b").await;
        store
            .link_identity(&attach(
                project,
                a.id,
                IdentityKey::custom_id(&CustomId::parse("b").unwrap()),
            ))
            .await
            .unwrap();

        assert!(matches!(
            store.delete_user(project, b, &Default::default()).await,
            Err(Error::NotFound)
        ));
        let merged = store.get_user(project, a.id).await.unwrap().unwrap();
        assert_eq!(merged.identities.len(), 5);
        store
            .delete_user(project, a.id, &Default::default())
            .await
            .unwrap();
        for identity in &merged.identities {
            assert_eq!(store.owner_of(project, identity).await.unwrap(), None);
        }
    }

    async fn a_user_at_the_identity_cap_deletes_in_one_step(store: impl DeletingStore) {
        let project = ProjectId::new_random();
        let id = full_user(&store, project, "full").await;
        for i in 0..MAX_IDENTITIES_PER_USER - 4 {
            store
                .link_identity(&attach(project, id, social("xbox", &i.to_string())))
                .await
                .unwrap();
        }
        let held = store.get_user(project, id).await.unwrap().unwrap();
        assert_eq!(held.identities.len(), MAX_IDENTITIES_PER_USER);

        store
            .delete_user(project, id, &Default::default())
            .await
            .unwrap();

        for identity in &held.identities {
            assert_eq!(store.owner_of(project, identity).await.unwrap(), None);
        }
    }

    contract!(
        delete_frees_every_id_of_the_user,
        a_second_delete_an_unknown_and_a_foreign_user_are_not_found,
        a_merged_away_user_is_not_found_and_its_primary_deletes_with_everything,
        a_user_at_the_identity_cap_deletes_in_one_step,
    );

    /// On DynamoDB, over a raw scan: nothing is left under the user's partition and no marker
    /// points at it.
    #[tokio::test]
    async fn nothing_of_a_deleted_user_is_left_in_the_table() {
        let store = idlink_tests::fresh_store().await;
        let project = ProjectId::new_random();
        let id = full_user(&store, project, "gone").await;
        let kept = full_user(&store, project, "kept").await;

        store
            .delete_user(project, id, &Default::default())
            .await
            .unwrap();

        let items = idlink_tests::scan(&store).await;
        let partition = format!("USER#{id}");
        assert!(
            items
                .iter()
                .all(|i| idlink_tests::text(i, "PK") != partition),
            "an item is left under the deleted user"
        );
        assert!(
            idlink_tests::kind(&items, "marker")
                .iter()
                .all(|m| idlink_tests::text(m, "user_id") != id.to_string()),
            "a marker still points at the deleted user"
        );
        let kept_partition = format!("USER#{kept}");
        assert_eq!(
            items
                .iter()
                .filter(|i| idlink_tests::text(i, "PK") == kept_partition)
                .count(),
            5,
            "the other user keeps its profile and four identities"
        );
        idlink_tests::assert_identity_invariants(&items);
    }
}
