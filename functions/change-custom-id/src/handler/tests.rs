use super::*;
use idlink::function::answer;
use idlink::identity::{CustomId, IdentityKey, UserId};
use idlink::store::UserStore;
use idlink::testing::{Seed, fixture_cases, login_user};
use lambda_http::http;
use serde_json::json;

idlink::handler_env!(Scope::UsersLink);

impl Env {
    async fn call(&self, token: &str, project: &str, user: &str, body: &str) -> (u16, Value) {
        let path = format!("/projects/{project}/users/{user}/server_custom_id");
        let req: Request = http::Request::builder()
            .method("PUT")
            .uri(&path)
            .header("content-type", "application/json")
            .header("x-server-authorization", token)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let req = lambda_http::RequestExt::with_path_parameters(
            req,
            std::collections::HashMap::from([
                ("project_id".to_owned(), project.to_owned()),
                ("user_id".to_owned(), user.to_owned()),
            ]),
        );
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null),
        )
    }

    async fn change(&self, user: UserId, custom: &str) -> (u16, Value) {
        let body = json!({ "server_custom_id": custom }).to_string();
        self.call(
            &self.token,
            &self.seed.project.id.to_string(),
            &user.to_string(),
            &body,
        )
        .await
    }

    async fn owner(&self, custom: &str) -> Option<UserId> {
        let key = IdentityKey::custom_id(&CustomId::parse(custom).unwrap());
        self.app
            .store
            .owner_of(self.seed.project.id, &key)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn changes_the_custom_id_frees_the_old_one_and_ends_the_sessions() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "old-id").await;

    let (status, body) = env.change(user.id, "new.id_1-x").await;

    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(env.owner("new.id_1-x").await, Some(user.id));
    assert_eq!(env.owner("old-id").await, None);
    let after = env.stored(user.id).await;
    assert_eq!(after.user.custom_id.unwrap().as_str(), "new.id_1-x");
    assert_eq!(after.user.session_version, user.session_version + 1);
    // The old custom ID is free: logging in with it makes a new user.
    let fresh = login_user(&env.app.store, &env.seed, "old-id").await;
    assert_ne!(fresh.id, user.id);
}

#[tokio::test]
async fn the_same_custom_id_again_writes_nothing() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "same").await;
    let before = env.app.store.fingerprint();

    assert_eq!(env.change(user.id, "same").await.0, 204);

    assert_eq!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn a_custom_id_of_another_user_is_refused_and_nothing_changes() {
    let env = env().await;
    let a = login_user(&env.app.store, &env.seed, "a").await;
    login_user(&env.app.store, &env.seed, "b").await;
    let before = env.app.store.fingerprint();

    let (status, body) = env.change(a.id, "b").await;

    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("010-016")),
        "{body}"
    );
    assert_eq!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn unknown_merged_and_foreign_users_and_foreign_projects_are_not_found() {
    let env = env().await;
    let (status, body) = env.change(UserId::new_random(), "x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );

    let merged = login_user(&env.app.store, &env.seed, "merged").await;
    let into = login_user(&env.app.store, &env.seed, "into").await;
    env.app.store.tombstone(merged.id, into.id);
    let (status, body) = env.change(merged.id, "x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );

    let other = Seed::create(&env.app.store, None).await;
    let foreign = login_user(&env.app.store, &other, "foreign").await;
    let before = env.app.store.fingerprint();
    let (status, body) = env.change(foreign.id, "x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );
    // Naming the other project in the path with this project's token: as if it did not exist.
    let body_text = json!({"server_custom_id": "x"}).to_string();
    let (status, body) = env
        .call(
            &env.token,
            &other.project.id.to_string(),
            &foreign.id.to_string(),
            &body_text,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-019"))
    );
    assert_eq!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn bad_input_and_credentials() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "p").await;
    let (project, id) = (env.seed.project.id.to_string(), user.id.to_string());
    let cases: Vec<(String, u16, &str)> = vec![
        ("{}".into(), 400, "002-028"),
        (
            json!({"server_custom_id": null}).to_string(),
            400,
            "002-027",
        ),
        (json!({"server_custom_id": ""}).to_string(), 400, "002-027"),
        (
            json!({"server_custom_id": "a".repeat(256)}).to_string(),
            400,
            "002-027",
        ),
        (
            json!({"server_custom_id": "has space"}).to_string(),
            400,
            "002-027",
        ),
        (
            json!({"server_custom_id": "ünïcode"}).to_string(),
            400,
            "002-027",
        ),
        (json!({"server_custom_id": 5}).to_string(), 400, "002-027"),
        ("{".into(), 400, "002-027"),
    ];
    let before = env.app.store.fingerprint();
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer) = env.call(&env.token, &project, &id, &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "case {i}: {answer}"
        );
    }
    let body = json!({"server_custom_id": "ok"}).to_string();
    assert_eq!(env.call(&env.token, &project, "nope", &body).await.0, 404);
    assert_eq!(env.call(&env.token, "nope", &id, &body).await.0, 404);
    let login_only = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    assert_eq!(env.call(&login_only, &project, &id, &body).await.0, 401);
    assert_eq!(env.call("garbage", &project, &id, &body).await.0, 401);
    let user_token = env
        .app
        .tokens
        .issue_user_token(&user, None, None, now())
        .unwrap();
    assert_eq!(
        env.call(&user_token, &project, &id, &body).await.0,
        401,
        "a user token is not enough"
    );
    assert_eq!(env.app.store.fingerprint(), before, "nothing was written");
    // The longest custom ID this call accepts.
    assert_eq!(env.change(user.id, &"a".repeat(255)).await.0, 204);
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("change-custom-id", 5).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() == 204 {
            assert_eq!(body, Value::Null, "{}", case.name);
        } else {
            assert!(body["error"]["code"].is_string(), "{}", case.name);
        }
    }
}
