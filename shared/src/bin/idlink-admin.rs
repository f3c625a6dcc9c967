//! idlink's admin command: create the table, signing keys, projects and server clients.
//! Reads the same environment as the functions (AWS_REGION, credentials, IDLINK_TABLE, optional
//! AWS_ENDPOINT_URL_DYNAMODB); secrets it creates are printed once and stored only as hashes.

use std::process::ExitCode;

use idlink::client::{ClientId, Project, Scope, SecretHash, ServerClient, generate_client_secret};
use idlink::config::{AwsEnv, env_var};
use idlink::identity::ProjectId;
use idlink::keys::{
    KeyAlg, generate_pepper_file, generate_private_key_set, pepper_from_json, public_key_set,
    rotate,
};
use idlink::partner::{ApiKeyHash, generate_api_key};
use idlink::store::dynamo::DynamoStore;
use idlink::store::schema::create_table;
use idlink::store::{ApiKeyStore, ClientStore};
use serde_json::json;

const USAGE: &str = "usage: idlink-admin <command> [options]

commands:
  create-table                          create IDLINK_TABLE (no-op if it exists)
  gen-keys --out PATH [--alg ES256|EdDSA] [--rotate]
                                        write the private signing key set (kept if PATH
                                        exists, unless --rotate adds a new active key)
  public-keys --from PATH [--out PATH]  the public key set (JWKS) of a private one, for the
                                        functions that only verify (again after a rotation)
  gen-pepper --out PATH                 write the partner pepper (kept if PATH exists: stored
                                        partner identifiers depend on it)
  create-project --name NAME [--publisher-id N] [--publisher-project-id N]
  create-client --project ID [--scopes \"users:login users:link read:users update:users update:users_app_metadata delete:users read:logs read:logs_users\"]
  create-api-key --project ID           a partner API key for the project
  dev-setup --out PATH                  a project, an all-scopes client and an API key,
                                        written to PATH";

type Failure = Box<dyn std::error::Error>;

struct Args(Vec<String>);

impl Args {
    fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }
    fn req(&self, name: &str) -> Result<&str, Failure> {
        self.opt(name)
            .ok_or_else(|| format!("missing {name}\n\n{USAGE}").into())
    }
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
    fn number(&self, name: &str) -> Result<Option<u64>, Failure> {
        self.opt(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{name} must be an integer").into())
            })
            .transpose()
    }
}

fn store() -> Result<DynamoStore, Failure> {
    Ok(DynamoStore::new(
        AwsEnv::from_env()?.dynamodb(),
        env_var("IDLINK_TABLE")?,
    ))
}

async fn create_project(
    store: &DynamoStore,
    name: &str,
    publisher_id: Option<u64>,
    publisher_project_id: Option<u64>,
) -> Result<Project, Failure> {
    let project = Project {
        id: ProjectId::new_random(),
        name: name.to_owned(),
        publisher_id,
        publisher_project_id,
    };
    store.put_project(&project).await?;
    Ok(project)
}

async fn create_client(
    store: &DynamoStore,
    project: ProjectId,
    scopes: Vec<Scope>,
) -> Result<(ClientId, String), Failure> {
    let secret = generate_client_secret()?;
    let client = ServerClient {
        id: ClientId::new_random(),
        project,
        secret_hash: SecretHash::of(&secret),
        scopes,
    };
    store.put_client(&client).await?;
    Ok((client.id, secret))
}

async fn create_api_key(store: &DynamoStore, project: ProjectId) -> Result<String, Failure> {
    let key = generate_api_key()?;
    store.put_api_key(&ApiKeyHash::of(&key), project).await?;
    Ok(key)
}

async fn run(args: Args) -> Result<(), Failure> {
    match args.0.first().map(String::as_str) {
        Some("create-table") => {
            let store = store()?;
            create_table(store.client(), store.table()).await?;
            eprintln!("table {} is ready", store.table());
        }
        Some("gen-keys") => {
            let out = args.req("--out")?;
            let alg = match args.opt("--alg").unwrap_or("ES256") {
                "ES256" => KeyAlg::ES256,
                "EdDSA" => KeyAlg::EdDSA,
                other => return Err(format!("unsupported --alg {other}").into()),
            };
            let text = match (std::fs::read_to_string(out).ok(), args.flag("--rotate")) {
                (Some(_), false) => {
                    eprintln!("{out} exists; keeping it (use --rotate to add a new key)");
                    return Ok(());
                }
                (Some(old), true) => rotate(&old, alg)?,
                (None, _) => generate_private_key_set(alg)?,
            };
            write_private(out, &text)?;
            eprintln!("wrote signing keys to {out}");
        }
        Some("public-keys") => {
            let text = public_key_set(&std::fs::read_to_string(args.req("--from")?)?)?;
            match args.opt("--out") {
                Some(out) => {
                    std::fs::write(out, &text)?;
                    eprintln!("wrote public keys to {out}");
                }
                None => println!("{text}"),
            }
        }
        Some("gen-pepper") => {
            let out = args.req("--out")?;
            if let Ok(existing) = std::fs::read_to_string(out) {
                pepper_from_json(&existing)?;
                eprintln!("{out} exists; keeping it");
                return Ok(());
            }
            write_private(out, &generate_pepper_file()?)?;
            eprintln!("wrote the partner pepper to {out}");
        }
        Some("create-project") => {
            let store = store()?;
            let project = create_project(
                &store,
                args.req("--name")?,
                args.number("--publisher-id")?,
                args.number("--publisher-project-id")?,
            )
            .await?;
            println!("{}", json!({ "project_id": project.id.to_string() }));
        }
        Some("create-client") => {
            let store = store()?;
            let project = ProjectId::parse(args.req("--project")?)?;
            if store.get_project(project).await?.is_none() {
                return Err("no such project".into());
            }
            let scopes = Scope::parse_list(
                args.opt("--scopes")
                    .unwrap_or("users:login users:link read:users update:users update:users_app_metadata delete:users read:logs read:logs_users"),
            )?;
            let (id, secret) = create_client(&store, project, scopes).await?;
            println!(
                "{}",
                json!({ "client_id": id.as_str(), "client_secret": secret })
            );
        }
        Some("create-api-key") => {
            let store = store()?;
            let project = ProjectId::parse(args.req("--project")?)?;
            if store.get_project(project).await?.is_none() {
                return Err("no such project".into());
            }
            let key = create_api_key(&store, project).await?;
            println!("{}", json!({ "api_key": key }));
        }
        Some("dev-setup") => {
            let out = args.req("--out")?;
            let store = store()?;
            let project = create_project(&store, "dev", Some(1), Some(1)).await?;
            let (id, secret) = create_client(&store, project.id, Scope::ALL.to_vec()).await?;
            let api_key = create_api_key(&store, project.id).await?;
            let mut creds = json!({
                "project_id": project.id.to_string(),
                "client_id": id.as_str(),
                "client_secret": secret,
                "api_key": api_key,
            });
            if let Ok(issuer) = env_var("IDLINK_ISSUER") {
                let issuer = issuer.trim_end_matches('/');
                creds["issuer"] = json!(issuer);
                creds["audience"] = json!(format!("{issuer}/api/v2/"));
            }
            let text = serde_json::to_string_pretty(&creds)?;
            write_private(out, &text)?;
            println!("{text}");
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

/// Writes a file only its owner can read: it holds private keys or a client secret.
fn write_private(path: &str, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args(std::env::args().skip(1).collect());
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlink-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
