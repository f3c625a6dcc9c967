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
use crate::store::{ClientStore, LinkStore, LoginStore, SingleLink};
use crate::token::TokenService;
use crate::user::{LoginCommand, User};

pub const TEST_ISSUER: &str = "https://idlink.test";

pub fn test_key_json() -> String {
    generate_key_file(KeyAlg::ES256).expect("key generation")
}

pub fn test_tokens() -> TokenService {
    tokens_from(&test_key_json())
}

/// A token service over a given key set, so two apps in one test verify each other's tokens.
pub fn tokens_from(key_json: &str) -> TokenService {
    TokenService::new(KeySet::from_json(key_json).expect("key set"), TEST_ISSUER)
}

/// A token service over only the `materials` of a key set, as a function that declares them
/// loads it: without the signing keys it verifies through the public key set and cannot sign.
pub fn tokens_with(key_json: &str, materials: &[crate::config::Material]) -> TokenService {
    use crate::config::Material;
    use crate::keys::{pepper_from_json, public_key_set};
    let keys = if materials.contains(&Material::SigningKeys) {
        KeySet::from_private_json(key_json)
    } else {
        KeySet::from_public_json(&public_key_set(key_json).expect("public key set"))
    }
    .expect("key set");
    let keys = if materials.contains(&Material::PartnerPepper) {
        keys.with_pepper(pepper_from_json(key_json).expect("test keys carry a pepper"))
    } else {
        keys
    };
    TokenService::new(keys, TEST_ISSUER)
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
            .issue_server_token(&self.client_id, &self.project, scopes, crate::clock::now())
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
            (
                "SERVER_TOKEN_LOGIN_ONLY",
                self.server_token(tokens, &[Scope::UsersLogin]),
            ),
        ])
    }
}

/// The claims of a JWT, *unverified*: for asserting what a token carries after it was verified.
pub fn unverified_claims(token: &str) -> serde_json::Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// A link token for `user`, as token exchange mints it at `seed`'s server client's request, issued
/// at `at` (Unix seconds).
pub fn link_token(tokens: &TokenService, seed: &Seed, user: &User, at: i64) -> String {
    let login = tokens
        .issue_user_token(user, None, None, crate::clock::now())
        .expect("login token");
    let verified = tokens.verify_user_token(&login).expect("login token");
    tokens
        .issue_link_token(&verified, seed.client_id.as_str(), at)
        .expect("link token")
}

/// Logs a user in by custom ID (creating it on first use).
pub async fn login_user(store: &impl LoginStore, seed: &Seed, custom_id: &str) -> User {
    store
        .login(&LoginCommand::new(
            seed.project.id,
            CustomId::parse(custom_id).expect("custom id"),
            crate::clock::now(),
        ))
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
        .link_single(&SingleLink::external_id(
            seed.project.id,
            linked.id,
            &external,
            crate::clock::now(),
        ))
        .await
        .expect("link");
    let token = tokens
        .issue_user_token(&user, None, None, crate::clock::now())
        .expect("user token");
    values.insert("USER_ID", user.id.to_string());
    values.insert("USER_TOKEN", token);
    values.insert("LINKED_USER_ID", linked.id.to_string());
    values.insert(
        "LINK_WITH_TOKEN",
        link_token(tokens, seed, &linked, crate::clock::now()),
    );
    values.insert(
        "LINK_WITH_LOGIN_TOKEN",
        tokens
            .issue_user_token(&linked, None, None, crate::clock::now())
            .expect("user token"),
    );
    values.insert(
        "USER_LINK_TOKEN",
        link_token(tokens, seed, &user, crate::clock::now()),
    );
    values.insert(
        "LINKED_USER_LINK_TOKEN",
        link_token(tokens, seed, &linked, crate::clock::now()),
    );
    values.insert("LINKED_EXTERNAL_ID", LINKED_EXTERNAL_ID.to_owned());
}

pub const PARTNER_IDENTIFIER: &str =
    "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";

