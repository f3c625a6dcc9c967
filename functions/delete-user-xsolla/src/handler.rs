//! DELETE /users/{user_id}?projectId=…: Xsolla's "delete a user". A server token with
//! `delete:users` removes the user, its identities and their markers for good (204, no body); its
//! IDs are free again and every token of the user is refused. An unknown or merged-away user is
//! `003-061` (a second delete included); a `projectId` that is not the caller's is `003-019`,
//! as if it did not exist.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::request::audit;
use idlink::http::request::{no_content, path_param, query, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{ProjectId, UserId};
use idlink::store::DeleteStore;

pub async fn handle<S: DeleteStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::DeleteUsers)?;
    let project = ProjectId::parse(&query(req, "projectId").ok_or(Error::missing("projectId"))?)?;
    if project != ctx.project {
        return Err(Error::ProjectNotFound);
    }
    // An id that is not one of ours names nobody.
    let id = path_param(req, "user_id")
        .and_then(|id| UserId::parse(&id).ok())
        .ok_or(Error::NotFound)?;
    app.store
        .delete_user(ctx.project, id, &audit(req, (&ctx).into()))
        .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests;
