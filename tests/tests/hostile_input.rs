//! Hostile input is boring (issue 12, item 9): arbitrary bytes, arbitrary JSON, fields of the
//! right name holding the wrong thing, and hostile headers (garbage, non-UTF-8, oversized,
//! duplicated, tokens of the wrong kind) sent to every handler. Never a panic and never a 5xx;
//! every refusal in its family's envelope; a refused request writes nothing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::function::App;
use std::collections::HashMap;

use idlink::store::memory::MemoryStore;
use idlink::testing::{Seed, fill, seed_partner, seeded_memory_store, test_tokens};
use lambda_http::http::{self, HeaderValue};
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    OAuth,
    Xsolla,
    Partner,
    Auth0,
    /// No refusal at all (a public document: the key set, the OpenAPI document).
    Jwks,
}

#[derive(Debug, Clone, Copy)]
struct Target {
    function: &'static str,
    family: Family,
    method: &'static str,
    path_params: &'static [&'static str],
    /// Body fields the handler reads: a generated body often names them, with anything inside.
    fields: &'static [&'static str],
    query: &'static [&'static str],
    /// The right credentials, as `(header, value)` templates over the seeded `${NAME}`s: most
    /// cases carry them, so the generated input reaches the parsing and store paths behind them.
    creds: &'static [(&'static str, &'static str)],
    /// A body the handler accepts (template), which cases then mutate.
    good_body: &'static str,
    /// A path parameter value the handler accepts, per entry of `path_params` (template).
    good_path: &'static [&'static str],
}

/// A public GET without credentials, parameters or body (the key set, the OpenAPI document): it
/// answers 200 to anything.
const fn public_document(function: &'static str) -> Target {
    Target {
        function,
        family: Family::Jwks,
        method: "GET",
        path_params: &[],
        fields: &[],
        query: &[],
        creds: &[],
        good_body: "",
        good_path: &[],
    }
}

