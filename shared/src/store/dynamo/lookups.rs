//! Batched lookups: the markers of many identities, then the profiles of their users, each read
//! with consistent `BatchGetItem` calls of at most 100 keys. Keys DynamoDB leaves unprocessed
//! (throttling, or the 16 MB cap on one answer) are asked again after a pause; only a batch that
//! keeps making no progress answers "retry later".

use std::collections::{BTreeSet, HashMap, HashSet};

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::items::{Item, marker_key, marker_pk, owner_of, profile_key, req_s, user_from_item};
use super::{DynamoStore, MAX_ATTEMPTS, backoff, store_error};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::lookups::{LookupStore, MAX_KEYS_PER_BATCH};
use crate::user::User;

impl DynamoStore {
    /// Every item of `keys` that exists, by its `PK`. `keys` must not repeat a key (DynamoDB
    /// refuses a batch that does).
    async fn batch_get_all(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_KEYS_PER_BATCH) {
            let mut pending = chunk.to_vec();
            let mut stalled = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(Error::internal)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(store_error)?;
                let items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                let progressed = !items.is_empty();
                for item in items {
                    found.insert(req_s(&item, "PK")?.to_owned(), item);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                stalled = if progressed { 0 } else { stalled + 1 };
                if stalled >= MAX_ATTEMPTS {
                    return Err(Error::Unavailable(
                        "a batch read kept leaving keys unprocessed".into(),
                    ));
                }
                backoff(stalled).await;
            }
        }
        Ok(found)
    }
}

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
        let found = self.batch_get_all(keys).await?;
        identities
            .iter()
            .map(|i| found.get(&marker_pk(project, i)).map(owner_of).transpose())
            .collect()
    }

    async fn profiles(&self, project: ProjectId, ids: &[UserId]) -> Result<HashMap<UserId, User>> {
        let unique: BTreeSet<UserId> = ids.iter().copied().collect();
        let found = self
            .batch_get_all(unique.into_iter().map(profile_key).collect())
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
