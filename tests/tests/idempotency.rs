//! `Idempotency-Key` through the real handlers on the local DynamoDB API: a keyed change happens
//! once and its first answer comes back on a retry (marked `idempotent-replayed: true`) without
//! touching the table; the same key with another request is 422 in the family's envelope; twins
//! sent at once execute once and answer alike; a key is its caller's; an expired record no longer
//! answers and its slot is reused; without the header nothing changed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

use aws_sdk_dynamodb::types::AttributeValue;
use idlink::client::{ClientId, Scope, SecretHash, ServerClient, generate_client_secret};
use idlink::function::App;
use idlink::identity::UserId;
use idlink::store::ClientStore;
use idlink::store::dynamo::DynamoStore;
use idlink::store::profile::{BanChange, ProfileStore, ProfileUpdate};
use idlink::testing::{Seed, api_request, login_social, login_user, test_tokens};
use idlink::user::{Ban, User};
use idlink_tests::{Item, assert_identity_invariants, fresh_store, kind, scan, text};
use lambda_http::http::HeaderValue;
use lambda_http::{Request, RequestExt};
use serde_json::{Value, json};

const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// Twins sent at once in the concurrency cases.
const TWINS: usize = 8;
const PARTNER_ID_A: &str = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";
const PARTNER_ID_B: &str = "0b5e6f6a1d3c4b2a99887766554433221100ffeeddccbbaa0099887766554433";

/// One project with a server client holding every scope, on a fresh table.
struct Env {
    app: Arc<App<DynamoStore>>,
    store: DynamoStore,
    seed: Seed,
    server: String,
}

impl Env {
    async fn new() -> Self {
        let store = fresh_store().await;
        let seed = Seed::create(&store, None).await;
        let tokens = test_tokens();
        let server = seed.server_token(&tokens, &Scope::ALL);
        let app = Arc::new(App {
            store: store.clone(),
            tokens: tokens.into(),
        });
        Self {
            app,
            store,
            seed,
            server,
        }
    }

    fn project(&self) -> String {
        self.seed.project.id.to_string()
    }

    async fn user(&self, custom: &str) -> User {
        login_user(&self.store, &self.seed, custom).await
    }

    fn user_token(&self, user: &User) -> String {
        self.app
            .tokens
            .issue_user_token(user, None, None, idlink::clock::now())
            .unwrap()
    }

    /// A token of a second server client of the same project (every scope).
    async fn other_client_token(&self) -> String {
        let client = ServerClient {
            id: ClientId::new_random(),
            project: self.seed.project.id,
            secret_hash: SecretHash::of(&generate_client_secret().unwrap()),
            scopes: Scope::ALL.to_vec(),
        };
        self.store.put_client(&client).await.unwrap();
        self.app
            .tokens
            .issue_server_token(
                &client.id,
                &self.seed.project,
                &Scope::ALL,
                idlink::clock::now(),
            )
            .unwrap()
    }

    async fn ban(&self, user: UserId) {
        let mut update = ProfileUpdate::new(self.seed.project.id, user, idlink::clock::now());
        update.ban = Some(BanChange::Ban(Ban {
            from: idlink::clock::now() - 5,
            to: None,
            reason: Some("setup".into()),
        }));
        self.store.update_profile(&update).await.unwrap();
    }

    // The requests, one per mutating function.

    fn login(&self, custom: &str) -> Request {
        api_request(
            "POST",
            "/users/login/server_custom_id",
            &[],
            &self.server,
            Some(&json!({ "server_custom_id": custom })),
        )
    }

    fn link_external_id(&self, user: &User, external: &str) -> Request {
        api_request(
            "POST",
            "/users/account/link_external_id",
            &[],
            &self.server,
            Some(&json!({ "user_id": user.id.to_string(), "external_account_id": external })),
        )
    }

    fn link_identifier(&self, user: &User, identifier: &str) -> Request {
        api_request(
            "POST",
            "/api/v2/user/link-identifier",
            &[],
            &self.user_token(user),
            Some(&json!({ "identifier": identifier })),
        )
    }

    fn link_identity(&self, primary: &User, provider: &str, subject: &str) -> Request {
        let id = primary.id.to_string();
        api_request(
            "POST",
            &format!("/api/v2/users/{id}/identities"),
            &[("id", &id)],
            &self.server,
            Some(&json!({ "provider": provider, "user_id": subject })),
        )
    }

