//! The table definition. template.yaml declares the same table; a test in tests/ parses the
//! template and fails if the two drift apart.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use crate::error::{Error, Result};

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// Unix seconds after which DynamoDB deletes short-lived items (link proofs, idempotency records).
pub const TTL_ATTRIBUTE: &str = "expires_at";
pub const BILLING_MODE: &str = "PAY_PER_REQUEST";
/// The table's stream carries each new item (the events function publishes audit records).
pub const STREAM_VIEW_TYPE: &str = "NEW_IMAGE";

/// Creates the table (on-demand, string keys, stream of new images, TTL on). An existing table
/// is left as it is.
pub async fn create_table(client: &Client, name: &str) -> Result<()> {
    create_table_with(client, name, true).await
}

/// As [`create_table`], with the stream only if `stream` (the benchmark's tables have none:
/// nothing there reads it, and the local DynamoDB API keeps every record of a stream).
pub async fn create_table_with(client: &Client, name: &str, stream: bool) -> Result<()> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(Error::internal)
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(Error::internal)
    };
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(BILLING_MODE))
        .attribute_definitions(attr(PARTITION_KEY)?)
        .attribute_definitions(attr(SORT_KEY)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .set_stream_specification(
            stream
                .then(|| {
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::from(STREAM_VIEW_TYPE))
                        .build()
                        .map_err(Error::internal)
                })
                .transpose()?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(Error::internal(e)),
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(Error::internal)?,
        )
        .send()
        .await
        .map_err(Error::internal)?;
    Ok(())
}
