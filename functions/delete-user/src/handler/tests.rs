use super::*;
use idlink::error::Error;
use idlink::function::answer;
use idlink::identity::{CustomId, IdentityKey, UserId};
use idlink::store::UserStore;
use idlink::store::memory::MemoryStore;
use idlink::testing::{Seed, fixture_cases, login_user, seed_users};
use idlink::testing::{api_request, seeded_app, status_and_json};
use serde_json::Value;
use std::collections::HashMap;

async fn env() -> (App<MemoryStore>, Seed) {
    seeded_app().await
}

async fn call(app: &App<MemoryStore>, token: &str, id: &str) -> (u16, Value) {
    let req = api_request(
        "DELETE",
        &format!("/api/v2/users/{id}"),
        &[("id", id)],
        token,
        None,
    );
    status_and_json(answer::<crate::Family>(handle(app, &req)).await)
}

async fn exists(app: &App<MemoryStore>, seed: &Seed, id: UserId) -> bool {
    let found = app.store.get_user(seed.project.id, id).await.unwrap();
    found.is_some()
}

#[tokio::test]
async fn a_server_deletes_a_user_and_everything_it_held_then_answers_404() {
    let (app, seed) = env().await;
    let mut values = HashMap::new();
    seed_users(&app.store, &app.tokens, &seed, &mut values).await;
    let id = UserId::parse(&values["LINKED_USER_ID"]).unwrap();
    let server = seed.server_token(&app.tokens, &[Scope::DeleteUsers]);
    let own = values["LINK_WITH_LOGIN_TOKEN"].clone();
    assert!(
        app.tokens
            .verify_user_session(&own, &app.store)
            .await
            .is_ok()
    );

    let (status, body) = call(&app, &server, &id.to_string()).await;

    assert_eq!((status, body), (204, Value::Null));
    let project = seed.project.id;
    assert!(app.store.get_user(project, id).await.unwrap().is_none());
    assert_eq!(app.store.session_version(id).await.unwrap(), None);
    assert!(matches!(
        app.tokens.verify_user_session(&own, &app.store).await,
        Err(Error::InvalidToken(idlink::error::TokenProblem::Revoked))
    ));
    let custom = IdentityKey::custom_id(&CustomId::parse("fixture-linked").unwrap());
    assert_eq!(app.store.owner_of(project, &custom).await.unwrap(), None);
    assert!(app.store.markers().iter().all(|(_, _, owner)| *owner != id));
    let (status, body) = call(&app, &server, &id.to_string()).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("inexistent_user"))
    );
}

#[tokio::test]
async fn only_a_server_token_with_delete_users_deletes() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let own = app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();
    let read_only = seed.server_token(&app.tokens, &[Scope::ReadUsers, Scope::UpdateUsers]);

    for token in [own, read_only] {
        let (status, body) = call(&app, &token, &user.id.to_string()).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (
                403,
                Some("Insufficient scope, expected any of: delete:users")
            )
        );
    }
    assert!(exists(&app, &seed, user.id).await);
}

#[tokio::test]
async fn unknown_merged_and_foreign_users_are_404() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let merged = login_user(&app.store, &seed, "q").await;
    app.store.tombstone(merged.id, user.id);
    let server = seed.server_token(&app.tokens, &Scope::ALL);
    let foreign = Seed::create(&app.store, None).await;
    let foreign_server = foreign.server_token(&app.tokens, &Scope::ALL);

    for (token, id) in [
        (&server, UserId::new_random().to_string()),
        (&server, "auth0|123".to_owned()),
        (&server, merged.id.to_string()),
        (&foreign_server, user.id.to_string()),
    ] {
        let (status, body) = call(&app, token, &id).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (404, Some("inexistent_user")),
            "{id}"
        );
    }
    assert!(exists(&app, &seed, user.id).await);
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("delete-user", 6).await {
        case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
    }
}
