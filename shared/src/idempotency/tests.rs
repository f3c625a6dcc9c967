use super::*;
use crate::testing::api_request;
use serde_json::json;

fn keyed(key: &str, body: serde_json::Value) -> Request {
    let mut req = api_request("POST", "/users/x?a=1", &[], "tok", Some(&body));
    req.headers_mut()
        .insert(HEADER, HeaderValue::from_str(key).unwrap());
    req
}

fn claim(req: &Request, caller: &str) -> Claim {
    Claim::from_request(req, caller, 1_000).unwrap().unwrap()
}

fn ok_answer() -> Response<Body> {
    crate::http::request::json_response(StatusCode::CREATED, &json!({ "token": "t" }))
}

#[test]
fn no_header_is_no_claim() {
    let req = api_request("POST", "/x", &[], "", Some(&json!({})));
    assert!(Claim::from_request(&req, "c", 0).unwrap().is_none());
}

#[test]
fn malformed_keys_are_refused() {
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    for bad in ["", "  ", "\"\"", "a b", "a\"b", long.as_str()] {
        let req = keyed(bad, json!({}));
        let err = Claim::from_request(&req, "c", 0).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { field, .. } if field == "Idempotency-Key"),
            "{bad:?}: {err:?}"
        );
    }
    let mut twice = keyed("a", json!({}));
    twice
        .headers_mut()
        .append(HEADER, HeaderValue::from_static("b"));
    assert!(Claim::from_request(&twice, "c", 0).is_err());
    let longest = "k".repeat(MAX_KEY_BYTES);
    assert!(Claim::from_request(&keyed(&longest, json!({})), "c", 0).is_ok());
}

#[test]
fn a_quoted_key_is_the_bare_key() {
    let bare = claim(&keyed("8e03978e-40d5", json!({})), "c");
    let quoted = claim(&keyed("\"8e03978e-40d5\"", json!({})), "c");
    assert_eq!(bare.slot, quoted.slot);
}

#[test]
fn one_key_of_two_callers_is_two_slots() {
    let req = keyed("k1", json!({}));
    assert_ne!(
        claim(&req, "p/client/a").slot,
        claim(&req, "p/client/b").slot
    );
    assert_ne!(
        claim(&req, "p/client/a").slot,
        claim(&keyed("k2", json!({})), "p/client/a").slot
    );
}

#[test]
fn the_answer_opens_for_the_same_request_only() {
    let first = keyed("k", json!({ "a": 1 }));
    let c = claim(&first, "caller");
    let record = Once::fixed(c.clone(), &ok_answer()).record(&()).unwrap();
    assert_eq!(record.expires_at, 1_000 + LIFETIME_SECS);
    // Not the answer in clear, nor the key.
    let clear = String::from_utf8_lossy(&record.sealed);
    assert!(!clear.contains("token") && !clear.contains("\"k\""));

    let again = claim(&keyed("k", json!({ "a": 1 })), "caller");
    let answer = again.open(&record.sealed).unwrap();
    assert_eq!(answer, Answer::of(&ok_answer()));
    let replay = answer.replay();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()[REPLAYED_HEADER], "true");
    assert_eq!(replay.headers()[header::CONTENT_TYPE], "application/json");

    let other_body = claim(&keyed("k", json!({ "a": 2 })), "caller");
    assert!(matches!(
        other_body.open(&record.sealed),
        Err(Error::IdempotencyKeyReused)
    ));
    let mut other_path = api_request("POST", "/users/y?a=1", &[], "tok", Some(&json!({ "a": 1 })));
    other_path
        .headers_mut()
        .insert(HEADER, HeaderValue::from_static("k"));
    assert!(matches!(
        claim(&other_path, "caller").open(&record.sealed),
        Err(Error::IdempotencyKeyReused)
    ));
    // Another caller's claim cannot open it at all.
    assert!(claim(&first, "someone else").open(&record.sealed).is_err());
}

#[test]
fn an_answer_made_from_the_outcome_is_kept_as_made() {
    let c = claim(&keyed("k", json!({})), "caller");
    let once = Once::from_outcome(c.clone(), |n: &u32| {
        Ok(crate::http::request::json_response(
            StatusCode::OK,
            &json!({ "n": n }),
        ))
    });
    let kept = once.kept();
    let record = once.record(&7u32).unwrap();
    assert_eq!(c.open(&record.sealed).unwrap().body, r#"{"n":7}"#);
    let given = kept.or_else(|| panic!("the kept answer is given")).unwrap();
    assert_eq!(Answer::of(&given).body, r#"{"n":7}"#);
    assert!(!given.headers().contains_key(REPLAYED_HEADER));
    // The wrong outcome type is an internal error, not a wrong answer.
    assert!(matches!(once.record(&"x"), Err(Error::Internal(_))));
    // Without a key nothing is kept.
    let fresh = Kept::default()
        .or_else(|| Ok(Response::new(Body::Empty)))
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[test]
fn the_query_is_the_same_in_any_order_but_not_with_other_values() {
    let at = |uri: &str| {
        let mut req = api_request("POST", uri, &[], "tok", Some(&json!({})));
        req.headers_mut()
            .insert(HEADER, HeaderValue::from_static("k"));
        claim(&req, "caller")
    };
    let record = Once::fixed(at("/login?a=1&b=2"), &ok_answer())
        .record(&())
        .unwrap();
    assert!(at("/login?b=2&a=1").open(&record.sealed).is_ok());
    assert!(matches!(
        at("/login?a=1&b=3").open(&record.sealed),
        Err(Error::IdempotencyKeyReused)
    ));
    assert!(matches!(
        at("/login?a=1").open(&record.sealed),
        Err(Error::IdempotencyKeyReused)
    ));
}