    fn unlink_identity(&self, user: &User, provider: &str, subject: &str) -> Request {
        let id = user.id.to_string();
        api_request(
            "DELETE",
            &format!("/api/v2/users/{id}/identities/{provider}/{subject}"),
            &[("id", &id), ("provider", provider), ("user_id", subject)],
            &self.server,
            None,
        )
    }

    fn write_attributes(&self, custom: &str, level: &str) -> Request {
        let project = self.project();
        api_request(
            "POST",
            &format!("/projects/{project}/server_custom_id/{custom}/attributes"),
            &[("project_id", &project), ("server_custom_id", custom)],
            &self.server,
            Some(&json!({
                "publisher_id": null,
                "attributes": [{ "key": "level", "value": level }],
            })),
        )
    }

    fn change_custom_id(&self, user: &User, new: &str) -> Request {
        let (project, id) = (self.project(), user.id.to_string());
        api_request(
            "PUT",
            &format!("/projects/{project}/users/{id}/server_custom_id"),
            &[("project_id", &project), ("user_id", &id)],
            &self.server,
            Some(&json!({ "server_custom_id": new })),
        )
    }

    fn delete_user(&self, user: &User) -> Request {
        let id = user.id.to_string();
        api_request(
            "DELETE",
            &format!("/api/v2/users/{id}"),
            &[("id", &id)],
            &self.server,
            None,
        )
    }

    fn delete_user_xsolla(&self, user: &User) -> Request {
        let (project, id) = (self.project(), user.id.to_string());
        api_request(
            "DELETE",
            &format!("/users/{id}?projectId={project}"),
            &[("user_id", &id)],
            &self.server,
            None,
        )
        .with_query_string_parameters(HashMap::from([("projectId".to_owned(), project)]))
    }

    fn ban_user(&self, user: &User, reason: &str) -> Request {
        self.ban_user_as(&self.server, user, reason)
    }

    fn ban_user_as(&self, token: &str, user: &User, reason: &str) -> Request {
        let (project, id) = (self.project(), user.id.to_string());
        api_request(
            "POST",
            &format!("/projects/{project}/users/{id}/ban"),
            &[("project_id", &project), ("user_id", &id)],
            token,
            Some(&json!({ "reason": reason })),
        )
    }

    fn unban_user(&self, user: &User) -> Request {
        let (project, id) = (self.project(), user.id.to_string());
        api_request(
            "DELETE",
            &format!("/projects/{project}/users/{id}/ban"),
            &[("project_id", &project), ("user_id", &id)],
            &self.server,
            None,
        )
    }

    fn update_user(&self, user: &User, body: Value) -> Request {
        let id = user.id.to_string();
        api_request(
            "PATCH",
            &format!("/api/v2/users/{id}"),
            &[("id", &id)],
            &self.server,
            Some(&body),
        )
    }

    /// The user id a login answer's token names.
    fn subject(&self, answer: &Answer) -> String {
        let token = answer.json()["token"].as_str().unwrap().to_owned();
        self.app
            .tokens
            .verify_user_token(&token)
            .unwrap()
            .user
            .to_string()
    }
}

/// An answer as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    body: String,
    replayed: bool,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Status and body: what a replay must give again.
    fn given(&self) -> (u16, &str) {
        (self.status, &self.body)
    }
}

