use super::*;
use idlink::client::Scope;
use idlink::function::answer;
use idlink::store::{LinkStore, UserStore};
use idlink::testing::fixture_cases;
use idlink::testing::link_token;
use lambda_http::RequestExt;
use lambda_http::http;
use serde_json::{Value, json};
use std::collections::HashMap;

idlink::handler_env!();

impl Env {
    async fn call(&self, token: &str, id: &str, provider: &str, user_id: &str) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("DELETE")
            .uri(format!(
                "/api/v2/users/{id}/identities/{provider}/{user_id}"
            ))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::Empty)
            .unwrap();
        let req = req.with_path_parameters(HashMap::from([
            ("id".to_owned(), id.to_owned()),
            ("provider".to_owned(), provider.to_owned()),
            ("user_id".to_owned(), user_id.to_owned()),
        ]));
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }
}

#[tokio::test]
async fn an_unlinked_identity_becomes_a_standalone_user() {
    let env = env().await;
    let a = env.login("a", Some(("steam", "9"))).await;
    let a_login = env
        .app
        .tokens
        .issue_user_token(&a, None, None, now())
        .unwrap();
    let a_token = link_token(&env.app.tokens, &env.seed, &a, now());
    let (status, body) = env.call(&a_token, &a.id.to_string(), "steam", "9").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"connection": "server_custom_id", "provider": "server_custom_id", "user_id": "a", "isSocial": false}])
    );
    let steam = IdentityKey::social("steam", &json!("9")).unwrap();
    let owner = env
        .app
        .store
        .owner_of(env.seed.project.id, &steam)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(owner, a.id);
    let standalone = env.stored(owner).await;
    assert_eq!(standalone.identities, vec![steam]);
    assert!(
        env.app
            .tokens
            .verify_user_session(&a_login, &env.app.store)
            .await
            .is_err(),
        "tokens ended"
    );

    // Its last identity cannot leave it; nor can a user's custom ID.
    let server = env.seed.server_token(&env.app.tokens, &Scope::ALL);
    let (status, body) = env.call(&server, &owner.to_string(), "steam", "9").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("operation_not_permitted"))
    );
    let b = env.login("b", Some(("psn", "1"))).await;
    let (status, body) = env
        .call(&server, &b.id.to_string(), "server_custom_id", "b")
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Main identity cannot be removed."))
    );
    let (status, _) = env.call(&server, &b.id.to_string(), "xbox", "nope").await;
    assert_eq!(status, 404);
    let (status, body) = env
        .call(
            &env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]),
            &b.id.to_string(),
            "psn",
            "1",
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, _) = env.call(&server, &b.id.to_string(), "psn", "1").await;
    assert_eq!(status, 200);
}

/// What the studio set stays the studio's: a player's own token, login or link, cannot remove a
/// custom ID, the external ID or the partner identifier (after which the set-once external ID
/// could be replaced); and a login token unlinks nothing at all.
#[tokio::test]
async fn only_a_server_removes_what_the_studio_set() {
    let env = env().await;
    let server = env.seed.server_token(&env.app.tokens, &Scope::ALL);
    let p = env.login("p", Some(("steam", "5"))).await;
    let (status, _) = env
        .call(&server, &p.id.to_string(), "server_custom_id", "p")
        .await;
    assert_eq!(status, 400, "main identity stays even for a server");
    env.app
        .store
        .link_single(&idlink::store::SingleLink::external_id(
            env.seed.project.id,
            p.id,
            &idlink::identity::ExternalAccountId::parse("EXT-1").unwrap(),
            now(),
        ))
        .await
        .unwrap();
    let login = env
        .app
        .tokens
        .issue_user_token(&p, None, None, now())
        .unwrap();
    let link = link_token(&env.app.tokens, &env.seed, &p, now());
    let id = p.id.to_string();

    for token in [&login, &link] {
        for (provider, subject) in [
            ("external_id", "EXT-1"),
            ("partner", "anything"),
            ("server_custom_id", "p"),
        ] {
            let (status, body) = env.call(token, &id, provider, subject).await;
            assert_eq!(
                (status, body["errorCode"].as_str()),
                (403, Some("operation_not_permitted")),
                "{provider}: {body}"
            );
        }
    }
    let (status, body) = env.call(&login, &id, "steam", "5").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("insufficient_scope")),
        "a login token unlinks nothing: {body}"
    );
    let held = env.stored(p.id).await;
    assert_eq!(held.identities.len(), 3, "nothing removed: {held:?}");
    assert_eq!(held.user.external_id.as_deref(), Some("EXT-1"));

    let (status, body) = env.call(&server, &id, "external_id", "EXT-1").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("unlink-identity", 4).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() >= 400 {
            assert_eq!(body["statusCode"], case.status(), "{}", case.name);
            assert!(body["errorCode"].is_string(), "{}", case.name);
        }
    }
}
