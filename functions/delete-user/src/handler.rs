//! DELETE /api/v2/users/{id}: Auth0's "delete a user". A server token with `delete:users`
//! removes the user, its identities and their markers for good (204, no body); its IDs are free
//! again and every token of the user is refused. Unknown, merged-away or foreign-project users
//! are answered 404 (`inexistent_user`), a second delete included.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::request::audit;
use idlink::http::request::{no_content, path_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::UserId;
use idlink::store::DeleteStore;
use idlink::token::Caller;

/// The scopes the 403 names.
pub const DELETE_SCOPES: &str = "delete:users";

pub async fn handle<S: DeleteStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    // Only a server deletes: a player's token is refused for its scope, as Auth0 does.
    let Caller::Server(ctx) = app.tokens.verify_caller(user_token(req)?)? else {
        return Err(Error::InsufficientScope(DELETE_SCOPES));
    };
    ctx.require(Scope::DeleteUsers)
        .map_err(|_| Error::InsufficientScope(DELETE_SCOPES))?;
    // An id that is not one of ours names nobody.
    let id = path_param(req, "id")
        .and_then(|id| UserId::parse(&id).ok())
        .ok_or(Error::NotFound)?;
    app.store
        .delete_user(ctx.project, id, &audit(req, (&ctx).into()))
        .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests;
