//! Partner identifiers through the real handlers on the local DynamoDB API: the 50-user race, the
//! catalog, and the promise that no raw identifier reaches the table or the logs.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink_tests::status_and_body;

use idlink::function::answer;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use idlink::partner::{ApiKeyHash, generate_api_key};
use idlink::store::ApiKeyStore;
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, login_user, test_key_json, tokens_from};
use idlink_tests::{assert_identity_invariants, fresh_store, kind, scan, text};
use lambda_http::http;
use lambda_http::{Body, Request};
use serde_json::{Value, json};

/// Every identifier these tests send: none may appear in the table or the logs.
const IDENTIFIERS: [&str; 3] = [
    "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8",
    "RaceRaceRaceRaceRaceRaceRaceRaceRaceRace42",
    "UnlinkedUnlinkedUnlinkedUnlinkedUnlinked7",
];

struct Stack {
    store: DynamoStore,
    seed: Seed,
    link: Arc<idlink::function::App<DynamoStore>>,
    resolve: idlink::function::App<DynamoStore>,
    api_key: String,
}

async fn stack() -> Stack {
    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let keys = test_key_json();
    let api_key = generate_api_key().unwrap();
    store
        .put_api_key(&ApiKeyHash::of(&api_key), seed.project.id)
        .await
        .unwrap();
    Stack {
        link: Arc::new(idlink::function::App {
            store: store.clone(),
            tokens: tokens_from(&keys).into(),
        }),
        resolve: idlink::function::App {
            store: store.clone(),
            tokens: tokens_from(&keys).into(),
        },
        store,
        seed,
        api_key,
    }
}

fn link_request(user_token: &str, identifier: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/api/v2/user/link-identifier")
        .header("authorization", format!("Bearer {user_token}"))
        .body(Body::from(json!({ "identifier": identifier }).to_string()))
        .unwrap()
}

impl Stack {
    async fn user_token(&self, custom_id: &str) -> (String, String) {
        let user = login_user(&self.store, &self.seed, custom_id).await;
        let token = self
            .link
            .tokens
            .issue_user_token(&user, None, None, idlink::clock::now())
            .unwrap();
        (user.id.to_string(), token)
    }

    async fn resolve(&self, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut b = http::Request::builder().method("GET").uri("/api/v2/user");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        status_and_body(
            answer::<resolve_identifier::Family>(resolve_identifier::handler::handle(
                &self.resolve,
                &b.body(Body::Empty).unwrap(),
            ))
            .await,
        )
    }
}

