//! Bans and profile updates on the local DynamoDB API, alone and racing logins: every race ends in
//! a state a later read explains — a ban that is written holds against every login after it and
//! every token minted before it — and no concurrent write is lost.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use idlink::Error;
use idlink::attribute::{AttrType, Attribute};
use idlink::identity::{CustomId, ProjectId};
use idlink::store::profile::{BanChange, MetadataPatch, ProfileStore, ProfileUpdate};
use idlink::store::{LoginStore, UserStore};
use idlink::user::{Ban, LoginCommand};
use idlink_tests::{assert_identity_invariants, fresh_store, scan};
use serde_json::json;

const ROUNDS: usize = 4;
const LOGINS: usize = 6;
const NOW: i64 = 1_800_000_000;

fn login(project: ProjectId, custom: &str, at: i64) -> LoginCommand {
    LoginCommand::new(project, CustomId::parse(custom).unwrap(), at)
}

fn ban(
    project: ProjectId,
    user: idlink::identity::UserId,
    from: i64,
    to: Option<i64>,
) -> ProfileUpdate {
    let mut update = ProfileUpdate::new(project, user, NOW);
    update.ban = Some(BanChange::Ban(Ban {
        from,
        to,
        reason: Some("Cheating — ×2".into()),
    }));
    update
}

#[tokio::test]
async fn a_ban_is_stored_read_by_the_session_check_and_lifted() {
    let store = fresh_store().await;
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", NOW)).await.unwrap().user;

    let banned = store
        .update_profile(&ban(project, user.id, NOW - 5, Some(NOW + 60)))
        .await
        .unwrap();

    let session = store.session(user.id).await.unwrap().unwrap();
    assert_eq!(session.ban, banned.user.ban);
    assert_eq!(session.version, user.session_version + 1);
    assert_eq!(
        store.get_user(project, user.id).await.unwrap().unwrap(),
        banned
    );
    assert!(matches!(
        store.login(&login(project, "p", NOW)).await,
        Err(Error::Banned)
    ));
    // Past `date_to` the login goes through again; before `date_from` it did too.
    store.login(&login(project, "p", NOW + 60)).await.unwrap();

    let mut lift = ProfileUpdate::new(project, user.id, NOW);
    lift.ban = Some(BanChange::Lift);
    store.update_profile(&lift).await.unwrap();

    assert_eq!(store.session(user.id).await.unwrap().unwrap().ban, None);
    store.login(&login(project, "p", NOW)).await.unwrap();
}

#[tokio::test]
async fn a_login_bringing_a_social_profile_is_refused_while_a_ban_holds() {
    let store = fresh_store().await;
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", NOW)).await.unwrap().user;
    store
        .update_profile(&ban(project, user.id, NOW - 5, None))
        .await
        .unwrap();
    let before = scan(&store).await;

    let mut cmd = login(project, "p", NOW);
    cmd.social = Some(idlink::identity::IdentityKey::social("steam", &json!("7656")).unwrap());

    assert!(matches!(store.login(&cmd).await, Err(Error::Banned)));
    assert_eq!(scan(&store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_ban_racing_logins_leaves_no_login_after_it_and_no_live_token_from_before_it() {
    for round in 0..ROUNDS {
        let store = Arc::new(fresh_store().await);
        let project = ProjectId::new_random();
        let name = format!("p{round}");
        let user = store.login(&login(project, &name, NOW)).await.unwrap().user;
        let barrier = Arc::new(tokio::sync::Barrier::new(LOGINS + 1));
        let banning = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .update_profile(&ban(project, user.id, NOW - 1, None))
                    .await
            })
        };
        let logins: Vec<_> = (0..LOGINS)
            .map(|_| {
                let (store, barrier, cmd) =
                    (store.clone(), barrier.clone(), login(project, &name, NOW));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.login(&cmd).await
                })
            })
            .collect();
        banning.await.unwrap().expect("the ban is written");
        let session = store.session(user.id).await.unwrap().unwrap();
        for l in logins {
            match l.await.unwrap() {
                // A login that won the race got a session version the ban has since replaced:
                // a token minted from it is refused.
                Ok(outcome) => assert!(outcome.user.session_version < session.version),
                Err(Error::Banned) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert!(session.banned_at(NOW));
        assert!(matches!(
            store.login(&login(project, &name, NOW)).await,
            Err(Error::Banned)
        ));
        assert_identity_invariants(&scan(&store).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn metadata_updates_racing_logins_lose_no_write() {
    let store = Arc::new(fresh_store().await);
    let project = ProjectId::new_random();
    let user = store.login(&login(project, "p", NOW)).await.unwrap().user;
    let barrier = Arc::new(tokio::sync::Barrier::new(2 * LOGINS));
    let mut tasks = Vec::new();
    for i in 0..LOGINS {
        let (s, b) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let (store, barrier) = (s, b);
            let mut update = ProfileUpdate::new(project, user.id, NOW);
            update.app_metadata = Some(
                MetadataPatch::parse(
                    "app_metadata",
                    AttrType::Server,
                    &json!({ format!("m{i}"): i }),
                )
                .unwrap(),
            );
            barrier.wait().await;
            store.update_profile(&update).await.map(|_| ())
        }));
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut cmd = login(project, "p", NOW);
            cmd.attributes = Attribute::parse_list(Some(&json!([
                {"attr_type":"client","key":format!("l{i}"),"permission":"public","value":i}
            ])))
            .unwrap();
            barrier.wait().await;
            store.login(&cmd).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every write lands");
    }

    let after = store
        .get_user(project, user.id)
        .await
        .unwrap()
        .unwrap()
        .user;
    let mut keys: Vec<&str> = after.attributes.iter().map(|a| a.key()).collect();
    keys.sort_unstable();
    let mut expected: Vec<String> = (0..LOGINS)
        .flat_map(|i| [format!("l{i}"), format!("m{i}")])
        .collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}
