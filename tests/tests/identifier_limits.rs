//! Identifiers at and beyond their byte limits, through the real handlers on the local DynamoDB
//! API: the longest identifier each family accepts makes keys DynamoDB takes (200/201), one
//! beyond it answers 400 in the family's envelope, and neither a refusal nor a format character
//! writes anything.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink_tests::{post, status_and_body};

use idlink::function::answer;
use std::collections::HashMap;

use idlink::client::Scope;
use idlink::identity::{CustomId, Provider};
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, login_user, tokens_from};
use idlink_tests::{assert_identity_invariants, fresh_store, kind, scan, text};
use lambda_http::RequestExt;
use serde_json::{Value, json};

/// A character of four UTF-8 bytes (U+1D11E MUSICAL SYMBOL G CLEF).
const CLEF: &str = "\u{1D11E}";

struct Stack {
    store: DynamoStore,
    seed: Seed,
    login: idlink::function::App<DynamoStore>,
    link_external: idlink::function::App<DynamoStore>,
    link_identity: idlink::function::App<DynamoStore>,
    server_token: String,
}

async fn stack() -> Stack {
    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let keys = idlink::testing::test_key_json();
    let server_token = seed.server_token(&tokens_from(&keys), &Scope::ALL);
    Stack {
        login: idlink::function::App {
            store: store.clone(),
            tokens: tokens_from(&keys).into(),
        },
        link_external: idlink::function::App {
            store: store.clone(),
            tokens: tokens_from(&keys).into(),
        },
        link_identity: idlink::function::App {
            store: store.clone(),
            tokens: tokens_from(&keys).into(),
        },
        store,
        seed,
        server_token,
    }
}

impl Stack {
    async fn login(&self, body: Value) -> (u16, Value) {
        let req = post("/users/login/server_custom_id", &self.server_token, &body);
        status_and_body(
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&self.login, &req))
                .await,
        )
    }

    async fn link_external(&self, user: &str, external: &str) -> (u16, Value) {
        let body = json!({"user_id": user, "external_account_id": external});
        let req = post("/users/account/link_external_id", &self.server_token, &body);
        status_and_body(
            answer::<link_external_id::Family>(link_external_id::handler::handle(
                &self.link_external,
                &req,
            ))
            .await,
        )
    }

    async fn link_identity(&self, user: &str, provider: &str, user_id: &str) -> (u16, Value) {
        let body = json!({"provider": provider, "user_id": user_id});
        let req = post(
            &format!("/api/v2/users/{user}/identities"),
            &self.server_token,
            &body,
        )
        .with_path_parameters(HashMap::from([("id".to_owned(), user.to_owned())]));
        status_and_body(
            answer::<link_identity::Family>(link_identity::handler::handle(
                &self.link_identity,
                &req,
            ))
            .await,
        )
    }
}

fn xsolla_invalid(body: &Value, parameter: &str) {
    assert_eq!(body["error"]["code"], "002-027", "{body}");
    assert_eq!(body["error"]["details"]["parameter"], parameter, "{body}");
}

/// The longest identifier accepted: as many four-byte characters as the byte limit takes.
fn longest() -> String {
    CLEF.repeat(CustomId::MAX_BYTES / 4)
}

/// 256 characters (the documented character limit) of four bytes each: over the byte limit.
fn over() -> String {
    CLEF.repeat(CustomId::MAX_CHARS)
}

#[tokio::test]
async fn xsolla_login_refuses_a_custom_id_over_the_byte_limit() {
    let s = stack().await;

    let (status, body) = s.login(json!({"server_custom_id": over()})).await;

    assert_eq!(status, 400, "{body}");
    xsolla_invalid(&body, "server_custom_id");
    let items = scan(&s.store).await;
    assert!(kind(&items, "user").is_empty(), "nobody was created");
    assert!(kind(&items, "marker").is_empty());
}

#[tokio::test]
async fn xsolla_login_takes_the_longest_custom_id_and_social_id() {
    let s = stack().await;

    let (status, body) = s
        .login(json!({
            "server_custom_id": longest(),
            "social_profile": {"platform": "p".repeat(Provider::MAX_CHARS), "user_id": longest()},
        }))
        .await;

    assert_eq!(status, 200, "{body}");
    let items = scan(&s.store).await;
    assert_eq!(kind(&items, "marker").len(), 2);
    assert_eq!(text(kind(&items, "user")[0], "custom_id"), longest());
    assert_identity_invariants(&items);
}

#[tokio::test]
async fn xsolla_login_refuses_a_social_user_id_over_the_byte_limit() {
    let s = stack().await;
    login_user(&s.store, &s.seed, "player").await;

    let (status, body) = s
        .login(json!({
            "server_custom_id": "player",
            "social_profile": {"platform": "steam", "user_id": over()},
        }))
        .await;

    assert_eq!(status, 400, "{body}");
    xsolla_invalid(&body, "social_profile.user_id");
    let items = scan(&s.store).await;
    assert_eq!(
        kind(&items, "marker").len(),
        1,
        "only the custom ID's marker"
    );
    assert_eq!(kind(&items, "identity").len(), 1);
}

#[tokio::test]
async fn xsolla_login_refuses_format_characters() {
    let s = stack().await;
    for id in [
        "admin\u{202E}nimda",
        "zero\u{200B}width",
        "\u{FEFF}bom",
        "iso\u{2066}late",
    ] {
        let (status, body) = s.login(json!({"server_custom_id": id})).await;

        assert_eq!(status, 400, "{id:?}: {body}");
        xsolla_invalid(&body, "server_custom_id");
    }
    assert!(kind(&scan(&s.store).await, "user").is_empty());
}

#[tokio::test]
async fn link_external_id_refuses_an_external_id_over_the_byte_limit() {
    let s = stack().await;
    let user = login_user(&s.store, &s.seed, "player").await.id.to_string();

    let (status, body) = s.link_external(&user, &over()).await;

    assert_eq!(status, 400, "{body}");
    xsolla_invalid(&body, "external_account_id");
    let items = scan(&s.store).await;
    assert!(!kind(&items, "user")[0].contains_key("external_id"));
    assert_eq!(kind(&items, "marker").len(), 1);

    let (status, body) = s.link_external(&user, &longest()).await;

    assert_eq!(status, 200, "{body}");
    let items = scan(&s.store).await;
    assert_eq!(text(kind(&items, "user")[0], "external_id"), longest());
    assert_identity_invariants(&items);
}

#[tokio::test]
async fn auth0_link_identity_refuses_a_user_id_over_the_byte_limit() {
    let s = stack().await;
    let user = login_user(&s.store, &s.seed, "player").await.id.to_string();

    let (status, body) = s.link_identity(&user, "google-oauth2", &over()).await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["statusCode"], 400);
    assert_eq!(body["error"], "Bad Request");
    assert_eq!(body["errorCode"], "invalid_body");
    assert!(
        body["message"].as_str().unwrap().contains("user_id"),
        "{body}"
    );
    assert_eq!(kind(&scan(&s.store).await, "identity").len(), 1);

    // The longest provider with the longest user_id still makes keys DynamoDB takes.
    let provider = "g".repeat(Provider::MAX_CHARS);
    let (status, body) = s.link_identity(&user, &provider, &longest()).await;

    assert_eq!(status, 201, "{body}");
    let items = scan(&s.store).await;
    assert_eq!(kind(&items, "identity").len(), 2);
    assert_identity_invariants(&items);
}
