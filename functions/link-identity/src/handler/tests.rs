use super::*;
use idlink::client::Scope;
use idlink::function::answer;
use idlink::identity::{CustomId, ExternalAccountId, ProjectId, UserId};
use idlink::store::{LinkStore, LoginStore, SingleLink, UserStore};
use idlink::testing::fixture_cases;
use idlink::testing::{Seed, link_token, login_user};
use idlink::user::{LoginCommand, User};
use lambda_http::RequestExt;
use lambda_http::http;
use serde_json::json;
use std::collections::HashMap;

idlink::handler_env!();

impl Env {
    async fn call(&self, token: &str, id: &str, body: Value) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri(format!("/api/v2/users/{id}/identities"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let req = req.with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        let resp = answer::<crate::Family>(handle(&self.app, &req)).await;
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }

    fn server(&self) -> String {
        self.seed.server_token(&self.app.tokens, &Scope::ALL)
    }

    fn token(&self, user: &User, at: i64) -> String {
        self.app
            .tokens
            .issue_user_token(user, None, None, at)
            .unwrap()
    }

    /// Sends each `(token, body)` to `{id}` and expects its status and Auth0 `errorCode`.
    async fn expect_each(&self, id: &str, cases: Vec<(String, Value, u16, &str)>) {
        for (i, (token, body, status, code)) in cases.into_iter().enumerate() {
            let (got, answer) = self.call(&token, id, body).await;
            assert_eq!(
                (got, answer["errorCode"].as_str()),
                (status, Some(code)),
                "case {i}: {answer}"
            );
        }
    }

    /// A link token, as token exchange mints it for the seed's server client.
    fn link(&self, user: &User, at: i64) -> String {
        link_token(&self.app.tokens, &self.seed, user, at)
    }

    async fn user(&self, custom: &str) -> User {
        login_user(&self.app.store, &self.seed, custom).await
    }
}

fn providers(body: &Value) -> Vec<(String, String)> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["provider"].as_str().unwrap().to_owned(),
                i["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn server_link_attaches_a_free_identity_and_merges_a_held_one() {
    let env = env().await;
    let a = env.user("a").await;
    let b = env.login("b", Some(("steam", "77"))).await;
    let a_token = env.token(&a, now());
    let b_token = env.token(&b, now());

    let (status, body) = env
        .call(
            &env.server(),
            &a.id.to_string(),
            json!({"provider": "xbox", "user_id": 4352354}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(providers(&body).contains(&("xbox".into(), "4352354".into())));
    assert_eq!(body[0]["connection"], body[0]["provider"]);

    let (status, body) = env
        .call(
            &env.server(),
            &a.id.to_string(),
            json!({"provider": "server_custom_id", "user_id": "b"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let got = providers(&body);
    for expected in [
        ("server_custom_id", "a"),
        ("server_custom_id", "b"),
        ("steam", "77"),
        ("xbox", "4352354"),
    ] {
        assert!(
            got.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {got:?}"
        );
    }
    assert!(
        env.app
            .store
            .get_user(env.seed.project.id, b.id)
            .await
            .unwrap()
            .is_none(),
        "b is a tombstone"
    );
    // Logging in as the former secondary lands on the primary; both users' old tokens are dead.
    assert_eq!(env.user("b").await.id, a.id);
    for old in [&a_token, &b_token] {
        assert!(
            env.app
                .tokens
                .verify_user_session(old, &env.app.store)
                .await
                .is_err()
        );
    }
    let (status, body) = env
        .call(
            &env.server(),
            &a.id.to_string(),
            json!({"provider": "steam", "user_id": "77"}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (409, Some("identity_conflict"))
    );
}

#[tokio::test]
async fn a_merge_past_a_user_limit_answers_409_and_writes_nothing() {
    let env = env().await;
    let value = "x".repeat(896);
    for custom in ["a", "b"] {
        for chunk in 0..4 {
            let cmd = LoginCommand {
                attributes: idlink::attribute::Attribute::parse_list(Some(&json!(
                    (chunk * 50..chunk * 50 + 50)
                        .map(
                            |i| json!({"attr_type": "server", "key": format!("{custom}{i}"),
                                        "permission": "private", "value": value})
                        )
                        .collect::<Vec<_>>()
                )))
                .unwrap(),
                ..LoginCommand::new(env.seed.project.id, CustomId::parse(custom).unwrap(), now())
            };
            env.app.store.login(&cmd).await.unwrap();
        }
    }
    let a = env.user("a").await;
    let b = env.user("b").await;
    let project = env.seed.project.id;
    let before = (
        env.app.store.get_user(project, a.id).await.unwrap(),
        env.app.store.get_user(project, b.id).await.unwrap(),
    );

    let (status, body) = env
        .call(
            &env.server(),
            &a.id.to_string(),
            json!({"provider": "server_custom_id", "user_id": "b"}),
        )
        .await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["statusCode"], 409);
    assert_eq!(body["error"], "Conflict");
    assert_eq!(body["errorCode"], "user_limit_exceeded");
    assert!(
        body["message"].as_str().unwrap().contains("200 attributes"),
        "{body}"
    );
    let after = (
        env.app.store.get_user(project, a.id).await.unwrap(),
        env.app.store.get_user(project, b.id).await.unwrap(),
    );
    assert_eq!(before, after);
}

#[tokio::test]
async fn refusals_write_nothing() {
    let env = env().await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    for (user, ext) in [(&a, "EA"), (&b, "EB")] {
        env.app
            .store
            .link_single(&SingleLink::external_id(
                env.seed.project.id,
                user.id,
                &ExternalAccountId::parse(ext).unwrap(),
                1,
            ))
            .await
            .unwrap();
    }
    let before = env.app.store.markers().len();
    let id = a.id.to_string();
    let nobody = UserId::new_random().to_string();
    let s = env.server();
    let cases: Vec<(String, &str, Value, u16, &str)> = vec![
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "server_custom_id", "user_id": "b"}),
            409,
            "identity_conflict",
        ),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "server_custom_id", "user_id": "nobody"}),
            400,
            "operation_not_permitted",
        ),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1", "extra": true}),
            400,
            "invalid_body",
        ),
        (s.clone(), id.as_str(), json!({}), 400, "invalid_body"),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "xbox"}),
            400,
            "invalid_body",
        ),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "xbox", "user_id": 1.5}),
            400,
            "invalid_body",
        ),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1", "link_with": "x"}),
            400,
            "invalid_body",
        ),
        (
            s.clone(),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1", "connection_id": "nope"}),
            400,
            "invalid_body",
        ),
        (
            s.clone(),
            nobody.as_str(),
            json!({"provider": "xbox", "user_id": "1"}),
            404,
            "inexistent_user",
        ),
        (
            env.token(&a, now()),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1"}),
            403,
            "insufficient_scope",
        ),
        (
            env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1"}),
            403,
            "insufficient_scope",
        ),
        (
            "garbage".into(),
            id.as_str(),
            json!({"provider": "xbox", "user_id": "1"}),
            401,
            "invalid_token",
        ),
    ];
    for (i, (token, target, body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer) = env.call(&token, target, body).await;
        assert_eq!(
            (got, answer["errorCode"].as_str()),
            (status, Some(code)),
            "case {i}: {answer}"
        );
        assert_eq!(answer["statusCode"], status);
        assert!(answer["error"].is_string() && answer["message"].is_string());
    }
    assert_eq!(env.app.store.markers().len(), before, "nothing written");
    assert!(
        env.app
            .store
            .get_user(env.seed.project.id, b.id)
            .await
            .unwrap()
            .is_some()
    );
    let (_, answer) = env
        .call(
            &env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]),
            &id,
            json!({"provider": "xbox", "user_id": "1"}),
        )
        .await;
    assert_eq!(
        answer["message"],
        "Insufficient scope, expected any of: update:users, update:current_user_identities"
    );
}

