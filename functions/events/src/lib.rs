//! The events function: the table's DynamoDB stream in, change events out on an EventBridge bus.
//! Every audit record a change inserts becomes one event (`source` `idlink`); the stream, not the
//! request, drives publishing, so an event is never lost to a function that dies after its write.

pub mod handler;

/// The secret material this function reads, and all its policy lets it read
/// (tests/tests/policies.rs): none, it neither signs nor verifies tokens.
pub const SECRETS: &[idlink::config::Material] = &[];
