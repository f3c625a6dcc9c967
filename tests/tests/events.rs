//! Change events end to end on the local API (moto serves DynamoDB, its streams, EventBridge and
//! SQS on one port): changes through the store, the table's stream read as Lambda's event source
//! mapping reads it, the events function's handler publishing to a bus, and a rule on that bus
//! delivering to an SQS queue, where each event is read back.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use events::handler::{Publisher, handle};
use idlink::audit::{Actor, Audit};
use idlink::identity::{CustomId, ExternalAccountId, IdentityKey, ProjectId};
use idlink::store::accounts::{AccountStore, LinkIdentity, Unlink};
use idlink::store::{
    AttributeStore, AttributeWrite, CustomIdChange, CustomIdStore, DeleteStore, LinkStore,
    LoginStore, SingleLink,
};
use idlink::user::LoginCommand;
use serde_json::{Value, json};

macro_rules! local_client {
    ($sdk:ident) => {{
        let conf = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .credentials_provider($sdk::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .endpoint_url(idlink_tests::dynamo_endpoint())
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

/// A bus with a rule sending every idlink event to a new queue: `(bus, queue URL)`.
async fn bus_to_queue() -> (String, String) {
    let (bridge, sqs) = (
        local_client!(aws_sdk_eventbridge),
        local_client!(aws_sdk_sqs),
    );
    let name = format!("bus-{}", uuid::Uuid::new_v4().simple());
    bridge.create_event_bus().name(&name).send().await.unwrap();
    let queue = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    bridge
        .put_rule()
        .name("all")
        .event_bus_name(&name)
        .event_pattern(json!({"source": ["idlink"]}).to_string())
        .send()
        .await
        .unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .unwrap();
    bridge
        .put_targets()
        .rule("all")
        .event_bus_name(&name)
        .targets(target)
        .send()
        .await
        .unwrap();
    (name, queue_url)
}

/// A stream attribute value in DynamoDB's JSON, as Lambda delivers it.
fn av_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::L(l) => json!({"L": l.iter().map(av_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": image_json(m)}),
        other => panic!("unexpected attribute value {other:?}"),
    }
}

fn image_json(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), av_json(v))).collect())
}

/// Everything on the table's stream so far, as one Lambda event (every shard from its start).
async fn stream_batch(table: &str) -> Value {
    let streams = local_client!(aws_sdk_dynamodbstreams);
    let described = idlink_tests::dynamo_client()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let arn = described
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let stream = streams.describe_stream().stream_arn(&arn).send().await;
    let mut records = Vec::new();
    for shard in stream.unwrap().stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        loop {
            let out = streams.get_records().shard_iterator(&iterator).send().await;
            let out = out.unwrap();
            if out.records().is_empty() {
                break;
            }
            for r in out.records() {
                let d = r.dynamodb().unwrap();
                records.push(json!({
                    "eventName": r.event_name().unwrap().as_str(),
                    "dynamodb": {
                        "SequenceNumber": d.sequence_number(),
                        "Keys": image_json(d.keys().unwrap()),
                        "NewImage": d.new_image().map(image_json),
                    },
                }));
            }
            match out.next_shard_iterator {
                Some(next) => iterator = next,
                None => break,
            }
        }
    }
    json!({ "Records": records })
}

/// Every event the queue holds: `(detail-type, detail)`.
async fn received(queue_url: &str) -> Vec<(String, Value)> {
    let sqs = local_client!(aws_sdk_sqs);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            let event: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(event["source"], "idlink");
            out.push((
                event["detail-type"].as_str().unwrap().to_owned(),
                event["detail"].clone(),
            ));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn every_change_reaches_the_queue_through_the_stream_and_the_bus() {
    let store = idlink_tests::fresh_store().await;
    let (bus, queue_url) = bus_to_queue().await;
    let publisher = Publisher::new(local_client!(aws_sdk_eventbridge), bus);
    let project = ProjectId::new_random();
    let by = Audit::new(Actor::Client("game-server".into()), "req-9");
    let login = |custom: &str| LoginCommand {
        by: by.clone(),
        ..LoginCommand::new(project, CustomId::parse(custom).unwrap(), 1)
    };
    let a = store.login(&login("a")).await.unwrap().user;
    let b = store.login(&login("b")).await.unwrap().user;
    let ext = ExternalAccountId::parse("ext-1").unwrap();
    store
        .link_single(&SingleLink::external_id(project, a.id, &ext, 2).by(by.clone()))
        .await
        .unwrap();
    let b_custom = IdentityKey::custom_id(&CustomId::parse("b").unwrap());
    let link = LinkIdentity {
        project,
        primary: a.id,
        identity: b_custom.clone(),
        primary_session: None,
        now: 3,
        by: by.clone(),
    };
    store.link_identity(&link).await.unwrap();
    let unlink = Unlink {
        by: by.clone(),
        project,
        primary: a.id,
        identity: b_custom,
        primary_session: None,
        now: 4,
    };
    let standalone = store.unlink(&unlink).await.unwrap().standalone;
    let write = AttributeWrite::new(
        project,
        CustomId::parse("a").unwrap(),
        vec![],
        vec!["k".into()],
        5,
    );
    store.write_attributes(&write.by(by.clone())).await.unwrap();
    let change = CustomIdChange {
        project,
        user: a.id,
        new: CustomId::parse("a2").unwrap(),
        now: 6,
        by: by.clone(),
    };
    store.change_custom_id(&change).await.unwrap();
    store.delete_user(project, a.id, &by).await.unwrap();

    let answer = handle(&publisher, &stream_batch(store.table()).await).await;
    let events = received(&queue_url).await;

    assert_eq!(answer, json!({"batchItemFailures": []}));
    let mut types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "identity.linked",
            "identity.unlinked",
            "user.created",
            "user.created",
            "user.created",
            "user.deleted",
            "user.merged",
            "user.updated",
            "user.updated",
        ]
    );
    let detail = |t: &str| events.iter().find(|(x, _)| x == t).unwrap().1.clone();
    let merged = detail("user.merged");
    assert_eq!(merged["project_id"], project.to_string());
    assert_eq!(merged["user_id"], a.id.to_string());
    assert_eq!(merged["secondary_user_id"], b.id.to_string());
    assert_eq!(
        merged["moved_identities"],
        json!([{"provider": "server_custom_id", "user_id": "b", "connection": "server_custom_id", "isSocial": false}])
    );
    assert_eq!(
        detail("identity.unlinked")["standalone_user_id"],
        standalone.to_string()
    );
    let deleted = detail("user.deleted");
    assert_eq!(
        (&deleted["user_id"], &deleted["identities"]),
        (&json!(a.id.to_string()), &json!([]))
    );
    assert!(events.iter().all(|(_, d)| d["request_id"] == "req-9"));
}

#[tokio::test]
async fn a_bus_that_refuses_answers_the_first_record_for_lambda_to_retry() {
    let store = idlink_tests::fresh_store().await;
    let project = ProjectId::new_random();
    store
        .login(&LoginCommand::new(
            project,
            CustomId::parse("p").unwrap(),
            1,
        ))
        .await
        .unwrap();
    let batch = stream_batch(store.table()).await;
    let first_insert = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["dynamodb"]["Keys"]["PK"]["S"]
                .as_str()
                .unwrap()
                .starts_with("LOG#")
        })
        .unwrap()["dynamodb"]["SequenceNumber"]
        .clone();
    // A bus that does not exist: EventBridge refuses every entry.
    let publisher = Publisher::new(local_client!(aws_sdk_eventbridge), "no-such-bus");

    let answer = handle(&publisher, &batch).await;

    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": first_insert}]})
    );
}