fn with_key(mut req: Request, key: &str) -> Request {
    req.headers_mut()
        .append(HEADER, HeaderValue::from_str(key).unwrap());
    req
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Serves `req` with the named function's handler, as its Lambda answers.
async fn send(app: &App<DynamoStore>, function: &str, req: Request) -> Answer {
    let resp = idlink_tests::serve!(function, app, &req);
    let replayed = match resp.headers().get(REPLAYED) {
        None => false,
        Some(v) => {
            assert_eq!(v, "true", "{function}: the replay header's value");
            true
        }
    };
    Answer {
        status: resp.status().as_u16(),
        body: String::from_utf8(resp.body().as_ref().to_vec()).unwrap(),
        replayed,
    }
}

/// Every item, in key order, so two views of the table compare whole.
async fn table(store: &DynamoStore) -> Vec<Item> {
    let mut items = scan(store).await;
    items.sort_by(|a, b| (text(a, "PK"), text(a, "SK")).cmp(&(text(b, "PK"), text(b, "SK"))));
    items
}

fn once_records(items: &[Item]) -> Vec<&Item> {
    items
        .iter()
        .filter(|i| text(i, "PK").starts_with("ONCE#"))
        .collect()
}

/// The `what` of the audit records in `after` that are not in `before`, sorted.
fn new_log_records(before: &[Item], after: &[Item]) -> Vec<String> {
    let key = |i: &Item| (text(i, "PK").to_owned(), text(i, "SK").to_owned());
    let old: Vec<_> = kind(before, "log").into_iter().map(key).collect();
    let mut new: Vec<String> = kind(after, "log")
        .into_iter()
        .filter(|i| !old.contains(&key(i)))
        .map(|i| text(i, "what").to_owned())
        .collect();
    new.sort();
    new
}

fn is_live_user(items: &[Item], user: UserId) -> bool {
    let pk = format!("USER#{user}");
    kind(items, "user")
        .into_iter()
        .any(|u| text(u, "PK") == pk && !u.contains_key("merged_into"))
}

fn user_item(items: &[Item], user: UserId) -> &Item {
    let pk = format!("USER#{user}");
    kind(items, "user")
        .into_iter()
        .find(|u| text(u, "PK") == pk)
        .unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Family {
    Xsolla,
    Auth0,
    Partner,
}

/// 422 "the key was used with another request", in `family`'s envelope.
fn assert_reused(family: Family, answer: &Answer) {
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(!answer.replayed, "a refusal is not a replay");
    let body = answer.json();
    match family {
        Family::Xsolla => {
            assert_eq!(body["error"]["code"], "002-027", "{body}");
            assert_eq!(
                body["error"]["details"]["parameter"], "Idempotency-Key",
                "{body}"
            );
        }
        Family::Auth0 => {
            assert_eq!(body["statusCode"], 422, "{body}");
            assert_eq!(body["errorCode"], "idempotency_key_reused", "{body}");
        }
        Family::Partner => assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED", "{body}"),
    }
}

/// The whole contract for one function: `request` with a fresh key answers `status` and keeps
/// one record with its change; the same request again answers the same status and body, marked
/// as a replay, and leaves the table as it was; `other` with that key is 422 and changes nothing.
/// Answers the first answer and the table before and after it.
async fn once_replay_reuse(
    env: &Env,
    function: &str,
    family: Family,
    request: Request,
    other: Request,
    status: u16,
) -> (Answer, Vec<Item>, Vec<Item>) {
    let key = new_key();
    let before = table(&env.store).await;

    let first = send(&env.app, function, with_key(request.clone(), &key)).await;
    let after = table(&env.store).await;
    let again = send(&env.app, function, with_key(request, &key)).await;
    let after_again = table(&env.store).await;
    let reused = send(&env.app, function, with_key(other, &key)).await;
    let after_reused = table(&env.store).await;

    assert_eq!(first.status, status, "{function}: {}", first.body);
    assert!(!first.replayed, "{function}: a first answer is no replay");
    assert_eq!(
        once_records(&after).len(),
        once_records(&before).len() + 1,
        "{function}: the answer is kept with the change"
    );
    assert_eq!(again.given(), first.given(), "{function}: the replay");
    assert!(again.replayed, "{function}: the replay is marked");
    assert!(after_again == after, "{function}: a replay changes nothing");
    assert_reused(family, &reused);
    assert!(
        after_reused == after,
        "{function}: another request with the key changes nothing"
    );
    assert_identity_invariants(&after);
    (first, before, after)
}

// 1. Each mutating function: once, replayed, and the key refused for another request.

#[tokio::test]
async fn a_first_login_creates_one_user_and_its_replay_gives_the_same_token() {
    let env = Env::new().await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "auth-custom-id",
        Family::Xsolla,
        env.login("new-player"),
        env.login("someone-else"),
        200,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["user_created"]);
    assert_eq!(
        kind(&after, "user").len(),
        1,
        "someone-else was not created"
    );
    let user = env.subject(&first);
    assert_eq!(text(kind(&after, "user")[0], "PK"), format!("USER#{user}"));
}

#[tokio::test]
async fn a_returning_login_is_replayed_with_the_same_token() {
    let env = Env::new().await;
    let player = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "auth-custom-id",
        Family::Xsolla,
        env.login("p"),
        env.login("q"),
        200,
    )
    .await;

    assert_eq!(env.subject(&first), player.id.to_string());
    assert!(new_log_records(&before, &after).is_empty());
    assert_eq!(kind(&after, "user").len(), 1, "q was not created");
}

