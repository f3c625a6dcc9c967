//! RFC 6749 §5.2 errors for the token endpoint: `{"error","error_description"}`, never cached.

use lambda_http::http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::error::{Error, log_error};
use crate::http::request::{json_response, with_retry_after};
use crate::http::{Body, Response};

pub fn classify(e: &Error) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match e {
        Error::InvalidClient { .. } => (
            S::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.".into(),
        ),
        Error::UnsupportedGrantType => (
            S::BAD_REQUEST,
            "unsupported_grant_type",
            "Supported grant types: client_credentials, urn:ietf:params:oauth:grant-type:token-exchange.".into(),
        ),
        Error::UnauthorizedClient => (
            S::BAD_REQUEST,
            "unauthorized_client",
            "Token exchange needs a client holding users:link or update:users.".into(),
        ),
        Error::InvalidSubjectToken(why) => (
            S::BAD_REQUEST,
            "invalid_request",
            format!("subject_token refused: {why}."),
        ),
        Error::Banned => (
            S::BAD_REQUEST,
            "invalid_request",
            "subject_token refused: the player is banned.".into(),
        ),
        Error::InvalidTarget => (
            S::BAD_REQUEST,
            "invalid_target",
            "Link tokens are issued only for this API's audience.".into(),
        ),
        Error::InvalidScope => (
            S::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is not granted to this client.".into(),
        ),
        Error::UnknownAudience(aud) => {
            let shown: String = aud.chars().take(200).filter(|c| !c.is_control()).collect();
            (
                S::FORBIDDEN,
                "access_denied",
                format!("Service not found: {shown}"),
            )
        }
        Error::MissingParameter(p) => (
            S::BAD_REQUEST,
            "invalid_request",
            format!("Missing required parameter: {p}"),
        ),
        Error::InvalidParameter { field, reason } => (
            S::BAD_REQUEST,
            "invalid_request",
            format!("Parameter {field} {reason}"),
        ),
        Error::ConflictingCredentials => (
            S::BAD_REQUEST,
            "invalid_request",
            "Use exactly one client authentication method.".into(),
        ),
        Error::MalformedBody => (
            S::BAD_REQUEST,
            "invalid_request",
            "Malformed request body.".into(),
        ),
        Error::BodyTooLarge => (
            S::BAD_REQUEST,
            "invalid_request",
            "Request body is too large.".into(),
        ),
        Error::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "Try again shortly.".into(),
        ),
        Error::Internal(_) => (
            S::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error.".into(),
        ),
        Error::InvalidQuery(_) => (S::BAD_REQUEST, "invalid_request", "Invalid query.".into()),
        // The token endpoint raises none of these; render them as a refusal, never a 5xx.
        Error::MissingToken
        | Error::InvalidToken(_)
        | Error::InsufficientScope(_)
        | Error::ProjectNotFound
        | Error::NotFound
        | Error::IdentityTaken
        | Error::DifferentIdentityLinked(_)
        | Error::TooManyAttributes
        | Error::UnknownProperty(_)
        | Error::SubjectMismatch
        | Error::SameUser
        | Error::SecondaryNotFound
        | Error::IdentityAlreadyOnUser
        | Error::IdentityNotFound
        | Error::ConflictingSingleIdentities(_)
        | Error::UserLimit(_)
        | Error::MainIdentity
        | Error::LastIdentity
        | Error::ReservedProvider
        | Error::ServerOnlyIdentity
        | Error::InvalidLinkWith(_)
        | Error::IdempotencyKeyReused => {
            (S::BAD_REQUEST, "invalid_request", "Invalid request.".into())
        }
    }
}

/// RFC 6749 §5.1: token responses, good or bad, must not be cached.
pub fn no_store(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub fn render(e: &Error) -> Response<Body> {
    log_error(e);
    let (status, code, description) = classify(e);
    let mut resp = json_response(
        status,
        &json!({ "error": code, "error_description": description }),
    );
    if let Error::InvalidClient { used_basic: true } = e {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"idlink\", charset=\"UTF-8\""),
        );
    }
    no_store(with_retry_after(resp, e))
}
