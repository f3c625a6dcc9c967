//! Signing keys: one active key signs, every key in the set verifies and is published in the JWKS,
//! so a key can be rotated in (new active) and out (removed after its tokens expired) without
//! downtime. Three separate materials, each read once at cold start from a file (local) or a
//! Secrets Manager secret (AWS), and each only by the functions that use it:
//!
//! - the private signing key set, for the functions that sign:
//!   `{"keys":[{"kid":"…","alg":"ES256","pkcs8":"<base64 DER>","active":true}, …]}`
//! - the public key set, for those that only verify: the JWKS itself ([`public_key_set`]);
//! - the partner pepper, for the partner functions: `{"partner_pepper":"<base64>"}`.

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

/// The active key, parsed once; signing reuses it (no per-token key parsing). A set read from
/// public keys only has no pair: it verifies, and signing is an internal error.
pub struct SigningKey {
    pub kid: String,
    pub alg: KeyAlg,
    pair: Option<Pair>,
    rng: SystemRandom,
}

impl SigningKey {
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.pair {
            Some(Pair::Ecdsa(k)) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::internal("signing failed")),
            Some(Pair::Ed25519(k)) => Ok(k.sign(message).as_ref().to_vec()),
            None => Err(Error::internal(
                "this function holds no private signing key (public key set only)",
            )),
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

fn verifying_key(kid: &str, alg: KeyAlg, jwk: &serde_json::Value) -> Result<VerifyingKey> {
    let x = jwk["x"].as_str().unwrap_or_default();
    let key = match alg {
        KeyAlg::ES256 => DecodingKey::from_ec_components(x, jwk["y"].as_str().unwrap_or_default()),
        KeyAlg::EdDSA => DecodingKey::from_ed_components(x),
    }
    .map_err(|_| bad_keys("public key rejected"))?;
    Ok(VerifyingKey {
        kid: kid.to_owned(),
        alg: alg.jwt_algorithm(),
        key,
    })
}

fn published_jwk(mut jwk: serde_json::Value, kid: &str, alg: KeyAlg) -> serde_json::Value {
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.name());
    jwk["use"] = json!("sig");
    jwk
}

/// One key of a public key set, as the JWKS publishes it.
#[derive(Deserialize)]
struct PublicJwk {
    kid: String,
    alg: KeyAlg,
    kty: String,
    crv: String,
    x: String,
    #[serde(default)]
    y: Option<String>,
}

#[derive(Deserialize)]
struct PublicKeySet {
    keys: Vec<PublicJwk>,
}

/// The pepper material: `{"partner_pepper":"<base64>"}`.
#[derive(Serialize, Deserialize)]
struct PepperFile {
    partner_pepper: String,
}

fn parse_pepper(base64: &str) -> Result<Pepper> {
    STANDARD
        .decode(base64.as_bytes())
        .map_err(|_| bad_keys("partner_pepper is not base64"))
        .and_then(|b| Pepper::from_bytes(&b))
}

/// Reads the pepper material.
pub fn pepper_from_json(text: &str) -> Result<Pepper> {
    let file: PepperFile =
        serde_json::from_str(text).map_err(|_| bad_keys("not valid partner pepper JSON"))?;
    parse_pepper(&file.partner_pepper)
}

/// A new pepper material. It is never rotated: stored partner subjects depend on it.
pub fn generate_pepper_file() -> Result<String> {
    let file = PepperFile {
        partner_pepper: STANDARD.encode(Pepper::generate()?),
    };
    serde_json::to_string_pretty(&file).map_err(Error::internal)
}