#[tokio::test]
async fn link_external_id_links_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "link-external-id",
        Family::Xsolla,
        env.link_external_id(&user, "ext-1"),
        env.link_external_id(&user, "ext-2"),
        200,
    )
    .await;

    assert_eq!(first.json(), json!({}));
    assert_eq!(new_log_records(&before, &after), ["external_id_linked"]);
    let markers: Vec<_> = kind(&after, "marker")
        .into_iter()
        .map(|m| text(m, "PK"))
        .filter(|pk| pk.contains("ext-"))
        .collect();
    assert_eq!(markers.len(), 1, "{markers:?}");
    assert!(markers[0].ends_with("#ext-1"), "{markers:?}");
}

#[tokio::test]
async fn link_identifier_links_once_in_the_partner_envelope() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "link-identifier",
        Family::Partner,
        env.link_identifier(&user, PARTNER_ID_A),
        env.link_identifier(&user, PARTNER_ID_B),
        200,
    )
    .await;

    assert_eq!(
        first.json()["message"],
        "User identifier linked successfully."
    );
    assert_eq!(new_log_records(&before, &after), ["partner_linked"]);
    assert_eq!(
        kind(&after, "marker").len(),
        kind(&before, "marker").len() + 1
    );
}

#[tokio::test]
async fn link_identity_attaches_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "link-identity",
        Family::Auth0,
        env.link_identity(&user, "xbox", "7"),
        env.link_identity(&user, "xbox", "8"),
        201,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["identity_linked"]);
    let providers: Vec<_> = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i["provider"], i["user_id"]))
        .collect();
    assert!(
        providers.contains(&r#""xbox"/"7""#.to_owned()),
        "{providers:?}"
    );
    let xbox: Vec<_> = kind(&after, "marker")
        .into_iter()
        .filter(|m| text(m, "PK").contains("#xbox#"))
        .collect();
    assert_eq!(xbox.len(), 1, "xbox 8 was not attached");
}

#[tokio::test]
async fn link_identity_merges_once() {
    let env = Env::new().await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    let c = env.user("c").await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "link-identity",
        Family::Auth0,
        env.link_identity(&a, "server_custom_id", "b"),
        env.link_identity(&a, "server_custom_id", "c"),
        201,
    )
    .await;

    assert_eq!(
        new_log_records(&before, &after),
        ["user_merged", "user_merged_away"]
    );
    assert!(!is_live_user(&after, b.id), "b was merged away");
    assert!(is_live_user(&after, c.id), "c was not merged");
}

#[tokio::test]
async fn unlink_identity_unlinks_once() {
    let env = Env::new().await;
    let user = login_social(&env.store, env.seed.project.id, "p", Some(("xbox", "7"))).await;
    login_social(&env.store, env.seed.project.id, "p", Some(("psn", "8"))).await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "unlink-identity",
        Family::Auth0,
        env.unlink_identity(&user, "xbox", "7"),
        env.unlink_identity(&user, "psn", "8"),
        200,
    )
    .await;

    let records = new_log_records(&before, &after);
    assert_eq!(
        records.iter().filter(|r| *r == "identity_unlinked").count(),
        1,
        "{records:?}"
    );
    let holders: Vec<_> = kind(&after, "marker")
        .into_iter()
        .filter(|m| text(m, "PK").contains("#psn#"))
        .map(|m| text(m, "user_id"))
        .collect();
    assert_eq!(holders, [user.id.to_string()], "psn 8 stays with p");
    assert_eq!(
        kind(&after, "user").len(),
        2,
        "one standalone user for xbox 7"
    );
}

#[tokio::test]
async fn write_attributes_writes_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "write-attributes",
        Family::Xsolla,
        env.write_attributes("p", "2"),
        env.write_attributes("p", "3"),
        204,
    )
    .await;

    assert_eq!(first.body, "");
    assert_eq!(new_log_records(&before, &after), ["attributes_written"]);
    // The stored value is the attribute's JSON text.
    let level = user_item(&after, user.id)["attrs"].as_m().unwrap()["level"]
        .as_m()
        .unwrap()["v"]
        .as_s()
        .unwrap()
        .clone();
    assert_eq!(
        level,
        json!("2").to_string(),
        "the second request was not written"
    );
}

