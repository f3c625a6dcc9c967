//! `make bench` (bench/run.sh builds everything, starts the local DynamoDB API and runs this).
//! `idlink-bench help` lists the subcommands and their options.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod cli;
mod cold;
mod load;
mod proxy;
mod report;
mod round_trips;
mod runtime_api;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use idlink::config::AwsEnv;
use idlink::keys::KeySet;
use idlink::store::dynamo::DynamoStore;
use idlink::testing::{Seed, fill, seed_partner_link, seed_users};
use idlink::token::TokenService;
use idlink_bench::cpu::{Case, Cpu, runtime};
use serde::Serialize;

use cli::{Cli, Cmd, Opts};
use cold::{Kind, Rig, Round, Subject};
use report::{CpuResult, Row, SubjectResult};

type Error = Box<dyn std::error::Error>;

const ISSUER: &str = "https://idlink.bench";
const HELLO: &str = "hello-world";
const AWS_EXAMPLE: &str = "aws-example";
/// auth-custom-id trusting the system store as well: the trust-root choice, measured.
const SYSTEM_ROOTS_VARIANT: &str = "auth-custom-id +system roots";
const RSS_RUNS: usize = 3;
const WARM: usize = 100;

fn main() -> Result<(), Error> {
    match Cli::parse().command {
        Cmd::Run(opts) => runtime().block_on(bench(opts)),
        Cmd::Cpu {
            case,
            n,
            events,
            setup_only,
        } => {
            let events = events.unwrap_or_else(idlink_bench::cpu::events_dir);
            runtime().block_on(async {
                let cpu = Cpu::new(&events).await;
                for i in 0..n {
                    let req = cpu.prepare(case, i).await;
                    if !setup_only {
                        assert_eq!(cpu.handle(case, req).await, case.status());
                    }
                }
            });
            Ok(())
        }
        Cmd::Load {
            url,
            credentials_json,
            out_json,
        } => {
            let load = runtime().block_on(load::run(&url, &credentials_json, 20, 16))?;
            std::fs::write(out_json, serde_json::to_string_pretty(&load)?)?;
            eprintln!(
                "    {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} non-200",
                load.requests_per_second, load.p50_ms, load.p99_ms, load.non_200
            );
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct Results {
    machine: HashMap<&'static str, String>,
    runs_per_binary: usize,
    subjects: Vec<SubjectResult>,
    cpu: Vec<CpuResult>,
    round_trips: Vec<round_trips::Trips>,
    logins_per_second_one_core: f64,
    load: Option<serde_json::Value>,
    table: Vec<Row>,
}

async fn bench(opts: Opts) -> Result<(), Error> {
    let root = &opts.root;
    check_profiles(root)?;
    let out = root.join("target/bench");
    let log_dir = out.join("logs");
    std::fs::create_dir_all(&log_dir)?;

    eprintln!("==> test CA, table and fixtures");
    let pki = proxy::TestPki::generate()?;
    let ca_file = out.join("test-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem)?;
    let bundle = out.join("system-plus-test-ca.pem");
    let system = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt")?;
    std::fs::write(&bundle, format!("{system}\n{}", pki.ca_pem))?;

    let client = AwsEnv::local(&opts.moto).dynamodb();
    // `--keys` names the private signing key set; bench/run.sh writes the public key set and
    // the partner pepper beside it. Each function reads the ones it declares.
    let public_keys = opts.keys.with_file_name("public-keys.json");
    let pepper = opts.keys.with_file_name("partner-pepper.json");
    let tokens = TokenService::new(
        KeySet::from_private_json(&std::fs::read_to_string(&opts.keys)?)?.with_pepper(
            idlink::keys::pepper_from_json(&std::fs::read_to_string(&pepper)?)?,
        ),
        ISSUER,
    );
    let tables = Tables::new(client);

    let rig = Rig {
        tls: pki.server.clone(),
        upstream: proxy::upstream_client(),
        upstream_url: opts.moto.trim_end_matches('/').to_owned(),
        idlink_env: vec![
            ("IDLINK_ISSUER".into(), ISSUER.into()),
            (
                "IDLINK_SIGNING_KEYS_FILE".into(),
                opts.keys.display().to_string(),
            ),
            (
                "IDLINK_PUBLIC_KEYS_FILE".into(),
                public_keys.display().to_string(),
            ),
            (
                "IDLINK_PARTNER_PEPPER_FILE".into(),
                pepper.display().to_string(),
            ),
            ("IDLINK_EXTRA_CA_FILE".into(), ca_file.display().to_string()),
        ],
        system_plus_test_ca: bundle,
        log_dir,
    };
    let subjects = subjects(&opts)?;
    let subjects = only(subjects, &opts.only)?;
    check_built(&subjects)?;

    eprintln!(
        "==> cold starts: {} binaries × {} runs, interleaved (one discarded warm-up round)",
        subjects.len(),
        opts.runs
    );
    let packaged = logical_ids(&std::fs::read_to_string(root.join("template.yaml"))?);
    let mut results: Vec<SubjectResult> = subjects
        .iter()
        .map(|s| SubjectResult {
            name: s.name.clone(),
            kind: s.kind,
            event: s.event_name.clone(),
            size_bytes: std::fs::metadata(&s.binary).map(|m| m.len()).unwrap_or(0),
            arm64_bootstrap_bytes: packaged
                .get(&s.name)
                .and_then(|id| {
                    std::fs::metadata(root.join(".aws-sam/build").join(id).join("bootstrap")).ok()
                })
                .map(|m| m.len()),
            cold_runs: Vec::new(),
            rss_runs: Vec::new(),
            failures: Vec::new(),
        })
        .collect();
    for round in 0..=opts.runs {
        let store = tables.next().await?;
        for k in 0..subjects.len() {
            let i = (k + round) % subjects.len();
            let fixture = fresh(&store, &tokens, &subjects[i]).await;
            match cold::run(&rig, &subjects[i], &fixture, 0).await {
                Ok(r) if round > 0 => results[i].cold_runs.push(r),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("    {}: {e}", subjects[i].name);
                    results[i].failures.push(e);
                }
            }
        }
    }
    eprintln!("==> max RSS: cold start + {WARM} warm invocations, {RSS_RUNS} runs each");
    for round in 0..RSS_RUNS {
        let store = tables.next().await?;
        for k in 0..subjects.len() {
            let i = (k + round) % subjects.len();
            let fixture = fresh(&store, &tokens, &subjects[i]).await;
            match cold::run(&rig, &subjects[i], &fixture, WARM).await {
                Ok(r) => results[i].rss_runs.push(r),
                Err(e) => {
                    eprintln!("    {}: {e}", subjects[i].name);
                    results[i].failures.push(e);
                }
            }
        }
    }
    tables.finish().await?;

    eprintln!("==> DynamoDB round trips through the adapter (local DynamoDB API)");
    let trips = round_trips::measure().await;

    eprintln!("==> logins per second, one core, in process, memory store");
    let logins_per_second = throughput(&root.join("events")).await;

    eprintln!("==> handler CPU: criterion medians and callgrind instruction counts");
    let cpu = cpu_results(root);

    let load = match &opts.load {
        Some(p) => std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok()),
        None => None,
    };

    let table = report::rows(&results, &cpu, &trips, logins_per_second, load.as_ref());
    let text = report::print(&table);
    let machine = machine();
    println!();
    println!(
        "idlink bench — {} · {} cores · Linux {} · {} · {} cold starts per binary",
        machine["cpu"], machine["cores"], machine["kernel"], machine["rustc"], opts.runs
    );
    println!("{text}");
    std::fs::write(out.join("table.md"), &text)?;
    let results = Results {
        machine,
        runs_per_binary: opts.runs,
        subjects: results,
        cpu,
        round_trips: trips,
        logins_per_second_one_core: logins_per_second,
        load,
        table,
    };
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    println!("(written: target/bench/results.json, target/bench/table.md)");
    Ok(())
}

/// The references are built in their own workspace: refuse to compare if its release profile
/// is not the one the functions deploy with.
fn check_profiles(root: &Path) -> Result<(), Error> {
    let release = |path: PathBuf| -> Result<toml::Value, Error> {
        let manifest: toml::Table = std::fs::read_to_string(&path)?.parse()?;
        manifest
            .get("profile")
            .and_then(|p| p.get("release"))
            .cloned()
            .ok_or_else(|| format!("{}: no [profile.release]", path.display()).into())
    };
    let ours = release(root.join("Cargo.toml"))?;
    let refs = release(root.join("bench/references/Cargo.toml"))?;
    if ours != refs {
        return Err(format!(
            "bench/references/Cargo.toml's [profile.release] differs from Cargo.toml's:\n{refs}\n---\n{ours}"
        )
        .into());
    }
    Ok(())
}

/// A subject's fixture filled with values of its own: a new project with its own client, users,
/// external ID, partner identifier and API key, so that every cold run's request does its real
/// work (a link writes, an unlink removes) instead of meeting an earlier run's outcome.
async fn fresh(store: &DynamoStore, tokens: &TokenService, subject: &Subject) -> Round {
    let seed = Seed::create(store, Some(7)).await;
    let mut values = seed.placeholders(tokens);
    seed_users(store, tokens, &seed, &mut values).await;
    seed_partner_link(store, tokens, &seed, &mut values).await;
    Round {
        table: store.table().to_owned(),
        event: Bytes::from(fill(&subject.fixture, &values)),
    }
}

/// One table per round of cold starts, the previous one deleted: the local DynamoDB API (moto)
/// copies every table to undo a cancelled transaction, so a table that grew with every run
/// would slow every later run's transactions.
struct Tables {
    client: aws_sdk_dynamodb::Client,
    prefix: String,
    made: std::cell::Cell<usize>,
    current: std::cell::RefCell<Option<String>>,
}

impl Tables {
    fn new(client: aws_sdk_dynamodb::Client) -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        Self {
            client,
            prefix: format!("idlink-bench-{millis}"),
            made: std::cell::Cell::new(0),
            current: std::cell::RefCell::new(None),
        }
    }

    /// Deletes the current table and makes the next one.
    async fn next(&self) -> Result<DynamoStore, Error> {
        self.finish().await?;
        self.made.set(self.made.get() + 1);
        let name = format!("{}-{}", self.prefix, self.made.get());
        // Nothing measured here reads the stream, and moto keeps every record of one.
        idlink::store::schema::create_table_with(&self.client, &name, false).await?;
        self.current.replace(Some(name.clone()));
        Ok(DynamoStore::new(self.client.clone(), name))
    }

    /// Deletes the current table, if any.
    async fn finish(&self) -> Result<(), Error> {
        let current = self.current.take();
        if let Some(name) = current {
            self.client.delete_table().table_name(name).send().await?;
        }
        Ok(())
    }
}

/// `--only a,b`: the named subjects alone (hello-world always kept, as every ratio's base), e.g.
/// to profile one function's cold starts.
fn only(subjects: Vec<Subject>, names: &[String]) -> Result<Vec<Subject>, Error> {
    if names.is_empty() {
        return Ok(subjects);
    }
    let wanted: Vec<&str> = names.iter().map(|n| n.trim()).collect();
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !subjects.iter().any(|s| s.name == **w))
    {
        return Err(format!("--only: no subject named {unknown}").into());
    }
    Ok(subjects
        .into_iter()
        .filter(|s| s.name == HELLO || wanted.contains(&s.name.as_str()))
        .collect())
}

