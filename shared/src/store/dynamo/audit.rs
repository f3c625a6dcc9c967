//! The audit log: `LOG#<uid>` / `<unix seconds, 12 digits>#<log id>`, one partition per user
//! apart from its `USER#` partition (which is read whole by one Query and must stay one page).
//! A change adds its record to its own transaction with [`DynamoStore::audit`]; the log reads
//! newest first by querying the partition backwards.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Select, TransactWriteItem, WriteRequest,
};

use super::items::{Item, get_s, key, n, req_n, req_s, s};
use super::{DynamoStore, MAX_ATTEMPTS, NEW_ITEM, backoff, store_error};
use crate::audit::{Actor, Audit, AuditKind, AuditRecord, LogPage, LogQuery, What, When};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::AuditLogStore;

/// DynamoDB's cap on the requests of one `BatchWriteItem`.
const MAX_BATCH_WRITE: usize = 25;

pub(super) fn log_pk(user: UserId) -> String {
    format!("LOG#{user}")
}

fn log_sk(record: &AuditRecord) -> String {
    format!("{:012}#{}", record.when.at.max(0), record.when.log_id)
}

fn corrupt(name: &str) -> Error {
    Error::internal(format!(
        "stored log record has a missing or malformed `{name}`"
    ))
}

pub(super) fn log_item(r: &AuditRecord) -> Item {
    let mut item = key(log_pk(r.user), &log_sk(r));
    item.insert("kind".into(), s("log"));
    item.insert("project".into(), s(r.project.to_string()));
    // `type` is a reserved word in expressions: the record's type is `what`.
    item.insert("what".into(), s(r.what.kind.as_str()));
    item.insert("at".into(), n(r.when.at));
    item.insert("log_id".into(), s(&r.when.log_id));
    if !r.what.identities.is_empty() {
        let identities = r
            .what
            .identities
            .iter()
            .map(|i| {
                AttributeValue::M(HashMap::from([
                    ("p".to_owned(), s(i.provider.as_str())),
                    ("s".to_owned(), s(i.subject.as_str())),
                ]))
            })
            .collect();
        item.insert("identities".into(), AttributeValue::L(identities));
    }
    if let Some(other) = r.what.other {
        item.insert("other".into(), s(other.to_string()));
    }
    if !r.what.keys.is_empty() {
        item.insert(
            "keys".into(),
            AttributeValue::L(r.what.keys.iter().map(|k| s(k.as_str())).collect()),
        );
    }
    let (actor, actor_id) = match &r.by.actor {
        Actor::Client(id) => ("client", Some(id.clone())),
        Actor::User(id) => ("user", Some(id.to_string())),
        Actor::Internal => ("internal", None),
    };
    item.insert("actor".into(), s(actor));
    if let Some(id) = actor_id {
        item.insert("actor_id".into(), s(id));
    }
    if !r.by.request_id.is_empty() {
        item.insert("request_id".into(), s(&r.by.request_id));
    }
    item
}

fn user_id(value: &str, name: &str) -> Result<UserId> {
    UserId::parse(value).map_err(|_| corrupt(name))
}

pub(super) fn record_from_item(item: &Item) -> Result<AuditRecord> {
    let user = user_id(
        req_s(item, "PK")?
            .strip_prefix("LOG#")
            .ok_or_else(|| corrupt("PK"))?,
        "PK",
    )?;
    let project = ProjectId::parse(req_s(item, "project")?).map_err(|_| corrupt("project"))?;
    let kind = AuditKind::parse(req_s(item, "what")?).ok_or_else(|| corrupt("what"))?;
    let mut identities = Vec::new();
    if let Some(AttributeValue::L(list)) = item.get("identities") {
        for v in list {
            let m = v.as_m().map_err(|_| corrupt("identities"))?;
            identities.push(IdentityKey::from_trusted(
                req_s(m, "p")?.to_owned(),
                req_s(m, "s")?.to_owned(),
            ));
        }
    }
    let keys = match item.get("keys") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| v.as_s().cloned().map_err(|_| corrupt("keys")))
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    let actor = match (req_s(item, "actor")?, get_s(item, "actor_id")) {
        ("client", Some(id)) => Actor::Client(id.to_owned()),
        ("user", Some(id)) => Actor::User(user_id(id, "actor_id")?),
        ("internal", _) => Actor::Internal,
        _ => return Err(corrupt("actor")),
    };
    Ok(AuditRecord {
        user,
        project,
        what: What {
            kind,
            identities,
            other: get_s(item, "other")
                .map(|o| user_id(o, "other"))
                .transpose()?,
            keys,
        },
        when: When {
            at: req_n(item, "at")?,
            log_id: req_s(item, "log_id")?.to_owned(),
        },
        by: Audit {
            actor,
            request_id: get_s(item, "request_id").unwrap_or_default().to_owned(),
            once: None,
        },
    })
}

impl DynamoStore {
    /// The put that adds `record` to a change's transaction: every audited write calls this once
    /// per record (its sort key is unique, so the condition only guards against a reused id).
    pub(super) fn audit(&self, record: &AuditRecord) -> Result<TransactWriteItem> {
        self.put(log_item(record), Some(NEW_ITEM))
    }

