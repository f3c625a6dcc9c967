//! A bounded load on `make run` (127.0.0.1 only): returning logins from a fixed number of
//! concurrent callers for a fixed time; requests/s, p50, p99.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde::Serialize;

use crate::proxy::{Upstream, upstream_client};
use crate::report::quantile;

#[derive(Serialize)]
pub struct Load {
    pub seconds: f64,
    pub concurrency: usize,
    pub requests: usize,
    pub non_200: usize,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

type Error = Box<dyn std::error::Error>;

async fn send(
    client: &Upstream,
    url: &str,
    auth: &str,
    ctype: &str,
    body: String,
) -> Result<(u16, Bytes), Error> {
    let req = Request::post(url)
        .header("authorization", auth)
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))?;
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

pub async fn run(base: &str, creds: &str, seconds: u64, concurrency: usize) -> Result<Load, Error> {
    let creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(creds)?)?;
    let client = upstream_client();
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            creds["client_id"].as_str().ok_or("client_id")?,
            creds["client_secret"].as_str().ok_or("client_secret")?
        ))
    };
    let (status, body) = send(
        &client,
        &format!("{base}/oauth/token"),
        &format!("Basic {basic}"),
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials".into(),
    )
    .await?;
    if status != 200 {
        return Err(format!("POST /oauth/token answered {status}").into());
    }
    let token: serde_json::Value = serde_json::from_slice(&body)?;
    let auth = format!(
        "Bearer {}",
        token["access_token"].as_str().ok_or("access_token")?
    );
    let login = format!("{base}/users/login/server_custom_id");
    let body = |w: usize| format!(r#"{{"server_custom_id":"load-{w}"}}"#);
    // Each caller's first login creates its user; the measured ones are returning logins.
    for w in 0..concurrency {
        let (status, _) = send(&client, &login, &auth, "application/json", body(w)).await?;
        if status != 200 {
            return Err(format!("first login answered {status}").into());
        }
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, login, auth, body) = (client.clone(), login.clone(), auth.clone(), body(w));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                let status = send(&client, &login, &auth, "application/json", body.clone())
                    .await
                    .map(|(s, _)| s)
                    .unwrap_or(0);
                out.push((t.elapsed().as_secs_f64() * 1e3, status));
            }
            out
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let latencies: Vec<f64> = samples.iter().map(|(ms, _)| *ms).collect();
    Ok(Load {
        seconds: elapsed,
        concurrency,
        requests: samples.len(),
        non_200: samples.iter().filter(|(_, s)| *s != 200).count(),
        requests_per_second: samples.len() as f64 / elapsed,
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
    })
}
