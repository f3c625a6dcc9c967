//! Handler CPU per request, store excluded: the auth-custom-id handler on the in-memory store,
//! driven by the real fixtures of events/auth-custom-id.

use idlink::function::answer;
use std::collections::HashMap;
use std::path::Path;

use auth_custom_id::handler::handle;
use idlink::client::Scope;
use idlink::function::App;
use idlink::store::memory::MemoryStore;
use idlink::testing::{Seed, fill, seeded_memory_store, test_tokens};
use lambda_http::Request;

/// (a) verify a server token, parse and route a request that ends in 404 (the floor every
/// request pays), with the server token a studio's server sends with every request (verified
/// once per instance, then answered from the cache of verified tokens) and (a′) with a token the
/// instance has never seen (a full ES256 verification); (b) a returning login that signs a
/// token; (c) a first login; (d) a first login with an `Idempotency-Key` (its answer is sealed
/// and kept); (e) that login's replay (one read, the answer opened); (f) a merge: Auth0's link of
/// an identity another user holds, with its audit record in both users' logs (link-identity's
/// handler; each run's two users are made before it, see [`Case::has_setup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Floor404,
    Floor404NewToken,
    ReturningLogin,
    FirstLogin,
    KeyedFirstLogin,
    KeyedReplay,
    Merge,
}

impl Case {
    pub const ALL: [Case; 7] = [
        Case::Floor404,
        Case::Floor404NewToken,
        Case::ReturningLogin,
        Case::FirstLogin,
        Case::KeyedFirstLogin,
        Case::KeyedReplay,
        Case::Merge,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Case::Floor404 => "a_floor_404",
            Case::Floor404NewToken => "a2_floor_404_new_token",
            Case::ReturningLogin => "b_returning_login",
            Case::FirstLogin => "c_first_login",
            Case::KeyedFirstLogin => "d_keyed_first_login",
            Case::KeyedReplay => "e_keyed_replay",
            Case::Merge => "f_merge",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Case::Floor404 => "(a) server token (seen before), parse, route → 404",
            Case::Floor404NewToken => "(a′) server token never seen: ES256 verify, → 404",
            Case::ReturningLogin => "(b) returning login, signs a token",
            Case::FirstLogin => "(c) first login, signs a token",
            Case::KeyedFirstLogin => "(d) first login with Idempotency-Key: answer sealed, kept",
            Case::KeyedReplay => "(e) the same request again: stored answer replayed",
            Case::Merge => "(f) merge (Auth0 link), audited in both users' logs",
        }
    }

    pub fn parse(s: &str) -> Option<Case> {
        Case::ALL
            .into_iter()
            .find(|c| c.id() == s || c.id().starts_with(s))
    }

    /// Status the case must answer: a benchmark of a failing request measures nothing.
    pub fn status(self) -> u16 {
        match self {
            Case::Floor404 | Case::Floor404NewToken => 404,
            Case::Merge => 201,
            _ => 200,
        }
    }

    /// Whether each request needs state made first (a merge consumes its two users): its
    /// instruction count then subtracts a run that only makes that state.
    pub fn has_setup(self) -> bool {
        self == Case::Merge
    }
}

/// A seeded memory store, a key set and the two fixtures, filled.
pub struct Cpu {
    pub app: App<MemoryStore>,
    floor: String,
    /// The floor fixture before its `${…}` are filled, and the values, for (a′)'s new tokens.
    floor_template: String,
    values: HashMap<&'static str, String>,
    seed: Seed,
    login: String,
}

/// The fixture's custom ID and social user ID, replaced to make a first login.
const FIXTURE_CUSTOM_ID: &str = "1234567890asdfghjkl";
const FIXTURE_SOCIAL_ID: &str = "4352354";

