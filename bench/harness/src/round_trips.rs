//! DynamoDB round trips per operation through the real adapter against the local DynamoDB API,
//! recorded on the wire by the integration tests' `Recorder` (tests/tests/policies.rs holds the
//! same budgets as assertions in `make test`).

use idlink::client::Scope;
use idlink::function::answer;
use idlink::testing::{Seed, login_user, test_tokens};
use idlink_tests::recording_store;
use lambda_http::http;
use lambda_http::{Body, Request, RequestExt};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Trips {
    pub operation: &'static str,
    pub calls: Vec<String>,
    pub budget: &'static str,
    pub within: bool,
}

fn reads(calls: &[String]) -> usize {
    calls
        .iter()
        .filter(|c| matches!(c.as_str(), "GetItem" | "BatchGetItem" | "Query"))
        .count()
}

pub async fn measure() -> Vec<Trips> {
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    let tokens = test_tokens();
    let token = seed.server_token(&tokens, &Scope::ALL);
    let linked_user = login_user(&store, &seed, "rt-link").await;
    let login_app = idlink::function::App {
        store: store.clone(),
        tokens: tokens.into(),
    };
    let link_tokens = test_tokens();
    let link_token = seed.server_token(&link_tokens, &Scope::ALL);
    let link_app = idlink::function::App {
        store,
        tokens: link_tokens.into(),
    };
    recorder.take();
    let request = |uri: &str, token: &str, body: String, query: Option<(&str, &str)>| -> Request {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body))
            .expect("request");
        match query {
            None => req,
            Some((k, v)) => req.with_query_string_parameters(
                [(k.to_owned(), v.to_owned())]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            ),
        }
    };
    let login = r#"{"server_custom_id":"rt-player"}"#.to_owned();
    let mut calls = Vec::new();
    for query in [None, None, Some(("with_logout", "1"))] {
        let req = request(
            "/users/login/server_custom_id",
            &token,
            login.clone(),
            query,
        );
        let resp =
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&login_app, &req))
                .await;
        assert_eq!(resp.status(), 200, "login through the adapter");
        calls.push(ops(&recorder));
    }
    let body =
        serde_json::json!({"user_id": linked_user.id.to_string(), "external_account_id": "rt-ext"});
    let req = request(
        "/users/account/link_external_id",
        &link_token,
        body.to_string(),
        None,
    );
    let resp =
        answer::<link_external_id::Family>(link_external_id::handler::handle(&link_app, &req))
            .await;
    assert_eq!(resp.status(), 200, "link through the adapter");
    calls.push(ops(&recorder));

    // With an Idempotency-Key: a first login (its answer kept in the same transaction), then
    // the same request again (answered from the kept answer).
    for _ in 0..2 {
        let mut req = request(
            "/users/login/server_custom_id",
            &token,
            r#"{"server_custom_id":"rt-keyed"}"#.to_owned(),
            None,
        );
        req.headers_mut().insert(
            idlink::idempotency::HEADER,
            http::HeaderValue::from_static("rt-keyed-login"),
        );
        let resp =
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&login_app, &req))
                .await;
        assert_eq!(resp.status(), 200, "keyed login through the adapter");
        calls.push(ops(&recorder));
    }

    // An audited merge (Auth0 link of an identity another user holds), without and with a key.
    for (i, key) in [None, Some("rt-keyed-merge")].into_iter().enumerate() {
        let primary = login_user(&login_app.store, &seed, &format!("rt-primary-{i}")).await;
        let steam = format!("rt-merge-{i}");
        idlink::testing::login_social(
            &login_app.store,
            seed.project.id,
            &format!("rt-secondary-{i}"),
            Some(("steam", steam.as_str())),
        )
        .await;
        recorder.take();
        let id = primary.id.to_string();
        let mut req = idlink::testing::api_request(
            "POST",
            &format!("/api/v2/users/{id}/identities"),
            &[("id", id.as_str())],
            &token,
            Some(&serde_json::json!({"provider": "steam", "user_id": steam})),
        );
        if let Some(key) = key {
            req.headers_mut().insert(
                idlink::idempotency::HEADER,
                http::HeaderValue::from_static(key),
            );
        }
        let resp =
            answer::<link_identity::Family>(link_identity::handler::handle(&login_app, &req)).await;
        assert_eq!(resp.status(), 201, "merge through the adapter");
        calls.push(ops(&recorder));
    }

    // Lookups: 250 players by custom ID, the first 50 with a Steam account.
    for i in 0..250 {
        let steam = format!("7656{i}");
        idlink::testing::login_social(
            &login_app.store,
            seed.project.id,
            &format!("rt-c{i}"),
            (i < 50).then_some(("steam", steam.as_str())),
        )
        .await;
    }
    recorder.take();
    let pairs: Vec<_> = (0..50)
        .map(|i| serde_json::json!({"platform": "steam", "user_id": format!("7656{i}")}))
        .collect();
    let req = request(
        "/users/linking_info",
        &token,
        serde_json::json!({ "users": pairs }).to_string(),
        None,
    );
    let resp =
        answer::<linking_info::Family>(linking_info::handler::handle(&login_app, &req)).await;
    assert_eq!(resp.status(), 200, "linking_info through the adapter");
    calls.push(ops(&recorder));
    let ids: Vec<String> = (0..250).map(|i| format!("rt-c{i}")).collect();
    let req = request(
        "/attributes/custom_id/get",
        &token,
        serde_json::json!({ "server_custom_ids": ids }).to_string(),
        None,
    );
    let resp = answer::<attributes_by_custom_id::Family>(attributes_by_custom_id::handler::handle(
        &login_app, &req,
    ))
    .await;
    assert_eq!(
        resp.status(),
        200,
        "attributes by custom ID through the adapter"
    );
    calls.push(ops(&recorder));

    let [
        first,
        returning,
        logout,
        link,
        keyed_login,
        replay,
        merge,
        keyed_merge,
        linking_info,
        attributes,
    ]: [Vec<String>; 10] = calls.try_into().expect("ten operations");
    let one_tx =
        |calls: &[String]| calls.iter().filter(|c| *c == "TransactWriteItems").count() == 1;
    vec![
        Trips {
            operation: "first login",
            within: first.iter().filter(|c| *c == "TransactWriteItems").count() == 1
                && reads(&first) <= 1
                && first.len() <= 2,
            calls: first,
            budget: "1 TransactWriteItems + ≤1 read",
        },
        Trips {
            operation: "returning login",
            within: returning.len() <= 2,
            calls: returning,
            budget: "≤ 2",
        },
        Trips {
            operation: "login with_logout=1",
            within: logout.len() <= 2,
            calls: logout,
            budget: "≤ 2",
        },
        Trips {
            operation: "link external id",
            within: link == ["TransactWriteItems"],
            calls: link,
            budget: "1 transaction",
        },
        Trips {
            operation: "first login, Idempotency-Key",
            within: one_tx(&keyed_login) && keyed_login.len() <= 3,
            calls: keyed_login,
            budget: "+1 GetItem (the key's record)",
        },
        Trips {
            operation: "the same login again (replay)",
            within: replay == ["GetItem"],
            calls: replay,
            budget: "1 GetItem",
        },
        Trips {
            operation: "merge (Auth0 link, audited in both logs)",
            within: one_tx(&merge) && reads(&merge) <= 3 && merge.len() <= 4,
            calls: merge,
            budget: "≤ 3 reads (holder, both users) + 1 transaction",
        },
        Trips {
            operation: "merge, Idempotency-Key",
            within: one_tx(&keyed_merge) && reads(&keyed_merge) <= 4 && keyed_merge.len() <= 5,
            calls: keyed_merge,
            budget: "+1 GetItem",
        },
        Trips {
            operation: "linking_info, 50 pairs",
            within: linking_info == ["BatchGetItem"; 2],
            calls: linking_info,
            budget: "2 BatchGetItem (markers, profiles)",
        },
        Trips {
            operation: "attributes by custom ID, 250 IDs",
            within: attributes == ["BatchGetItem"; 6],
            calls: attributes,
            budget: "6 BatchGetItem (100 keys a call)",
        },
    ]
}

fn ops(recorder: &idlink_tests::Recorder) -> Vec<String> {
    recorder.take().into_iter().map(|c| c.operation).collect()
}
