//! DELETE /projects/{project_id}/users/{user_id}/ban: Xsolla's "unban a user". A server token
//! with `update:users` removes the user's ban, held or scheduled (an Auth0 block too); the user
//! logs in again. Tokens the ban ended stay dead. Answers 204 with no body, also for a user
//! without a ban.

use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::Result;
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, no_content, project_user_params, server_token};
use idlink::http::{Body, Request, Response};
use idlink::store::OnceStore;
use idlink::store::profile::{BanChange, ProfileStore, ProfileUpdate};

pub async fn handle<S: ProfileStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::UpdateUsers)?;
    let (project, user) = project_user_params(req, ctx.project)?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, project, by, |keyed| async move {
        let answer = no_content();
        let mut update = ProfileUpdate::new(project, user, now()).by(keyed.answering(&answer));
        update.ban = Some(BanChange::Lift);
        app.store.update_profile(&update).await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
