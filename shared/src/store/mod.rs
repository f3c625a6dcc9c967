//! The store: one trait per capability, domain types in and out. No `AttributeValue` crosses here.
//! Each function depends on exactly the traits its IAM policy allows.

use std::future::Future;

use crate::audit::{Audit, LogPage, LogQuery};
use crate::client::{ClientId, Project, ServerClient};
use crate::error::{Error, Result};
use crate::identity::{ExternalAccountId, IdentityKey, ProjectId, Provider, Subject, UserId};
use crate::partner::ApiKeyHash;
use crate::user::{LoginCommand, LoginOutcome, Session, User, UserWithIdentities};

pub mod accounts;
pub mod custom_id;
pub mod dynamo;
pub mod lookups;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod profile;
pub mod schema;

/// Projects and server clients: written by the admin command, read by the token endpoint.
pub trait ClientStore: Send + Sync {
    fn put_project(&self, project: &Project) -> impl Future<Output = Result<()>> + Send;
    fn get_project(&self, id: ProjectId) -> impl Future<Output = Result<Option<Project>>> + Send;
    fn put_client(&self, client: &ServerClient) -> impl Future<Output = Result<()>> + Send;
    fn get_client(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<ServerClient>>> + Send;
}

/// Login by custom ID: creates the user on first login. Implementations hold invariants 1 and 3
/// of DESIGN.md: an identity belongs to at most one user, and concurrent first logins with one
/// custom ID create exactly one user while every caller gets that user.
pub trait LoginStore: Send + Sync {
    fn login(&self, cmd: &LoginCommand) -> impl Future<Output = Result<LoginOutcome>> + Send;
}

/// Reading users.
pub trait UserStore: Send + Sync {
    /// The live user with its identities; `None` if it does not exist, was merged away, or
    /// belongs to another project (invariant 6: answer as if it did not exist).
    fn get_user(
        &self,
        project: ProjectId,
        id: UserId,
    ) -> impl Future<Output = Result<Option<UserWithIdentities>>> + Send;

    /// What the user's tokens are checked against (its session version and ban), in one read;
    /// `None` if the user is gone (merged, deleted or never existed).
    fn session(&self, id: UserId) -> impl Future<Output = Result<Option<Session>>> + Send;

    /// The user's current session version; `None` if the user is gone.
    fn session_version(&self, id: UserId) -> impl Future<Output = Result<Option<u64>>> + Send {
        async move { Ok(self.session(id).await?.map(|s| s.version)) }
    }

    /// Who holds an identity in a project (its uniqueness marker), if anyone.
    fn owner_of(
        &self,
        project: ProjectId,
        identity: &IdentityKey,
    ) -> impl Future<Output = Result<Option<UserId>>> + Send;
}

/// Partner API keys, stored only as hashes.
pub trait ApiKeyStore: Send + Sync {
    fn put_api_key(
        &self,
        key: &ApiKeyHash,
        project: ProjectId,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The project an API key belongs to.
    fn api_key_project(
        &self,
        key: &ApiKeyHash,
    ) -> impl Future<Output = Result<Option<ProjectId>>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// The same pair was already linked: nothing was written.
    AlreadyLinked,
}

/// The identities a user may hold only one of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleKind {
    /// Xsolla's external account ID (`external_id` on the profile).
    ExternalId,
    /// A partner identifier, stored only as its keyed hash (`partner_id` on the profile).
    Partner,
}

impl SingleKind {
    pub fn provider(self) -> Provider {
        match self {
            SingleKind::ExternalId => Provider::external_id(),
            SingleKind::Partner => Provider::partner(),
        }
    }

    /// The profile attribute holding the user's one value.
    pub fn profile_attribute(self) -> &'static str {
        match self {
            SingleKind::ExternalId => "external_id",
            SingleKind::Partner => "partner_id",
        }
    }

    /// The request field that names it, for errors.
    pub fn field(self) -> &'static str {
        match self {
            SingleKind::ExternalId => "external_account_id",
            SingleKind::Partner => "identifier",
        }
    }
}

