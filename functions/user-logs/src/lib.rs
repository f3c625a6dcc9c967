//! The user-logs function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs). It only verifies tokens: the public keys.
pub const SECRETS: &[Material] = &[Material::PublicKeys];

/// How this function answers a refusal.
pub type Family = idlink::function::Auth0;
/// Where this function keeps its data.
pub type Store = idlink::store::dynamo::DynamoStore;
