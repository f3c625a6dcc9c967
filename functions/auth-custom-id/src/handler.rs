//! POST /users/login/server_custom_id: Xsolla's "auth by custom ID". Logs a player in by the
//! studio's own ID, creating the user on first login, and answers `{"token": <user JWT>}`.

use idlink::attribute::Attribute;
use idlink::audit::Actor;
use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{Fields, json_object, json_response, query, server_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{CustomId, IdentityKey, Nickname, Payload, ProjectId};
use idlink::store::{LoginStore, OnceStore};
use idlink::token::ServerContext;
use idlink::user::{LoginCommand, LoginOutcome};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// `projectId` must be the caller's own project; `publisher_project_id` must be the one linked to
/// it. Anything else is answered as if the project did not exist (projects are isolated).
fn resolve_project(ctx: &ServerContext, req: &Request) -> Result<ProjectId> {
    let publisher_project = query(req, "publisher_project_id")
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| Error::invalid("publisher_project_id", "must be an integer"))
        })
        .transpose()?;
    if let Some(p) = publisher_project
        && ctx.publisher_project_id != Some(p)
    {
        return Err(Error::ProjectNotFound);
    }
    match query(req, "projectId") {
        Some(id) if ProjectId::parse(&id)? != ctx.project => Err(Error::ProjectNotFound),
        _ => Ok(ctx.project),
    }
}

fn parse_command(
    req: &Request,
    ctx: &ServerContext,
    project: ProjectId,
    now: i64,
) -> Result<LoginCommand> {
    let end_other_sessions = match query(req, "with_logout").as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(Error::invalid("with_logout", "must be \"0\" or \"1\"")),
    };
    let body = json_object(req)?;
    let fields = Fields::new(&body);
    let custom_id = CustomId::parse(fields.str("server_custom_id")?)?;
    let attributes = Attribute::parse_list(fields.get("attributes"))?;
    let social = match fields.opt_object("social_profile")? {
        None => None,
        Some(profile) => Some(IdentityKey::social(
            profile.str("platform")?,
            profile.get("user_id").unwrap_or(&Value::Null),
        )?),
    };
    let nickname = match fields.opt_object("user_profile")? {
        None => None,
        Some(profile) => Some(Nickname::parse(profile.str("nickname")?)?),
    };
    Ok(LoginCommand {
        project,
        custom_id,
        nickname,
        attributes,
        social,
        end_other_sessions,
        now,
        by: idlink::http::request::audit(req, Actor::Client(ctx.client_id.clone())),
    })
}

pub async fn handle<S: LoginStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::UsersLogin)?;
    let project = resolve_project(&ctx, req)?;
    let by = idlink::http::request::audit(req, Actor::Client(ctx.client_id.clone()));
    idempotent(&app.store, req, project, by, |keyed| async move {
        let payload = query(req, "payload")
            .map(|p| Payload::parse(&p))
            .transpose()?;
        let now = now();
        let cmd = parse_command(req, &ctx, project, now)?;
        let tokens = Arc::clone(&app.tokens);
        let publisher_id = ctx.publisher_id;
        let respond = move |outcome: &LoginOutcome| {
            let token =
                tokens.issue_user_token(&outcome.user, publisher_id, payload.as_ref(), now)?;
            Ok(json_response(StatusCode::OK, &json!({ "token": token })))
        };
        let (by, kept) = keyed.answering_with(respond.clone());
        let outcome = app.store.login(&LoginCommand { by, ..cmd }).await?;
        kept.or_else(|| respond(&outcome))
    })
    .await
}

#[cfg(test)]
mod tests;
