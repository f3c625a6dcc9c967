//! The partner family's errors: `{"code","message","solution"}` with the reference page's texts
//! (../shared/reference/partner-link-identifier.txt). Which code a domain error becomes depends on
//! which credential or input it concerns, so handlers build a [`Refusal`] where they know that.

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::error::{Error, TokenProblem, log_error};
use crate::http::request::{json_response, with_retry_after};
use crate::http::{Body, Response};
use crate::partner::IdentifierProblem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    ER053,
    ER102,
    ER700,
    ER701,
    ER702,
    ER703,
    ER704,
    ER705,
    ER706,
    ER707,
    ER708,
    ER709,
    ER800,
    ER801,
    ER802,
    ER803,
    ER805,
    ER806,
    ER999,
    /// idlink's own, outside the partner's catalog (which has none for it): an
    /// `Idempotency-Key` that is malformed, or was used with another request.
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ER053 => "ER053",
            Code::ER102 => "ER102",
            Code::ER700 => "ER700",
            Code::ER701 => "ER701",
            Code::ER702 => "ER702",
            Code::ER703 => "ER703",
            Code::ER704 => "ER704",
            Code::ER705 => "ER705",
            Code::ER706 => "ER706",
            Code::ER707 => "ER707",
            Code::ER708 => "ER708",
            Code::ER709 => "ER709",
            Code::ER800 => "ER800",
            Code::ER801 => "ER801",
            Code::ER802 => "ER802",
            Code::ER803 => "ER803",
            Code::ER805 => "ER805",
            Code::ER806 => "ER806",
            Code::ER999 => "ER999",
            Code::IdempotencyKeyInvalid => "IDEMPOTENCY_KEY_INVALID",
            Code::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
        }
    }

    /// 400 bad input, 401 bad credentials, 403 a mismatch, 404 nobody, 409 in use, 500 ours.
    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            ER053 | ER102 | ER704 | ER707 | ER803 | IdempotencyKeyInvalid => {
                StatusCode::BAD_REQUEST
            }
            IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ER700 | ER701 | ER702 | ER800 | ER801 | ER802 | ER805 | ER806 => {
                StatusCode::UNAUTHORIZED
            }
            ER703 => StatusCode::FORBIDDEN,
            ER705 | ER709 => StatusCode::NOT_FOUND,
            ER706 | ER708 => StatusCode::CONFLICT,
            ER999 => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(self) -> &'static str {
        use Code::*;
        match self {
            ER053 => "Missing identifier.",
            ER102 => "User identifier length out of bounds.",
            ER700 => "User authorization token not found.",
            ER701 => "User authorization token has expired.",
            ER702 => "User authorization token is invalid.",
            ER703 => "User identifier does not belong to the user in the user authorization token.",
            ER704 => "No user identifier found in headers.",
            ER705 => "User identifier is not linked to a user.",
            ER706 | ER707 => "User identifier is invalid.",
            ER708 => "There is a pending document for this side.",
            ER709 => "User not found, or user has been deleted.",
            ER800 => "Authorization token is invalid.",
            ER801 => "Authorization token has expired.",
            ER802 => "Authorization token not found.",
            ER803 => "Multiple authorization methods used.",
            ER805 => "API key is invalid.",
            ER806 => "API key not found.",
            ER999 => "A general error has occurred. Please contact our support team.",
            IdempotencyKeyInvalid => "The Idempotency-Key header is invalid.",
            IdempotencyKeyReused => "The Idempotency-Key was used with another request.",
        }
    }

    pub fn solution(self) -> &'static str {
        use Code::*;
        match self {
            ER053 => "Provide a valid identifier.",
            ER102 => {
                "Provide a user identifier with a minimum of 36 characters and a maximum of 255."
            }
            ER700 => "Provide a user authorization token.",
            ER701 => "Request a new authorization token, or refresh the token.",
            ER702 => "Provide a valid user authorization token.",
            ER703 => "Provide a valid user identifier, or remove the user identifier header.",
            ER704 => {
                "Provide a valid user identifier, or use the user/password authentication \
                 mechanism to request a user token and send that."
            }
            ER705 => {
                "Provide a valid user identifier, link this user identifier to a user account, \
                 or use the user/password authentication mechanism."
            }
            ER706 => {
                "Provide a valid user identifier, a unique identifier string for the user account \
                 that is not already in use."
            }
            ER707 => {
                "Please provide an identifier, consisting of 36 - 255 characters, numeric or \
                 alphanumeric only."
            }
            ER708 => "Wait for the pending document to be reviewed.",
            ER709 => "Provide a valid user identifier.",
            ER800 => "Provide a valid authorization token.",
            ER801 => "Request a new authorization token.",
            ER802 => "Provide an authorization token.",
            ER803 => "Use exactly one authorization method.",
            ER805 => "Provide a valid API key.",
            ER806 => "Provide an API key.",
            ER999 => "Contact our support team.",
            IdempotencyKeyInvalid => {
                "Send one Idempotency-Key of 1 to 255 visible ASCII characters, or none."
            }
            IdempotencyKeyReused => "Use a new Idempotency-Key for a new request.",
        }
    }
}

