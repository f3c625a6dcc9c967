//! Configuration from the environment, read once at cold start. A missing variable fails startup
//! with a message naming it. SDK clients are built here from explicit settings: no credential or
//! region probing over the network (IMDS, STS, SSO, profile files).

use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

use crate::error::{Error, Result};
use crate::keys::KeySet;
use crate::store::dynamo::DynamoStore;
use crate::token::TokenService;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A value outside what the variable allows; the text says what it allows.
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, String),
    /// Something named by the configuration could not be used; the cause says why.
    #[error("{what}")]
    Unusable {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("loading secret material failed: {0}")]
    Keys(String),
}

impl ConfigError {
    fn unusable(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unusable {
            what: what.into(),
            source: source.into(),
        }
    }
}

pub fn env_var(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

pub fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Region and credentials as Lambda provides them: in environment variables.
#[derive(Clone, Debug)]
pub struct AwsEnv {
    region: Region,
    credentials: Credentials,
    dynamodb_endpoint: Option<String>,
    secrets_endpoint: Option<String>,
    /// None: the SDK's default client (local endpoints only).
    http: Option<SharedHttpClient>,
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
            http: Some(https_client(TrustRoots::from_env()?)?),
        })
    }

    /// Every service on one local endpoint with test credentials (tests and local tools).
    pub fn local(endpoint: &str) -> Self {
        Self {
            region: Region::new("us-east-1"),
            credentials: Credentials::new("testing", "testing", None, None, "local"),
            dynamodb_endpoint: Some(endpoint.to_owned()),
            secrets_endpoint: Some(endpoint.to_owned()),
            http: None,
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
        conf.set_http_client(self.http.clone());
        aws_sdk_dynamodb::Client::from_conf(conf.build())
    }

    /// What a client of another service needs (the events function's EventBridge client): the
    /// region, the credentials and idlink's HTTPS client (`None` locally).
    pub fn client_parts(&self) -> (Region, Credentials, Option<SharedHttpClient>) {
        (
            self.region.clone(),
            self.credentials.clone(),
            self.http.clone(),
        )
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let mut conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new(
                self.region.as_ref().to_owned(),
            ))
            .credentials_provider(self.credentials.clone());
        conf.set_endpoint_url(self.secrets_endpoint.clone());
        conf.set_http_client(self.http.clone());
        aws_sdk_secretsmanager::Client::from_conf(conf.build())
    }
}

/// The roots an SDK client trusts. Always the Amazon Trust Services roots compiled in below (what
/// every AWS endpoint idlink calls chains to), instead of the system store, which the SDK reads
/// whole at client build: 6–8 ms of every init here (docs/performance.md). Configuration can only
/// add roots:
/// `IDLINK_EXTRA_CA_FILE` (PEM, e.g. a local test CA) and `IDLINK_TRUST_SYSTEM_ROOTS=1`.
#[derive(Clone, Debug, Default)]
pub struct TrustRoots {
    extra_pem: Option<Vec<u8>>,
    system: bool,
}

impl TrustRoots {
    pub fn from_env() -> Result<Self, ConfigError> {
        const EXTRA: &str = "IDLINK_EXTRA_CA_FILE";
        const SYSTEM: &str = "IDLINK_TRUST_SYSTEM_ROOTS";
        let extra_pem = match env_opt(EXTRA) {
            None => None,
            Some(path) => {
                let pem = std::fs::read(&path)
                    .map_err(|e| ConfigError::unusable(format!("{EXTRA}: reading {path}"), e))?;
                check_roots(&pem).map_err(|e| ConfigError::Invalid(EXTRA, e))?;
                Some(pem)
            }
        };
        let system = match env_opt(SYSTEM).as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(_) => return Err(ConfigError::Invalid(SYSTEM, "0 or 1".into())),
        };
        Ok(Self { extra_pem, system })
    }
}

/// The SDK parses custom roots only when it first connects, and panics on a bad one; refuse
/// them at startup instead.
fn check_roots(pem: &[u8]) -> Result<(), String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    let (_, invalid) = rustls::RootCertStore::empty().add_parsable_certificates(certs);
    match invalid {
        0 => Ok(()),
        n => Err(format!("{n} certificate(s) cannot be trust anchors")),
    }
}

