//! DELETE /users/{user_id}?projectId=…: Xsolla's "delete a user". A server token with
//! `delete:users` removes the user, its identities and their markers for good (204, no body); its
//! IDs are free again and every token of the user is refused. An unknown or merged-away user is
//! `003-061` (a second delete included); a `projectId` that is not the caller's is `003-019`,
//! as if it did not exist.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, no_content, query, server_token, user_param};
use idlink::http::{Body, Request, Response};
use idlink::identity::ProjectId;
use idlink::store::DeleteStore;
use idlink::store::OnceStore;

pub async fn handle<S: DeleteStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::DeleteUsers)?;
    let project = ProjectId::parse(&query(req, "projectId").ok_or(Error::missing("projectId"))?)?;
    if project != ctx.project {
        return Err(Error::ProjectNotFound);
    }
    let id = user_param(req, "user_id")?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, ctx.project, by, |keyed| async move {
        let answer = no_content();
        app.store
            .delete_user(ctx.project, id, &keyed.answering(&answer))
            .await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
