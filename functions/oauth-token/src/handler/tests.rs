use super::*;
use idlink::client::{ServerClient, generate_client_secret};
use idlink::function::App;
use idlink::function::answer;
use idlink::identity::CustomId;
use idlink::store::LoginStore;
use idlink::store::memory::MemoryStore;
use idlink::testing::fixture_cases;
use idlink::testing::seeded_app;
use idlink::testing::{Seed, link_token, login_user};
use idlink::user::LoginCommand;
use lambda_http::http;

async fn app() -> (App<MemoryStore>, Seed) {
    seeded_app().await
}

fn post(content_type: &str, body: &str, authorization: Option<&str>) -> Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri("/oauth/token")
        .header("content-type", content_type);
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

async fn call(app: &App<MemoryStore>, req: Request) -> (u16, Value, http::HeaderMap) {
    let resp = answer::<crate::Family>(handle(app, &req)).await;
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(resp.body().as_ref()).unwrap();
    (status, body, resp.headers().clone())
}

#[tokio::test]
async fn form_body_credentials_get_a_verifiable_server_token() {
    let (app, seed) = app().await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        seed.client_id.as_str(),
        seed.client_secret
    );
    let (status, body, headers) =
        call(&app, post("application/x-www-form-urlencoded", &body, None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], Scope::join(&Scope::ALL));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    let ctx = app
        .tokens
        .verify_server_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(ctx.project, seed.project.id);
    assert_eq!(ctx.publisher_project_id, Some(7));
}

#[tokio::test]
async fn json_body_and_scope_narrowing() {
    let (app, seed) = app().await;
    let body = json!({"grant_type": "client_credentials", "client_id": seed.client_id.as_str(),
        "client_secret": seed.client_secret, "scope": "users:login", "audience": null});
    let (status, body, _) = call(&app, post("application/json", &body.to_string(), None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "users:login");
    let ctx = app
        .tokens
        .verify_server_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert!(ctx.require(Scope::UsersLogin).is_ok());
    assert!(ctx.require(Scope::ReadUsers).is_err());
}

#[tokio::test]
async fn refusals_follow_rfc_6749() {
    let (app, seed) = app().await;
    let id = seed.client_id.as_str();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{}", seed.client_secret))
    );
    let wrong_basic = format!("Basic {}", STANDARD.encode(format!("{id}:nope")));
    let form = "application/x-www-form-urlencoded";
    let ok = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={}",
        seed.client_secret
    );
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            post(form, "grant_type=client_credentials", Some(&basic)),
            200,
            "",
        ),
        (
            post(form, "grant_type=client_credentials", Some(&wrong_basic)),
            401,
            "invalid_client",
        ),
        (
            post(
                form,
                &format!("grant_type=client_credentials&client_id={id}&client_secret=x"),
                None,
            ),
            401,
            "invalid_client",
        ),
        (
            post(
                form,
                &format!(
                    "grant_type=client_credentials&client_id={}&client_secret=x",
                    "0".repeat(32)
                ),
                None,
            ),
            401,
            "invalid_client",
        ),
        (
            post(form, "grant_type=client_credentials", None),
            401,
            "invalid_client",
        ),
        (post(form, &ok, Some(&basic)), 400, "invalid_request"),
        (
            post(form, &ok.replace("client_credentials", "password"), None),
            400,
            "unsupported_grant_type",
        ),
        (
            post(
                form,
                &format!("client_id={id}&client_secret={}", seed.client_secret),
                None,
            ),
            400,
            "invalid_request",
        ),
        (
            post(form, &format!("{ok}&grant_type=client_credentials"), None),
            400,
            "invalid_request",
        ),
        (
            post(form, &format!("{ok}&scope=admin"), None),
            400,
            "invalid_scope",
        ),
        (
            post(
                form,
                &format!("{ok}&audience=https://elsewhere/api/v2/"),
                None,
            ),
            403,
            "access_denied",
        ),
        (
            post("application/json", "{not json", None),
            400,
            "invalid_request",
        ),
        (
            post("application/json", r#"{"grant_type": 5}"#, None),
            400,
            "invalid_request",
        ),
        (
            post(form, &"a".repeat(40_000), None),
            400,
            "invalid_request",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let (got, body, headers) = call(&app, req).await;
        assert_eq!(got, status, "case {i}: {body}");
        if status != 200 {
            assert_eq!(body["error"], code, "case {i}");
            assert_eq!(headers["cache-control"], "no-store", "case {i}");
        }
    }
    let (_, _, headers) = call(
        &app,
        post(form, "grant_type=client_credentials", Some(&wrong_basic)),
    )
    .await;
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
}

