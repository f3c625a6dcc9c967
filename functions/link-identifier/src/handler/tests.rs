use super::*;
use idlink::function::answer;
use idlink::store::UserStore;
use idlink::store::memory::MemoryStore;
use idlink::testing::fixture_cases;
use idlink::testing::{Seed, login_user, seeded_memory_store, test_tokens};
use idlink::user::LoginCommand;
use lambda_http::http;

const ID: &str = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";

async fn env() -> (App<MemoryStore>, Seed) {
    let (store, seed) = seeded_memory_store().await;
    (
        idlink::function::App {
            store,
            tokens: test_tokens().into(),
        },
        seed,
    )
}

async fn call<S: LinkStore + idlink::store::OnceStore>(
    app: &App<S>,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let req: Request = http::Request::builder()
        .method("POST")
        .uri("/api/v2/user/link-identifier")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = answer::<crate::Family>(handle(app, &req)).await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap(),
    )
}

fn token_of(app: &App<MemoryStore>, user: &idlink::user::User) -> String {
    app.tokens
        .issue_user_token(user, None, None, idlink::clock::now())
        .unwrap()
}

#[tokio::test]
async fn links_to_the_token_user_only_and_stores_no_raw_identifier() {
    let (app, seed) = env().await;
    let me = login_user(&app.store, &seed, "me").await;
    let other = login_user(&app.store, &seed, "other").await;
    let (status, body) = call(
        &app,
        &token_of(&app, &me),
        json!({"identifier": ID, "user_id": other.id.to_string()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mine = app
        .store
        .get_user(seed.project.id, me.id)
        .await
        .unwrap()
        .unwrap();
    let theirs = app
        .store
        .get_user(seed.project.id, other.id)
        .await
        .unwrap()
        .unwrap();
    assert!(mine.user.partner_id.is_some());
    assert_eq!(
        theirs.user.partner_id, None,
        "a user_id in the body is ignored"
    );
    let stored = format!("{mine:?}");
    assert!(!stored.contains(ID), "the raw identifier is never stored");
    assert!(!stored.to_lowercase().contains(&ID[..16]));

    let (status, _) = call(&app, &token_of(&app, &me), json!({"identifier": ID})).await;
    assert_eq!(status, 200, "idempotent");
    let (status, body) = call(&app, &token_of(&app, &other), json!({"identifier": ID})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("ER706")));
    let (status, body) = call(
        &app,
        &token_of(&app, &me),
        json!({"identifier": "b".repeat(40)}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ER706")),
        "one per user"
    );
    assert_eq!(body["message"], "User identifier is invalid.");
}

#[tokio::test]
async fn an_ended_session_cannot_link() {
    let (app, seed) = env().await;
    let me = login_user(&app.store, &seed, "me").await;
    let old = token_of(&app, &me);
    let relogin = LoginCommand {
        project: seed.project.id,
        custom_id: me.custom_id.clone().unwrap(),
        nickname: None,
        attributes: Vec::new(),
        social: None,
        end_other_sessions: true,
        now: 1,
        by: Default::default(),
    };
    idlink::store::LoginStore::login(&app.store, &relogin)
        .await
        .unwrap();
    let (status, body) = call(&app, &old, json!({"identifier": ID})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("ER702")),
        "{body}"
    );
    let after = app
        .store
        .get_user(seed.project.id, me.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.user.partner_id, None, "nothing written");
}

#[tokio::test]
async fn event_fixtures_cover_every_code_of_the_endpoint() {
    for case in fixture_cases("link-identifier", 12).await {
        let resp = if case.name.contains("ER999") {
            answer::<crate::Family>(handle(&case.broken(), &case.request)).await
        } else {
            answer::<crate::Family>(handle(&case.app, &case.request)).await
        };
        case.expect_partner(resp);
    }
}

async fn keyed_call<S: LinkStore + idlink::store::OnceStore>(
    app: &App<S>,
    token: &str,
    key: &str,
    body: Value,
) -> Response<Body> {
    let req: Request = http::Request::builder()
        .method("POST")
        .uri("/api/v2/user/link-identifier")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    answer::<crate::Family>(handle(app, &req)).await
}

#[tokio::test]
async fn a_keyed_link_replays_and_a_reused_key_gets_the_partner_envelope() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let token = app
        .tokens
        .issue_user_token(&user, None, None, now())
        .unwrap();
    let first = keyed_call(&app, &token, "k", json!({ "identifier": ID })).await;
    assert_eq!(first.status(), 200);
    let again = keyed_call(&app, &token, "k", json!({ "identifier": ID })).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.body().as_ref(), first.body().as_ref());

    let other_id = ID.replace('c', "d");
    let reused = keyed_call(&app, &token, "k", json!({ "identifier": other_id })).await;
    assert_eq!(reused.status(), 422);
    let body: Value = serde_json::from_slice(reused.body().as_ref()).unwrap();
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED");

    let bad = keyed_call(&app, &token, "a b", json!({ "identifier": ID })).await;
    assert_eq!(bad.status(), 400);
    let body: Value = serde_json::from_slice(bad.body().as_ref()).unwrap();
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_INVALID");
}
