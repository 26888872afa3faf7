//! A scriptable HTTP/1.1 server on 127.0.0.1: each test decides, per
//! request, what comes back, down to broken bytes and stalls. One request
//! per connection. [`Server::start_https`] serves the same over TLS, with a
//! certificate for 127.0.0.1 from a throw-away CA.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body, read by its Content-Length.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// A well-formed response with Content-Length.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These bytes exactly, then close.
    Raw(Vec<u8>),
    /// These bytes, then reset the connection (RST).
    RawThenReset(Vec<u8>),
    /// Wait, then close without answering.
    Stall(Duration),
    /// These bytes one at a time, waiting `every` before each (slow headers).
    Trickle { bytes: Vec<u8>, every: Duration },
    /// These bytes, then wait with the connection open, then close.
    RawThenStall(Vec<u8>, Duration),
    /// Wait (other connections are served meanwhile), then this reply: for
    /// pages a browser renders, whose requests overlap, and slow pages.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::ok("text/html; charset=utf-8", body)
    }

    pub fn status(status: u16) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: format!("status {status}").into_bytes(),
        }
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A loopback port nothing listens on (bound, then closed): a connection
/// to it is refused.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    /// Over HTTPS: what a client must trust, and what the server presents.
    pub tls: Option<TestCertificates>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<Mutex<Vec<Request>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The certificates of an HTTPS test server.
pub struct TestCertificates {
    /// The throw-away CA, PEM: what `[http] ca_file` names.
    pub ca_pem: String,
    /// The leaf certificate the server presents (DER), for 127.0.0.1.
    pub leaf_der: CertificateDer<'static>,
}

impl TestCertificates {
    /// A new CA and a certificate it issues for 127.0.0.1, with its key.
    fn issue() -> (TestCertificates, PrivateKeyDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "scopewatch test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let key = PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into();
        let certificates = TestCertificates {
            ca_pem: ca.pem(),
            leaf_der: leaf.der().clone(),
        };
        (certificates, key)
    }
}

/// A connection the server answers on: TCP, or TLS over TCP.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP socket underneath, to reset it.
    fn into_tcp(self) -> TcpStream;
}

impl Connection for TcpStream {
    fn into_tcp(self) -> TcpStream {
        self
    }
}

impl Connection for tokio_rustls::server::TlsStream<TcpStream> {
    fn into_tcp(self) -> TcpStream {
        self.into_inner().0
    }
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Self::launch(handler, None)
    }

    /// An HTTPS server speaking only the TLS `versions` given, with a
    /// certificate for 127.0.0.1 that only `tls.ca_pem` vouches for.
    pub fn start_https(
        versions: &[&'static rustls::SupportedProtocolVersion],
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let (certificates, key) = TestCertificates::issue();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificates.leaf_der.clone()], key)
            .unwrap();
        let mut server = Self::launch(handler, Some(TlsAcceptor::from(Arc::new(config))));
        server.tls = Some(certificates);
        server
    }

    fn launch(
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
        tls: Option<TlsAcceptor>,
    ) -> Server {
        let handler: Arc<Handler> = Arc::new(handler);
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (hits2, requests2) = (hits.clone(), requests.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let (handler, hits, requests) = (handler.clone(), hits2.clone(), requests2.clone());
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                match tls {
                                    None => serve(stream, handler, hits, requests).await,
                                    Some(acceptor) => {
                                        if let Ok(stream) = acceptor.accept(stream).await {
                                            serve(stream, handler, hits, requests).await;
                                        }
                                    }
                                }
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
        });
        Server {
            addr: addr_rx.recv().unwrap(),
            tls: None,
            hits,
            requests,
            _stop: stop_tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Requests served for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: impl Connection,
    handler: Arc<Handler>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<Mutex<Vec<Request>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let split = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut body = head.split_off(split);
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let request = Request {
        // "GET /path HTTP/1.1": the path is the second word.
        path: lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_string(),
        headers: lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect(),
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while body.len() < length.min(1 << 20) {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let request = Request { body, ..request };
    *hits
        .lock()
        .unwrap()
        .entry(request.path.clone())
        .or_default() += 1;
    requests.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let reply = after_delays(reply).await;
    match reply {
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::RawThenReset(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            // SO_LINGER 0: closing sends RST instead of FIN.
            let std_stream = stream.into_tcp().into_std().unwrap();
            socket2::SockRef::from(&std_stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(std_stream);
        }
        Reply::Stall(duration) => {
            tokio::time::sleep(duration).await;
        }
        Reply::Trickle { bytes, every } => {
            for byte in bytes {
                tokio::time::sleep(every).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
            let _ = stream.shutdown().await;
        }
        Reply::RawThenStall(bytes, duration) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            tokio::time::sleep(duration).await;
        }
        Reply::Delayed(..) => unreachable!("delays were waited out above"),
    }
}

/// The reply a [`Reply::Delayed`] stands for, once its wait is over.
async fn after_delays(mut reply: Reply) -> Reply {
    while let Reply::Delayed(wait, then) = reply {
        tokio::time::sleep(wait).await;
        reply = *then;
    }
    reply
}
