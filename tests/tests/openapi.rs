//! The OpenAPI document (docs/openapi.yaml) cannot drift from the code: every `events/` fixture
//! of every routed function is served by its handler (as its own fixture test does), and the
//! exchange — the fixture's request and the handler's answer — is validated against the document
//! by openapi-core (tests/openapi/check_exchanges.py, in `.venv` by scripts/venv.sh): the request
//! matches an operation (parameters, body schema, security), the answer's status is listed for
//! it, and its content type and body match. Requests the fixture means to be refused for their
//! input (400, 401) may fail request validation; every other request must pass it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use idlink::function::answer;
use idlink::testing::{fill, fixture_cases};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `events/<function>/` of every routed function (a function without fixtures has no directory;
/// the stream-fed `events` function's fixtures are stream records, not HTTP requests).
fn functions_with_fixtures() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "events")
        .collect();
    out.sort();
    out
}

async fn exchanges() -> Vec<Value> {
    let mut out = Vec::new();
    for function in functions_with_fixtures() {
        for case in fixture_cases(&function, 1).await {
            let resp = if case.status() == 500 {
                // The ER999 fixtures: the same request against a store that fails every call.
                let broken = case.broken();
                match function.as_str() {
                    "link-identifier" => {
                        answer::<link_identifier::Family>(link_identifier::handler::handle(
                            &broken,
                            &case.request,
                        ))
                        .await
                    }
                    "resolve-identifier" => {
                        answer::<resolve_identifier::Family>(resolve_identifier::handler::handle(
                            &broken,
                            &case.request,
                        ))
                        .await
                    }
                    other => panic!("{other}: no broken-store fixture expected"),
                }
            } else {
                idlink_tests::serve!(function.as_str(), &case.app, &case.request)
            };
            assert_eq!(
                resp.status().as_u16(),
                case.status(),
                "{function}/{}",
                case.name
            );
            let text =
                std::fs::read_to_string(root().join("events").join(&function).join(&case.name))
                    .unwrap();
            let event: Value = serde_json::from_str(&fill(&text, &case.values)).unwrap();
            let headers: serde_json::Map<String, Value> = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap())))
                .collect();
            out.push(json!({
                "function": function,
                "fixture": case.name,
                "event": event,
                "status": resp.status().as_u16(),
                "headers": headers,
                "body": String::from_utf8(resp.body().as_ref().to_vec()).unwrap(),
            }));
        }
    }
    out
}

fn python() -> PathBuf {
    std::env::var_os("IDLINK_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

#[tokio::test]
async fn every_fixture_exchange_validates_against_the_document() {
    let exchanges = exchanges().await;
    let functions: std::collections::BTreeSet<&str> = exchanges
        .iter()
        .map(|e| e["function"].as_str().unwrap())
        .collect();
    assert!(functions.contains("openapi") && functions.contains("oauth-token"));
    let file = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("openapi-exchanges-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&exchanges).unwrap()).unwrap();
    let python = python();
    assert!(
        python.exists(),
        "{} missing: run scripts/venv.sh (it installs openapi-core), or set IDLINK_TEST_PYTHON",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg(root().join("tests/openapi/check_exchanges.py"))
        .arg(root().join("docs/openapi.yaml"))
        .arg(&file)
        .output()
        .expect("run the validator");
    let _ = std::fs::remove_file(&file);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!("{} exchanges valid", exchanges.len())),
        "{report}"
    );
    println!("{report}");
}
