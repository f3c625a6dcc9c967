//! The jwks function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs). It publishes the public keys.
pub const SECRETS: &[Material] = &[Material::PublicKeys];

/// How this function answers a refusal (it has none: the key set is always there).
pub type Family = idlink::function::OAuth;
/// jwks keeps no data: it starts without AWS settings or a table.
pub type Store = idlink::function::NoStore;
