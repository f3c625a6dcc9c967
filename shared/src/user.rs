//! The user entity as the domain sees it.

use crate::attribute::Attribute;
use crate::audit::Audit;
use crate::identity::{CustomId, IdentityKey, Nickname, ProjectId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub project: ProjectId,
    /// The custom ID the user logs in with (the identity a login rests on).
    pub custom_id: Option<CustomId>,
    pub nickname: Option<Nickname>,
    pub external_id: Option<String>,
    /// The keyed hash of the user's partner identifier (never the identifier itself).
    pub partner_id: Option<String>,
    pub attributes: Vec<Attribute>,
    /// Bumped by `with_logout=1`, unlink and merge; tokens carrying an older value are dead.
    pub session_version: u64,
    /// Optimistic-lock counter, bumped by every write to the profile.
    pub version: u64,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: i64,
    /// A ban (Xsolla) or block (Auth0), held or scheduled; `None` when there is none.
    pub ban: Option<Ban>,
}

/// A ban: from `from` (inclusive) until `to` (exclusive), or for good without `to`. While it
/// holds, the user cannot log in and every token of the user is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// Unix seconds.
    pub from: i64,
    pub to: Option<i64>,
    pub reason: Option<String>,
}

impl Ban {
    /// Xsolla's limit on `reason`, in characters.
    pub const MAX_REASON_CHARS: usize = 255;

    pub fn holds_at(&self, now: i64) -> bool {
        self.from <= now && self.to.is_none_or(|to| now < to)
    }

    /// As Xsolla's `ban` object shows it (`GET /users/me`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "date_from": rfc3339(self.from),
            "date_to": self.to.map(rfc3339),
            "reason": self.reason,
        })
    }

    /// Over for good: its `to` has passed.
    pub fn is_over_at(&self, now: i64) -> bool {
        self.to.is_some_and(|to| to <= now)
    }
}

/// What a token's session is checked against: the user's session version and its ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub version: u64,
    pub ban: Option<Ban>,
}

impl Session {
    pub fn banned_at(&self, now: i64) -> bool {
        self.ban.as_ref().is_some_and(|b| b.holds_at(now))
    }
}

impl User {
    pub fn session(&self) -> Session {
        Session {
            version: self.session_version,
            ban: self.ban.clone(),
        }
    }

    pub fn banned_at(&self, now: i64) -> bool {
        self.ban.as_ref().is_some_and(|b| b.holds_at(now))
    }
}

/// A user with every identity it holds, as one Query of its partition returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithIdentities {
    pub user: User,
    pub identities: Vec<IdentityKey>,
}

/// What a login by custom ID asks of the store, already parsed.
#[derive(Debug, Clone)]
pub struct LoginCommand {
    pub project: ProjectId,
    pub custom_id: CustomId,
    pub nickname: Option<Nickname>,
    pub attributes: Vec<Attribute>,
    /// A social profile to link to the user; refused if another user holds it.
    pub social: Option<IdentityKey>,
    /// `with_logout=1`: bump the session version so every earlier token dies.
    pub end_other_sessions: bool,
    /// Unix seconds.
    pub now: i64,
    /// Who asked, for the audit record of a user created or an identity attached.
    pub by: Audit,
}

impl LoginCommand {
    /// A plain login: no profile changes, no social profile, other sessions kept.
    pub fn new(project: ProjectId, custom_id: CustomId, now: i64) -> Self {
        Self {
            project,
            custom_id,
            nickname: None,
            attributes: Vec::new(),
            social: None,
            end_other_sessions: false,
            now,
            by: Audit::internal(),
        }
    }
}

impl LoginCommand {
    /// What a returning login changes on its user's profile.
    pub fn apply_to(&self, user: &mut User) {
        user.last_login = self.now;
        user.updated_at = self.now;
        user.version += 1;
        if self.end_other_sessions {
            user.session_version += 1;
        }
        if let Some(nick) = &self.nickname {
            user.nickname = Some(nick.clone());
        }
        for a in &self.attributes {
            user.attributes.retain(|x| x.key() != a.key());
            user.attributes.push(a.clone());
        }
        user.attributes.sort_by(|a, b| a.key().cmp(b.key()));
    }
}

impl LoginCommand {
    /// The user a first login creates: the custom ID and the profile the login carries (an
    /// attribute named twice keeps its last value), version 1, every time `now`.
    pub fn new_user(&self) -> User {
        let mut attributes: Vec<Attribute> = Vec::with_capacity(self.attributes.len());
        for a in &self.attributes {
            attributes.retain(|x| x.key() != a.key());
            attributes.push(a.clone());
        }
        attributes.sort_by(|a, b| a.key().cmp(b.key()));
        User {
            id: UserId::new_random(),
            project: self.project,
            custom_id: Some(self.custom_id.clone()),
            nickname: self.nickname.clone(),
            external_id: None,
            partner_id: None,
            attributes,
            session_version: 0,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
            last_login: self.now,
            ban: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub user: User,
    pub created: bool,
}

/// Unix seconds as RFC 3339 (`2026-11-23T08:00:00Z`), the form Xsolla and Auth0 answer times in.
pub fn rfc3339(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
