//! The functions' DynamoDB endpoint: a TLS proxy (test CA) in front of the local DynamoDB API
//! that records each connection, its TLS handshake, and each request's operation and the time
//! spent waiting on the upstream; and a trap for every other AWS endpoint (IMDS, STS, …) that
//! records anything that connects to it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A test CA and a server certificate for 127.0.0.1 signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

impl TestPki {
    pub fn generate() -> Result<TestPki, Box<dyn std::error::Error>> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name
            .push(DnType::CommonName, "idlink bench test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;
        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = Issuer::new(ca, ca_key);
        let server_cert = server.signed_by(&server_key, &issuer)?;
        let key = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TestPki {
            ca_pem: ca_cert.pem(),
            server: Arc::new(config),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Proxied {
    pub operation: String,
    pub received: Instant,
    pub wait: Duration,
}

#[derive(Clone, Debug)]
pub struct Connection {
    pub accepted: Instant,
    /// The whole TLS handshake as the proxy saw it (both sides' work).
    pub handshake: Duration,
    /// The proxy's own part of it: from the ClientHello read to its answering flight written.
    /// On AWS this is DynamoDB's time, so it counts as waiting on the store.
    pub server_flight: Duration,
    /// When that flight began (the ClientHello read), to place it among concurrent waits.
    pub server_flight_from: Option<Instant>,
    pub requests: Vec<Proxied>,
}

/// A TCP stream that notes when its first read returned data and its first write went out.
struct Timed {
    inner: tokio::net::TcpStream,
    first_read: Option<Instant>,
    first_write: Option<Instant>,
}

impl tokio::io::AsyncRead for Timed {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.first_read.is_none() && buf.filled().len() > before {
            self.first_read = Some(Instant::now());
        }
        poll
    }
}

impl tokio::io::AsyncWrite for Timed {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.first_write.is_none() {
            self.first_write = Some(Instant::now());
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub type Upstream = Client<HttpConnector, Full<Bytes>>;

pub fn upstream_client() -> Upstream {
    Client::builder(TokioExecutor::new()).build_http()
}

pub struct Proxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Connection>>>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(
        tls: Arc<rustls::ServerConfig>,
        upstream: Upstream,
        upstream_url: String,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log: Arc<Mutex<Vec<Connection>>> = Arc::default();
        let acceptor = TlsAcceptor::from(tls);
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let accepted = Instant::now();
                let _ = stream.set_nodelay(true);
                let log = task_log.clone();
                let index = {
                    let mut l = log.lock().unwrap();
                    l.push(Connection {
                        accepted,
                        handshake: Duration::ZERO,
                        server_flight: Duration::ZERO,
                        server_flight_from: None,
                        requests: Vec::new(),
                    });
                    l.len() - 1
                };
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                let upstream_url = upstream_url.clone();
                tokio::spawn(async move {
                    let timed = Timed {
                        inner: stream,
                        first_read: None,
                        first_write: None,
                    };
                    let Ok(tls) = acceptor.accept(timed).await else {
                        return;
                    };
                    {
                        let (timed, _) = tls.get_ref();
                        let mut l = log.lock().unwrap();
                        l[index].handshake = accepted.elapsed();
                        if let (Some(r), Some(w)) = (timed.first_read, timed.first_write) {
                            l[index].server_flight = w.saturating_duration_since(r);
                            l[index].server_flight_from = Some(r);
                        }
                    }
                    let svc = service_fn(move |req| {
                        forward(
                            req,
                            upstream.clone(),
                            upstream_url.clone(),
                            log.clone(),
                            index,
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Ok(Proxy { addr, log, task })
    }

    pub fn connections(&self) -> Vec<Connection> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    req: Request<Incoming>,
    upstream: Upstream,
    upstream_url: String,
    log: Arc<Mutex<Vec<Connection>>>,
    index: usize,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let received = Instant::now();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("?")
        .to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream_url}{path}"));
    for (name, value) in &parts.headers {
        if name != "connection" && name != "keep-alive" {
            out = out.header(name, value);
        }
    }
    let answer = match out.body(Full::new(body)) {
        Ok(out) => match upstream.request(out).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let mut r = Response::from_parts(parts, Full::new(body));
                // Hop-by-hop: moto's server closes every connection; DynamoDB keeps them open,
                // so the function's connection to the proxy must stay open as it would on AWS.
                for h in ["connection", "keep-alive", "transfer-encoding"] {
                    r.headers_mut().remove(h);
                }
                r
            }
            Err(_) => bad_gateway(),
        },
        Err(_) => bad_gateway(),
    };
    log.lock().unwrap()[index].requests.push(Proxied {
        operation,
        received,
        wait: received.elapsed(),
    });
    Ok(answer)
}

fn bad_gateway() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    r
}

/// Stands in for IMDS, STS and every other AWS endpoint: records the first line of whatever
/// connects and answers 404.
pub struct Trap {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
    task: JoinHandle<()>,
}

impl Trap {
    pub async fn start() -> std::io::Result<Trap> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let at = Instant::now();
                let log = task_log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 2048];
                    let n = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]);
                    let line = head.lines().next().unwrap_or("(no request)").to_owned();
                    log.lock().unwrap().push((at, line));
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Ok(Trap { addr, log, task })
    }

    pub fn hits(&self) -> Vec<(Instant, String)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.task.abort();
    }
}
