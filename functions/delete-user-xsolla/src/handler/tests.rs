use super::*;
use idlink::function::answer;
use idlink::identity::{CustomId, IdentityKey};
use idlink::store::UserStore;
use idlink::store::memory::MemoryStore;
use idlink::testing::{Seed, fixture_cases, login_user};
use idlink::testing::{api_request, seeded_app, status_and_json};
use lambda_http::RequestExt;
use serde_json::Value;
use std::collections::HashMap;

async fn env() -> (App<MemoryStore>, Seed) {
    seeded_app().await
}

async fn call(app: &App<MemoryStore>, token: &str, id: &str, project: &str) -> (u16, Value) {
    let uri = format!("/users/{id}?projectId={project}");
    let query = HashMap::from([("projectId".to_owned(), project.to_owned())]);
    let req = api_request("DELETE", &uri, &[("user_id", id)], token, None)
        .with_query_string_parameters(query);
    status_and_json(answer::<crate::Family>(handle(app, &req)).await)
}

#[tokio::test]
async fn a_server_deletes_a_user_its_custom_id_is_free_and_a_second_delete_is_003_061() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let server = seed.server_token(&app.tokens, &[Scope::DeleteUsers]);
    let project = seed.project.id.to_string();

    let (status, body) = call(&app, &server, &user.id.to_string(), &project).await;

    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(app.store.session_version(user.id).await.unwrap(), None);
    let custom = IdentityKey::custom_id(&CustomId::parse("p").unwrap());
    assert_eq!(
        app.store.owner_of(seed.project.id, &custom).await.unwrap(),
        None
    );
    let again = login_user(&app.store, &seed, "p").await;
    assert_ne!(again.id, user.id, "the custom ID makes a new user");
    let (status, body) = call(&app, &server, &user.id.to_string(), &project).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("003-061"))
    );
}

#[tokio::test]
async fn refusals_change_nothing() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let merged = login_user(&app.store, &seed, "q").await;
    app.store.tombstone(merged.id, user.id);
    let server = seed.server_token(&app.tokens, &Scope::ALL);
    let no_scope = seed.server_token(&app.tokens, &[Scope::UsersLogin, Scope::ReadUsers]);
    let project = seed.project.id.to_string();
    let before = app.store.fingerprint();

    for (token, id, project, expected) in [
        (
            &no_scope,
            user.id.to_string(),
            project.clone(),
            (401, "002-016"),
        ),
        (
            &server,
            merged.id.to_string(),
            project.clone(),
            (404, "003-061"),
        ),
        (
            &server,
            "not-a-user".to_owned(),
            project.clone(),
            (404, "003-061"),
        ),
        (
            &server,
            user.id.to_string(),
            "nope".to_owned(),
            (400, "002-027"),
        ),
        (
            &server,
            user.id.to_string(),
            idlink::identity::ProjectId::new_random().to_string(),
            (404, "003-019"),
        ),
    ] {
        let (status, body) = call(&app, token, &id, &project).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (expected.0, Some(expected.1)),
            "{id} {project}"
        );
    }
    assert_eq!(app.store.fingerprint(), before);
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("delete-user-xsolla", 7).await {
        case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
    }
}
