//! GET /api/v2/users/{id}: a user in Auth0's shape. A server token needs `read:users` and sees
//! every attribute; a player may read itself with its own login token and then sees what
//! `/users/me` shows it (never private server attributes). A merged or foreign-project user is
//! answered 404.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::auth0::{READ_SCOPES, Reader, user_json};
use idlink::http::request::{json_response, user_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::store::UserStore;
use idlink::store::accounts::check_session;
use idlink::token::UserScope;
use lambda_http::http::StatusCode;

pub async fn handle<S: UserStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let caller = app.tokens.verify_caller(user_token(req)?)?;
    let id = user_param(req, "id")?;
    let session = caller.authorize(
        id,
        Scope::ReadUsers,
        UserScope::ReadCurrentUser,
        READ_SCOPES,
    )?;
    let user = app
        .store
        .get_user(caller.project(), id)
        .await?
        .ok_or(Error::NotFound)?;
    check_session(&user.user, session)?;
    let reader = if caller.is_server() {
        Reader::Server
    } else {
        Reader::OwnUser
    };
    Ok(json_response(StatusCode::OK, &user_json(&user, reader)))
}

#[cfg(test)]
mod tests;