/// What the partner fixtures refer to, on top of [`seed_users`]: `API_KEY`, `PARTNER_IDENTIFIER`
/// (linked to `LINKED_USER_ID`, whose token is `LINKED_USER_TOKEN`), `EXPIRED_USER_TOKEN`,
/// `EXPIRED_SERVER_TOKEN` and `TOMBSTONED_USER_TOKEN` (a user merged away).
pub async fn seed_partner(
    store: &MemoryStore,
    tokens: &TokenService,
    seed: &Seed,
    values: &mut HashMap<&'static str, String>,
) {
    seed_users(store, tokens, seed, values).await;
    let linked = seed_partner_link(store, tokens, seed, values).await;
    let merged = login_user(store, seed, "fixture-merged").await;
    store.tombstone(merged.id, linked.id);
    values.insert(
        "TOMBSTONED_USER_TOKEN",
        tokens
            .issue_user_token(&merged, None, None, crate::clock::now())
            .expect("token"),
    );
}

/// The part of [`seed_partner`] any store can hold (everything but the merged-away user), after
/// [`seed_users`]. Returns the user the identifier is linked to.
pub async fn seed_partner_link(
    store: &(impl LoginStore + LinkStore + crate::store::ApiKeyStore),
    tokens: &TokenService,
    seed: &Seed,
    values: &mut HashMap<&'static str, String>,
) -> User {
    use crate::partner::{ApiKeyHash, PartnerIdentifier, generate_api_key};
    use crate::store::SingleKind;
    let api_key = generate_api_key().expect("api key");
    store
        .put_api_key(&ApiKeyHash::of(&api_key), seed.project.id)
        .await
        .expect("put api key");
    let linked = login_user(store, seed, "fixture-linked").await;
    let pepper = tokens.keys().pepper().expect("test keys carry a pepper");
    let subject = PartnerIdentifier::parse(PARTNER_IDENTIFIER)
        .expect("identifier")
        .subject(pepper);
    store
        .link_single(&SingleLink {
            project: seed.project.id,
            user: linked.id,
            kind: SingleKind::Partner,
            subject,
            session: None,
            now: crate::clock::now(),
            by: crate::audit::Audit::internal(),
        })
        .await
        .expect("link partner identifier");
    let now = crate::clock::now();
    let token = |user: &User, at: i64| {
        tokens
            .issue_user_token(user, None, None, at)
            .expect("token")
    };
    values.insert("API_KEY", api_key);
    values.insert("PARTNER_IDENTIFIER", PARTNER_IDENTIFIER.to_owned());
    values.insert("LINKED_USER_TOKEN", token(&linked, now));
    values.insert("EXPIRED_USER_TOKEN", token(&linked, now - 2 * 86_400));
    values.insert(
        "EXPIRED_SERVER_TOKEN",
        tokens
            .issue_server_token(
                &seed.client_id,
                &seed.project,
                &crate::client::Scope::ALL,
                now - 7200,
            )
            .expect("server token"),
    );
    linked
}

/// A store whose every operation fails as an unexpected backend error would: for the paths
/// that must answer an opaque 500 (`ER999`, `004-001`).
pub struct BrokenStore;

fn broken<T>() -> crate::error::Result<T> {
    Err(crate::error::Error::internal("injected store failure"))
}

impl crate::store::UserStore for BrokenStore {
    async fn get_user(
        &self,
        _: ProjectId,
        _: crate::identity::UserId,
    ) -> crate::error::Result<Option<crate::user::UserWithIdentities>> {
        broken()
    }
    async fn session(
        &self,
        _: crate::identity::UserId,
    ) -> crate::error::Result<Option<crate::user::Session>> {
        broken()
    }
    async fn owner_of(
        &self,
        _: ProjectId,
        _: &crate::identity::IdentityKey,
    ) -> crate::error::Result<Option<crate::identity::UserId>> {
        broken()
    }
}

impl crate::store::OnceStore for BrokenStore {
    async fn recall(
        &self,
        _: &crate::idempotency::Claim,
    ) -> crate::error::Result<Option<crate::idempotency::Record>> {
        broken()
    }

    async fn keep(
        &self,
        _: &crate::audit::Audit,
        _: &(dyn std::any::Any + Sync),
    ) -> crate::error::Result<()> {
        broken()
    }
}

