use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idlink::TokenProblem;
use idlink::function::answer;
use idlink::store::UserStore;
use idlink::testing::fixture_cases;
use idlink::testing::test_tokens;
use idlink::token::TokenService;
use lambda_http::http;

const REFERENCE_SAMPLE: &str = r#"{
  "attributes": [
    {"attr_type":"server","key":"company","permission":"private","value":"facebook-promo"},
    {"attr_type":"server","key":"custom-id","permission":"private","value":48582}
  ],
  "server_custom_id": "1234567890asdfghjkl",
  "social_profile": {"platform":"xbox","user_id":4352354},
  "user_profile": {"nickname":"  John_Doe_1337 "}
}"#;

idlink::handler_env!(Scope::UsersLogin);

fn post(query: &str, body: &str, headers: &[(&str, &str)]) -> Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!(
            "https://idlink.test/users/login/server_custom_id?{query}"
        ))
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req: Request = b.body(Body::from(body.to_owned())).unwrap();
    // lambda_http reads query parameters from its request extension, as API Gateway fills it.
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    lambda_http::RequestExt::with_query_string_parameters(req, params)
}

impl Env {
    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    async fn call(&self, query: &str, body: &str) -> (u16, Value) {
        let auth = self.bearer();
        self.call_with(query, body, &[("authorization", auth.as_str())])
            .await
    }