const TARGETS: &[Target] = &[
    Target {
        function: "oauth-token",
        family: Family::OAuth,
        method: "POST",
        path_params: &[],
        fields: &[
            "grant_type",
            "client_id",
            "client_secret",
            "scope",
            "audience",
            "subject_token",
            "subject_token_type",
            "actor_token",
            "actor_token_type",
            "requested_token_type",
        ],
        query: &[],
        creds: &[("content-type", "application/x-www-form-urlencoded")],
        good_body: r#"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}&subject_token=${USER_TOKEN}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"#,
        good_path: &[],
    },
    public_document("jwks"),
    public_document("openapi"),
    Target {
        function: "auth-custom-id",
        family: Family::Xsolla,
        method: "POST",
        path_params: &[],
        fields: &[
            "server_custom_id",
            "social_profile",
            "attributes",
            "user_profile",
        ],
        query: &[
            "projectId",
            "publisher_project_id",
            "with_logout",
            "payload",
        ],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: r#"{"server_custom_id":"hostile-player","social_profile":{"platform":"steam","user_id":"7"},"attributes":[{"key":"k","value":"v","attr_type":"server","permission":"public"}],"user_profile":{"nickname":"n"}}"#,
        good_path: &[],
    },
    Target {
        function: "link-external-id",
        family: Family::Xsolla,
        method: "POST",
        path_params: &[],
        fields: &["user_id", "external_account_id"],
        query: &["publisher_project_id"],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: r#"{"user_id":"${USER_ID}","external_account_id":"hostile-ext"}"#,
        good_path: &[],
    },
    Target {
        function: "get-me",
        family: Family::Xsolla,
        method: "GET",
        path_params: &[],
        fields: &[],
        query: &[],
        creds: &[("authorization", "Bearer ${USER_TOKEN}")],
        good_body: "",
        good_path: &[],
    },
    Target {
        function: "link-identifier",
        family: Family::Partner,
        method: "POST",
        path_params: &[],
        fields: &["identifier", "user_id"],
        query: &[],
        creds: &[("authorization", "Bearer ${USER_TOKEN}")],
        good_body: r#"{"identifier":"0123456789abcdef0123456789abcdef"}"#,
        good_path: &[],
    },
    Target {
        function: "resolve-identifier",
        family: Family::Partner,
        method: "GET",
        path_params: &[],
        fields: &[],
        query: &[],
        creds: &[
            ("x-api-key", "${API_KEY}"),
            ("user-identifier", "${PARTNER_IDENTIFIER}"),
        ],
        good_body: "",
        good_path: &[],
    },
    Target {
        function: "get-user",
        family: Family::Auth0,
        method: "GET",
        path_params: &["id"],
        fields: &[],
        query: &[],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${USER_ID}"],
    },
    Target {
        function: "user-logs",
        family: Family::Auth0,
        method: "GET",
        path_params: &["id"],
        fields: &[],
        query: &["page", "per_page", "include_totals", "sort"],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${USER_ID}"],
    },
    Target {
        function: "link-identity",
        family: Family::Auth0,
        method: "POST",
        path_params: &["id"],
        fields: &["provider", "user_id", "connection_id", "link_with"],
        query: &[],
        creds: &[("authorization", "Bearer ${USER_LINK_TOKEN}")],
        good_body: r#"{"link_with":"${LINK_WITH_TOKEN}"}"#,
        good_path: &["${USER_ID}"],
    },
    Target {
        function: "unlink-identity",
        family: Family::Auth0,
        method: "DELETE",
        path_params: &["id", "provider", "user_id"],
        fields: &[],
        query: &[],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${LINKED_USER_ID}", "external_id", "${LINKED_EXTERNAL_ID}"],
    },
    Target {
        function: "write-attributes",
        family: Family::Xsolla,
        method: "POST",
        path_params: &["project_id", "server_custom_id"],
        fields: &[
            "publisher_id",
            "attributes",
            "publisher_project_id",
            "removing_keys",
        ],
        query: &[],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: r#"{"publisher_id":null,"attributes":[{"key":"k","value":"v","attr_type":"server","permission":"public"}],"removing_keys":["old"]}"#,
        good_path: &["${PROJECT_ID}", "fixture-user"],
    },
    Target {
        function: "change-custom-id",
        family: Family::Xsolla,
        method: "PUT",
        path_params: &["project_id", "user_id"],
        fields: &["server_custom_id"],
        query: &[],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: r#"{"server_custom_id":"hostile-renamed"}"#,
        good_path: &["${PROJECT_ID}", "${USER_ID}"],
    },
    Target {
        function: "delete-user",
        family: Family::Auth0,
        method: "DELETE",
        path_params: &["id"],
        fields: &[],
        query: &[],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${USER_ID}"],
    },
    Target {
        function: "delete-user-xsolla",
        family: Family::Xsolla,
        method: "DELETE",
        path_params: &["user_id"],
        fields: &[],
        query: &["projectId"],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${LINKED_USER_ID}"],
    },
    Target {
        function: "ban-user",
        family: Family::Xsolla,
        method: "POST",
        path_params: &["project_id", "user_id"],
        fields: &["reason", "date_from", "date_to"],
        query: &[],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: r#"{"reason":"Cheating","date_from":"2026-11-23T08:00:00+0000","date_to":"2099-01-01T00:00:00+0000"}"#,
        good_path: &["${PROJECT_ID}", "${USER_ID}"],
    },
    Target {
        function: "unban-user",
        family: Family::Xsolla,
        method: "DELETE",
        path_params: &["project_id", "user_id"],
        fields: &[],
        query: &[],
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        good_body: "",
        good_path: &["${PROJECT_ID}", "${USER_ID}"],
    },
    Target {
        function: "update-user",
        family: Family::Auth0,
        method: "PATCH",
        path_params: &["id"],
        fields: &["blocked", "app_metadata", "user_metadata", "nickname"],
        query: &[],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        good_body: r#"{"blocked":false,"app_metadata":{"tier":"gold"},"user_metadata":{"lang":"de"},"nickname":"N"}"#,
        good_path: &["${USER_ID}"],
    },
    Target {
        function: "attributes-by-custom-id",
        family: Family::Xsolla,
        method: "POST",
        // Only the body is read: two lists, the custom IDs and the keys.
        fields: &["server_custom_ids", "keys"],
        good_body: r#"{"server_custom_ids":["fixture-user","fixture-linked","nobody"],"keys":["level"]}"#,
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        path_params: &[],
        good_path: &[],
        query: &[],
    },
    Target {
        function: "list-users",
        family: Family::Auth0,
        method: "GET",
        // The query string is all it reads.
        query: &["q", "search_engine", "page", "per_page", "include_totals"],
        creds: &[("authorization", "Bearer ${SERVER_TOKEN}")],
        path_params: &[],
        fields: &[],
        good_path: &[],
        good_body: "",
    },
    Target {
        function: "linking-info",
        family: Family::Xsolla,
        method: "POST",
        creds: &[("x-server-authorization", "${SERVER_TOKEN}")],
        // Only the body is read: the pairs, and the project it may name.
        good_body: r#"{"users":[{"platform":"steam","user_id":"76561198"},{"platform":"xbox","user_id":4352354}],"project_id":"${PROJECT_ID}"}"#,
        fields: &["users", "project_id", "publisher_project_id"],
        query: &[],
        good_path: &[],
        path_params: &[],
    },
];

