//! Looking users up by the IDs they are known by, many at once (Xsolla's `linking_info` and
//! attributes by custom ID, Auth0's exact user search). Answers come from the uniqueness markers,
//! which every link, merge, unlink and delete rewrites in its own transaction, so the next lookup
//! sees it: nothing here is eventually consistent.

use std::collections::HashMap;
use std::future::Future;

use crate::error::Result;
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::user::User;

/// DynamoDB's cap on the keys of one `BatchGetItem`: longer lists are read in calls of this many.
pub const MAX_KEYS_PER_BATCH: usize = 100;

pub trait LookupStore: Send + Sync {
    /// For each identity, in the order given, the user of `project` holding it (its marker), or
    /// `None`. A marker's key holds its project, so another project's users are never seen.
    fn owners(
        &self,
        project: ProjectId,
        identities: &[IdentityKey],
    ) -> impl Future<Output = Result<Vec<Option<UserId>>>> + Send;

    /// The live users of `project` among `ids` (profiles only, without identities), by id: an
    /// unknown, merged-away or foreign-project id is left out.
    fn profiles(
        &self,
        project: ProjectId,
        ids: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, User>>> + Send;
}

/// For each identity, in the order given, the live user of `project` holding it: the markers in
/// one batched read, then the profiles of the users found in another (none when nobody was).
pub async fn holders<S: LookupStore>(
    store: &S,
    project: ProjectId,
    identities: &[IdentityKey],
) -> Result<Vec<Option<User>>> {
    let owners = store.owners(project, identities).await?;
    let mut ids: Vec<UserId> = owners.iter().flatten().copied().collect();
    ids.sort();
    ids.dedup();
    let profiles = if ids.is_empty() {
        HashMap::new()
    } else {
        store.profiles(project, &ids).await?
    };
    Ok(owners
        .into_iter()
        .map(|owner| owner.and_then(|id| profiles.get(&id).cloned()))
        .collect())
}
