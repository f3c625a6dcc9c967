//! Lookups on the local DynamoDB API (issue 15): Xsolla's linking_info and attributes by custom
//! ID, Auth0's exact user search. They answer from the uniqueness markers, so every link, merge,
//! unlink and delete shows in the very next lookup; projects stay isolated; keys DynamoDB leaves
//! unprocessed are asked again.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::audit::Audit;
use idlink::client::Scope;
use idlink::function::{App, answer};
use idlink::identity::{IdentityKey, ProjectId, UserId};
use idlink::store::DeleteStore;
use idlink::store::accounts::{AccountStore, LinkIdentity, Unlink};
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, login_social, request, test_tokens};
use idlink::user::User;
use idlink_tests::{fresh_store, post, status_and_body};
use serde_json::{Value, json};

/// A project on a fresh table, and a server token of it allowed to read users.
struct World {
    app: App<DynamoStore>,
    seed: Seed,
    token: String,
}

impl World {
    async fn new() -> Self {
        let store = fresh_store().await;
        let seed = Seed::create(&store, None).await;
        let tokens = test_tokens();
        let token = seed.server_token(&tokens, &[Scope::ReadUsers]);
        Self {
            app: App {
                store,
                tokens: tokens.into(),
            },
            seed,
            token,
        }
    }

    /// Another project on the same table, with its own token.
    async fn other_project(&self) -> (Seed, String) {
        let seed = Seed::create(&self.app.store, None).await;
        let token = seed.server_token(&self.app.tokens, &[Scope::ReadUsers]);
        (seed, token)
    }

    async fn login(&self, custom: &str, social: Option<(&str, &str)>) -> User {
        login_social(&self.app.store, self.seed.project.id, custom, social).await
    }

    /// `POST /users/linking_info` with `token`: the status and the rows.
    async fn linking_info_as(&self, token: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
        let users: Vec<Value> = pairs
            .iter()
            .map(|(platform, id)| json!({"platform": platform, "user_id": id}))
            .collect();
        let req = post("/users/linking_info", token, &json!({ "users": users }));
        status_and_body(
            answer::<linking_info::Family>(linking_info::handler::handle(&self.app, &req)).await,
        )
    }

    /// The `xl_uid` of each pair, as `linking_info` answers it now.
    async fn holders(&self, pairs: &[(&str, &str)]) -> Vec<Option<String>> {
        let (status, rows) = self.linking_info_as(&self.token, pairs).await;
        assert_eq!(status, 200, "{rows}");
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["xl_uid"].as_str().map(str::to_owned))
            .collect()
    }

    /// `POST /attributes/custom_id/get`: the status and the rows.
    async fn attributes_as(&self, token: &str, custom_ids: &[&str]) -> (u16, Value) {
        let req = post(
            "/attributes/custom_id/get",
            token,
            &json!({ "server_custom_ids": custom_ids }),
        );
        status_and_body(
            answer::<attributes_by_custom_id::Family>(attributes_by_custom_id::handler::handle(
                &self.app, &req,
            ))
            .await,
        )
    }

    /// `(server_custom_id, user_id)` of each row attributes by custom ID answers now.
    async fn custom_id_holders(&self, custom_ids: &[&str]) -> Vec<(String, String)> {
        let (status, rows) = self.attributes_as(&self.token, custom_ids).await;
        assert_eq!(status, 200, "{rows}");
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap().to_owned();
                (text("server_custom_id"), text("user_id"))
            })
            .collect()
    }

    /// `GET /api/v2/users?q=…&search_engine=v3` with `token`: the status and the body.
    async fn search_as(&self, token: &str, q: &str) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        let query = [("q", q), ("search_engine", "v3")];
        let req = request(
            "GET",
            "/api/v2/users",
            &[("authorization", &auth)],
            &query,
            None,
        );
        status_and_body(
            answer::<list_users::Family>(list_users::handler::handle(&self.app, &req)).await,
        )
    }

    /// The users a search finds now.
    async fn search(&self, q: &str) -> Vec<Value> {
        let (status, body) = self.search_as(&self.token, q).await;
        assert_eq!(status, 200, "{q}: {body}");
        body.as_array().unwrap().clone()
    }
}

fn id(user: &User) -> Option<String> {
    Some(user.id.to_string())
}

