//! Account linking under concurrency and at random: opposite merges race, random sequences of
//! login, link, merge and unlink keep the identity invariants on both stores, and the handlers
//! carry a merge and an unlink end to end.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use idlink::Error;
use idlink::identity::{CustomId, IdentityKey, ProjectId, UserId};
use idlink::store::accounts::{AccountStore, LinkIdentity, Merge, Unlink};
use idlink::store::memory::MemoryStore;
use idlink::store::{LoginStore, UserStore};
use idlink::user::LoginCommand;
use idlink_tests::{assert_identity_invariants, fresh_store, kind, scan, text};
use proptest::prelude::*;
use serde_json::json;

fn login(project: ProjectId, custom: &str, social: Option<IdentityKey>) -> LoginCommand {
    LoginCommand {
        social,
        ..LoginCommand::new(project, CustomId::parse(custom).unwrap(), 1)
    }
}

fn social(platform: &str, id: &str) -> IdentityKey {
    IdentityKey::social(platform, &json!(id)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn opposite_merges_started_together_leave_exactly_one() {
    let store = fresh_store().await;
    let project = ProjectId::new_random();
    for round in 0..5 {
        let a = store
            .login(&login(
                project,
                &format!("a{round}"),
                Some(social("xbox", &format!("a{round}"))),
            ))
            .await
            .unwrap()
            .user;
        let b = store
            .login(&login(
                project,
                &format!("b{round}"),
                Some(social("psn", &format!("b{round}"))),
            ))
            .await
            .unwrap()
            .user;
        let merge = |primary: UserId, secondary: UserId| Merge {
            project,
            primary,
            secondary,
            primary_session: None,
            secondary_session: None,
            proof: None,
            now: 2,
            by: Default::default(),
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = [(a.id, b.id), (b.id, a.id)]
            .into_iter()
            .map(|(p, s)| {
                let (store, barrier, cmd) = (store.clone(), barrier.clone(), merge(p, s));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.merge(&cmd).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        let ok: Vec<_> = outcomes.iter().filter(|o| o.is_ok()).collect();
        assert_eq!(ok.len(), 1, "round {round}: {outcomes:?}");
        for failed in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            assert!(
                matches!(failed, Error::NotFound | Error::SecondaryNotFound),
                "the loser finds its partner merged away: {failed:?}"
            );
        }
        let winner = ok[0].as_ref().unwrap();
        assert_eq!(winner.identities.len(), 4);
    }
    assert_identity_invariants(&scan(&store).await);
}

// ---- model test -----------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Login { custom: u8, social: Option<u8> },
    Link { primary: u8, target: Target },
    Unlink { primary: u8, target: Target },
}

/// An identity the operations name: one of five custom IDs or three social accounts.
#[derive(Debug, Clone, Copy)]
enum Target {
    Custom(u8),
    Social(u8),
}

impl Target {
    fn key(self) -> IdentityKey {
        match self {
            Target::Custom(i) => {
                IdentityKey::custom_id(&CustomId::parse(&format!("c{i}")).unwrap())
            }
            Target::Social(i) => social("steam", &i.to_string()),
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let target = prop_oneof![
        (0u8..5).prop_map(Target::Custom),
        (0u8..3).prop_map(Target::Social)
    ];
    prop_oneof![
        3 => (0u8..5, proptest::option::of(0u8..3)).prop_map(|(custom, social)| Op::Login { custom, social }),
        3 => (0u8..5, target.clone()).prop_map(|(primary, target)| Op::Link { primary, target }),
        2 => (0u8..5, target).prop_map(|(primary, target)| Op::Unlink { primary, target }),
    ]
}

/// Runs one operation; the user a custom ID names is whoever its login lands on now.
async fn run<S: LoginStore + UserStore + AccountStore>(
    store: &S,
    project: ProjectId,
    op: &Op,
    created: &mut BTreeSet<IdentityKey>,
) {
    let user_of = |i: u8| login(project, &format!("c{i}"), None);
    let result: Result<(), Error> = match op {
        Op::Login { custom, social: s } => {
            let cmd = login(
                project,
                &format!("c{custom}"),
                s.map(|i| Target::Social(i).key()),
            );
            match store.login(&cmd).await {
                Ok(_) => {
                    created.insert(Target::Custom(*custom).key());
                    if let Some(i) = s {
                        created.insert(Target::Social(*i).key());
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Op::Link { primary, target } => {
            let p = store.login(&user_of(*primary)).await.unwrap().user.id;
            created.insert(Target::Custom(*primary).key());
            let r = store
                .link_identity(&LinkIdentity {
                    project,
                    primary: p,
                    identity: target.key(),
                    primary_session: None,
                    now: 3,
                    by: Default::default(),
                })
                .await;
            if r.is_ok() {
                created.insert(target.key());
            }
            r.map(|_| ())
        }
        Op::Unlink { primary, target } => {
            let p = store.login(&user_of(*primary)).await.unwrap().user.id;
            created.insert(Target::Custom(*primary).key());
            store
                .unlink(&Unlink {
                    project,
                    primary: p,
                    identity: target.key(),
                    primary_session: None,
                    now: 4,
                    by: Default::default(),
                })
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = result {
        assert!(
            !e.is_server_fault(),
            "{op:?} failed with a server fault: {e:?}"
        );
    }
}

fn check_memory(store: &MemoryStore, project: ProjectId, created: &BTreeSet<IdentityKey>) {
    let users = store.live_users();
    let markers: HashMap<IdentityKey, UserId> = store
        .markers()
        .into_iter()
        .filter(|(p, _, _)| *p == project)
        .map(|(_, k, u)| (k, u))
        .collect();
    for (identity, owner) in &markers {
        let user = users.iter().find(|u| u.user.id == *owner);
        assert!(
            user.is_some_and(|u| u.identities.contains(identity)),
            "marker {identity:?} → {owner}"
        );
    }
    for u in &users {
        for identity in &u.identities {
            assert_eq!(
                markers.get(identity),
                Some(&u.user.id),
                "{identity:?} of {} has no marker",
                u.user.id
            );
        }
    }
    for identity in created {
        assert!(markers.contains_key(identity), "lost {identity:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_the_invariants_in_memory(ops in proptest::collection::vec(op(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = MemoryStore::new();
            let project = ProjectId::new_random();
            let mut created = BTreeSet::new();
            for op in &ops {
                run(&store, project, op, &mut created).await;
                check_memory(&store, project, &created);
            }
        });
    }
}

proptest! {
    // Each case is a fresh table on the local DynamoDB API: fewer cases, same property.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_the_invariants_on_dynamodb(ops in proptest::collection::vec(op(), 1..16)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = fresh_store().await;
            let project = ProjectId::new_random();
            let mut created = BTreeSet::new();
            for op in &ops {
                run(&store, project, op, &mut created).await;
            }
            let items = scan(&store).await;
            assert_identity_invariants(&items);
            let markers: BTreeSet<String> = kind(&items, "marker").iter().map(|m| text(m, "PK").to_owned()).collect();
            for identity in &created {
                let pk = format!("IDENT#{project}#{}#{}", identity.provider.as_str(), identity.subject.as_str());
                assert!(markers.contains(&pk), "lost {identity:?}");
            }
        });
    }
}
