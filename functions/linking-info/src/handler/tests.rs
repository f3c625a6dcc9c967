use super::*;
use idlink::function::answer;
use idlink::identity::ExternalAccountId;
use idlink::store::{LinkStore, SingleLink};
use idlink::testing::{Seed, TestEnv, fixture_cases, login_social};
use lambda_http::http;

idlink::handler_env!(Scope::ReadUsers);

async fn lookup_as(env: &TestEnv, token: &str, body: &Value) -> (u16, Value) {
    let req: Request = http::Request::builder()
        .method("POST")
        .uri("/users/linking_info")
        .header("x-server-authorization", token)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = answer::<crate::Family>(handle(&env.app, &req)).await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null),
    )
}

impl Env {
    async fn lookup(&self, body: Value) -> (u16, Value) {
        lookup_as(self, &self.token, &body).await
    }
}

fn pair(platform: &str, user_id: Value) -> Value {
    json!({"platform": platform, "user_id": user_id})
}

#[tokio::test]
async fn answers_one_row_per_pair_in_request_order() {
    let env = env().await;
    let steam = env.login("player-a", Some(("steam", "76561198"))).await;
    let xbox = env.login("player-b", Some(("xbox", "4352354"))).await;
    let external = ExternalAccountId::parse("A1234BB23").unwrap();
    env.app
        .store
        .link_single(&SingleLink::external_id(
            env.seed.project.id,
            steam.id,
            &external,
            1,
        ))
        .await
        .unwrap();

    let (status, rows) = env
        .lookup(json!({"users": [
            pair("xbox", json!(4352354)),
            pair("psn", json!("nobody")),
            pair("Steam", json!("76561198")),
            pair("xbox", json!("4352354")),
        ]}))
        .await;

    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        rows,
        json!([
            {"platform": "xbox", "user_id": "4352354", "xl_uid": xbox.id.to_string(),
             "external_account_id": null, "email": null},
            {"platform": "psn", "user_id": "nobody", "xl_uid": null,
             "external_account_id": null, "email": null},
            {"platform": "Steam", "user_id": "76561198", "xl_uid": steam.id.to_string(),
             "external_account_id": "A1234BB23", "email": null},
            {"platform": "xbox", "user_id": "4352354", "xl_uid": xbox.id.to_string(),
             "external_account_id": null, "email": null},
        ])
    );
}

#[tokio::test]
async fn another_projects_players_are_never_revealed() {
    let env = env().await;
    let other = Seed::create(&env.app.store, None).await;
    let other_token = other.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let foreign = login_social(
        &env.app.store,
        other.project.id,
        "theirs",
        Some(("steam", "76561198")),
    )
    .await;
    let body = json!({"users": [pair("steam", json!("76561198"))]});

    let (status, mine) = env.lookup(body.clone()).await;
    let (_, own) = lookup_as(&env, &other_token, &body).await;

    assert_eq!(status, 200);
    assert_eq!(mine[0]["xl_uid"], Value::Null, "not this project's player");
    assert_eq!(own[0]["xl_uid"], foreign.id.to_string());
    let named = json!({"users": [pair("steam", json!("76561198"))],
                       "project_id": other.project.id.to_string()});
    let (status, answer) = env.lookup(named).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("003-019"))
    );
    let own_project = json!({"users": [pair("steam", json!("1"))],
        "project_id": env.seed.project.id.to_string(), "publisher_project_id": 7});
    assert_eq!(env.lookup(own_project).await.0, 200);
    let (status, _) = env
        .lookup(json!({"users": [pair("steam", json!("1"))], "publisher_project_id": 8}))
        .await;
    assert_eq!(status, 404, "another publisher project");
}

#[tokio::test]
async fn bad_input_is_refused_in_xsollas_envelope_naming_the_field() {
    let env = env().await;
    let many = |n: usize| json!({"users": (0..n).map(|i| pair("steam", json!(i.to_string()))).collect::<Vec<_>>()});
    assert_eq!(env.lookup(many(50)).await.0, 200, "50 pairs are allowed");
    let cases = [
        (many(51), 400, "002-027", "users"),
        (json!({"users": []}), 400, "002-027", "users"),
        (json!({}), 400, "002-028", "users"),
        (
            json!({"users": {"platform": "steam"}}),
            400,
            "002-027",
            "users",
        ),
        (json!({"users": ["steam"]}), 400, "002-027", "users[0]"),
        (
            json!({"users": [pair("steam", json!("1")), {"user_id": "2"}]}),
            400,
            "002-028",
            "users[1].platform",
        ),
        (
            json!({"users": [{"platform": "steam"}]}),
            400,
            "002-028",
            "users[0].user_id",
        ),
        (
            json!({"users": [pair(&"p".repeat(65), json!("1"))]}),
            400,
            "002-027",
            "users[0].platform",
        ),
        (
            json!({"users": [pair("server_custom_id", json!("1"))]}),
            400,
            "002-027",
            "users[0].platform",
        ),
        (
            json!({"users": [pair("steam", json!("x".repeat(257)))]}),
            400,
            "002-027",
            "users[0].user_id",
        ),
        (
            json!({"users": [pair("steam", json!("a\u{202E}b"))]}),
            400,
            "002-027",
            "users[0].user_id",
        ),
        (
            json!({"users": [pair("steam", json!(1.5))]}),
            400,
            "002-027",
            "users[0].user_id",
        ),
    ];
    for (body, status, code, parameter) in cases {
        let (got, answer) = env.lookup(body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
        assert_eq!(
            answer["error"]["details"]["parameter"], parameter,
            "{body}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_token_without_read_users_is_refused() {
    let env = env().await;
    let login_only = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let (status, answer) = lookup_as(
        &env,
        &login_only,
        &json!({"users": [pair("steam", json!("1"))]}),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("002-016"))
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("linking-info", 8).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() == 200 {
            assert!(
                body.as_array().is_some_and(|rows| !rows.is_empty()),
                "{}",
                case.name
            );
        } else {
            assert!(body["error"]["code"].is_string(), "{}", case.name);
        }
    }
}
