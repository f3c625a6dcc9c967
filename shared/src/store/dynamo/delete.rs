//! Deleting a user: the profile, every item under its partition and the marker of each identity
//! go in ONE transaction, so there is no state between steps for a crash to leave behind.
//!
//! Why one transaction always fits: a user holds at most `MAX_IDENTITIES_PER_USER` identities
//! (every link, login and merge counts against it in the write that adds one), so its partition
//! is the profile plus at most that many identity items, and each identity adds one marker: at
//! most 2 × 32 + 1 = 65 deletes, under DynamoDB's 100 (proved below at compile time).
//!
//! Why it is safe against concurrent writers: the profile's delete is conditioned on the version
//! read (and on it not being a tombstone), and every write that adds or moves an identity bumps
//! that version in its own transaction; each marker's delete is conditioned on it still pointing
//! at this user. Anything that changed in between cancels the whole transaction, and it is
//! planned again from a fresh read (`retrying`). A crash before the commit leaves the user as it
//! was; after it, nothing of the user is left — so no marker can block an ID for good.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use super::items::{
    Item, PROFILE, identity_from_item, key, marker_key, n, profile_key, req_s, s, user_from_item,
    user_pk,
};
use super::{DynamoStore, Retry, SAME_VERSION, STILL_EXISTS, TxOutcome, retrying};
use crate::error::{Error, Result};
use crate::identity::{ProjectId, UserId};
use crate::store::DeleteStore;
use crate::store::accounts::MAX_IDENTITIES_PER_USER;

/// DynamoDB's cap on the items of one `TransactWriteItems`.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// The most items deleting one user takes: each identity's marker and identity item, plus the
/// profile.
const LARGEST_DELETE: usize = 2 * MAX_IDENTITIES_PER_USER + 1;
const _: () = assert!(LARGEST_DELETE <= MAX_TRANSACTION_ITEMS);

/// The marker still points at the user being deleted.
const STILL_OWNED_BY_USER: &str = "user_id = :uid";

impl DynamoStore {
    /// A delete inside a transaction whose condition binds `values`.
    fn delete_where(
        &self,
        key: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

impl DeleteStore for DynamoStore {
    async fn delete_user(&self, project: ProjectId, id: UserId) -> Result<()> {
        retrying("delete", || async {
            let items = self.partition(id).await?;
            let profile = items
                .iter()
                .find(|i| req_s(i, "SK").is_ok_and(|sk| sk == PROFILE))
                .map(user_from_item)
                .transpose()?
                .flatten()
                .filter(|u| u.project == project)
                .ok_or(Error::NotFound)?;
            let owner = HashMap::from([(":uid".to_owned(), s(id.to_string()))]);
            let mut writes = Vec::with_capacity(2 * items.len());
            for item in &items {
                let sk = req_s(item, "SK")?;
                if sk == PROFILE {
                    continue;
                }
                if sk.starts_with("IDENT#") {
                    let identity = identity_from_item(item)?;
                    writes.push(self.delete_where(
                        marker_key(project, &identity),
                        STILL_OWNED_BY_USER,
                        owner.clone(),
                    )?);
                }
                writes.push(self.delete(key(user_pk(id), sk), STILL_EXISTS)?);
            }
            if writes.len() >= MAX_TRANSACTION_ITEMS {
                return Err(Error::internal(
                    "a user holds more items than one transaction deletes",
                ));
            }
            writes.push(self.delete_where(
                profile_key(id),
                SAME_VERSION,
                HashMap::from([(":ver".to_owned(), n(profile.version))]),
            )?);
            match self.transact(writes).await? {
                TxOutcome::Done => Ok(Retry::Done(())),
                // A login, link or merge changed the user meanwhile: decide again.
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