    /// One page of `user`'s log from `start` (see `query_partition`): its items, their count
    /// and where the next page starts.
    async fn log_page(
        &self,
        user: UserId,
        start: Option<Item>,
        shape: impl FnOnce(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<(Vec<Item>, i32, Option<Item>)> {
        let out = self.query_partition(log_pk(user), start, shape).await?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), out.count, next))
    }

    /// Deletes every record in `user`'s log but a record of its deletion (step 2 of a delete, see
    /// delete.rs), answering the secondaries of the merges it held: their logs name identities
    /// that are now the user's.
    pub(super) async fn purge_log(&self, user: UserId) -> Result<Vec<UserId>> {
        let mut merged_away = Vec::new();
        let mut start = None;
        loop {
            let (items, _, next) = self
                .log_page(user, start, |q| {
                    q.projection_expression("PK, SK, #what, #other")
                        .expression_attribute_names("#what", "what")
                        .expression_attribute_names("#other", "other")
                })
                .await?;
            let mut keys = Vec::with_capacity(items.len());
            for item in &items {
                // The record of a deletion is the one a deleted user keeps. Only a delete writes
                // one, and a user is deleted once: a concurrent delete that read the user before
                // another one committed must not purge the record that one just wrote.
                if get_s(item, "what") == Some(AuditKind::Deleted.as_str()) {
                    continue;
                }
                if get_s(item, "what") == Some(AuditKind::Merged.as_str())
                    && let Some(other) = get_s(item, "other")
                {
                    merged_away.push(user_id(other, "other")?);
                }
                keys.push(key(req_s(item, "PK")?.to_owned(), req_s(item, "SK")?));
            }
            for chunk in keys.chunks(MAX_BATCH_WRITE) {
                self.delete_batch(chunk.to_vec()).await?;
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(merged_away),
            }
        }
    }

    /// Deletes up to 25 items, retrying what DynamoDB leaves unprocessed.
    async fn delete_batch(&self, keys: Vec<Item>) -> Result<()> {
        let mut requests = Vec::with_capacity(keys.len());
        for k in keys {
            let delete = DeleteRequest::builder().set_key(Some(k)).build();
            requests.push(
                WriteRequest::builder()
                    .delete_request(delete.map_err(Error::internal)?)
                    .build(),
            );
        }
        for attempt in 0..MAX_ATTEMPTS {
            let batch = self.client.batch_write_item();
            let sent = batch.request_items(&self.table, requests).send().await;
            requests = sent
                .map_err(store_error)?
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            backoff(attempt).await;
        }
        Err(Error::Unavailable(
            "log purge left items unprocessed".into(),
        ))
    }

    /// How many records `user`'s log holds (counted by DynamoDB, paged per 1 MB read).
    async fn count_log(&self, user: UserId) -> Result<usize> {
        let mut total = 0;
        let mut start = None;
        loop {
            let (_, count, next) = self
                .log_page(user, start, |q| q.select(Select::Count))
                .await?;
            total += usize::try_from(count).unwrap_or(0);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(total),
            }
        }
    }
}

impl AuditLogStore for DynamoStore {
    async fn user_log(&self, project: ProjectId, user: UserId, q: LogQuery) -> Result<LogPage> {
        let wanted = q.start + q.limit;
        let mut records = Vec::with_capacity(wanted);
        let mut start = None;
        while records.len() < wanted {
            let limit = i32::try_from(wanted - records.len()).map_err(Error::internal)?;
            // Backwards: newest first.
            let (items, _, next) = self
                .log_page(user, start, |q| q.scan_index_forward(false).limit(limit))
                .await?;
            for item in &items {
                records.push(record_from_item(item)?);
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        // User ids are unique across projects: a log of another project's user reads as empty.
        if records.first().is_some_and(|r| r.project != project) {
            return Ok(LogPage {
                records: Vec::new(),
                total: q.with_total.then_some(0),
            });
        }
        let total = match q.with_total {
            true if records.len() < wanted => Some(records.len()),
            true => Some(self.count_log(user).await?),
            false => None,
        };
        let records = records.into_iter().skip(q.start).collect();
        Ok(LogPage { records, total })
    }
}

/// The audit record a DynamoDB stream record inserted (its `NewImage`, in DynamoDB's JSON as
/// Lambda delivers it); `None` for anything else (another item, a modify, a purge's remove).
pub fn record_from_stream(record: &serde_json::Value) -> Result<Option<AuditRecord>> {
    if record["eventName"] != "INSERT" {
        return Ok(None);
    }
    let image = &record["dynamodb"]["NewImage"];
    let is_log = image["PK"]["S"]
        .as_str()
        .is_some_and(|pk| pk.starts_with("LOG#"));
    if !is_log {
        return Ok(None);
    }
    let item = match av_from_json(image)? {
        AttributeValue::M(item) => item,
        _ => return Err(corrupt("NewImage")),
    };
    record_from_item(&item).map(Some)
}

/// DynamoDB's JSON (`{"S": "…"}`, `{"M": {…}}`, …) as an `AttributeValue`; a bare object is a
/// map (an image). Only the types audit records use.
fn av_from_json(v: &serde_json::Value) -> Result<AttributeValue> {
    let Some(obj) = v.as_object() else {
        return Err(corrupt("image"));
    };
    let map = |m: &serde_json::Map<String, serde_json::Value>| -> Result<AttributeValue> {
        let mut out = HashMap::with_capacity(m.len());
        for (k, v) in m {
            out.insert(k.clone(), av_from_json(v)?);
        }
        Ok(AttributeValue::M(out))
    };
    match obj.iter().next() {
        Some((t, inner)) if obj.len() == 1 => match (t.as_str(), inner) {
            ("S", serde_json::Value::String(x)) => Ok(s(x.as_str())),
            ("N", serde_json::Value::String(x)) => Ok(AttributeValue::N(x.clone())),
            ("BOOL", serde_json::Value::Bool(b)) => Ok(AttributeValue::Bool(*b)),
            ("NULL", _) => Ok(AttributeValue::Null(true)),
            ("L", serde_json::Value::Array(items)) => items
                .iter()
                .map(av_from_json)
                .collect::<Result<_>>()
                .map(AttributeValue::L),
            ("M", serde_json::Value::Object(m)) => map(m),
            _ => map(obj),
        },
        _ => map(obj),
    }
}
