//! DELETE /api/v2/users/{id}/identities/{provider}/{user_id}: the identity leaves {id} and becomes
//! a standalone user (as in Auth0). The user's last identity and the custom ID its login rests on
//! cannot be removed. {id}'s tokens are ended; answers its remaining identities.
//!
//! A server token needs `update:users`. A player needs its own link token (token exchange); a
//! login token cannot unlink. What the studio set — custom IDs, the external ID, the partner
//! identifier — only a server token removes (403 `operation_not_permitted` for a player).

use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::auth0::identities_json;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, json_response, path_param, user_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{IdentityKey, Provider, Subject};
use idlink::store::OnceStore;
use idlink::store::accounts::{AccountStore, Unlink, Unlinked, is_reserved};
use lambda_http::http::StatusCode;

/// The answer: {id}'s identities after the unlink.
fn respond(unlinked: &Unlinked) -> Result<Response<Body>> {
    Ok(json_response(
        StatusCode::OK,
        &identities_json(&unlinked.primary),
    ))
}

pub async fn handle<S: AccountStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let caller = app.tokens.verify_caller(user_token(req)?)?;
    let primary = user_param(req, "id")?;
    let identity = IdentityKey {
        provider: Provider::parse_any(
            "provider",
            &path_param(req, "provider").unwrap_or_default(),
        )?,
        subject: Subject::parse(&path_param(req, "user_id").unwrap_or_default())?,
    };
    if is_reserved(&identity) && !caller.is_server() {
        return Err(Error::ServerOnlyIdentity);
    }
    let primary_session = caller.authorize_identity_change(primary)?;
    let project = caller.project();
    let by = audit(req, (&caller).into());
    idempotent(&app.store, req, project, by, |keyed| async move {
        let (by, kept) = keyed.answering_with(respond);
        let unlinked = app
            .store
            .unlink(&Unlink {
                project,
                primary,
                identity,
                primary_session,
                now: now(),
                by,
            })
            .await?;
        kept.or_else(|| respond(&unlinked))
    })
    .await
}

#[cfg(test)]
mod tests;