/// Log lines written while `f` runs, at every level idlink emits.
async fn capture_logs<F: std::future::Future<Output = ()>>(f: F) -> String {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    f.await;
    String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_users_racing_for_one_identifier_leave_one_owner() {
    let s = stack().await;
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(s.user_token(&format!("player-{i}")).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(users.len()));
    let tasks: Vec<_> = users
        .iter()
        .map(|(_, token)| {
            let (app, barrier, req) = (
                s.link.clone(),
                barrier.clone(),
                link_request(token, IDENTIFIERS[1]),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                status_and_body(
                    answer::<link_identifier::Family>(link_identifier::handler::handle(&app, &req))
                        .await,
                )
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let winners: Vec<usize> = (0..50).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let losers: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert_eq!(losers.len(), 49);
    for (status, body) in losers {
        assert_eq!(
            (*status, body["code"].as_str()),
            (409, Some("ER706")),
            "{body}"
        );
    }
    let items = scan(&s.store).await;
    let markers: Vec<_> = kind(&items, "marker")
        .into_iter()
        .filter(|m| text(m, "PK").contains("#partner#"))
        .collect();
    assert_eq!(markers.len(), 1);
    assert_eq!(text(markers[0], "user_id"), users[winners[0]].0);
    assert_identity_invariants(&items);

    // The partner resolves the winner by the identifier.
    let (status, body) = s
        .resolve(&[
            ("x-api-key", &s.api_key),
            ("user-identifier", IDENTIFIERS[1]),
        ])
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some(users[winners[0]].0.as_str()))
    );
}

#[tokio::test]
async fn no_raw_identifier_in_the_table_or_the_logs() {
    let s = stack().await;
    let logs = capture_logs(async {
        let (_, me) = s.user_token("me").await;
        let (_, other) = s.user_token("other").await;
        for (token, id, status) in [
            (&me, IDENTIFIERS[0], 200),
            (&me, IDENTIFIERS[0], 200),
            (&other, IDENTIFIERS[0], 409),
            (&me, IDENTIFIERS[1], 409),
            (&me, &IDENTIFIERS[1][..20], 400),
        ] {
            let (got, _) = status_and_body(
                answer::<link_identifier::Family>(link_identifier::handler::handle(
                    &s.link,
                    &link_request(token, id),
                ))
                .await,
            );
            assert_eq!(got, status);
        }
        let key = s.api_key.clone();
        for (id, status) in [
            (IDENTIFIERS[0], 200),
            (IDENTIFIERS[2], 404),
            ("bad-id", 400),
        ] {
            assert_eq!(
                s.resolve(&[("x-api-key", &key), ("user-identifier", id)])
                    .await
                    .0,
                status
            );
        }
    })
    .await;
    assert!(
        logs.contains("request refused"),
        "the capture saw the handlers' logs: {logs}"
    );
    let table = format!("{:?}", scan(&s.store).await);
    for id in IDENTIFIERS {
        assert!(!table.contains(id), "raw identifier in the table");
        assert!(!logs.contains(id), "raw identifier in the logs");
        assert!(
            !logs.contains(&id[..20]),
            "part of a raw identifier in the logs"
        );
    }
    assert!(!table.contains("bad-id") && !logs.contains("bad-id"));
    assert!(!logs.contains(&s.api_key), "no API key in the logs");
}

#[tokio::test]
async fn a_merged_user_gets_er709() {
    let s = stack().await;
    let (survivor, _) = s.user_token("survivor").await;
    let (merged, token) = s.user_token("merged").await;
    // A merge turns the secondary into a tombstone pointing at the primary.
    s.store
        .client()
        .update_item()
        .table_name(s.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{merged}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()),
        )
        .update_expression("SET merged_into = :p")
        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(survivor))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(
        answer::<link_identifier::Family>(link_identifier::handler::handle(
            &s.link,
            &link_request(&token, IDENTIFIERS[0]),
        ))
        .await,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("ER709")),
        "{body}"
    );
    let bearer = format!("Bearer {token}");
    let (status, body) = s
        .resolve(&[("x-api-key", &s.api_key), ("user-authorization", &bearer)])
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ER709")));
    let items = scan(&s.store).await;
    assert!(
        kind(&items, "marker")
            .iter()
            .all(|m| !text(m, "PK").contains("#partner#"))
    );
}

/// Every code of the reference page is provoked by some fixture, except ER708, which the partner
/// error table explains (idlink has no documents to review).
#[test]
fn every_catalog_code_has_a_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let reference =
        std::fs::read_to_string(root.join("../shared/reference/partner-link-identifier.txt"))
            .unwrap_or_default();
    let mut catalog: BTreeSet<String> = [
        "ER053", "ER102", "ER700", "ER701", "ER702", "ER703", "ER704", "ER705", "ER706", "ER707",
        "ER708", "ER709", "ER800", "ER801", "ER802", "ER803", "ER805", "ER806", "ER999",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for code in &catalog {
        assert!(
            reference.is_empty() || reference.contains(code.as_str()),
            "{code} not in the reference"
        );
    }
    let mut covered = BTreeSet::new();
    for dir in ["link-identifier", "resolve-identifier"] {
        for (name, _) in idlink::testing::fixtures(&root.join("events").join(dir)) {
            if let Some(code) = idlink::testing::expected_partner_code(&name) {
                covered.insert(code.to_owned());
            }
        }
    }
    catalog.remove("ER708");
    assert_eq!(covered, catalog);
    let errors = std::fs::read_to_string(root.join("docs/clients-and-errors.md")).unwrap();
    assert!(
        errors.contains("| ER708 | — | cannot arise"),
        "docs/clients-and-errors.md says why ER708 cannot arise"
    );
}
