//! The audit log: every change writes one record per user it changes, in the same write as the
//! change (see docs/identity-model.md, "Audit log"). A record names when, what, which identities
//! (a partner identifier only as its keyed hash, which is its subject), who and the request.

use std::any::Any;

use crate::error::Result;
use crate::idempotency::{Once, Record};
use crate::identity::{IdentityKey, ProjectId, UserId};

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A server client, by its client id.
    Client(String),
    /// A player acting with its own token.
    User(UserId),
    /// idlink itself or an operator's tool (the admin command, tests).
    Internal,
}

impl Actor {
    /// The stored and answered form: `client_id` for Auth0's log entry, the user for user tokens.
    pub fn as_client_id(&self) -> Option<&str> {
        match self {
            Actor::Client(id) => Some(id),
            _ => None,
        }
    }
}

/// Who asked and which request carried it: what every change passes to the store for its
/// records, and, for a request with an `Idempotency-Key`, the answer to keep with the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub actor: Actor,
    pub request_id: String,
    /// The request's key and how its answer is made: the store writes that answer in the
    /// change's own write (see [`crate::idempotency`]). `None` without the header.
    pub once: Option<Box<Once>>,
}

impl Audit {
    /// Longest request id kept (API Gateway's are ~20 characters, Lambda's a UUID).
    pub const MAX_REQUEST_ID_CHARS: usize = 64;

    pub fn new(actor: Actor, request_id: &str) -> Self {
        // Only printable ASCII, bounded: the id comes from the platform, but is stored and shown.
        let request_id: String = request_id
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(Self::MAX_REQUEST_ID_CHARS)
            .collect();
        Self {
            actor,
            request_id,
            once: None,
        }
    }

    /// The same caller and request, keeping `once`'s answer with the change.
    pub fn once(self, once: Option<Once>) -> Self {
        Self {
            once: once.map(Box::new),
            ..self
        }
    }

    /// The idempotency record to write with a change that had `outcome` (the value the store's
    /// call returns), if the request came with a key.
    pub fn once_record(&self, outcome: &dyn Any) -> Result<Option<Record>> {
        self.once.as_ref().map(|o| o.record(outcome)).transpose()
    }

    /// A change made by idlink itself or an operator's tool, outside any request.
    pub fn internal() -> Self {
        Self {
            actor: Actor::Internal,
            request_id: String::new(),
            once: None,
        }
    }
}

impl Default for Audit {
    fn default() -> Self {
        Self::internal()
    }
}

/// What happened to the user whose log holds the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// First login by custom ID (or the standalone user an unlink creates).
    UserCreated,
    ExternalIdLinked,
    PartnerLinked,
    /// An identity attached by a link, or a social profile attached by a login.
    IdentityLinked,
    /// The primary of a merge: `other` is the secondary, `identities` moved in.
    Merged,
    /// The secondary of a merge: `other` is the primary, `identities` moved out.
    MergedAway,
    /// `other` is the standalone user now holding the identity.
    IdentityUnlinked,
    AttributesWritten,
    CustomIdChanged,
    /// The only record a deleted user keeps: no identities, no other user.
    Deleted,
    Banned,
    Unbanned,
    Blocked,
    Unblocked,
    MetadataUpdated,
}

impl AuditKind {
    pub const ALL: [AuditKind; 15] = [
        AuditKind::UserCreated,
        AuditKind::ExternalIdLinked,
        AuditKind::PartnerLinked,
        AuditKind::IdentityLinked,
        AuditKind::Merged,
        AuditKind::MergedAway,
        AuditKind::IdentityUnlinked,
        AuditKind::AttributesWritten,
        AuditKind::CustomIdChanged,
        AuditKind::Deleted,
        AuditKind::Banned,
        AuditKind::Unbanned,
        AuditKind::Blocked,
        AuditKind::Unblocked,
        AuditKind::MetadataUpdated,
    ];