#[tokio::test]
async fn change_custom_id_changes_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "change-custom-id",
        Family::Xsolla,
        env.change_custom_id(&user, "q"),
        env.change_custom_id(&user, "r"),
        204,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["custom_id_changed"]);
    let customs: Vec<_> = kind(&after, "marker")
        .into_iter()
        .map(|m| text(m, "PK").rsplit('#').next().unwrap().to_owned())
        .collect();
    assert_eq!(customs, ["q"]);
}

#[tokio::test]
async fn a_custom_id_change_to_the_same_is_kept_and_replayed() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "change-custom-id",
        Family::Xsolla,
        env.change_custom_id(&user, "p"),
        env.change_custom_id(&user, "r"),
        204,
    )
    .await;

    assert!(new_log_records(&before, &after).is_empty());
}

#[tokio::test]
async fn delete_user_deletes_once() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let other = env.user("q").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "delete-user",
        Family::Auth0,
        env.delete_user(&user),
        env.delete_user(&other),
        204,
    )
    .await;

    assert_eq!(first.body, "");
    assert_eq!(new_log_records(&before, &after), ["user_deleted"]);
    assert!(!is_live_user(&after, user.id));
    assert!(is_live_user(&after, other.id), "q was not deleted");
}

#[tokio::test]
async fn delete_user_xsolla_deletes_once() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let other = env.user("q").await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "delete-user-xsolla",
        Family::Xsolla,
        env.delete_user_xsolla(&user),
        env.delete_user_xsolla(&other),
        204,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["user_deleted"]);
    assert!(!is_live_user(&after, user.id));
    assert!(is_live_user(&after, other.id), "q was not deleted");
}

#[tokio::test]
async fn ban_user_bans_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "ban-user",
        Family::Xsolla,
        env.ban_user(&user, "Cheating"),
        env.ban_user(&user, "Spam"),
        204,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["user_banned"]);
    let profile = format!("{:?}", user_item(&after, user.id));
    assert!(
        profile.contains("Cheating") && !profile.contains("Spam"),
        "{profile}"
    );
}

#[tokio::test]
async fn unban_user_unbans_once() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let other = env.user("q").await;
    env.ban(user.id).await;
    env.ban(other.id).await;

    let (_, before, after) = once_replay_reuse(
        &env,
        "unban-user",
        Family::Xsolla,
        env.unban_user(&user),
        env.unban_user(&other),
        204,
    )
    .await;

    assert_eq!(new_log_records(&before, &after), ["user_unbanned"]);
    assert!(
        user_item(&before, other.id) == user_item(&after, other.id),
        "q stays banned"
    );
}

#[tokio::test]
async fn update_user_updates_once() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let (first, before, after) = once_replay_reuse(
        &env,
        "update-user",
        Family::Auth0,
        env.update_user(&user, json!({ "app_metadata": { "level": 2 } })),
        env.update_user(&user, json!({ "app_metadata": { "level": 3 } })),
        200,
    )
    .await;

    assert_eq!(first.json()["app_metadata"]["level"], 2, "{}", first.body);
    assert_eq!(new_log_records(&before, &after), ["metadata_updated"]);
}

// 2. Twins sent at once execute once, and all answer alike.

