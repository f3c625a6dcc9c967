//! POST /projects/{project_id}/server_custom_id/{server_custom_id}/attributes: Xsolla's server
//! write of a user's attributes by its custom ID. `attributes` are written and `removing_keys`
//! removed in one conditional write (a key in both is kept); 204 without a body. An unknown
//! custom ID is "Object not found"; a project that is not the caller's is answered as if it did
//! not exist.

use idlink::attribute::Attribute;
use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::audit;
use idlink::http::request::{json_object, no_content, path_param, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{CustomId, ProjectId};
use idlink::store::OnceStore;
use idlink::store::{AttributeStore, AttributeWrite};
use idlink::token::ServerContext;
use serde_json::{Map, Value};

pub async fn handle<S: AttributeStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::UpdateUsers)?;
    // A project id that is not the caller's (or not one at all) names no project of its own.
    let project = path_param(req, "project_id")
        .and_then(|id| ProjectId::parse(&id).ok())
        .filter(|id| *id == ctx.project)
        .ok_or(Error::ProjectNotFound)?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, project, by, |keyed| async move {
        let body = json_object(req)?;
        check_publisher(&ctx, &body)?;
        let set = Attribute::parse_server_write_list(body.get("attributes"))?;
        let remove = Attribute::parse_removing_keys(body.get("removing_keys"))?;
        let custom_id = CustomId::parse(&path_param(req, "server_custom_id").unwrap_or_default())?;
        let answer = no_content();
        app.store
            .write_attributes(
                &AttributeWrite::new(project, custom_id, set, remove, now())
                    .by(keyed.answering(&answer)),
            )
            .await?;
        Ok(answer)
    })
    .await
}

/// `publisher_id` (required, integer or null) and `publisher_project_id` (optional integer):
/// an id other than the caller's is answered as if the project did not exist.
fn check_publisher(ctx: &ServerContext, body: &Map<String, Value>) -> Result<()> {
    let publisher = match body.get("publisher_id") {
        None => return Err(Error::missing("publisher_id")),
        Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Error::invalid("publisher_id", "must be an integer or null"))?,
        ),
    };
    if publisher.is_some_and(|p| ctx.publisher_id != Some(p)) {
        return Err(Error::ProjectNotFound);
    }
    let publisher_project = match body.get("publisher_project_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Error::invalid("publisher_project_id", "must be an integer"))?,
        ),
    };
    if publisher_project.is_some_and(|p| ctx.publisher_project_id != Some(p)) {
        return Err(Error::ProjectNotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
