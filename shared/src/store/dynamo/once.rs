//! `Idempotency-Key` records (see crate::idempotency): `ONCE#<slot>` / `ONCE`, holding the sealed
//! first answer and `expires_at` (the table's TTL attribute). A keyed change adds the record's
//! put to its own transaction ([`DynamoStore::transact_once`]); a keyed request that changes
//! nothing (a repeated link) writes the record alone ([`DynamoStore::remember`]).

use std::any::Any;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::items::{Item, n, s};
use super::{DynamoStore, TxOutcome, store_error};
use crate::audit::Audit;
use crate::error::{Error, Result};
use crate::idempotency::{Claim, Record};
use crate::store::OnceStore;
use crate::store::schema::TTL_ATTRIBUTE;

const ONCE_SK: &str = "ONCE";
/// Free, or held by a record that has expired (DynamoDB's TTL deletes late, up to days).
const FREE_OR_EXPIRED: &str = "attribute_not_exists(PK) OR #exp < :at";

fn once_key(slot: &str) -> Item {
    Item::from([
        ("PK".to_owned(), s(format!("ONCE#{slot}"))),
        ("SK".to_owned(), s(ONCE_SK)),
    ])
}

impl DynamoStore {
    fn once_put(&self, record: &Record) -> Result<Put> {
        let mut item = once_key(&record.slot);
        item.insert(
            "answer".into(),
            AttributeValue::B(Blob::new(record.sealed.clone())),
        );
        item.insert("at".into(), n(record.at));
        item.insert(TTL_ATTRIBUTE.into(), n(record.expires_at));
        Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(FREE_OR_EXPIRED)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":at", n(record.at))
            .build()
            .map_err(Error::internal)
    }

    /// Runs a change's transaction `items`, with the idempotency record of its `outcome` when
    /// the request came with a key. `IdempotencyKeyReused` when that record's slot is taken: a
    /// request with the same key got there first (the HTTP edge answers what it wrote).
    pub(super) async fn transact_once(
        &self,
        mut items: Vec<TransactWriteItem>,
        by: &Audit,
        outcome: &(dyn Any + Sync),
    ) -> Result<TxOutcome> {
        let Some(record) = by.once_record(outcome)? else {
            return self.transact(items).await;
        };
        items.push(
            TransactWriteItem::builder()
                .put(self.once_put(&record)?)
                .build(),
        );
        let index = items.len() - 1;
        match self.transact(items).await? {
            TxOutcome::ConditionFailed(failed) if failed.contains(&index) => {
                Err(Error::IdempotencyKeyReused)
            }
            other => Ok(other),
        }
    }

    /// Keeps the answer of a keyed request that changed nothing (so that a replay answers it
    /// even if the state has moved on since).
    pub(super) async fn remember(&self, by: &Audit, outcome: &(dyn Any + Sync)) -> Result<()> {
        let Some(record) = by.once_record(outcome)? else {
            return Ok(());
        };
        let put = self.once_put(&record)?;
        match self
            .client()
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(Error::IdempotencyKeyReused)
            }
            Err(e) => Err(store_error(e)),
        }
    }
}

impl OnceStore for DynamoStore {
    async fn recall(&self, claim: &Claim) -> Result<Option<Record>> {
        let Some(item) = self.get(once_key(&claim.slot)).await? else {
            return Ok(None);
        };
        let expires_at = match item.get(TTL_ATTRIBUTE) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().map_err(Error::internal)?,
            _ => return Err(Error::internal("idempotency record without expires_at")),
        };
        if expires_at < claim.now {
            return Ok(None);
        }
        let sealed = match item.get("answer") {
            Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
            _ => return Err(Error::internal("idempotency record without answer")),
        };
        let at = match item.get("at") {
            Some(AttributeValue::N(v)) => v.parse::<i64>().map_err(Error::internal)?,
            _ => 0,
        };
        Ok(Some(Record {
            slot: claim.slot.clone(),
            sealed,
            at,
            expires_at,
        }))
    }

    async fn keep(&self, by: &Audit, outcome: &(dyn Any + Sync)) -> Result<()> {
        self.remember(by, outcome).await
    }
}
