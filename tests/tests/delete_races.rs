//! Deletes racing other writers on the local DynamoDB API: every race ends in a state a later read
//! explains, and the invariants of DESIGN.md hold over a raw scan of the table (every marker
//! points at a live user that holds the identity; no identity item without its marker).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use idlink::Error;
use idlink::identity::{CustomId, IdentityKey, ProjectId, UserId};
use idlink::store::accounts::{AccountStore, LinkIdentity};
use idlink::store::{DeleteStore, LoginStore, UserStore};
use idlink::user::LoginCommand;
use idlink_tests::{assert_identity_invariants, fresh_store, scan};
use serde_json::json;

const ROUNDS: usize = 4;
const LOGINS: usize = 6;

fn login(project: ProjectId, custom: &str) -> LoginCommand {
    let mut cmd = LoginCommand::new(project, CustomId::parse(custom).unwrap(), 1);
    cmd.social = Some(IdentityKey::social("steam", &json!(custom)).unwrap());
    cmd
}

fn custom(id: &str) -> IdentityKey {
    IdentityKey::custom_id(&CustomId::parse(id).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_delete_racing_logins_with_the_same_custom_id_leaves_at_most_one_new_user() {
    for round in 0..ROUNDS {
        let store = Arc::new(fresh_store().await);
        let project = ProjectId::new_random();
        let name = format!("p{round}");
        let old = store.login(&login(project, &name)).await.unwrap().user.id;
        let barrier = Arc::new(tokio::sync::Barrier::new(LOGINS + 1));
        let delete = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.delete_user(project, old, &Default::default()).await
            })
        };
        let logins: Vec<_> = (0..LOGINS)
            .map(|_| {
                let (store, barrier, cmd) = (store.clone(), barrier.clone(), login(project, &name));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.login(&cmd).await
                })
            })
            .collect();
        let deleted = delete.await.unwrap();
        let mut answered = Vec::new();
        for l in logins {
            answered.push(l.await.unwrap().expect("every login succeeds").user.id);
        }

        let owner = store.owner_of(project, &custom(&name)).await.unwrap();
        let new: Vec<UserId> = answered.iter().copied().filter(|u| *u != old).collect();
        match deleted {
            Ok(()) => {
                assert!(store.get_user(project, old).await.unwrap().is_none());
                // Logins after the delete made exactly one new user, which holds the custom ID.
                assert!(new.windows(2).all(|w| w[0] == w[1]), "{new:?}");
                assert_eq!(owner, new.first().copied());
            }
            // The delete kept meeting the logins: it changed nothing and may be retried.
            Err(Error::Unavailable(_)) => {
                assert!(new.is_empty());
                assert_eq!(owner, Some(old));
            }
            Err(e) => panic!("delete answered {e}"),
        }
        if let Some(owner) = owner {
            let held = store.get_user(project, owner).await.unwrap().unwrap();
            assert!(held.identities.contains(&custom(&name)));
        }
        assert_identity_invariants(&scan(&store).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_delete_racing_a_merge_is_explained_by_either_order() {
    for round in 0..ROUNDS {
        let store = Arc::new(fresh_store().await);
        let project = ProjectId::new_random();
        let (a_name, b_name) = (format!("a{round}"), format!("b{round}"));
        let a = store.login(&login(project, &a_name)).await.unwrap().user.id;
        let b = store.login(&login(project, &b_name)).await.unwrap().user.id;
        // Odd rounds delete the primary, even rounds the secondary.
        let target = if round % 2 == 0 { b } else { a };
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let delete = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .delete_user(project, target, &Default::default())
                    .await
            })
        };
        let merge = {
            let (store, barrier) = (store.clone(), barrier.clone());
            let cmd = LinkIdentity {
                project,
                primary: a,
                identity: custom(&b_name),
                primary_session: None,
                now: 2,
                by: Default::default(),
            };
            tokio::spawn(async move {
                barrier.wait().await;
                store.link_identity(&cmd).await
            })
        };
        let (deleted, merged) = (delete.await.unwrap(), merge.await.unwrap());

        let owner_b = store.owner_of(project, &custom(&b_name)).await.unwrap();
        let live_a = store.get_user(project, a).await.unwrap();
        let live_b = store.get_user(project, b).await.unwrap();
        // b survives only when the delete took a first.
        if !matches!((&deleted, &merged, target == b), (Ok(()), Err(_), false)) {
            assert!(live_b.is_none());
        }
        match (&deleted, &merged, target == b) {
            // Merge first: b is a tombstone the delete does not find; a holds b's identities.
            (Err(Error::NotFound), Ok(_), true) => {
                assert_eq!(owner_b, Some(a));
                assert!(live_a.unwrap().identities.contains(&custom(&b_name)));
            }
            // Delete first: b and its identities are gone, the merge found nothing to merge.
            (Ok(()), Err(_), true) => {
                assert_eq!(owner_b, None);
                assert_eq!(live_a.unwrap().identities.len(), 2);
            }
            // Merge first, then the delete takes a with everything merged into it.
            (Ok(()), Ok(_), false) => {
                assert!(live_a.is_none());
                assert_eq!(owner_b, None);
            }
            // Delete first: the merge's primary is gone; b is untouched.
            (Ok(()), Err(Error::NotFound), false) => {
                assert!(live_a.is_none());
                assert_eq!(owner_b, Some(b));
                assert!(live_b.is_some());
            }
            other => panic!("unexplained outcome: {other:?}"),
        }
        assert_identity_invariants(&scan(&store).await);
    }
}
