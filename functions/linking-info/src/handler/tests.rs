use super::*;
use idlink::function::answer;
use idlink::identity::ExternalAccountId;
use idlink::store::{LinkStore, SingleLink};
use idlink::testing::{Seed, answered, fixture_cases, login_social, request};

idlink::handler_env!(Scope::ReadUsers);

/// `POST /users/linking_info` with `token` in Xsolla's raw header.
async fn lookup(env: &Env, token: &str, body: Value) -> (u16, Value) {
    let auth = [("x-server-authorization", token)];
    let req = request("POST", "/users/linking_info", &auth, &[], Some(&body));
    answered(answer::<crate::Family>(handle(&env.app, &req)).await)
}

fn pair(platform: &str, user_id: Value) -> Value {
    json!({"platform": platform, "user_id": user_id})
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("linking-info", 8).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        let rows = body.as_array().map_or(0, Vec::len);
        assert_eq!(rows > 0, case.status() == 200, "{}: {body}", case.name);
    }
}

#[tokio::test]
async fn answers_one_row_per_pair_in_request_order() {
    let env = env().await;
    let steam = env.login("player-a", Some(("steam", "76561198"))).await;
    let xbox = env.login("player-b", Some(("xbox", "4352354"))).await;
    let external = ExternalAccountId::parse("A1234BB23").unwrap();
    let link = SingleLink::external_id(env.seed.project.id, steam.id, &external, 1);
    env.app.store.link_single(&link).await.unwrap();

    let body = json!({"users": [
        pair("xbox", json!(4352354)),
        pair("psn", json!("nobody")),
        pair("Steam", json!("76561198")),
        pair("xbox", json!("4352354")),
    ]});
    let (status, rows) = lookup(&env, &env.token, body).await;

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
    let theirs = other.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let steam = Some(("steam", "76561198"));
    let foreign = login_social(&env.app.store, other.project.id, "x", steam).await;
    let body = json!({"users": [pair("steam", json!("76561198"))]});

    let (status, mine) = lookup(&env, &env.token, body.clone()).await;
    let (_, own) = lookup(&env, &theirs, body).await;

    assert_eq!(status, 200);
    assert_eq!(mine[0]["xl_uid"], Value::Null, "not this project's player");
    assert_eq!(own[0]["xl_uid"], foreign.id.to_string());
    let one = || json!([pair("steam", json!("1"))]);
    let named = json!({"users": one(), "project_id": other.project.id.to_string()});
    let (status, answer) = lookup(&env, &env.token, named).await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!("003-019")));
    let own_project = json!({"users": one(),
        "project_id": env.seed.project.id.to_string(), "publisher_project_id": 7});
    assert_eq!(lookup(&env, &env.token, own_project).await.0, 200);
    let publisher = json!({"users": one(), "publisher_project_id": 8});
    let (status, _) = lookup(&env, &env.token, publisher).await;
    assert_eq!(status, 404, "another publisher project");
}

#[tokio::test]
async fn bad_input_is_refused_in_xsollas_envelope_naming_the_field() {
    let env = env().await;
    let many = |n: usize| json!({"users": (0..n).map(|i| pair("steam", json!(i.to_string()))).collect::<Vec<_>>()});
    let one = |p: Value| json!({ "users": [p] });
    assert_eq!(lookup(&env, &env.token, many(50)).await.0, 200);
    // 50 pairs at the identity limits fit the body limit.
    let longest = pair(&"p".repeat(64), json!("\u{20AC}".repeat(256)));
    let body = json!({ "users": vec![longest; 50] });
    assert!(body.to_string().len() > 32 * 1024);
    assert_eq!(lookup(&env, &env.token, body).await.0, 200);
    let cases = [
        (many(51), "002-027", "users"),
        (json!({"users": []}), "002-027", "users"),
        (json!({}), "002-028", "users"),
        (json!({"users": {"platform": "steam"}}), "002-027", "users"),
        (json!({"users": ["steam"]}), "002-027", "users[0]"),
        (
            json!({"users": [pair("steam", json!("1")), {"user_id": "2"}]}),
            "002-028",
            "users[1].platform",
        ),
        (
            one(json!({"platform": "steam"})),
            "002-028",
            "users[0].user_id",
        ),
        (
            one(pair(&"p".repeat(65), json!("1"))),
            "002-027",
            "users[0].platform",
        ),
        (
            one(pair("server_custom_id", json!("1"))),
            "002-027",
            "users[0].platform",
        ),
        (
            one(pair("steam", json!("x".repeat(257)))),
            "002-027",
            "users[0].user_id",
        ),
        (
            one(pair("steam", json!("a\u{202E}b"))),
            "002-027",
            "users[0].user_id",
        ),
        (
            one(pair("steam", json!(1.5))),
            "002-027",
            "users[0].user_id",
        ),
    ];
    for (body, code, parameter) in cases {
        let (status, answer) = lookup(&env, &env.token, body.clone()).await;
        let error = &answer["error"];
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            (&error["code"], &error["details"]["parameter"]),
            (&json!(code), &json!(parameter))
        );
    }
}

#[tokio::test]
async fn a_token_without_read_users_is_refused() {
    let env = env().await;
    let login_only = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let body = json!({"users": [pair("steam", json!("1"))]});
    let (status, answer) = lookup(&env, &login_only, body).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "002-016");
}
