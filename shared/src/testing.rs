//! Test support shared by the functions' handler tests and tests/: a key set, a seeded memory
//! store, and API Gateway fixtures with their placeholders filled in.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;

use crate::client::{ClientId, Project, Scope, SecretHash, ServerClient, generate_client_secret};
use crate::identity::ProjectId;
use crate::identity::{CustomId, ExternalAccountId};
use crate::keys::{KeyAlg, KeySet, generate_key_file};
use crate::store::memory::MemoryStore;
use crate::store::{ClientStore, LinkStore, LoginStore};
use crate::token::TokenService;
use crate::user::{LoginCommand, User};

pub const TEST_ISSUER: &str = "https://idlink.test";

pub fn test_key_json() -> String {
    generate_key_file(KeyAlg::ES256).expect("key generation")
}

pub fn test_tokens() -> TokenService {
    TokenService::new(
        KeySet::from_json(&test_key_json()).expect("key set"),
        TEST_ISSUER,
    )
}

/// A project with one server client holding every scope.
pub struct Seed {
    pub project: Project,
    pub client_id: ClientId,
    pub client_secret: String,
}

impl Seed {
    pub async fn create(store: &impl ClientStore, publisher_project_id: Option<u64>) -> Self {
        let project = Project {
            id: ProjectId::new_random(),
            name: "test project".into(),
            publisher_id: Some(42),
            publisher_project_id,
        };
        store.put_project(&project).await.expect("put project");
        let client_secret = generate_client_secret().expect("secret");
        let client = ServerClient {
            id: ClientId::new_random(),
            project: project.id,
            secret_hash: SecretHash::of(&client_secret),
            scopes: Scope::ALL.to_vec(),
        };
        store.put_client(&client).await.expect("put client");
        Self {
            project,
            client_id: client.id,
            client_secret,
        }
    }

    pub fn server_token(&self, tokens: &TokenService, scopes: &[Scope]) -> String {
        tokens
            .issue_server_token(&self.client_id, &self.project, scopes, crate::config::now())
            .expect("server token")
    }

    /// The values fixtures refer to as `${NAME}`.
    pub fn placeholders(&self, tokens: &TokenService) -> HashMap<&'static str, String> {
        HashMap::from([
            ("PROJECT_ID", self.project.id.to_string()),
            ("CLIENT_ID", self.client_id.as_str().to_owned()),
            ("CLIENT_SECRET", self.client_secret.clone()),
            (
                "BASIC_AUTH",
                STANDARD.encode(format!(
                    "{}:{}",
                    self.client_id.as_str(),
                    self.client_secret
                )),
            ),
            ("SERVER_TOKEN", self.server_token(tokens, &Scope::ALL)),
            (
                "SERVER_TOKEN_NO_SCOPE",
                self.server_token(tokens, &[Scope::ReadUsers]),
            ),
        ])
    }
}

/// Logs a user in by custom ID (creating it on first use).
pub async fn login_user(store: &impl LoginStore, seed: &Seed, custom_id: &str) -> User {
    store
        .login(&LoginCommand {
            project: seed.project.id,
            custom_id: CustomId::parse(custom_id).expect("custom id"),
            nickname: None,
            attributes: Vec::new(),
            social: None,
            end_other_sessions: false,
            now: crate::config::now(),
        })
        .await
        .expect("login")
        .user
}

pub const LINKED_EXTERNAL_ID: &str = "fixture-ext-a";

/// Users the fixtures refer to: `USER_ID`/`USER_TOKEN` (no external ID yet) and
/// `LINKED_USER_ID` (holding `LINKED_EXTERNAL_ID`).
pub async fn seed_users(
    store: &(impl LoginStore + LinkStore),
    tokens: &TokenService,
    seed: &Seed,
    values: &mut HashMap<&'static str, String>,
) {
    let user = login_user(store, seed, "fixture-user").await;
    let linked = login_user(store, seed, "fixture-linked").await;
    let external = ExternalAccountId::parse(LINKED_EXTERNAL_ID).expect("external id");
    store
        .link_external_id(seed.project.id, linked.id, &external, crate::config::now())
        .await
        .expect("link");
    let token = tokens
        .issue_user_token(&user, None, None, crate::config::now())
        .expect("user token");
    values.insert("USER_ID", user.id.to_string());
    values.insert("USER_TOKEN", token);
    values.insert("LINKED_USER_ID", linked.id.to_string());
    values.insert("LINKED_EXTERNAL_ID", LINKED_EXTERNAL_ID.to_owned());
}

pub async fn seeded_memory_store() -> (MemoryStore, Seed) {
    let store = MemoryStore::new();
    let seed = Seed::create(&store, Some(7)).await;
    (store, seed)
}

/// Fills `${NAME}` placeholders in a fixture's text.
pub fn fill(text: &str, values: &HashMap<&'static str, String>) -> String {
    let mut out = text.to_owned();
    for (k, v) in values {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

pub fn request_from_fixture(text: &str, values: &HashMap<&'static str, String>) -> Request {
    lambda_http::request::from_str(&fill(text, values)).expect("fixture is an API Gateway event")
}

/// Every fixture of a function as `(file name, text)`, sorted.
pub fn fixtures(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("events directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(&p).expect("fixture readable"),
            )
        })
        .collect();
    out.sort();
    out
}

/// The status a fixture expects, from its name: `401-no-token.json` → 401.
pub fn expected_status(name: &str) -> u16 {
    name.split('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("fixture {name} must start with its expected status"))
}
