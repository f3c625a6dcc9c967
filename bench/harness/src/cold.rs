//! Cold starts: exec a function binary with the environment a deployed function gets, against
//! our Runtime API, DynamoDB proxy and trap, and time it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::time::timeout;
use tokio_rustls::rustls;

use crate::proxy::{Proxy, Trap, Upstream};
use crate::runtime_api::{Event, RuntimeApi};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    Idlink,
    HelloWorld,
    AwsExample,
}

/// One row of the benchmark: a binary, how it is started, and the fixture it is invoked with.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: String,
    pub binary: PathBuf,
    pub kind: Kind,
    /// The fixture's text, `${…}` placeholders unfilled: each run fills it with fresh values.
    pub fixture: String,
    pub event_name: String,
    /// Extra environment (e.g. a variant's configuration).
    pub extra_env: Vec<(String, String)>,
}

/// What one cold run is given: the round's table and the subject's filled fixture.
pub struct Round {
    pub table: String,
    pub event: Bytes,
}

/// What the harness owns and shares between runs.
pub struct Rig {
    pub tls: Arc<rustls::ServerConfig>,
    pub upstream: Upstream,
    pub upstream_url: String,
    /// IDLINK_* settings (the table aside: each round has its own) and the test CA.
    pub idlink_env: Vec<(String, String)>,
    /// The system store plus the test CA, for the AWS-example (what SSL_CERT_FILE would hold).
    pub system_plus_test_ca: PathBuf,
    pub log_dir: PathBuf,
}

#[derive(Clone, Debug, Serialize)]
pub struct ColdRun {
    pub init_ms: f64,
    /// Exec until the first invocation's response, DynamoDB wait included.
    pub first_response_ms: f64,
    /// Time spent waiting on the store before that response: the proxy's wait on the local
    /// DynamoDB API plus its own TLS handshake flights (DynamoDB's side of the handshake).
    pub store_wait_ms: f64,
    /// TLS handshakes the proxy served, end to end (both sides' work).
    pub handshake_ms: f64,
    /// The proxy's own flights of those handshakes (included in `store_wait_ms`).
    pub tls_server_flight_ms: f64,
    pub status: Option<u16>,
    /// Time the process spent on a CPU (all its threads, user and kernel: exec, page faults,
    /// syscalls) until init was done, and until the first response: what waiting on anything
    /// (the store, the harness, a busy machine) cannot inflate.
    pub on_cpu_init_ms: f64,
    pub on_cpu_first_response_ms: f64,
    /// Connections opened before the first `GET …/next`, and what each was for.
    pub init_connections: Vec<String>,
    /// DynamoDB operations of the first invocation, in order.
    pub operations: Vec<String>,
    pub connections: usize,
    /// Peak RSS (VmHWM) after the warm invocations, when any were asked for.
    pub max_rss_kib: Option<u64>,
    /// RSS then, split into anonymous (heap, stacks) and file-backed (the binary's pages).
    pub rss_anon_kib: Option<u64>,
    pub rss_file_kib: Option<u64>,
}

impl ColdRun {
    /// Cold request with the store excluded.
    pub fn cold_ms(&self) -> f64 {
        self.first_response_ms - self.store_wait_ms
    }
}

