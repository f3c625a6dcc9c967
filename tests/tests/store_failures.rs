//! Store failures injected with aws-smithy-mocks: a throttle is a retryable answer with nothing
//! written, a cancelled transaction is retried or explained, never half-applied.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::function::answer;
use std::collections::HashMap;

use auth_custom_id::handler::handle;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::{
    ProvisionedThroughputExceededException, TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use idlink::client::{Project, Scope};
use idlink::function::App;
use idlink::identity::{ProjectId, UserId};
use idlink::store::dynamo::DynamoStore;
use idlink::testing::test_tokens;
use lambda_http::http;
use lambda_http::{Body, Request};
use serde_json::Value;

fn throttled() -> ProvisionedThroughputExceededException {
    // As DynamoDB sends it: the error code travels in the metadata the SDK classifies by.
    ProvisionedThroughputExceededException::builder()
        .message("throttled")
        .meta(
            aws_sdk_dynamodb::error::ErrorMetadata::builder()
                .code("ProvisionedThroughputExceededException")
                .message("throttled")
                .build(),
        )
        .build()
}

fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(
                codes
                    .iter()
                    .map(|c| CancellationReason::builder().code(*c).build())
                    .collect(),
            ))
            .build(),
    )
}

async fn call(rules: &[&Rule], body: &str) -> (u16, Value, http::HeaderMap) {
    let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()));
    let tokens = test_tokens();
    let project = Project {
        id: ProjectId::new_random(),
        name: "p".into(),
        publisher_id: None,
        publisher_project_id: None,
    };
    let token = tokens
        .issue_server_token(
            &idlink::client::ClientId::new_random(),
            &project,
            &[Scope::UsersLogin],
            idlink::clock::now(),
        )
        .unwrap();
    let app = App {
        store: DynamoStore::new(client, "mocked"),
        tokens: tokens.into(),
    };
    let req: Request = http::Request::builder()
        .method("POST")
        .uri("/users/login/server_custom_id")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = answer::<auth_custom_id::Family>(handle(&app, &req)).await;
    (
        resp.status().as_u16(),
        serde_json::from_slice(resp.body().as_ref()).unwrap(),
        resp.headers().clone(),
    )
}

#[tokio::test]
async fn a_throttled_read_is_a_retryable_answer_and_nothing_is_written() {
    let get = mock!(Client::get_item)
        .then_error(|| GetItemError::ProvisionedThroughputExceededException(throttled()));
    let write = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let (status, body, headers) = call(&[&get, &write], r#"{"server_custom_id":"p"}"#).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "002-057");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(write.num_calls(), 0, "no write after a failed read");
    assert!(
        !body.to_string().contains("throttled"),
        "no internal detail in the body"
    );
}

#[tokio::test]
async fn a_throttled_update_is_a_retryable_answer() {
    let get = mock!(Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .set_item(Some(HashMap::from([(
                "user_id".to_owned(),
                AttributeValue::S(UserId::new_random().to_string()),
            )])))
            .build()
    });
    let update = mock!(Client::update_item)
        .then_error(|| UpdateItemError::ProvisionedThroughputExceededException(throttled()));
    let (status, _, _) = call(&[&get, &update], r#"{"server_custom_id":"p"}"#).await;
    assert_eq!(status, 429);
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_cleanly() {
    let get = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let write = mock!(Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["TransactionConflict", "None", "None"]))
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let (status, body, _) = call(&[&get, &write], r#"{"server_custom_id":"p"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(write.num_calls(), 2, "one conflict, one clean retry");
    assert_eq!(get.num_calls(), 2, "the retry re-reads the marker");
}

#[tokio::test]
async fn a_cancelled_social_claim_is_explained_by_the_re_read() {
    // First read: nobody owns either identity. The transaction is cancelled on the social marker
    // (someone claimed it meanwhile); the re-read shows its owner, so the answer is 422.
    let owner = UserId::new_random().to_string();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let reads = mock!(Client::batch_get_item).then_compute_output(move |req| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return BatchGetItemOutput::builder().build();
        }
        let social_key = &req.request_items().unwrap()["mocked"].keys()[1];
        let social_marker = HashMap::from([
            ("PK".to_owned(), social_key["PK"].clone()),
            ("user_id".to_owned(), AttributeValue::S(owner.clone())),
        ]);
        BatchGetItemOutput::builder()
            .responses("mocked", vec![social_marker])
            .build()
    });
    let write = mock!(Client::transact_write_items)
        .then_error(|| cancelled(&["None", "None", "None", "ConditionalCheckFailed", "None"]));
    let body = r#"{"server_custom_id":"p","social_profile":{"platform":"xbox","user_id":"9"}}"#;
    let (status, answer, _) = call(&[&reads, &write], body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "010-016");
    assert_eq!(write.num_calls(), 1);
    assert_eq!(reads.num_calls(), 2);
}

