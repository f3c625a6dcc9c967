//! A custom ID change against first logins with the new custom ID, through the real handlers on
//! the local DynamoDB API (issue 14): whichever write lands first, exactly one user holds the new
//! custom ID, every marker points at a live user that holds it, and no caller sees a 5xx.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;

use idlink::client::Scope;
use idlink::function::{App, answer};
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, login_user, test_tokens};
use idlink::user::User;
use idlink_tests::{assert_identity_invariants, fresh_store, kind, post, scan, text};
use lambda_http::http;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};

const LOGINS: usize = 12;
const CHANGES: usize = 3;
/// How long the logins of each round wait after the start: from none (the logins usually win,
/// as a change reads twice before it writes) to a head start for the change (it usually wins,
/// and the logins meet it mid-write).
const LOGIN_DELAYS_MS: [u64; 6] = [0, 0, 5, 15, 40, 300];

enum Call {
    /// A login, after a delay in milliseconds.
    Login(Request, u64),
    Change(Request),
}

fn change_request(seed: &Seed, token: &str, user: &User, custom: &str) -> Request {
    let (project, id) = (seed.project.id.to_string(), user.id.to_string());
    let req: Request = http::Request::builder()
        .method("PUT")
        .uri(format!("/projects/{project}/users/{id}/server_custom_id"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(
            json!({ "server_custom_id": custom }).to_string(),
        ))
        .unwrap();
    req.with_path_parameters(std::collections::HashMap::from([
        ("project_id".to_owned(), project),
        ("user_id".to_owned(), id),
    ]))
}

/// Serves every call at once; answers (was it a change, status, JSON body or `Null`) in order.
async fn race(app: &Arc<App<DynamoStore>>, calls: Vec<Call>) -> Vec<(bool, u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(calls.len()));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let (app, barrier) = (app.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let (is_change, resp) = match call {
                    Call::Login(req, delay) => {
                        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                        let handled = auth_custom_id::handler::handle(&app, &req);
                        (false, answer::<auth_custom_id::Family>(handled).await)
                    }
                    Call::Change(req) => (
                        true,
                        answer::<change_custom_id::Family>(change_custom_id::handler::handle(
                            &app, &req,
                        ))
                        .await,
                    ),
                };
                let status = resp.status().as_u16();
                let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
                (is_change, status, body)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_custom_id_change_against_first_logins_with_the_new_id_leaves_one_holder() {
    let store = fresh_store().await;
    let seed = Seed::create(&store, None).await;
    let tokens = test_tokens();
    let token = seed.server_token(&tokens, &Scope::ALL);
    let app = Arc::new(App {
        store: store.clone(),
        tokens: tokens.into(),
    });
    let mut changed_rounds = 0;
    for (round, delay) in LOGIN_DELAYS_MS.into_iter().enumerate() {
        let (old, new) = (format!("old-{round}"), format!("contested-{round}"));
        let user = login_user(&store, &seed, &old).await;
        let mut calls: Vec<Call> = (0..LOGINS)
            .map(|_| {
                Call::Login(
                    post(
                        "/users/login/server_custom_id",
                        &token,
                        &json!({ "server_custom_id": new }),
                    ),
                    delay,
                )
            })
            .collect();
        // The changes in the middle of the logins, so neither kind always starts first.
        for i in 0..CHANGES {
            let at = (i + 1) * LOGINS / (CHANGES + 1) + i;
            calls.insert(at, Call::Change(change_request(&seed, &token, &user, &new)));
        }

        let answers = race(&app, calls).await;

        // Every caller got an answer it can act on, never a 5xx.
        let mut holders = HashSet::new();
        let mut changes_done = 0;
        for (is_change, status, body) in &answers {
            if *is_change {
                match status {
                    204 => changes_done += 1,
                    422 => assert_eq!(body["error"]["code"], "010-016", "{body}"),
                    other => panic!("round {round}: change answered {other}: {body}"),
                }
            } else {
                assert_eq!(*status, 200, "round {round}: login answered {body}");
                let verified = app
                    .tokens
                    .verify_user_token(body["token"].as_str().unwrap())
                    .unwrap();
                holders.insert(verified.user);
            }
        }
        // Exactly one user holds the new custom ID: every login got that user, and it is the
        // changed user exactly when a change went through (then all of them did: the later ones
        // found nothing to change).
        assert_eq!(holders.len(), 1, "round {round}: {answers:?}");
        let holder = *holders.iter().next().unwrap();
        if changes_done > 0 {
            assert_eq!(changes_done, CHANGES, "round {round}: {answers:?}");
            assert_eq!(holder, user.id, "round {round}");
            changed_rounds += 1;
        } else {
            assert_ne!(holder, user.id, "round {round}");
        }

        let items = scan(&store).await;
        assert_identity_invariants(&items);
        assert_markers_are_held(&items);
        let marker_of = |custom: &str| {
            kind(&items, "marker")
                .into_iter()
                .find(|m| text(m, "PK").ends_with(&format!("#server_custom_id#{custom}")))
                .map(|m| text(m, "user_id").to_owned())
        };
        let profile = kind(&items, "user")
            .into_iter()
            .find(|u| text(u, "PK") == format!("USER#{}", user.id))
            .unwrap();
        assert_eq!(marker_of(&new), Some(holder.to_string()), "round {round}");
        if holder == user.id {
            assert_eq!(text(profile, "custom_id"), new);
            assert_eq!(marker_of(&old), None, "the old custom ID is free");
        } else {
            assert_eq!(text(profile, "custom_id"), old);
            assert_eq!(
                marker_of(&old),
                Some(user.id.to_string()),
                "nothing changed"
            );
        }
    }
    eprintln!(
        "the change won {changed_rounds} of {} rounds",
        LOGIN_DELAYS_MS.len()
    );
    // Both orders happened: a 300 ms head start is ample for the change's three round trips.
    assert!(changed_rounds > 0, "the change never went first");
}

/// Each marker's user holds the identity (its identity item), and each live profile's custom ID
/// has a marker pointing back at it.
fn assert_markers_are_held(items: &[idlink_tests::Item]) {
    let identities: HashSet<(String, String)> = kind(items, "identity")
        .into_iter()
        .map(|i| (text(i, "PK").to_owned(), text(i, "SK").to_owned()))
        .collect();
    for marker in kind(items, "marker") {
        // IDENT#<project>#<provider>#<subject>: the identity item's SK is IDENT#<provider>#<subject>.
        let pk = text(marker, "PK");
        let rest = pk.splitn(3, '#').nth(2).unwrap();
        let held = (
            format!("USER#{}", text(marker, "user_id")),
            format!("IDENT#{rest}"),
        );
        assert!(
            identities.contains(&held),
            "marker {pk} names a user without the identity"
        );
    }
    let markers: HashSet<(String, String)> = kind(items, "marker")
        .into_iter()
        .map(|m| (text(m, "PK").to_owned(), text(m, "user_id").to_owned()))
        .collect();
    for user in kind(items, "user") {
        if user.contains_key("merged_into") || !user.contains_key("custom_id") {
            continue;
        }
        let id = text(user, "PK").trim_start_matches("USER#");
        let marker = format!(
            "IDENT#{}#server_custom_id#{}",
            text(user, "project"),
            text(user, "custom_id")
        );
        assert!(
            markers.contains(&(marker.clone(), id.to_owned())),
            "user {id}'s custom ID has no marker pointing back ({marker})"
        );
    }
}