/// The time covered by spans (start, length) that may overlap: each instant counted once.
pub fn covered(spans: impl IntoIterator<Item = (Instant, Duration)>) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = spans
        .into_iter()
        .map(|(from, length)| (from, from + length))
        .collect();
    spans.sort_unstable();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (from, to) in spans {
        current = match current {
            Some((start, end)) if from <= end => Some((start, end.max(to))),
            Some((start, end)) => {
                total += end - start;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    total + current.map_or(Duration::ZERO, |(start, end)| end - start)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The environment Lambda gives a function (provided.al2023), credentials as a role's.
fn lambda_env(name: &str, binary: &Path) -> Vec<(String, String)> {
    let dir = binary
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    [
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH0"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "benchbenchbenchbenchbenchbenchbenchbench",
        ),
        ("AWS_SESSION_TOKEN", "bench-session-token"),
        ("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"),
        ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("TZ", ":UTC"),
        ("_HANDLER", "bootstrap"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
            format!("/aws/lambda/{name}"),
        ),
        ("LAMBDA_TASK_ROOT".to_owned(), dir),
    ])
    .collect()
}

/// Execs `subject`, serves it one invocation plus `warm` more, and measures.
pub async fn run(
    rig: &Rig,
    subject: &Subject,
    round: &Round,
    warm: usize,
) -> Result<ColdRun, String> {
    let event = round.event.clone();
    let mut api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
    let proxy = Proxy::start(
        rig.tls.clone(),
        rig.upstream.clone(),
        rig.upstream_url.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let trap = Trap::start().await.map_err(|e| e.to_string())?;
    let mut env = lambda_env(&subject.name, &subject.binary);
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), api.addr.to_string()));
    env.push(("IDLINK_TABLE".into(), round.table.clone()));
    env.push((
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        format!("https://{}", proxy.addr),
    ));
    // Anything else that would leave the process for AWS lands in the trap and is reported.
    let trap_url = format!("http://{}", trap.addr);
    env.push(("AWS_ENDPOINT_URL".into(), trap_url.clone()));
    env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), trap_url));
    match subject.kind {
        Kind::Idlink | Kind::HelloWorld => env.extend(rig.idlink_env.iter().cloned()),
        Kind::AwsExample => {
            env.extend(rig.idlink_env.iter().cloned());
            env.push((
                "SSL_CERT_FILE".into(),
                rig.system_plus_test_ca.display().to_string(),
            ));
            env.push(("SSL_CERT_DIR".into(), "/etc/ssl/certs".into()));
        }
    }
    env.extend(subject.extra_env.iter().cloned());
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(rig.log_dir.join(format!("{}.log", subject.name)))
        .map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut child = Command::new(&subject.binary)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("{}: {e}", subject.binary.display()))?;
    let pid = child.id();
    let result = async {
        let init_done = match next_event(&mut api).await? {
            Event::Next(at) => at,
            other => return Err(format!("init failed: {}", other.describe())),
        };
        let on_cpu_init = on_cpu(pid);
        let init_connections = describe_connections(&proxy, &trap, init_done);
        api.invoke(event.clone());
        let (first_done, body) = match next_event(&mut api).await? {
            Event::Response(at, body) => (at, body),
            other => return Err(format!("first invocation failed: {}", other.describe())),
        };
        let on_cpu_first = on_cpu(pid);
        let conns = proxy.connections();
        let server_flight: Duration = conns
            .iter()
            .filter(|c| c.accepted < first_done)
            .map(|c| c.server_flight)
            .sum();
        // A function may wait on several requests at once (change-custom-id reads the user and
        // the new ID's marker concurrently, on two connections): the store is waited on for the
        // union of those spans, not their sum, which would exceed the whole request.
        let spans = conns
            .iter()
            .filter(|c| c.accepted < first_done)
            .filter_map(|c| c.server_flight_from.map(|from| (from, c.server_flight)))
            .chain(
                conns
                    .iter()
                    .flat_map(|c| &c.requests)
                    .filter(|r| r.received < first_done)
                    .map(|r| (r.received, r.wait)),
            );
        let store_wait = covered(spans);
        let handshake: Duration = conns.iter().map(|c| c.handshake).sum();
        let operations = conns
            .iter()
            .flat_map(|c| &c.requests)
            .map(|r| r.operation.clone())
            .collect();
        for _ in 0..warm {
            match next_event(&mut api).await? {
                Event::Next(_) => {}
                other => return Err(format!("expected next, got {}", other.describe())),
            }
            api.invoke(event.clone());
            match next_event(&mut api).await? {
                Event::Response(..) => {}
                other => return Err(format!("warm invocation failed: {}", other.describe())),
            }
        }
        let status = if warm > 0 {
            std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ColdRun {
            init_ms: ms(init_done - started),
            first_response_ms: ms(first_done - started),
            store_wait_ms: ms(store_wait),
            handshake_ms: ms(handshake),
            tls_server_flight_ms: ms(server_flight),
            on_cpu_init_ms: ms(on_cpu_init),
            on_cpu_first_response_ms: ms(on_cpu_first),
            status: serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["statusCode"].as_u64())
                .map(|s| s as u16),
            init_connections,
            operations,
            connections: conns.len(),
            max_rss_kib: status_kib(&status, "VmHWM:"),
            rss_anon_kib: status_kib(&status, "RssAnon:"),
            rss_file_kib: status_kib(&status, "RssFile:"),
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// CPU time of every thread of a process so far (`/proc/PID/task/*/schedstat`, nanoseconds).
fn on_cpu(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

async fn next_event(api: &mut RuntimeApi) -> Result<Event, String> {
    match timeout(Duration::from_secs(20), api.events.recv()).await {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err("runtime API closed".into()),
        Err(_) => Err("no event from the function within 20 s".into()),
    }
}

fn describe_connections(proxy: &Proxy, trap: &Trap, before: Instant) -> Vec<String> {
    let mut out: Vec<String> = proxy
        .connections()
        .into_iter()
        .filter(|c| c.accepted < before)
        .map(|c| {
            let ops: Vec<_> = c.requests.iter().map(|r| r.operation.as_str()).collect();
            format!("DynamoDB endpoint ({})", ops.join(", "))
        })
        .collect();
    out.extend(
        trap.hits()
            .into_iter()
            .filter(|(at, _)| *at < before)
            .map(|(_, line)| format!("other AWS endpoint: {line}")),
    );
    out
}

fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_waits_count_once() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        // Two requests waited on at once (10–40 and 20–50), then a handshake flight (60–65).
        let spans = [
            (t + ms(10), ms(30)),
            (t + ms(20), ms(30)),
            (t + ms(60), ms(5)),
        ];
        assert_eq!(covered(spans), ms(45));
        // Back to back, nested, and none.
        assert_eq!(covered([(t, ms(10)), (t + ms(10), ms(10))]), ms(20));
        assert_eq!(covered([(t, ms(50)), (t + ms(5), ms(5))]), ms(50));
        assert_eq!(covered([]), Duration::ZERO);
    }
}
