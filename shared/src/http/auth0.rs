//! Auth0 Management API errors: `{"statusCode","error","message","errorCode"}`, `error` being the
//! status's reason phrase (../shared/reference/auth0-management-users.md).

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::attribute::AttrType;
use crate::error::{Error, TokenProblem, log_error};
use crate::http::request::{json_response, with_retry_after};
use crate::http::{Body, Response};
use crate::identity::{IdentityKey, Provider};
use crate::user::{UserWithIdentities, rfc3339};

/// The scopes a link or unlink accepts, as Auth0 names them in its 403.
pub const LINK_SCOPES: &str = "update:users, update:current_user_identities";
pub const READ_SCOPES: &str = "read:users, read:current_user";

pub fn classify(e: &Error) -> (StatusCode, String, &'static str) {
    use StatusCode as S;
    let (status, message, code): (StatusCode, String, &'static str) = match e {
        Error::MalformedBody => (S::BAD_REQUEST, "Payload validation error: invalid JSON.".into(), "invalid_body"),
        Error::BodyTooLarge => (S::BAD_REQUEST, "Payload validation error: body too large.".into(), "invalid_body"),
        Error::MissingParameter(p) => (
            S::BAD_REQUEST,
            format!("Payload validation error: Missing required property: {p}."),
            "invalid_body",
        ),
        Error::InvalidParameter { field, reason } => (
            S::BAD_REQUEST,
            format!("Payload validation error: {field} {reason}."),
            "invalid_body",
        ),
        Error::UnknownProperty(p) => (
            S::BAD_REQUEST,
            format!("Payload validation error: Additional properties not allowed: {p}."),
            "invalid_body",
        ),
        Error::InvalidQuery(why) => (
            S::BAD_REQUEST,
            format!("Query validation error: {why}"),
            "invalid_query_string",
        ),
        Error::MissingToken => (S::UNAUTHORIZED, "Missing authentication".into(), "missing_authentication"),
        Error::InvalidToken(TokenProblem::Expired) => (S::UNAUTHORIZED, "Expired token".into(), "invalid_token"),
        Error::InvalidToken(_) | Error::ConflictingCredentials => {
            (S::UNAUTHORIZED, "Invalid token".into(), "invalid_token")
        }
        Error::Banned => (S::UNAUTHORIZED, "The user is blocked.".into(), "user_blocked"),
        Error::InsufficientScope(expected) => (
            S::FORBIDDEN,
            format!("Insufficient scope, expected any of: {expected}"),
            "insufficient_scope",
        ),
        Error::SubjectMismatch => (
            S::FORBIDDEN,
            "User to be acted on does not match subject in bearer token.".into(),
            "operation_not_permitted",
        ),
        Error::NotFound | Error::ProjectNotFound => {
            (S::NOT_FOUND, "The user does not exist.".into(), "inexistent_user")
        }
        Error::IdentityNotFound => (
            S::NOT_FOUND,
            "The identity does not exist on this user.".into(),
            "inexistent_identity",
        ),
        Error::SameUser => (
            S::BAD_REQUEST,
            "Main identity and the new one are the same.".into(),
            "operation_not_permitted",
        ),
        Error::SecondaryNotFound => (
            S::BAD_REQUEST,
            "Provided secondary account not found.".into(),
            "inexistent_user",
        ),
        Error::InvalidLinkWith(why) => (S::BAD_REQUEST, format!("Invalid token (link_with): {why}."), "invalid_body"),
        Error::ReservedProvider => (
            S::BAD_REQUEST,
            "Linking to an inexistent identity of this provider is not allowed.".into(),
            "operation_not_permitted",
        ),
        Error::UserLimit(limit) => (
            S::CONFLICT,
            format!("The user would exceed its limit of {limit}; nothing was changed."),
            "user_limit_exceeded",
        ),
        Error::ServerOnlyIdentity => (
            S::FORBIDDEN,
            "Only the studio's server may remove this identity.".into(),
            "operation_not_permitted",
        ),
        Error::MainIdentity => (S::BAD_REQUEST, "Main identity cannot be removed.".into(), "operation_not_permitted"),
        Error::LastIdentity => (
            S::BAD_REQUEST,
            "The last identity of a user cannot be removed.".into(),
            "operation_not_permitted",
        ),
        Error::IdentityAlreadyOnUser => (S::CONFLICT, "Specified identity already exists.".into(), "identity_conflict"),
        Error::IdentityTaken => (S::CONFLICT, "The identity belongs to another user.".into(), "identity_conflict"),
        Error::ConflictingSingleIdentities(what) | Error::DifferentIdentityLinked(what) => (
            S::CONFLICT,
            format!("Both users hold a different {what}; they cannot be linked."),
            "identity_conflict",
        ),
        Error::TooManyAttributes => (S::CONFLICT, "The user has too many attributes.".into(), "too_many_attributes"),
        Error::IdempotencyKeyReused => (
            S::UNPROCESSABLE_ENTITY,
            "The Idempotency-Key was used with another request.".into(),
            "idempotency_key_reused",
        ),
        Error::Unavailable(_) => (
            S::TOO_MANY_REQUESTS,
            "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.".into(),
            "too_many_requests",
        ),
        // The token endpoint's errors never reach this family; answer them as a bad request.
        Error::InvalidClient { .. }
        | Error::UnsupportedGrantType
        | Error::InvalidScope
        | Error::UnknownAudience(_)
        | Error::UnauthorizedClient
        | Error::InvalidSubjectToken(_)
        | Error::InvalidTarget => (S::BAD_REQUEST, "Bad request.".into(), "invalid_request"),
        Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, "Internal error.".into(), "internal_error"),
    };
    (status, message, code)
}

