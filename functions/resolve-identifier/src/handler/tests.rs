use super::*;
use idlink::function::answer;
use idlink::store::memory::MemoryStore;
use idlink::store::{LinkStore, SingleLink};
use idlink::testing::fixture_cases;
use idlink::testing::{
    Seed, login_user, seed_partner, seeded_memory_store, test_key_json, tokens_from,
};
use lambda_http::http;
use serde_json::Value;

const ID: &str = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8";

async fn call<S: ApiKeyStore + UserStore>(app: &App<S>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut b = http::Request::builder().method("GET").uri("/api/v2/user");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = answer::<crate::Family>(handle(app, &b.body(Body::Empty).unwrap())).await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap(),
    )
}

async fn seeded() -> (
    App<MemoryStore>,
    Seed,
    std::collections::HashMap<&'static str, String>,
) {
    let (store, seed) = seeded_memory_store().await;
    let app = App {
        store,
        tokens: tokens_from(&test_key_json()).into(),
    };
    let mut values = seed.placeholders(&app.tokens);
    seed_partner(&app.store, &app.tokens, &seed, &mut values).await;
    (app, seed, values)
}

#[tokio::test]
async fn answers_id_and_public_details_only() {
    let (app, seed, values) = seeded().await;
    let attrs = idlink::attribute::Attribute::parse_list(Some(&json!([
        {"attr_type":"server","key":"tier","permission":"public","value":"gold"},
        {"attr_type":"server","key":"secret","permission":"private","value":"x"},
        {"attr_type":"client","key":"mine","permission":"private","value":1}
    ])))
    .unwrap();
    let cmd = idlink::user::LoginCommand {
        project: seed.project.id,
        custom_id: idlink::identity::CustomId::parse("fixture-linked").unwrap(),
        nickname: Some(idlink::identity::Nickname::parse("Linked").unwrap()),
        attributes: attrs,
        social: None,
        end_other_sessions: false,
        now: 5,
        by: Default::default(),
    };
    let linked = idlink::store::LoginStore::login(&app.store, &cmd)
        .await
        .unwrap()
        .user;
    let (status, body) = call(
        &app,
        &[("x-api-key", &values["API_KEY"]), ("user-identifier", ID)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], linked.id.to_string());
    assert_eq!(body["nickname"], "Linked");
    let keys = idlink::testing::attribute_keys(&body);
    assert_eq!(keys, ["tier"]);
    assert!(
        !body.to_string().contains(ID),
        "the identifier is not echoed"
    );
}

#[tokio::test]
async fn another_projects_key_or_token_resolves_nothing_here() {
    let (app, _seed, values) = seeded().await;
    // A second project with its own key and its own user holding the same identifier value.
    let other = Seed::create(&app.store, None).await;
    let other_key = idlink::partner::generate_api_key().unwrap();
    app.store
        .put_api_key(
            &idlink::partner::ApiKeyHash::of(&other_key),
            other.project.id,
        )
        .await
        .unwrap();
    let (status, body) = call(&app, &[("x-api-key", &other_key), ("user-identifier", ID)]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("ER705")),
        "not linked in that project"
    );
    let theirs = login_user(&app.store, &other, "theirs").await;
    let pepper = app.tokens.keys().pepper().unwrap();
    app.store
        .link_single(&SingleLink {
            project: other.project.id,
            user: theirs.id,
            kind: SingleKind::Partner,
            subject: PartnerIdentifier::parse(ID).unwrap().subject(pepper),
            session: None,
            now: 1,
            by: Default::default(),
        })
        .await
        .unwrap();
    let (status, body) = call(&app, &[("x-api-key", &other_key), ("user-identifier", ID)]).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some(theirs.id.to_string().as_str()))
    );
    // A user token of this project, sent with the other project's key: not that partner's user.
    let (status, body) = call(
        &app,
        &[
            ("x-api-key", &other_key),
            (
                "user-authorization",
                &format!("Bearer {}", values["LINKED_USER_TOKEN"]),
            ),
        ],
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ER702")));
}

#[tokio::test]
async fn event_fixtures_cover_every_code_of_the_endpoint() {
    for case in fixture_cases("resolve-identifier", 18).await {
        let resp = if case.name.contains("ER999") {
            answer::<crate::Family>(handle(&case.broken(), &case.request)).await
        } else {
            answer::<crate::Family>(handle(&case.app, &case.request)).await
        };
        case.expect_partner(resp);
    }
}
