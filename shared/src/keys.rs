//! Signing keys: one active key signs, every key in the set verifies and is published in the JWKS,
//! so a key can be rotated in (new active) and out (removed after its tokens expired) without
//! downtime. The set is JSON, read once at cold start from a file (local) or a Secrets Manager
//! secret (AWS):
//!
//! `{"keys":[{"kid":"…","alg":"ES256","pkcs8":"<base64 DER>","active":true}, …]}`

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::partner::Pepper;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    ES256,
    EdDSA,
}

impl KeyAlg {
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            KeyAlg::ES256 => Algorithm::ES256,
            KeyAlg::EdDSA => Algorithm::EdDSA,
        }
    }
    fn name(self) -> &'static str {
        match self {
            KeyAlg::ES256 => "ES256",
            KeyAlg::EdDSA => "EdDSA",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFileEntry {
    pub kid: String,
    pub alg: KeyAlg,
    pub pkcs8: String,
    #[serde(default)]
    pub active: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub keys: Vec<KeyFileEntry>,
    /// Base64 HMAC key for partner identifiers. It cannot rotate like a signing key (stored
    /// hashes depend on it), so `--rotate` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_pepper: Option<String>,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// The active key, parsed once; signing reuses it (no per-token key parsing).
pub struct SigningKey {
    pub kid: String,
    pub alg: KeyAlg,
    pair: Pair,
    rng: SystemRandom,
}

impl SigningKey {
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.pair {
            Pair::Ecdsa(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::internal("signing failed")),
            Pair::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

pub struct VerifyingKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

pub struct KeySet {
    signing: SigningKey,
    verifying: Vec<VerifyingKey>,
    jwks_json: String,
    pepper: Option<Pepper>,
}

fn bad_keys(why: &'static str) -> Error {
    Error::internal(format!("signing key set: {why}"))
}

/// The public JWK of a key pair, without `kid`/`alg`/`use` (exactly the RFC 7638 members).
fn public_jwk(alg: KeyAlg, public: &[u8]) -> Result<serde_json::Value> {
    match alg {
        KeyAlg::ES256 => {
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            if public.len() != 65 || public[0] != 4 {
                return Err(bad_keys("unexpected P-256 public key encoding"));
            }
            Ok(json!({
                "crv": "P-256",
                "kty": "EC",
                "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
            }))
        }
        KeyAlg::EdDSA => Ok(json!({
            "crv": "Ed25519",
            "kty": "OKP",
            "x": URL_SAFE_NO_PAD.encode(public),
        })),
    }
}

/// RFC 7638 thumbprint: SHA-256 over the JWK's required members in lexicographic order
/// (serde_json's map is ordered, so `to_string` yields exactly that form).
fn thumbprint(jwk: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, jwk.to_string().as_bytes()))
}

fn parse_pair(alg: KeyAlg, der: &[u8]) -> Result<Pair> {
    match alg {
        KeyAlg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(Pair::Ecdsa)
            .map_err(|_| bad_keys("invalid ES256 PKCS#8 key")),
        KeyAlg::EdDSA => Ed25519KeyPair::from_pkcs8(der)
            .map(Pair::Ed25519)
            .map_err(|_| bad_keys("invalid Ed25519 PKCS#8 key")),
    }
}

impl Pair {
    fn public_key(&self) -> &[u8] {
        match self {
            Pair::Ecdsa(k) => k.public_key().as_ref(),
            Pair::Ed25519(k) => k.public_key().as_ref(),
        }
    }
}

impl KeySet {
    pub fn from_json(text: &str) -> Result<Self> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|_| bad_keys("not valid key-set JSON"))?;
        if file.keys.iter().filter(|k| k.active).count() != 1 {
            return Err(bad_keys("exactly one key must be active"));
        }
        let mut signing = None;
        let mut verifying = Vec::new();
        let mut published = Vec::new();
        for entry in file.keys {
            let der = STANDARD
                .decode(entry.pkcs8.as_bytes())
                .map_err(|_| bad_keys("pkcs8 is not base64"))?;
            let pair = parse_pair(entry.alg, &der)?;
            let jwk = public_jwk(entry.alg, pair.public_key())?;
            let key = match entry.alg {
                KeyAlg::ES256 => DecodingKey::from_ec_components(
                    jwk["x"].as_str().unwrap_or_default(),
                    jwk["y"].as_str().unwrap_or_default(),
                ),
                KeyAlg::EdDSA => {
                    DecodingKey::from_ed_components(jwk["x"].as_str().unwrap_or_default())
                }
            }
            .map_err(|_| bad_keys("public key rejected"))?;
            let mut published_jwk = jwk;
            published_jwk["kid"] = json!(entry.kid);
            published_jwk["alg"] = json!(entry.alg.name());
            published_jwk["use"] = json!("sig");
            published.push(published_jwk);
            verifying.push(VerifyingKey {
                kid: entry.kid.clone(),
                alg: entry.alg.jwt_algorithm(),
                key,
            });
            if entry.active {
                signing = Some(SigningKey {
                    kid: entry.kid,
                    alg: entry.alg,
                    pair,
                    rng: SystemRandom::new(),
                });
            }
        }
        let signing = signing.ok_or_else(|| bad_keys("no active key"))?;
        let jwks_json = json!({ "keys": published }).to_string();
        let pepper = file
            .partner_pepper
            .map(|p| {
                STANDARD
                    .decode(p.as_bytes())
                    .map_err(|_| bad_keys("partner_pepper is not base64"))
                    .and_then(|b| Pepper::from_bytes(&b))
            })
            .transpose()?;
        Ok(Self {
            signing,
            verifying,
            jwks_json,
            pepper,
        })
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Looks a key up by the token's `kid`; the algorithm comes from our set, never the token.
    pub fn verifying(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }

    /// The partner-identifier pepper, if the set carries one.
    pub fn pepper(&self) -> Option<&Pepper> {
        self.pepper.as_ref()
    }

    /// The RFC 7517 JWK Set, rendered once at load.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }
}

/// A new key, ready to be added to a key file. The kid is the key's RFC 7638 thumbprint.
pub fn generate(alg: KeyAlg) -> Result<KeyFileEntry> {
    let rng = SystemRandom::new();
    let doc = match alg {
        KeyAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| bad_keys("key generation failed"))?,
        KeyAlg::EdDSA => {
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| bad_keys("key generation failed"))?
        }
    };
    let der = doc.as_ref();
    let pair = parse_pair(alg, der)?;
    let kid = thumbprint(&public_jwk(alg, pair.public_key())?);
    Ok(KeyFileEntry {
        kid,
        alg,
        pkcs8: STANDARD.encode(der),
        active: true,
    })
}