fn subjects(opts: &Opts) -> Result<Vec<Subject>, Error> {
    let events = opts.root.join("events");
    let event = |function: &str| -> Result<(String, String), Error> {
        let mut names: Vec<String> = std::fs::read_dir(events.join(function))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('2') && n.ends_with(".json"))
            .collect();
        names.sort();
        let name = names
            .into_iter()
            .next()
            .ok_or(format!("events/{function} has no 2xx-*.json fixture"))?;
        let text = std::fs::read_to_string(events.join(function).join(&name))?;
        Ok((format!("{function}/{name}"), text))
    };
    let (login_name, login) = event("auth-custom-id")?;
    let mut out = vec![
        Subject {
            name: HELLO.into(),
            binary: opts.references.join(HELLO),
            kind: Kind::HelloWorld,
            fixture: login.clone(),
            event_name: login_name.clone(),
            extra_env: Vec::new(),
        },
        Subject {
            name: AWS_EXAMPLE.into(),
            binary: opts.references.join(AWS_EXAMPLE),
            kind: Kind::AwsExample,
            fixture: login.clone(),
            event_name: login_name.clone(),
            extra_env: Vec::new(),
        },
    ];
    let mut functions: Vec<String> = std::fs::read_dir(opts.root.join("functions"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    functions.sort();
    for f in functions {
        let (event_name, fixture) = event(&f)?;
        // The stream-fed events function names its bus; its fixture publishes nothing.
        let extra_env = match f.as_str() {
            "events" => vec![("IDLINK_EVENT_BUS".into(), "bench".into())],
            _ => Vec::new(),
        };
        out.push(Subject {
            binary: opts.functions.join(&f),
            name: f,
            kind: Kind::Idlink,
            fixture,
            event_name,
            extra_env,
        });
    }
    out.push(Subject {
        name: SYSTEM_ROOTS_VARIANT.into(),
        binary: opts.functions.join("auth-custom-id"),
        kind: Kind::Idlink,
        fixture: login,
        event_name: login_name,
        extra_env: vec![("IDLINK_TRUST_SYSTEM_ROOTS".into(), "1".into())],
    });
    Ok(out)
}

/// Function (the `Binary` of its build properties) → the template's logical ID, which names its
/// directory under `.aws-sam/build/` after `make package`.
fn logical_ids(template: &str) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    let mut resource = None;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if indent == 2 && text.ends_with(':') && !text.starts_with('#') {
            resource = Some(text.trim_end_matches(':').to_owned());
        } else if let (Some(binary), Some(id)) = (text.strip_prefix("Binary:"), &resource) {
            ids.insert(binary.trim().to_owned(), id.clone());
        }
    }
    ids
}

