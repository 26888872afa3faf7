//! The browser's only way out: a forward proxy on 127.0.0.1 that applies
//! the address policy to every request a page makes, scripts, images,
//! XHRs and WebSockets included. Chromium is started with this proxy for
//! every URL (loopback too) and with its own name resolution switched off,
//! so each connection is opened here, to an address checked here: the
//! name is resolved once, the answer filtered by [`policy`], and the
//! connection made to that very address (no second lookup a DNS rebinding
//! could answer differently).
//!
//! Plain `http://` requests arrive in absolute form and are forwarded one
//! per connection (`Connection: close`, so a reused connection cannot
//! carry a request to another host); `https://` and `wss://` arrive as
//! `CONNECT host:port` and are tunnelled. Bytes from upstream count
//! against a transfer budget; past it every connection is cut.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Name, Resolve};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;

use crate::fetch::policy::{self, PublicResolver, Refusal};

/// The longest request head accepted from the browser.
const MAX_HEAD: usize = 64 * 1024;
/// The most headers a request may have (Chromium sends about 15).
const MAX_HEADERS: usize = 100;
/// Time allowed to connect to an upstream address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Hosts of Chromium's own services (sign-in, component updates, the
/// clock check), which it calls on start whatever its flags say. No trust
/// page needs them; refusing them keeps a fetch to the page's own traffic.
const CHROMIUM_SERVICES: &[&str] = &[
    "accounts.google.com",
    "update.googleapis.com",
    "clients2.google.com",
    "clients2.googleusercontent.com",
    "redirector.gvt1.com",
    "optimizationguide-pa.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
];

/// Which requests the proxy lets through.
pub struct ProxyPolicy {
    /// The host and port of a configured URL that names its own address
    /// (an IP literal or `localhost`): reached as written, like the
    /// fetcher reaches it. Everything else must be public.
    pub trusted_origin: Option<(String, u16)>,
    /// The source's `allow_private`.
    pub allow_private: bool,
    pub resolver: Arc<dyn Resolve>,
    /// Bytes from upstream after which every connection is cut.
    pub max_transfer: u64,
}

impl ProxyPolicy {
    /// The policy for a fetch of `url`.
    pub fn for_page(
        url: &Url,
        configured: bool,
        allow_private: bool,
        resolver: Arc<dyn Resolve>,
        max_transfer: u64,
    ) -> ProxyPolicy {
        let trusted_origin = (configured && policy::names_its_address(url))
            .then(|| Some((host_of(url)?, url.port_or_known_default()?)))
            .flatten();
        ProxyPolicy {
            trusted_origin,
            allow_private,
            resolver,
            max_transfer,
        }
    }

    fn public_only(&self, host: &str, port: u16) -> bool {
        let trusted = self
            .trusted_origin
            .as_ref()
            .is_some_and(|(h, p)| h.eq_ignore_ascii_case(host) && *p == port);
        !trusted && !self.allow_private
    }

    /// Connects to `host:port` if the policy allows it.
    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, String> {
        if CHROMIUM_SERVICES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(host))
        {
            return Err("chromium's own service traffic, not the page's".to_string());
        }
        let public_only = self.public_only(host, port);
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => {
                if public_only && !policy::is_public(ip) {
                    return Err(Refusal::PrivateAddress(ip).to_string());
                }
                vec![SocketAddr::new(ip, port)]
            }
            Err(_) => {
                let name = Name::from_str(host).map_err(|_| format!("invalid host {host:?}"))?;
                let resolving = if public_only {
                    PublicResolver(Arc::clone(&self.resolver)).resolve(name)
                } else {
                    self.resolver.resolve(name)
                };
                resolving
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|addr| SocketAddr::new(addr.ip(), port))
                    .collect()
            }
        };
        if addresses.is_empty() {
            return Err(format!("{host} has no address"));
        }
        tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addresses[..]))
            .await
            .map_err(|_| format!("connecting to {host}:{port} timed out"))?
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))
    }
}

/// The host of `url` as the proxy sees it: an IPv6 literal without brackets.
fn host_of(url: &Url) -> Option<String> {
    Some(match url.host()? {
        url::Host::Ipv6(v6) => v6.to_string(),
        host => host.to_string(),
    })
}

/// What the proxy saw during one fetch.
#[derive(Default)]
struct ProxyState {
    transferred: AtomicU64,
    over_budget: AtomicBool,
    refused: Mutex<Vec<String>>,
}

