//! Races through the real login handler on the local DynamoDB API: uniqueness must come from the
//! store's conditions, so these fail if any path checks with a read before it writes.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::function::answer;
use std::sync::Arc;

use auth_custom_id::handler::handle;
use idlink::client::Scope;
use idlink::function::App;
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, test_tokens};
use idlink_tests::{assert_identity_invariants, fresh_store, kind, scan, text};
use lambda_http::http;
use lambda_http::{Body, Request};
use serde_json::Value;

const CALLERS: usize = 50;

fn login_request(token: &str, body: String) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/users/login/server_custom_id")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap()
}

async fn setup() -> (Arc<App<DynamoStore>>, DynamoStore, String) {
    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let tokens = test_tokens();
    let token = seed.server_token(&tokens, &[Scope::UsersLogin]);
    let app = Arc::new(App {
        store: store.clone(),
        tokens: tokens.into(),
    });
    (app, store, token)
}

/// Runs one request per body concurrently; answers (status, body) in order.
async fn race(app: &Arc<App<DynamoStore>>, token: &str, bodies: Vec<String>) -> Vec<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (app, barrier, req) = (app.clone(), barrier.clone(), login_request(token, body));
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = answer::<auth_custom_id::Family>(handle(&app, &req)).await;
                let status = resp.status().as_u16();
                (
                    status,
                    serde_json::from_slice(resp.body().as_ref()).unwrap(),
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

fn subject(app: &App<DynamoStore>, body: &Value) -> String {
    app.tokens
        .verify_user_token(body["token"].as_str().unwrap())
        .unwrap()
        .user
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_first_logins_create_exactly_one_user_and_all_get_200() {
    let (app, store, token) = setup().await;
    let body = r#"{"server_custom_id":"brand-new-player"}"#.to_owned();
    let answers = race(&app, &token, vec![body; CALLERS]).await;

    for (status, body) in &answers {
        assert_eq!(
            *status, 200,
            "every caller gets a token, never a 5xx: {body}"
        );
    }
    let first = subject(&app, &answers[0].1);
    assert!(
        answers.iter().all(|(_, b)| subject(&app, b) == first),
        "one user for all"
    );

    let items = scan(&store).await;
    let users = kind(&items, "user");
    assert_eq!(users.len(), 1, "exactly one user in the table");
    assert_eq!(text(users[0], "PK"), format!("USER#{first}"));
    assert_eq!(kind(&items, "marker").len(), 1);
    assert_eq!(kind(&items, "identity").len(), 1);
    assert_identity_invariants(&items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_claims_of_one_social_profile_have_one_winner() {
    let (app, store, token) = setup().await;
    let bodies = (0..20)
        .map(|i| {
            format!(
                r#"{{"server_custom_id":"player-{i}","social_profile":{{"platform":"psn","user_id":"shared"}}}}"#
            )
        })
        .collect();
    let answers = race(&app, &token, bodies).await;
    let winners: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 422, "{body}");
        assert_eq!(body["error"]["code"], "010-016");
    }
    let items = scan(&store).await;
    assert_eq!(kind(&items, "user").len(), 1, "losers created nobody");
    let social: Vec<_> = kind(&items, "marker")
        .into_iter()
        .filter(|m| text(m, "PK").contains("#psn#"))
        .collect();
    assert_eq!(social.len(), 1);
    assert_eq!(text(social[0], "user_id"), subject(&app, &winners[0].1));
    assert_identity_invariants(&items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_with_logout_logins_leave_one_live_token() {
    let (app, store, token) = setup().await;
    let body = r#"{"server_custom_id":"p"}"#.to_owned();
    race(&app, &token, vec![body.clone()]).await;
    let answers = race(&app, &token, vec![body; 10]).await;
    assert!(answers.iter().all(|(s, _)| *s == 200));
    // Ten logins with_logout=0 all stay valid; then one with_logout=1 ends them all.
    let tokens: Vec<String> = answers
        .iter()
        .map(|(_, b)| b["token"].as_str().unwrap().to_owned())
        .collect();
    for t in &tokens {
        assert!(app.tokens.verify_user_session(t, &store).await.is_ok());
    }
    let req = login_request(&token, r#"{"server_custom_id":"p"}"#.into());
    let req = lambda_http::RequestExt::with_query_string_parameters(
        req,
        std::collections::HashMap::from([("with_logout".to_owned(), "1".to_owned())]),
    );
    let resp = answer::<auth_custom_id::Family>(handle(&app, &req)).await;
    assert_eq!(resp.status(), 200);
    let fresh: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    for t in &tokens {
        assert!(app.tokens.verify_user_session(t, &store).await.is_err());
    }
    let fresh = fresh["token"].as_str().unwrap();
    assert!(app.tokens.verify_user_session(fresh, &store).await.is_ok());
}

/// Concurrent attribute writes at the edge of the per-user cap: the cap is in the write's
/// condition, so exactly the writes that fit succeed and the user never holds more than 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_attribute_writes_never_pass_the_cap() {
    use idlink::attribute::Attribute;
    use idlink::identity::CustomId;
    use idlink::store::{AttributeStore, AttributeWrite, UserStore};

    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let user = idlink::testing::login_user(&store, &seed, "near-the-cap").await;
    let write = |keys: Vec<String>| {
        let set = Attribute::parse_server_write_list(Some(&serde_json::json!(
            keys.iter()
                .map(|k| serde_json::json!({"key": k, "value": "v"}))
                .collect::<Vec<_>>()
        )))
        .unwrap();
        let custom_id = CustomId::parse("near-the-cap").unwrap();
        AttributeWrite::new(seed.project.id, custom_id, set, Vec::new(), 1)
    };
    let room = 10;
    let held = Attribute::MAX_PER_USER - room;
    for chunk in (0..held)
        .collect::<Vec<_>>()
        .chunks(Attribute::MAX_PER_REQUEST)
    {
        let keys = chunk.iter().map(|i| format!("held_{i}")).collect();
        store.write_attributes(&write(keys)).await.unwrap();
    }

    let racers = 2 * room;
    let mut tasks = Vec::new();
    for i in 0..racers {
        let (store, w) = (store.clone(), write(vec![format!("new_{i}")]));
        tasks.push(tokio::spawn(
            async move { store.write_attributes(&w).await },
        ));
    }
    let mut written = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => written += 1,
            Err(idlink::Error::TooManyAttributes) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!(written, room, "exactly the writes that fit");
    let after = store
        .get_user(seed.project.id, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.user.attributes.len(), Attribute::MAX_PER_USER);
}