/// Every subject measured must have been built (checked after `--only`, so that a subset run
/// needs only its own binaries).
fn check_built(subjects: &[Subject]) -> Result<(), Error> {
    match subjects.iter().find(|s| !s.binary.exists()) {
        Some(s) => Err(format!("{} is missing: build it first", s.binary.display()).into()),
        None => Ok(()),
    }
}

/// Returning logins through the handler, request parsing from the API Gateway event included.
async fn throughput(events: &Path) -> f64 {
    let cpu = Cpu::new(events).await;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(cpu.run(Case::ReturningLogin, n).await, 200);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn cpu_results(root: &Path) -> Vec<CpuResult> {
    let exe = std::env::current_exe().expect("own path");
    let events = root.join("events");
    Case::ALL
        .into_iter()
        .map(|case| {
            let estimates = root
                .join("target/criterion/cpu")
                .join(case.id())
                .join("new/estimates.json");
            let median_us = std::fs::read_to_string(estimates)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["median"]["point_estimate"].as_f64())
                .map(|ns| ns / 1e3);
            // Instructions per request: the difference between 21 and 1 requests, over 20, so
            // that setup (keys, seeding) cancels out; a case whose every request needs state
            // made first (a merge's two users) subtracts the same difference of runs that only
            // make that state.
            let per_request = |setup_only: bool| {
                let count = |n: u64| callgrind(&exe, case, n, &events, setup_only);
                match (count(1), count(21)) {
                    (Some(one), Some(many)) if many > one => Some((many - one) / 20),
                    _ => None,
                }
            };
            let instructions = match (per_request(false), case.has_setup()) {
                (Some(all), true) => per_request(true).and_then(|setup| all.checked_sub(setup)),
                (all, false) => all,
                (None, true) => None,
            };
            CpuResult {
                case: case.id(),
                median_us,
                instructions,
            }
        })
        .collect()
}

