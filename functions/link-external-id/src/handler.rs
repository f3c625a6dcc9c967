//! POST /users/account/link_external_id: Xsolla's "link user IDs via external ID". Links the
//! game's own account ID to a user, once: the same external ID never belongs to two users, and a
//! user's external ID never changes. Re-linking the same pair succeeds and changes nothing.

use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::Result;
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::audit;
use idlink::http::request::{Fields, json_object, json_response, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{ExternalAccountId, UserId};
use idlink::store::OnceStore;
use idlink::store::{LinkStore, SingleLink};
use lambda_http::http::StatusCode;
use serde_json::json;

pub async fn handle<S: LinkStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::UsersLink)?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, ctx.project, by, |keyed| async move {
        let body = json_object(req)?;
        let fields = Fields::new(&body);
        let external = ExternalAccountId::parse(fields.str("external_account_id")?)?;
        // Not a user id at all is a bad parameter; a well-formed id nobody has is "not found".
        let user = UserId::parse(fields.str("user_id")?)?;
        let answer = json_response(StatusCode::OK, &json!({}));
        // A user of another project is answered as "Object not found", like a missing one.
        app.store
            .link_single(
                &SingleLink::external_id(ctx.project, user, &external, now())
                    .by(keyed.answering(&answer)),
            )
            .await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