    /// The stored name, also the log entry's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::UserCreated => "user_created",
            AuditKind::ExternalIdLinked => "external_id_linked",
            AuditKind::PartnerLinked => "partner_linked",
            AuditKind::IdentityLinked => "identity_linked",
            AuditKind::Merged => "user_merged",
            AuditKind::MergedAway => "user_merged_away",
            AuditKind::IdentityUnlinked => "identity_unlinked",
            AuditKind::AttributesWritten => "attributes_written",
            AuditKind::CustomIdChanged => "custom_id_changed",
            AuditKind::Deleted => "user_deleted",
            AuditKind::Banned => "user_banned",
            AuditKind::Unbanned => "user_unbanned",
            AuditKind::Blocked => "user_blocked",
            AuditKind::Unblocked => "user_unblocked",
            AuditKind::MetadataUpdated => "metadata_updated",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The log entry's `description`.
    pub fn description(self) -> &'static str {
        match self {
            AuditKind::UserCreated => "User created",
            AuditKind::ExternalIdLinked => "External account ID linked",
            AuditKind::PartnerLinked => "Partner identifier linked",
            AuditKind::IdentityLinked => "Identity linked",
            AuditKind::Merged => "Another user was merged into this user",
            AuditKind::MergedAway => "User merged into another user",
            AuditKind::IdentityUnlinked => "Identity unlinked",
            AuditKind::AttributesWritten => "Attributes written",
            AuditKind::CustomIdChanged => "Custom ID changed",
            AuditKind::Deleted => "User deleted",
            AuditKind::Banned => "User banned",
            AuditKind::Unbanned => "User unbanned",
            AuditKind::Blocked => "User blocked",
            AuditKind::Unblocked => "User unblocked",
            AuditKind::MetadataUpdated => "Metadata updated",
        }
    }
}

/// One record of a user's log: whose log, what happened, when, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The user whose log holds it.
    pub user: UserId,
    /// The user's project: a log reads only in it.
    pub project: ProjectId,
    pub what: What,
    pub when: When,
    /// Who asked, and the request that carried the change.
    pub by: Audit,
}

/// What a record says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct What {
    /// The log entry's `type`.
    pub kind: AuditKind,
    /// The identities the change is about (a partner identifier as its keyed hash).
    pub identities: Vec<IdentityKey>,
    /// The other user of a merge or an unlink.
    pub other: Option<UserId>,
    /// Attribute keys a write set or removed (keys only, never values).
    pub keys: Vec<String>,
}

/// When a record was written; ordered by time, then by its time-ordered id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct When {
    /// Unix seconds.
    pub at: i64,
    /// Time-ordered and unique: the log's sort key and Auth0's `log_id`.
    pub log_id: String,
}

impl AuditRecord {
    /// A record of `kind` on `user`, by `audit`'s caller, at `at`; add what it names with the
    /// builder methods. Each new record gets a fresh, time-ordered `log_id`.
    pub fn new(user: UserId, project: ProjectId, kind: AuditKind, audit: &Audit, at: i64) -> Self {
        Self {
            user,
            project,
            what: What {
                kind,
                identities: Vec::new(),
                other: None,
                keys: Vec::new(),
            },
            when: When {
                at,
                log_id: uuid::Uuid::now_v7().simple().to_string(),
            },
            by: audit.clone(),
        }
    }

    pub fn identities(mut self, identities: impl IntoIterator<Item = IdentityKey>) -> Self {
        self.what.identities = identities.into_iter().collect();
        self
    }

    pub fn identity(self, identity: &IdentityKey) -> Self {
        self.identities([identity.clone()])
    }

    pub fn other(mut self, other: UserId) -> Self {
        self.what.other = Some(other);
        self
    }

    pub fn keys(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.what.keys = keys.into_iter().collect();
        self
    }

    /// What a deletion leaves: when, who and the request, nothing about the user.
    pub fn deletion(user: UserId, project: ProjectId, audit: &Audit, at: i64) -> Self {
        Self::new(user, project, AuditKind::Deleted, audit, at)
    }
}

/// One page of a user's log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub records: Vec<AuditRecord>,
    /// Every record of the user, when asked for.
    pub total: Option<usize>,
}

/// Which page of a user's log to read: `start` records skipped, at most `limit` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogQuery {
    pub start: usize,
    pub limit: usize,
    pub with_total: bool,
}

