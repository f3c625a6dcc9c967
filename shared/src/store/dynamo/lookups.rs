//! Batched lookups: the markers of many identities, then the profiles of their users, each read
//! with consistent `BatchGetItem` calls of at most 100 keys (`DynamoStore::batch_get`).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::DynamoStore;
use super::items::{marker_key, marker_pk, owner_of, profile_key, user_from_item};
use crate::error::Result;
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::lookups::LookupStore;
use crate::user::User;

impl LookupStore for DynamoStore {
    async fn owners(
        &self,
        project: ProjectId,
        identities: &[IdentityKey],
    ) -> Result<Vec<Option<UserId>>> {
        let mut seen = HashSet::with_capacity(identities.len());
        let keys = identities
            .iter()
            .filter(|i| seen.insert(marker_pk(project, i)))
            .map(|i| marker_key(project, i))
            .collect();
        let found = self.batch_get(keys).await?;
        identities
            .iter()
            .map(|i| found.get(&marker_pk(project, i)).map(owner_of).transpose())
            .collect()
    }

    async fn profiles(&self, project: ProjectId, ids: &[UserId]) -> Result<HashMap<UserId, User>> {
        let unique: BTreeSet<UserId> = ids.iter().copied().collect();
        let found = self
            .batch_get(unique.into_iter().map(profile_key).collect())
            .await?;
        let mut users = HashMap::with_capacity(found.len());
        for item in found.values() {
            if let Some(user) = user_from_item(item)?.filter(|u| u.project == project) {
                users.insert(user.id, user);
            }
        }
        Ok(users)
    }
}
