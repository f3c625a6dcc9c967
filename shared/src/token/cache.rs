//! The verified-token cache of a [`super::TokenService`].

use super::{LEEWAY_SECONDS, ServerContext, VerifiedUser};
use crate::error::{Error, Result, TokenProblem};

/// Tokens this instance has already verified, with what they said: a studio's server sends the
/// same server token with every request for its hour, and a player's client its user token, so
/// a warm instance would otherwise repeat the same ES256 verification (most of the CPU of a
/// request that does little else; docs/performance.md) on the same bytes.
///
/// Sound because the answer depends only on the token's exact bytes (the whole string is the
/// key, signature included), the instance's key set (fixed for its lifetime) and the time,
/// which is checked again on every use: an entry past its `exp` (plus the leeway) answers
/// Expired as verification would. Only tokens that passed every check are kept; revocation of
/// user sessions is checked in the store after this, hit or miss. Bounded: at most
/// `MAX_ENTRIES` tokens of at most `MAX_TOKEN_BYTES`; when full, expired entries go, and if
/// none had, all do.
#[derive(Default)]
pub(super) struct VerifiedTokens {
    entries: std::sync::Mutex<std::collections::HashMap<Box<str>, (i64, Verified)>>,
}

#[derive(Clone)]
pub(super) enum Verified {
    Server(ServerContext),
    User(Box<VerifiedUser>),
}

impl VerifiedTokens {
    pub(super) const MAX_ENTRIES: usize = 1024;
    pub(super) const MAX_TOKEN_BYTES: usize = 4096;

    pub(super) fn get(&self, token: &str, now: i64) -> Result<Option<Verified>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(token) {
            None => Ok(None),
            Some((exp, _)) if Self::expired(*exp, now) => {
                Err(Error::InvalidToken(TokenProblem::Expired))
            }
            Some((_, verified)) => Ok(Some(verified.clone())),
        }
    }

    pub(super) fn put(&self, token: &str, exp: i64, now: i64, verified: Verified) {
        if token.len() > Self::MAX_TOKEN_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (exp, _)| !Self::expired(*exp, now));
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token.into(), (exp, verified));
    }

    /// jsonwebtoken's rule: expired once `exp` is more than the leeway in the past.
    fn expired(exp: i64, now: i64) -> bool {
        exp.saturating_add(LEEWAY_SECONDS as i64) < now
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}
