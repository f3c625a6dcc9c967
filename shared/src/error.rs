//! The one domain error type. Each API family renders it in its own envelope (see `http/`).

use std::error::Error as StdError;

/// Why a token was refused. Kept apart from [`Error`] so renderers can tell "expired" from "invalid".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Expired,
    Invalid,
    /// The token was valid once but its session was ended (`with_logout`, unlink, merge).
    Revoked,
    /// A valid token of the other kind (a user token where a server token is required, or the reverse).
    WrongType,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed request body")]
    MalformedBody,
    #[error("request body too large")]
    BodyTooLarge,
    #[error("missing parameter `{0}`")]
    MissingParameter(String),
    /// `reason` is a fixed text about the rule that failed; it never echoes the value.
    #[error("invalid parameter `{field}`: {reason}")]
    InvalidParameter { field: String, reason: &'static str },

    #[error("no credentials")]
    MissingToken,
    #[error("token refused: {0:?}")]
    InvalidToken(TokenProblem),
    #[error("conflicting credentials in one request")]
    ConflictingCredentials,
    #[error("insufficient scope, expected {0}")]
    InsufficientScope(&'static str),

    #[error("project not found")]
    ProjectNotFound,
    #[error("object not found")]
    NotFound,
    #[error("identity belongs to another user")]
    IdentityTaken,
    /// The user already holds another identity of a provider that allows one per user.
    #[error("user already has a different {0}")]
    DifferentIdentityLinked(&'static str),
    #[error("too many attributes on the user")]
    TooManyAttributes,
    /// A ban (or an Auth0 block) holds on the user: no login, no token of the user works.
    #[error("the user is banned")]
    Banned,

    // Account linking (Auth0 Management API).
    #[error("a body property is not allowed: {0}")]
    UnknownProperty(String),
    /// A query string an endpoint does not support; the fixed text says what it supports and
    /// never echoes the value.
    #[error("unsupported query: {0}")]
    InvalidQuery(&'static str),
    #[error("the token's user is not the user acted on")]
    SubjectMismatch,
    #[error("main identity and the new one are the same")]
    SameUser,
    #[error("the secondary account was not found")]
    SecondaryNotFound,
    #[error("the identity is already on the user")]
    IdentityAlreadyOnUser,
    #[error("the identity is not on the user")]
    IdentityNotFound,
    #[error("both users hold a different {0}")]
    ConflictingSingleIdentities(&'static str),
    /// The change would take a user past one of its limits; the text names the limit
    /// (`"200 attributes"`, `"32 identities"`). Refused before anything is written.
    #[error("the user would exceed its limit of {0}")]
    UserLimit(&'static str),
    #[error("the main identity cannot be removed")]
    MainIdentity,
    #[error("the last identity cannot be removed")]
    LastIdentity,
    #[error("only idlink may link identities of this provider")]
    ReservedProvider,
    /// An identity the studio set (custom ID, external ID, partner) that only a server removes.
    #[error("only a server token may remove this identity")]
    ServerOnlyIdentity,
    /// The `link_with` proof was refused; the text says why, without any token content.
    #[error("link_with refused: {0}")]
    InvalidLinkWith(&'static str),

    // OAuth 2.0 token endpoint (RFC 6749 §5.2).
    #[error("client authentication failed")]
    InvalidClient { used_basic: bool },
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("scope not granted to the client")]
    InvalidScope,
    #[error("unknown audience")]
    UnknownAudience(String),
    /// RFC 6749 §5.2: the client may not use this grant (token exchange needs a linking scope).
    #[error("client not authorized for this grant")]
    UnauthorizedClient,
    /// RFC 8693 §2.2.2: the `subject_token` (or its type) is unacceptable; the text says why
    /// without any token content.
    #[error("subject_token refused: {0}")]
    InvalidSubjectToken(&'static str),
    /// RFC 8693 §2.2.2: the requested audience is not one idlink issues link tokens for.
    #[error("invalid target audience")]
    InvalidTarget,

    /// An `Idempotency-Key` the caller already used with another request (or, inside the
    /// store, one whose answer a concurrent request with the same key wrote first: the HTTP
    /// edge answers that one instead, see `http::once`).
    #[error("the idempotency key was used with another request")]
    IdempotencyKeyReused,

    /// Throttled or contended store: the client should retry.
    #[error("store temporarily unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Anything else: logged whole, shown to nobody.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: &'static str) -> Self {
        Error::InvalidParameter {
            field: field.into(),
            reason,
        }
    }

    pub fn missing(field: impl Into<String>) -> Self {
        Error::MissingParameter(field.into())
    }

    pub fn internal(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Error::Internal(e.into())
    }

    /// True for errors that are the server's fault (rendered as 5xx, logged with their cause).
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Error::Internal(_) | Error::Unavailable(_))
    }
}

/// Logs an error the way every renderer wants it: the whole cause chain for server faults,
/// one line without values for client errors.
/// An error and all its causes on one line: `outer: cause: root cause`.
pub fn describe(e: &dyn StdError) -> String {
    let mut chain = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    chain
}

pub fn log_error(e: &Error) {
    if e.is_server_fault() {
        tracing::error!(error = %describe(e), "request failed");
    } else {
        tracing::info!(error = %e, "request refused");
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
