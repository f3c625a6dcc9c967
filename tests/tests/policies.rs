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
            app: idlink::function::App { store, tokens },
            recorder,
            token,
        }
    }

    /// Logs in and answers the requests it sent.
    async fn login(&self, query: &[(&str, &str)], body: &str, status: u16) -> Vec<Call> {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/users/login/server_custom_id")
            .header("authorization", format!("Bearer {}", self.token))
            .body(Body::from(body.to_owned()))
            .unwrap();
        let req = req.with_query_string_parameters(
            query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>(),
        );
        let resp =
            answer::<auth_custom_id::Family>(auth_custom_id::handler::handle(&self.app, &req))
                .await;
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
    assert_eq!(actions(&calls), granted("AuthCustomIdFunction"));
}

#[tokio::test]
async fn oauth_token_policy_grants_exactly_what_it_uses() {
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    recorder.take();
    let app = idlink::function::App {
        store,
        tokens: tokens_with(&test_key_json(), oauth_token::SECRETS),
    };
    let req: Request = http::Request::builder()
        .method("POST")
        .uri("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            seed.client_id.as_str(),
            seed.client_secret
        )))
        .unwrap();
    let resp = answer::<oauth_token::Family>(oauth_token::handler::handle(&app, &req)).await;
    assert_eq!(resp.status(), 200);
    let calls = recorder.take();
    assert_eq!(
        operations(&calls),
        ["GetItem", "GetItem"],
        "client, then its project"
    );
    assert_eq!(actions(&calls), granted("OauthTokenFunction"));
}

