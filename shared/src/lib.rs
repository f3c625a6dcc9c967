//! idlink's domain crate: identities, the store, tokens and keys, and the HTTP edge.

pub mod attribute;
pub mod audit;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod function;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod keys;
pub mod partner;
pub mod store;
#[cfg(any(test, feature = "memory"))]
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub mod testing;
pub mod token;
pub mod user;

pub use error::{Error, Result, TokenProblem};