/// Links one identity of a one-per-user kind to a user.
#[derive(Debug, Clone)]
pub struct SingleLink {
    pub project: ProjectId,
    pub user: UserId,
    pub kind: SingleKind,
    pub subject: Subject,
    /// For links made with the user's own token: the token's session version, checked in the same
    /// write, so a token ended by `with_logout`, unlink or merge cannot link anything.
    pub session: Option<u64>,
    pub now: i64,
    /// Who asked, for the audit record written with the link.
    pub by: Audit,
}

impl SingleLink {
    pub fn external_id(project: ProjectId, user: UserId, id: &ExternalAccountId, now: i64) -> Self {
        Self {
            project,
            user,
            kind: SingleKind::ExternalId,
            subject: IdentityKey::external_id(id).subject,
            session: None,
            now,
            by: Audit::internal(),
        }
    }

    /// The same link, recorded as asked by `by`.
    pub fn by(self, by: Audit) -> Self {
        Self { by, ..self }
    }

    pub fn identity(&self) -> IdentityKey {
        IdentityKey {
            provider: self.kind.provider(),
            subject: self.subject.clone(),
        }
    }
}

/// Linking an identity a user may hold only one of. Invariant 2 of DESIGN.md: the value belongs
/// to at most one user, a user holds at most one, re-linking the same pair changes nothing.
pub trait LinkStore: Send + Sync {
    /// One conditional write. `NotFound` for an unknown, merged or foreign-project user;
    /// `InvalidToken(Revoked)` when `session` is no longer the user's; `IdentityTaken` when
    /// another user holds the value; `DifferentIdentityLinked` when the user holds another one.
    fn link_single(&self, link: &SingleLink) -> impl Future<Output = Result<LinkOutcome>> + Send;
}

/// The answer a link gets from the current state, shared with the memory store's rules:
/// `Ok(true)` already linked (same pair), `Ok(false)` free to link, or the refusal.
pub(crate) fn link_verdict(
    link: &SingleLink,
    profile: &User,
    owner: Option<UserId>,
) -> Result<bool> {
    if link.session.is_some_and(|sv| sv != profile.session_version) {
        return Err(Error::InvalidToken(crate::error::TokenProblem::Revoked));
    }
    let held = match link.kind {
        SingleKind::ExternalId => profile.external_id.as_deref(),
        SingleKind::Partner => profile.partner_id.as_deref(),
    };
    let value = link.subject.as_str();
    match owner {
        Some(o) if o == link.user && held == Some(value) => Ok(true),
        Some(o) if o != link.user => Err(Error::IdentityTaken),
        _ if held.is_some_and(|h| h != value) => {
            Err(Error::DifferentIdentityLinked(link.kind.field()))
        }
        _ => Ok(false),
    }
}

/// A server's write of a user's attributes, the user found by its custom ID (Xsolla's
/// "write attributes by custom ID"): `set` written and `remove` removed in one write.
#[derive(Debug, Clone)]
pub struct AttributeWrite {
    pub project: ProjectId,
    pub custom_id: crate::identity::CustomId,
    set: Vec<crate::attribute::Attribute>,
    remove: Vec<String>,
    pub now: i64,
    /// Who asked, for the audit record written with the change.
    pub by: Audit,
}

impl AttributeWrite {
    /// A key both written and removed is kept: it leaves `remove`.
    pub fn new(
        project: ProjectId,
        custom_id: crate::identity::CustomId,
        set: Vec<crate::attribute::Attribute>,
        mut remove: Vec<String>,
        now: i64,
    ) -> Self {
        remove.retain(|k| !set.iter().any(|a| a.key() == k));
        Self {
            project,
            custom_id,
            set,
            remove,
            now,
            by: Audit::internal(),
        }
    }

    /// The same write, recorded as asked by `by`.
    pub fn by(self, by: Audit) -> Self {
        Self { by, ..self }
    }

    /// The keys it sets or removes, for its audit record (never the values).
    pub fn keys(&self) -> Vec<String> {
        self.set
            .iter()
            .map(|a| a.key().to_owned())
            .chain(self.remove.iter().cloned())
            .collect()
    }

