//! POST /oauth/token, two grants:
//! - client credentials (RFC 6749 §4.4): a server token for a registered server client;
//! - token exchange (RFC 8693): a studio's server client holding `users:link` or `update:users`
//!   exchanges a player's live login token (`subject_token`) for a link token — five minutes, that
//!   one user, `update:current_user_identities` only — which is what user-initiated linking and
//!   unlinking take. The client authenticates as for client credentials, or presents its server
//!   token as `actor_token`.
//!
//! Credentials by HTTP Basic (§2.3.1) or body fields, never both; the body as a form or as JSON
//! (Auth0's SDKs send either).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idlink::client::{ClientId, Scope, SecretHash};
use idlink::clock::now;
use idlink::error::{Error, Result, TokenProblem};
use idlink::function::App;
use idlink::http::request::{MAX_TOKEN_BYTES, body_bytes, header, json_response};
use idlink::http::{Body, Request, Response, oauth};
use idlink::identity::ProjectId;
use idlink::store::{ClientStore, UserStore};
use idlink::token::{LINK_SCOPE, LINK_TOKEN_TTL};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

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

enum Grant {
    ClientCredentials,
    TokenExchange,
}

/// The server client a request acts for, once authenticated.
struct Acting {
    client_id: String,
    project: ProjectId,
    scopes: Vec<Scope>,
}

pub async fn handle<S: ClientStore + UserStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let params = parameters(req)?;
    let basic = basic_credentials(req).transpose()?;
    let used_basic = basic.is_some();
    let body_credentials =
        params.contains_key("client_secret") || (used_basic && params.contains_key("client_id"));
    if used_basic && body_credentials {
        return Err(Error::ConflictingCredentials);
    }
    let grant = match params.get("grant_type").map(String::as_str) {
        None => return Err(Error::missing("grant_type")),
        Some("client_credentials") => Grant::ClientCredentials,
        Some(TOKEN_EXCHANGE) => Grant::TokenExchange,
        Some(_) => return Err(Error::UnsupportedGrantType),
    };
    match grant {
        Grant::ClientCredentials => client_credentials(app, &params, basic).await,
        Grant::TokenExchange => {
            let actor = match (
                basic.is_some() || body_credentials,
                params.get("actor_token"),
            ) {
                (true, Some(_)) => return Err(Error::ConflictingCredentials),
                (false, Some(actor)) => actor_client(app, &params, actor)?,
                (_, None) => {
                    let client = authenticate(app, &params, basic).await?;
                    Acting {
                        client_id: client.id.as_str().to_owned(),
                        project: client.project,
                        scopes: client.scopes,
                    }
                }
            };
            token_exchange(app, &params, &actor).await
        }
    }
}

/// The registered client whose credentials came with the request, or `invalid_client`.
async fn authenticate<S: ClientStore>(
    app: &App<S>,
    params: &HashMap<String, String>,
    basic: Option<(String, String)>,
) -> Result<idlink::client::ServerClient> {
    let used_basic = basic.is_some();
    let (client_id, secret) = match basic {
        Some(pair) => pair,
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err(Error::InvalidClient { used_basic: false }),
        },
    };
    let client = match ClientId::parse(&client_id) {
        Ok(id) => app.store.get_client(&id).await?,
        Err(_) => None,
    };
    match client.filter(|c| c.secret_hash.matches(&secret)) {
        Some(client) => Ok(client),
        None => {
            // Hash anyway so an unknown client costs what a wrong secret costs.
            let _ = SecretHash::of(&secret);
            Err(Error::InvalidClient { used_basic })
        }
    }
}

/// RFC 8693's `actor_token`: the studio server's own server token stands for its client.
fn actor_client<S>(app: &App<S>, params: &HashMap<String, String>, actor: &str) -> Result<Acting> {
    match params.get("actor_token_type").map(String::as_str) {
        Some(ACCESS_TOKEN_TYPE | JWT_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(Error::invalid(
                "actor_token_type",
                "must be urn:ietf:params:oauth:token-type:access_token",
            ));
        }
        None => return Err(Error::missing("actor_token_type")),
    }
    let refused = Error::InvalidClient { used_basic: false };
    if actor.len() > MAX_TOKEN_BYTES {
        return Err(refused);
    }
    let ctx = app.tokens.verify_server_token(actor).map_err(|_| refused)?;
    Ok(Acting {
        client_id: ctx.client_id,
        project: ctx.project,
        scopes: ctx.scopes,
    })
}

async fn client_credentials<S: ClientStore>(
    app: &App<S>,
    params: &HashMap<String, String>,
    basic: Option<(String, String)>,
) -> Result<Response<Body>> {
    let used_basic = basic.is_some();
    let client = authenticate(app, params, basic).await?;
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
        .ok_or(Error::InvalidClient { used_basic })?;
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

/// RFC 8693 §2: a player's live login token, exchanged at its studio's request for a link token.
async fn token_exchange<S: UserStore>(
    app: &App<S>,
    params: &HashMap<String, String>,
    actor: &Acting,
) -> Result<Response<Body>> {
    if !actor
        .scopes
        .iter()
        .any(|s| matches!(s, Scope::UsersLink | Scope::UpdateUsers))
    {
        return Err(Error::UnauthorizedClient);
    }
    let subject = params
        .get("subject_token")
        .ok_or_else(|| Error::missing("subject_token"))?;
    match params.get("subject_token_type").map(String::as_str) {
        Some(ACCESS_TOKEN_TYPE | JWT_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(Error::InvalidSubjectToken(
                "subject_token_type must be urn:ietf:params:oauth:token-type:access_token or :jwt",
            ));
        }
        None => return Err(Error::missing("subject_token_type")),
    }
    if let Some(requested) = params.get("requested_token_type")
        && requested != ACCESS_TOKEN_TYPE
        && requested != JWT_TOKEN_TYPE
    {
        return Err(Error::invalid(
            "requested_token_type",
            "must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    if params
        .get("audience")
        .is_some_and(|aud| aud != app.tokens.server_audience())
    {
        return Err(Error::InvalidTarget);
    }
    if params.get("scope").is_some_and(|s| s != LINK_SCOPE) {
        return Err(Error::InvalidScope);
    }
    if subject.len() > MAX_TOKEN_BYTES {
        return Err(Error::InvalidSubjectToken("the token is too long"));
    }
    let login = app.tokens.verify_user_token(subject).map_err(|e| match e {
        Error::InvalidToken(TokenProblem::Expired) => {
            Error::InvalidSubjectToken("the token has expired")
        }
        Error::InvalidToken(TokenProblem::WrongType) => {
            Error::InvalidSubjectToken("a player's login token is required")
        }
        _ => Error::InvalidSubjectToken("the token is not a valid login token"),
    })?;
    // A token of another project names nobody this client may act for.
    if login.project != actor.project {
        return Err(Error::InvalidSubjectToken(
            "the token is not a valid login token",
        ));
    }
    // A login token ended by a logout, unlink or merge mints nothing.
    login
        .check_session(app.store.session(login.user).await?)
        .map_err(|_| Error::InvalidSubjectToken("the player's session has ended"))?;
    let access_token = app
        .tokens
        .issue_link_token(&login, &actor.client_id, now())?;
    Ok(oauth::no_store(json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": LINK_TOKEN_TTL,
            "scope": LINK_SCOPE,
        }),
    )))
}

#[cfg(test)]
mod tests;
