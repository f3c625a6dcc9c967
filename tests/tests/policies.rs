//! What each function sends to DynamoDB, recorded on the wire against the local DynamoDB API:
//! the round trips per operation hold the budgets of DESIGN.md, and each function's IAM policy in
//! template.yaml allows exactly the actions it uses — no more, no fewer. Each function runs here
//! with only the secret material its crate declares (`SECRETS`), and its policy and environment
//! let it read exactly those secrets.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::function::answer;
use std::collections::BTreeSet;

use idlink::client::Scope;
use idlink::config::Material;
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, test_key_json, tokens_from, tokens_with};
use idlink_tests::{Call, Recorder, recording_store};
use lambda_http::http;
use lambda_http::{Body, Request, RequestExt};

fn operations(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.operation.as_str()).collect()
}

fn actions(calls: &[Call]) -> BTreeSet<String> {
    calls
        .iter()
        .flat_map(|c| c.actions.iter().map(|a| format!("dynamodb:{a}")))
        .collect()
}

/// The DynamoDB actions a function's policy in template.yaml grants.
fn granted(function: &str) -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for policy in t["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
    {
        for statement in policy["Statement"].as_sequence().unwrap() {
            for action in statement["Action"].as_sequence().unwrap() {
                let action = action.as_str().unwrap();
                if action.starts_with("dynamodb:") {
                    out.insert(action.to_owned());
                }
            }
        }
    }
    out
}

struct Login {
    app: idlink::function::App<DynamoStore>,
    recorder: Recorder,
    token: String,
}

impl Login {
    async fn new() -> Self {
        let (store, recorder) = recording_store().await;
        let seed = Seed::create(&store, None).await;
        let keys = test_key_json();
        let token = seed.server_token(&tokens_from(&keys), &[Scope::UsersLogin]);
        let tokens = tokens_with(&keys, auth_custom_id::SECRETS);
        recorder.take();
        Self {
            app: idlink::function::App {
                store,
                tokens: tokens.into(),
            },
            recorder,
            token,
        }
    }

    /// Logs in and answers the requests it sent.
    async fn login(&self, query: &[(&str, &str)], body: &str, status: u16) -> Vec<Call> {
        self.send(&self.request(query, body), status).await
    }

    /// Logs in with an `Idempotency-Key` and answers the requests it sent.
    async fn login_keyed(&self, key: &str, body: &str, status: u16) -> Vec<Call> {
        self.send(&keyed(self.request(&[], body), key), status)
            .await
    }

    fn request(&self, query: &[(&str, &str)], body: &str) -> Request {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/users/login/server_custom_id")
            .header("authorization", format!("Bearer {}", self.token))
            .body(Body::from(body.to_owned()))
            .unwrap();
        req.with_query_string_parameters(
            query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>(),
        )
    }

    async fn send(&self, req: &Request, status: u16) -> Vec<Call> {
        let resp =
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&self.app, req)).await;
        assert_eq!(resp.status().as_u16(), status);
        self.recorder.take()
    }
}