/// Sends `TWINS` copies of `req` at once; answers in order.
async fn twins(env: &Env, function: &'static str, req: Request) -> Vec<Answer> {
    let barrier = Arc::new(tokio::sync::Barrier::new(TWINS));
    let tasks: Vec<_> = (0..TWINS)
        .map(|_| {
            let (app, barrier, req) = (env.app.clone(), barrier.clone(), req.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                send(&app, function, req).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// All answers give the same status and body; exactly one is the execution's own.
fn assert_one_answer(function: &str, answers: &[Answer], status: u16) {
    let first = &answers[0];
    assert_eq!(first.status, status, "{function}: {answers:?}");
    for a in answers {
        assert_eq!(a.given(), first.given(), "{function}: {answers:?}");
    }
    assert_eq!(
        answers.iter().filter(|a| !a.replayed).count(),
        1,
        "{function}: one execution, the others answer what it wrote: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twin_first_logins_create_one_user_and_get_one_token() {
    let env = Env::new().await;
    let before = table(&env.store).await;

    let answers = twins(&env, "auth-custom-id", with_key(env.login("p"), &new_key())).await;

    assert_one_answer("auth-custom-id", &answers, 200);
    let after = table(&env.store).await;
    assert_eq!(kind(&after, "user").len(), 1);
    assert_eq!(new_log_records(&before, &after), ["user_created"]);
    assert_eq!(once_records(&after).len(), 1);
    assert_eq!(
        text(kind(&after, "user")[0], "PK"),
        format!("USER#{}", env.subject(&answers[0]))
    );
    assert_identity_invariants(&after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twin_merges_merge_once() {
    let env = Env::new().await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    let before = table(&env.store).await;

    let req = with_key(env.link_identity(&a, "server_custom_id", "b"), &new_key());
    let answers = twins(&env, "link-identity", req).await;

    assert_one_answer("link-identity", &answers, 201);
    let after = table(&env.store).await;
    assert_eq!(
        new_log_records(&before, &after),
        ["user_merged", "user_merged_away"]
    );
    assert!(!is_live_user(&after, b.id));
    assert_eq!(once_records(&after).len(), 1);
    assert_identity_invariants(&after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twin_deletes_delete_once_and_all_answer_204() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let before = table(&env.store).await;

    let answers = twins(
        &env,
        "delete-user",
        with_key(env.delete_user(&user), &new_key()),
    )
    .await;

    assert_one_answer("delete-user", &answers, 204);
    let after = table(&env.store).await;
    // Exactly one deletion record (a twin's purge once took the winner's away:
    // `a_twin_delete_that_read_the_user_first_keeps_the_deletion_record` opens that window).
    let records = new_log_records(&before, &after);
    assert_eq!(records, ["user_deleted"]);
    assert!(!is_live_user(&after, user.id));
    assert_eq!(once_records(&after).len(), 1);
    assert_identity_invariants(&after);
}

// 3. A key is its caller's.

#[tokio::test]
async fn one_key_of_two_server_clients_is_two_requests() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let other_client = env.other_client_token().await;
    let key = new_key();
    let before = table(&env.store).await;

    let mine = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user(&user, "Cheating"), &key),
    )
    .await;
    let theirs = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user_as(&other_client, &user, "Spam"), &key),
    )
    .await;
    let mine_again = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user(&user, "Cheating"), &key),
    )
    .await;

    assert_eq!((mine.status, mine.replayed), (204, false));
    assert_eq!(
        (theirs.status, theirs.replayed),
        (204, false),
        "not 422: another caller's key"
    );
    assert_eq!((mine_again.status, mine_again.replayed), (204, true));
    let after = table(&env.store).await;
    assert_eq!(
        new_log_records(&before, &after),
        ["user_banned", "user_banned"]
    );
    assert_eq!(once_records(&after).len(), 2);
}

#[tokio::test]
async fn one_key_of_two_users_is_two_requests() {
    let env = Env::new().await;
    let alice = env.user("alice").await;
    let bob = env.user("bob").await;
    let key = new_key();
    let before = table(&env.store).await;

    let a = send(
        &env.app,
        "link-identifier",
        with_key(env.link_identifier(&alice, PARTNER_ID_A), &key),
    )
    .await;
    let b = send(
        &env.app,
        "link-identifier",
        with_key(env.link_identifier(&bob, PARTNER_ID_B), &key),
    )
    .await;

    assert_eq!((a.status, a.replayed), (200, false), "{}", a.body);
    assert_eq!((b.status, b.replayed), (200, false), "{}", b.body);
    let after = table(&env.store).await;
    assert_eq!(
        new_log_records(&before, &after),
        ["partner_linked", "partner_linked"]
    );
    assert_eq!(once_records(&after).len(), 2);
}

// 4. An expired record no longer answers; its slot is taken again.

/// Moves every idempotency record's `expires_at` to the past.
async fn expire_all(store: &DynamoStore) {
    let past = idlink::clock::now() - 1;
    for record in once_records(&table(store).await) {
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key("PK", record["PK"].clone())
            .key("SK", record["SK"].clone())
            .update_expression("SET expires_at = :past")
            .expression_attribute_values(":past", AttributeValue::N(past.to_string()))
            .send()
            .await
            .unwrap();
    }
}

fn expires_at(item: &Item) -> i64 {
    item["expires_at"].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_expired_record_no_longer_answers_and_its_slot_is_reused() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let key = new_key();
    let cheating = || with_key(env.ban_user(&user, "Cheating"), &key);
    let spam = || with_key(env.ban_user(&user, "Spam"), &key);
    let first = send(&env.app, "ban-user", cheating()).await;
    assert_eq!((first.status, first.replayed), (204, false));
    expire_all(&env.store).await;
    let before = table(&env.store).await;

    // Expired, the key is free: another request with it runs (no 422)…
    let reused = send(&env.app, "ban-user", spam()).await;
    let after = table(&env.store).await;
    // …and the slot now answers that request.
    let replayed = send(&env.app, "ban-user", spam()).await;
    let refused = send(&env.app, "ban-user", cheating()).await;

    assert_eq!((reused.status, reused.replayed), (204, false));
    assert_eq!(new_log_records(&before, &after), ["user_banned"]);
    assert!(format!("{:?}", user_item(&after, user.id)).contains("Spam"));
    let records = once_records(&after);
    assert_eq!(records.len(), 1, "the record replaced in its slot");
    assert!(expires_at(records[0]) > idlink::clock::now() + 23 * 3600);
    assert_eq!((replayed.status, replayed.replayed), (204, true));
    assert_reused(Family::Xsolla, &refused);
    assert!(table(&env.store).await == after);
}

#[tokio::test]
async fn an_expired_login_runs_again() {
    let env = Env::new().await;
    let key = new_key();
    let first = send(&env.app, "auth-custom-id", with_key(env.login("p"), &key)).await;
    expire_all(&env.store).await;

    let again = send(&env.app, "auth-custom-id", with_key(env.login("p"), &key)).await;

    assert_eq!((again.status, again.replayed), (200, false));
    assert_eq!(env.subject(&again), env.subject(&first), "the same user");
    let items = table(&env.store).await;
    assert_eq!(kind(&items, "user").len(), 1);
    let records = once_records(&items);
    assert_eq!(records.len(), 1);
    assert!(expires_at(records[0]) > idlink::clock::now());
}

// Malformed keys are refused before anything runs; a key's two spellings are one key.

#[tokio::test]
async fn a_malformed_key_is_400_and_writes_nothing() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let before = table(&env.store).await;
    let with_raw = |values: &[&[u8]]| {
        let mut req = env.ban_user(&user, "Cheating");
        for v in values {
            req.headers_mut()
                .append(HEADER, HeaderValue::from_bytes(v).unwrap());
        }
        req
    };
    let long = "k".repeat(256);
    let cases: Vec<(&str, Request)> = vec![
        ("empty", with_raw(&[b""])),
        ("blank", with_raw(&[b"   "])),
        ("quoted empty", with_raw(&[b"\"\""])),
        ("256 bytes", with_raw(&[long.as_bytes()])),
        ("a space inside", with_raw(&[b"a b"])),
        ("non-ASCII", with_raw(&["ключ".as_bytes()])),
        ("sent twice", with_raw(&[b"k1", b"k1"])),
    ];

    for (case, req) in cases {
        let answer = send(&env.app, "ban-user", req).await;
        assert_eq!(answer.status, 400, "{case}: {answer:?}");
        assert_eq!(answer.json()["error"]["code"], "002-027", "{case}");
        assert_eq!(
            answer.json()["error"]["details"]["parameter"],
            "Idempotency-Key",
            "{case}"
        );
    }
    assert!(table(&env.store).await == before, "nothing written");
}