impl LinkStore for BrokenStore {
    async fn link_single(&self, _: &SingleLink) -> crate::error::Result<crate::store::LinkOutcome> {
        broken()
    }
}

impl crate::store::ApiKeyStore for BrokenStore {
    async fn put_api_key(
        &self,
        _: &crate::partner::ApiKeyHash,
        _: ProjectId,
    ) -> crate::error::Result<()> {
        broken()
    }
    async fn api_key_project(
        &self,
        _: &crate::partner::ApiKeyHash,
    ) -> crate::error::Result<Option<ProjectId>> {
        broken()
    }
}

/// A write a concurrent request makes.
pub enum ConcurrentWrite {
    Merge(crate::store::accounts::LinkIdentity),
    Delete(ProjectId, crate::identity::UserId),
}

/// A memory store that lets one write in right after the first marker read of a lookup, as a
/// concurrent request would between a lookup's two reads.
pub struct WriteBetweenReads {
    pub inner: MemoryStore,
    write: std::sync::Mutex<Option<ConcurrentWrite>>,
}

impl WriteBetweenReads {
    pub fn new(inner: MemoryStore, write: ConcurrentWrite) -> Self {
        Self {
            inner,
            write: std::sync::Mutex::new(Some(write)),
        }
    }
}

impl crate::store::lookups::LookupStore for WriteBetweenReads {
    async fn owners(
        &self,
        project: ProjectId,
        identities: &[crate::identity::IdentityKey],
    ) -> crate::error::Result<Vec<Option<crate::identity::UserId>>> {
        use crate::store::DeleteStore;
        use crate::store::accounts::AccountStore;
        let owners = self.inner.owners(project, identities).await;
        let write = self.write.lock().expect("lock").take();
        match write {
            Some(ConcurrentWrite::Merge(cmd)) => {
                self.inner.link_identity(&cmd).await.expect("merge");
            }
            Some(ConcurrentWrite::Delete(p, id)) => self
                .inner
                .delete_user(p, id, &crate::audit::Audit::internal())
                .await
                .expect("delete"),
            None => {}
        }
        owners
    }

    async fn profiles(
        &self,
        project: ProjectId,
        ids: &[crate::identity::UserId],
    ) -> crate::error::Result<HashMap<crate::identity::UserId, User>> {
        self.inner.profiles(project, ids).await
    }
}

impl crate::store::UserStore for WriteBetweenReads {
    async fn get_user(
        &self,
        project: ProjectId,
        id: crate::identity::UserId,
    ) -> crate::error::Result<Option<crate::user::UserWithIdentities>> {
        self.inner.get_user(project, id).await
    }
    async fn session(
        &self,
        id: crate::identity::UserId,
    ) -> crate::error::Result<Option<crate::user::Session>> {
        self.inner.session(id).await
    }
    async fn owner_of(
        &self,
        project: ProjectId,
        identity: &crate::identity::IdentityKey,
    ) -> crate::error::Result<Option<crate::identity::UserId>> {
        self.inner.owner_of(project, identity).await
    }
}

