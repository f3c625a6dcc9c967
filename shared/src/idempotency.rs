//! `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): a client that retries a
//! change with the same key gets the first answer again, and the change happens once.
//!
//! The first answer (status and body) is written with the change, in the same DynamoDB write
//! (see [`crate::audit::Audit::once`]), for 24 hours per caller and key. The record is kept under
//! a slot derived from the caller and the key, and its answer is sealed (AES-256-GCM) with a key
//! derived from them too: the key itself is never stored, and a stored answer (which may carry a
//! user token) can only be read back by the caller that presents the key. Beside the answer the
//! record holds a fingerprint of the request (method, path, query, body): the same key with
//! another request is refused ([`Error::IdempotencyKeyReused`], 422 in each family's envelope).

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::{aead, digest, hkdf, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The request header (HTTP header names are case-insensitive).
pub const HEADER: &str = "idempotency-key";
/// The header idlink adds to a replayed answer (as Stripe does), so a client can tell.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest key accepted, in bytes (a UUID is 36).
pub const MAX_KEY_BYTES: usize = 255;
/// How long a first answer is kept.
pub const LIFETIME_SECS: i64 = 24 * 60 * 60;
/// Largest sealed answer kept: DynamoDB's item limit is 400 KB, and the record's other
/// attributes are a few dozen bytes.
pub const MAX_SEALED_BYTES: usize = 390 * 1024;

/// The parameter name errors about the header use.
const FIELD: &str = "Idempotency-Key";
const NONCE_BYTES: usize = 12;

/// A request that came with a key: where its answer is kept, how the request is recognised,
/// and how the answer is sealed. Built by [`Claim::from_request`] once the caller is known.
#[derive(Clone, PartialEq, Eq)]
pub struct Claim {
    /// The record's slot: derived from the caller and the key (URL-safe base64 of 32 bytes).
    pub slot: String,
    /// SHA-256 of the request: method, path, query and body.
    fingerprint: [u8; 32],
    /// The AES-256-GCM key the answer is sealed with.
    seal: [u8; 32],
    /// When the request arrived (unix seconds): the record lives until `now + LIFETIME_SECS`.
    pub now: i64,
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim").field("slot", &self.slot).finish()
    }
}

impl Claim {
    /// The request's claim, if it carries the header: `caller` names who sent it (a server
    /// client or a user, with its project), so one key of two callers are two keys. A header
    /// sent twice, empty, longer than [`MAX_KEY_BYTES`] or with anything but visible ASCII is
    /// refused. The draft's structured-field form (`"…"`) and a bare token mean the same key.
    pub fn from_request(req: &Request, caller: &str, now: i64) -> Result<Option<Self>> {
        let mut values = req.headers().get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(Error::invalid(FIELD, "must be sent once"));
        }
        let key = parse_key(value.as_bytes())?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"idlink idempotency v1")
            .extract(&[caller.as_bytes(), &[0], key].concat());
        let slot = expand(&prk, b"slot")?;
        let seal = expand(&prk, b"seal")?;
        Ok(Some(Self {
            slot: URL_SAFE_NO_PAD.encode(slot),
            fingerprint: fingerprint(req),
            seal,
            now,
        }))
    }

    /// When the record stops answering (and DynamoDB's TTL may remove it).
    pub fn expires_at(&self) -> i64 {
        self.now + LIFETIME_SECS
    }

    /// `answer` sealed for the record: a random nonce, then the ciphertext and its tag. The
    /// fingerprint travels inside, and the slot is bound as associated data.
    fn seal(&self, answer: &Answer) -> Result<Vec<u8>> {
        let plain = serde_json::to_vec(&Sealed {
            fingerprint: URL_SAFE_NO_PAD.encode(self.fingerprint),
            answer: answer.clone(),
        })
        .map_err(Error::internal)?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce).map_err(|_| Error::internal("no random nonce"))?;
        let mut in_out = plain;
        self.key()?
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(self.slot.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| Error::internal("sealing the answer failed"))?;
        let sealed = [nonce.as_slice(), &in_out].concat();
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(Error::internal("the answer is too large to keep"));
        }
        Ok(sealed)
    }

    /// The record's answer, opened with this claim's key: `IdempotencyKeyReused` when it
    /// answered another request. A record this claim cannot open is an internal error (the slot
    /// is the caller's and the key's, so only a corrupted record gets there).
    pub fn open(&self, sealed: &[u8]) -> Result<Answer> {
        if sealed.len() < NONCE_BYTES {
            return Err(Error::internal("stored answer too short"));
        }
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let mut buf = rest.to_vec();
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::internal("stored answer nonce"))?;
        let plain = self
            .key()?
            .open_in_place(nonce, aead::Aad::from(self.slot.as_bytes()), &mut buf)
            .map_err(|_| Error::internal("the stored answer does not open"))?;
        let sealed: Sealed = serde_json::from_slice(plain).map_err(Error::internal)?;
        if sealed.fingerprint != URL_SAFE_NO_PAD.encode(self.fingerprint) {
            return Err(Error::IdempotencyKeyReused);
        }
        Ok(sealed.answer)
    }

    fn key(&self) -> Result<aead::LessSafeKey> {
        aead::UnboundKey::new(&aead::AES_256_GCM, &self.seal)
            .map(aead::LessSafeKey::new)
            .map_err(|_| Error::internal("answer key"))
    }
}

fn expand(prk: &hkdf::Prk, label: &[u8]) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    prk.expand(&[label], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| Error::internal("hkdf"))?;
    Ok(out)
}

