use super::*;
use idlink::function::answer;
use idlink::testing::{Seed, TestEnv, fixture_cases, login_social};
use lambda_http::http;
use std::collections::HashMap;

idlink::handler_env!(Scope::ReadUsers);

async fn search_as(env: &TestEnv, token: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in query {
        params.entry(k.to_string()).or_default().push(v.to_string());
    }
    let req: Request = http::Request::builder()
        .method("GET")
        .uri("/api/v2/users")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::Empty)
        .unwrap();
    let req = req.with_query_string_parameters(params);
    let resp = answer::<crate::Family>(handle(&env.app, &req)).await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null),
    )
}

impl Env {
    async fn search(&self, query: &[(&str, &str)]) -> (u16, Value) {
        search_as(self, &self.token, query).await
    }

    /// The user ids a `q` finds (with `search_engine=v3`, as the SDKs send it).
    async fn ids(&self, q: &str) -> Vec<String> {
        let (status, body) = self.search(&[("q", q), ("search_engine", "v3")]).await;
        assert_eq!(status, 200, "{q}: {body}");
        body.as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn finds_a_player_by_identity_or_user_id_exactly() {
    let env = env().await;
    let steam = env.login("player-a", Some(("steam", "76561198"))).await;
    env.login("player-b", Some(("steam", "76561199"))).await;
    let id = steam.id.to_string();
    let me = vec![id.clone()];

    for q in [
        r#"identities.provider:"steam" AND identities.user_id:"76561198""#,
        r#"identities.user_id:"76561198" AND identities.provider:"steam""#,
        "identities.provider:steam AND identities.user_id:76561198",
        r#"identities.provider:"server_custom_id" AND identities.user_id:"player-a""#,
        &format!(r#"user_id:"{id}""#),
        &format!("user_id:{id} AND identities.provider:steam AND identities.user_id:76561198"),
    ] {
        assert_eq!(env.ids(q).await, me, "{q}");
    }
    for q in [
        r#"identities.provider:"steam" AND identities.user_id:"7656119""#,
        r#"identities.provider:"xbox" AND identities.user_id:"76561198""#,
        &format!(
            r#"user_id:"{id}" AND identities.provider:"steam" AND identities.user_id:"76561199""#
        ),
        r#"user_id:"auth0|5f7c8ec7c33c6c004bbafe82""#,
    ] {
        assert_eq!(env.ids(q).await, Vec::<String>::new(), "{q}");
    }
}

#[tokio::test]
async fn renders_users_as_get_user_does_and_pages_with_totals() {
    let env = env().await;
    let user = env.login("player-a", Some(("xbox", "4352354"))).await;
    let q = "identities.provider:xbox AND identities.user_id:4352354";

    let (status, body) = env.search(&[("q", q)]).await;
    assert_eq!(status, 200);
    let stored = env.stored(user.id).await;
    assert_eq!(body, json!([user_json(&stored, Reader::Server)]));

    let (_, paged) = env
        .search(&[
            ("q", q),
            ("include_totals", "true"),
            ("page", "0"),
            ("per_page", "50"),
        ])
        .await;
    assert_eq!(
        paged,
        json!({"start": 0, "limit": 50, "length": 1, "total": 1,
               "users": [user_json(&stored, Reader::Server)]})
    );
    let (_, next) = env
        .search(&[
            ("q", q),
            ("include_totals", "true"),
            ("page", "1"),
            ("per_page", "50"),
        ])
        .await;
    assert_eq!(
        next,
        json!({"start": 50, "limit": 50, "length": 0, "total": 1, "users": []})
    );
    let (_, none) = env
        .search(&[("q", q), ("include_totals", "false"), ("per_page", "0")])
        .await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn another_projects_players_are_never_found() {
    let env = env().await;
    let other = Seed::create(&env.app.store, None).await;
    let foreign = login_social(
        &env.app.store,
        other.project.id,
        "theirs",
        Some(("steam", "76561198")),
    )
    .await;
    let by_id = format!(r#"user_id:"{}""#, foreign.id);
    let by_identity = r#"identities.provider:"steam" AND identities.user_id:"76561198""#;

    assert!(env.ids(&by_id).await.is_empty());
    assert!(env.ids(by_identity).await.is_empty());
    let theirs = other.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let (status, found) = search_as(&env, &theirs, &[("q", by_identity)]).await;
    assert_eq!(
        (status, found[0]["user_id"].as_str()),
        (200, Some(foreign.id.to_string().as_str()))
    );
}

#[tokio::test]
async fn any_other_query_is_refused_naming_what_is_supported() {
    let env = env().await;
    let long = format!(
        r#"identities.provider:"steam" AND identities.user_id:"{}""#,
        "x".repeat(257)
    );
    let wide = format!(
        r#"identities.provider:"{}" AND identities.user_id:"1""#,
        "p".repeat(65)
    );
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("q", "")],
        vec![("q", r#"email:"a@example.com""#)],
        vec![("q", r#"identities.provider:"steam""#)],
        vec![("q", r#"identities.user_id:"76561198""#)],
        vec![("q", "identities.provider:steam OR identities.user_id:1")],
        vec![(
            "q",
            "identities.provider:steam AND identities.user_id:7656*",
        )],
        vec![(
            "q",
            "identities.provider:steam AND identities.user_id:\"unterminated",
        )],
        vec![(
            "q",
            "identities.provider:steam AND identities.provider:xbox AND identities.user_id:1",
        )],
        vec![(
            "q",
            "identities.provider:steam AND identities.user_id:1 AND",
        )],
        vec![("q", "identities.provider:steam identities.user_id:1")],
        vec![("q", &long)],
        vec![("q", &wide)],
        vec![("q", "user_id:x"), ("search_engine", "v2")],
        vec![("q", "user_id:x"), ("per_page", "101")],
        vec![("q", "user_id:x"), ("page", "-1")],
        vec![("q", "user_id:x"), ("include_totals", "yes")],
        vec![("q", "user_id:x"), ("fields", "user_id")],
        vec![("q", "user_id:x"), ("sort", "created_at:1")],
        vec![("q", "user_id:x"), ("q", "user_id:y")],
    ];
    for query in cases {
        let (status, body) = env.search(&query).await;
        assert_eq!(status, 400, "{query:?}: {body}");
        assert_eq!(body["errorCode"], "invalid_query_string", "{query:?}");
        assert_eq!(body["statusCode"], 400);
        assert_eq!(body["error"], "Bad Request");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("identities.provider") && message.contains("search_engine=v3")
                || message.contains("identities.user_id 1-256"),
            "{query:?}: {message}"
        );
    }
}

#[tokio::test]
async fn only_a_server_token_with_read_users_may_search() {
    let env = env().await;
    let user = env.login("player-a", None).await;
    let q = [("q", "user_id:x")];
    let narrow = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let (status, body) = search_as(&env, &narrow, &q).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let player = env
        .app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();
    let (status, body) = search_as(&env, &player, &q).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("list-users", 6).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() == 200 {
            let users = body.get("users").unwrap_or(&body);
            assert_eq!(
                users.as_array().map(Vec::len),
                Some(1),
                "{}: {body}",
                case.name
            );
        } else {
            assert!(body["errorCode"].is_string(), "{}", case.name);
        }
    }
}