#[tokio::test]
async fn a_key_of_255_bytes_is_taken_and_its_quoted_form_is_the_same_key() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let longest = "k".repeat(255);

    let long = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user(&user, "a"), &longest),
    )
    .await;
    let bare = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user(&user, "b"), "k-1"),
    )
    .await;
    let quoted = send(
        &env.app,
        "ban-user",
        with_key(env.ban_user(&user, "b"), "\"k-1\""),
    )
    .await;

    assert_eq!((long.status, long.replayed), (204, false));
    assert_eq!((bare.status, bare.replayed), (204, false));
    assert_eq!((quoted.status, quoted.replayed), (204, true));
    assert_eq!(once_records(&table(&env.store).await).len(), 2);
}

// 5. Without the header, nothing changed.

#[tokio::test]
async fn without_a_key_a_second_delete_is_404() {
    let env = Env::new().await;
    let user = env.user("p").await;

    let first = send(&env.app, "delete-user", env.delete_user(&user)).await;
    let second = send(&env.app, "delete-user", env.delete_user(&user)).await;

    assert_eq!((first.status, first.replayed), (204, false));
    assert_eq!((second.status, second.replayed), (404, false));
    assert_eq!(second.json()["errorCode"], "inexistent_user");
    assert!(once_records(&table(&env.store).await).is_empty());
}

