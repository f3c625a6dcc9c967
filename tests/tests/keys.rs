//! The signing key set as AWS deployments load it: from a Secrets Manager secret, once, through
//! the same code path the functions use (the local API stands in for Secrets Manager).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::config::{AwsEnv, ConfigError, KeySource};
use idlink::keys::{KeyAlg, KeySet, generate_key_file};

#[tokio::test]
async fn keys_load_from_a_secrets_manager_secret() {
    let aws = AwsEnv::local(&idlink_tests::dynamo_endpoint());
    let text = generate_key_file(KeyAlg::ES256).unwrap();
    let name = format!("idlink/keys-{}", uuid::Uuid::new_v4().simple());
    aws.secrets_manager()
        .create_secret()
        .name(&name)
        .secret_string(&text)
        .send()
        .await
        .unwrap();

    let loaded = KeySource::Secret(name).load(Some(&aws)).await.unwrap();
    let expected = KeySet::from_json(&text).unwrap();
    assert_eq!(loaded.signing().kid, expected.signing().kid);
    assert_eq!(loaded.jwks_json(), expected.jwks_json());
}

#[tokio::test]
async fn a_missing_secret_fails_startup_with_a_clear_error() {
    let aws = AwsEnv::local(&idlink_tests::dynamo_endpoint());
    let err = KeySource::Secret("idlink/does-not-exist".into())
        .load(Some(&aws))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ConfigError::Keys(_)));
    assert!(err.to_string().contains("GetSecretValue"), "{err}");
}

#[tokio::test]
async fn a_secret_that_is_not_a_key_set_is_refused() {
    let aws = AwsEnv::local(&idlink_tests::dynamo_endpoint());
    let name = format!("idlink/bad-{}", uuid::Uuid::new_v4().simple());
    aws.secrets_manager()
        .create_secret()
        .name(&name)
        .secret_string(r#"{"keys":[]}"#)
        .send()
        .await
        .unwrap();
    let err = KeySource::Secret(name)
        .load(Some(&aws))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("exactly one key must be active"),
        "{err}"
    );
}
