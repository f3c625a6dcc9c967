//! The resolve-identifier function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs). It verifies tokens and hashes partner identifiers: the public keys and the pepper.
pub const SECRETS: &[Material] = &[Material::PublicKeys, Material::PartnerPepper];
