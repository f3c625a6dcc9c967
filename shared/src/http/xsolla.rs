//! Xsolla Login's error envelope: `{"error":{"code","description","details"}}`.
//! Codes come from Xsolla's catalog (../shared/reference/xsolla-login-errors-and-user.md).

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::error::{Error, TokenProblem, log_error};
use crate::http::request::{json_response, with_retry_after};
use crate::http::{Body, Response};

/// Status, code and description for each domain error.
pub fn classify(e: &Error) -> (StatusCode, &'static str, &'static str) {
    use StatusCode as S;
    match e {
        Error::MalformedBody => (
            S::BAD_REQUEST,
            "002-027",
            "Request body is not a valid JSON object.",
        ),
        Error::BodyTooLarge => (S::BAD_REQUEST, "002-027", "Request body is too large."),
        Error::MissingParameter(_) => (
            S::BAD_REQUEST,
            "002-028",
            "A required parameter was not passed.",
        ),
        Error::InvalidParameter { .. } => (S::BAD_REQUEST, "002-027", "A parameter is invalid."),
        Error::MissingToken => (S::UNAUTHORIZED, "003-040", "User not authorized."),
        Error::InvalidToken(TokenProblem::Expired) => {
            (S::UNAUTHORIZED, "002-016", "Token has expired.")
        }
        Error::InvalidToken(_) | Error::ConflictingCredentials => {
            (S::UNAUTHORIZED, "002-016", "Invalid token.")
        }
        Error::InsufficientScope(_) => (
            S::UNAUTHORIZED,
            "002-016",
            "Token does not grant this operation.",
        ),
        Error::Banned => (S::UNAUTHORIZED, "002-040", "User is banned."),
        Error::ProjectNotFound => (S::NOT_FOUND, "003-019", "Login project not found."),
        Error::NotFound => (S::NOT_FOUND, "003-061", "Object not found."),
        Error::IdentityTaken => (
            S::UNPROCESSABLE_ENTITY,
            "010-016",
            "The account is already linked to another user.",
        ),
        Error::DifferentIdentityLinked(_) => (
            S::UNPROCESSABLE_ENTITY,
            "002-027",
            "The user already has a different ID of this kind, which cannot be changed.",
        ),
        Error::TooManyAttributes => (
            S::UNPROCESSABLE_ENTITY,
            "002-027",
            "The user has too many attributes.",
        ),
        Error::UserLimit(_) => (
            S::UNPROCESSABLE_ENTITY,
            "002-027",
            "The user would exceed one of its limits.",
        ),
        Error::IdempotencyKeyReused => (
            S::UNPROCESSABLE_ENTITY,
            "002-027",
            "The Idempotency-Key was used with another request.",
        ),
        Error::Unavailable(_) => (
            S::TOO_MANY_REQUESTS,
            "002-057",
            "Too many requests. Retry later.",
        ),
        // Not reachable through Xsolla-family endpoints; kept total so nothing renders a 5xx by accident.
        Error::InvalidClient { .. }
        | Error::UnknownAudience(_)
        | Error::UnauthorizedClient
        | Error::InvalidSubjectToken(_) => (S::UNAUTHORIZED, "002-016", "Invalid token."),
        Error::UnsupportedGrantType
        | Error::InvalidScope
        | Error::InvalidTarget
        | Error::UnknownProperty(_)
        | Error::InvalidQuery(_) => (S::BAD_REQUEST, "002-027", "A parameter is invalid."),
        Error::SubjectMismatch | Error::ServerOnlyIdentity => {
            (S::UNAUTHORIZED, "002-016", "Invalid token.")
        }
        Error::SameUser
        | Error::SecondaryNotFound
        | Error::IdentityAlreadyOnUser
        | Error::IdentityNotFound
        | Error::ConflictingSingleIdentities(_)
        | Error::MainIdentity
        | Error::LastIdentity
        | Error::ReservedProvider
        | Error::InvalidLinkWith(_) => (
            S::UNPROCESSABLE_ENTITY,
            "002-027",
            "A parameter is invalid.",
        ),
        Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, "004-001", "Something went wrong."),
    }
}

pub fn render(e: &Error) -> Response<Body> {
    log_error(e);
    let (status, code, description) = classify(e);
    let details = match e {
        Error::MissingParameter(field) => json!({ "parameter": field }),
        Error::InvalidParameter { field, reason } => {
            json!({ "parameter": field, "reason": reason })
        }
        Error::InsufficientScope(scope) => json!({ "required_scope": scope }),
        Error::UserLimit(limit) => json!({ "limit": limit }),
        Error::IdempotencyKeyReused => json!({ "parameter": "Idempotency-Key" }),
        Error::DifferentIdentityLinked(field) => {
            json!({ "parameter": field, "reason": "the user already has a different one" })
        }
        _ => json!({}),
    };
    let body = json!({ "error": { "code": code, "description": description, "details": details } });
    with_retry_after(json_response(status, &body), e)
}