#[tokio::test]
async fn without_a_key_each_request_runs() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let before = table(&env.store).await;

    let answers = [
        send(&env.app, "ban-user", env.ban_user(&user, "Cheating")).await,
        send(&env.app, "ban-user", env.ban_user(&user, "Cheating")).await,
        send(&env.app, "auth-custom-id", env.login("q")).await,
        send(&env.app, "auth-custom-id", env.login("q")).await,
    ];

    let statuses: Vec<_> = answers.iter().map(|a| (a.status, a.replayed)).collect();
    assert_eq!(
        statuses,
        [(204, false), (204, false), (200, false), (200, false)]
    );
    let after = table(&env.store).await;
    assert_eq!(
        new_log_records(&before, &after),
        ["user_banned", "user_banned", "user_created"]
    );
    assert!(once_records(&after).is_empty());
}

// A known bug, pinned: twin deletes can lose the deletion record.

/// Holds the first Query of an audit log (`LOG#…`) a client sends until it is opened: the moment
/// between a delete's read of the user and its purge of the user's log.
#[derive(Debug, Clone, Default)]
struct LogGate {
    reached: Arc<AtomicBool>,
    open: Arc<AtomicBool>,
    used: Arc<AtomicBool>,
}

impl Intercept for LogGate {
    fn name(&self) -> &'static str {
        "log-gate"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let is_query = req
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".Query"));
        let body = req.body().bytes().unwrap_or_default();
        let of_a_log = body.windows(4).any(|w| w == b"LOG#");
        if is_query && of_a_log && !self.used.swap(true, Ordering::SeqCst) {
            self.reached.store(true, Ordering::SeqCst);
            // At most ten seconds, so that a test that goes wrong cannot hang.
            for _ in 0..2000 {
                if self.open.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(())
    }
}

/// A twin delete that read the user before the winner's delete committed purges the user's log
/// after it, then finds the user gone and replays the winner's answer: the record of the deletion
/// the winner wrote must survive that purge. (It did not: the purge took every record, so the log
/// of the delete was lost. Two unkeyed concurrent deletes met it too, more rarely; a client
/// retrying with its key while the first attempt still runs is exactly this case.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_twin_delete_that_read_the_user_first_keeps_the_deletion_record() {
    let env = Env::new().await;
    let user = env.user("p").await;
    let gate = LogGate::default();
    let conf = env
        .store
        .client()
        .config()
        .to_builder()
        .interceptor(gate.clone())
        .build();
    let gated = Arc::new(App {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), env.store.table()),
        tokens: env.app.tokens.clone(),
    });
    let req = with_key(env.delete_user(&user), &new_key());
    let before = table(&env.store).await;

    // The twin reads the user, and stops before purging its log (on a thread of its own: the
    // gate blocks the thread it runs on)…
    let twin = {
        let (gated, req) = (gated.clone(), req.clone());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            runtime.block_on(async move { send(&gated, "delete-user", req).await })
        })
    };
    let reached = async {
        while !gate.reached.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reached)
        .await
        .expect("the twin reads the user's log");
    // …while the first request deletes the user…
    let first = send(&env.app, "delete-user", req).await;
    let after_first = table(&env.store).await;
    // …then it goes on.
    gate.open.store(true, Ordering::SeqCst);
    let second = twin.await.unwrap();
    let after = table(&env.store).await;

    assert_eq!((first.status, first.replayed), (204, false));
    assert_eq!(new_log_records(&before, &after_first), ["user_deleted"]);
    assert_eq!((second.status, second.replayed), (204, true), "{second:?}");
    assert_eq!(
        new_log_records(&before, &after),
        ["user_deleted"],
        "the twin purged the deletion record the first request wrote"
    );
}
