//! The resolve-identifier function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs). It verifies tokens and hashes partner identifiers: the public keys and the pepper.
pub const SECRETS: &[Material] = &[Material::PublicKeys, Material::PartnerPepper];

/// How this function answers a refusal.
pub type Family = idlink::function::Partner;
/// Where this function keeps its data.
pub type Store = idlink::store::dynamo::DynamoStore;