/// A running proxy; stops, with every connection it holds, when dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(policy: ProxyPolicy) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ProxyState::default());
        let policy = Arc::new(policy);
        let task_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Dropping the set (when the task is aborted) aborts every
            // connection still open.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        connections.spawn(serve(client, Arc::clone(&policy), Arc::clone(&task_state)));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Proxy { addr, state, task })
    }

    /// Where the browser sends its requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests refused, each with its reason, in order.
    pub fn refused(&self) -> Vec<String> {
        self.state
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the page downloaded more than the transfer budget.
    pub fn over_budget(&self) -> bool {
        self.state.over_budget.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection from the browser: one request, or one tunnel.
async fn serve(mut client: TcpStream, policy: Arc<ProxyPolicy>, state: Arc<ProxyState>) {
    let Some((head, early)) = read_head(&mut client).await else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = request.parse(&head) else {
        let _ = respond(&mut client, 400, "a malformed request").await;
        return;
    };
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return;
    };
    let destination = if method.eq_ignore_ascii_case("CONNECT") {
        parse_authority(target).map(|(host, port)| (host, port, None))
    } else {
        Url::parse(target)
            .ok()
            .filter(|url| url.scheme() == "http")
            .and_then(|url| {
                let origin_form = match url.query() {
                    Some(query) => format!("{}?{query}", url.path()),
                    None => url.path().to_string(),
                };
                Some((
                    host_of(&url)?,
                    url.port_or_known_default()?,
                    Some(origin_form),
                ))
            })
    };
    let Some((host, port, origin_form)) = destination else {
        refuse(
            &mut client,
            &state,
            format!("{method} {target}: not an http(s) request"),
        )
        .await;
        return;
    };
    let mut upstream = match policy.connect(&host, port).await {
        Ok(upstream) => upstream,
        Err(reason) => {
            refuse(&mut client, &state, format!("{method} {target}: {reason}")).await;
            return;
        }
    };
    match origin_form {
        None => {
            if client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
        Some(path) => {
            let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
            for header in request.headers.iter() {
                let hop_by_hop = [
                    "connection",
                    "proxy-connection",
                    "keep-alive",
                    "proxy-authorization",
                ]
                .iter()
                .any(|h| header.name.eq_ignore_ascii_case(h));
                if !hop_by_hop {
                    forwarded.push_str(header.name);
                    forwarded.push_str(": ");
                    forwarded.push_str(&String::from_utf8_lossy(header.value));
                    forwarded.push_str("\r\n");
                }
            }
            forwarded.push_str("Connection: close\r\n\r\n");
            if upstream.write_all(forwarded.as_bytes()).await.is_err() {
                return;
            }
        }
    }
    if !early.is_empty() && upstream.write_all(&early).await.is_err() {
        return;
    }
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let max = policy.max_transfer;
    tokio::select! {
        _ = pump(&mut client_read, &mut upstream_write, None) => {}
        _ = pump(&mut upstream_read, &mut client_write, Some((&state, max))) => {}
    }
}

async fn refuse(client: &mut TcpStream, state: &ProxyState, reason: String) {
    tracing::debug!(%reason, "browser request refused");
    let _ = respond(client, 403, &reason).await;
    state
        .refused
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(reason);
}

async fn respond(client: &mut TcpStream, status: u16, reason: &str) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} Refused by scopewatch\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}",
        reason.len()
    );
    client.write_all(response.as_bytes()).await
}

/// Reads up to the end of the request head; returns the head and any
/// bytes read past it.
async fn read_head(client: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let early = buffer.split_off(end + 4);
            return Some((buffer, early));
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
    }
}

/// `host:port` of a CONNECT (`[v6]:port` too).
fn parse_authority(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| Some((host.to_string(), port.parse().ok()?)))?
}

/// Copies until either side closes; bytes from upstream count against the
/// transfer budget.
async fn pump(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    budget: Option<(&ProxyState, u64)>,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((state, max)) = budget {
            let total = state.transferred.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
            if total > max {
                state.over_budget.store(true, Ordering::Relaxed);
                break;
            }
        }
        if to.write_all(&chunk[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_for(url: &str, allow_private: bool) -> ProxyPolicy {
        ProxyPolicy::for_page(
            &Url::parse(url).unwrap(),
            true,
            allow_private,
            Arc::new(policy::SystemResolver),
            1 << 20,
        )
    }

    #[test]
    fn only_a_configured_literal_origin_is_trusted() {
        let policy = policy_for("http://127.0.0.1:8080/page", false);
        assert!(!policy.public_only("127.0.0.1", 8080));
        assert!(policy.public_only("127.0.0.1", 8081));
        assert!(policy.public_only("169.254.169.254", 80));
        let named = policy_for("https://trust.example/", false);
        assert!(named.public_only("trust.example", 443));
        let allowed = policy_for("https://trust.example/", true);
        assert!(!allowed.public_only("10.0.0.1", 80));
        let v6 = policy_for("http://[::1]:9000/", false);
        assert!(!v6.public_only("::1", 9000));
    }

    #[test]
    fn parses_connect_targets() {
        assert_eq!(
            parse_authority("example.com:443"),
            Some(("example.com".to_string(), 443))
        );
        assert_eq!(
            parse_authority("[::1]:8443"),
            Some(("::1".to_string(), 8443))
        );
        assert_eq!(parse_authority("example.com"), None);
        assert_eq!(parse_authority(":443"), None);
    }

    #[tokio::test]
    async fn refuses_chromium_s_own_services_without_a_lookup() {
        let policy = policy_for("http://127.0.0.1:8080/", true);
        let err = policy
            .connect("update.googleapis.com", 443)
            .await
            .unwrap_err();
        assert!(err.contains("chromium's own"), "{err}");
    }

    #[tokio::test]
    async fn refuses_private_addresses_before_connecting() {
        let policy = policy_for("http://127.0.0.1:8080/", false);
        for (host, port) in [("169.254.169.254", 80), ("10.0.0.1", 80), ("127.0.0.1", 9)] {
            let err = policy.connect(host, port).await.unwrap_err();
            assert!(err.contains("not a public address"), "{host}: {err}");
        }
    }
}