pub fn render(e: &Error) -> Response<Body> {
    log_error(e);
    let (status, message, code) = classify(e);
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "errorCode": code,
    });
    with_retry_after(json_response(status, &body), e)
}

/// An identity as Auth0 lists it. idlink's own providers are not social logins.
pub fn identity_json(i: &IdentityKey) -> serde_json::Value {
    json!({
        "connection": i.provider.as_str(),
        "provider": i.provider.as_str(),
        "user_id": i.subject.as_str(),
        "isSocial": !Provider::RESERVED.contains(&i.provider.as_str()),
    })
}

pub fn identities_json(u: &UserWithIdentities) -> serde_json::Value {
    serde_json::Value::Array(u.identities.iter().map(identity_json).collect())
}

/// Who reads a user. The studio's server sees every attribute; a player reading itself sees
/// exactly what `GET /users/me` shows it: its client attributes and the public server ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Server,
    OwnUser,
}

/// A user as Auth0's `GET /api/v2/users/{id}` answers it: server attributes are `app_metadata`
/// (read-only for the user), client attributes `user_metadata`; `blocked` while a ban holds.
pub fn user_json(u: &UserWithIdentities, reader: Reader) -> serde_json::Value {
    let metadata = |kind: AttrType| {
        serde_json::Value::Object(
            u.user
                .attributes
                .iter()
                .filter(|a| a.attr_type == kind)
                .filter(|a| reader == Reader::Server || a.visible_to_its_user())
                .map(|a| (a.key().to_owned(), a.value()))
                .collect(),
        )
    };
    json!({
        "user_id": u.user.id.to_string(),
        "nickname": u.user.nickname.as_ref().map(|n| n.as_str()),
        "created_at": rfc3339(u.user.created_at),
        "updated_at": rfc3339(u.user.updated_at),
        "last_login": rfc3339(u.user.last_login),
        "identities": identities_json(u),
        "blocked": u.user.banned_at(crate::clock::now()),
        "app_metadata": metadata(AttrType::Server),
        "user_metadata": metadata(AttrType::Client),
    })
}