impl Cpu {
    pub async fn new(events: &Path) -> Cpu {
        let (store, seed): (MemoryStore, Seed) = seeded_memory_store().await;
        let tokens = test_tokens();
        let values: HashMap<&'static str, String> = seed.placeholders(&tokens);
        let raw = |name: &str| {
            let path = events.join("auth-custom-id").join(name);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let floor_template = raw("404-foreign-project.json");
        let cpu = Cpu {
            app: App {
                store,
                tokens: tokens.into(),
            },
            floor: fill(&floor_template, &values),
            login: fill(&raw("200-reference-sample.json"), &values),
            floor_template,
            values,
            seed,
        };
        // The returning login's user, and the keyed login the replays repeat, exist before the
        // first measured request.
        assert_eq!(cpu.run(Case::ReturningLogin, 0).await, 200);
        assert_eq!(cpu.run(Case::KeyedReplay, 0).await, 200);
        cpu
    }

    /// The request of `case`, with the state it needs made first (a merge's two users); `n` makes
    /// each request's identities new.
    pub async fn prepare(&self, case: Case, n: u64) -> Request {
        if case != Case::Merge {
            return self.request(case, n);
        }
        let project = self.seed.project.id;
        let primary =
            idlink::testing::login_social(&self.app.store, project, &format!("bench-a-{n}"), None)
                .await;
        let steam = format!("bench-merge-{n}");
        idlink::testing::login_social(
            &self.app.store,
            project,
            &format!("bench-b-{n}"),
            Some(("steam", steam.as_str())),
        )
        .await;
        let id = primary.id.to_string();
        idlink::testing::api_request(
            "POST",
            &format!("/api/v2/users/{id}/identities"),
            &[("id", id.as_str())],
            &self.values["SERVER_TOKEN"],
            Some(&serde_json::json!({"provider": "steam", "user_id": steam})),
        )
    }

    /// The request of a case that needs no state made first; `n` makes each first login's
    /// identities new.
    pub fn request(&self, case: Case, n: u64) -> Request {
        let text = match case {
            Case::Merge => panic!("a merge needs its users: Cpu::prepare"),
            Case::Floor404 => self.floor.clone(),
            Case::Floor404NewToken => {
                let mut values = self.values.clone();
                values.insert(
                    "SERVER_TOKEN",
                    self.seed.server_token(&self.app.tokens, &Scope::ALL),
                );
                fill(&self.floor_template, &values)
            }
            Case::ReturningLogin => self.login.clone(),
            Case::FirstLogin => self.first_login(&format!("bench-first-{n}"), &format!("9{n}")),
            Case::KeyedFirstLogin => {
                self.first_login(&format!("bench-keyed-{n}"), &format!("8{n}"))
            }
            Case::KeyedReplay => self.first_login("bench-replayed", "7"),
        };
        let mut req =
            lambda_http::request::from_str(&text).expect("fixture is an API Gateway event");
        let key = match case {
            Case::KeyedFirstLogin => Some(format!("bench-key-{n}")),
            Case::KeyedReplay => Some("bench-replayed".to_owned()),
            _ => None,
        };
        if let Some(key) = key {
            req.headers_mut().insert(
                idlink::idempotency::HEADER,
                key.parse().expect("a header value"),
            );
        }
        req
    }

    /// The fixture's login, made a first login of `custom_id` with a new social identity.
    fn first_login(&self, custom_id: &str, social_id: &str) -> String {
        self.login
            .replace(FIXTURE_CUSTOM_ID, custom_id)
            .replace(FIXTURE_SOCIAL_ID, social_id)
    }

    pub async fn handle(&self, case: Case, req: Request) -> u16 {
        let resp = match case {
            Case::Merge => {
                answer::<link_identity::Family>(link_identity::handler::handle(&self.app, &req))
                    .await
            }
            _ => answer::<auth_custom_id::Family>(handle(&self.app, &req)).await,
        };
        resp.status().as_u16()
    }

    pub async fn run(&self, case: Case, n: u64) -> u16 {
        let req = self.prepare(case, n).await;
        self.handle(case, req).await
    }
}

/// A single-threaded runtime: one core, as a Lambda function's handler runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The repository's events/ directory (the benches run from bench/harness).
pub fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}
