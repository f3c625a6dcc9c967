//! POST /oauth/token: the client credentials grant (RFC 6749 §4.4). Credentials by HTTP Basic
//! (§2.3.1) or body fields, never both; the body as a form or as JSON (Auth0's SDKs send either).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idlink::client::{ClientId, Scope, SecretHash};
use idlink::config::now;
use idlink::error::{Error, Result};
use idlink::http::request::{body_bytes, header, json_response};
use idlink::http::{Body, Request, Response, oauth};
use idlink::store::ClientStore;
use idlink::token::TokenService;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

pub struct App<S> {
    pub store: S,
    pub tokens: TokenService,
}

pub async fn handle<S: ClientStore>(
    app: &App<S>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(match token(app, &req).await {
        Ok(resp) => resp,
        Err(e) => oauth::render(&e),
    })
}

/// Body parameters; an empty value counts as absent (RFC 6749 §3.2), JSON `null` too.
fn parameters(req: &Request) -> Result<HashMap<String, String>> {
    let bytes = body_bytes(req)?;
    let is_json = header(req, "content-type").is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    let mut out = HashMap::new();
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
            return Err(Error::MalformedBody);
        };
        for (k, v) in map {
            match v {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => {
                    out.insert(k, s);
                }
                _ => return Err(Error::invalid(k, "must be a string")),
            }
        }
    } else {
        for (k, v) in form_urlencoded::parse(bytes) {
            if v.is_empty() {
                continue;
            }
            // §3.2: parameters must not be included more than once.
            if out.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(Error::invalid(k, "must not be repeated"));
            }
        }
    }
    Ok(out)
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, per §2.3.1.
fn basic_credentials(req: &Request) -> Option<Result<(String, String)>> {
    let value = header(req, "authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let refused = Error::InvalidClient { used_basic: true };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return Some(Err(refused));
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return Some(Err(refused));
    };
    let Some((id, secret)) = text.split_once(':') else {
        return Some(Err(refused));
    };
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok((unescape(id), unescape(secret))))
}

async fn token<S: ClientStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let params = parameters(req)?;
    let basic = basic_credentials(req).transpose()?;
    let used_basic = basic.is_some();
    let body_credentials =
        params.contains_key("client_secret") || (used_basic && params.contains_key("client_id"));
    if used_basic && body_credentials {
        return Err(Error::ConflictingCredentials);
    }
    match params.get("grant_type").map(String::as_str) {
        None => return Err(Error::missing("grant_type")),
        Some("client_credentials") => {}
        Some(_) => return Err(Error::UnsupportedGrantType),
    }
    let (client_id, secret) = match basic {
        Some(pair) => pair,
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err(Error::InvalidClient { used_basic: false }),
        },
    };
    let refused = Error::InvalidClient { used_basic };
    let client = match ClientId::parse(&client_id) {
        Ok(id) => app.store.get_client(&id).await?,
        Err(_) => None,
    };
    let Some(client) = client.filter(|c| c.secret_hash.matches(&secret)) else {
        // Hash anyway so an unknown client costs what a wrong secret costs.
        let _ = SecretHash::of(&secret);
        return Err(refused);
    };
    if let Some(aud) = params.get("audience")
        && aud != app.tokens.server_audience()
    {
        return Err(Error::UnknownAudience(aud.clone()));
    }
    let scopes = match params.get("scope") {
        None => client.scopes.clone(),
        Some(requested) => {
            let requested = Scope::parse_list(requested)?;
            if requested.is_empty() || requested.iter().any(|s| !client.scopes.contains(s)) {
                return Err(Error::InvalidScope);
            }
            requested
        }
    };
    let project = app
        .store
        .get_project(client.project)
        .await?
        .ok_or(refused)?;
    let access_token = app
        .tokens
        .issue_server_token(&client.id, &project, &scopes, now())?;
    Ok(oauth::no_store(json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": app.tokens.server_ttl(),
            "scope": Scope::join(&scopes),
        }),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use idlink::store::memory::MemoryStore;
    use idlink::testing::{
        Seed, expected_status, fixtures, request_from_fixture, seeded_memory_store, test_tokens,
    };
    use lambda_http::http;

    async fn app() -> (App<MemoryStore>, Seed) {
        let (store, seed) = seeded_memory_store().await;
        (
            App {
                store,
                tokens: test_tokens(),
            },
            seed,
        )
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
        let resp = handle(app, req).await.unwrap();
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
        assert_eq!(
            body["scope"],
            "users:login users:link read:users update:users"
        );
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
        let (app, seed) = app().await;
        let values = seed.placeholders(&app.tokens);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/oauth-token");
        let all = fixtures(&dir);
        assert!(all.len() >= 3);
        for (name, text) in all {
            let (status, body, _) = call(&app, request_from_fixture(&text, &values)).await;
            assert_eq!(status, expected_status(&name), "{name}: {body}");
            if status == 200 {
                assert!(
                    app.tokens
                        .verify_server_token(body["access_token"].as_str().unwrap())
                        .is_ok()
                );
            } else {
                assert!(
                    body["error"].is_string() && body["error_description"].is_string(),
                    "{name}"
                );
            }
        }
    }
}
