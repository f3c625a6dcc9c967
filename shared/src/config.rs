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
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, String),
    #[error("loading secret material failed: {0}")]
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
/// whole at client build: 6–8 ms of every init here (README "Performance"). Configuration can only
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
                    .map_err(|e| ConfigError::Invalid(EXTRA, format!("reading {path}: {e}")))?;
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
        .map_err(|e| ConfigError::Invalid("IDLINK_EXTRA_CA_FILE", e.to_string()))?;
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
const AWS_ROOTS_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIFQTCCAymgAwIBAgITBmyf0pY1hp8KD+WGePhbJruKNzANBgkqhkiG9w0BAQwF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAyMB4XDTE1MDUyNjAwMDAwMFoXDTQwMDUyNjAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMjCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK2Wny2cSkxK
gXlRmeyKy2tgURO8TW0G/LAIjd0ZEGrHJgw12MBvIITplLGbhQPDW9tK6Mj4kHbZ
W0/jTOgGNk3Mmqw9DJArktQGGWCsN0R5hYGCrVo34A3MnaZMUnbqQ523BNFQ9lXg
1dKmSYXpN+nKfq5clU1Imj+uIFptiJXZNLhSGkOQsL9sBbm2eLfq0OQ6PBJTYv9K
8nu+NQWpEjTj82R0Yiw9AElaKP4yRLuH3WUnAnE72kr3H9rN9yFVkE8P7K6C4Z9r
2UXTu/Bfh+08LDmG2j/e7HJV63mjrdvdfLC6HM783k81ds8P+HgfajZRRidhW+me
z/CiVX18JYpvL7TFz4QuK/0NURBs+18bvBt+xa47mAExkv8LV/SasrlX6avvDXbR
8O70zoan4G7ptGmh32n2M8ZpLpcTnqWHsFcQgTfJU7O7f/aS0ZzQGPSSbtqDT6Zj
mUyl+17vIWR6IF9sZIUVyzfpYgwLKhbcAS4y2j5L9Z469hdAlO+ekQiG+r5jqFoz
7Mt0Q5X5bGlSNscpb/xVA1wf+5+9R+vnSUeVC06JIglJ4PVhHvG/LopyboBZ/1c6
+XUyo05f7O0oYtlNc/LMgRdg7c3r3NunysV+Ar3yVAhU/bQtCSwXVEqY0VThUWcI
0u1ufm8/0i2BWSlmy5A5lREedCf+3euvAgMBAAGjQjBAMA8GA1UdEwEB/wQFMAMB
Af8wDgYDVR0PAQH/BAQDAgGGMB0GA1UdDgQWBBSwDPBMMPQFWAJI/TPlUq9LhONm
UjANBgkqhkiG9w0BAQwFAAOCAgEAqqiAjw54o+Ci1M3m9Zh6O+oAA7CXDpO8Wqj2
LIxyh6mx/H9z/WNxeKWHWc8w4Q0QshNabYL1auaAn6AFC2jkR2vHat+2/XcycuUY
+gn0oJMsXdKMdYV2ZZAMA3m3MSNjrXiDCYZohMr/+c8mmpJ5581LxedhpxfL86kS
k5Nrp+gvU5LEYFiwzAJRGFuFjWJZY7attN6a+yb3ACfAXVU3dJnJUH/jWS5E4ywl
7uxMMne0nxrpS10gxdr9HIcWxkPo1LsmmkVwXqkLN1PiRnsn/eBG8om3zEK2yygm
btmlyTrIQRNg91CMFa6ybRoVGld45pIq2WWQgj9sAq+uEjonljYE1x2igGOpm/Hl
urR8FLBOybEfdF849lHqm/osohHUqS0nGkWxr7JOcQ3AWEbWaQbLU8uz/mtBzUF+
fUwPfHJ5elnNXkoOrJupmHN5fLT0zLm4BwyydFy4x2+IoZCn9Kr5v2c69BoVYh63
n749sSmvZ6ES8lgQGVMDMBu4Gon2nL2XA46jCfMdiyHxtN/kHNGfZQIG6lzWE7OE
76KlXIx3KadowGuuQNKotOrN8I1LOJwZmhsoVLiJkO/KdYE+HvJkJMcYr07/R54H
9jVlpNMKVv/1F2Rs76giJUmTtt8AF9pYfl3uxRuw0dFfIRDH+fO6AgonB8Xx1sfT
4PsJYGw=
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIBtjCCAVugAwIBAgITBmyf1XSXNmY/Owua2eiedgPySjAKBggqhkjOPQQDAjA5
MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6b24g
Um9vdCBDQSAzMB4XDTE1MDUyNjAwMDAwMFoXDTQwMDUyNjAwMDAwMFowOTELMAkG
A1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJvb3Qg
Q0EgMzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCmXp8ZBf8ANm+gBG1bG8lKl
ui2yEujSLtf6ycXYqm0fc4E7O5hrOXwzpcVOho6AF2hiRVd9RFgdszflZwjrZt6j
QjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgGGMB0GA1UdDgQWBBSr
ttvXBp43rDCGB5Fwx5zEGbF4wDAKBggqhkjOPQQDAgNJADBGAiEA4IWSoxe3jfkr
BqWTrBqYaGFy+uGh0PsceGCmQ5nFuMQCIQCcAu/xlJyzlvnrxir4tiz+OpAUFteM
YyRIHN8wfdVoOw==
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIB8jCCAXigAwIBAgITBmyf18G7EEwpQ+Vxe3ssyBrBDjAKBggqhkjOPQQDAzA5
MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6b24g
Um9vdCBDQSA0MB4XDTE1MDUyNjAwMDAwMFoXDTQwMDUyNjAwMDAwMFowOTELMAkG
A1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJvb3Qg
Q0EgNDB2MBAGByqGSM49AgEGBSuBBAAiA2IABNKrijdPo1MN/sGKe0uoe0ZLY7Bi
9i0b2whxIdIA6GO9mif78DluXeo9pcmBqqNbIJhFXRbb/egQbeOc4OO9X4Ri83Bk
M6DLJC9wuoihKqB1+IGuYgbEgds5bimwHvouXKNCMEAwDwYDVR0TAQH/BAUwAwEB
/zAOBgNVHQ8BAf8EBAMCAYYwHQYDVR0OBBYEFNPsxzplbszh2naaVvuc84ZtV+WB
MAoGCCqGSM49BAMDA2gAMGUCMDqLIfG9fhGt0O9Yli/W651+kI0rz2ZVwyzjKKlw
CkcO8DdZEv8tmZQoTipPNU0zWgIxAOp1AE47xDqUEpHJWEadIRNyp4iciuRMStuW
1KyLa2tJElMzrdfkviT8tQp21KW8EA==
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIID7zCCAtegAwIBAgIBADANBgkqhkiG9w0BAQsFADCBmDELMAkGA1UEBhMCVVMx
EDAOBgNVBAgTB0FyaXpvbmExEzARBgNVBAcTClNjb3R0c2RhbGUxJTAjBgNVBAoT
HFN0YXJmaWVsZCBUZWNobm9sb2dpZXMsIEluYy4xOzA5BgNVBAMTMlN0YXJmaWVs
ZCBTZXJ2aWNlcyBSb290IENlcnRpZmljYXRlIEF1dGhvcml0eSAtIEcyMB4XDTA5
MDkwMTAwMDAwMFoXDTM3MTIzMTIzNTk1OVowgZgxCzAJBgNVBAYTAlVTMRAwDgYD
VQQIEwdBcml6b25hMRMwEQYDVQQHEwpTY290dHNkYWxlMSUwIwYDVQQKExxTdGFy
ZmllbGQgVGVjaG5vbG9naWVzLCBJbmMuMTswOQYDVQQDEzJTdGFyZmllbGQgU2Vy
dmljZXMgUm9vdCBDZXJ0aWZpY2F0ZSBBdXRob3JpdHkgLSBHMjCCASIwDQYJKoZI
hvcNAQEBBQADggEPADCCAQoCggEBANUMOsQq+U7i9b4Zl1+OiFOxHz/Lz58gE20p
OsgPfTz3a3Y4Y9k2YKibXlwAgLIvWX/2h/klQ4bnaRtSmpDhcePYLQ1Ob/bISdm2
8xpWriu2dBTrz/sm4xq6HZYuajtYlIlHVv8loJNwU4PahHQUw2eeBGg6345AWh1K
Ts9DkTvnVtYAcMtS7nt9rjrnvDH5RfbCYM8TWQIrgMw0R9+53pBlbQLPLJGmpufe
hRhJfGZOozptqbXuNC66DQO4M99H67FrjSXZm86B0UVGMpZwh94CDklDhbZsc7tk
6mFBrMnUVN+HL8cisibMn1lUaJ/8viovxFUcdUBgF4UCVTmLfwUCAwEAAaNCMEAw
DwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFJxfAN+q
AdcwKziIorhtSpzyEZGDMA0GCSqGSIb3DQEBCwUAA4IBAQBLNqaEd2ndOxmfZyMI
bw5hyf2E3F/YNoHN2BtBLZ9g3ccaaNnRbobhiCPPE95Dz+I0swSdHynVv/heyNXB
ve6SbzJ08pGCL72CQnqtKrcgfU28elUSwhXqvfdqlS5sdJ/PHLTyxQGjhdByPq1z
qwubdQxtRbeOlKyWN7Wg0I8VRw7j6IPdj/3vQQF3zCepYoUz8jcI73HPdwbeyBkd
iEDPfUYd/x7H4c7/I9vG+o1VTqkC50cRRj70/b17KSa7qWFiNyi2LSr2EIZkyXCn
0q23KXB56jzaYyWf/Wi3MOxw+3WKt21gZ7IeyLnp2KhvAotnDU0mV3HaIPzBSlCN
sSi6
-----END CERTIFICATE-----
";

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
                .map_err(|e| ConfigError::Keys(format!("reading {path}: {e}"))),
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
    ConfigError::Keys(crate::error::describe(&e))
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
/// function (README "Performance"). Unset or unparsable means `info`.
fn log_filter(spec: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    spec.and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