    async fn call_with(&self, query: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let resp = answer::<crate::Family>(handle(&self.app, &post(query, body, headers))).await;
        (
            resp.status().as_u16(),
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }

    async fn login_claims(&self, query: &str, body: &str) -> idlink::token::UserClaims {
        let (status, body) = self.call(query, body).await;
        assert_eq!(status, 200, "{body}");
        self.app
            .tokens
            .user_claims(body["token"].as_str().unwrap())
            .unwrap()
    }
}

#[tokio::test]
async fn reference_sample_creates_the_user_and_answers_a_token() {
    let env = env().await;
    let query = format!("projectId={}&payload=hello", env.seed.project.id);
    let claims = env.login_claims(&query, REFERENCE_SAMPLE).await;
    assert_eq!(claims.login_type, "server_custom_id");
    assert_eq!(
        claims.server_custom_id.as_deref(),
        Some("1234567890asdfghjkl")
    );
    assert_eq!(
        claims.xsolla_login_project_id,
        env.seed.project.id.to_string()
    );
    assert_eq!(claims.aud, env.seed.project.id.to_string());
    assert_eq!(claims.publisher_id, Some(42));
    assert_eq!(claims.payload.as_deref(), Some("hello"));
    assert_eq!(claims.nickname.as_deref(), Some("John_Doe_1337"));
    assert_eq!(claims.exp - claims.iat, 86_400);
    assert_eq!(claims.external_account_id, None);

    let user = env
        .app
        .store
        .get_user(env.seed.project.id, claims.user_id().unwrap())
        .await
        .unwrap()
        .expect("user stored");
    assert_eq!(user.user.attributes.len(), 2);
    assert_eq!(user.user.attributes[1].value(), json!(48582));
    let providers: Vec<&str> = user
        .identities
        .iter()
        .map(|i| i.provider.as_str())
        .collect();
    assert!(providers.contains(&"xbox") && providers.contains(&"server_custom_id"));
}

#[tokio::test]
async fn returning_login_yields_the_same_user() {
    let env = env().await;
    let first = env.login_claims("", REFERENCE_SAMPLE).await;
    let again = env
        .login_claims("", r#"{"server_custom_id":"1234567890asdfghjkl"}"#)
        .await;
    let other = env
        .login_claims("", r#"{"server_custom_id":"someone-else"}"#)
        .await;
    assert_eq!(first.sub, again.sub);
    assert_eq!(
        again.nickname.as_deref(),
        Some("John_Doe_1337"),
        "kept from before"
    );
    assert_ne!(first.sub, other.sub);
    assert_ne!(first.jti, again.jti);
}

#[tokio::test]
async fn with_logout_ends_earlier_tokens() {
    let env = env().await;
    let body = r#"{"server_custom_id":"player-1"}"#;
    let (_, first) = env.call("", body).await;
    let first = first["token"].as_str().unwrap().to_owned();
    let (_, kept) = env.call("with_logout=0", body).await;
    let kept = kept["token"].as_str().unwrap().to_owned();
    assert!(
        env.app
            .tokens
            .verify_user_session(&first, &env.app.store)
            .await
            .is_ok()
    );
    assert!(
        env.app
            .tokens
            .verify_user_session(&kept, &env.app.store)
            .await
            .is_ok()
    );

    let (status, fresh) = env.call("with_logout=1", body).await;
    assert_eq!(status, 200);
    let fresh = fresh["token"].as_str().unwrap();
    for old in [&first, &kept] {
        assert!(matches!(
            env.app
                .tokens
                .verify_user_session(old, &env.app.store)
                .await,
            Err(Error::InvalidToken(TokenProblem::Revoked))
        ));
    }
    assert!(
        env.app
            .tokens
            .verify_user_session(fresh, &env.app.store)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn social_profile_of_another_user_is_refused_and_nothing_is_written() {
    let env = env().await;
    env.login_claims(
        "",
        r#"{"server_custom_id":"owner","social_profile":{"platform":"steam","user_id":"765"}}"#,
    )
    .await;
    let markers_before = env.app.store.markers().len();
    for custom in ["newcomer", "owner-2"] {
        let body = format!(
            r#"{{"server_custom_id":"{custom}","social_profile":{{"platform":"Steam","user_id":765}}}}"#
        );
        let (status, body) = env.call("", &body).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "010-016");
    }
    assert_eq!(
        env.app.store.markers().len(),
        markers_before,
        "no user was created"
    );
    // The same social profile with its owner's login is fine (idempotent).
    env.login_claims(
        "",
        r#"{"server_custom_id":"owner","social_profile":{"platform":"steam","user_id":765}}"#,
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_in_the_xsolla_envelope_and_writes_nothing() {
    let env = env().await;
    let other_project = ProjectId::new_random();
    let long = "x".repeat(257);
    let cases: Vec<(String, String, u16, &str)> = vec![
        ("".into(), "{}".into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":""}"#.into(), 400, "002-027"),
        ("".into(), format!(r#"{{"server_custom_id":"{long}"}}"#), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":12}"#.into(), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":null}"#.into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":"a\u0007b"}"#.into(), 400, "002-027"),
        ("".into(), "{\"server_custom_id\":".into(), 400, "002-027"),
        ("".into(), "[1,2]".into(), 400, "002-027"),
        ("".into(), "".into(), 400, "002-027"),
        ("".into(), format!(r#"{{"server_custom_id":"a","pad":"{}"}}"#, "p".repeat(40_000)), 400, "002-027"),
        (format!("projectId={other_project}"), r#"{"server_custom_id":"a"}"#.into(), 404, "003-019"),
        ("projectId=not-a-uuid".into(), r#"{"server_custom_id":"a"}"#.into(), 400, "002-027"),
        ("publisher_project_id=8".into(), r#"{"server_custom_id":"a"}"#.into(), 404, "003-019"),
        ("publisher_project_id=seven".into(), r#"{"server_custom_id":"a"}"#.into(), 400, "002-027"),
        ("with_logout=2".into(), r#"{"server_custom_id":"a"}"#.into(), 400, "002-027"),
        (format!("payload={}", "p".repeat(1001)), r#"{"server_custom_id":"a"}"#.into(), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":"a","user_profile":{"nickname":"   "}}"#.into(), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":"a","user_profile":{}}"#.into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":"a","user_profile":"n"}"#.into(), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":"a","social_profile":{"user_id":"1"}}"#.into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":"a","social_profile":{"platform":"xbox"}}"#.into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":"a","social_profile":{"platform":"server_custom_id","user_id":"b"}}"#.into(), 400, "002-027"),
        ("".into(), r#"{"server_custom_id":"a","attributes":[{"key":"k"}]}"#.into(), 400, "002-028"),
        ("".into(), r#"{"server_custom_id":"a","attributes":{"k":1}}"#.into(), 400, "002-027"),
    ];
    for (i, (query, body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer) = env.call(&query, &body).await;
        assert_eq!(got, status, "case {i}: {answer}");
        assert_eq!(answer["error"]["code"], code, "case {i}: {answer}");
        assert!(answer["error"]["description"].is_string(), "case {i}");
    }
    assert!(
        env.app.store.markers().is_empty(),
        "no refused request wrote anything"
    );
    // A matching publisher_project_id and projectId are accepted.
    let query = format!("projectId={}&publisher_project_id=7", env.seed.project.id);
    env.login_claims(&query, r#"{"server_custom_id":"a"}"#)
        .await;
}

#[tokio::test]
async fn attributes_are_capped_per_user() {
    let env = env().await;
    let batch = |from: usize| {
        let attrs: Vec<Value> = (from..from + 50)
            .map(|i| json!({"attr_type":"client","key":format!("k{i}"),"permission":"public","value":i}))
            .collect();
        json!({"server_custom_id": "collector", "attributes": attrs}).to_string()
    };
    for round in 0..4 {
        let (status, body) = env.call("", &batch(round * 50)).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
    let (status, body) = env.call("", &batch(200)).await;
    assert_eq!(status, 422, "{body}");
}

// ---- authentication --------------------------------------------------------------------------

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A token with any header and claims, signed by our real active key.
fn signed_by_us(tokens: &TokenService, header: Value, claims: Value) -> String {
    let msg = format!("{}.{}", b64(&header), b64(&claims));
    let sig = tokens.keys().signing().sign(msg.as_bytes()).unwrap();
    format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn server_claims(env: &Env) -> Value {
    let parts: Vec<&str> = env.token.split('.').collect();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[tokio::test]
async fn token_attacks_get_401() {
    let env = env().await;
    let tokens = &env.app.tokens;
    let kid = tokens.keys().signing().kid.clone();
    let header = json!({"alg":"ES256","kid":kid,"typ":"at+jwt"});
    let claims = server_claims(&env);
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    // HS256 keyed with our public key bytes (the classic RS/HS confusion).
    let jwks: Value = serde_json::from_str(tokens.keys().jwks_json()).unwrap();
    let hs_msg = format!(
        "{}.{}",
        b64(&json!({"alg":"HS256","kid":kid,"typ":"at+jwt"})),
        b64(&claims)
    );
    let hs_key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        jwks["keys"][0].to_string().as_bytes(),
    );
    let hs_sig = aws_lc_rs::hmac::sign(&hs_key, hs_msg.as_bytes());
    let user_token = {
        let (_, body) = env.call("", r#"{"server_custom_id":"victim"}"#).await;
        body["token"].as_str().unwrap().to_owned()
    };
    let now = idlink::clock::now();
    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg":"none","kid":kid,"typ":"at+jwt"})),
                b64(&claims)
            ),
        ),
        (
            "HS256 with public key",
            format!("{hs_msg}.{}", URL_SAFE_NO_PAD.encode(hs_sig.as_ref())),
        ),
        (
            "unknown kid",
            signed_by_us(
                tokens,
                json!({"alg":"ES256","kid":"nope","typ":"at+jwt"}),
                claims.clone(),
            ),
        ),
        (
            "no kid",
            signed_by_us(
                tokens,
                json!({"alg":"ES256","typ":"at+jwt"}),
                claims.clone(),
            ),
        ),
        (
            "exp as string",
            signed_by_us(
                tokens,
                header.clone(),
                with("exp", json!((now + 600).to_string())),
            ),
        ),
        (
            "no exp",
            signed_by_us(tokens, header.clone(), without("exp")),
        ),
        (
            "wrong iss",
            signed_by_us(
                tokens,
                header.clone(),
                with("iss", json!("https://evil.test")),
            ),
        ),
        (
            "wrong aud",
            signed_by_us(
                tokens,
                header.clone(),
                with("aud", json!("https://idlink.test/other/")),
            ),
        ),
        (
            "no aud",
            signed_by_us(tokens, header.clone(), without("aud")),
        ),
        (
            "expired",
            signed_by_us(tokens, header.clone(), with("exp", json!(now - 120))),
        ),
        ("user token as server token", user_token),
        (
            "foreign key",
            test_tokens()
                .issue_server_token(
                    &env.seed.client_id,
                    &env.seed.project,
                    &[Scope::UsersLogin],
                    now,
                )
                .unwrap(),
        ),
        ("tampered claims", {
            let parts: Vec<&str> = env.token.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                b64(&with("scope", json!("users:login read:users"))),
                parts[2]
            )
        }),
        ("garbage", "not.a.token".into()),
    ];
    for (name, token) in attacks {
        let auth = format!("Bearer {token}");
        let (status, body) = env
            .call_with(
                "",
                r#"{"server_custom_id":"a"}"#,
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "002-016", "{name}");
    }
    // The control: the same signing path with untouched claims is accepted.
    let good = signed_by_us(tokens, header, claims);
    let auth = format!("Bearer {good}");
    let (status, _) = env
        .call_with(
            "",
            r#"{"server_custom_id":"a"}"#,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn credentials_headers() {
    let env = env().await;
    let body = r#"{"server_custom_id":"a"}"#;
    let (status, answer) = env.call_with("", body, &[]).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("003-040"))
    );
    let (status, _) = env
        .call_with("", body, &[("x-server-authorization", &env.token)])
        .await;
    assert_eq!(status, 200, "Xsolla's raw header");
    let other = env.seed.server_token(&env.app.tokens, &[Scope::UsersLogin]);
    let bearer = env.bearer();
    let (status, _) = env
        .call_with(
            "",
            body,
            &[
                ("authorization", &bearer),
                ("x-server-authorization", &other),
            ],
        )
        .await;
    assert_eq!(status, 401, "two different tokens");
    let no_scope = format!(
        "Bearer {}",
        env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers])
    );
    let (status, answer) = env
        .call_with("", body, &[("authorization", &no_scope)])
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("002-016"))
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("auth-custom-id", 5).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() == 200 {
            let token = body["token"].as_str().unwrap();
            assert!(case.app.tokens.verify_user_token(token).is_ok());
        } else {
            assert!(body["error"]["code"].is_string(), "{}: {body}", case.name);
        }
    }
}

#[tokio::test]
async fn a_banned_user_cannot_log_in_and_nothing_changes() {
    let env = env().await;
    let user = env.login("banned-player", None).await;
    env.ban(user.id, idlink::clock::now() - 60, None).await;
    let before = env.app.store.fingerprint();

    let (status, body) = env
        .call(
            &format!("projectId={}", env.seed.project.id),
            r#"{"server_custom_id":"banned-player","user_profile":{"nickname":"New"}}"#,
        )
        .await;

    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("002-040")),
        "{body}"
    );
    assert_eq!(env.app.store.fingerprint(), before);
}
