use super::*;
use idlink::audit::Audit;
use idlink::identity::{CustomId, IdentityKey, ProjectId, UserId};

fn record(kind: AuditKind) -> AuditRecord {
    let by = Audit::new(Actor::Client("game-server".into()), "req-7");
    AuditRecord::new(
        UserId::new_random(),
        ProjectId::new_random(),
        kind,
        &by,
        1_795_420_800,
    )
}

#[test]
fn every_change_type_has_its_detail_type_and_a_merge_publishes_once() {
    let published: Vec<Option<&str>> = AuditKind::ALL.into_iter().map(detail_type).collect();

    assert_eq!(
        published,
        [
            Some("user.created"),
            Some("identity.linked"),
            Some("identity.linked"),
            Some("identity.linked"),
            Some("user.merged"),
            None,
            Some("identity.unlinked"),
            Some("user.updated"),
            Some("user.updated"),
            Some("user.deleted"),
            Some("user.banned"),
            Some("user.unbanned"),
            // An Auth0 block and unblock publish as a ban and an unban.
            Some("user.banned"),
            Some("user.unbanned"),
            Some("user.updated"),
        ]
    );
}

#[test]
fn a_merge_names_the_secondary_and_the_identities_that_moved() {
    let secondary = UserId::new_random();
    let moved = IdentityKey::custom_id(&CustomId::parse("b").unwrap());
    let r = record(AuditKind::Merged).identity(&moved).other(secondary);

    let event = event_of(&r).unwrap();

    assert_eq!(event.detail_type, "user.merged");
    let d = &event.detail;
    assert_eq!(d["project_id"], r.project.to_string());
    assert_eq!(d["user_id"], r.user.to_string());
    assert_eq!(d["secondary_user_id"], secondary.to_string());
    assert_eq!(d["moved_identities"][0]["user_id"], "b");
    assert_eq!(d["moved_identities"][0]["provider"], "server_custom_id");
    assert_eq!(d["log_id"], r.when.log_id);
    assert_eq!(d["time"], "2026-11-23T08:00:00Z");
    assert_eq!(d["actor"], json!({"type": "client", "id": "game-server"}));
    assert_eq!(d["request_id"], "req-7");
}

#[test]
fn a_batch_without_audit_inserts_publishes_nothing() {
    let batch = json!({"Records": [
        {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "1", "NewImage": {"PK": {"S": "USER#x"}}}},
        {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "2", "OldImage": {"PK": {"S": "LOG#x"}}}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "3", "NewImage": {"PK": {"S": "IDENT#p#x#y"}}}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "4", "NewImage": {"PK": {"S": "LOG#not-a-uuid"}}}},
    ]});

    assert!(events_of(&batch).is_empty());
    assert!(events_of(&json!({})).is_empty());
}

#[test]
fn the_fixture_batch_publishes_nothing() {
    let text =
        include_str!("../../../../events/events/200-stream-batch-without-audit-records.json");
    let batch: Value = serde_json::from_str(text).unwrap();

    assert_eq!(batch["Records"].as_array().unwrap().len(), 1);
    assert!(events_of(&batch).is_empty());
}