#[tokio::test]
async fn link_with_proves_both_accounts() {
    let env = env().await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    let c = env.user("c").await;
    let id = a.id.to_string();
    let mine = env.link(&a, now());
    let other_project = Seed::create(&env.app.store, None).await;
    let foreign = login_user(&env.app.store, &other_project, "f").await;
    let refusals: Vec<(String, Value, u16, &str)> = vec![
        (
            mine.clone(),
            json!({"link_with": env.link(&b, now() - 2 * 86_400)}),
            400,
            "invalid_body",
        ),
        (
            mine.clone(),
            json!({"link_with": env.link(&b, now() - 600)}),
            400,
            "invalid_body",
        ),
        (
            mine.clone(),
            json!({"link_with": link_token(&env.app.tokens, &other_project, &foreign, now())}),
            400,
            "invalid_body",
        ),
        (
            mine.clone(),
            json!({"link_with": env.link(&a, now())}),
            400,
            "operation_not_permitted",
        ),
        (
            mine.clone(),
            json!({"link_with": "not.a.token"}),
            400,
            "invalid_body",
        ),
        (
            mine.clone(),
            json!({"link_with": env.seed.server_token(&env.app.tokens, &Scope::ALL)}),
            400,
            "invalid_body",
        ),
        // A login token proves nothing: it travels to game servers, partners and logs.
        (
            mine.clone(),
            json!({"link_with": env.token(&b, now())}),
            400,
            "invalid_body",
        ),
        (
            env.link(&c, now()),
            json!({"link_with": env.link(&b, now())}),
            403,
            "operation_not_permitted",
        ),
    ];
    env.expect_each(&id, refusals).await;
    assert!(
        env.app
            .store
            .get_user(env.seed.project.id, b.id)
            .await
            .unwrap()
            .is_some(),
        "nothing merged"
    );
    assert!(
        env.app
            .store
            .get_user(ProjectId::new_random(), b.id)
            .await
            .unwrap()
            .is_none()
    );

    let proof = env.link(&b, now());
    let (status, body) = env.call(&mine, &id, json!({"link_with": proof})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(providers(&body).len(), 2);
    // Replayed: refused (the secondary is gone, and the proof is spent).
    let a_again = env.user("a").await;
    let (status, _) = env
        .call(&env.link(&a_again, now()), &id, json!({"link_with": proof}))
        .await;
    assert_eq!(status, 400);
    // The caller's own link token died with the merge.
    let (status, body) = env
        .call(&mine, &id, json!({"link_with": env.link(&c, now())}))
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("invalid_token"))
    );
}

