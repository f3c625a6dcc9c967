//! POST /api/v2/users/{id}/identities: Auth0's account linking, in its two forms.
//! - `{provider, user_id}` with a server token (`update:users`): attaches the identity to {id}
//!   if nobody holds it, or merges its holder (all its identities) into {id}.
//! - `{link_with}` with {id}'s own link token (`update:current_user_identities`), or a server
//!   token with `update:users`: `link_with` is a link token of the second account — same project,
//!   live, at most five minutes old, used once — so both accounts are proven. Link tokens come
//!   only from token exchange at the studio's server's request (`/oauth/token`); a login token
//!   can neither link nor merge (403 `insufficient_scope`, or 400 `invalid_body` as `link_with`).
//!
//! Answers 201 with {id}'s identities; refusals happen before anything is written.

use idlink::audit::Audit;
use idlink::clock::now;
use idlink::error::{Error, Result, TokenProblem};
use idlink::function::App;
use idlink::http::auth0::identities_json;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, json_object, json_response, user_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{IdentityKey, Provider, Subject};
use idlink::store::OnceStore;
use idlink::store::accounts::{AccountStore, LinkIdentity, LinkProof, Merge};
use idlink::token::Caller;
use idlink::user::UserWithIdentities;
use lambda_http::http::StatusCode;
use serde_json::{Map, Value};

/// How recently a `link_with` token must have been issued: it proves a fresh login.
pub const LINK_WITH_MAX_AGE: i64 = 300;

enum LinkBody {
    Identity(IdentityKey),
    LinkWith(String),
}

/// Auth0's schema: `additionalProperties: false`, `minProperties: 1`, and `link_with` excludes
/// `provider`, `user_id` and `connection_id`. `user_id` may be a string or an integer.
fn parse_body(map: &Map<String, Value>) -> Result<LinkBody> {
    if let Some(unknown) = map
        .keys()
        .find(|k| !["provider", "user_id", "connection_id", "link_with"].contains(&k.as_str()))
    {
        return Err(Error::UnknownProperty(unknown.chars().take(64).collect()));
    }
    if let Some(v) = map.get("connection_id") {
        let ok = v.as_str().is_some_and(|c| {
            c.len() == 20
                && c.starts_with("con_")
                && c[4..].bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !ok {
            return Err(Error::invalid(
                "connection_id",
                "must match ^con_[A-Za-z0-9]{16}$",
            ));
        }
    }
    match map.get("link_with") {
        Some(Value::String(t)) if map.len() == 1 => return Ok(LinkBody::LinkWith(t.clone())),
        Some(Value::String(_)) => {
            return Err(Error::invalid(
                "link_with",
                "cannot be sent with provider, user_id or connection_id",
            ));
        }
        Some(_) => return Err(Error::invalid("link_with", "must be a string")),
        None => {}
    }
    let provider = match map.get("provider") {
        Some(Value::String(p)) => Provider::parse_any("provider", p)?,
        Some(_) => return Err(Error::invalid("provider", "must be a string")),
        None => return Err(Error::missing("provider")),
    };
    let subject = match map.get("user_id") {
        Some(Value::String(s)) => Subject::parse(s)?,
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Subject::parse(&n.to_string())?,
        Some(_) => return Err(Error::invalid("user_id", "must be a string or an integer")),
        None => return Err(Error::missing("user_id")),
    };
    Ok(LinkBody::Identity(IdentityKey { provider, subject }))
}

/// The answer: {id}'s identities after the link.
fn respond(linked: &UserWithIdentities) -> Result<Response<Body>> {
    Ok(json_response(StatusCode::CREATED, &identities_json(linked)))
}

pub async fn handle<S: AccountStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let caller = app.tokens.verify_caller(user_token(req)?)?;
    let by = audit(req, (&caller).into());
    let project = caller.project();
    let caller = &caller;
    idempotent(&app.store, req, project, by, |keyed| async move {
        let (by, kept) = keyed.answering_with(respond);
        let linked = link(app, req, caller, by).await?;
        kept.or_else(|| respond(&linked))
    })
    .await
}

async fn link<S: AccountStore>(
    app: &App<S>,
    req: &Request,
    caller: &Caller,
    by: Audit,
) -> Result<UserWithIdentities> {
    let primary = user_param(req, "id")?;
    let project = caller.project();
    let body = parse_body(&json_object(req)?)?;
    let now = now();
    let linked = match body {
        LinkBody::Identity(identity) => {
            // Naming an arbitrary identity is a server's power, not a player's.
            if !caller.is_server() {
                return Err(Error::InsufficientScope("update:users"));
            }
            caller.authorize_identity_change(primary)?;
            app.store
                .link_identity(&LinkIdentity {
                    project,
                    primary,
                    identity,
                    primary_session: None,
                    now,
                    by,
                })
                .await?
        }
        LinkBody::LinkWith(token) => {
            let primary_session = caller.authorize_identity_change(primary)?;
            let proof = app.tokens.verify_link_token(&token).map_err(|e| match e {
                Error::InvalidToken(TokenProblem::Expired) => {
                    Error::InvalidLinkWith("the token has expired")
                }
                Error::InvalidToken(TokenProblem::WrongType) => Error::InvalidLinkWith(
                    "a link token from token exchange is required, not a login or server token",
                ),
                _ => Error::InvalidLinkWith("the token is not a valid link token"),
            })?;
            if proof.project != project {
                return Err(Error::InvalidLinkWith(
                    "the token belongs to another project",
                ));
            }
            if proof.issued_at < now - LINK_WITH_MAX_AGE {
                return Err(Error::InvalidLinkWith(
                    "the token was not issued in the last 5 minutes",
                ));
            }
            let secondary = proof.user;
            if secondary == primary {
                return Err(Error::SameUser);
            }
            app.store
                .merge(&Merge {
                    project,
                    primary,
                    secondary,
                    primary_session,
                    secondary_session: Some(proof.session),
                    proof: Some(LinkProof {
                        jti: proof.jti.clone(),
                        expires_at: proof.expires_at,
                    }),
                    now,
                    by,
                })
                .await?
        }
    };
    Ok(linked)
}

#[cfg(test)]
mod tests;
