//! DELETE /api/v2/users/{id}: Auth0's "delete a user". A server token with `delete:users`
//! removes the user, its identities and their markers for good (204, no body); its IDs are free
//! again and every token of the user is refused. Unknown, merged-away or foreign-project users
//! are answered 404 (`inexistent_user`), a second delete included.

use idlink::client::Scope;
use idlink::error::Result;
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, no_content, user_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::store::DeleteStore;
use idlink::store::OnceStore;

/// The scopes the 403 names.
pub const DELETE_SCOPES: &str = "delete:users";

pub async fn handle<S: DeleteStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    // Only a server deletes.
    let ctx = app
        .tokens
        .verify_caller(user_token(req)?)?
        .server_with(Scope::DeleteUsers, DELETE_SCOPES)?;
    let id = user_param(req, "id")?;
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
