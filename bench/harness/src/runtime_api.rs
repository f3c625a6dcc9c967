//! A minimal Lambda Runtime API on 127.0.0.1 (the 2018-06-01 interface a custom runtime polls):
//! it hands out the invocations it is given and reports, with the instant it saw them, each
//! `GET …/invocation/next`, response, error and init error.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

#[derive(Debug)]
pub enum Event {
    /// The function asked for its next invocation: init is over (first time) or it is idle.
    Next(Instant),
    Response(Instant, Bytes),
    Error(String),
    InitError(String),
}

impl Event {
    pub fn describe(&self) -> String {
        match self {
            Event::Next(_) => "GET …/invocation/next".into(),
            Event::Response(_, body) => format!("response {}", String::from_utf8_lossy(body)),
            Event::Error(e) => format!("invocation error {e}"),
            Event::InitError(e) => format!("init error {e}"),
        }
    }
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    pub events: mpsc::UnboundedReceiver<Event>,
    invocations: mpsc::UnboundedSender<Bytes>,
    task: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (event_tx, events) = mpsc::unbounded_channel();
        let (invocations, invocation_rx) = mpsc::unbounded_channel::<Bytes>();
        let invocation_rx = Arc::new(Mutex::new(invocation_rx));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let event_tx = event_tx.clone();
                let invocation_rx = invocation_rx.clone();
                tokio::spawn(async move {
                    let svc =
                        service_fn(move |req| serve(req, event_tx.clone(), invocation_rx.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(RuntimeApi {
            addr,
            events,
            invocations,
            task,
        })
    }

    /// Queues an invocation for the next `GET …/invocation/next`.
    pub fn invoke(&self, payload: Bytes) {
        let _ = self.invocations.send(payload);
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Invocations = Arc<Mutex<mpsc::UnboundedReceiver<Bytes>>>;

async fn serve(
    req: Request<Incoming>,
    events: mpsc::UnboundedSender<Event>,
    invocations: Invocations,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == NEXT {
        let _ = events.send(Event::Next(Instant::now()));
        let payload = invocations.lock().await.recv().await;
        return Ok(match payload {
            Some(payload) => invocation(payload),
            None => status(500),
        });
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(status(400)),
    };
    let at = Instant::now();
    let text = || String::from_utf8_lossy(&body).into_owned();
    let event = if path == INIT_ERROR {
        Event::InitError(text())
    } else if path.ends_with("/response") {
        Event::Response(at, body.clone())
    } else if path.ends_with("/error") {
        Event::Error(text())
    } else {
        return Ok(status(404));
    };
    let _ = events.send(event);
    Ok(status(202))
}

fn invocation(payload: Bytes) -> Response<Full<Bytes>> {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", format!("bench-{id}"))
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench",
        )
        .header(
            "lambda-runtime-trace-id",
            format!(
                "Root=1-5759e988-bd862e3fe1be46a994272{id:03};Parent=53995c3f42cd8ad8;Sampled=0"
            ),
        )
        .body(Full::new(payload))
        .unwrap_or_else(|_| status(500))
}

fn status(code: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
    r
}
