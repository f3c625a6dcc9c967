//! PATCH /api/v2/users/{id}: Auth0's "update a user", for what idlink keeps of a user:
//! `blocked`, `app_metadata` (the server attributes), `user_metadata` (the client attributes) and
//! `nickname`. Auth0's merge rules: first-level metadata keys are merged, a deeper object is
//! replaced whole, a key set to `null` is deleted and `{}` clears that metadata. `blocked: true`
//! bans the user for good (no login, every token refused; a ban that already holds is kept),
//! `blocked: false` lifts any ban. A server token with `update:users` may change all of it, one
//! with `update:users_app_metadata` only the metadata. Answers 200 with the updated user.

use idlink::attribute::AttrType;
use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::auth0::{Reader, user_json};
use idlink::http::once::{Keyed, idempotent};
use idlink::http::request::{audit, json_object, json_response, user_param, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::UserId;
use idlink::store::OnceStore;
use idlink::store::UserStore;
use idlink::store::profile::{
    BanChange, MetadataPatch, ProfileStore, ProfileUpdate, parse_nickname,
};
use idlink::token::{Caller, ServerContext};
use idlink::user::UserWithIdentities;
use lambda_http::http::StatusCode;
use serde_json::Value;

/// The scopes the 403 names.
pub const UPDATE_SCOPES: &str = "update:users, update:users_app_metadata";
/// The properties idlink keeps; any other is refused rather than dropped unseen.
const PROPERTIES: [&str; 4] = ["blocked", "app_metadata", "user_metadata", "nickname"];

/// The answer: the user after the update, as a server reads it.
fn respond(user: &UserWithIdentities) -> Result<Response<Body>> {
    Ok(json_response(
        StatusCode::OK,
        &user_json(user, Reader::Server),
    ))
}

pub async fn handle<S: ProfileStore + UserStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    // Only a server updates users: a player's token is refused for its scope, as Auth0 does.
    let ctx = match app.tokens.verify_caller(user_token(req)?)? {
        Caller::Server(ctx)
            if ctx.scopes.contains(&Scope::UpdateUsers)
                || ctx.scopes.contains(&Scope::UpdateUsersAppMetadata) =>
        {
            ctx
        }
        _ => return Err(Error::InsufficientScope(UPDATE_SCOPES)),
    };
    let id = user_param(req, "id")?;
    let by = audit(req, (&ctx).into());
    let ctx = &ctx;
    idempotent(&app.store, req, ctx.project, by, |keyed| async move {
        update(app, req, ctx, id, keyed).await
    })
    .await
}

async fn update<S: ProfileStore + UserStore + OnceStore>(
    app: &App<S>,
    req: &Request,
    ctx: &ServerContext,
    id: UserId,
    keyed: Keyed,
) -> Result<Response<Body>> {
    let body = json_object(req)?;
    if let Some(unknown) = body.keys().find(|k| !PROPERTIES.contains(&k.as_str())) {
        return Err(Error::UnknownProperty(unknown.clone()));
    }
    let (by, kept) = keyed.answering_with(respond);
    let mut update = ProfileUpdate::new(ctx.project, id, now()).by(by);
    update.ban = match body.get("blocked") {
        None => None,
        Some(Value::Bool(true)) => Some(BanChange::Block),
        Some(Value::Bool(false)) => Some(BanChange::Unblock),
        Some(_) => return Err(Error::invalid("blocked", "must be a boolean")),
    };
    update.nickname = parse_nickname(&body)?;
    for (field, kind) in [
        ("app_metadata", AttrType::Server),
        ("user_metadata", AttrType::Client),
    ] {
        let patch = body
            .get(field)
            .map(|v| MetadataPatch::parse(field, kind, v))
            .transpose()?;
        match kind {
            AttrType::Server => update.app_metadata = patch,
            AttrType::Client => update.user_metadata = patch,
        }
    }
    // `update:users_app_metadata` covers the metadata only.
    if (update.ban.is_some() || update.nickname.is_some())
        && !ctx.scopes.contains(&Scope::UpdateUsers)
    {
        return Err(Error::InsufficientScope("update:users"));
    }
    let user = if update.is_empty() {
        // Nothing to change: the user as it is (404 if there is none); a keyed request keeps
        // that answer all the same, as a repeated link does.
        let user = app
            .store
            .get_user(ctx.project, id)
            .await?
            .ok_or(Error::NotFound)?;
        app.store.keep(&update.by, &user).await?;
        user
    } else {
        app.store.update_profile(&update).await?
    };
    kept.or_else(|| respond(&user))
}

#[cfg(test)]
mod tests;
