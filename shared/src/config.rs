//! Configuration from the environment, read once at cold start. A missing variable fails startup
//! with a message naming it. SDK clients are built here from explicit settings: no credential or
//! region probing over the network (IMDS, STS, SSO, profile files).

use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

use crate::error::{Error, Result};
use crate::keys::KeySet;
use crate::store::dynamo::DynamoStore;
use crate::token::TokenService;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, String),
    #[error("loading the signing keys failed: {0}")]
    Keys(String),
}

pub fn env_var(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Region and credentials as Lambda provides them: in environment variables.
#[derive(Clone, Debug)]
pub struct AwsEnv {
    region: Region,
    credentials: Credentials,
    dynamodb_endpoint: Option<String>,
    secrets_endpoint: Option<String>,
}

impl AwsEnv {
    /// `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL` (the SDKs' standard names) point a
    /// client at a local API; unset means the real AWS endpoint.
    pub fn from_env() -> Result<Self, ConfigError> {
        let endpoint = |service: &str| env_opt(service).or_else(|| env_opt("AWS_ENDPOINT_URL"));
        Ok(Self {
            region: Region::new(env_var("AWS_REGION")?),
            credentials: Credentials::new(
                env_var("AWS_ACCESS_KEY_ID")?,
                env_var("AWS_SECRET_ACCESS_KEY")?,
                env_opt("AWS_SESSION_TOKEN"),
                None,
                "lambda-environment",
            ),
            dynamodb_endpoint: endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
            secrets_endpoint: endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        })
    }

    /// Every service on one local endpoint with test credentials (tests and local tools).
    pub fn local(endpoint: &str) -> Self {
        Self {
            region: Region::new("us-east-1"),
            credentials: Credentials::new("testing", "testing", None, None, "local"),
            dynamodb_endpoint: Some(endpoint.to_owned()),
            secrets_endpoint: Some(endpoint.to_owned()),
        }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let mut conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region.clone())
            .credentials_provider(self.credentials.clone())
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .build(),
            );
        conf.set_endpoint_url(self.dynamodb_endpoint.clone());
        aws_sdk_dynamodb::Client::from_conf(conf.build())
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let mut conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new(
                self.region.as_ref().to_owned(),
            ))
            .credentials_provider(self.credentials.clone());
        conf.set_endpoint_url(self.secrets_endpoint.clone());
        aws_sdk_secretsmanager::Client::from_conf(conf.build())
    }
}

/// Where the signing key set comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// `IDLINK_KEYS_FILE`: a file that local setup generates.
    File(String),
    /// `IDLINK_KEYS_SECRET_ID`: a Secrets Manager secret (AWS).
    Secret(String),
}

impl KeySource {
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Some(path) = env_opt("IDLINK_KEYS_FILE") {
            return Ok(Self::File(path));
        }
        env_opt("IDLINK_KEYS_SECRET_ID")
            .map(Self::Secret)
            .ok_or(ConfigError::Missing(
                "IDLINK_KEYS_FILE or IDLINK_KEYS_SECRET_ID",
            ))
    }

    /// Reads and parses the key set once. A secret needs `aws` (region, credentials); given
    /// none, they come from the environment.
    pub async fn load(&self, aws: Option<&AwsEnv>) -> Result<KeySet, ConfigError> {
        let text = match self {
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Keys(format!("reading IDLINK_KEYS_FILE: {e}")))?,
            Self::Secret(id) => {
                let aws = match aws {
                    Some(a) => a.clone(),
                    None => AwsEnv::from_env()?,
                };
                aws.secrets_manager()
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| ConfigError::Keys(format!("GetSecretValue: {e}")))?
                    .secret_string
                    .ok_or_else(|| ConfigError::Keys("the secret has no SecretString".into()))?
            }
        };
        KeySet::from_json(&text).map_err(|e| ConfigError::Keys(crate::error::describe(&e)))
    }
}

/// The signing key set named by the environment (see [`KeySource`]).
pub async fn load_keys(aws: Option<&AwsEnv>) -> Result<KeySet, ConfigError> {
    KeySource::from_env()?.load(aws).await
}

fn ttl(name: &'static str, default: i64) -> Result<i64, ConfigError> {
    match env_opt(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|x| (60..=30 * 86_400).contains(x))
            .ok_or_else(|| ConfigError::Invalid(name, "seconds between 60 and 2592000".into())),
    }
}

/// Everything a function builds before its first request.
pub struct Setup {
    pub aws: AwsEnv,
    pub tokens: TokenService,
}

impl Setup {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = AwsEnv::from_env()?;
        let tokens = tokens_from_env(Some(&aws)).await?;
        Ok(Self { aws, tokens })
    }

    pub fn store(&self) -> Result<DynamoStore, ConfigError> {
        Ok(DynamoStore::new(
            self.aws.dynamodb(),
            env_var("IDLINK_TABLE")?,
        ))
    }
}

/// `IDLINK_ISSUER` (the public base URL), key set and token lifetimes.
pub async fn tokens_from_env(aws: Option<&AwsEnv>) -> Result<TokenService, ConfigError> {
    let issuer = env_var("IDLINK_ISSUER")?;
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(ConfigError::Invalid(
            "IDLINK_ISSUER",
            "must be an http(s) URL".into(),
        ));
    }
    let keys = load_keys(aws).await?;
    Ok(TokenService::new(keys, &issuer).with_ttls(
        ttl("IDLINK_SERVER_TOKEN_TTL", TokenService::DEFAULT_SERVER_TTL)?,
        ttl("IDLINK_USER_TOKEN_TTL", TokenService::DEFAULT_USER_TTL)?,
    ))
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::internal(e)
    }
}

/// JSON logs to stdout (CloudWatch), level from `RUST_LOG` (default info), no ANSI, no time
/// (Lambda stamps each line).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