/// A value to send: fixed text, or one of the seeded values (tokens, ids, keys) by name.
#[derive(Debug, Clone)]
enum Text {
    Raw(String),
    Seeded(&'static str),
}

impl Text {
    fn resolve(&self, values: &HashMap<&'static str, String>) -> String {
        match self {
            Text::Raw(s) => s.clone(),
            Text::Seeded(name) => values.get(name).cloned().unwrap_or_default(),
        }
    }
}

const SEEDED: &[&str] = &[
    "SERVER_TOKEN",
    "SERVER_TOKEN_NO_SCOPE",
    "USER_TOKEN",
    "USER_LINK_TOKEN",
    "LINK_WITH_TOKEN",
    "LINKED_USER_TOKEN",
    "EXPIRED_USER_TOKEN",
    "EXPIRED_SERVER_TOKEN",
    "TOMBSTONED_USER_TOKEN",
    "USER_ID",
    "LINKED_USER_ID",
    "PROJECT_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "API_KEY",
    "PARTNER_IDENTIFIER",
    "LINKED_EXTERNAL_ID",
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,64}",
        "[a-z0-9_.-]{0,16}",
        Just("𝄞".repeat(256)),
        Just("a".repeat(5000)),
        Just("ab\u{202E}cd".to_owned()),
        Just("zero\u{200B}width".to_owned()),
        Just("\u{0}".to_owned()),
        Just("server_custom_id".to_owned()),
        Just("external_id".to_owned()),
        Just("partner".to_owned()),
    ]
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        hostile_string().prop_map(Text::Raw),
        prop::sample::select(SEEDED).prop_map(Text::Seeded),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum BodyShape {
    Bytes(Vec<u8>),
    Json(Value),
    /// An object whose keys are the handler's own field names (plus strangers), values anything,
    /// and values that are seeded tokens or ids.
    Fields(Vec<(String, Value)>, Vec<(String, Text)>),
    Huge,
    Form(Vec<(String, Text)>),
    /// The good body with fields removed, replaced or added (JSON), or bytes flipped (form).
    Mutated {
        remove: Vec<prop::sample::Index>,
        set: Vec<(String, Value)>,
        flip: Vec<(prop::sample::Index, u8)>,
    },
}

fn field_name(target: Target) -> BoxedStrategy<String> {
    if target.fields.is_empty() {
        hostile_string().boxed()
    } else {
        prop_oneof![
            4 => prop::sample::select(target.fields).prop_map(str::to_owned),
            1 => hostile_string(),
        ]
        .boxed()
    }
}

fn body(target: Target) -> impl Strategy<Value = BodyShape> {
    prop_oneof![
        6 => (
            prop::collection::vec(any::<prop::sample::Index>(), 0..2),
            prop::collection::vec((field_name(target), json_value()), 0..3),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        )
            .prop_map(|(remove, set, flip)| BodyShape::Mutated { remove, set, flip }),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(BodyShape::Bytes),
        1 => json_value().prop_map(BodyShape::Json),
        1 => (
            prop::collection::vec((field_name(target), json_value()), 0..5),
            prop::collection::vec((field_name(target), text()), 0..4),
        )
            .prop_map(|(a, b)| BodyShape::Fields(a, b)),
        1 => Just(BodyShape::Huge),
        1 => prop::collection::vec((field_name(target), text()), 0..6).prop_map(BodyShape::Form),
    ]
}

#[derive(Debug, Clone)]
enum HeaderShape {
    Text(Text),
    BearerOf(Text),
    /// Bytes outside UTF-8 and visible ASCII (obs-text), as a proxy may pass them on.
    Opaque(Vec<u8>),
    Oversized,
}

fn header_value() -> impl Strategy<Value = HeaderShape> {
    prop_oneof![
        text().prop_map(HeaderShape::Text),
        text().prop_map(HeaderShape::BearerOf),
        prop::collection::vec(0x80u8..=0xff, 1..64).prop_map(HeaderShape::Opaque),
        Just(HeaderShape::Oversized),
    ]
}

const HEADERS: &[&str] = &[
    "authorization",
    "x-server-authorization",
    "x-api-key",
    "user-identifier",
    "user-authorization",
    "content-type",
];