#[tokio::test]
async fn login_round_trips_hold_the_budget() {
    let l = Login::new().await;
    let first = l.login(&[], r#"{"server_custom_id":"p"}"#, 200).await;
    assert_eq!(
        operations(&first),
        ["GetItem", "TransactWriteItems"],
        "first login"
    );
    let returning = l.login(&[], r#"{"server_custom_id":"p"}"#, 200).await;
    assert_eq!(
        operations(&returning),
        ["GetItem", "UpdateItem"],
        "returning login"
    );
    let logout = l
        .login(&[("with_logout", "1")], r#"{"server_custom_id":"p"}"#, 200)
        .await;
    assert_eq!(
        operations(&logout),
        ["GetItem", "UpdateItem"],
        "with_logout=1"
    );
    let social = r#"{"server_custom_id":"q","social_profile":{"platform":"xbox","user_id":"1"}}"#;
    let first_social = l.login(&[], social, 200).await;
    assert_eq!(
        operations(&first_social),
        ["BatchGetItem", "TransactWriteItems"]
    );
    let again_social = l.login(&[], social, 200).await;
    assert_eq!(operations(&again_social), ["BatchGetItem", "UpdateItem"]);
    // Nothing checks uniqueness with a read before the write: a taken identity costs one read.
    let taken = r#"{"server_custom_id":"r","social_profile":{"platform":"xbox","user_id":"1"}}"#;
    assert_eq!(
        operations(&l.login(&[], taken, 422).await),
        ["BatchGetItem"]
    );
    // A keyed login first looks for its key's record, and writes it in the login's transaction;
    // a returning one reads the user to make its token, and writes in a transaction too.
    let keyed_first = r#"{"server_custom_id":"k"}"#;
    assert_eq!(
        operations(&l.login_keyed("first", keyed_first, 200).await),
        ["GetItem", "GetItem", "TransactWriteItems"],
        "first keyed login"
    );
    assert_eq!(
        operations(&l.login_keyed("first", keyed_first, 200).await),
        ["GetItem"],
        "its replay"
    );
    let keyed_returning = r#"{"server_custom_id":"p"}"#;
    assert_eq!(
        operations(&l.login_keyed("returning", keyed_returning, 200).await),
        ["GetItem", "GetItem", "Query", "TransactWriteItems"],
        "returning keyed login"
    );
    assert_eq!(
        operations(&l.login_keyed("returning", keyed_returning, 200).await),
        ["GetItem"],
        "its replay"
    );
}

#[tokio::test]
async fn auth_custom_id_policy_grants_exactly_what_it_uses() {
    let l = Login::new().await;
    let mut calls = Vec::new();
    calls.extend(l.login(&[], r#"{"server_custom_id":"p"}"#, 200).await);
    calls.extend(
        l.login(&[("with_logout", "1")], r#"{"server_custom_id":"p"}"#, 200)
            .await,
    );
    let social = r#"{"server_custom_id":"p","social_profile":{"platform":"xbox","user_id":"1"}}"#;
    calls.extend(l.login(&[], social, 200).await);
    let social = r#"{"server_custom_id":"q","social_profile":{"platform":"psn","user_id":"1"}}"#;
    calls.extend(l.login(&[], social, 200).await);
    calls.extend(l.login_keyed("k", r#"{"server_custom_id":"k"}"#, 200).await);
    calls.extend(l.login_keyed("k", r#"{"server_custom_id":"k"}"#, 200).await);
    calls.extend(l.login_keyed("p", r#"{"server_custom_id":"p"}"#, 200).await);
    assert_eq!(actions(&calls), granted("AuthCustomIdFunction"));
}

/// A recording DynamoDB store with one seeded project, and the key set every function verifies.
struct Wire {
    store: DynamoStore,
    recorder: Recorder,
    seed: Seed,
    keys: String,
}

impl Wire {
    async fn new() -> Self {
        let (store, recorder) = recording_store().await;
        let seed = Seed::create(&store, None).await;
        Self {
            store,
            recorder,
            seed,
            keys: test_key_json(),
        }
    }

    /// The signing side, for minting the tokens requests carry.
    fn tokens(&self) -> idlink::token::TokenService {
        tokens_from(&self.keys)
    }

    fn server_token(&self, scopes: &[Scope]) -> String {
        self.seed.server_token(&self.tokens(), scopes)
    }

    fn user_token(&self, user: &idlink::user::User) -> String {
        self.tokens()
            .issue_user_token(user, None, None, idlink::clock::now())
            .unwrap()
    }

    /// Forgets what setup sent, so the next `serve!` records only the request under test.
    fn start(&self) {
        self.recorder.take();
    }
}

/// Serves a request with a function's handler, as its Lambda would (over the recording store, with
/// only the secret material its crate declares); asserts the status and answers the DynamoDB calls.
macro_rules! serve {
    ($wire:expr, $krate:ident, $req:expr, $status:expr) => {{
        let app = idlink::function::App {
            store: $wire.store.clone(),
            tokens: tokens_with(&$wire.keys, $krate::SECRETS).into(),
        };
        let resp = answer::<$krate::Family>($krate::handler::handle(&app, &$req)).await;
        assert_eq!(resp.status().as_u16(), $status, "{}", stringify!($krate));
        $wire.recorder.take()
    }};
}

/// A request with a bearer token (if any), path parameters and a JSON body (if any).
fn request(
    method: &str,
    path: &str,
    bearer: Option<&str>,
    params: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Request {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    let req: Request = b
        .body(body.map_or(Body::Empty, |v| Body::from(v.to_string())))
        .unwrap();
    req.with_path_parameters(
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::HashMap<_, _>>(),
    )
}

/// `req` with an `Idempotency-Key` header.
fn keyed(mut req: Request, key: &str) -> Request {
    req.headers_mut().insert(
        idlink::idempotency::HEADER,
        http::HeaderValue::from_str(key).unwrap(),
    );
    req
}

/// The whole check for one function: each request's calls are its budget, and all of them
/// together use exactly what the function's policy grants.
fn assert_exact(resource: &str, runs: &[(Vec<Call>, &[&str])]) {
    for (calls, expected) in runs {
        assert_eq!(operations(calls), *expected, "{resource}");
    }
    let all: Vec<Call> = runs.iter().flat_map(|(c, _)| c.clone()).collect();
    assert_eq!(actions(&all), granted(resource), "{resource}");
}

#[tokio::test]
async fn oauth_token_policy_grants_exactly_what_it_uses() {
    let w = Wire::new().await;
    let user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    let form = |body: String| {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        req
    };
    let credentials = format!(
        "client_id={}&client_secret={}",
        w.seed.client_id.as_str(),
        w.seed.client_secret
    );
    w.start();
    let issued = serve!(
        w,
        oauth_token,
        form(format!("grant_type=client_credentials&{credentials}")),
        200
    );
    let exchanged = serve!(
        w,
        oauth_token,
        form(format!(
            "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&{credentials}\
             &subject_token={}&subject_token_type=urn:ietf:params:oauth:token-type:jwt",
            w.user_token(&user)
        )),
        200
    );
    assert_exact(
        "OauthTokenFunction",
        &[
            // The client, then its project.
            (issued, &["GetItem", "GetItem"]),
            // The client, then the player's session.
            (exchanged, &["GetItem", "GetItem"]),
        ],
    );
}

#[tokio::test]
async fn link_external_id_is_one_transaction_and_its_policy_is_exact() {
    let w = Wire::new().await;
    let user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    let other = idlink::testing::login_user(&w.store, &w.seed, "q").await;
    let third = idlink::testing::login_user(&w.store, &w.seed, "r").await;
    let token = w.server_token(&[Scope::UsersLink]);
    let link = |user: &idlink::user::User, external: &str| {
        let body =
            serde_json::json!({"user_id": user.id.to_string(), "external_account_id": external});
        request(
            "POST",
            "/users/account/link_external_id",
            Some(&token),
            &[],
            Some(body),
        )
    };
    w.start();
    let linked = serve!(w, link_external_id, link(&user, "X"), 200);
    let refused = serve!(w, link_external_id, link(&other, "X"), 422);
    let keyed_link = keyed(link(&third, "Y"), "link");
    let keyed_linked = serve!(w, link_external_id, keyed_link, 200);
    let replayed = serve!(w, link_external_id, keyed_link, 200);
    let keyed_again = keyed(link(&third, "Y"), "again");
    let keyed_linked_again = serve!(w, link_external_id, keyed_again, 200);
    let replayed_again = serve!(w, link_external_id, keyed_again, 200);
    let keyed_refused = serve!(w, link_external_id, keyed(link(&other, "X"), "taken"), 422);
    assert_exact(
        "LinkExternalIdFunction",
        &[
            // A link is one transaction; a refusal is explained with one batched read.
            (linked, &["TransactWriteItems"]),
            (refused, &["TransactWriteItems", "BatchGetItem"]),
            // A keyed link first looks for its key's record, then writes it in the link's
            // transaction; its replay is that one read.
            (keyed_linked, &["GetItem", "TransactWriteItems"]),
            (replayed, &["GetItem"]),
            // A keyed repeated link changes nothing and keeps its answer alone.
            (
                keyed_linked_again,
                &["GetItem", "TransactWriteItems", "BatchGetItem", "PutItem"],
            ),
            (replayed_again, &["GetItem"]),
            // A keyed refusal looks again, for a concurrent twin's answer.
            (
                keyed_refused,
                &["GetItem", "TransactWriteItems", "BatchGetItem", "GetItem"],
            ),
        ],
    );
}

#[tokio::test]
async fn get_me_is_one_query_and_its_policy_is_exact() {
    let w = Wire::new().await;
    let user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    let token = w.user_token(&user);
    w.start();
    let calls = serve!(
        w,
        get_me,
        request("GET", "/users/me", Some(&token), &[], None),
        200
    );
    assert_exact("GetMeFunction", &[(calls, &["Query"])]);
}

#[tokio::test]
async fn partner_functions_round_trips_and_policies() {
    use idlink::partner::{ApiKeyHash, generate_api_key};
    use idlink::store::ApiKeyStore;
    let w = Wire::new().await;
    let me = idlink::testing::login_user(&w.store, &w.seed, "me").await;
    let other = idlink::testing::login_user(&w.store, &w.seed, "other").await;
    let api_key = generate_api_key().unwrap();
    w.store
        .put_api_key(&ApiKeyHash::of(&api_key), w.seed.project.id)
        .await
        .unwrap();
    let third = idlink::testing::login_user(&w.store, &w.seed, "third").await;
    let id = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";
    let third_id = "d6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";
    let link_id = |user: &idlink::user::User, id: &str| {
        let body = serde_json::json!({ "identifier": id });
        let token = w.user_token(user);
        request(
            "POST",
            "/api/v2/user/link-identifier",
            Some(&token),
            &[],
            Some(body),
        )
    };
    let link = |user: &idlink::user::User| link_id(user, id);
    let resolve: Request = http::Request::builder()
        .uri("/api/v2/user")
        .header("x-api-key", &api_key)
        .header("user-identifier", id)
        .body(Body::Empty)
        .unwrap();
    w.start();
    let linked = serve!(w, link_identifier, link(&me), 200);
    let taken = serve!(w, link_identifier, link(&other), 409);
    let keyed_link = keyed(link_id(&third, third_id), "link");
    let keyed_linked = serve!(w, link_identifier, keyed_link, 200);
    let replayed = serve!(w, link_identifier, keyed_link, 200);
    let keyed_again = keyed(link_id(&third, third_id), "again");
    let keyed_linked_again = serve!(w, link_identifier, keyed_again, 200);
    let replayed_again = serve!(w, link_identifier, keyed_again, 200);
    let resolved = serve!(w, resolve_identifier, resolve, 200);
    assert_exact(
        "LinkIdentifierFunction",
        &[
            (linked, &["TransactWriteItems"]),
            (taken, &["TransactWriteItems", "BatchGetItem"]),
            // Keyed: the key's record first, then written with the link; a replay reads it.
            (keyed_linked, &["GetItem", "TransactWriteItems"]),
            (replayed, &["GetItem"]),
            // A keyed repeated link changes nothing and keeps its answer alone.
            (
                keyed_linked_again,
                &["GetItem", "TransactWriteItems", "BatchGetItem", "PutItem"],
            ),
            (replayed_again, &["GetItem"]),
        ],
    );
    // The API key, the identifier's marker, the user.
    assert_exact(
        "ResolveIdentifierFunction",
        &[(resolved, &["GetItem", "GetItem", "Query"])],
    );
}

#[tokio::test]
async fn account_functions_round_trips_and_policies() {
    let w = Wire::new().await;
    let a = idlink::testing::login_user(&w.store, &w.seed, "a").await;
    idlink::testing::login_user(&w.store, &w.seed, "b").await;
    idlink::testing::login_user(&w.store, &w.seed, "c").await;
    let token = w.server_token(&Scope::ALL);
    let id = a.id.to_string();
    let user_path = format!("/api/v2/users/{id}");
    let identities = format!("/api/v2/users/{id}/identities");
    let link = |body: serde_json::Value| {
        request(
            "POST",
            &identities,
            Some(&token),
            &[("id", &id)],
            Some(body),
        )
    };
    let unlink_xbox = |xbox: &str| {
        request(
            "DELETE",
            &format!("{identities}/xbox/{xbox}"),
            Some(&token),
            &[("id", &id), ("provider", "xbox"), ("user_id", xbox)],
            None,
        )
    };
    let unlink = unlink_xbox("7");
    w.start();
    let read = serve!(
        w,
        get_user,
        request("GET", &user_path, Some(&token), &[("id", &id)], None),
        200
    );
    let merged = serve!(
        w,
        link_identity,
        link(serde_json::json!({"provider": "server_custom_id", "user_id": "b"})),
        201
    );
    let attached = serve!(
        w,
        link_identity,
        link(serde_json::json!({"provider": "xbox", "user_id": "7"})),
        201
    );
    let unlinked = serve!(w, unlink_identity, unlink, 200);
    let keyed_merge = keyed(
        link(serde_json::json!({"provider": "server_custom_id", "user_id": "c"})),
        "merge",
    );
    let keyed_merged = serve!(w, link_identity, keyed_merge, 201);
    let merge_replayed = serve!(w, link_identity, keyed_merge, 201);
    let keyed_attach = keyed(
        link(serde_json::json!({"provider": "xbox", "user_id": "8"})),
        "attach",
    );
    let keyed_attached = serve!(w, link_identity, keyed_attach, 201);
    let attach_replayed = serve!(w, link_identity, keyed_attach, 201);
    let keyed_unlink = keyed(unlink_xbox("8"), "unlink");
    let keyed_unlinked = serve!(w, unlink_identity, keyed_unlink, 200);
    let unlink_replayed = serve!(w, unlink_identity, keyed_unlink, 200);
    let logs = request(
        "GET",
        &format!("{user_path}/logs"),
        Some(&token),
        &[("id", &id)],
        None,
    );
    let logs_with_totals =
        logs.clone()
            .with_query_string_parameters(std::collections::HashMap::from([(
                "include_totals".to_owned(),
                "true".to_owned(),
            )]));
    let logs = serve!(w, user_logs, logs, 200);
    let counted = serve!(w, user_logs, logs_with_totals, 200);
    assert_exact("GetUserFunction", &[(read, &["Query"])]);
    assert_exact(
        "UserLogsFunction",
        &[
            // One page of the log, newest first; with totals, a page shorter than asked is
            // the whole log, so no count.
            (logs, &["Query"]),
            (counted, &["Query"]),
        ],
    );
    assert_exact(
        "LinkIdentityFunction",
        &[
            // The owner, both users, one transaction.
            (merged, &["GetItem", "Query", "Query", "TransactWriteItems"]),
            (attached, &["GetItem", "Query", "TransactWriteItems"]),
            // Keyed: the key's record first, then written in the same transaction; a replay
            // is that one read.
            (
                keyed_merged,
                &["GetItem", "GetItem", "Query", "Query", "TransactWriteItems"],
            ),
            (merge_replayed, &["GetItem"]),
            (
                keyed_attached,
                &["GetItem", "GetItem", "Query", "TransactWriteItems"],
            ),
            (attach_replayed, &["GetItem"]),
        ],
    );
    assert_exact(
        "UnlinkIdentityFunction",
        &[
            (unlinked, &["Query", "TransactWriteItems"]),
            (keyed_unlinked, &["GetItem", "Query", "TransactWriteItems"]),
            (unlink_replayed, &["GetItem"]),
        ],
    );
}

/// Each template function with the secret material its crate declares.
fn declared_secrets() -> Vec<(&'static str, &'static [Material])> {
    vec![
        ("OauthTokenFunction", oauth_token::SECRETS),
        ("JwksFunction", jwks::SECRETS),
        ("OpenapiFunction", openapi::SECRETS),
        ("AuthCustomIdFunction", auth_custom_id::SECRETS),
        ("LinkExternalIdFunction", link_external_id::SECRETS),
        ("GetMeFunction", get_me::SECRETS),
        ("LinkIdentifierFunction", link_identifier::SECRETS),
        ("ResolveIdentifierFunction", resolve_identifier::SECRETS),
        ("GetUserFunction", get_user::SECRETS),
        ("LinkIdentityFunction", link_identity::SECRETS),
        ("UnlinkIdentityFunction", unlink_identity::SECRETS),
        ("WriteAttributesFunction", write_attributes::SECRETS),
        ("ChangeCustomIdFunction", change_custom_id::SECRETS),
        ("DeleteUserFunction", delete_user::SECRETS),
        ("DeleteUserXsollaFunction", delete_user_xsolla::SECRETS),
        ("BanUserFunction", ban_user::SECRETS),
        ("UnbanUserFunction", unban_user::SECRETS),
        ("UpdateUserFunction", update_user::SECRETS),
        ("LinkingInfoFunction", linking_info::SECRETS),
        ("ListUsersFunction", list_users::SECRETS),
        (
            "AttributesByCustomIdFunction",
            attributes_by_custom_id::SECRETS,
        ),
        ("UserLogsFunction", user_logs::SECRETS),
        ("EventsFunction", events::SECRETS),
    ]
}

/// The template parameter naming each material's secret.
fn material_of_parameter(parameter: &str) -> Material {
    match parameter {
        "SigningKeysSecretArn" => Material::SigningKeys,
        "PublicKeysSecretArn" => Material::PublicKeys,
        "PartnerPepperSecretArn" => Material::PartnerPepper,
        other => panic!("{other} is not a secret material's parameter"),
    }
}

/// `!Ref Name` (or `{Ref: Name}`) as the name it refers to.
fn reference(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        serde_yaml::Value::Mapping(m) => m.get("Ref")?.as_str().map(str::to_owned),
        _ => None,
    }
}

#[test]
fn each_function_can_read_exactly_the_secrets_it_declares() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let declared = declared_secrets();

    let functions: BTreeSet<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, _)| name.as_str().unwrap().to_owned())
        .collect();
    let covered: BTreeSet<String> = declared.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        functions, covered,
        "every function declares its secrets here"
    );
    let global_env = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    for name in global_env.keys() {
        assert!(
            !name.as_str().unwrap().ends_with("_SECRET_ID"),
            "no secret is given to every function: {name:?}"
        );
    }

    for (function, secrets) in declared {
        let want: BTreeSet<Material> = secrets.iter().copied().collect();
        let properties = &t["Resources"][function]["Properties"];
        let mut readable = BTreeSet::new();
        for policy in properties["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let actions: Vec<&str> = statement["Action"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                if !actions.iter().any(|a| a.starts_with("secretsmanager:")) {
                    continue;
                }
                assert_eq!(actions, ["secretsmanager:GetSecretValue"], "{function}");
                let parameter = reference(&statement["Resource"])
                    .unwrap_or_else(|| panic!("{function}: a secret by its parameter"));
                readable.insert(material_of_parameter(&parameter));
            }
        }
        assert_eq!(
            readable, want,
            "{function}: secrets its policy lets it read"
        );

        let mut named = BTreeSet::new();
        if let Some(vars) = properties["Environment"]["Variables"].as_mapping() {
            for (var, value) in vars {
                let var = var.as_str().unwrap();
                if !var.ends_with("_SECRET_ID") {
                    continue;
                }
                let material = material_of_parameter(&reference(value).unwrap());
                assert_eq!(var, material.secret_var(), "{function}");
                named.insert(material);
            }
        }
        assert_eq!(named, want, "{function}: secrets its environment names");
    }
}

#[test]
fn only_the_functions_that_sign_hold_the_private_keys_and_only_partners_the_pepper() {
    // The functions that issue tokens (tests above run each with only what it declares, so a
    // signer without the private keys answers 500 there).
    let signers = ["OauthTokenFunction", "AuthCustomIdFunction"];
    let partners = ["LinkIdentifierFunction", "ResolveIdentifierFunction"];
    // Serves a document compiled into it: no key set at all.
    let keyless = ["OpenapiFunction"];
    for (function, secrets) in declared_secrets() {
        assert_eq!(
            secrets.contains(&Material::SigningKeys),
            signers.contains(&function),
            "{function}"
        );
        // Every HTTP function verifies tokens but the document's; the stream-fed events
        // function takes none.
        let verifies = !signers.contains(&function)
            && !keyless.contains(&function)
            && function != "EventsFunction";
        assert_eq!(
            secrets.contains(&Material::PublicKeys),
            verifies,
            "{function}"
        );
        assert_eq!(
            secrets.contains(&Material::PartnerPepper),
            partners.contains(&function),
            "{function}"
        );
    }
}

#[tokio::test]
async fn write_attributes_is_one_read_and_one_write_and_its_policy_is_exact() {
    use idlink::attribute::Attribute;
    use idlink::store::{AttributeStore, AttributeWrite};
    let w = Wire::new().await;
    idlink::testing::login_user(&w.store, &w.seed, "p").await;
    idlink::testing::login_user(&w.store, &w.seed, "full").await;
    for batch in 0..4 {
        let set = Attribute::parse_server_write_list(Some(&serde_json::json!(
            (0..50)
                .map(|i| serde_json::json!({"key": format!("b{batch}_{i}"), "value": "v"}))
                .collect::<Vec<_>>()
        )))
        .unwrap();
        let custom_id = idlink::identity::CustomId::parse("full").unwrap();
        let write = AttributeWrite::new(w.seed.project.id, custom_id, set, Vec::new(), 1);
        w.store.write_attributes(&write).await.unwrap();
    }
    let token = w.server_token(&[Scope::UpdateUsers]);
    let project = w.seed.project.id.to_string();
    let write = |custom_id: &str| {
        let body = serde_json::json!({"publisher_id": null,
            "attributes": [{"key": "level", "value": "2"}], "removing_keys": ["old"]});
        request(
            "POST",
            &format!("/projects/{project}/server_custom_id/{custom_id}/attributes"),
            Some(&token),
            &[("project_id", &project), ("server_custom_id", custom_id)],
            Some(body),
        )
    };
    w.start();
    let written = serve!(w, write_attributes, write("p"), 204);
    let unknown = serve!(w, write_attributes, write("nobody"), 404);
    let at_cap = serve!(w, write_attributes, write("full"), 422);
    let keyed_write = keyed(write("p"), "write");
    let keyed_written = serve!(w, write_attributes, keyed_write, 204);
    let replayed = serve!(w, write_attributes, keyed_write, 204);
    assert_exact(
        "WriteAttributesFunction",
        &[
            // The custom ID's marker, then one transaction: the conditional update of the
            // profile and its audit record.
            (written, &["GetItem", "TransactWriteItems"]),
            (unknown, &["GetItem"]),
            // A refused write reads the profile to count exactly, and refuses without writing.
            (at_cap, &["GetItem", "TransactWriteItems", "GetItem"]),
            // Keyed: the key's record first, then written in the same transaction; a replay
            // is that one read.
            (keyed_written, &["GetItem", "GetItem", "TransactWriteItems"]),
            (replayed, &["GetItem"]),
        ],
    );
}

#[tokio::test]
async fn change_custom_id_is_one_transaction_and_its_policy_is_exact() {
    let w = Wire::new().await;
    let user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    idlink::testing::login_user(&w.store, &w.seed, "taken").await;
    let token = w.server_token(&[Scope::UsersLink]);
    let (project, id) = (w.seed.project.id.to_string(), user.id.to_string());
    let change = |custom: &str| {
        request(
            "PUT",
            &format!("/projects/{project}/users/{id}/server_custom_id"),
            Some(&token),
            &[("project_id", &project), ("user_id", &id)],
            Some(serde_json::json!({ "server_custom_id": custom })),
        )
    };
    w.start();
    let changed = serve!(w, change_custom_id, change("q"), 204);
    let same = serve!(w, change_custom_id, change("q"), 204);
    let taken = serve!(w, change_custom_id, change("taken"), 422);
    let keyed_change = keyed(change("r"), "change");
    let keyed_changed = serve!(w, change_custom_id, keyed_change, 204);
    let replayed = serve!(w, change_custom_id, keyed_change, 204);
    let keyed_same = keyed(change("r"), "same");
    let keyed_unchanged = serve!(w, change_custom_id, keyed_same, 204);
    let same_replayed = serve!(w, change_custom_id, keyed_same, 204);
    assert_exact(
        "ChangeCustomIdFunction",
        &[
            // The user and the new custom ID's owner, then one transaction.
            (changed, &["Query", "GetItem", "TransactWriteItems"]),
            // Nothing to change, or a custom ID another user holds: nothing is written.
            (same, &["Query", "GetItem"]),
            (taken, &["Query", "GetItem"]),
            // Keyed: the key's record first, then written in the same transaction, or alone
            // when nothing changes; a replay is that one read.
            (
                keyed_changed,
                &["GetItem", "Query", "GetItem", "TransactWriteItems"],
            ),
            (replayed, &["GetItem"]),
            (keyed_unchanged, &["GetItem", "Query", "GetItem", "PutItem"]),
            (same_replayed, &["GetItem"]),
        ],
    );
}

#[tokio::test]
async fn delete_user_purges_the_log_then_is_one_transaction_and_its_policies_are_exact() {
    let w = Wire::new().await;
    let auth0_user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    let xsolla_user = idlink::testing::login_user(&w.store, &w.seed, "q").await;
    let keyed_auth0_user = idlink::testing::login_user(&w.store, &w.seed, "r").await;
    let keyed_xsolla_user = idlink::testing::login_user(&w.store, &w.seed, "s").await;
    let token = w.server_token(&[Scope::DeleteUsers]);
    let auth0 = |user: &idlink::user::User| {
        let id = user.id.to_string();
        request(
            "DELETE",
            &format!("/api/v2/users/{id}"),
            Some(&token),
            &[("id", &id)],
            None,
        )
    };
    let project = w.seed.project.id.to_string();
    let xsolla = |user: &idlink::user::User| {
        let id = user.id.to_string();
        request(
            "DELETE",
            &format!("/users/{id}?projectId={project}"),
            Some(&token),
            &[("user_id", &id)],
            None,
        )
        .with_query_string_parameters(std::collections::HashMap::from([(
            "projectId".to_owned(),
            project.clone(),
        )]))
    };
    w.start();
    let deleted = serve!(w, delete_user, auth0(&auth0_user), 204);
    let again = serve!(w, delete_user, auth0(&auth0_user), 404);
    let x_deleted = serve!(w, delete_user_xsolla, xsolla(&xsolla_user), 204);
    let x_again = serve!(w, delete_user_xsolla, xsolla(&xsolla_user), 404);
    let keyed_delete = keyed(auth0(&keyed_auth0_user), "delete");
    let keyed_deleted = serve!(w, delete_user, keyed_delete, 204);
    let replayed = serve!(w, delete_user, keyed_delete, 204);
    let x_keyed_delete = keyed(xsolla(&keyed_xsolla_user), "delete-xsolla");
    let x_keyed_deleted = serve!(w, delete_user_xsolla, x_keyed_delete, 204);
    let x_replayed = serve!(w, delete_user_xsolla, x_keyed_delete, 204);
    for (resource, deleted, again, keyed_deleted, replayed) in [
        (
            "DeleteUserFunction",
            deleted,
            again,
            keyed_deleted,
            replayed,
        ),
        (
            "DeleteUserXsollaFunction",
            x_deleted,
            x_again,
            x_keyed_deleted,
            x_replayed,
        ),
    ] {
        assert_exact(
            resource,
            &[
                // The user's partition, its audit log read and purged (one record: its
                // creation), then every delete and the deletion record in one transaction.
                (
                    deleted,
                    &["Query", "Query", "BatchWriteItem", "TransactWriteItems"],
                ),
                (again, &["Query"]),
                // Keyed: the key's record first, then written in the same transaction; a
                // replay is that one read.
                (
                    keyed_deleted,
                    &[
                        "GetItem",
                        "Query",
                        "Query",
                        "BatchWriteItem",
                        "TransactWriteItems",
                    ],
                ),
                (replayed, &["GetItem"]),
            ],
        );
    }
}

#[tokio::test]
async fn profile_updates_are_one_query_and_one_write_and_their_policies_are_exact() {
    let w = Wire::new().await;
    let user = idlink::testing::login_user(&w.store, &w.seed, "p").await;
    let token = w.server_token(&[Scope::UpdateUsers]);
    let (project, id) = (w.seed.project.id.to_string(), user.id.to_string());
    let nobody = idlink::identity::UserId::new_random().to_string();
    let ban = |method: &str, user: &str, body: Option<serde_json::Value>| {
        request(
            method,
            &format!("/projects/{project}/users/{user}/ban"),
            Some(&token),
            &[("project_id", &project), ("user_id", user)],
            body,
        )
    };
    let patch = |user: &str, body: serde_json::Value| {
        request(
            "PATCH",
            &format!("/api/v2/users/{user}"),
            Some(&token),
            &[("id", user)],
            Some(body),
        )
    };
    let reason = || Some(serde_json::json!({"reason": "Cheating"}));
    w.start();
    let banned = serve!(w, ban_user, ban("POST", &id, reason()), 204);
    let unknown = serve!(w, ban_user, ban("POST", &nobody, reason()), 404);
    let unbanned = serve!(w, unban_user, ban("DELETE", &id, None), 204);
    let updated = serve!(
        w,
        update_user,
        patch(&id, serde_json::json!({"nickname": "N"})),
        200
    );
    let unchanged = serve!(w, update_user, patch(&id, serde_json::json!({})), 200);
    let keyed_ban = keyed(ban("POST", &id, reason()), "ban");
    let keyed_banned = serve!(w, ban_user, keyed_ban, 204);
    let ban_replayed = serve!(w, ban_user, keyed_ban, 204);
    let keyed_unban = keyed(ban("DELETE", &id, None), "unban");
    let keyed_unbanned = serve!(w, unban_user, keyed_unban, 204);
    let unban_replayed = serve!(w, unban_user, keyed_unban, 204);
    let keyed_update = keyed(patch(&id, serde_json::json!({"nickname": "M"})), "update");
    let keyed_updated = serve!(w, update_user, keyed_update, 200);
    let update_replayed = serve!(w, update_user, keyed_update, 200);
    let keyed_nothing = keyed(patch(&id, serde_json::json!({})), "nothing");
    let keyed_unchanged = serve!(w, update_user, keyed_nothing, 200);
    let nothing_again = serve!(w, update_user, keyed_nothing, 200);
    // The user's partition, then its profile in one conditional write; keyed, the key's
    // record first, then written in the same transaction, and a replay is that one read.
    let keyed_write: &[&str] = &["GetItem", "Query", "TransactWriteItems"];
    assert_exact(
        "BanUserFunction",
        &[
            (banned, &["Query", "TransactWriteItems"]),
            (unknown, &["Query"]),
            (keyed_banned, keyed_write),
            (ban_replayed, &["GetItem"]),
        ],
    );
    assert_exact(
        "UnbanUserFunction",
        &[
            (unbanned, &["Query", "TransactWriteItems"]),
            (keyed_unbanned, keyed_write),
            (unban_replayed, &["GetItem"]),
        ],
    );
    assert_exact(
        "UpdateUserFunction",
        &[
            (updated, &["Query", "TransactWriteItems"]),
            (unchanged, &["Query"]),
            (keyed_updated, keyed_write),
            (update_replayed, &["GetItem"]),
            // An empty patch changes nothing, but a keyed one keeps its answer alone.
            (keyed_unchanged, &["GetItem", "Query", "PutItem"]),
            (nothing_again, &["GetItem"]),
        ],
    );
}

#[tokio::test]
async fn list_users_is_one_batched_read_and_one_query_and_its_policy_is_exact() {
    let w = Wire::new().await;
    let user = idlink::testing::login_social(
        &w.store,
        w.seed.project.id,
        "p",
        Some(("steam", "76561198")),
    )
    .await;
    let token = w.server_token(&[Scope::ReadUsers]);
    let search = |q: &str| {
        request("GET", "/api/v2/users", Some(&token), &[], None).with_query_string_parameters(
            std::collections::HashMap::from([
                ("q".to_owned(), q.to_owned()),
                ("search_engine".to_owned(), "v3".to_owned()),
            ]),
        )
    };
    w.start();
    let by_identity = serve!(
        w,
        list_users,
        search(r#"identities.provider:"steam" AND identities.user_id:"76561198""#),
        200
    );
    let by_id = serve!(w, list_users, search(&format!("user_id:{}", user.id)), 200);
    let nobody = serve!(
        w,
        list_users,
        search("identities.provider:steam AND identities.user_id:1"),
        200
    );
    assert_exact(
        "ListUsersFunction",
        &[
            // The identity's marker, then the user with its identities.
            (by_identity, &["BatchGetItem", "Query"]),
            (by_id, &["Query"]),
            (nobody, &["BatchGetItem"]),
        ],
    );
}

#[tokio::test]
async fn xsolla_lookups_read_100_keys_a_call_and_their_policies_are_exact() {
    let w = Wire::new().await;
    // 250 players by custom ID, the first 50 with a Steam account.
    for i in 0..250 {
        let steam = format!("7656{i}");
        let social = (i < 50).then_some(("steam", steam.as_str()));
        idlink::testing::login_social(&w.store, w.seed.project.id, &format!("p{i}"), social).await;
    }
    let token = w.server_token(&[Scope::ReadUsers]);
    let post =
        |path: &str, body: serde_json::Value| request("POST", path, Some(&token), &[], Some(body));
    let pairs = |ids: &[String]| {
        let users: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"platform": "steam", "user_id": id}))
            .collect();
        post("/users/linking_info", serde_json::json!({ "users": users }))
    };
    let custom_ids = |ids: Vec<String>| {
        post(
            "/attributes/custom_id/get",
            serde_json::json!({ "server_custom_ids": ids }),
        )
    };
    let steam: Vec<String> = (0..50).map(|i| format!("7656{i}")).collect();
    w.start();
    let fifty = serve!(w, linking_info, pairs(&steam), 200);
    let no_pair = serve!(w, linking_info, pairs(&["nobody".to_owned()]), 200);
    let all = serve!(
        w,
        attributes_by_custom_id,
        custom_ids((0..250).map(|i| format!("p{i}")).collect()),
        200
    );
    let no_id = serve!(
        w,
        attributes_by_custom_id,
        custom_ids(vec!["nobody".into()]),
        200
    );
    let batch = "BatchGetItem";
    assert_exact(
        "LinkingInfoFunction",
        // 50 markers in one batched read, then the holders' profiles in another; nobody
        // holding the pair: no profile to read.
        &[(fifty, &[batch; 2]), (no_pair, &[batch])],
    );
    assert_exact(
        "AttributesByCustomIdFunction",
        // 250 markers in calls of 100, 100 and 50, then the 250 profiles the same way.
        &[(all, &[batch; 6]), (no_id, &[batch])],
    );
}

/// openapi serves the document compiled into it: no DynamoDB action, no secret, no key set.
#[tokio::test]
async fn openapi_reads_nothing_and_its_policy_grants_nothing() {
    assert!(granted("OpenapiFunction").is_empty());
    assert!(openapi::SECRETS.is_empty());
    let keys = idlink::config::load_keys(openapi::SECRETS, None)
        .await
        .unwrap();
    assert!(!keys.can_sign());
    assert_eq!(keys.jwks_json(), r#"{"keys":[]}"#);
}