/// A partner-family refusal: its code, and the domain error behind it (logged, never shown).
#[derive(Debug)]
pub struct Refusal {
    pub code: Code,
    pub cause: Option<Error>,
}

impl Refusal {
    pub fn code(code: Code) -> Self {
        Self { code, cause: None }
    }

    /// A problem with the user's token (`User authorization token`).
    pub fn user_token(e: Error) -> Self {
        let code = match &e {
            Error::MissingToken => Code::ER700,
            Error::InvalidToken(TokenProblem::Expired) => Code::ER701,
            Error::InvalidToken(_) | Error::Banned => Code::ER702,
            _ => return Self::from(e),
        };
        Self {
            code,
            cause: Some(e),
        }
    }

    /// A problem with the partner's own token (`Authorization token`).
    pub fn partner_token(e: Error) -> Self {
        let code = match &e {
            Error::MissingToken => Code::ER802,
            Error::InvalidToken(TokenProblem::Expired) => Code::ER801,
            Error::InvalidToken(_) | Error::InsufficientScope(_) => Code::ER800,
            _ => return Self::from(e),
        };
        Self {
            code,
            cause: Some(e),
        }
    }
}

impl From<IdentifierProblem> for Refusal {
    fn from(p: IdentifierProblem) -> Self {
        Self::code(match p {
            IdentifierProblem::Missing => Code::ER053,
            IdentifierProblem::Length => Code::ER102,
            IdentifierProblem::Characters => Code::ER707,
        })
    }
}

/// Errors that mean the same wherever they come from.
impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::MissingToken | Error::InvalidToken(_) | Error::Banned => {
                return Self::user_token(e);
            }
            Error::ConflictingCredentials => Code::ER803,
            Error::InvalidParameter { field, .. } if field == "Idempotency-Key" => {
                Code::IdempotencyKeyInvalid
            }
            Error::IdempotencyKeyReused => Code::IdempotencyKeyReused,
            Error::MalformedBody | Error::BodyTooLarge | Error::MissingParameter(_) => Code::ER053,
            Error::InvalidParameter { .. } => Code::ER707,
            Error::NotFound | Error::ProjectNotFound => Code::ER709,
            Error::IdentityTaken | Error::DifferentIdentityLinked(_) => Code::ER706,
            // Not reached by a partner link (a user always has room for its one identifier);
            // a conflict rather than a 500 if it ever is.
            Error::UserLimit(_) => Code::ER706,
            _ => Code::ER999,
        };
        Self {
            code,
            cause: Some(e),
        }
    }
}

pub fn render(r: &Refusal) -> Response<Body> {
    match &r.cause {
        Some(e) => log_error(e),
        None => tracing::info!(code = r.code.as_str(), "request refused"),
    }
    // A throttled store is the general error too, but one worth retrying.
    let status = match &r.cause {
        Some(Error::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        _ => r.code.status(),
    };
    let body = json!({
        "code": r.code.as_str(),
        "message": r.code.message(),
        "solution": r.code.solution(),
    });
    match &r.cause {
        Some(e) => with_retry_after(json_response(status, &body), e),
        None => json_response(status, &body),
    }
}
