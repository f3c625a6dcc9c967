//! The DynamoDB adapter. `AttributeValue` stays in this module.
//!
//! Single table, string keys `PK`/`SK`:
//! - `USER#<uid>` / `PROFILE`: the user's profile (project, nickname, attributes, versions, times).
//! - `USER#<uid>` / `IDENT#<provider>#<subject>`: one item per identity, so one Query reads a user.
//! - `IDENT#<project>#<provider>#<subject>` / `IDENT`: the uniqueness marker → `user_id`.
//! - `LOG#<uid>` / `<unix seconds>#<log id>`: the user's audit log, one record per change (audit.rs).
//! - `CLIENT#<client_id>` / `CLIENT`, `PROJECT#<id>` / `PROJECT`.
//!
//! Every uniqueness rule is a condition inside the write that creates the item; nothing reads first
//! to decide whether a value is free.
//!
//! One file per capability (login, single links, accounts and merges, user reads, clients and
//! keys), item mapping in `items`; this file holds the plumbing they share.

mod accounts;
mod attributes;
mod audit;
mod clients;
mod custom_id;
mod delete;
mod items;
mod links;
mod login;
mod lookups;
mod once;
mod profile;
mod users;

pub use audit::record_from_stream;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use crate::error::{Error, Result};
use crate::store::lookups::MAX_KEYS_PER_BATCH;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use items::{Item, req_s, s};

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

// ---- conditions -------------------------------------------------------------------------------

/// The item does not exist yet: a uniqueness marker, a new user's items, a single-use proof.
const NEW_ITEM: &str = "attribute_not_exists(PK)";
/// The item is still there: an identity item about to move to another user.
const STILL_EXISTS: &str = "attribute_exists(PK)";
/// The profile exists and was not merged away: a login or link writes only to a live user.
const LIVE_USER: &str = "attribute_exists(PK) AND attribute_not_exists(merged_into)";
/// `ver` as read: every account-linking write is conditioned on it, so any write in between
/// (a login, a link, another merge) cancels this one and it is planned again.
const SAME_VERSION: &str = "ver = :ver AND attribute_not_exists(merged_into)";
/// The marker still points at the user it is moved away from.
const STILL_OWNED_BY_FROM: &str = "user_id = :from";

// ---- errors -----------------------------------------------------------------------------------

const RETRYABLE_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
];

/// A throttle or a transient transport failure is retryable (503); anything else is internal.
fn store_error<E, R>(e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        other => other.code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
    };
    if retryable {
        Error::Unavailable(Box::new(e))
    } else {
        Error::internal(e)
    }
}

// ---- retrying writes that meet concurrent writers ---------------------------------------------

/// Attempts of a write that keeps meeting concurrent writers before it answers "retry later".
const MAX_ATTEMPTS: u32 = 6;

/// What one attempt of a write decided.
enum Retry<T> {
    Done(T),
    /// The state moved under this attempt (a concurrent writer): decide again from a fresh read.
    Again,
}

/// Runs `attempt` until it is done or fails, pausing between attempts; after `MAX_ATTEMPTS`
/// the `operation` answers "retry later" (503).
async fn retrying<T, F, Fut>(operation: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Retry<T>>>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Retry::Done(value) => return Ok(value),
            Retry::Again => backoff(n).await,
        }
    }
    Err(Error::Unavailable(
        format!("{operation} kept meeting concurrent writers").into(),
    ))
}

/// Small randomised pause before another attempt, so racing callers spread out.
async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
    let ms = (5u64 << attempt.min(5)) + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

// ---- transactions -----------------------------------------------------------------------------

/// What a cancelled transaction says about each of its items, by index.
enum TxOutcome {
    Done,
    /// Conditional checks that failed, by item index.
    ConditionFailed(Vec<usize>),
    /// Lost a race with another transaction: try again.
    Conflict,
}

impl DynamoStore {
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<TxOutcome> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(TxOutcome::Done),
            Err(SdkError::ServiceError(ctx))
                if matches!(
                    ctx.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(c) = ctx.err() else {
                    unreachable!("matched above")
                };
                let reasons = c.cancellation_reasons();
                let failed: Vec<usize> = reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return Ok(TxOutcome::ConditionFailed(failed));
                }
                let conflict = reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("TransactionConflict") | Some("ThrottlingError")
                    )
                });
                if conflict {
                    Ok(TxOutcome::Conflict)
                } else {
                    Err(Error::internal(SdkError::ServiceError(ctx)))
                }
            }
            Err(e) if e.code() == Some("TransactionConflictException") => Ok(TxOutcome::Conflict),
            Err(e) => Err(store_error(e)),
        }
    }

    /// The one way a whole item is put: `condition` is one of the constants above, or `None`
    /// for an unconditional write.
    fn put_request(&self, item: Item, condition: Option<&str>) -> Result<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(Error::internal)
    }

    /// A put inside a transaction.
    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(self.put_request(item, condition)?)
            .build())
    }

    /// A put on its own (admin writes): a failed condition is not a domain answer here.
    async fn put_alone(&self, item: Item, condition: Option<&str>) -> Result<()> {
        let put = self.put_request(item, condition)?;
        self.client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    fn update(
        &self,
        key: Item,
        expression: String,
        condition: &str,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn delete(&self, key: Item, condition: &str) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

// ---- reads ------------------------------------------------------------------------------------

impl DynamoStore {
    /// One consistent page of the items under partition `pk`, from `start`; `shape` adds what
    /// the caller asks (a projection, a count, a direction, a limit).
    async fn query_partition(
        &self,
        pk: String,
        start: Option<Item>,
        shape: impl FnOnce(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<QueryOutput> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .set_exclusive_start_key(start);
        shape(query).send().await.map_err(store_error)
    }

    async fn get(&self, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item)
    }

    /// Every item of `keys` that exists, keyed by its `PK`: consistent reads in `BatchGetItem`
    /// calls of at most 100 keys. Keys DynamoDB leaves unprocessed (throttling, or the 16 MB cap
    /// on one answer) are asked again after a pause; a batch that makes no progress
    /// `MAX_ATTEMPTS` times in a row answers "retry later". `keys` must not repeat a key.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>> {
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