#[derive(Debug, Clone)]
struct Case {
    creds: bool,
    body: BodyShape,
    headers: Vec<(&'static str, HeaderShape)>,
    /// `None`: the target's good value.
    path: Vec<Option<Text>>,
    query: Vec<(String, Text)>,
}

fn case(target: Target) -> impl Strategy<Value = Case> {
    let query_name: BoxedStrategy<String> = if target.query.is_empty() {
        hostile_string().boxed()
    } else {
        prop::sample::select(target.query)
            .prop_map(str::to_owned)
            .boxed()
    };
    let path_value = prop_oneof![3 => Just(None), 1 => text().prop_map(Some)];
    (
        prop::bool::weighted(0.85),
        body(target),
        prop::collection::vec((prop::sample::select(HEADERS), header_value()), 0..3),
        prop::collection::vec(path_value, target.path_params.len()),
        prop::collection::vec((query_name, text()), 0..3),
    )
        .prop_map(|(creds, body, headers, path, query)| Case {
            creds,
            body,
            headers,
            path,
            query,
        })
}

fn header_bytes(shape: &HeaderShape, values: &HashMap<&'static str, String>) -> Vec<u8> {
    match shape {
        HeaderShape::Text(t) => t.resolve(values).into_bytes(),
        HeaderShape::BearerOf(t) => format!("Bearer {}", t.resolve(values)).into_bytes(),
        HeaderShape::Opaque(b) => b.clone(),
        HeaderShape::Oversized => format!("Bearer {}", "A".repeat(12 * 1024)).into_bytes(),
    }
}

fn build(target: Target, case: &Case, values: &HashMap<&'static str, String>) -> Request {
    let body = match &case.body {
        BodyShape::Bytes(b) => Body::from(b.clone()),
        BodyShape::Json(v) => Body::from(v.to_string()),
        BodyShape::Fields(plain, seeded) => {
            let mut map = serde_json::Map::new();
            for (k, v) in plain {
                map.insert(k.clone(), v.clone());
            }
            for (k, t) in seeded {
                map.insert(k.clone(), Value::String(t.resolve(values)));
            }
            Body::from(Value::Object(map).to_string())
        }
        BodyShape::Huge => Body::from(format!("{{\"x\":\"{}\"}}", "y".repeat(40 * 1024))),
        BodyShape::Form(pairs) => {
            let mut form = form_urlencoded_like(pairs, values);
            form.truncate(64 * 1024);
            Body::from(form)
        }
        BodyShape::Mutated { remove, set, flip } => {
            let good = fill(target.good_body, values);
            match serde_json::from_str::<Value>(&good) {
                Ok(Value::Object(mut map)) => {
                    for i in remove {
                        if !map.is_empty() {
                            let key = map.keys().nth(i.index(map.len())).cloned();
                            key.map(|k| map.remove(&k));
                        }
                    }
                    for (k, v) in set {
                        map.insert(k.clone(), v.clone());
                    }
                    Body::from(Value::Object(map).to_string())
                }
                _ => {
                    let mut bytes = good.into_bytes();
                    for (i, b) in flip {
                        if !bytes.is_empty() {
                            let at = i.index(bytes.len());
                            bytes[at] = *b;
                        }
                    }
                    Body::from(bytes)
                }
            }
        }
    };
    let mut builder = http::Request::builder()
        .method(target.method)
        .uri("/hostile");
    if case.creds {
        for (name, value) in target.creds {
            builder = builder.header(*name, fill(value, values));
        }
    }
    for (name, shape) in &case.headers {
        // A value no HTTP stack could carry (control bytes) never reaches a function.
        if let Ok(v) = HeaderValue::from_bytes(&header_bytes(shape, values)) {
            builder = builder.header(*name, v);
        }
    }
    let req: Request = builder.body(body).expect("request");
    let path: HashMap<String, String> = target
        .path_params
        .iter()
        .zip(&case.path)
        .zip(target.good_path)
        .map(|((k, v), good)| {
            let value = match v {
                Some(t) => t.resolve(values),
                None => fill(good, values),
            };
            ((*k).to_owned(), value)
        })
        .collect();
    let query: HashMap<String, String> = case
        .query
        .iter()
        .map(|(k, v)| (k.clone(), v.resolve(values)))
        .collect();
    req.with_path_parameters(path)
        .with_query_string_parameters(query)
}

/// `a=b&c=d` with each value percent-encoded as a form encoder would (so the handler's form parser
/// sees exactly the generated text).
fn form_urlencoded_like(
    pairs: &[(String, Text)],
    values: &HashMap<&'static str, String>,
) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(&v.resolve(values))))
        .collect::<Vec<_>>()
        .join("&")
}