fn by_identity(provider: &str, subject: &str) -> String {
    format!(r#"identities.provider:"{provider}" AND identities.user_id:"{subject}""#)
}

fn social(platform: &str, subject: &str) -> IdentityKey {
    IdentityKey::social(platform, &json!(subject)).unwrap()
}

#[tokio::test]
async fn a_merge_moves_the_answer_of_the_next_lookup() {
    let w = World::new().await;
    let primary = w.login("player-a", Some(("xbox", "4352354"))).await;
    let secondary = w.login("player-b", Some(("steam", "76561198"))).await;
    let pairs = [("steam", "76561198"), ("xbox", "4352354")];
    assert_eq!(w.holders(&pairs).await, [id(&secondary), id(&primary)]);

    w.app
        .store
        .link_identity(&LinkIdentity {
            project: w.seed.project.id,
            primary: primary.id,
            identity: social("steam", "76561198"),
            primary_session: None,
            now: idlink::clock::now(),
            by: Audit::internal(),
        })
        .await
        .unwrap();

    assert_eq!(w.holders(&pairs).await, [id(&primary), id(&primary)]);
    let found = w.search(&by_identity("steam", "76561198")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["user_id"], primary.id.to_string());
    let providers: Vec<&str> = found[0]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    assert!(
        providers.contains(&"steam") && providers.contains(&"xbox"),
        "{providers:?}"
    );
    let custom_b = by_identity("server_custom_id", "player-b");
    assert_eq!(
        w.search(&custom_b).await[0]["user_id"],
        primary.id.to_string()
    );
    assert!(
        w.search(&format!("user_id:{}", secondary.id))
            .await
            .is_empty(),
        "the merged-away user is found by nobody"
    );
    let primary_id = primary.id.to_string();
    assert_eq!(
        w.custom_id_holders(&["player-b", "player-a"]).await,
        [
            ("player-b".to_owned(), primary_id.clone()),
            ("player-a".to_owned(), primary_id)
        ]
    );
}

#[tokio::test]
async fn an_unlink_and_a_delete_are_visible_to_the_next_lookup() {
    let w = World::new().await;
    let user = w.login("player-a", Some(("steam", "76561198"))).await;
    let pair = [("steam", "76561198")];
    assert_eq!(w.holders(&pair).await, [id(&user)]);

    let unlinked = w
        .app
        .store
        .unlink(&Unlink {
            project: w.seed.project.id,
            primary: user.id,
            identity: social("steam", "76561198"),
            primary_session: None,
            now: idlink::clock::now(),
            by: Audit::internal(),
        })
        .await
        .unwrap();

    let standalone = Some(unlinked.standalone.to_string());
    assert_eq!(w.holders(&pair).await, std::slice::from_ref(&standalone));
    let found = w.search(&by_identity("steam", "76561198")).await;
    assert_eq!(found[0]["user_id"].as_str(), standalone.as_deref());

    w.app
        .store
        .delete_user(w.seed.project.id, unlinked.standalone, &Audit::internal())
        .await
        .unwrap();

    assert_eq!(w.holders(&pair).await, [None]);
    assert!(w.search(&by_identity("steam", "76561198")).await.is_empty());
    assert_eq!(w.custom_id_holders(&["player-a"]).await.len(), 1);
    w.app
        .store
        .delete_user(w.seed.project.id, user.id, &Audit::internal())
        .await
        .unwrap();
    assert!(w.custom_id_holders(&["player-a"]).await.is_empty());
    assert!(
        w.search(&format!("user_id:{}", unlinked.standalone))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_lookup_never_reveals_a_user_of_another_project() {
    let w = World::new().await;
    let (other, other_token) = w.other_project().await;
    let mine = w.login("player-a", Some(("steam", "76561198"))).await;
    let in_other = |custom, social| login_social(&w.app.store, other.project.id, custom, social);
    let theirs = in_other("player-z", Some(("psn", "99"))).await;
    let same = in_other("player-a", Some(("steam", "76561198"))).await;
    let pairs = [("steam", "76561198"), ("psn", "99")];

    assert_eq!(w.holders(&pairs).await, [id(&mine), None]);
    let (_, rows) = w.linking_info_as(&other_token, &pairs).await;
    assert_eq!(
        rows[0]["xl_uid"].as_str(),
        Some(same.id.to_string().as_str())
    );
    assert_eq!(
        rows[1]["xl_uid"].as_str(),
        Some(theirs.id.to_string().as_str())
    );
    assert!(w.search(&format!("user_id:{}", theirs.id)).await.is_empty());
    assert!(w.search(&by_identity("psn", "99")).await.is_empty());
    let (_, found) = w
        .search_as(&other_token, &by_identity("steam", "76561198"))
        .await;
    assert_eq!(found[0]["user_id"], same.id.to_string());
    assert!(w.custom_id_holders(&["player-z"]).await.is_empty());
    let (_, rows) = w.attributes_as(&other_token, &["player-a"]).await;
    assert_eq!(rows[0]["user_id"], same.id.to_string());
}

#[tokio::test]
async fn bad_input_is_refused_in_each_familys_envelope() {
    let w = World::new().await;
    let pairs: Vec<(String, String)> = (0..51).map(|i| ("steam".into(), i.to_string())).collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let long_id = "x".repeat(257);
    let long_platform = "p".repeat(65);
    for bad in [
        &refs[..],
        &[][..],
        &[("steam", long_id.as_str())][..],
        &[(long_platform.as_str(), "1")][..],
    ] {
        let (status, body) = w.linking_info_as(&w.token, bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "002-027", "{body}");
    }
    let ids: Vec<String> = (0..251).map(|i| format!("p{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    for bad in [&ids[..], &[][..], &[long_id.as_str()][..]] {
        let (status, body) = w.attributes_as(&w.token, bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "002-027", "{body}");
    }
    for q in [
        by_identity("steam", &long_id),
        by_identity(&long_platform, "1"),
    ] {
        let (status, body) = w.search_as(&w.token, &q).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("invalid_query_string")),
            "{body}"
        );
    }
}

/// Keys DynamoDB leaves unprocessed (throttling, the 16 MB cap) are asked again; a batch that
/// makes no progress at all answers "retry later" (429 with `Retry-After`).
mod unprocessed {
    use super::*;
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
    use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use idlink::store::lookups::LookupStore;
    use std::collections::HashMap;

    fn store(rule: &aws_smithy_mocks::Rule) -> DynamoStore {
        let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[rule]);
        DynamoStore::new(client, "mocked")
    }

    #[tokio::test]
    async fn keys_left_unprocessed_are_asked_again_until_all_are_read() {
        let project = ProjectId::new_random();
        let owners: HashMap<String, UserId> = ["1", "2", "3"]
            .into_iter()
            .map(|s| (s.to_owned(), UserId::new_random()))
            .collect();
        let answer = owners.clone();
        // Each call answers its first key only and leaves the others unprocessed.
        let reads = mock!(Client::batch_get_item).then_compute_output(move |req| {
            let keys = req.request_items().unwrap()["mocked"].keys().to_vec();
            let (first, rest) = keys.split_first().unwrap();
            let pk = first["PK"].as_s().unwrap().clone();
            let subject = pk.rsplit('#').next().unwrap();
            let marker = HashMap::from([
                ("PK".to_owned(), AttributeValue::S(pk.clone())),
                (
                    "user_id".to_owned(),
                    AttributeValue::S(answer[subject].to_string()),
                ),
            ]);
            let mut out = BatchGetItemOutput::builder().responses("mocked", vec![marker]);
            if !rest.is_empty() {
                out = out.unprocessed_keys(
                    "mocked",
                    KeysAndAttributes::builder()
                        .set_keys(Some(rest.to_vec()))
                        .build()
                        .unwrap(),
                );
            }
            out.build()
        });
        let store = store(&reads);
        let identities: Vec<IdentityKey> =
            ["1", "2", "3"].iter().map(|s| social("steam", s)).collect();

        let found = store.owners(project, &identities).await.unwrap();

        assert_eq!(
            found,
            vec![Some(owners["1"]), Some(owners["2"]), Some(owners["3"])]
        );
        assert_eq!(
            reads.num_calls(),
            3,
            "one call, then one per key left unprocessed"
        );
    }

    #[tokio::test]
    async fn a_batch_that_makes_no_progress_answers_retry_later() {
        let reads = mock!(Client::batch_get_item).then_compute_output(|req| {
            BatchGetItemOutput::builder()
                .unprocessed_keys("mocked", req.request_items().unwrap()["mocked"].clone())
                .build()
        });
        let w = World::new().await;
        let app = App {
            store: store(&reads),
            tokens: test_tokens().into(),
        };
        let token = w.seed.server_token(&app.tokens, &[Scope::ReadUsers]);
        let req = post(
            "/users/linking_info",
            &token,
            &json!({"users": [{"platform": "steam", "user_id": "1"}]}),
        );

        let resp = answer::<linking_info::Family>(linking_info::handler::handle(&app, &req)).await;

        assert_eq!(resp.headers()["retry-after"], "1");
        let (status, body) = status_and_body(resp);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (429, Some("002-057"))
        );
        assert_eq!(
            reads.num_calls(),
            6,
            "MAX_ATTEMPTS calls without progress, then no more"
        );
    }
}