/// The attack of issue 12: the victim's login token (leaked from a game server, a partner or a
/// log) and a fresh login token of the attacker's own account used to answer 201 and hand the
/// attacker's custom ID the victim's account for good.
#[tokio::test]
async fn a_login_token_can_neither_link_nor_merge() {
    let env = env().await;
    let victim = env.user("victim").await;
    let attacker = env.user("attacker").await;
    let stray = env.token(&victim, now());
    let id = victim.id.to_string();

    let attempts = [
        (
            stray.clone(),
            json!({"link_with": env.token(&attacker, now())}),
            403,
            "insufficient_scope",
        ),
        (
            stray.clone(),
            json!({"link_with": env.link(&attacker, now())}),
            403,
            "insufficient_scope",
        ),
        (
            stray.clone(),
            json!({"provider": "server_custom_id", "user_id": "attacker"}),
            403,
            "insufficient_scope",
        ),
        (
            env.link(&victim, now()),
            json!({"link_with": env.token(&attacker, now())}),
            400,
            "invalid_body",
        ),
    ];
    env.expect_each(&id, attempts.to_vec()).await;

    // Nothing moved: the attacker still logs into its own account, the victim keeps only its own.
    assert_eq!(env.user("attacker").await.id, attacker.id);
    let victim_now = env.stored(victim.id).await;
    assert_eq!(victim_now.identities.len(), 1);
    assert_eq!(victim_now.user.version, victim.version, "victim untouched");
}

#[tokio::test]
async fn linking_a_users_own_main_identity_is_auth0s_same_identity_400() {
    let env = env().await;
    let a = env.user("a").await;
    let (status, body) = env
        .call(
            &env.server(),
            &a.id.to_string(),
            json!({"provider": "server_custom_id", "user_id": "a"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str(), body["errorCode"].as_str()),
        (
            400,
            Some("Main identity and the new one are the same."),
            Some("operation_not_permitted")
        )
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("link-identity", 6).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() >= 400 {
            assert_eq!(body["statusCode"], case.status(), "{}", case.name);
            assert!(body["errorCode"].is_string(), "{}", case.name);
        }
    }
}

impl Env {
    async fn keyed(&self, key: &str, id: &str, body: Value) -> Response<Body> {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri(format!("/api/v2/users/{id}/identities"))
            .header("authorization", format!("Bearer {}", self.server()))
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap();
        let req = req.with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        answer::<crate::Family>(handle(&self.app, &req)).await
    }
}

#[tokio::test]
async fn a_keyed_merge_happens_once_and_its_answer_is_replayed() {
    let env = env().await;
    let primary = env.user("primary").await;
    let secondary = env.user("secondary").await;
    let id = primary.id.to_string();
    let body = json!({"provider": "server_custom_id", "user_id": "secondary"});
    let first = env.keyed("merge-1", &id, body.clone()).await;
    assert_eq!(first.status(), 201);
    let merged = env.app.store.log_of(primary.id).len();

    let again = env.keyed("merge-1", &id, body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.body().as_ref(), first.body().as_ref());
    assert_eq!(
        env.app.store.log_of(primary.id).len(),
        merged,
        "no second merge"
    );
    assert!(
        env.app
            .store
            .get_user(env.seed.project.id, secondary.id)
            .await
            .unwrap()
            .is_none()
    );

    // The key with another body: Auth0's envelope, 422.
    let other = env
        .keyed("merge-1", &id, json!({"provider": "steam", "user_id": "1"}))
        .await;
    assert_eq!(other.status(), 422);
    let answer: Value = serde_json::from_slice(other.body().as_ref()).unwrap();
    assert_eq!(answer["errorCode"], "idempotency_key_reused");
    assert_eq!(answer["statusCode"], 422);
}