impl LogQuery {
    /// Auth0's bounds: at most 100 per page, and no further than the 1000th entry.
    pub const MAX_PER_PAGE: usize = 100;
    pub const MAX_DEPTH: usize = 1000;
}

// ---- the records each change writes (shared by both stores) -----------------------------------

use crate::store::accounts::{LinkIdentity, Merge, Unlink};
use crate::store::{AttributeWrite, CustomIdChange, SingleKind, SingleLink};
use crate::user::LoginCommand;

impl LoginCommand {
    /// A first login created `user` with the custom ID (and the social profile, if any).
    pub fn created_record(&self, user: UserId) -> AuditRecord {
        let custom = IdentityKey::custom_id(&self.custom_id);
        AuditRecord::new(
            user,
            self.project,
            AuditKind::UserCreated,
            &self.by,
            self.now,
        )
        .identities(std::iter::once(custom).chain(self.social.clone()))
    }

    /// A returning login attached `social` to `user`.
    pub fn attached_record(&self, user: UserId, social: &IdentityKey) -> AuditRecord {
        AuditRecord::new(
            user,
            self.project,
            AuditKind::IdentityLinked,
            &self.by,
            self.now,
        )
        .identity(social)
    }
}

impl SingleLink {
    pub fn record(&self) -> AuditRecord {
        let kind = match self.kind {
            SingleKind::ExternalId => AuditKind::ExternalIdLinked,
            SingleKind::Partner => AuditKind::PartnerLinked,
        };
        AuditRecord::new(self.user, self.project, kind, &self.by, self.now)
            .identity(&self.identity())
    }
}

impl LinkIdentity {
    /// The identity was attached (nobody held it).
    pub fn record(&self) -> AuditRecord {
        AuditRecord::new(
            self.primary,
            self.project,
            AuditKind::IdentityLinked,
            &self.by,
            self.now,
        )
        .identity(&self.identity)
    }
}

impl Merge {
    /// One record in each user's log, both naming the identities that moved.
    pub fn records(&self, moved: &[IdentityKey]) -> [AuditRecord; 2] {
        let record = |user, kind, other| {
            AuditRecord::new(user, self.project, kind, &self.by, self.now)
                .identities(moved.iter().cloned())
                .other(other)
        };
        [
            record(self.primary, AuditKind::Merged, self.secondary),
            record(self.secondary, AuditKind::MergedAway, self.primary),
        ]
    }
}

impl Unlink {
    /// The primary's record of the identity leaving, and the standalone user's of its creation.
    pub fn records(&self, standalone: UserId) -> [AuditRecord; 2] {
        let record = |user, kind, other| {
            AuditRecord::new(user, self.project, kind, &self.by, self.now)
                .identity(&self.identity)
                .other(other)
        };
        [
            record(self.primary, AuditKind::IdentityUnlinked, standalone),
            record(standalone, AuditKind::UserCreated, self.primary),
        ]
    }
}

impl AttributeWrite {
    pub fn record(&self, user: UserId) -> AuditRecord {
        AuditRecord::new(
            user,
            self.project,
            AuditKind::AttributesWritten,
            &self.by,
            self.now,
        )
        .identity(&IdentityKey::custom_id(&self.custom_id))
        .keys(self.keys())
    }
}

impl CustomIdChange {
    /// Names the new custom ID and the one it replaced, if any.
    pub fn record(&self, old: Option<&IdentityKey>) -> AuditRecord {
        AuditRecord::new(
            self.user,
            self.project,
            AuditKind::CustomIdChanged,
            &self.by,
            self.now,
        )
        .identities(std::iter::once(IdentityKey::custom_id(&self.new)).chain(old.cloned()))
    }
}

impl From<&crate::token::ServerContext> for Actor {
    fn from(ctx: &crate::token::ServerContext) -> Self {
        Actor::Client(ctx.client_id.clone())
    }
}

impl From<&crate::token::Caller> for Actor {
    fn from(caller: &crate::token::Caller) -> Self {
        match caller {
            crate::token::Caller::Server(ctx) => ctx.into(),
            crate::token::Caller::User(u) | crate::token::Caller::Link(u) => Actor::User(u.user),
        }
    }
}
