//! The oauth-token function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs). It signs server tokens: the private signing key set.
pub const SECRETS: &[Material] = &[Material::SigningKeys];

/// How this function answers a refusal.
pub type Family = idlink::function::OAuth;
/// Where this function keeps its data.
pub type Store = idlink::store::dynamo::DynamoStore;
