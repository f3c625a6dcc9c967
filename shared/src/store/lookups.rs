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

/// How often a lookup reads again the markers whose user went away between its two reads (a
/// merge, unlink or delete in between) before it answers "nobody".
pub const MAX_READS: usize = 3;

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
/// The two reads are not one snapshot: a marker whose user is gone by the second read was moved
/// meanwhile (a merge or unlink re-points it, a delete removes it), so it is read again.
pub async fn holders<S: LookupStore>(
    store: &S,
    project: ProjectId,
    identities: &[IdentityKey],
) -> Result<Vec<Option<User>>> {
    let mut answers = vec![None; identities.len()];
    let mut pending: Vec<usize> = (0..identities.len()).collect();
    for _ in 0..MAX_READS {
        let keys: Vec<IdentityKey> = pending.iter().map(|&i| identities[i].clone()).collect();
        let owners = store.owners(project, &keys).await?;
        let mut ids: Vec<UserId> = owners.iter().flatten().copied().collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            break;
        }
        let profiles = store.profiles(project, &ids).await?;
        let mut moved = Vec::new();
        for (i, owner) in pending.into_iter().zip(owners) {
            match owner.map(|id| profiles.get(&id)) {
                Some(Some(user)) => answers[i] = Some(user.clone()),
                Some(None) => moved.push(i),
                None => {}
            }
        }
        if moved.is_empty() {
            break;
        }
        pending = moved;
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserStore;
    use crate::store::accounts::LinkIdentity;
    use crate::testing::{ConcurrentWrite, WriteBetweenReads, login_social, seeded_memory_store};

    #[tokio::test]
    async fn a_merge_between_the_two_reads_answers_the_new_holder() {
        let (inner, seed) = seeded_memory_store().await;
        let project = seed.project.id;
        let primary = login_social(&inner, project, "a", None).await;
        let secondary = login_social(&inner, project, "b", Some(("steam", "7"))).await;
        let steam = IdentityKey::social("steam", &serde_json::json!("7")).unwrap();
        let merge = LinkIdentity {
            project,
            primary: primary.id,
            identity: steam.clone(),
            primary_session: None,
            now: 2,
            by: crate::audit::Audit::internal(),
        };
        let store = WriteBetweenReads::new(inner, ConcurrentWrite::Merge(merge));

        let found = holders(&store, project, &[steam]).await.unwrap();

        assert_eq!(found[0].as_ref().map(|u| u.id), Some(primary.id));
        let gone = store.inner.get_user(project, secondary.id).await.unwrap();
        assert!(
            gone.is_none(),
            "the first read did see the merged-away user"
        );
    }

    #[tokio::test]
    async fn a_delete_between_the_two_reads_answers_nobody() {
        let (inner, seed) = seeded_memory_store().await;
        let project = seed.project.id;
        let user = login_social(&inner, project, "a", Some(("steam", "7"))).await;
        let steam = IdentityKey::social("steam", &serde_json::json!("7")).unwrap();
        let store = WriteBetweenReads::new(inner, ConcurrentWrite::Delete(project, user.id));

        assert_eq!(holders(&store, project, &[steam]).await.unwrap(), [None]);
    }
}