#[tokio::test]
async fn link_external_id_is_one_transaction_and_its_policy_is_exact() {
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    let user = idlink::testing::login_user(&store, &seed, "p").await;
    let other = idlink::testing::login_user(&store, &seed, "q").await;
    let keys = test_key_json();
    let token = seed.server_token(&tokens_from(&keys), &[Scope::UsersLink]);
    let tokens = tokens_with(&keys, link_external_id::SECRETS);
    let app = idlink::function::App { store, tokens };
    recorder.take();
    let link = |user: String, ext: &str| {
        let body = serde_json::json!({"user_id": user, "external_account_id": ext});
        http::Request::builder()
            .method("POST")
            .uri("/users/account/link_external_id")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let resp = answer::<link_external_id::Family>(link_external_id::handler::handle(
        &app,
        &link(user.id.to_string(), "X"),
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let linked = recorder.take();
    assert_eq!(
        operations(&linked),
        ["TransactWriteItems"],
        "a link is one transaction"
    );
    let resp = answer::<link_external_id::Family>(link_external_id::handler::handle(
        &app,
        &link(other.id.to_string(), "X"),
    ))
    .await;
    assert_eq!(resp.status(), 422);
    let refused = recorder.take();
    assert_eq!(operations(&refused), ["TransactWriteItems", "BatchGetItem"]);
    let mut all = linked;
    all.extend(refused);
    assert_eq!(actions(&all), granted("LinkExternalIdFunction"));
}

#[tokio::test]
async fn get_me_is_one_query_and_its_policy_is_exact() {
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    let user = idlink::testing::login_user(&store, &seed, "p").await;
    let keys = test_key_json();
    let token = tokens_from(&keys)
        .issue_user_token(&user, None, None, idlink::clock::now())
        .unwrap();
    let tokens = tokens_with(&keys, get_me::SECRETS);
    let app = idlink::function::App { store, tokens };
    recorder.take();
    let req: Request = http::Request::builder()
        .uri("/users/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::Empty)
        .unwrap();
    let resp = answer::<get_me::Family>(get_me::handler::handle(&app, &req)).await;
    assert_eq!(resp.status(), 200);
    let calls = recorder.take();
    assert_eq!(operations(&calls), ["Query"]);
    assert_eq!(actions(&calls), granted("GetMeFunction"));
}

#[tokio::test]
async fn partner_functions_round_trips_and_policies() {
    use idlink::partner::{ApiKeyHash, generate_api_key};
    use idlink::store::ApiKeyStore;
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    let me = idlink::testing::login_user(&store, &seed, "me").await;
    let other = idlink::testing::login_user(&store, &seed, "other").await;
    let api_key = generate_api_key().unwrap();
    store
        .put_api_key(&ApiKeyHash::of(&api_key), seed.project.id)
        .await
        .unwrap();
    let keys = idlink::testing::test_key_json();
    let tokens = idlink::testing::tokens_from(&keys);
    let link_app = idlink::function::App {
        store: store.clone(),
        tokens: tokens_with(&keys, link_identifier::SECRETS),
    };
    let resolve_app = idlink::function::App {
        store,
        tokens: tokens_with(&keys, resolve_identifier::SECRETS),
    };
    let id = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";
    let link = |user: &idlink::user::User| {
        let token = tokens
            .issue_user_token(user, None, None, idlink::clock::now())
            .unwrap();
        http::Request::builder()
            .method("POST")
            .uri("/api/v2/user/link-identifier")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(
                serde_json::json!({ "identifier": id }).to_string(),
            ))
            .unwrap()
    };
    recorder.take();
    let resp =
        answer::<link_identifier::Family>(link_identifier::handler::handle(&link_app, &link(&me)))
            .await;
    assert_eq!(resp.status(), 200);
    let linked = recorder.take();
    assert_eq!(
        operations(&linked),
        ["TransactWriteItems"],
        "a link is one transaction"
    );
    let resp = answer::<link_identifier::Family>(link_identifier::handler::handle(
        &link_app,
        &link(&other),
    ))
    .await;
    assert_eq!(resp.status(), 409);
    let mut all = linked;
    all.extend(recorder.take());
    assert_eq!(actions(&all), granted("LinkIdentifierFunction"));

    let req: Request = http::Request::builder()
        .uri("/api/v2/user")
        .header("x-api-key", &api_key)
        .header("user-identifier", id)
        .body(Body::Empty)
        .unwrap();
    let resp = answer::<resolve_identifier::Family>(resolve_identifier::handler::handle(
        &resolve_app,
        &req,
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let resolved = recorder.take();
    assert_eq!(
        operations(&resolved),
        ["GetItem", "GetItem", "Query"],
        "key, marker, user"
    );
    assert_eq!(actions(&resolved), granted("ResolveIdentifierFunction"));
}

#[tokio::test]
async fn account_functions_round_trips_and_policies() {
    use lambda_http::RequestExt;
    let (store, recorder) = recording_store().await;
    let seed = Seed::create(&store, None).await;
    let a = idlink::testing::login_user(&store, &seed, "a").await;
    idlink::testing::login_user(&store, &seed, "b").await;
    let keys = idlink::testing::test_key_json();
    let token = seed.server_token(&idlink::testing::tokens_from(&keys), &Scope::ALL);
    let request =
        |method: &str, path: String, params: &[(&str, &str)], body: Option<serde_json::Value>| {
            let req: Request = http::Request::builder()
                .method(method)
                .uri(&path)
                .header("authorization", format!("Bearer {token}"))
                .body(
                    body.map(|b| Body::from(b.to_string()))
                        .unwrap_or(Body::Empty),
                )
                .unwrap();
            req.with_path_parameters(
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
    let id = a.id.to_string();
    recorder.take();

    let get = idlink::function::App {
        store: store.clone(),
        tokens: tokens_with(&keys, get_user::SECRETS),
    };
    let resp = answer::<get_user::Family>(get_user::handler::handle(
        &get,
        &request("GET", format!("/api/v2/users/{id}"), &[("id", &id)], None),
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let calls = recorder.take();
    assert_eq!(operations(&calls), ["Query"]);
    assert_eq!(actions(&calls), granted("GetUserFunction"));

    let link = idlink::function::App {
        store: store.clone(),
        tokens: tokens_with(&keys, link_identity::SECRETS),
    };
    let body = serde_json::json!({"provider": "server_custom_id", "user_id": "b"});
    let resp = answer::<link_identity::Family>(link_identity::handler::handle(
        &link,
        &request(
            "POST",
            format!("/api/v2/users/{id}/identities"),
            &[("id", &id)],
            Some(body),
        ),
    ))
    .await;
    assert_eq!(resp.status(), 201);
    let merged = recorder.take();
    assert_eq!(
        operations(&merged),
        ["GetItem", "Query", "Query", "TransactWriteItems"],
        "owner, both users, one transaction"
    );
    let body = serde_json::json!({"provider": "xbox", "user_id": "7"});
    let resp = answer::<link_identity::Family>(link_identity::handler::handle(
        &link,
        &request(
            "POST",
            format!("/api/v2/users/{id}/identities"),
            &[("id", &id)],
            Some(body),
        ),
    ))
    .await;
    assert_eq!(resp.status(), 201);
    let attached = recorder.take();
    assert_eq!(
        operations(&attached),
        ["GetItem", "Query", "TransactWriteItems"]
    );
    let mut all = merged;
    all.extend(attached);
    assert_eq!(actions(&all), granted("LinkIdentityFunction"));

    let unlink = idlink::function::App {
        store,
        tokens: tokens_with(&keys, unlink_identity::SECRETS),
    };
    let params = [("id", id.as_str()), ("provider", "xbox"), ("user_id", "7")];
    let resp = answer::<unlink_identity::Family>(unlink_identity::handler::handle(
        &unlink,
        &request(
            "DELETE",
            format!("/api/v2/users/{id}/identities/xbox/7"),
            &params,
            None,
        ),
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let calls = recorder.take();
    assert_eq!(operations(&calls), ["Query", "TransactWriteItems"]);
    assert_eq!(actions(&calls), granted("UnlinkIdentityFunction"));
}

/// Each template function with the secret material its crate declares.
fn declared_secrets() -> Vec<(&'static str, &'static [Material])> {
    vec![
        ("OauthTokenFunction", oauth_token::SECRETS),
        ("JwksFunction", jwks::SECRETS),
        ("AuthCustomIdFunction", auth_custom_id::SECRETS),
        ("LinkExternalIdFunction", link_external_id::SECRETS),
        ("GetMeFunction", get_me::SECRETS),
        ("LinkIdentifierFunction", link_identifier::SECRETS),
        ("ResolveIdentifierFunction", resolve_identifier::SECRETS),
        ("GetUserFunction", get_user::SECRETS),
        ("LinkIdentityFunction", link_identity::SECRETS),
        ("UnlinkIdentityFunction", unlink_identity::SECRETS),
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
    for (function, secrets) in declared_secrets() {
        assert_eq!(
            secrets.contains(&Material::SigningKeys),
            signers.contains(&function),
            "{function}"
        );
        assert_eq!(
            secrets.contains(&Material::PublicKeys),
            !signers.contains(&function),
            "{function}"
        );
        assert_eq!(
            secrets.contains(&Material::PartnerPepper),
            partners.contains(&function),
            "{function}"
        );
    }
}
