use super::*;
use idlink::function::answer;
use idlink::identity::ProjectId;
use idlink::store::UserStore;
use idlink::testing::fixture_cases;
use idlink::testing::{Seed, login_user};
use lambda_http::http;
use serde_json::Value;

idlink::handler_env!(Scope::UsersLink);

impl Env {
    async fn call_with(&self, token: &str, body: &str) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/users/account/link_external_id")
            .header("content-type", "application/json")
            .header("x-server-authorization", token)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }

    async fn link(&self, user: &str, external: &str) -> (u16, Value) {
        let body = json!({"user_id": user, "external_account_id": external}).to_string();
        self.call_with(&self.token, &body).await
    }

    async fn external_of(&self, user: UserId) -> Option<String> {
        self.stored(user).await.user.external_id
    }
}

#[tokio::test]
async fn links_once_and_relinking_the_same_pair_changes_nothing() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "player").await;
    let (status, body) = env.link(&user.id.to_string(), "A1234BB23").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(env.external_of(user.id).await.as_deref(), Some("A1234BB23"));
    let version = env.stored(user.id).await.user.version;

    let (status, _) = env.link(&user.id.to_string(), "A1234BB23").await;
    assert_eq!(status, 200, "idempotent");
    let after = env.stored(user.id).await;
    assert_eq!(after.user.version, version, "nothing was written");
    let externals: Vec<_> = after
        .identities
        .iter()
        .filter(|i| i.provider.as_str() == "external_id")
        .collect();
    assert_eq!(externals.len(), 1);
}

#[tokio::test]
async fn taken_and_already_set_are_two_distinct_refusals() {
    let env = env().await;
    let a = login_user(&env.app.store, &env.seed, "a").await;
    let b = login_user(&env.app.store, &env.seed, "b").await;
    assert_eq!(env.link(&a.id.to_string(), "shared").await.0, 200);

    let (status, taken) = env.link(&b.id.to_string(), "shared").await;
    assert_eq!(
        (status, taken["error"]["code"].as_str()),
        (422, Some("010-016")),
        "{taken}"
    );
    assert_eq!(env.external_of(b.id).await, None, "nothing written for b");

    let (status, different) = env.link(&a.id.to_string(), "another").await;
    assert_eq!(
        (status, different["error"]["code"].as_str()),
        (422, Some("002-027"))
    );
    assert_eq!(
        different["error"]["details"]["parameter"],
        "external_account_id"
    );
    assert_eq!(env.external_of(a.id).await.as_deref(), Some("shared"));
    // "another" stayed free: b can take it.
    assert_eq!(env.link(&b.id.to_string(), "another").await.0, 200);
}

#[tokio::test]
async fn unknown_and_foreign_users_are_not_found() {
    let env = env().await;
    let (status, body) = env.link(&UserId::new_random().to_string(), "x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );

    // A user of another project, linked with this project's token: as if it did not exist.
    let other = Seed::create(&env.app.store, None).await;
    let foreign = login_user(&env.app.store, &other, "foreign").await;
    let (status, body) = env.link(&foreign.id.to_string(), "x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );
    let stored = env
        .app
        .store
        .get_user(other.project.id, foreign.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user.external_id, None);
    assert_ne!(other.project.id, ProjectId::new_random());
}

#[tokio::test]
async fn bad_input_and_credentials() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "p")
        .await
        .id
        .to_string();
    let long = "e".repeat(257);
    let cases: Vec<(String, u16, &str)> = vec![
        (json!({"user_id": user}).to_string(), 400, "002-028"),
        (
            json!({"external_account_id": "x"}).to_string(),
            400,
            "002-028",
        ),
        (
            json!({"user_id": user, "external_account_id": ""}).to_string(),
            400,
            "002-027",
        ),
        (
            json!({"user_id": user, "external_account_id": long}).to_string(),
            400,
            "002-027",
        ),
        (
            json!({"user_id": user, "external_account_id": 5}).to_string(),
            400,
            "002-027",
        ),
        (
            json!({"user_id": "nope", "external_account_id": "x"}).to_string(),
            400,
            "002-027",
        ),
        ("{".into(), 400, "002-027"),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer) = env.call_with(&env.token, &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "case {i}"
        );
    }
    let login_only = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let body = json!({"user_id": user, "external_account_id": "x"}).to_string();
    assert_eq!(env.call_with(&login_only, &body).await.0, 401);
    assert_eq!(env.call_with("garbage", &body).await.0, 401);
    let user_token = env
        .app
        .tokens
        .issue_user_token(
            &login_user(&env.app.store, &env.seed, "p").await,
            None,
            None,
            0,
        )
        .unwrap();
    assert_eq!(
        env.call_with(&user_token, &body).await.0,
        401,
        "a user token is not enough"
    );
    assert_eq!(env.external_of(UserId::parse(&user).unwrap()).await, None);
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("link-external-id", 5).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() != 200 {
            assert!(body["error"]["code"].is_string(), "{}", case.name);
        }
    }
}

impl Env {
    async fn keyed_link(&self, key: &str, user: &str, external: &str) -> Response<Body> {
        let body = json!({"user_id": user, "external_account_id": external}).to_string();
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/users/account/link_external_id")
            .header("x-server-authorization", &self.token)
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap();
        answer::<crate::Family>(handle(&self.app, &req)).await
    }
}

#[tokio::test]
async fn a_keyed_link_is_answered_again_and_a_reused_key_is_refused() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "player").await;
    let id = user.id.to_string();
    let first = env.keyed_link("k-1", &id, "A1").await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let records = env.app.store.log_of(user.id).len();

    // The same request again: the same answer, marked, and nothing written.
    let again = env.keyed_link("k-1", &id, "A1").await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.body().as_ref(), first.body().as_ref());
    assert_eq!(env.app.store.log_of(user.id).len(), records);

    // The key with another request: 422 in Xsolla's envelope, and nothing changed.
    let other = env.keyed_link("k-1", &id, "B2").await;
    assert_eq!(other.status(), 422);
    let body: Value = serde_json::from_slice(other.body().as_ref()).unwrap();
    assert_eq!(body["error"]["code"], "002-027");
    assert_eq!(body["error"]["details"]["parameter"], "Idempotency-Key");
    assert_eq!(env.external_of(user.id).await.as_deref(), Some("A1"));

    // A malformed key is a bad parameter, before anything is read.
    let bad = env.keyed_link(&"k".repeat(256), &id, "A1").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn a_keyed_link_that_changes_nothing_keeps_its_answer() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "player").await;
    let id = user.id.to_string();
    assert_eq!(env.link(&id, "A1").await.0, 200);
    // Already linked: nothing to write, but the key's answer is kept all the same.
    let first = env.keyed_link("k-2", &id, "A1").await;
    assert_eq!(first.status(), 200);
    let again = env.keyed_link("k-2", &id, "A1").await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}
