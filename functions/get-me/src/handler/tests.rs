use super::*;
use idlink::client::Scope;
use idlink::function::answer;
use idlink::store::LoginStore;
use idlink::testing::fixture_cases;
use idlink::testing::test_tokens;
use idlink::user::LoginCommand;
use lambda_http::http;

idlink::handler_env!();

impl Env {
    async fn login(&self, body: Value, with_logout: bool) -> String {
        let cmd = LoginCommand {
            project: self.seed.project.id,
            custom_id: idlink::identity::CustomId::parse(body["id"].as_str().unwrap()).unwrap(),
            nickname: Some(idlink::identity::Nickname::parse("Nick").unwrap()),
            attributes: idlink::attribute::Attribute::parse_list(body.get("attributes")).unwrap(),
            social: None,
            end_other_sessions: with_logout,
            now: 1_795_420_800,
            by: Default::default(),
        };
        let user = self.app.store.login(&cmd).await.unwrap().user;
        self.app
            .tokens
            .issue_user_token(&user, None, None, idlink::clock::now())
            .unwrap()
    }

    async fn me(&self, authorization: Option<&str>) -> (u16, Value) {
        let mut b = http::Request::builder().method("GET").uri("/users/me");
        if let Some(a) = authorization {
            b = b.header("authorization", a);
        }
        let resp = answer::<crate::Family>(handle(&self.app, &b.body(Body::Empty).unwrap())).await;
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }
}

#[tokio::test]
async fn answers_every_xsolla_field_and_only_visible_attributes() {
    let env = env().await;
    let token = env
        .login(
            json!({"id": "p", "attributes": [
                {"attr_type":"client","key":"mine","permission":"private","value":1},
                {"attr_type":"server","key":"public_rank","permission":"public","value":"gold"},
                {"attr_type":"server","key":"hidden","permission":"private","value":"x"}
            ]}),
            false,
        )
        .await;
    let (status, body) = env.me(Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "ban",
        "birthday",
        "connection_information",
        "country",
        "devices",
        "email",
        "external_id",
        "first_name",
        "last_name",
        "gender",
        "groups",
        "id",
        "last_login",
        "name",
        "nickname",
        "phone",
        "picture",
        "registered",
        "username",
        "tag",
        "is_anonymous",
        "phone_auth",
    ] {
        assert!(body.get(key).is_some(), "missing {key}");
    }
    assert!(body["devices"].is_array() && body["groups"].is_array());
    assert_eq!(body["external_id"], Value::Null);
    assert_eq!(body["nickname"], "Nick");
    assert_eq!(body["registered"], "2026-11-23T08:00:00Z");
    assert_eq!(
        body["identities"],
        json!([{"provider": "server_custom_id", "subject": "p"}])
    );
    let keys = idlink::testing::attribute_keys(&body);
    assert_eq!(keys, ["mine", "public_rank"]);
}

#[tokio::test]
async fn ended_sessions_and_wrong_tokens_get_401() {
    let env = env().await;
    let old = env.login(json!({"id": "p"}), false).await;
    assert_eq!(env.me(Some(&format!("Bearer {old}"))).await.0, 200);
    let fresh = env.login(json!({"id": "p"}), true).await;
    let (status, body) = env.me(Some(&format!("Bearer {old}"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("002-016"))
    );
    assert_eq!(env.me(Some(&format!("Bearer {fresh}"))).await.0, 200);

    let (status, body) = env.me(None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("003-040"))
    );
    let server = env.seed.server_token(&env.app.tokens, &Scope::ALL);
    assert_eq!(env.me(Some(&format!("Bearer {server}"))).await.0, 401);
    assert_eq!(env.me(Some("Bearer x.y.z")).await.0, 401);
    let foreign = test_tokens()
        .issue_user_token(
            &env.app
                .store
                .login(&LoginCommand::new(
                    env.seed.project.id,
                    idlink::identity::CustomId::parse("q").unwrap(),
                    0,
                ))
                .await
                .unwrap()
                .user,
            None,
            None,
            idlink::clock::now(),
        )
        .unwrap();
    assert_eq!(
        env.me(Some(&format!("Bearer {foreign}"))).await.0,
        401,
        "signed by another key"
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("get-me", 3).await {
        case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
    }
}

impl Env {
    /// A player's token, after `ban(user)` put a ban on it.
    async fn banned(&self, ban: impl AsyncFnOnce(&Env, idlink::identity::UserId)) -> String {
        let token = self.login(json!({"id": "p"}), false).await;
        ban(
            self,
            self.app.tokens.verify_user_token(&token).unwrap().user,
        )
        .await;
        format!("Bearer {token}")
    }
}

#[tokio::test]
async fn a_ban_ahead_is_shown_and_a_ban_that_holds_refuses_the_token_with_002_040() {
    let env = env().await;
    let now = idlink::clock::now();
    let token = env
        .banned(async |env, user| env.ban(user, now + 3600, Some(now + 7200)).await)
        .await;

    let (status, body) = env.me(Some(&token)).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["ban"],
        json!({
            "date_from": idlink::user::rfc3339(now + 3600),
            "date_to": idlink::user::rfc3339(now + 7200),
            "reason": "Cheating",
        })
    );
    let user = env.app.tokens.verify_user_token(&token[7..]).unwrap().user;
    env.ban(user, now - 60, None).await;
    let (status, body) = env.me(Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("002-040"))
    );
}

#[tokio::test]
async fn a_ban_that_is_over_is_not_shown() {
    let env = env().await;
    let now = idlink::clock::now();
    let token = env
        .banned(async |env, user| env.ban(user, now - 7200, Some(now - 3600)).await)
        .await;

    let (status, body) = env.me(Some(&token)).await;

    assert_eq!((status, &body["ban"]), (200, &Value::Null));
}