/// The public key set of a private one: the JWKS it publishes, for the functions that only
/// verify. Write it again after every rotation.
pub fn public_key_set(private: &str) -> Result<String> {
    let set = KeySet::from_private_json(private)?;
    let jwks: serde_json::Value = serde_json::from_str(set.jwks_json()).map_err(Error::internal)?;
    serde_json::to_string_pretty(&jwks).map_err(Error::internal)
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
    /// A private key set together with the pepper it may carry (the single file of earlier
    /// versions; tests and the benchmark still write one).
    pub fn from_json(text: &str) -> Result<Self> {
        let pepper = serde_json::from_str::<KeyFile>(text)
            .map_err(|_| bad_keys("not valid key-set JSON"))?
            .partner_pepper;
        let set = Self::from_private_json(text)?;
        match pepper {
            Some(p) => Ok(set.with_pepper(parse_pepper(&p)?)),
            None => Ok(set),
        }
    }

    /// The private signing key set: signs with its active key, verifies with every key. A
    /// `partner_pepper` member is ignored (the pepper is its own material).
    pub fn from_private_json(text: &str) -> Result<Self> {
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
            verifying.push(verifying_key(&entry.kid, entry.alg, &jwk)?);
            published.push(published_jwk(jwk, &entry.kid, entry.alg));
            if entry.active {
                signing = Some(SigningKey {
                    kid: entry.kid,
                    alg: entry.alg,
                    pair: Some(pair),
                    rng: SystemRandom::new(),
                });
            }
        }
        let signing = signing.ok_or_else(|| bad_keys("no active key"))?;
        Ok(Self {
            signing,
            verifying,
            jwks_json: json!({ "keys": published }).to_string(),
            pepper: None,
        })
    }

    /// The public key set (a JWKS as [`public_key_set`] writes it): verifies, never signs.
    pub fn from_public_json(text: &str) -> Result<Self> {
        let jwks: PublicKeySet =
            serde_json::from_str(text).map_err(|_| bad_keys("not valid JWKS JSON"))?;
        if jwks.keys.is_empty() {
            return Err(bad_keys("no public key"));
        }
        let mut verifying = Vec::new();
        let mut published = Vec::new();
        for key in &jwks.keys {
            let jwk = match (key.alg, key.y.as_deref()) {
                (KeyAlg::ES256, Some(y)) if key.kty == "EC" && key.crv == "P-256" => {
                    json!({"crv": "P-256", "kty": "EC", "x": key.x, "y": y})
                }
                (KeyAlg::EdDSA, None) if key.kty == "OKP" && key.crv == "Ed25519" => {
                    json!({"crv": "Ed25519", "kty": "OKP", "x": key.x})
                }
                _ => return Err(bad_keys("unsupported public key")),
            };
            verifying.push(verifying_key(&key.kid, key.alg, &jwk)?);
            published.push(published_jwk(jwk, &key.kid, key.alg));
        }
        Ok(Self {
            signing: SigningKey {
                kid: String::new(),
                alg: jwks.keys[0].alg,
                pair: None,
                rng: SystemRandom::new(),
            },
            verifying,
            jwks_json: json!({ "keys": published }).to_string(),
            pepper: None,
        })
    }

    /// No key at all, for a function that reads no key material (openapi): it signs nothing
    /// and verifies no token, and publishes an empty set.
    pub fn none() -> Self {
        Self {
            signing: SigningKey {
                kid: String::new(),
                alg: KeyAlg::ES256,
                pair: None,
                rng: SystemRandom::new(),
            },
            verifying: Vec::new(),
            jwks_json: json!({ "keys": [] }).to_string(),
            pepper: None,
        }
    }

    /// The set with the partner pepper (its own material, read only by the partner functions).
    pub fn with_pepper(mut self, pepper: Pepper) -> Self {
        self.pepper = Some(pepper);
        self
    }

    /// Whether the set holds a private key (public key sets verify only).
    pub fn can_sign(&self) -> bool {
        self.signing.pair.is_some()
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

/// A private key set with one fresh active key, as JSON (`idlink-admin gen-keys`).
pub fn generate_private_key_set(alg: KeyAlg) -> Result<String> {
    let file = KeyFile {
        keys: vec![generate(alg)?],
        partner_pepper: None,
    };
    serde_json::to_string_pretty(&file).map_err(Error::internal)
}

/// One fresh active key and a pepper in a single file: what tests and the benchmark use.
pub fn generate_key_file(alg: KeyAlg) -> Result<String> {
    let file = KeyFile {
        keys: vec![generate(alg)?],
        partner_pepper: Some(STANDARD.encode(Pepper::generate()?)),
    };
    serde_json::to_string_pretty(&file).map_err(Error::internal)
}

/// Adds a new active key to an existing set and deactivates the others (they keep verifying
/// until removed, so tokens they signed stay valid until they expire).
pub fn rotate(existing: &str, alg: KeyAlg) -> Result<String> {
    let mut file: KeyFile =
        serde_json::from_str(existing).map_err(|_| bad_keys("not valid key-set JSON"))?;
    for k in &mut file.keys {
        k.active = false;
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
    fn the_public_set_verifies_with_every_key_and_cannot_sign() {
        let private = rotate(&generate_key_file(KeyAlg::ES256).unwrap(), KeyAlg::EdDSA).unwrap();
        let full = KeySet::from_json(&private).unwrap();
        let text = public_key_set(&private).unwrap();
        assert!(!text.contains("pkcs8") && !text.contains("partner_pepper"));
        let public = KeySet::from_public_json(&text).unwrap();
        assert!(full.can_sign());
        assert!(!public.can_sign());
        assert_eq!(public.jwks_json(), full.jwks_json());
        for kid in full.verifying.iter().map(|k| &k.kid) {
            assert_eq!(
                public.verifying(kid).map(|k| k.alg),
                full.verifying(kid).map(|k| k.alg)
            );
        }
        assert!(public.signing().sign(b"message").is_err());
        assert!(public.pepper().is_none());
        assert!(KeySet::from_public_json(r#"{"keys":[]}"#).is_err());
        assert!(
            KeySet::from_public_json(&private).is_err(),
            "a private set is no JWKS"
        );
    }

    #[test]
    fn the_pepper_is_its_own_material() {
        let combined = generate_key_file(KeyAlg::ES256).unwrap();
        assert!(KeySet::from_json(&combined).unwrap().pepper().is_some());
        assert!(
            KeySet::from_private_json(&combined)
                .unwrap()
                .pepper()
                .is_none(),
            "the signing set does not bring the pepper along"
        );
        assert!(pepper_from_json(&generate_pepper_file().unwrap()).is_ok());
        assert!(pepper_from_json(r#"{"partner_pepper":"c2hvcnQ="}"#).is_err());
        let private = generate_private_key_set(KeyAlg::ES256).unwrap();
        assert!(!private.contains("partner_pepper"));
        assert!(pepper_from_json(&private).is_err());
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
