use super::*;
use idlink::function::answer;
use idlink::identity::CustomId;
use idlink::store::{AttributeStore, AttributeWrite, LoginStore};
use idlink::testing::{Seed, answered, fixture_cases, login_social, request};
use idlink::user::LoginCommand;

idlink::handler_env!(Scope::ReadUsers);

/// `POST /attributes/custom_id/get` with `token` in Xsolla's raw header.
async fn read(env: &Env, token: &str, body: Value) -> (u16, Value) {
    let auth = [("x-server-authorization", token)];
    let req = request("POST", "/attributes/custom_id/get", &auth, &[], Some(&body));
    answered(answer::<crate::Family>(handle(&env.app, &req)).await)
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("attributes-by-custom-id", 6).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        let error = body["error"]["code"].as_str();
        assert_eq!(body.is_array(), error.is_none(), "{}: {body}", case.name);
        assert_eq!(body.is_array(), case.status() == 200, "{}", case.name);
    }
}

impl Env {
    /// Logs `custom` in with the reference sample's attributes (a private server attribute
    /// whose value is a number among them).
    async fn player_with_attributes(&self, custom: &str) -> idlink::user::User {
        let cmd = LoginCommand {
            attributes: Attribute::parse_list(Some(&json!([
                {"attr_type": "server", "key": "company", "permission": "private", "value": "facebook-promo"},
                {"attr_type": "server", "key": "custom-id", "permission": "private", "value": 48582},
                {"attr_type": "client", "key": "level", "permission": "public", "value": "7", "read_only": true},
            ])))
            .unwrap(),
            ..LoginCommand::new(self.seed.project.id, CustomId::parse(custom).unwrap(), 1)
        };
        self.app.store.login(&cmd).await.unwrap().user
    }
}

#[tokio::test]
async fn answers_each_known_custom_id_once_in_request_order_with_its_attributes() {
    let env = env().await;
    let a = env.player_with_attributes("player-a").await;
    let b = env.login("player-b", None).await;
    let set = Attribute::parse_server_write_list(Some(&json!([{"key": "tier", "value": "gold"}])))
        .unwrap();
    env.app
        .store
        .write_attributes(&AttributeWrite::new(
            env.seed.project.id,
            CustomId::parse("player-b").unwrap(),
            set,
            Vec::new(),
            2,
        ))
        .await
        .unwrap();

    let (status, rows) = read(
        &env,
        &env.token,
        json!({"server_custom_ids": ["player-b", "nobody", "player-a", "player-b"]}),
    )
    .await;

    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        rows,
        json!([
            {"server_custom_id": "player-b", "user_id": b.id.to_string(), "attributes": [
                {"key": "tier", "value": "gold", "attr_type": "client", "permission": "private",
                 "readonly": false}]},
            {"server_custom_id": "player-a", "user_id": a.id.to_string(), "attributes": [
                {"key": "company", "value": "facebook-promo", "attr_type": "server",
                 "permission": "private", "readonly": false},
                {"key": "custom-id", "value": "48582", "attr_type": "server",
                 "permission": "private", "readonly": false},
                {"key": "level", "value": "7", "attr_type": "client", "permission": "public",
                 "readonly": true}]},
        ])
    );
}

#[tokio::test]
async fn keys_filter_the_attributes_answered() {
    let env = env().await;
    env.player_with_attributes("player-a").await;
    env.login("player-b", None).await;

    let (status, rows) = read(
        &env,
        &env.token,
        json!({"server_custom_ids": ["player-a", "player-b"], "keys": ["level", "absent"]}),
    )
    .await;

    assert_eq!(status, 200);
    let keys: Vec<Vec<&str>> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["key"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(keys, vec![vec!["level"], vec![]]);
}

#[tokio::test]
async fn another_projects_custom_ids_are_never_revealed() {
    let env = env().await;
    let other = Seed::create(&env.app.store, None).await;
    let theirs = login_social(&env.app.store, other.project.id, "shared-name", None).await;
    let body = json!({"server_custom_ids": ["shared-name"]});

    assert_eq!(read(&env, &env.token, body.clone()).await, (200, json!([])));
    let token = other.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let (_, rows) = read(&env, &token, body).await;
    assert_eq!(rows[0]["user_id"], theirs.id.to_string());
}

#[tokio::test]
async fn bad_input_is_refused_in_xsollas_envelope_naming_the_field() {
    let env = env().await;
    let ids = |n: usize| json!((0..n).map(|i| format!("p{i}")).collect::<Vec<_>>());
    // 250 custom IDs at the identity limit and 200 keys fit the body limit.
    let longest: Vec<String> = (0..250)
        .map(|i| format!("{i:03}{}", "\u{20AC}".repeat(253)))
        .collect();
    let body = json!({"server_custom_ids": longest, "keys": ids(200)});
    assert!(body.to_string().len() > 128 * 1024);
    assert_eq!(read(&env, &env.token, body).await.0, 200);
    assert_eq!(
        read(&env, &env.token, json!({"server_custom_ids": ids(250)}))
            .await
            .0,
        200
    );
    let cases = [
        (
            json!({"server_custom_ids": ids(251)}),
            "002-027",
            "server_custom_ids",
        ),
        (
            json!({"server_custom_ids": []}),
            "002-027",
            "server_custom_ids",
        ),
        (json!({}), "002-028", "server_custom_ids"),
        (
            json!({"server_custom_ids": "p1"}),
            "002-027",
            "server_custom_ids",
        ),
        (
            json!({"server_custom_ids": ["p1", 7]}),
            "002-027",
            "server_custom_ids[1]",
        ),
        (
            json!({"server_custom_ids": ["x".repeat(257)]}),
            "002-027",
            "server_custom_ids[0]",
        ),
        (
            json!({"server_custom_ids": [""]}),
            "002-027",
            "server_custom_ids[0]",
        ),
        (
            json!({"server_custom_ids": ["a\u{200B}b"]}),
            "002-027",
            "server_custom_ids[0]",
        ),
        (
            json!({"server_custom_ids": ["p1"], "keys": "level"}),
            "002-027",
            "keys",
        ),
        (
            json!({"server_custom_ids": ["p1"], "keys": [""]}),
            "002-027",
            "keys[0]",
        ),
        (
            json!({"server_custom_ids": ["p1"], "keys": ids(201)}),
            "002-027",
            "keys",
        ),
    ];
    for (body, code, parameter) in cases {
        let (status, answer) = read(&env, &env.token, body.clone()).await;
        let error = &answer["error"];
        let got = (
            status,
            error["code"].as_str(),
            error["details"]["parameter"].as_str(),
        );
        assert_eq!(got, (400, Some(code), Some(parameter)), "{body}");
    }
}

#[tokio::test]
async fn a_token_without_read_users_is_refused() {
    let env = env().await;
    let narrow = env
        .seed
        .server_token(&env.app.tokens, &[Scope::UpdateUsers]);
    let (status, answer) = read(&env, &narrow, json!({"server_custom_ids": ["p"]})).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "002-016");
}