struct Outcome {
    status: u16,
    body: Vec<u8>,
    before: Vec<String>,
    after: Vec<String>,
}

async fn run(target: Target, case: &Case) -> Outcome {
    let (store, seed): (MemoryStore, Seed) = seeded_memory_store().await;
    let tokens = test_tokens();
    let mut values = seed.placeholders(&tokens);
    seed_partner(&store, &tokens, &seed, &mut values).await;
    let req = build(target, case, &values);
    let before = store.fingerprint();
    // One App serves every handler: the shared skeleton is what each function runs in Lambda.
    let app = App {
        store,
        tokens: tokens.into(),
    };
    let resp = idlink_tests::serve!(target.function, &app, &req);
    let (status, body, after) = (resp.status(), resp.into_body(), app.store.fingerprint());
    Outcome {
        status: status.as_u16(),
        body: body.as_ref().to_vec(),
        before,
        after,
    }
}

/// The family's error envelope, exactly as its clients parse it.
fn envelope_problem(family: Family, status: u16, body: &Value) -> Option<String> {
    let s = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let ok = match family {
        Family::OAuth => s(&body["error"]) && s(&body["error_description"]),
        Family::Xsolla => {
            s(&body["error"]["code"])
                && s(&body["error"]["description"])
                && body["error"]["details"].is_object()
        }
        Family::Partner => {
            body["code"].as_str().is_some_and(|c| c.starts_with("ER"))
                && s(&body["message"])
                && s(&body["solution"])
        }
        Family::Auth0 => {
            body["statusCode"] == status
                && s(&body["error"])
                && s(&body["message"])
                && s(&body["errorCode"])
        }
        Family::Jwks => false,
    };
    (!ok).then(|| format!("{family:?} envelope expected, got {body}"))
}

fn check(target: Target, case: &Case) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(run(target, case));
    prop_assert!(
        out.status < 500,
        "{} answered {}: {}",
        target.function,
        out.status,
        String::from_utf8_lossy(&out.body)
    );
    if out.status >= 400 {
        let body: Value = serde_json::from_slice(&out.body).map_err(|e| {
            TestCaseError::fail(format!("{}: body is not JSON: {e}", target.function))
        })?;
        if let Some(problem) = envelope_problem(target.family, out.status, &body) {
            return Err(TestCaseError::fail(format!(
                "{} {}: {problem}",
                target.function, out.status
            )));
        }
    }
    if !(200..300).contains(&out.status) {
        prop_assert_eq!(
            &out.before,
            &out.after,
            "{} refused with {} but wrote",
            target.function,
            out.status
        );
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("HOSTILE_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

macro_rules! hostile {
    ($($test:ident => $function:literal),* $(,)?) => {$(
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $test(case in case(target($function))) {
                check(target($function), &case)?;
            }
        }
    )*};
}

fn target(function: &str) -> Target {
    *TARGETS
        .iter()
        .find(|t| t.function == function)
        .expect("known target")
}

hostile! {
    oauth_token_is_boring => "oauth-token",
    jwks_is_boring => "jwks",
    openapi_is_boring => "openapi",
    auth_custom_id_is_boring => "auth-custom-id",
    link_external_id_is_boring => "link-external-id",
    get_me_is_boring => "get-me",
    link_identifier_is_boring => "link-identifier",
    resolve_identifier_is_boring => "resolve-identifier",
    get_user_is_boring => "get-user",
    link_identity_is_boring => "link-identity",
    unlink_identity_is_boring => "unlink-identity",
    write_attributes_is_boring => "write-attributes",
    change_custom_id_is_boring => "change-custom-id",
    delete_user_is_boring => "delete-user",
    delete_user_xsolla_is_boring => "delete-user-xsolla",
    ban_user_is_boring => "ban-user",
    unban_user_is_boring => "unban-user",
    update_user_is_boring => "update-user",
    linking_info_is_boring => "linking-info",
    list_users_is_boring => "list-users",
    attributes_by_custom_id_is_boring => "attributes-by-custom-id",
    user_logs_is_boring => "user-logs",
}

#[test]
fn every_routed_function_is_a_target() {
    let manifest = include_str!("../../Cargo.toml");
    let router = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("router section");
    // Every `function = "…"` of every route, a path serving several methods included.
    for part in router.split("function = \"").skip(1) {
        let name = &part[..part.find('"').expect("closing quote")];
        assert!(
            TARGETS.iter().any(|t| t.function == name),
            "{name} has no hostile-input target"
        );
    }
}
