use super::*;
use idlink::function::answer;
use idlink::identity::IdentityKey;
use idlink::store::accounts::{AccountStore, LinkIdentity};
use idlink::testing::fixture_cases;
use lambda_http::RequestExt;
use lambda_http::http;
use std::collections::HashMap;

idlink::handler_env!(Scope::ReadLogs);

impl Env {
    /// `GET /api/v2/users/{id}/logs?<query>` with `token`: status and JSON body.
    async fn logs(&self, token: &str, id: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let uri = format!("/api/v2/users/{id}/logs");
        let req: Request = http::Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::Empty)
            .unwrap();
        let params: HashMap<String, String> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let req = req
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]))
            .with_query_string_parameters(params);
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let body = serde_json::from_slice(resp.body().as_ref()).unwrap();
        (resp.status().as_u16(), body)
    }

    /// Attaches `identity` to `primary` (a merge when another user holds it).
    async fn link(&self, primary: UserId, identity: IdentityKey) {
        let by = idlink::audit::Audit::new(Actor::Client("support".into()), "req-link");
        let cmd = LinkIdentity {
            project: self.seed.project.id,
            primary,
            identity,
            primary_session: None,
            now: idlink::clock::now(),
            by,
        };
        self.app.store.link_identity(&cmd).await.unwrap();
    }
}

#[tokio::test]
async fn the_log_reads_newest_first_in_auth0s_shape() {
    let env = env().await;
    let user = env.login("alice", None).await;
    env.link(user.id, IdentityKey::social("steam", &json!("7")).unwrap())
        .await;

    let (status, body) = env.logs(&env.token, &user.id.to_string(), &[]).await;

    assert_eq!(status, 200, "{body}");
    let entries = body.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let (linked, created) = (&entries[0], &entries[1]);
    assert_eq!(linked["type"], "identity_linked");
    assert_eq!(created["type"], "user_created");
    assert_eq!(linked["description"], "Identity linked");
    assert_eq!(linked["client_id"], "support");
    assert_eq!(linked["user_id"], user.id.to_string());
    assert_eq!(
        linked["details"]["identities"],
        json!([{"provider": "steam", "user_id": "7", "connection": "steam", "isSocial": true}])
    );
    assert_eq!(linked["details"]["request_id"], "req-link");
    assert!(linked["date"].as_str().unwrap().ends_with('Z'));
    assert_ne!(linked["log_id"], created["log_id"]);
}

#[tokio::test]
async fn pages_and_totals_as_auth0s_sdk_expects_them() {
    let env = env().await;
    let user = env.login("pager", None).await;
    for i in 0..4 {
        env.link(user.id, IdentityKey::social("steam", &json!(i)).unwrap())
            .await;
    }
    let id = user.id.to_string();

    let (_, first) = env
        .logs(
            &env.token,
            &id,
            &[("per_page", "2"), ("include_totals", "true")],
        )
        .await;
    let (_, last) = env
        .logs(
            &env.token,
            &id,
            &[("page", "2"), ("per_page", "2"), ("include_totals", "true")],
        )
        .await;

    assert_eq!(
        (
            &first["start"],
            &first["limit"],
            &first["length"],
            &first["total"]
        ),
        (&json!(0), &json!(2), &json!(2), &json!(5))
    );
    assert_eq!(first["logs"][0]["details"]["identities"][0]["user_id"], "3");
    assert_eq!((&last["start"], &last["length"]), (&json!(4), &json!(1)));
    assert_eq!(last["logs"][0]["type"], "user_created");
}

#[tokio::test]
async fn a_merge_appears_in_both_users_logs() {
    let env = env().await;
    let primary = env.login("primary", None).await;
    let secondary = env.login("secondary", None).await;

    env.link(
        primary.id,
        IdentityKey::custom_id(&secondary.custom_id.clone().unwrap()),
    )
    .await;

    let (_, p) = env.logs(&env.token, &primary.id.to_string(), &[]).await;
    let (_, s) = env.logs(&env.token, &secondary.id.to_string(), &[]).await;
    assert_eq!(p[0]["type"], "user_merged");
    assert_eq!(p[0]["details"]["other_user_id"], secondary.id.to_string());
    assert_eq!(s[0]["type"], "user_merged_away");
    assert_eq!(s[0]["details"]["other_user_id"], primary.id.to_string());
    assert_eq!(p[0]["details"]["identities"], s[0]["details"]["identities"]);
}

#[tokio::test]
async fn either_log_scope_reads_and_nothing_else_does() {
    let env = env().await;
    let user = env.login("scoped", None).await;
    let id = user.id.to_string();
    let token = |scopes: &[Scope]| env.seed.server_token(&env.app.tokens, scopes);
    let player = env
        .app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();

    let (users_scope, _) = env.logs(&token(&[Scope::ReadLogsUsers]), &id, &[]).await;
    let (read_users, body) = env.logs(&token(&[Scope::ReadUsers]), &id, &[]).await;
    let (own_token, _) = env.logs(&player, &id, &[]).await;

    assert_eq!((users_scope, read_users, own_token), (200, 403, 403));
    assert_eq!(
        body["message"],
        "Insufficient scope, expected any of: read:logs, read:logs_users"
    );
}

#[tokio::test]
async fn bad_paging_is_a_400_and_another_projects_user_reads_empty() {
    let env = env().await;
    let user = env.login("bounded", None).await;
    let id = user.id.to_string();
    let foreign = idlink::testing::Seed::create(&env.app.store, None).await;
    let foreign_token = foreign.server_token(&env.app.tokens, &[Scope::ReadLogs]);

    for query in [
        [("per_page", "101")],
        [("page", "-1")],
        [("page", "20")],
        [("include_totals", "yes")],
        [("sort", "date:1")],
    ] {
        let (status, body) = env.logs(&env.token, &id, &query).await;
        assert_eq!(
            (status, &body["errorCode"]),
            (400, &json!("invalid_body")),
            "{query:?}"
        );
    }
    let (status, body) = env.logs(&foreign_token, &id, &[]).await;
    assert_eq!((status, body), (200, json!([])));
}

#[tokio::test]
async fn fixtures() {
    for case in fixture_cases("user-logs", 7).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.name.starts_with("200-paged") {
            assert!(body["total"].as_u64().unwrap() >= 1, "{body}");
        }
    }
}
