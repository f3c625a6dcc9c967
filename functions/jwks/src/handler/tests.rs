use super::*;
use idlink::function::App;
use idlink::function::NoStore;
use idlink::function::answer;
use idlink::testing::fixture_cases;
use jsonwebtoken::{DecodingKey, Validation, decode, jwk::JwkSet};

#[tokio::test]
async fn fixtures_answer_the_key_set() {
    for case in fixture_cases("jwks", 1).await {
        let body = case.expect(answer::<crate::Family>(handle(&case.app, &case.request)).await);
        let set: JwkSet = serde_json::from_value(body).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(
            set.keys[0].common.key_id.as_deref(),
            Some(case.app.tokens.keys().signing().kid.as_str())
        );
    }
}

#[tokio::test]
async fn a_token_we_sign_verifies_with_the_published_key() {
    let app = App {
        store: NoStore,
        tokens: idlink::testing::test_tokens().into(),
    };
    let tokens = &app.tokens;
    let resp = answer::<crate::Family>(handle(&app, &Request::default())).await;
    let set: JwkSet = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let (store, seed) = idlink::testing::seeded_memory_store().await;
    drop(store);
    let token = seed.server_token(tokens, &idlink::client::Scope::ALL);
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("kid published");
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[tokens.server_audience()]);
    v.set_issuer(&[tokens.issuer()]);
    let data = decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v);
    assert_eq!(
        data.unwrap().claims["project_id"],
        seed.project.id.to_string()
    );
}
