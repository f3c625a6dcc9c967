//! Partner identifiers and partner API keys.
//!
//! An identifier is passed through checkout unchanged, so it is not normalised: 36–255 ASCII
//! letters and digits. idlink stores and looks it up only as HMAC-SHA256 under a secret pepper
//! (the `partner` identity's subject); the identifier itself is never written or logged.

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};
use crate::identity::Subject;

/// What is wrong with an identifier; each has its own partner error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierProblem {
    Missing,
    Length,
    Characters,
}

pub struct PartnerIdentifier(String);

impl PartnerIdentifier {
    pub const MIN_CHARS: usize = 36;
    pub const MAX_CHARS: usize = 255;

    pub fn parse(value: &str) -> Result<Self, IdentifierProblem> {
        if value.is_empty() {
            return Err(IdentifierProblem::Missing);
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdentifierProblem::Characters);
        }
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&value.len()) {
            return Err(IdentifierProblem::Length);
        }
        Ok(Self(value.to_owned()))
    }

    /// The identity subject idlink stores: base64url(HMAC-SHA256(pepper, identifier)).
    pub fn subject(&self, pepper: &Pepper) -> Subject {
        let tag = hmac::sign(&pepper.0, self.0.as_bytes());
        Subject::from_digest(URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }
}

/// The HMAC key for partner identifiers, kept with the signing keys (file or secret).
pub struct Pepper(hmac::Key);

impl Pepper {
    pub const BYTES: usize = 32;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < Self::BYTES {
            return Err(Error::internal("partner pepper must be at least 32 bytes"));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    pub fn generate() -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; Self::BYTES];
        rand::fill(&mut bytes).map_err(|_| Error::internal("random generator failed"))?;
        Ok(bytes)
    }
}

/// A partner's API key: `idl_` and 256 random bits. Shown once; stored only as its SHA-256.
pub fn generate_api_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).map_err(|_| Error::internal("random generator failed"))?;
    Ok(format!("idl_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of an API key (hex SHA-256): the lookup key of its item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// Longest key hashed; anything longer cannot be one of ours.
    pub const MAX_KEY_BYTES: usize = 256;

    pub fn of(key: &str) -> Self {
        let d = digest::digest(&digest::SHA256, key.as_bytes());
        Self(d.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_rules() {
        let ok = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";
        assert!(PartnerIdentifier::parse(ok).is_ok());
        assert!(PartnerIdentifier::parse(&"a".repeat(36)).is_ok());
        assert!(PartnerIdentifier::parse(&"a".repeat(255)).is_ok());
        let err = |s: &str| PartnerIdentifier::parse(s).err();
        assert_eq!(err(""), Some(IdentifierProblem::Missing));
        assert_eq!(err(&"a".repeat(35)), Some(IdentifierProblem::Length));
        assert_eq!(err(&"a".repeat(256)), Some(IdentifierProblem::Length));
        assert_eq!(
            err(&format!("{}-", "a".repeat(40))),
            Some(IdentifierProblem::Characters)
        );
        assert_eq!(err(&"é".repeat(40)), Some(IdentifierProblem::Characters));
    }

    #[test]
    fn subject_is_keyed_and_case_sensitive() {
        let p1 = Pepper::from_bytes(&Pepper::generate().unwrap()).unwrap();
        let p2 = Pepper::from_bytes(&Pepper::generate().unwrap()).unwrap();
        let id = PartnerIdentifier::parse(&"Ab".repeat(20)).unwrap();
        let lower = PartnerIdentifier::parse(&"ab".repeat(20)).unwrap();
        assert_eq!(id.subject(&p1), id.subject(&p1));
        assert_ne!(id.subject(&p1), id.subject(&p2));
        assert_ne!(id.subject(&p1), lower.subject(&p1), "not normalised");
        assert!(!id.subject(&p1).as_str().contains("AbAb"));
        assert!(Pepper::from_bytes(&[0u8; 8]).is_err());
    }

    #[test]
    fn api_keys_hash_stably() {
        let key = generate_api_key().unwrap();
        assert!(key.starts_with("idl_"));
        assert_eq!(ApiKeyHash::of(&key), ApiKeyHash::of(&key));
        assert_ne!(ApiKeyHash::of(&key), ApiKeyHash::of("idl_other"));
        assert_eq!(ApiKeyHash::of(&key).as_str().len(), 64);
    }
}