/// A key set with one fresh active key, as JSON: what setup writes for local runs and tests.
pub fn generate_key_file(alg: KeyAlg) -> Result<String> {
    let file = KeyFile {
        keys: vec![generate(alg)?],
        partner_pepper: Some(STANDARD.encode(Pepper::generate()?)),
    };
    serde_json::to_string_pretty(&file).map_err(Error::internal)
}

/// An older key file without a partner pepper, with one added; `None` if it has one already.
pub fn with_partner_pepper(existing: &str) -> Result<Option<String>> {
    let mut file: KeyFile =
        serde_json::from_str(existing).map_err(|_| bad_keys("not valid key-set JSON"))?;
    if file.partner_pepper.is_some() {
        return Ok(None);
    }
    file.partner_pepper = Some(STANDARD.encode(Pepper::generate()?));
    serde_json::to_string_pretty(&file)
        .map(Some)
        .map_err(Error::internal)
}

/// Adds a new active key to an existing set and deactivates the others (they keep verifying
/// until removed, so tokens they signed stay valid until they expire).
pub fn rotate(existing: &str, alg: KeyAlg) -> Result<String> {
    let mut file: KeyFile =
        serde_json::from_str(existing).map_err(|_| bad_keys("not valid key-set JSON"))?;
    for k in &mut file.keys {
        k.active = false;
    }
    if file.partner_pepper.is_none() {
        file.partner_pepper = Some(STANDARD.encode(Pepper::generate()?));
    }
    file.keys.push(generate(alg)?);
    serde_json::to_string_pretty(&file).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_set_loads_and_publishes_its_key() {
        let text = generate_key_file(KeyAlg::ES256).unwrap();
        let set = KeySet::from_json(&text).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(set.jwks_json()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["kid"], set.signing().kid.as_str());
        assert!(set.verifying(&set.signing().kid).is_some());
        assert!(
            !set.jwks_json().contains("pkcs8"),
            "no private material published"
        );
    }

    #[test]
    fn rotation_keeps_old_keys_verifying() {
        let first = generate_key_file(KeyAlg::ES256).unwrap();
        let old_kid = KeySet::from_json(&first).unwrap().signing().kid.clone();
        let rotated = rotate(&first, KeyAlg::EdDSA).unwrap();
        let set = KeySet::from_json(&rotated).unwrap();
        assert_ne!(set.signing().kid, old_kid);
        assert_eq!(set.signing().alg, KeyAlg::EdDSA);
        assert!(set.verifying(&old_kid).is_some());
        let pepper = |text: &str| {
            serde_json::from_str::<KeyFile>(text)
                .unwrap()
                .partner_pepper
        };
        assert_eq!(
            pepper(&first),
            pepper(&rotated),
            "rotation keeps the pepper"
        );
        assert!(set.pepper().is_some());
    }

    #[test]
    fn refuses_sets_without_exactly_one_active_key() {
        let mut file: KeyFile =
            serde_json::from_str(&generate_key_file(KeyAlg::ES256).unwrap()).unwrap();
        file.keys[0].active = false;
        assert!(KeySet::from_json(&serde_json::to_string(&file).unwrap()).is_err());
        assert!(KeySet::from_json("{}").is_err());
    }
}
