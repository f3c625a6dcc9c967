//! PUT /projects/{project_id}/users/{user_id}/server_custom_id: Xsolla's "update server custom
//! ID". The old custom ID is freed and the new one taken in one write; a custom ID another user
//! holds is refused and nothing changes. Answers 204 with no body.
//!
//! The change ends the user's sessions: every token carries the `server_custom_id` it was issued
//! for, and one naming a custom ID the user gave up (which another player may take next) must not
//! keep working. The game server logs the player in again with the new custom ID.

use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, json_object, no_content, project_user_params, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::CustomId;
use idlink::store::OnceStore;
use idlink::store::{CustomIdChange, CustomIdStore};
use serde_json::Value;

const FIELD: &str = "server_custom_id";

/// Xsolla's rule for this call: at most 255 latin letters, digits, `.`, `-` and `_` (stricter
/// than what a login accepts, so a custom ID set here always logs in).
const MAX_CHARS: usize = 255;

fn parse_custom_id(body: &serde_json::Map<String, Value>) -> Result<CustomId> {
    match body.get(FIELD) {
        None => Err(Error::missing(FIELD)),
        // Xsolla lets `null` remove the custom ID; idlink's login rests on the custom ID (a user
        // without one could never log in again), so it is refused here.
        Some(Value::Null) => Err(Error::invalid(FIELD, "cannot be removed")),
        Some(Value::String(id))
            if !id.is_empty()
                && id.len() <= MAX_CHARS
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) =>
        {
            CustomId::parse(id)
        }
        Some(Value::String(_)) => Err(Error::invalid(
            FIELD,
            "must be 1 to 255 latin letters, digits, '.', '-' or '_'",
        )),
        Some(_) => Err(Error::invalid(FIELD, "must be a string")),
    }
}

pub async fn handle<S: CustomIdStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    // Xsolla's server-side writes to a user: the scope link-external-id requires.
    ctx.require(Scope::UsersLink)?;
    let (project, user) = project_user_params(req, ctx.project)?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, project, by, |keyed| async move {
        let new = parse_custom_id(&json_object(req)?)?;
        let answer = no_content();
        app.store
            .change_custom_id(&CustomIdChange {
                project,
                user,
                new,
                now: now(),
                by: keyed.answering(&answer),
            })
            .await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
