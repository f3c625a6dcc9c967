//! POST /attributes/custom_id/get: Xsolla's read of many users' attributes by their custom IDs.
//! 1 to 250 `server_custom_ids` and an optional `keys` filter; one row per known custom ID, in
//! request order (a custom ID named twice answers once): `server_custom_id`, `user_id` and the
//! user's `attributes` in Xsolla's listed shape. Answered from the custom IDs' markers and the
//! holders' profiles, in batched reads of 100 keys, so a change shows in the very next read.

use std::collections::HashSet;

use idlink::attribute::Attribute;
use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::request::{json_object_up_to, json_response, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{CustomId, IdentityKey, MAX_IDENTIFIER_BYTES};
use idlink::store::lookups::{LookupStore, holders};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

/// Xsolla's limit on the custom IDs of one request.
pub const MAX_CUSTOM_IDS: usize = 250;
/// Largest body read: 250 custom IDs at the identity limit (768 bytes) and 200 keys of 256
/// four-byte characters, with their JSON punctuation, fit.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
const _: () = assert!(
    MAX_CUSTOM_IDS * (MAX_IDENTIFIER_BYTES + 4)
        + Attribute::MAX_PER_USER * (4 * Attribute::MAX_KEY_CHARS + 4)
        + 1024
        <= MAX_BODY_BYTES
);

pub async fn handle<S: LookupStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::ReadUsers)?;
    let body = json_object_up_to(req, MAX_BODY_BYTES)?;
    let custom_ids = parse_custom_ids(body.get("server_custom_ids"))?;
    let keys = parse_keys(body.get("keys"))?;
    let identities: Vec<IdentityKey> = custom_ids.iter().map(IdentityKey::custom_id).collect();
    let found = holders(&app.store, ctx.project, &identities).await?;
    let rows: Vec<Value> = custom_ids
        .iter()
        .zip(found)
        .filter_map(|(custom_id, user)| {
            let user = user?;
            let attributes: Vec<Value> = user
                .attributes
                .iter()
                .filter(|a| keys.as_ref().is_none_or(|k| k.contains(a.key())))
                .map(Attribute::to_listed_json)
                .collect();
            Some(json!({
                "server_custom_id": custom_id.as_str(),
                "user_id": user.id.to_string(),
                "attributes": attributes,
            }))
        })
        .collect();
    Ok(json_response(StatusCode::OK, &rows))
}

/// `server_custom_ids`: 1 to 250 custom IDs within the identity limits, each answered once.
fn parse_custom_ids(value: Option<&Value>) -> Result<Vec<CustomId>> {
    const FIELD: &str = "server_custom_ids";
    let items = match value {
        None | Some(Value::Null) => return Err(Error::missing(FIELD)),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid(FIELD, "must be an array")),
    };
    if items.is_empty() {
        return Err(Error::invalid(FIELD, "must not be empty"));
    }
    if items.len() > MAX_CUSTOM_IDS {
        return Err(Error::invalid(FIELD, "has more than 250 elements"));
    }
    let mut seen = HashSet::with_capacity(items.len());
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = || format!("{FIELD}[{i}]");
        let text = item
            .as_str()
            .ok_or_else(|| Error::invalid(field(), "must be a string"))?;
        let id = CustomId::parse(text).map_err(|e| match e {
            Error::InvalidParameter { reason, .. } => Error::invalid(field(), reason),
            other => other,
        })?;
        if seen.insert(text) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `keys` (optional): the attributes to answer, at most as many as a user may hold.
fn parse_keys(value: Option<&Value>) -> Result<Option<HashSet<String>>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid("keys", "must be an array")),
    };
    if items.len() > Attribute::MAX_PER_USER {
        return Err(Error::invalid("keys", "has more than 200 elements"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_str() {
            Some(k) if !k.is_empty() && k.chars().count() <= Attribute::MAX_KEY_CHARS => {
                Ok(k.to_owned())
            }
            _ => Err(Error::invalid(
                format!("keys[{i}]"),
                "must be a string of 1-256 characters",
            )),
        })
        .collect::<Result<HashSet<_>>>()
        .map(Some)
}

#[cfg(test)]
mod tests;