/// The key's bytes: a bare token or a structured-field string (`"…"`, RFC 8941), trimmed.
fn parse_key(raw: &[u8]) -> Result<&[u8]> {
    let trimmed = raw.trim_ascii();
    let key = match trimmed {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    if key.is_empty() {
        return Err(Error::invalid(FIELD, "must not be empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::invalid(FIELD, "must be at most 255 bytes"));
    }
    if !key
        .iter()
        .all(|b| b.is_ascii_graphic() && *b != b'"' && *b != b'\\')
    {
        return Err(Error::invalid(
            FIELD,
            "must be visible ASCII without quotes or backslashes",
        ));
    }
    Ok(key)
}

/// What makes two requests "the same request": method, path, query (its parameters in any
/// order) and body. Headers are left out (a retry may carry a fresh token); each part is
/// length-prefixed, so no two requests share an encoding.
fn fingerprint(req: &Request) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let body: &[u8] = req.body().as_ref();
    let mut params: Vec<&str> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    params.sort_unstable();
    let query = params.join("&");
    for part in [
        req.method().as_str().as_bytes(),
        req.uri().path().as_bytes(),
        query.as_bytes(),
        body,
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(rename = "f")]
    fingerprint: String,
    #[serde(rename = "a")]
    answer: Answer,
}

/// An answer as kept: status, content type and body (idlink's answers are text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(rename = "s")]
    pub status: u16,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(rename = "b", default)]
    pub body: String,
}

impl Answer {
    pub fn of(resp: &Response<Body>) -> Self {
        Self {
            status: resp.status().as_u16(),
            content_type: resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: match resp.body() {
                Body::Empty => String::new(),
                Body::Text(t) => t.clone(),
                Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            },
        }
    }

    /// The answer again, marked as a replay.
    pub fn replay(&self) -> Response<Body> {
        let mut resp = self.response();
        resp.headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        resp
    }

    /// The answer as first given.
    pub fn response(&self) -> Response<Body> {
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Text(self.body.clone())
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let h = resp.headers_mut();
        if let Some(v) = self
            .content_type
            .as_deref()
            .and_then(|t| HeaderValue::from_str(t).ok())
        {
            h.insert(header::CONTENT_TYPE, v);
        }
        resp
    }
}

/// A record as the store keeps it: the sealed answer under the claim's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub slot: String,
    pub sealed: Vec<u8>,
    /// When the request arrived: a record whose `expires_at` is past this may be replaced.
    pub at: i64,
    pub expires_at: i64,
}

type RenderFn = dyn Fn(&dyn Any) -> Result<Answer> + Send + Sync;

/// A claim with how its answer is made from the change's outcome: what a keyed change carries
/// to the store (in its [`crate::audit::Audit`]), so that the store writes the answer in the
/// change's own write.
#[derive(Clone)]
pub struct Once {
    pub claim: Claim,
    render: Render,
    /// The answer last made for a write: the one to give if that write succeeds (an answer
    /// made from an outcome may differ between two makings, as a token's id does).
    made: Arc<Mutex<Option<Answer>>>,
}

#[derive(Clone)]
enum Render {
    Fixed(Answer),
    Outcome(Arc<RenderFn>),
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("claim", &self.claim).finish()
    }
}

/// Two changes are the same change whatever their answers are made with.
impl PartialEq for Once {
    fn eq(&self, other: &Self) -> bool {
        self.claim == other.claim
    }
}
impl Eq for Once {}

impl Once {
    /// A change whose answer does not depend on how it went (`204`, a fixed message).
    pub fn fixed(claim: Claim, answer: &Response<Body>) -> Self {
        Self {
            claim,
            render: Render::Fixed(Answer::of(answer)),
            made: Arc::default(),
        }
    }

    /// A change answered from its outcome, of type `T` (what the store's call returns).
    pub fn from_outcome<T: Any>(
        claim: Claim,
        render: impl Fn(&T) -> Result<Response<Body>> + Send + Sync + 'static,
    ) -> Self {
        let render = move |outcome: &dyn Any| match outcome.downcast_ref::<T>() {
            Some(o) => render(o).map(|r| Answer::of(&r)),
            None => Err(Error::internal(
                "idempotency: the outcome is not the one the answer is made from",
            )),
        };
        Self {
            claim,
            render: Render::Outcome(Arc::new(render)),
            made: Arc::default(),
        }
    }

    /// What gives the answer made for the write, once the change is done.
    pub fn kept(&self) -> Kept {
        Kept(Some(Arc::clone(&self.made)))
    }

    /// The record to write with the change that had `outcome`.
    pub fn record(&self, outcome: &dyn Any) -> Result<Record> {
        let answer = match &self.render {
            Render::Fixed(a) => a.clone(),
            Render::Outcome(f) => f(outcome)?,
        };
        let sealed = self.claim.seal(&answer)?;
        if let Ok(mut made) = self.made.lock() {
            *made = Some(answer);
        }
        Ok(Record {
            slot: self.claim.slot.clone(),
            sealed,
            at: self.claim.now,
            expires_at: self.claim.expires_at(),
        })
    }
}

/// The answer a keyed change made and kept, if it did (see [`Once::kept`]); empty without a key.
#[derive(Default)]
pub struct Kept(Option<Arc<Mutex<Option<Answer>>>>);

impl Kept {
    /// The kept answer, or `answer()` when nothing was kept (no key).
    pub fn or_else(
        self,
        answer: impl FnOnce() -> Result<Response<Body>>,
    ) -> Result<Response<Body>> {
        let made = self
            .0
            .and_then(|cell| cell.lock().ok().and_then(|mut a| a.take()));
        match made {
            Some(a) => Ok(a.response()),
            None => answer(),
        }
    }
}

#[cfg(test)]
mod tests;
