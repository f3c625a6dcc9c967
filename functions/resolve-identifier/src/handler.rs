//! GET /api/v2/user: a partner resolves a user. The partner authenticates with exactly one of its
//! API key (`X-Api-Key`) or a server token (`Authorization: Bearer`, scope `read:users`); it names
//! the user with the `User-Identifier` header, or with the user's own token in
//! `User-Authorization: Bearer`, or both, which must then agree. Answers the user's id and public
//! details, in the partner envelope when refused.

use idlink::client::Scope;
use idlink::error::Error;
use idlink::function::App;
use idlink::http::partner::{Code, Refusal};
use idlink::http::request::{bearer_value, header, json_response};
use idlink::http::{Body, Request, Response};
use idlink::identity::{IdentityKey, ProjectId, UserId};
use idlink::partner::{ApiKeyHash, PartnerIdentifier};
use idlink::store::{ApiKeyStore, SingleKind, UserStore};
use idlink::user::rfc3339;
use lambda_http::http::StatusCode;
use serde_json::json;

/// The partner's project, from exactly one of its credentials.
async fn partner_project<S: ApiKeyStore>(
    app: &App<S>,
    req: &Request,
) -> Result<ProjectId, Refusal> {
    let api_key = header(req, "x-api-key").map(str::trim);
    let authorization = header(req, "authorization");
    match (api_key, authorization) {
        (Some(_), Some(_)) => Err(Refusal::code(Code::ER803)),
        (None, None) | (Some(""), None) => Err(Refusal::code(Code::ER806)),
        (Some(key), None) => {
            if key.len() > ApiKeyHash::MAX_KEY_BYTES {
                return Err(Refusal::code(Code::ER805));
            }
            app.store
                .api_key_project(&ApiKeyHash::of(key))
                .await?
                .ok_or(Refusal::code(Code::ER805))
        }
        (None, Some(value)) => {
            let ctx = bearer_value(value)
                .ok_or(Error::MissingToken)
                .and_then(|t| app.tokens.verify_server_token(t))
                .and_then(|ctx| ctx.require(Scope::ReadUsers).map(|()| ctx))
                .map_err(Refusal::partner_token)?;
            Ok(ctx.project)
        }
    }
}

pub async fn handle<S: ApiKeyStore + UserStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>, Refusal> {
    let project = partner_project(app, req).await?;

    // The user as its own token names it, if the partner sent one.
    let by_token = match header(req, "user-authorization") {
        None => None,
        Some(value) => {
            let claims = bearer_value(value)
                .ok_or(Error::MissingToken)
                .and_then(|t| app.tokens.verify_user_token(t))
                .map_err(Refusal::user_token)?;
            // A user of another project is no user of this partner's.
            if claims.project != project {
                return Err(Refusal::code(Code::ER702));
            }
            Some(claims)
        }
    };
    // The user as the identifier names it, if the partner sent one.
    let by_identifier = match header(req, "user-identifier").map(str::trim) {
        None | Some("") => None,
        Some(value) => {
            let pepper = app
                .tokens
                .keys()
                .pepper()
                .ok_or_else(|| Refusal::from(Error::internal("no partner pepper")))?;
            let identity = IdentityKey {
                provider: SingleKind::Partner.provider(),
                subject: PartnerIdentifier::parse(value)?.subject(pepper),
            };
            Some(
                app.store
                    .owner_of(project, &identity)
                    .await?
                    .ok_or(Refusal::code(Code::ER705))?,
            )
        }
    };
    let user: UserId = match (&by_token, by_identifier) {
        (None, None) => return Err(Refusal::code(Code::ER704)),
        (Some(claims), Some(owner)) if claims.user != owner => {
            return Err(Refusal::code(Code::ER703));
        }
        (Some(claims), _) => claims.user,
        (None, Some(owner)) => owner,
    };
    let found = app
        .store
        .get_user(project, user)
        .await?
        .ok_or(Refusal::code(Code::ER709))?;
    if let Some(claims) = &by_token {
        claims
            .check_session(Some(found.user.session()))
            .map_err(Refusal::user_token)?;
    }
    let u = &found.user;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": u.id.to_string(),
            "nickname": u.nickname.as_ref().map(|n| n.as_str()),
            "registered": rfc3339(u.created_at),
            "last_login": rfc3339(u.last_login),
            "attributes": u.attributes.iter()
                .filter(|a| a.is_public())
                .map(|a| a.to_json())
                .collect::<Vec<_>>(),
        }),
    ))
}

#[cfg(test)]
mod tests;