    pub fn set(&self) -> &[crate::attribute::Attribute] {
        &self.set
    }

    pub fn remove(&self) -> &[String] {
        &self.remove
    }

    /// The user's attributes after this write, sorted by key; `TooManyAttributes` past
    /// [`crate::attribute::Attribute::MAX_PER_USER`].
    pub fn apply(
        &self,
        held: &[crate::attribute::Attribute],
    ) -> Result<Vec<crate::attribute::Attribute>> {
        let mut after: Vec<_> = held
            .iter()
            .filter(|a| {
                !self.remove.iter().any(|k| k == a.key())
                    && !self.set.iter().any(|s| s.key() == a.key())
            })
            .cloned()
            .collect();
        after.extend(self.set.iter().cloned());
        if after.len() > crate::attribute::Attribute::MAX_PER_USER {
            return Err(Error::TooManyAttributes);
        }
        after.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(after)
    }
}

/// Writing a user's attributes from the studio's server.
pub trait AttributeStore: Send + Sync {
    /// One conditional write on the live user holding the custom ID in the project: `NotFound`
    /// for an unknown custom ID, `TooManyAttributes` if the user would hold more than
    /// `Attribute::MAX_PER_USER`; on a refusal nothing is written.
    fn write_attributes(&self, write: &AttributeWrite) -> impl Future<Output = Result<()>> + Send;
}

/// Changing a user's custom ID (Xsolla's `PUT …/users/{user_id}/server_custom_id`).
pub use custom_id::{CustomIdChange, CustomIdOutcome};

/// Changing the custom ID a user logs in with. Invariant 1 of DESIGN.md: the new custom ID is
/// taken and the old one freed in one atomic step, conditioned on the user as read, so a custom
/// ID never belongs to two users and never to nobody halfway.
pub trait CustomIdStore: Send + Sync {
    /// `NotFound` for an unknown, merged or foreign-project user; `IdentityTaken` when another
    /// user holds the new custom ID (nothing is written); `Unchanged` when it is already the
    /// user's custom ID (nothing is written either).
    fn change_custom_id(
        &self,
        change: &CustomIdChange,
    ) -> impl Future<Output = Result<CustomIdOutcome>> + Send;
}

/// Deleting a user for good (GDPR art. 17; Auth0's and Xsolla's "delete user").
pub trait DeleteStore: Send + Sync {
    /// Removes the live user with everything it holds: its profile, every item under its
    /// partition, and the uniqueness marker of each identity, in one atomic step conditioned on
    /// the user as read (a concurrent login, link or merge makes it decide again). Afterwards its
    /// IDs are free and every token of the user fails its session check. `NotFound` for an
    /// unknown, merged-away or foreign-project user (a second delete included).
    ///
    /// The user's audit log goes with it: only a record of the deletion (when, who, which
    /// request; nothing about the user) is left.
    fn delete_user(
        &self,
        project: ProjectId,
        id: UserId,
        by: &Audit,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The answers kept for `Idempotency-Key` (see [`crate::idempotency`]). Changes write them
/// themselves, in their own write, from [`Audit::once`]; this reads one back.
pub trait OnceStore: Send + Sync {
    /// The record under `claim`'s slot, unless there is none or it has expired.
    fn recall(
        &self,
        claim: &crate::idempotency::Claim,
    ) -> impl Future<Output = Result<Option<crate::idempotency::Record>>> + Send;

    /// Keeps the answer of a keyed request that changed nothing and wrote nothing (an empty
    /// update), made from `outcome`; nothing without a key. `IdempotencyKeyReused` when a
    /// request with the key got there first.
    fn keep(
        &self,
        by: &Audit,
        outcome: &(dyn std::any::Any + Sync),
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Reading a user's audit log (`GET /api/v2/users/{id}/logs`).
pub trait AuditLogStore: Send + Sync {
    /// The page `query` asks for, newest first; only records of `project` (another project's
    /// user reads as an empty log).
    fn user_log(
        &self,
        project: ProjectId,
        user: UserId,
        query: LogQuery,
    ) -> impl Future<Output = Result<LogPage>> + Send;
}
