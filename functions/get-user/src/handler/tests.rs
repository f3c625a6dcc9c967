use super::*;
use idlink::client::Scope;
use idlink::function::App;
use idlink::function::answer;
use idlink::identity::{CustomId, UserId};
use idlink::store::LoginStore;
use idlink::store::memory::MemoryStore;
use idlink::testing::fixture_cases;
use idlink::testing::{Seed, login_user};
use idlink::testing::{api_request, seeded_app, status_and_json};
use idlink::user::LoginCommand;
use serde_json::{Value, json};

async fn env() -> (App<MemoryStore>, Seed) {
    seeded_app().await
}

async fn call(app: &App<MemoryStore>, token: &str, id: &str) -> (u16, Value) {
    let req = api_request(
        "GET",
        &format!("/api/v2/users/{id}"),
        &[("id", id)],
        token,
        None,
    );
    status_and_json(answer::<crate::Family>(handle(app, &req)).await)
}

#[tokio::test]
async fn answers_auth0_shape_to_servers_and_to_the_user_itself() {
    let (app, seed) = env().await;
    let cmd = LoginCommand {
        project: seed.project.id,
        custom_id: CustomId::parse("p").unwrap(),
        nickname: Some(idlink::identity::Nickname::parse("Nick").unwrap()),
        attributes: idlink::attribute::Attribute::parse_list(Some(&json!([
            {"attr_type":"server","key":"tier","permission":"private","value":"gold"},
            {"attr_type":"client","key":"theme","permission":"public","value":"dark"}
        ])))
        .unwrap(),
        social: Some(idlink::identity::IdentityKey::social("xbox", &json!("1")).unwrap()),
        end_other_sessions: false,
        now: 1_795_420_800,
        by: Default::default(),
    };
    let user = app.store.login(&cmd).await.unwrap().user;
    let server = seed.server_token(&app.tokens, &[Scope::ReadUsers]);
    let (status, body) = call(&app, &server, &user.id.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], user.id.to_string());
    assert_eq!(body["nickname"], "Nick");
    assert_eq!(body["created_at"], "2026-11-23T08:00:00Z");
    assert_eq!(body["app_metadata"], json!({"tier": "gold"}));
    assert_eq!(body["user_metadata"], json!({"theme": "dark"}));
    assert_eq!(
        body["identities"],
        json!([
            {"connection": "server_custom_id", "provider": "server_custom_id", "user_id": "p", "isSocial": false},
            {"connection": "xbox", "provider": "xbox", "user_id": "1", "isSocial": true}
        ])
    );
    let own = app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();
    assert_eq!(call(&app, &own, &user.id.to_string()).await.0, 200);

    let other = login_user(&app.store, &seed, "other").await;
    let (status, body) = call(&app, &own, &other.id.to_string()).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("operation_not_permitted"))
    );
    let login_only = seed.server_token(&app.tokens, &[Scope::UsersLogin]);
    let (status, body) = call(&app, &login_only, &user.id.to_string()).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            403,
            Some("Insufficient scope, expected any of: read:users, read:current_user")
        )
    );
    for id in [UserId::new_random().to_string(), "auth0|123".to_owned()] {
        let (status, body) = call(&app, &server, &id).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (404, Some("inexistent_user"))
        );
    }
    let foreign = Seed::create(&app.store, None).await;
    let (status, _) = call(
        &app,
        &foreign.server_token(&app.tokens, &Scope::ALL),
        &user.id.to_string(),
    )
    .await;
    assert_eq!(status, 404, "another project's user does not exist");
    app.store.tombstone(other.id, user.id);
    assert_eq!(call(&app, &server, &other.id.to_string()).await.0, 404);
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("get-user", 3).await {
        case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
    }
}

#[tokio::test]
async fn a_player_sees_what_users_me_shows_it_and_never_private_server_attributes() {
    let (app, seed) = env().await;
    let cmd = LoginCommand {
        attributes: idlink::attribute::Attribute::parse_list(Some(&json!([
            {"attr_type":"server","key":"fraud_score","permission":"private","value":97},
            {"attr_type":"server","key":"rank","permission":"public","value":"gold"},
            {"attr_type":"client","key":"theme","permission":"public","value":"dark"},
            {"attr_type":"client","key":"notes","permission":"private","value":"mine"}
        ])))
        .unwrap(),
        ..LoginCommand::new(
            seed.project.id,
            CustomId::parse("p").unwrap(),
            idlink::clock::now(),
        )
    };
    let user = app.store.login(&cmd).await.unwrap().user;
    let own = app
        .tokens
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();

    let (status, body) = call(&app, &own, &user.id.to_string()).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["app_metadata"], json!({"rank": "gold"}));
    assert_eq!(
        body["user_metadata"],
        json!({"theme": "dark", "notes": "mine"})
    );
    assert!(!body.to_string().contains("fraud_score"));
    // The studio's server still sees everything.
    let server = seed.server_token(&app.tokens, &[Scope::ReadUsers]);
    let (_, body) = call(&app, &server, &user.id.to_string()).await;
    assert_eq!(
        body["app_metadata"],
        json!({"fraud_score": 97, "rank": "gold"})
    );
}

#[tokio::test]
async fn a_link_token_cannot_read_a_user() {
    let (app, seed) = env().await;
    let user = login_user(&app.store, &seed, "p").await;
    let link = idlink::testing::link_token(&app.tokens, &seed, &user, idlink::clock::now());

    let (status, body) = call(&app, &link, &user.id.to_string()).await;

    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn blocked_shows_a_ban_that_holds_and_the_players_own_token_is_refused() {
    let env = idlink::testing::TestEnv::new(&[Scope::ReadUsers]).await;
    let (held, ahead) = (
        env.login("held", None).await,
        env.login("ahead", None).await,
    );
    let own = env
        .app
        .tokens
        .issue_user_token(&held, None, None, idlink::clock::now())
        .unwrap();
    let now = idlink::clock::now();
    env.ban(held.id, now - 60, None).await;
    env.ban(ahead.id, now + 3600, None).await;

    let (_, held_body) = call(&env.app, &env.token, &held.id.to_string()).await;
    let (_, ahead_body) = call(&env.app, &env.token, &ahead.id.to_string()).await;
    let (status, body) = call(&env.app, &own, &held.id.to_string()).await;

    assert_eq!(
        (&held_body["blocked"], &ahead_body["blocked"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("user_blocked"))
    );
}