#[tokio::test]
async fn event_fixtures() {
    for case in fixture_cases("oauth-token", 3).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        if case.status() == 200 {
            let token = body["access_token"].as_str().unwrap();
            if case.name.contains("token-exchange") {
                assert!(
                    case.app.tokens.verify_link_token(token).is_ok(),
                    "{}",
                    case.name
                );
            } else {
                assert!(
                    case.app.tokens.verify_server_token(token).is_ok(),
                    "{}",
                    case.name
                );
            }
        } else {
            assert!(
                body["error"].is_string() && body["error_description"].is_string(),
                "{}",
                case.name
            );
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

fn exchange_body(seed: &Seed, subject: &str) -> String {
    format!(
        "grant_type={}&client_id={}&client_secret={}&subject_token={subject}\
         &subject_token_type=urn:ietf:params:oauth:token-type:access_token",
        TOKEN_EXCHANGE,
        seed.client_id.as_str(),
        seed.client_secret
    )
}

#[tokio::test]
async fn token_exchange_turns_a_live_login_token_into_a_link_token_of_that_user() {
    let (app, seed) = app().await;
    let user = login_user(&app.store, &seed, "player").await;
    let login = app
        .tokens
        .issue_user_token(&user, None, None, now())
        .unwrap();

    let (status, body, headers) = call(&app, post(FORM, &exchange_body(&seed, &login), None)).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "update:current_user_identities");
    assert_eq!(headers["cache-control"], "no-store");
    let link = body["access_token"].as_str().unwrap();
    let verified = app.tokens.verify_link_token(link).unwrap();
    assert_eq!(verified.user, user.id);
    assert_eq!(verified.project, seed.project.id);
    assert_eq!(verified.expires_at - verified.issued_at, 300);
    let claims = idlink::testing::unverified_claims(link);
    assert_eq!(claims["aud"], app.tokens.link_audience(user.id));
    assert_eq!(claims["token_use"], "link");
    assert_eq!(claims["azp"], seed.client_id.as_str());
    assert_eq!(
        claims["act"]["sub"],
        format!("{}@clients", seed.client_id.as_str())
    );
    // Purpose-bound: it is neither a login token nor a server token.
    assert!(app.tokens.verify_user_token(link).is_err());
    assert!(app.tokens.verify_server_token(link).is_err());

    // The studio's server may present its server token as `actor_token` instead of credentials.
    let actor = seed.server_token(&app.tokens, &[Scope::UsersLink]);
    let body = format!(
        "grant_type={TOKEN_EXCHANGE}&subject_token={login}&subject_token_type={JWT_TOKEN_TYPE}\
         &actor_token={actor}&actor_token_type={ACCESS_TOKEN_TYPE}&scope=update:current_user_identities"
    );
    let (status, body, _) = call(&app, post(FORM, &body, None)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        app.tokens
            .verify_link_token(body["access_token"].as_str().unwrap())
            .is_ok()
    );
}

#[tokio::test]
async fn token_exchange_refusals() {
    let (app, seed) = app().await;
    let user = login_user(&app.store, &seed, "player").await;
    let login = app
        .tokens
        .issue_user_token(&user, None, None, now())
        .unwrap();
    // A client that may log players in but not link them.
    let secret = generate_client_secret().unwrap();
    let login_client = ServerClient {
        id: idlink::client::ClientId::new_random(),
        project: seed.project.id,
        secret_hash: SecretHash::of(&secret),
        scopes: vec![Scope::UsersLogin],
    };
    app.store.put_client(&login_client).await.unwrap();
    let other = Seed::create(&app.store, None).await;
    let foreign = login_user(&app.store, &other, "player").await;
    let foreign_login = app
        .tokens
        .issue_user_token(&foreign, None, None, now())
        .unwrap();
    let expired = app
        .tokens
        .issue_user_token(&user, None, None, now() - 2 * 86_400)
        .unwrap();
    let ok = exchange_body(&seed, &login);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            ok.replace(seed.client_id.as_str(), login_client.id.as_str())
                .replace(&seed.client_secret, &secret),
            400,
            "unauthorized_client",
        ),
        (
            ok.replace(&seed.client_secret, "wrong"),
            401,
            "invalid_client",
        ),
        (
            ok.replace(&format!("&subject_token={login}"), ""),
            400,
            "invalid_request",
        ),
        (
            ok.replace("token-type:access_token", "token-type:saml2"),
            400,
            "invalid_request",
        ),
        (exchange_body(&seed, &expired), 400, "invalid_request"),
        (exchange_body(&seed, &foreign_login), 400, "invalid_request"),
        (
            exchange_body(&seed, &seed.server_token(&app.tokens, &Scope::ALL)),
            400,
            "invalid_request",
        ),
        (
            exchange_body(&seed, &link_token(&app.tokens, &seed, &user, now())),
            400,
            "invalid_request",
        ),
        (exchange_body(&seed, "not.a.token"), 400, "invalid_request"),
        (
            format!("{ok}&audience=https://elsewhere/api/v2/"),
            400,
            "invalid_target",
        ),
        (format!("{ok}&scope=update:users"), 400, "invalid_scope"),
        (
            format!(
                "{ok}&actor_token={}&actor_token_type={ACCESS_TOKEN_TYPE}",
                seed.server_token(&app.tokens, &Scope::ALL)
            ),
            400,
            "invalid_request",
        ),
        (
            format!(
                "grant_type={TOKEN_EXCHANGE}&subject_token={login}&subject_token_type={JWT_TOKEN_TYPE}\
                 &actor_token={}&actor_token_type={ACCESS_TOKEN_TYPE}",
                seed.server_token(&app.tokens, &[Scope::ReadUsers])
            ),
            400,
            "unauthorized_client",
        ),
        (
            format!(
                "grant_type={TOKEN_EXCHANGE}&subject_token={login}&subject_token_type={JWT_TOKEN_TYPE}\
                 &actor_token={login}&actor_token_type={ACCESS_TOKEN_TYPE}"
            ),
            401,
            "invalid_client",
        ),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (got, answer, headers) = call(&app, post(FORM, &body, None)).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(code)),
            "case {i}: {answer}"
        );
        assert!(answer["error_description"].is_string(), "case {i}");
        assert!(answer.get("access_token").is_none(), "case {i}");
        assert_eq!(headers["cache-control"], "no-store", "case {i}");
    }

    // A login token whose session was ended (with_logout, unlink, merge) mints nothing.
    app.store
        .login(&LoginCommand {
            end_other_sessions: true,
            ..LoginCommand::new(seed.project.id, CustomId::parse("player").unwrap(), now())
        })
        .await
        .unwrap();
    let (status, answer, _) = call(&app, post(FORM, &ok, None)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_request")),
        "{answer}"
    );
}
