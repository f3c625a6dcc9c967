//! GET /.well-known/jwks.json: every public key that may still verify a live token (RFC 7517).

use idlink::http::{Body, Request, Response};
use idlink::keys::KeySet;
use lambda_http::http::{HeaderValue, StatusCode, header};

pub struct App {
    jwks: String,
}

impl App {
    pub fn new(keys: &KeySet) -> Self {
        Self {
            jwks: keys.jwks_json().to_owned(),
        }
    }
}

pub async fn handle(app: &App, _req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let mut resp = Response::new(Body::Text(app.jwks.clone()));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Short enough that a rotated-in key is seen well before it signs anything that matters.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use idlink::testing::{fixtures, request_from_fixture, test_key_json};
    use jsonwebtoken::{DecodingKey, Validation, decode, jwk::JwkSet};
    use std::collections::HashMap;

    #[tokio::test]
    async fn fixtures_answer_the_key_set() {
        let keys = KeySet::from_json(&test_key_json()).unwrap();
        let app = App::new(&keys);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/jwks");
        let all = fixtures(&dir);
        assert!(!all.is_empty());
        for (name, text) in all {
            let resp = handle(&app, request_from_fixture(&text, &HashMap::new()))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{name}");
            let set: JwkSet = serde_json::from_slice(resp.body().as_ref()).unwrap();
            assert_eq!(set.keys.len(), 1);
            assert_eq!(
                set.keys[0].common.key_id.as_deref(),
                Some(keys.signing().kid.as_str())
            );
        }
    }

    #[tokio::test]
    async fn a_token_we_sign_verifies_with_the_published_key() {
        let tokens = idlink::testing::test_tokens();
        let app = App::new(tokens.keys());
        let resp = handle(&app, Request::default()).await.unwrap();
        let set: JwkSet = serde_json::from_slice(resp.body().as_ref()).unwrap();
        let (store, seed) = idlink::testing::seeded_memory_store().await;
        drop(store);
        let token = seed.server_token(&tokens, &idlink::client::Scope::ALL);
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
}
