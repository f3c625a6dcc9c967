//! Helpers for the integration tests: a fresh table on the local DynamoDB API (moto, started by
//! `make test`), a raw view of what is in it, and invariant checks over that view.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use idlink::store::dynamo::DynamoStore;
use idlink::store::schema::create_table;

pub type Item = HashMap<String, AttributeValue>;

pub fn dynamo_endpoint() -> String {
    std::env::var("IDLINK_TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "IDLINK_TEST_DYNAMODB_ENDPOINT is not set: run `make test`, which starts the local \
             DynamoDB API (moto) and sets it"
        )
    })
}

pub fn dynamo_client() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(dynamo_endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A new, empty table of the real definition, so each test sees only its own items.
pub async fn fresh_store() -> DynamoStore {
    let client = dynamo_client();
    let table = format!("t-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    DynamoStore::new(client, table)
}

/// Every item in the table.
pub async fn scan(store: &DynamoStore) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

pub fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

pub fn kind<'a>(items: &'a [Item], kind: &str) -> Vec<&'a Item> {
    items.iter().filter(|i| text(i, "kind") == kind).collect()
}

/// The invariants every write must keep: each marker points at a live user that holds the
/// identity, and each identity a live user holds has a marker pointing back at that user.
pub fn assert_identity_invariants(items: &[Item]) {
    let live: HashMap<&str, &str> = kind(items, "user")
        .into_iter()
        .filter(|u| !u.contains_key("merged_into"))
        .map(|u| {
            (
                text(u, "PK").trim_start_matches("USER#"),
                text(u, "project"),
            )
        })
        .collect();
    let markers: HashMap<&str, &str> = kind(items, "marker")
        .into_iter()
        .map(|m| (text(m, "PK"), text(m, "user_id")))
        .collect();
    for (marker, owner) in &markers {
        assert!(
            live.contains_key(owner),
            "marker {marker} points at a missing or merged user"
        );
    }
    for ident in kind(items, "identity") {
        let owner = text(ident, "PK").trim_start_matches("USER#");
        let Some(project) = live.get(owner) else {
            continue;
        };
        let marker = format!(
            "IDENT#{project}#{}#{}",
            text(ident, "provider"),
            text(ident, "subject")
        );
        assert_eq!(
            markers.get(marker.as_str()),
            Some(&owner),
            "identity of {owner} has no marker pointing back"
        );
    }
}

/// One request the SDK sent: the operation and the IAM actions it needs (a transaction needs the
/// action of each item it contains).
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub actions: Vec<String>,
}

/// Records every DynamoDB request (each attempt is a round trip) as it is sent.
#[derive(Debug, Clone, Default)]
pub struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<Call>>>);

impl Recorder {
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let req = ctx.request();
        let target = req.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let actions = if operation == "TransactWriteItems" {
            let body: serde_json::Value =
                serde_json::from_slice(req.body().bytes().unwrap_or_default())?;
            body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.as_object()?.keys().next().cloned())
                .map(|kind| match kind.as_str() {
                    "ConditionCheck" => "ConditionCheckItem".to_owned(),
                    other => format!("{other}Item"),
                })
                .collect()
        } else {
            vec![operation.clone()]
        };
        self.0.lock().unwrap().push(Call { operation, actions });
        Ok(())
    }
}

/// A fresh table whose client records every request it sends.
pub async fn recording_store() -> (DynamoStore, Recorder) {
    let plain = fresh_store().await;
    let recorder = Recorder::default();
    let conf = plain
        .client()
        .config()
        .to_builder()
        .interceptor(recorder.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), plain.table());
    (store, recorder)
}

/// A JSON `POST` with a bearer token, as a studio's server sends one.
pub fn post(path: &str, token: &str, body: &serde_json::Value) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(lambda_http::Body::from(body.to_string()))
        .expect("a valid request")
}

/// An answer's status and JSON body.
pub fn status_and_body(resp: lambda_http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(resp.body().as_ref()).expect("a JSON body");
    (status, body)
}

/// One contract, two stores: each case (an `async fn(store)` in the invoking module) runs on the
/// in-memory store and on a fresh DynamoDB table, whose identity invariants are then checked.
#[macro_export]
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(idlink::store::memory::MemoryStore::new()).await;
            })*
        }
        mod dynamo {
            $(#[tokio::test]
            async fn $case() {
                let store = $crate::fresh_store().await;
                super::$case(store.clone()).await;
                $crate::assert_identity_invariants(&$crate::scan(&store).await);
            })*
        }
    };
}

/// A partner identifier's link (pepper fixed for tests), as the partner family makes one.
pub fn partner_link(
    project: idlink::identity::ProjectId,
    user: idlink::identity::UserId,
    id: &str,
    session: Option<u64>,
) -> idlink::store::SingleLink {
    let pepper = idlink::partner::Pepper::from_bytes(&[7u8; 32]).expect("a pepper");
    let identifier = idlink::partner::PartnerIdentifier::parse(id).expect("an identifier");
    idlink::store::SingleLink {
        project,
        user,
        kind: idlink::store::SingleKind::Partner,
        subject: identifier.subject(&pepper),
        session,
        now: 9,
        by: Default::default(),
    }
}

/// Serves `$req` with the handler of the routed function named `$function` (its crate a
/// dev-dependency of this crate), on `$app` (a reference), through the shared skeleton's
/// [`idlink::function::answer`]: the response the function gives in Lambda. One list of every
/// routed function for the suites that drive them all (hostile input, the OpenAPI exchanges,
/// Idempotency-Key). Each handler's future is boxed: one future holding all of them overflows a
/// test thread's stack in a debug build.
#[macro_export]
macro_rules! serve {
    ($function:expr, $app:expr, $req:expr) => {{
        macro_rules! call {
            ($krate:ident) => {
                ::std::boxed::Box::pin(::idlink::function::answer::<$krate::Family>(
                    $krate::handler::handle($app, $req),
                ))
                .await
            };
        }
        match $function {
            "oauth-token" => call!(oauth_token),
            "jwks" => call!(jwks),
            "openapi" => call!(openapi),
            "auth-custom-id" => call!(auth_custom_id),
            "link-external-id" => call!(link_external_id),
            "get-me" => call!(get_me),
            "link-identifier" => call!(link_identifier),
            "resolve-identifier" => call!(resolve_identifier),
            "get-user" => call!(get_user),
            "link-identity" => call!(link_identity),
            "unlink-identity" => call!(unlink_identity),
            "write-attributes" => call!(write_attributes),
            "change-custom-id" => call!(change_custom_id),
            "delete-user" => call!(delete_user),
            "delete-user-xsolla" => call!(delete_user_xsolla),
            "ban-user" => call!(ban_user),
            "unban-user" => call!(unban_user),
            "update-user" => call!(update_user),
            "linking-info" => call!(linking_info),
            "list-users" => call!(list_users),
            "attributes-by-custom-id" => call!(attributes_by_custom_id),
            "user-logs" => call!(user_logs),
            other => panic!("no routed function {other}"),
        }
    }};
}
