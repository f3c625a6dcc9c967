use super::*;
use idlink::function::answer;
use idlink::identity::UserId;
use idlink::store::UserStore;
use idlink::testing::fixture_cases;
use idlink::testing::{Seed, login_user};
use lambda_http::RequestExt;
use lambda_http::http;
use serde_json::json;
use std::collections::HashMap;

idlink::handler_env!(Scope::UpdateUsers);

impl Env {
    async fn call_to(
        &self,
        token: &str,
        project: &str,
        custom_id: &str,
        body: &str,
    ) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri(format!(
                "/projects/{project}/server_custom_id/{custom_id}/attributes"
            ))
            .header("content-type", "application/json")
            .header("x-server-authorization", token)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let req = req.with_path_parameters(HashMap::from([
            ("project_id".to_owned(), project.to_owned()),
            ("server_custom_id".to_owned(), custom_id.to_owned()),
        ]));
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let status = resp.status().as_u16();
        let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
        (status, body)
    }

    async fn write(&self, custom_id: &str, body: Value) -> (u16, Value) {
        let project = self.seed.project.id.to_string();
        self.call_to(&self.token, &project, custom_id, &body.to_string())
            .await
    }

    async fn attributes(&self, user: UserId) -> Vec<Value> {
        self.stored(user)
            .await
            .user
            .attributes
            .iter()
            .map(|a| a.to_json())
            .collect()
    }
}

#[tokio::test]
async fn writes_and_removes_in_one_call_and_keeps_a_key_in_both() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "player").await;
    let (status, body) = env
        .write(
            "player",
            json!({"publisher_id": null, "attributes": [
                {"key": "level", "value": "1"},
                {"key": "tier", "value": "gold", "attr_type": "server", "permission": "public"}
            ]}),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));

    let (status, _) = env
        .write(
            "player",
            json!({"publisher_id": 42, "attributes": [{"key": "level", "value": "2"}],
                   "removing_keys": ["tier", "level", "never_set"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        env.attributes(user.id).await,
        vec![json!({"key": "level", "value": "2", "attr_type": "client",
                    "permission": "private", "read_only": false})]
    );
}

#[tokio::test]
async fn unknown_custom_ids_and_foreign_projects_are_not_found() {
    let env = env().await;
    let body = json!({"publisher_id": null, "attributes": [{"key": "k", "value": "v"}]});
    let (status, answer) = env.write("nobody", body.clone()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("003-061"))
    );

    // The other project's player, written with this project's token: as if it did not exist.
    let other = Seed::create(&env.app.store, None).await;
    let foreign = login_user(&env.app.store, &other, "foreign").await;
    let (status, answer) = env
        .call_to(
            &env.token,
            &other.project.id.to_string(),
            "foreign",
            &body.to_string(),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("003-019"))
    );
    let (status, _) = env.write("foreign", body.clone()).await;
    assert_eq!(status, 404, "the custom ID is not one of this project's");
    let (status, _) = env
        .write("foreign", json!({"publisher_id": 43, "attributes": []}))
        .await;
    assert_eq!(status, 404, "another publisher");
    let stored = env
        .app
        .store
        .get_user(other.project.id, foreign.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.user.attributes.is_empty());
}

#[tokio::test]
async fn the_per_user_cap_holds_and_a_refusal_writes_nothing() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "full").await;
    for batch in 0..4 {
        let attrs: Vec<Value> = (0..50)
            .map(|i| json!({"key": format!("k{batch}_{i}"), "value": "v"}))
            .collect();
        let (status, _) = env
            .write("full", json!({"publisher_id": null, "attributes": attrs}))
            .await;
        assert_eq!(status, 204);
    }
    assert_eq!(env.attributes(user.id).await.len(), 200);

    let (status, answer) = env
        .write(
            "full",
            json!({"publisher_id": null, "attributes": [{"key": "one_more", "value": "v"}]}),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("002-027"))
    );
    assert_eq!(env.attributes(user.id).await.len(), 200, "nothing written");

    // At the cap, overwriting a key, or replacing one with another, still fits.
    let (status, _) = env
        .write(
            "full",
            json!({"publisher_id": null, "attributes": [
                {"key": "k0_0", "value": "w"}, {"key": "one_more", "value": "v"}],
                "removing_keys": ["k0_1"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(env.attributes(user.id).await.len(), 200);
}

#[tokio::test]
async fn bad_input_and_credentials() {
    let env = env().await;
    let user = login_user(&env.app.store, &env.seed, "p").await;
    let ok = json!({"key": "k", "value": "v"});
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"attributes": [ok]}), 400, "002-028"),
        (json!({"publisher_id": null}), 400, "002-028"),
        (
            json!({"publisher_id": "42", "attributes": [ok]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": {}}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": many}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [{"key": "a-b", "value": "v"}]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [{"key": "k", "value": 5}]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [{"key": "k", "value": "v".repeat(257)}]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [ok, ok]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [], "removing_keys": ["a b"]}),
            400,
            "002-027",
        ),
        (
            json!({"publisher_id": null, "attributes": [], "publisher_project_id": "7"}),
            400,
            "002-027",
        ),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer) = env.write("p", body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "case {i}: {answer}"
        );
    }
    let project = env.seed.project.id.to_string();
    let body = json!({"publisher_id": null, "attributes": [ok]}).to_string();
    assert_eq!(env.call_to(&env.token, &project, "p", "{").await.0, 400);
    assert_eq!(
        env.call_to(&env.token, "not-a-uuid", "p", &body).await.0,
        404
    );
    let login_only = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    assert_eq!(env.call_to(&login_only, &project, "p", &body).await.0, 401);
    assert_eq!(env.call_to("garbage", &project, "p", &body).await.0, 401);
    let user_token = env
        .app
        .tokens
        .issue_user_token(&user, None, None, 0)
        .unwrap();
    assert_eq!(
        env.call_to(&user_token, &project, "p", &body).await.0,
        401,
        "a user token is not enough"
    );
    assert!(env.attributes(user.id).await.is_empty());
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("write-attributes", 5).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() != 204 {
            assert!(body["error"]["code"].is_string(), "{}", case.name);
        }
    }
}
