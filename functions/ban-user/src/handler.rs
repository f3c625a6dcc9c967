//! POST /projects/{project_id}/users/{user_id}/ban: Xsolla's "ban a user". A server token with
//! `update:users` bans the user for the period given (`date_from`, default now, to `date_to`,
//! default for good), replacing any ban it had. Answers 204 with no body.
//!
//! While the ban holds, a login answers 401 `002-040` and every token of the user is refused
//! (`GET /users/me` too); a ban that holds when it is written also ends the user's sessions, so
//! its tokens stay dead after it is lifted. A ban whose `date_from` is ahead does not hold yet
//! (the user logs in and `GET /users/me` shows it), one whose `date_to` has passed no longer does.

use idlink::client::Scope;
use idlink::clock::now;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::request::{audit, json_object, no_content, project_user_params, server_token};
use idlink::http::{Body, Request, Response};
use idlink::store::OnceStore;
use idlink::store::profile::{BanChange, ProfileStore, ProfileUpdate};
use idlink::user::Ban;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Xsolla's date form, `2026-11-23T08:00:00+0000`; RFC 3339 (`…Z`, `…+00:00`) is taken too.
const XSOLLA_DATE: &str =
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]";

fn parse_date(body: &Map<String, Value>, field: &'static str) -> Result<Option<i64>> {
    let text = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.len() <= 64 => s,
        Some(_) => {
            return Err(Error::invalid(
                field,
                "must be a date as YYYY-MM-DDTHH:MM:SS+0000",
            ));
        }
    };
    let xsolla = time::format_description::parse_borrowed::<2>(XSOLLA_DATE)
        .map_err(|_| Error::internal("the date format does not parse"))?;
    OffsetDateTime::parse(text, &xsolla)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| Error::invalid(field, "must be a date as YYYY-MM-DDTHH:MM:SS+0000"))
}

fn parse_ban(body: &Map<String, Value>, now: i64) -> Result<Ban> {
    let reason = match body.get("reason") {
        None | Some(Value::Null) => return Err(Error::missing("reason")),
        Some(Value::String(r))
            if !r.trim().is_empty() && r.chars().count() <= Ban::MAX_REASON_CHARS =>
        {
            r.clone()
        }
        Some(Value::String(_)) => {
            return Err(Error::invalid("reason", "must be 1 to 255 characters"));
        }
        Some(_) => return Err(Error::invalid("reason", "must be a string")),
    };
    let from = parse_date(body, "date_from")?.unwrap_or(now);
    let to = parse_date(body, "date_to")?;
    if to.is_some_and(|to| to <= from) {
        return Err(Error::invalid("date_to", "must be later than date_from"));
    }
    Ok(Ban {
        from,
        to,
        reason: Some(reason),
    })
}

pub async fn handle<S: ProfileStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(server_token(req)?)?;
    ctx.require(Scope::UpdateUsers)?;
    let (project, user) = project_user_params(req, ctx.project)?;
    let by = audit(req, (&ctx).into());
    idempotent(&app.store, req, project, by, |keyed| async move {
        let now = now();
        let ban = parse_ban(&json_object(req)?, now)?;
        let answer = no_content();
        let mut update = ProfileUpdate::new(project, user, now).by(keyed.answering(&answer));
        update.ban = Some(BanChange::Ban(ban));
        app.store.update_profile(&update).await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
