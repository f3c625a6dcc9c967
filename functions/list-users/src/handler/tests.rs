use super::*;
use idlink::function::{App, answer};
use idlink::testing::{Seed, answered, fixture_cases, login_social, request};

idlink::handler_env!(Scope::ReadUsers);

/// `GET /api/v2/users` with `token` and the query string's parameters.
async fn search<S: LookupStore + UserStore>(
    app: &App<S>,
    token: &str,
    query: &[(&str, &str)],
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let req = request(
        "GET",
        "/api/v2/users",
        &[("authorization", &auth)],
        query,
        None,
    );
    answered(answer::<crate::Family>(handle(app, &req)).await)
}

impl Env {
    /// The user ids a `q` finds (with `search_engine=v3`, as the SDKs send it).
    async fn ids(&self, q: &str) -> Vec<String> {
        let (status, body) =
            search(&self.app, &self.token, &[("q", q), ("search_engine", "v3")]).await;
        assert_eq!(status, 200, "{q}: {body}");
        let users = body.as_array().unwrap().iter();
        users
            .map(|u| u["user_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("list-users", 6).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        let users = body.get("users").unwrap_or(&body).as_array().map(Vec::len);
        let expected = (case.status() == 200).then_some(1);
        assert_eq!(users, expected, "{}: {body}", case.name);
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

    let (status, body) = search(&env.app, &env.token, &[("q", q)]).await;
    assert_eq!(status, 200);
    let stored = env.stored(user.id).await;
    assert_eq!(body, json!([user_json(&stored, Reader::Server)]));

    let page = |n: &'static str| [("q", q), ("include_totals", "true"), ("page", n)];
    let (_, paged) = search(&env.app, &env.token, &page("0")).await;
    assert_eq!(
        paged,
        json!({"start": 0, "limit": 50, "length": 1, "total": 1,
               "users": [user_json(&stored, Reader::Server)]})
    );
    let (_, next) = search(&env.app, &env.token, &page("1")).await;
    assert_eq!(
        next,
        json!({"start": 50, "limit": 50, "length": 0, "total": 1, "users": []})
    );
    let empty = [("q", q), ("include_totals", "false"), ("per_page", "0")];
    let (_, none) = search(&env.app, &env.token, &empty).await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn another_projects_players_are_never_found() {
    let env = env().await;
    let other = Seed::create(&env.app.store, None).await;
    let steam = Some(("steam", "76561198"));
    let foreign = login_social(&env.app.store, other.project.id, "x", steam).await;
    let by_id = format!(r#"user_id:"{}""#, foreign.id);
    let by_identity = r#"identities.provider:"steam" AND identities.user_id:"76561198""#;

    assert!(env.ids(&by_id).await.is_empty());
    assert!(env.ids(by_identity).await.is_empty());
    let theirs = other.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let (status, found) = search(&env.app, &theirs, &[("q", by_identity)]).await;
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
        let (status, body) = search(&env.app, &env.token, &query).await;
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
async fn a_merge_between_the_marker_and_the_user_answers_the_new_holder() {
    use idlink::store::accounts::LinkIdentity;
    use idlink::testing::{ConcurrentWrite, WriteBetweenReads};
    let env = env().await;
    let primary = env.login("player-a", None).await;
    env.login("player-b", Some(("steam", "7"))).await;
    let steam = IdentityKey::social("steam", &json!("7")).unwrap();
    let merge = LinkIdentity {
        project: env.seed.project.id,
        primary: primary.id,
        identity: steam,
        primary_session: None,
        now: 2,
        by: idlink::audit::Audit::internal(),
    };
    let racing = idlink::function::App {
        store: WriteBetweenReads::new(env.0.app.store, ConcurrentWrite::Merge(merge)),
        tokens: env.0.app.tokens,
    };
    let q = [("q", "identities.provider:steam AND identities.user_id:7")];

    let (status, body) = search(&racing, &env.0.token, &q).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["user_id"], primary.id.to_string());
}

#[tokio::test]
async fn only_a_server_token_with_read_users_may_search() {
    let env = env().await;
    let user = env.login("player-a", None).await;
    let q = [("q", "user_id:x")];
    let narrow = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let (status, body) = search(&env.app, &narrow, &q).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let player = env
        .app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();
    let (status, body) = search(&env.app, &player, &q).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errorCode"], "invalid_token");
}