/// One HTTPS client (rustls on aws-lc, as the SDK's default) shared by every SDK client.
fn https_client(roots: TrustRoots) -> Result<SharedHttpClient, ConfigError> {
    let mut store = TrustStore::empty()
        .with_native_roots(roots.system)
        .with_pem_certificate(AWS_ROOTS_PEM);
    if let Some(pem) = roots.extra_pem {
        store = store.with_pem_certificate(pem);
    }
    let tls_context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| ConfigError::unusable("building the TLS context from the trust roots", e))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(tls_context)
        .build_https())
}

/// Amazon Trust Services roots (https://www.amazontrust.com/repository/), SHA-256:
/// Amazon Root CA 1 8ecde688…98196e, 2 1ba5b2aa…a46db4, 3 18ce6cfe…b46db3a4, 4 e35d2841…25897092,
/// Starfield Services Root CA - G2 568d6905…e63edab5 (cross-signs the Amazon roots).
const AWS_ROOTS_PEM: &str = include_str!("aws_roots.pem");

/// Secret material a function may read. Each is its own secret in AWS (its own file locally),
/// and each function declares the ones it uses (`SECRETS` in its crate): it loads those and its
/// IAM policy lets it read exactly those (tests/tests/policies.rs holds the two together).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Material {
    /// The private signing key set: only for the functions that sign tokens (it verifies too).
    SigningKeys,
    /// The public key set (the JWKS): for the functions that only verify, and jwks.
    PublicKeys,
    /// The partner-identifier pepper: only for the partner functions.
    PartnerPepper,
}

impl Material {
    pub const ALL: [Material; 3] = [Self::SigningKeys, Self::PublicKeys, Self::PartnerPepper];

    /// The variable naming a local file that holds the material.
    pub fn file_var(self) -> &'static str {
        match self {
            Self::SigningKeys => "IDLINK_SIGNING_KEYS_FILE",
            Self::PublicKeys => "IDLINK_PUBLIC_KEYS_FILE",
            Self::PartnerPepper => "IDLINK_PARTNER_PEPPER_FILE",
        }
    }

    /// The variable naming the Secrets Manager secret that holds the material (AWS).
    pub fn secret_var(self) -> &'static str {
        match self {
            Self::SigningKeys => "IDLINK_SIGNING_KEYS_SECRET_ID",
            Self::PublicKeys => "IDLINK_PUBLIC_KEYS_SECRET_ID",
            Self::PartnerPepper => "IDLINK_PARTNER_PEPPER_SECRET_ID",
        }
    }
}

/// Where one secret material comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A file that local setup generates.
    File(String),
    /// A Secrets Manager secret (AWS).
    Secret(String),
}

impl KeySource {
    /// The material's file variable if set, else its secret variable.
    pub fn of(material: Material) -> Result<Self, ConfigError> {
        if let Some(path) = env_opt(material.file_var()) {
            return Ok(Self::File(path));
        }
        env_opt(material.secret_var())
            .map(Self::Secret)
            .ok_or(ConfigError::Missing(material.secret_var()))
    }

    /// Reads the material's text once. A secret needs `aws` (region, credentials); given none,
    /// they come from the environment.
    pub async fn read(&self, aws: Option<&AwsEnv>) -> Result<String, ConfigError> {
        match self {
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| ConfigError::unusable(format!("reading secret material {path}"), e)),
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
                    .map_err(|e| ConfigError::unusable(format!("GetSecretValue {id}"), e))?
                    .secret_string
                    .ok_or_else(|| ConfigError::Keys("the secret has no SecretString".into()))
            }
        }
    }

    /// Reads and parses a private key set (and the pepper it may carry: see
    /// [`KeySet::from_json`]).
    pub async fn load(&self, aws: Option<&AwsEnv>) -> Result<KeySet, ConfigError> {
        let text = self.read(aws).await?;
        KeySet::from_json(&text).map_err(keys_error)
    }
}

