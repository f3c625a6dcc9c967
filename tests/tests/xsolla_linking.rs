//! Linking external IDs through the real handlers on the local DynamoDB API: the races of
//! invariant 2, and the whole Xsolla flow (login → link → login → /users/me → with_logout).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink_tests::{post, status_and_body};

use idlink::function::answer;
use std::collections::HashMap;
use std::sync::Arc;

use idlink::client::Scope;
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, login_user};
use idlink::token::TokenService;
use idlink_tests::{assert_identity_invariants, fresh_store, kind, scan, text};
use lambda_http::http;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};

struct Stack {
    store: DynamoStore,
    seed: Seed,
    login: idlink::function::App<DynamoStore>,
    link: Arc<idlink::function::App<DynamoStore>>,
    me: idlink::function::App<DynamoStore>,
    server_token: String,
}

fn tokens_with(keys: &str) -> TokenService {
    TokenService::new(
        idlink::keys::KeySet::from_json(keys).unwrap(),
        idlink::testing::TEST_ISSUER,
    )
}

async fn stack() -> Stack {
    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let keys = idlink::testing::test_key_json();
    let server_token = seed.server_token(&tokens_with(&keys), &Scope::ALL);
    Stack {
        login: idlink::function::App {
            store: store.clone(),
            tokens: tokens_with(&keys).into(),
        },
        link: Arc::new(idlink::function::App {
            store: store.clone(),
            tokens: tokens_with(&keys).into(),
        }),
        me: idlink::function::App {
            store: store.clone(),
            tokens: tokens_with(&keys).into(),
        },
        store,
        seed,
        server_token,
    }
}

impl Stack {
    async fn login(&self, custom_id: &str, with_logout: bool) -> String {
        let mut req = post(
            "/users/login/server_custom_id",
            &self.server_token,
            &json!({"server_custom_id": custom_id}),
        );
        if with_logout {
            req = req.with_query_string_parameters(HashMap::from([(
                "with_logout".to_owned(),
                "1".to_owned(),
            )]));
        }
        let (status, body) = status_and_body(
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&self.login, &req))
                .await,
        );
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn me(&self, user_token: &str) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("GET")
            .uri("/users/me")
            .header("authorization", format!("Bearer {user_token}"))
            .body(Body::Empty)
            .unwrap();
        status_and_body(answer::<get_me::Family>(get_me::handler::handle(&self.me, &req)).await)
    }

    /// Runs one link request per (user, external id) concurrently.
    async fn race(&self, pairs: Vec<(String, String)>) -> Vec<(u16, Value)> {
        let barrier = Arc::new(tokio::sync::Barrier::new(pairs.len()));
        let tasks: Vec<_> = pairs
            .into_iter()
            .map(|(user, external)| {
                let req = post(
                    "/users/account/link_external_id",
                    &self.server_token,
                    &json!({"user_id": user, "external_account_id": external}),
                );
                let (app, barrier) = (self.link.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    status_and_body(
                        answer::<link_external_id::Family>(link_external_id::handler::handle(
                            &app, &req,
                        ))
                        .await,
                    )
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

fn external_markers(items: &[idlink_tests::Item]) -> Vec<&idlink_tests::Item> {
    kind(items, "marker")
        .into_iter()
        .filter(|m| text(m, "PK").contains("#external_id#"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn one_external_id_raced_by_50_users_has_one_owner() {
    let s = stack().await;
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(
            login_user(&s.store, &s.seed, &format!("player-{i}"))
                .await
                .id
                .to_string(),
        );
    }
    let answers = s
        .race(
            users
                .iter()
                .map(|u| (u.clone(), "THE-ONE".to_owned()))
                .collect(),
        )
        .await;
    let winners: Vec<usize> = (0..50).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (422, Some("010-016")),
            "{body}"
        );
    }
    let items = scan(&s.store).await;
    let markers = external_markers(&items);
    assert_eq!(markers.len(), 1);
    assert_eq!(text(markers[0], "user_id"), users[winners[0]]);
    let holders: Vec<_> = kind(&items, "user")
        .into_iter()
        .filter(|u| u.contains_key("external_id"))
        .collect();
    assert_eq!(holders.len(), 1, "one profile holds it");
    assert_identity_invariants(&items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_external_ids_raced_onto_one_user_leave_one() {
    let s = stack().await;
    let user = login_user(&s.store, &s.seed, "target").await.id.to_string();
    let answers = s
        .race(
            (0..50)
                .map(|i| (user.clone(), format!("EXT-{i}")))
                .collect(),
        )
        .await;
    let winners: Vec<usize> = (0..50).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (422, Some("002-027")),
            "{body}"
        );
    }
    let items = scan(&s.store).await;
    let markers = external_markers(&items);
    assert_eq!(markers.len(), 1, "no marker for the 49 losers");
    assert!(text(markers[0], "PK").ends_with(&format!("EXT-{}", winners[0])));
    assert_identity_invariants(&items);
}

#[tokio::test]
async fn login_link_login_me_and_with_logout_end_to_end() {
    let s = stack().await;
    let first = s.login("hero", false).await;
    let claims = s.login.tokens.user_claims(&first).unwrap();
    assert_eq!(claims.external_account_id, None);

    let req = post(
        "/users/account/link_external_id",
        &s.server_token,
        &json!({"user_id": claims.sub, "external_account_id": "A1234BB23"}),
    );
    let (status, body) = status_and_body(
        answer::<link_external_id::Family>(link_external_id::handler::handle(&s.link, &req)).await,
    );
    assert_eq!(status, 200, "{body}");

    let second = s.login("hero", false).await;
    let claims2 = s.login.tokens.user_claims(&second).unwrap();
    assert_eq!(claims2.sub, claims.sub);
    assert_eq!(claims2.external_account_id.as_deref(), Some("A1234BB23"));

    let (status, me) = s.me(&second).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], claims.sub.as_str());
    assert_eq!(me["external_id"], "A1234BB23");
    let providers: Vec<&str> = me["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    assert!(providers.contains(&"external_id") && providers.contains(&"server_custom_id"));
    assert_eq!(
        s.me(&first).await.0,
        200,
        "earlier tokens live until with_logout"
    );

    let third = s.login("hero", true).await;
    for old in [&first, &second] {
        let (status, body) = s.me(old).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("002-016"))
        );
    }
    assert_eq!(s.me(&third).await.0, 200);
}
