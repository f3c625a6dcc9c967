//! The secret materials as AWS deployments load them: from Secrets Manager secrets, once, through
//! the same code path the functions use (the local API stands in for Secrets Manager); each
//! function reads only the materials it declares.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use idlink::client::{ClientId, Project, Scope};
use idlink::config::{AwsEnv, ConfigError, KeySource, Material, load_keys_from};
use idlink::identity::ProjectId;
use idlink::keys::{KeyAlg, KeySet, generate_key_file};
use idlink::token::TokenService;

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
    assert!(matches!(err, ConfigError::Unusable { .. }), "{err:?}");
    assert!(err.to_string().contains("GetSecretValue"), "{err}");
    // The SDK's error stays attached as the cause, for the startup log to print whole.
    assert!(std::error::Error::source(&err).is_some(), "{err:?}");
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
    // The reason is the cause, kept whole for the startup log.
    assert!(
        idlink::error::describe(&err).contains("exactly one key must be active"),
        "{err:?}"
    );
}

/// Three secrets as deployed: the private signing key set, its public key set, the pepper.
async fn three_secrets(aws: &AwsEnv) -> std::collections::HashMap<Material, String> {
    use idlink::keys::{generate_pepper_file, generate_private_key_set, public_key_set};
    let private = generate_private_key_set(KeyAlg::ES256).unwrap();
    let texts = [
        (Material::PublicKeys, public_key_set(&private).unwrap()),
        (Material::SigningKeys, private),
        (Material::PartnerPepper, generate_pepper_file().unwrap()),
    ];
    let mut ids = std::collections::HashMap::new();
    for (material, text) in texts {
        let name = format!("idlink/{material:?}-{}", uuid::Uuid::new_v4().simple());
        aws.secrets_manager()
            .create_secret()
            .name(&name)
            .secret_string(text)
            .send()
            .await
            .unwrap();
        ids.insert(material, name);
    }
    ids
}

/// Loads `materials` from the secrets, answering the key set and which secrets were read.
async fn load(
    aws: &AwsEnv,
    ids: &std::collections::HashMap<Material, String>,
    materials: &[Material],
) -> (KeySet, Vec<Material>) {
    let asked = std::sync::Mutex::new(Vec::new());
    let keys = load_keys_from(
        materials,
        |m| {
            asked.lock().unwrap().push(m);
            Ok(KeySource::Secret(ids[&m].clone()))
        },
        Some(aws),
    )
    .await
    .unwrap();
    (keys, asked.into_inner().unwrap())
}

#[tokio::test]
async fn each_function_reads_only_its_materials_and_a_verifier_cannot_sign() {
    let aws = AwsEnv::local(&idlink_tests::dynamo_endpoint());
    let ids = three_secrets(&aws).await;
    let (signing, asked) = load(&aws, &ids, oauth_token::SECRETS).await;
    assert_eq!(asked, [Material::SigningKeys]);
    assert!(signing.pepper().is_none());
    let (public, asked) = load(&aws, &ids, jwks::SECRETS).await;
    assert_eq!(asked, [Material::PublicKeys]);
    let (partner, asked) = load(&aws, &ids, resolve_identifier::SECRETS).await;
    assert_eq!(asked, [Material::PublicKeys, Material::PartnerPepper]);
    assert!(partner.pepper().is_some());
    assert_eq!(public.jwks_json(), signing.jwks_json());

    let signer = TokenService::new(signing, "https://idlink.test");
    let verifier = TokenService::new(public, "https://idlink.test");
    let project = Project {
        id: ProjectId::new_random(),
        name: "p".into(),
        publisher_id: None,
        publisher_project_id: None,
    };
    let client = ClientId::new_random();
    let token = signer
        .issue_server_token(&client, &project, &[Scope::ReadUsers], idlink::clock::now())
        .unwrap();
    let context = verifier.verify_server_token(&token).unwrap();
    assert_eq!(context.project, project.id);
    let refused = verifier
        .issue_server_token(&client, &project, &[Scope::ReadUsers], idlink::clock::now())
        .unwrap_err();
    assert!(
        matches!(refused, idlink::error::Error::Internal(_)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_function_reads_exactly_one_key_set() {
    let aws = AwsEnv::local(&idlink_tests::dynamo_endpoint());
    let ids = three_secrets(&aws).await;
    for materials in [
        &[Material::PartnerPepper][..],
        &[Material::SigningKeys, Material::PublicKeys][..],
    ] {
        let err = load_keys_from(
            materials,
            |m| Ok(KeySource::Secret(ids[&m].clone())),
            Some(&aws),
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, ConfigError::Keys(_)), "{err}");
    }
}