fn keys_error(e: Error) -> ConfigError {
    ConfigError::unusable("parsing secret material", e)
}

/// The key set of a function that reads `materials` (one of the two key sets, and the pepper
/// if listed), each from its own file or secret; nothing else is read.
pub async fn load_keys(
    materials: &[Material],
    aws: Option<&AwsEnv>,
) -> Result<KeySet, ConfigError> {
    load_keys_from(materials, KeySource::of, aws).await
}

/// [`load_keys`] with each material's source given by `source` (asked only for `materials`).
pub async fn load_keys_from(
    materials: &[Material],
    source: impl Fn(Material) -> Result<KeySource, ConfigError>,
    aws: Option<&AwsEnv>,
) -> Result<KeySet, ConfigError> {
    let has = |m| materials.contains(&m);
    let keys = match (has(Material::SigningKeys), has(Material::PublicKeys)) {
        (true, false) => {
            let text = source(Material::SigningKeys)?.read(aws).await?;
            KeySet::from_private_json(&text).map_err(keys_error)?
        }
        (false, true) => {
            let text = source(Material::PublicKeys)?.read(aws).await?;
            KeySet::from_public_json(&text).map_err(keys_error)?
        }
        // A function that reads no key material (openapi) verifies and signs nothing.
        (false, false) if materials.is_empty() => return Ok(KeySet::none()),
        _ => {
            return Err(ConfigError::Keys(
                "a function reads exactly one of the signing and the public key sets".into(),
            ));
        }
    };
    if !has(Material::PartnerPepper) {
        return Ok(keys);
    }
    let text = source(Material::PartnerPepper)?.read(aws).await?;
    Ok(keys.with_pepper(crate::keys::pepper_from_json(&text).map_err(keys_error)?))
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
    /// Loads only the secret `materials` the function declares.
    pub async fn from_env(materials: &[Material]) -> Result<Self, ConfigError> {
        let aws = AwsEnv::from_env()?;
        let tokens = tokens_from_env(materials, Some(&aws)).await?;
        Ok(Self { aws, tokens })
    }

    pub fn store(&self) -> Result<DynamoStore, ConfigError> {
        Ok(DynamoStore::new(
            self.aws.dynamodb(),
            env_var("IDLINK_TABLE")?,
        ))
    }
}

/// `IDLINK_ISSUER` (the public base URL), the key set of `materials` and token lifetimes.
pub async fn tokens_from_env(
    materials: &[Material],
    aws: Option<&AwsEnv>,
) -> Result<TokenService, ConfigError> {
    let issuer = env_var("IDLINK_ISSUER")?;
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(ConfigError::Invalid(
            "IDLINK_ISSUER",
            "must be an http(s) URL".into(),
        ));
    }
    let keys = load_keys(materials, aws).await?;
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
/// (Lambda stamps each line); below INFO only idlink's own code (see [`below_info_only_idlink`]).
/// At debug, the first line names the filter as the function read it.
pub fn init_logging() {
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = env_opt("RUST_LOG");
    let _ = log_subscriber(spec.as_deref(), std::io::stdout).try_init();
    tracing::debug!(
        log_filter = spec.as_deref().unwrap_or("info"),
        "log filter from RUST_LOG"
    );
}

fn log_subscriber<W>(spec: Option<&str>, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_target(false)
                .without_time()
                .with_writer(writer),
        )
        .with(log_filter(spec))
        .with(tracing_subscriber::filter::filter_fn(|meta| {
            below_info_only_idlink(meta.target(), meta.level())
        }))
}

/// Other crates log secrets below INFO: at trace the Lambda runtime logs each raw event (bearer
/// tokens, client secrets, API keys, raw identifiers), and the SDK and hyper can log request
/// bodies (keys holding raw custom IDs). So whatever `RUST_LOG` says, only idlink's own code
/// (`idlink::…`, which never logs a secret or a raw identifier) logs at debug or trace.
fn below_info_only_idlink(target: &str, level: &tracing::Level) -> bool {
    *level <= tracing::Level::INFO || target == "idlink" || target.starts_with("idlink::")
}

