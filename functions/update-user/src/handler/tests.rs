use super::*;
use idlink::error::Error;
use idlink::function::answer;
use idlink::identity::{CustomId, UserId};
use idlink::store::LoginStore;
use idlink::testing::{api_request, status_and_json};
use idlink::user::LoginCommand;
use serde_json::json;

idlink::handler_env!(Scope::UpdateUsers);

impl Env {
    async fn patch_as(&self, token: &str, user: &str, body: Value) -> (u16, Value) {
        let path = format!("/api/v2/users/{user}");
        let req = api_request("PATCH", &path, &[("id", user)], token, Some(&body));
        status_and_json(answer::<crate::Family>(handle(&self.app, &req)).await)
    }

    async fn patch(&self, user: UserId, body: Value) -> (u16, Value) {
        self.patch_as(&self.token, &user.to_string(), body).await
    }

    async fn with_attributes(&self) -> idlink::user::User {
        let cmd = LoginCommand {
            attributes: idlink::attribute::Attribute::parse_list(Some(&json!([
                {"key":"tier","value":"gold","attr_type":"server","permission":"public"},
                {"key":"stats","value":{"wins":3,"losses":1},"attr_type":"server","permission":"private"},
                {"key":"theme","value":"dark","attr_type":"client","permission":"public"},
            ])))
            .unwrap(),
            ..LoginCommand::new(self.seed.project.id, CustomId::parse("player").unwrap(), now())
        };
        self.app.store.login(&cmd).await.unwrap().user
    }
}

#[tokio::test]
async fn metadata_merges_by_auth0s_rules_and_the_answer_is_the_stored_user() {
    let env = env().await;
    let user = env.with_attributes().await;

    let (status, body) = env
        .patch(
            user.id,
            json!({
                "app_metadata": {"stats": {"wins": 4}, "tier": null, "season": 2},
                "user_metadata": {"lang": "de"},
                "nickname": "Renamed",
            }),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["app_metadata"],
        json!({"stats": {"wins": 4}, "season": 2})
    );
    assert_eq!(
        body["user_metadata"],
        json!({"theme": "dark", "lang": "de"})
    );
    assert_eq!(body["nickname"], "Renamed");
    assert_eq!(body["blocked"], false);
    let stored = env.stored(user.id).await;
    assert_eq!(body, user_json(&stored, Reader::Server));
    assert_eq!(stored.user.version, user.version + 1);
}

#[tokio::test]
async fn an_empty_object_clears_that_metadata_only() {
    let env = env().await;
    let user = env.with_attributes().await;

    let (status, body) = env.patch(user.id, json!({"user_metadata": {}})).await;

    assert_eq!(status, 200);
    assert_eq!(body["user_metadata"], json!({}));
    assert_eq!(
        body["app_metadata"],
        json!({"tier": "gold", "stats": {"wins": 3, "losses": 1}})
    );
}

#[tokio::test]
async fn blocked_true_stops_logins_and_tokens_and_false_lifts_it() {
    let env = env().await;
    let user = env.with_attributes().await;
    let token = env.token_of(&user);

    let (status, body) = env.patch(user.id, json!({"blocked": true})).await;

    assert_eq!((status, &body["blocked"]), (200, &json!(true)));
    assert!(matches!(env.try_login("player").await, Err(Error::Banned)));
    assert!(matches!(
        env.session_check(&token).await,
        Err(Error::Banned)
    ));

    let (status, body) = env.patch(user.id, json!({"blocked": false})).await;

    assert_eq!((status, &body["blocked"]), (200, &json!(false)));
    assert!(env.try_login("player").await.is_ok());
    // The block ended the sessions it interrupted.
    assert!(env.session_check(&token).await.is_err());
}

#[tokio::test]
async fn an_empty_patch_answers_the_user_and_writes_nothing() {
    let env = env().await;
    let user = env.with_attributes().await;
    let before = env.app.store.fingerprint();

    let (status, body) = env.patch(user.id, json!({})).await;

    assert_eq!(
        (status, body["user_id"].as_str()),
        (200, Some(user.id.to_string().as_str()))
    );
    assert_eq!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn bad_input_is_refused_in_auth0s_envelope_and_nothing_is_written() {
    let env = env().await;
    let user = env.with_attributes().await;
    let before = env.app.store.fingerprint();
    for body in [
        json!({"email": "x@example.com"}),
        json!({"blocked": "yes"}),
        json!({"app_metadata": []}),
        json!({"app_metadata": {"bad key": 1}}),
        json!({"user_metadata": {"k": "x".repeat(1100)}}),
        json!({"nickname": 5}),
        json!({"nickname": ""}),
    ] {
        let (status, answer) = env.patch(user.id, body.clone()).await;
        assert_eq!(
            (status, answer["errorCode"].as_str()),
            (400, Some("invalid_body")),
            "{body}"
        );
    }
    let keys = |n: usize| -> Value { (0..n).map(|i| (format!("k{i}"), json!(i))).collect() };
    let (status, answer) = env.patch(user.id, json!({"app_metadata": keys(201)})).await;
    assert_eq!(
        (status, answer["errorCode"].as_str()),
        (400, Some("invalid_body"))
    );
    // 199 new keys and the 3 the user holds: over the 200 a user may hold.
    let (status, answer) = env.patch(user.id, json!({"app_metadata": keys(199)})).await;
    assert_eq!(
        (status, answer["errorCode"].as_str()),
        (409, Some("user_limit_exceeded"))
    );
    assert_eq!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn scopes_players_and_unknown_users() {
    let env = env().await;
    let user = env.with_attributes().await;
    let metadata_only = env
        .seed
        .server_token(&env.app.tokens, &[Scope::UpdateUsersAppMetadata]);
    let read_only = env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let player = env.token_of(&user);
    let id = user.id.to_string();

    let meta = env
        .patch_as(&metadata_only, &id, json!({"app_metadata": {"a": 1}}))
        .await;
    let block = env
        .patch_as(&metadata_only, &id, json!({"blocked": true}))
        .await;
    let read = env
        .patch_as(&read_only, &id, json!({"app_metadata": {"a": 1}}))
        .await;
    let own = env
        .patch_as(&player, &id, json!({"user_metadata": {"a": 1}}))
        .await;
    let unknown = env
        .patch(UserId::new_random(), json!({"nickname": "x"}))
        .await;
    let not_ours = env
        .patch_as(&env.token, "auth0|123", json!({"nickname": "x"}))
        .await;

    assert_eq!(meta.0, 200);
    for refused in [&block, &read, &own] {
        assert_eq!(
            (refused.0, refused.1["errorCode"].as_str()),
            (403, Some("insufficient_scope"))
        );
    }
    assert_eq!(
        (unknown.0, unknown.1["errorCode"].as_str()),
        (404, Some("inexistent_user"))
    );
    assert_eq!(not_ours.0, 404);
    assert_eq!(env.stored(user.id).await.user.ban, None);
}

idlink::fixture_test!("update-user", 5);
