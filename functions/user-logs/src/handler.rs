//! GET /api/v2/users/{id}/logs: a user's audit log as Auth0 answers its user logs. A server
//! token with `read:logs` or `read:logs_users`; newest first; `page` (from 0), `per_page` (at
//! most 100, default 50), `include_totals` (then `{start, limit, length, total, logs}`, else the
//! array), `sort` only `date:-1`. A user of another project, or one never seen, has an empty log;
//! a deleted user's log holds only its deletion.

use idlink::audit::{Actor, AuditRecord, LogQuery};
use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::auth0::identity_json;
use idlink::http::request::{json_response, path_param, query, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::UserId;
use idlink::store::AuditLogStore;
use idlink::token::Caller;
use idlink::user::rfc3339;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

/// The scopes the 403 names.
pub const LOG_SCOPES: &str = "read:logs, read:logs_users";
/// Auth0's default page size.
const DEFAULT_PER_PAGE: usize = 50;

/// A non-negative integer query parameter no larger than `max`.
fn number(name: &'static str, default: usize, max: usize) -> impl Fn(&Request) -> Result<usize> {
    move |req| match query(req, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| Error::invalid(name, "must be a small non-negative integer")),
    }
}

fn parse_query(req: &Request) -> Result<LogQuery> {
    let page = number("page", 0, LogQuery::MAX_DEPTH)(req)?;
    let per_page = number("per_page", DEFAULT_PER_PAGE, LogQuery::MAX_PER_PAGE)(req)?;
    let with_total = match query(req, "include_totals").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Error::invalid("include_totals", "must be true or false")),
    };
    if query(req, "sort").is_some_and(|s| s != "date:-1") {
        return Err(Error::invalid("sort", "must be date:-1 (newest first)"));
    }
    let start = page * per_page;
    if start + per_page > LogQuery::MAX_DEPTH {
        return Err(Error::invalid("page", "reaches past the 1000th entry"));
    }
    Ok(LogQuery {
        start,
        limit: per_page,
        with_total,
    })
}

/// One entry as Auth0 lists a log event; idlink's own fields under `details`.
fn entry_json(r: &AuditRecord) -> Value {
    let (actor_type, actor_id) = match &r.by.actor {
        Actor::Client(id) => ("client", Some(id.clone())),
        Actor::User(id) => ("user", Some(id.to_string())),
        Actor::Internal => ("internal", None),
    };
    json!({
        "date": rfc3339(r.when.at),
        "type": r.what.kind.as_str(),
        "description": r.what.kind.description(),
        "client_id": r.by.actor.as_client_id(),
        "user_id": r.user.to_string(),
        "log_id": r.when.log_id,
        "details": {
            "identities": r.what.identities.iter().map(identity_json).collect::<Vec<_>>(),
            "other_user_id": r.what.other.map(|o| o.to_string()),
            "attribute_keys": r.what.keys,
            "actor": {"type": actor_type, "id": actor_id},
            "request_id": r.by.request_id,
        },
    })
}

pub async fn handle<S: AuditLogStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    // Only a server reads logs: a player's token is refused for its scope, as Auth0 does.
    let Caller::Server(ctx) = app.tokens.verify_caller(user_token(req)?)? else {
        return Err(Error::InsufficientScope(LOG_SCOPES));
    };
    ctx.require(Scope::ReadLogs)
        .or_else(|_| ctx.require(Scope::ReadLogsUsers))
        .map_err(|_| Error::InsufficientScope(LOG_SCOPES))?;
    // An id that is not one of ours names nobody.
    let id = path_param(req, "id")
        .and_then(|id| UserId::parse(&id).ok())
        .ok_or(Error::NotFound)?;
    let q = parse_query(req)?;
    let page = app.store.user_log(ctx.project, id, q).await?;
    let logs: Vec<Value> = page.records.iter().map(entry_json).collect();
    let body = match page.total {
        Some(total) => json!({
            "start": q.start,
            "limit": q.limit,
            "length": logs.len(),
            "total": total,
            "logs": logs,
        }),
        None => Value::Array(logs),
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;