/// A function's App over a seeded memory store, with a fresh key set: what a handler test starts from.
pub async fn seeded_app() -> (crate::function::App<MemoryStore>, Seed) {
    let (store, seed) = seeded_memory_store().await;
    let app = crate::function::App {
        store,
        tokens: test_tokens().into(),
    };
    (app, seed)
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

/// A request as API Gateway hands one to a handler: `method` on `path` with `headers`, the query
/// string's parameters (a name may repeat) and a JSON body (none when `None`).
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    query: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Request {
    use lambda_http::RequestExt;
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in query {
        params
            .entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    let body = body.map_or(lambda_http::Body::Empty, |b| b.to_string().into());
    let req: Request = builder.body(body).expect("a valid request");
    req.with_query_string_parameters(params)
}

/// A handler's answer as `(status, JSON body)`, the body `Null` when there is none.
pub fn answered(resp: lambda_http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (resp.status().as_u16(), body)
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

/// The partner code a fixture expects, from its name: `409-ER706-identifier-in-use.json`.
pub fn expected_partner_code(name: &str) -> Option<&str> {
    name.split('-').nth(1).filter(|c| c.starts_with("ER"))
}

/// One event fixture of a function, ready to serve: a fresh seeded world (every `${NAME}` of
/// [`Seed::placeholders`], [`seed_users`] and [`seed_partner`]) and the request it describes.
pub struct FixtureCase {
    pub name: String,
    pub app: crate::function::App<MemoryStore>,
    pub seed: Seed,
    pub values: HashMap<&'static str, String>,
    pub request: Request,
    /// The key set `app` signs with, for a second app (say over a [`BrokenStore`]) that must
    /// verify the same tokens.
    pub keys: String,
}

impl FixtureCase {
    /// Asserts the status the fixture's name starts with, and answers the JSON body (`Null`
    /// when there is none).
    pub fn expect(&self, resp: lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
        let body: serde_json::Value =
            serde_json::from_slice(resp.body().as_ref()).unwrap_or(serde_json::Value::Null);
        assert_eq!(
            resp.status().as_u16(),
            expected_status(&self.name),
            "{}: {body}",
            self.name
        );
        body
    }

    pub fn status(&self) -> u16 {
        expected_status(&self.name)
    }

    /// An App over the same key set whose store fails every call (for the `ER999` cases).
    pub fn broken(&self) -> crate::function::App<BrokenStore> {
        crate::function::App {
            store: BrokenStore,
            tokens: tokens_from(&self.keys).into(),
        }
    }

    /// [`FixtureCase::expect`], then the partner code its name carries (`409-ER706-…`) in the
    /// partner envelope.
    pub fn expect_partner(&self, resp: lambda_http::Response<lambda_http::Body>) {
        let body = self.expect(resp);
        if let Some(code) = expected_partner_code(&self.name) {
            assert_eq!(body["code"], code, "{}", self.name);
            assert!(body["message"].is_string() && body["solution"].is_string());
        }
    }
}

/// Every fixture in `events/<function>/` (at least `min` of them), each against a world of its
/// own: each describes one request against the same starting state.
pub async fn fixture_cases(function: &str, min: usize) -> Vec<FixtureCase> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function);
    let all = fixtures(&dir);
    assert!(
        all.len() >= min,
        "{function}: {} fixtures, expected at least {min}",
        all.len()
    );
    let mut cases = Vec::with_capacity(all.len());
    for (name, text) in all {
        let keys = test_key_json();
        let (store, seed) = seeded_memory_store().await;
        let tokens = tokens_from(&keys);
        let mut values = seed.placeholders(&tokens);
        seed_partner(&store, &tokens, &seed, &mut values).await;
        let request = request_from_fixture(&text, &values);
        cases.push(FixtureCase {
            name,
            app: crate::function::App {
                store,
                tokens: tokens.into(),
            },
            seed,
            values,
            request,
            keys,
        });
    }
    cases
}

/// A request as API Gateway hands it to a handler: `method` on `uri` with its path parameters,
/// a bearer token (none when empty) and a JSON body.
pub fn api_request(
    method: &str,
    uri: &str,
    params: &[(&str, &str)],
    token: &str,
    body: Option<&serde_json::Value>,
) -> Request {
    use lambda_http::RequestExt;
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    if !token.is_empty() {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            lambda_http::Body::from(json.to_string())
        }
        None => lambda_http::Body::Empty,
    };
    builder.body(body).expect("request").with_path_parameters(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    )
}

