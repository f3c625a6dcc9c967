//! The store: one trait per capability, domain types in and out. No `AttributeValue` crosses here.
//! Each function depends on exactly the traits its IAM policy allows.

use std::future::Future;

use crate::client::{ClientId, Project, ServerClient};
use crate::error::Result;
use crate::identity::{ExternalAccountId, ProjectId, UserId};
use crate::user::{LoginCommand, LoginOutcome, UserWithIdentities};

pub mod dynamo;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
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

    /// The user's current session version; `None` if the user is gone (merged or never existed).
    fn session_version(&self, id: UserId) -> impl Future<Output = Result<Option<u64>>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// The same pair was already linked: nothing was written.
    AlreadyLinked,
}

/// Linking an identity a user may hold only one of. Invariant 2 of DESIGN.md: the value belongs
/// to at most one user, a user holds at most one, re-linking the same pair changes nothing.
pub trait LinkStore: Send + Sync {
    /// `NotFound` for an unknown, merged or foreign-project user; `IdentityTaken` when another
    /// user holds the value; `DifferentIdentityLinked` when the user holds another one.
    fn link_external_id(
        &self,
        project: ProjectId,
        user: UserId,
        external: &ExternalAccountId,
        now: i64,
    ) -> impl Future<Output = Result<LinkOutcome>> + Send;
}