#[tokio::test]
async fn an_unexpected_store_error_is_an_opaque_500() {
    let get = mock!(Client::get_item).then_error(|| {
        GetItemError::generic(
            aws_sdk_dynamodb::error::ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User: arn:aws:sts::123:assumed-role/secret is not authorized")
                .build(),
        )
    });
    let (status, body, _) = call(&[&get], r#"{"server_custom_id":"p"}"#).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "004-001");
    assert!(!body.to_string().contains("arn:aws"), "{body}");
}

mod link {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;

    async fn link(rules: &[&Rule]) -> (u16, Value) {
        let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()));
        let tokens = test_tokens();
        let project = Project {
            id: ProjectId::new_random(),
            name: "p".into(),
            publisher_id: None,
            publisher_project_id: None,
        };
        let token = tokens
            .issue_server_token(
                &idlink::client::ClientId::new_random(),
                &project,
                &[Scope::UsersLink],
                idlink::clock::now(),
            )
            .unwrap();
        let app = idlink::function::App {
            store: DynamoStore::new(client, "mocked"),
            tokens: tokens.into(),
        };
        let body = serde_json::json!({"user_id": UserId::new_random().to_string(), "external_account_id": "X"});
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/users/account/link_external_id")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp =
            answer::<link_external_id::Family>(link_external_id::handler::handle(&app, &req)).await;
        (
            resp.status().as_u16(),
            serde_json::from_slice(resp.body().as_ref()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_throttled_transaction_is_a_retryable_answer() {
        let write = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(throttled())
        });
        let (status, body) = link(&[&write]).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (429, Some("002-057"))
        );
        assert_eq!(write.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_transaction_conflict_is_retried_cleanly() {
        let write = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(&["TransactionConflict", "None", "None"]))
            .times(2)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let (status, body) = link(&[&write]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(write.num_calls(), 3);
    }

    #[tokio::test]
    async fn a_cancelled_link_whose_explanation_is_throttled_writes_nothing_more() {
        // The transaction was cancelled (so nothing was written); reading why fails: the caller
        // is told to retry, and no second write is attempted.
        let write = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&["ConditionalCheckFailed", "None", "None"]));
        let read = mock!(Client::batch_get_item)
            .then_error(|| BatchGetItemError::ProvisionedThroughputExceededException(throttled()));
        let (status, _) = link(&[&write, &read]).await;
        assert_eq!(status, 429);
        assert_eq!(write.num_calls(), 1);
    }
}

mod merge {
    use super::*;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use idlink::store::accounts::{AccountStore, LinkProof, Merge};

    /// A live user's partition as a Query answers it: profile and one identity.
    fn partition(project: ProjectId, user: UserId, custom: &str) -> QueryOutput {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let profile = HashMap::from([
            ("PK".to_owned(), s(&format!("USER#{user}"))),
            ("SK".to_owned(), s("PROFILE")),
            ("kind".to_owned(), s("user")),
            ("project".to_owned(), s(&project.to_string())),
            ("custom_id".to_owned(), s(custom)),
            ("attrs".to_owned(), AttributeValue::M(HashMap::new())),
            ("sv".to_owned(), n(0)),
            ("ver".to_owned(), n(1)),
            ("created".to_owned(), n(1)),
            ("updated".to_owned(), n(1)),
            ("last_login".to_owned(), n(1)),
        ]);
        let identity = HashMap::from([
            ("PK".to_owned(), s(&format!("USER#{user}"))),
            (
                "SK".to_owned(),
                s(&format!("IDENT#server_custom_id#{custom}")),
            ),
            ("kind".to_owned(), s("identity")),
            ("provider".to_owned(), s("server_custom_id")),
            ("subject".to_owned(), s(custom)),
        ]);
        QueryOutput::builder()
            .items(profile)
            .items(identity)
            .build()
    }

    async fn merge(
        write: &Rule,
        proof: bool,
    ) -> (idlink::Result<idlink::user::UserWithIdentities>, usize) {
        let project = ProjectId::new_random();
        let (a, b) = (UserId::new_random(), UserId::new_random());
        let query = mock!(Client::query).then_compute_output(move |req| {
            let pk = req.expression_attribute_values().unwrap()[":pk"]
                .as_s()
                .unwrap()
                .clone();
            if pk == format!("USER#{a}") {
                partition(project, a, "a")
            } else {
                partition(project, b, "b")
            }
        });
        let client: Client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            &[&query, write],
            |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        );
        let store = DynamoStore::new(client, "mocked");
        let cmd = Merge {
            project,
            primary: a,
            secondary: b,
            primary_session: None,
            secondary_session: None,
            proof: proof.then(|| LinkProof {
                jti: "j".into(),
                expires_at: 1,
            }),
            now: 2,
            by: Default::default(),
        };
        let out = store.merge(&cmd).await;
        (out, query.num_calls())
    }

    #[tokio::test]
    async fn a_merge_cancelled_midway_is_replanned_and_then_refused_cleanly() {
        // Item 4 (the secondary's profile) fails its version check every time: something keeps
        // changing the user. Each attempt re-reads both users; in the end the caller is told to
        // retry, and nothing was half-applied (DynamoDB cancels the whole transaction).
        let write = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&["None", "None", "None", "ConditionalCheckFailed", "None"]));
        let (out, reads) = merge(&write, false).await;
        assert!(matches!(out, Err(idlink::Error::Unavailable(_))), "{out:?}");
        assert!(write.num_calls() > 1, "retried");
        assert_eq!(
            reads,
            2 * write.num_calls(),
            "every attempt is planned from a fresh read"
        );
    }

    #[tokio::test]
    async fn a_spent_link_proof_cancels_the_merge() {
        let write = mock!(Client::transact_write_items).then_error(|| {
            // One identity moved (3 items), both profiles, both audit records, then the proof.
            cancelled(&[
                "None",
                "None",
                "None",
                "None",
                "None",
                "None",
                "None",
                "ConditionalCheckFailed",
            ])
        });
        let (out, _) = merge(&write, true).await;
        assert!(
            matches!(out, Err(idlink::Error::InvalidLinkWith(_))),
            "{out:?}"
        );
        assert_eq!(write.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_throttled_merge_is_a_retryable_answer() {
        let write = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(throttled())
        });
        let (out, _) = merge(&write, false).await;
        assert!(matches!(out, Err(idlink::Error::Unavailable(_))));
        assert_eq!(write.num_calls(), 1);
    }
}
