//! Stream batch → change events. Each INSERT of an audit record is one event; the secondary's
//! side of a merge publishes nothing (the primary's `user.merged` names both users). A batch
//! whose events EventBridge does not all take answers the first failed record in
//! `batchItemFailures`: Lambda retries from there (bisecting on error), then the event source
//! mapping's dead-letter queue keeps what still fails (template.yaml).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use idlink::audit::{Actor, AuditKind, AuditRecord};
use idlink::config::{AwsEnv, ConfigError, env_opt, env_var};
use idlink::http::auth0::identity_json;
use idlink::store::dynamo::record_from_stream;
use idlink::user::rfc3339;
use serde_json::{Value, json};

/// Every event's `source`.
pub const SOURCE: &str = "idlink";
/// EventBridge's cap on the entries of one `PutEvents`.
const MAX_ENTRIES: usize = 10;

/// The `detail-type` an audit record publishes as; `None` for the secondary's record of a merge.
pub fn detail_type(kind: AuditKind) -> Option<&'static str> {
    Some(match kind {
        AuditKind::UserCreated => "user.created",
        AuditKind::ExternalIdLinked | AuditKind::PartnerLinked | AuditKind::IdentityLinked => {
            "identity.linked"
        }
        AuditKind::IdentityUnlinked => "identity.unlinked",
        AuditKind::Merged => "user.merged",
        AuditKind::MergedAway => return None,
        AuditKind::AttributesWritten | AuditKind::CustomIdChanged | AuditKind::MetadataUpdated => {
            "user.updated"
        }
        // An Auth0 block is a ban for good: a studio routes both the same way.
        AuditKind::Banned | AuditKind::Blocked => "user.banned",
        AuditKind::Unbanned | AuditKind::Unblocked => "user.unbanned",
        AuditKind::Deleted => "user.deleted",
    })
}

/// One change event: its `detail-type` and `detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub detail_type: &'static str,
    pub detail: Value,
}

/// The event an audit record publishes, if any. `detail` always has `project_id`, `user_id`,
/// `change` (the record's type), `log_id` (for consumers to drop a redelivery), `time`,
/// `identities`, `actor` and `request_id`; a merge adds `secondary_user_id` and
/// `moved_identities`, an unlink `standalone_user_id`.
pub fn event_of(r: &AuditRecord) -> Option<ChangeEvent> {
    let detail_type = detail_type(r.what.kind)?;
    let identities: Vec<Value> = r.what.identities.iter().map(identity_json).collect();
    let actor = match &r.by.actor {
        Actor::Client(id) => json!({"type": "client", "id": id}),
        Actor::User(id) => json!({"type": "user", "id": id.to_string()}),
        Actor::Internal => json!({"type": "internal"}),
    };
    let mut detail = json!({
        "project_id": r.project.to_string(),
        "user_id": r.user.to_string(),
        "change": r.what.kind.as_str(),
        "log_id": r.when.log_id,
        "time": rfc3339(r.when.at),
        "identities": identities,
        "actor": actor,
        "request_id": r.by.request_id,
    });
    let other = r.what.other.map(|o| Value::String(o.to_string()));
    match r.what.kind {
        AuditKind::Merged => {
            detail["secondary_user_id"] = other.unwrap_or(Value::Null);
            detail["moved_identities"] = detail["identities"].clone();
        }
        AuditKind::IdentityUnlinked => {
            detail["standalone_user_id"] = other.unwrap_or(Value::Null);
        }
        _ => {}
    }
    if !r.what.keys.is_empty() {
        detail["attribute_keys"] = json!(r.what.keys);
    }
    Some(ChangeEvent {
        detail_type,
        detail,
    })
}

/// The stream batch's events, each with the sequence number of the record it came from.
/// A record that is not an audit record's insert publishes nothing; one that cannot be read is
/// logged (without its content) and skipped rather than blocking the shard forever.
pub fn events_of(batch: &Value) -> Vec<(String, ChangeEvent)> {
    let records = batch["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let sequence = record["dynamodb"]["SequenceNumber"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match record_from_stream(record) {
            Ok(Some(audit)) => out.extend(event_of(&audit).map(|e| (sequence, e))),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, sequence, "unreadable audit record skipped"),
        }
    }
    out
}

/// Where events go: an EventBridge client and the bus.
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl Publisher {
    /// `IDLINK_EVENT_BUS` (name or ARN); `AWS_ENDPOINT_URL_EVENTBRIDGE` (or `AWS_ENDPOINT_URL`)
    /// for a local API.
    pub fn from_env() -> Result<Self, ConfigError> {
        let (region, credentials, http) = AwsEnv::from_env()?.client_parts();
        let mut conf = aws_sdk_eventbridge::Config::builder()
            .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials);
        conf.set_endpoint_url(
            env_opt("AWS_ENDPOINT_URL_EVENTBRIDGE").or_else(|| env_opt("AWS_ENDPOINT_URL")),
        );
        conf.set_http_client(http);
        Ok(Self::new(
            aws_sdk_eventbridge::Client::from_conf(conf.build()),
            env_var("IDLINK_EVENT_BUS")?,
        ))
    }

    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// Puts up to 10 events; answers the index of the first one EventBridge did not take.
    async fn put(&self, events: &[&ChangeEvent]) -> Option<usize> {
        let entries = events
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(e.detail_type)
                    .detail(e.detail.to_string())
                    .event_bus_name(&self.bus)
                    .build()
            })
            .collect();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) if out.failed_entry_count == 0 => None,
            Ok(out) => {
                let first = out
                    .entries()
                    .iter()
                    .position(|e| e.error_code().is_some())
                    .unwrap_or(0);
                tracing::warn!(
                    failed = out.failed_entry_count,
                    "EventBridge refused events"
                );
                Some(first)
            }
            Err(e) => {
                tracing::error!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                Some(0)
            }
        }
    }
}

/// Publishes the batch's events in order; answers Lambda's partial-batch response naming the
/// first record whose event was not published (empty when all were).
pub async fn handle(publisher: &Publisher, batch: &Value) -> Value {
    let events = events_of(batch);
    for chunk in events.chunks(MAX_ENTRIES) {
        let refs: Vec<&ChangeEvent> = chunk.iter().map(|(_, e)| e).collect();
        if let Some(failed) = publisher.put(&refs).await {
            let sequence = &chunk[failed].0;
            return json!({"batchItemFailures": [{"itemIdentifier": sequence}]});
        }
    }
    json!({"batchItemFailures": []})
}

#[cfg(test)]
mod tests;
