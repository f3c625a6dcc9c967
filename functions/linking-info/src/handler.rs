//! POST /users/linking_info: Xsolla's lookup of users by platform accounts. Up to 50
//! `{platform, user_id}` pairs (`user_id` a string or an integer); one row per pair, in request
//! order, with `xl_uid` null when nobody of the caller's project holds the account. Answered from
//! the uniqueness markers (one batched read) and the holders' profiles (one more), so a link,
//! merge, unlink or delete shows in the very next lookup.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::request::{Fields, json_object_up_to, json_response, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{IdentityKey, MAX_IDENTIFIER_BYTES, ProjectId, Provider};
use idlink::store::lookups::{LookupStore, holders};
use idlink::token::ServerContext;
use lambda_http::http::StatusCode;
use serde_json::{Map, Value, json};

/// Xsolla's limit on the pairs of one request.
pub const MAX_PAIRS: usize = 50;
/// Largest body read: 50 pairs at the identity limits (a 64-byte platform, a 768-byte user ID)
/// with their JSON punctuation fit.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const _: () =
    assert!(MAX_PAIRS * (Provider::MAX_CHARS + MAX_IDENTIFIER_BYTES + 48) + 1024 <= MAX_BODY_BYTES);

pub async fn handle<S: LookupStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::ReadUsers)?;
    let body = json_object_up_to(req, MAX_BODY_BYTES)?;
    check_project(&ctx, &body)?;
    let pairs = parse_pairs(body.get("users"))?;
    let identities: Vec<IdentityKey> = pairs.iter().map(|(_, i)| i.clone()).collect();
    let found = holders(&app.store, ctx.project, &identities).await?;
    let rows: Vec<Value> = pairs
        .iter()
        .zip(found)
        .map(|((platform, identity), holder)| {
            json!({
                "platform": platform,
                "user_id": identity.subject.as_str(),
                "xl_uid": holder.as_ref().map(|u| u.id.to_string()),
                "external_account_id": holder.and_then(|u| u.external_id),
                // idlink holds no e-mail addresses.
                "email": null,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &rows))
}

/// `project_id` (a UUID) and `publisher_project_id` (an integer) may name the caller's own
/// project; any other is answered as if it did not exist.
fn check_project(ctx: &ServerContext, body: &Map<String, Value>) -> Result<()> {
    if let Some(id) = Fields::new(body).opt_str("project_id")?
        && ProjectId::parse(id).ok() != Some(ctx.project)
    {
        return Err(Error::ProjectNotFound);
    }
    match body.get("publisher_project_id") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            None => Err(Error::invalid("publisher_project_id", "must be an integer")),
            Some(id) if ctx.publisher_project_id == Some(id) => Ok(()),
            Some(_) => Err(Error::ProjectNotFound),
        },
    }
}

/// The `users` array: 1 to 50 `{platform, user_id}` objects, each within the identity limits.
/// Answers each pair's platform as sent, with the identity it names.
fn parse_pairs(value: Option<&Value>) -> Result<Vec<(String, IdentityKey)>> {
    let items = match value {
        None | Some(Value::Null) => return Err(Error::missing("users")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid("users", "must be an array")),
    };
    if items.is_empty() {
        return Err(Error::invalid("users", "must not be empty"));
    }
    if items.len() > MAX_PAIRS {
        return Err(Error::invalid("users", "has more than 50 elements"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = format!("users[{i}].");
            let obj = item
                .as_object()
                .ok_or_else(|| Error::invalid(format!("users[{i}]"), "must be an object"))?;
            let platform = Fields::nested(obj, &prefix).str("platform")?;
            let user_id = obj
                .get("user_id")
                .filter(|v| !v.is_null())
                .ok_or_else(|| Error::missing(format!("{prefix}user_id")))?;
            let identity =
                IdentityKey::social(platform, user_id).map_err(|e| within(&prefix, e))?;
            Ok((platform.to_owned(), identity))
        })
        .collect()
}

/// An identity error renamed after the element it came from (`users[3].platform`).
fn within(prefix: &str, e: Error) -> Error {
    let rename = |field: &str| format!("{prefix}{}", field.rsplit('.').next().unwrap_or(field));
    match e {
        Error::InvalidParameter { field, reason } => Error::InvalidParameter {
            field: rename(&field),
            reason,
        },
        Error::MissingParameter(field) => Error::MissingParameter(rename(&field)),
        other => other,
    }
}

#[cfg(test)]
mod tests;
