//! Deleting a user: the profile, every item under its partition and the marker of each identity
//! go in ONE transaction, with the record of the deletion, so there is no state between those
//! steps for a crash to leave behind.
//!
//! The user's audit log (`LOG#<uid>`, unbounded) cannot fit that transaction, so the order of
//! writes is: (1) read the user (its version); (2) delete every record of its log, and of the
//! logs of the users merged into it (they name identities that are now its own); (3) the
//! transaction, conditioned on the version read, that deletes the user and puts the deletion
//! record (when, who, which request; nothing about the user). Every audited change bumps the
//! version in the same write as its record, so a record written after (1) cancels (3), and the
//! whole delete runs again from (1), purging that record too. A crash between (2) and (3)
//! leaves the user as it was, minus its history; the client's retry finishes the delete. After
//! (3) the log holds the deletion record only.
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

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use super::items::{
    Item, PROFILE, identity_from_item, key, marker_key, n, profile_key, req_s, s, user_from_item,
    user_pk,
};
use super::{DynamoStore, Retry, SAME_VERSION, STILL_EXISTS, TxOutcome, retrying};
use crate::audit::{Audit, AuditRecord};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::identity::{ProjectId, UserId};
use crate::store::DeleteStore;
use crate::store::accounts::MAX_IDENTITIES_PER_USER;

/// DynamoDB's cap on the items of one `TransactWriteItems`.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// The most items deleting one user takes: each identity's marker and identity item, the
/// profile, and the deletion record.
const LARGEST_DELETE: usize = 2 * MAX_IDENTITIES_PER_USER + 2;
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

impl DynamoStore {
    /// Step (2): the user's log, then the logs of every user merged into it, transitively.
    async fn purge_logs(&self, id: UserId) -> Result<()> {
        let mut pending = vec![id];
        let mut seen = HashSet::new();
        while let Some(user) = pending.pop() {
            if seen.insert(user) {
                pending.extend(self.purge_log(user).await?);
            }
        }
        Ok(())
    }
}

impl DeleteStore for DynamoStore {
    async fn delete_user(&self, project: ProjectId, id: UserId, by: &Audit) -> Result<()> {
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
            self.purge_logs(id).await?;
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
            writes.push(self.audit(&AuditRecord::deletion(id, project, by, now()))?);
            // Room for the profile's delete, and for an idempotency record.
            if writes.len() + usize::from(by.once.is_some()) >= MAX_TRANSACTION_ITEMS {
                return Err(Error::internal(
                    "a user holds more items than one transaction deletes",
                ));
            }
            writes.push(self.delete_where(
                profile_key(id),
                SAME_VERSION,
                HashMap::from([(":ver".to_owned(), n(profile.version))]),
            )?);
            match self.transact_once(writes, by, &()).await? {
                TxOutcome::Done => Ok(Retry::Done(())),
                // A login, link or merge changed the user meanwhile: decide again.
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