fn callgrind(exe: &Path, case: Case, n: u64, events: &Path, setup_only: bool) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["cpu", case.id(), &n.to_string()])
        .arg(events)
        .args(setup_only.then_some("--setup-only"))
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        eprintln!("    callgrind {} {n}: failed\n{stderr}", case.id());
        return None;
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse().ok())
}

fn machine() -> HashMap<&'static str, String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    HashMap::from([
        ("cpu", cpu),
        ("cores", cores),
        ("kernel", kernel),
        ("rustc", rustc),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaged_functions_are_found_by_their_logical_id() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let ids = logical_ids(&std::fs::read_to_string(root.join("template.yaml")).unwrap());
        assert_eq!(ids.get("jwks").map(String::as_str), Some("JwksFunction"));
        assert_eq!(
            ids.get("auth-custom-id").map(String::as_str),
            Some("AuthCustomIdFunction")
        );
        let functions = std::fs::read_dir(root.join("functions")).unwrap().count();
        assert_eq!(
            ids.len(),
            functions,
            "every function has a logical ID: {ids:?}"
        );
    }

    #[test]
    fn the_references_build_with_the_release_profile_that_deploys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        check_profiles(&root).unwrap();
    }

    #[test]
    fn a_different_release_profile_is_refused() {
        let root = std::env::temp_dir().join(format!("idlink-bench-{}", std::process::id()));
        std::fs::create_dir_all(root.join("bench/references")).unwrap();
        let write = |path: &str, text: &str| std::fs::write(root.join(path), text).unwrap();
        write(
            "Cargo.toml",
            "[profile.release]\nlto = \"fat\"\n[profile.dev]\nlto = false\n",
        );
        write(
            "bench/references/Cargo.toml",
            "[profile.release]\nlto = \"thin\"\n",
        );
        let refused = check_profiles(&root).is_err();
        write(
            "bench/references/Cargo.toml",
            "[profile.release]\n# same\nlto = \"fat\"\n",
        );
        let accepted = check_profiles(&root).is_ok();
        std::fs::remove_dir_all(&root).unwrap();
        assert!(refused && accepted);
    }
}