/// `RUST_LOG` as `target=level` directives (`info`, `idlink=debug,warn`): tracing-subscriber's
/// `Targets`, not `EnvFilter`, whose span and field matching links a regex engine into every
/// function (docs/performance.md). Unset or unparsable means `info`.
fn log_filter(spec: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    spec.and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_log_filter_reads_directives_and_defaults_to_info() {
        use tracing::Level;
        let default = log_filter(None);
        assert!(default.would_enable("idlink", &Level::INFO));
        assert!(!default.would_enable("idlink", &Level::DEBUG));
        let mixed = log_filter(Some("idlink=debug,warn"));
        assert!(mixed.would_enable("idlink::store", &Level::DEBUG));
        assert!(!mixed.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(mixed.would_enable("aws_smithy_runtime", &Level::WARN));
        let garbage = log_filter(Some("idlink=loud"));
        assert!(garbage.would_enable("idlink", &Level::INFO));
        assert!(!garbage.would_enable("idlink", &Level::DEBUG));
    }

    #[test]
    fn below_info_only_idlink_logs() {
        use tracing::Level;
        assert!(below_info_only_idlink("idlink", &Level::TRACE));
        assert!(below_info_only_idlink(
            "idlink::store::dynamo",
            &Level::DEBUG
        ));
        for target in [
            "lambda_runtime::layers::api_response",
            "lambda_http",
            "aws_smithy_runtime::client::http",
            "hyper_util::client",
            "rustls::client",
            "idlinker",
            "auth_custom_id::handler",
        ] {
            assert!(!below_info_only_idlink(target, &Level::DEBUG), "{target}");
            assert!(!below_info_only_idlink(target, &Level::TRACE), "{target}");
            assert!(below_info_only_idlink(target, &Level::INFO), "{target}");
            assert!(below_info_only_idlink(target, &Level::ERROR), "{target}");
        }
    }

    /// Events through the subscriber the functions install, captured as they would be written.
    fn logged_at(spec: &str, emit: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Capture(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let capture = Capture::default();
        let writer = capture.clone();
        tracing::subscriber::with_default(log_subscriber(Some(spec), move || writer.clone()), emit);
        let bytes = capture.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn no_rust_log_lets_the_runtime_log_raw_events() {
        for spec in [
            "trace",
            "info,lambda_runtime=trace,aws_smithy_runtime=debug,idlink=trace",
            "debug,idlink=trace",
        ] {
            let out = logged_at(spec, || {
                tracing::trace!(
                    target: "lambda_runtime::layers::api_response",
                    body = "Bearer secret-token",
                    "raw JSON event received from Lambda"
                );
                tracing::debug!(target: "aws_smithy_runtime::client", "body: raw-custom-id");
                tracing::info!(target: "lambda_runtime", "runtime-info");
                tracing::trace!(target: "idlink::store", "idlink-trace");
            });
            assert!(!out.contains("secret-token"), "{spec}: {out}");
            assert!(!out.contains("raw-custom-id"), "{spec}: {out}");
            assert!(out.contains("runtime-info"), "{spec}: {out}");
            assert!(out.contains("idlink-trace"), "{spec}: {out}");
        }
        let quiet = logged_at("idlink=warn,info", || {
            tracing::info!(target: "idlink::store", "idlink-info");
            tracing::info!(target: "lambda_runtime", "runtime-info");
        });
        assert!(!quiet.contains("idlink-info"), "{quiet}");
        assert!(quiet.contains("runtime-info"), "{quiet}");
    }

    #[test]
    fn the_compiled_in_roots_are_five_trust_anchors() {
        assert_eq!(check_roots(AWS_ROOTS_PEM.as_bytes()), Ok(()));
        assert_eq!(
            CertificateDer::pem_slice_iter(AWS_ROOTS_PEM.as_bytes()).count(),
            5
        );
    }

    #[test]
    fn extra_roots_that_are_not_certificates_are_refused() {
        assert!(check_roots(b"").is_err());
        assert!(check_roots(b"not a certificate").is_err());
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_roots(garbage).is_err());
    }
}