/// The `key` of each of an answer's `attributes`, in order.
pub fn attribute_keys(body: &serde_json::Value) -> Vec<&str> {
    body["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect()
}

/// The status and JSON body (`Null` when there is none) of an answer.
pub fn status_and_json(resp: lambda_http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (resp.status().as_u16(), body)
}

/// What a handler test works on: the App over a seeded memory store, the seed, and a server
/// token of the seed's client with the scopes the endpoint needs.
pub struct TestEnv {
    pub app: crate::function::App<MemoryStore>,
    pub seed: Seed,
    pub token: String,
}

impl TestEnv {
    pub async fn new(scopes: &[Scope]) -> Self {
        let (app, seed) = seeded_app().await;
        let token = seed.server_token(&app.tokens, scopes);
        Self { app, seed, token }
    }

    /// The user as the store holds it now (it must exist and be live).
    pub async fn stored(&self, user: crate::identity::UserId) -> crate::user::UserWithIdentities {
        use crate::store::UserStore;
        self.app
            .store
            .get_user(self.seed.project.id, user)
            .await
            .expect("get user")
            .expect("a live user")
    }

    /// A plain login by `custom` now, whatever it answers (a ban's refusal included).
    pub async fn try_login(&self, custom: &str) -> crate::error::Result<User> {
        let cmd = LoginCommand::new(
            self.seed.project.id,
            CustomId::parse(custom).expect("custom id"),
            crate::clock::now(),
        );
        self.app.store.login(&cmd).await.map(|o| o.user)
    }

    /// A login token of `user`, issued now.
    pub fn token_of(&self, user: &User) -> String {
        self.app
            .tokens
            .issue_user_token(user, None, None, crate::clock::now())
            .expect("user token")
    }

    /// What the session check says of a user token now (signature, session version, ban).
    pub async fn session_check(
        &self,
        token: &str,
    ) -> crate::error::Result<crate::token::VerifiedUser> {
        self.app
            .tokens
            .verify_user_session(token, &self.app.store)
            .await
    }

    /// Bans `user` from `from` until `to` (for good without), as Xsolla's ban writes it.
    pub async fn ban(&self, user: crate::identity::UserId, from: i64, to: Option<i64>) {
        use crate::store::profile::{BanChange, ProfileStore, ProfileUpdate};
        let mut update = ProfileUpdate::new(self.seed.project.id, user, crate::clock::now());
        update.ban = Some(BanChange::Ban(crate::user::Ban {
            from,
            to,
            reason: Some("Cheating".to_owned()),
        }));
        self.app.store.update_profile(&update).await.expect("ban");
    }

    /// Logs `custom` in (creating it on first use), bringing a social profile if given.
    pub async fn login(&self, custom: &str, social: Option<(&str, &str)>) -> User {
        login_social(&self.app.store, self.seed.project.id, custom, social).await
    }
}

/// Logs `custom` in to `project` on any store (creating it on first use), bringing a social
/// profile `(platform, user_id)` if given.
pub async fn login_social(
    store: &impl LoginStore,
    project: ProjectId,
    custom: &str,
    social: Option<(&str, &str)>,
) -> User {
    let cmd = LoginCommand {
        social: social.map(|(platform, id)| {
            crate::identity::IdentityKey::social(platform, &serde_json::json!(id))
                .expect("social profile")
        }),
        ..LoginCommand::new(
            project,
            CustomId::parse(custom).expect("custom id"),
            crate::clock::now(),
        )
    };
    store.login(&cmd).await.expect("login").user
}

/// Declares a handler test module's `Env` (a [`TestEnv`] it can add methods to) and
/// `async fn env()`, whose server token holds `scopes`.
#[macro_export]
macro_rules! handler_env {
    ($($scope:expr),* $(,)?) => {
        struct Env($crate::testing::TestEnv);

        impl std::ops::Deref for Env {
            type Target = $crate::testing::TestEnv;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        async fn env() -> Env {
            Env($crate::testing::TestEnv::new(&[$($scope),*]).await)
        }
    };
}

/// Declares a handler test module's `fixtures` test: every `events/<function>/` fixture (at least
/// `min`) answers the status its name starts with. `crate::Family` is the calling function's.
#[macro_export]
#[allow(clippy::crate_in_macro_def)]
macro_rules! fixture_test {
    ($function:literal, $min:expr) => {
        #[tokio::test]
        async fn fixtures() {
            for case in $crate::testing::fixture_cases($function, $min).await {
                let resp =
                    $crate::function::answer::<crate::Family>(handle(&case.app, &case.request))
                        .await;
                case.expect(resp);
            }
        }
    };
}
