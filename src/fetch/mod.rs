//! The HTTP client: address policy, redirects followed and recorded hop by
//! hop, conditional requests, a source's own headers (recorded redacted
//! when secret), retries with backoff, per-host limits, and a body cap
//! enforced while streaming and again on every decoded layer (so
//! compression bombs stop at the cap). A fetch never fails with an `Err`:
//! every outcome, failures included, is a [`Capture`] to record.

#[cfg(feature = "browser")]
pub mod browser;
pub mod client;
mod decode;
mod headline;
mod hosts;
pub mod policy;
pub mod portal;
pub mod retry;
pub mod tls;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::dns::Resolve;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use serde::Serialize;
use url::Url;

use crate::clock;
use crate::hash::Digest;
pub use headline::headline;
use hosts::HostLimiter;
use policy::Refusal;
use retry::RetryDecision;

/// scopewatch's User-Agent: sent by every client it builds, unless
/// `[http] user_agent` replaces it for page fetches.
pub const USER_AGENT: &str = concat!(
    "scopewatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/scopewatch/scopewatch)"
);

/// How pages are fetched: `[http]`, validated by the configuration (whose
/// `Default` for it holds the documented defaults).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub retries: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub retry_after_max: Duration,
    pub user_agent: String,
    pub per_host: usize,
    pub host_delay: Duration,
    pub max_redirects: usize,
    /// `[http] ca_file`: certificates trusted besides Mozilla's roots.
    pub extra_roots: tls::ExtraRoots,
}

/// Why a fetch failed: a short, stable class stored with the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// DNS or TCP/TLS connection failure.
    Connect,
    Timeout,
    /// The connection broke while the body was read, or the body was
    /// malformed (short, bad chunking).
    BodyRead,
    BodyTooLarge,
    /// A `Content-Encoding` not decoded (unknown, too many layers) or bytes
    /// that are not what it says.
    BodyEncoding,
    HttpStatus(u16),
    TooManyRedirects,
    RedirectLoop,
    /// A redirect without a usable `Location`.
    BadRedirect,
    /// The address policy refused the URL (private address, scheme).
    AddressRefused,
    /// Any other client error.
    Request,
    /// No browser to render a `fetch = "browser"` page with.
    BrowserMissing,
    /// The browser died while it rendered the page.
    BrowserCrashed,
    /// The browser could not be started or driven.
    Browser,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::Connect => f.write_str("connect"),
            ErrorClass::Timeout => f.write_str("timeout"),
            ErrorClass::BodyRead => f.write_str("body-read"),
            ErrorClass::BodyTooLarge => f.write_str("body-too-large"),
            ErrorClass::BodyEncoding => f.write_str("body-encoding"),
            ErrorClass::HttpStatus(status) => write!(f, "http-{status}"),
            ErrorClass::TooManyRedirects => f.write_str("too-many-redirects"),
            ErrorClass::RedirectLoop => f.write_str("redirect-loop"),
            ErrorClass::BadRedirect => f.write_str("bad-redirect"),
            ErrorClass::AddressRefused => f.write_str("address-refused"),
            ErrorClass::Request => f.write_str("request"),
            ErrorClass::BrowserMissing => f.write_str("browser-missing"),
            ErrorClass::BrowserCrashed => f.write_str("browser-crashed"),
            ErrorClass::Browser => f.write_str("browser"),
        }
    }
}

/// One redirect hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
    pub location: String,
}

/// How a fetch ended.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    Body(Vec<u8>),
    NotModified,
    Failed { class: ErrorClass, message: String },
}

/// Everything known about one fetch (the last try of it, when retried).
#[derive(Debug, Clone)]
pub struct Capture {
    pub url: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Tries made, 1 + retries.
    pub attempts: u32,
    pub request_headers: Vec<(String, String)>,
    pub hops: Vec<Hop>,
    pub final_url: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub remote_ip: Option<String>,
    /// SHA-256 of the server's leaf certificate (DER), over TLS.
    pub tls_cert_sha256: Option<String>,
    /// The negotiated TLS version (`TLSv1.3`), over TLS.
    pub tls_version: Option<&'static str>,
    pub outcome: FetchOutcome,
    /// Set while the demo replays its pages ([`clock::replay`]): the times
    /// above are the replayed date, and this is when the fetch really began.
    pub wall_clock_start: Option<DateTime<Utc>>,
}

impl Capture {
    /// A fetch of `url` begun now, nothing sent or received yet.
    pub fn begun(url: String) -> Capture {
        let now = clock::now();
        Capture {
            url,
            started_at: now,
            finished_at: now,
            attempts: 1,
            request_headers: Vec::new(),
            hops: Vec::new(),
            final_url: None,
            status: None,
            response_headers: Vec::new(),
            content_type: None,
            remote_ip: None,
            tls_cert_sha256: None,
            tls_version: None,
            outcome: FetchOutcome::NotModified,
            wall_clock_start: clock::replayed().map(|_| clock::wall_now()),
        }
    }
}

/// What to fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub url: Url,
    /// `true` for a URL written in the configuration: when its host is an
    /// IP literal or `localhost` it is fetched as written, and redirects on
    /// its own origin are trusted like it. `false` for a followed link:
    /// every hop must pass the address policy.
    pub configured: bool,
    pub allow_private: bool,
    pub conditional: Option<Conditional>,
    /// The source's `headers`, and the URL whose origin they are for.
    pub headers: SourceHeaders,
    /// The one media type to ask for (`application/pdf` from an API that
    /// serves several); `None`: every format scopewatch reads.
    pub accept: Option<&'static str>,
}

/// Headers a source's configuration adds: sent only to the scheme, host
/// and port of its configured URL (as a browser keeps credentials to their
/// origin), never along a redirect or link elsewhere.
#[derive(Debug, Clone, Default)]
pub struct SourceHeaders {
    pub origin: Option<Url>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl SourceHeaders {
    /// A source's `headers`, for the origin of its configured `url`.
    pub fn for_origin(url: &Url, headers: &[(header::HeaderName, HeaderValue)]) -> SourceHeaders {
        SourceHeaders {
            origin: Some(url.clone()),
            headers: headers.to_vec(),
        }
    }
}

/// What a recorded request header says in place of a secret value.
pub const REDACTED: &str = "[redacted]";

/// Validators from an earlier full response, sent only to the URL that
/// gave them: any other URL's 304 would confirm a page it never served.
#[derive(Debug, Clone)]
pub struct Conditional {
    pub url: Url,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The shared HTTP client of a process.
pub struct Fetcher {
    /// Resolves names unfiltered: for a configured IP literal or
    /// `localhost` (and its origin), and for sources that allow private
    /// addresses.
    trusted: Client,
    /// Resolves names to public addresses only: for everything else.
    public: Client,
    settings: HttpSettings,
    hosts: HostLimiter,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl Fetcher {
    pub fn new(settings: &HttpSettings) -> Result<Self, ClientError> {
        Self::with_resolver(settings, Arc::new(policy::SystemResolver))
    }

    /// A fetcher that looks names up with `resolver` (the public-only
    /// client filters its answers).
    pub fn with_resolver(
        settings: &HttpSettings,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Self, ClientError> {
        let pages = |resolver: Arc<dyn Resolve>| {
            client::http_client(
                client::Purpose::Pages {
                    connect_timeout: settings.connect_timeout,
                    resolver,
                },
                &settings.extra_roots,
                &settings.user_agent,
            )
        };
        Ok(Fetcher {
            trusted: pages(Arc::clone(&resolver))?,
            public: pages(Arc::new(policy::PublicResolver(resolver)))?,
            settings: settings.clone(),
            hosts: HostLimiter::new(settings.per_host, settings.host_delay),
        })
    }

    /// Fetches `request`, retrying transient failures. Never panics, never
    /// returns an error: failures are captured.
    pub async fn fetch(&self, request: &FetchRequest) -> Capture {
        let started_at = clock::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let mut capture = self.try_once(request).await;
            capture.started_at = started_at;
            capture.attempts = tries;
            let FetchOutcome::Failed { class, .. } = &capture.outcome else {
                return capture;
            };
            let retry_after = capture
                .response_headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, value)| retry::parse_retry_after(value, clock::now()));
            match retry::decide(class, tries, retry_after, &self.settings) {
                RetryDecision::GiveUp => return capture,
                RetryDecision::RetryAfter(delay) => {
                    tracing::debug!(url = %request.url, %class, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One try: the request and every redirect hop.
    async fn try_once(&self, request: &FetchRequest) -> Capture {
        let mut capture = Capture::begun(request.url.to_string());
        capture.outcome = match self.follow_redirects(request, &mut capture).await {
            Ok(outcome) => outcome,
            Err((class, message)) => FetchOutcome::Failed { class, message },
        };
        capture.finished_at = clock::now();
        capture
    }

    /// Follows redirects within one `[http] timeout` for every hop and the
    /// body together; waits for a per-host slot do not count against it.
    async fn follow_redirects(
        &self,
        request: &FetchRequest,
        capture: &mut Capture,
    ) -> Result<FetchOutcome, (ErrorClass, String)> {
        let mut url = request.url.clone();
        let mut seen = HashSet::new();
        let mut time_left = self.settings.timeout;
        for _ in 0..=self.settings.max_redirects {
            let trusted = request.configured
                && policy::names_its_address(&request.url)
                && policy::same_origin(&url, &request.url);
            let public_only = !trusted && !request.allow_private;
            policy::check_url(&url, public_only).map_err(refused)?;
            if !seen.insert(url.clone()) {
                return Err((
                    ErrorClass::RedirectLoop,
                    format!("redirect loop: {url} was already visited"),
                ));
            }
            let client = if public_only {
                &self.public
            } else {
                &self.trusted
            };
            let headers = self.request_headers(request, &url);
            let conditional = headers.contains_key(header::IF_NONE_MATCH)
                || headers.contains_key(header::IF_MODIFIED_SINCE);
            capture.request_headers = header_pairs(&headers);
            let host = url.host_str().unwrap_or_default().to_string();
            let _slot = self.hosts.acquire(&host).await;
            let hop_started = tokio::time::Instant::now();
            // The client's timeout runs on until the body is read.
            let response = client
                .get(url.clone())
                .headers(headers)
                .timeout(time_left)
                .send()
                .await
                .map_err(classify)?;
            capture.final_url = Some(url.to_string());
            capture.status = Some(response.status().as_u16());
            capture.response_headers = header_pairs(response.headers());
            capture.remote_ip = response.remote_addr().map(|a| a.ip().to_string());
            let tls_info = response.extensions().get::<reqwest::tls::TlsInfo>();
            capture.tls_cert_sha256 = tls_info
                .and_then(|info| info.peer_certificate())
                .map(|der| Digest::of(der).to_hex());
            capture.tls_version = tls_info
                .and_then(|info| info.version())
                .and_then(tls::version_name);
            capture.content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);

            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or((
                        ErrorClass::BadRedirect,
                        format!("{status} redirect without a readable Location header"),
                    ))?
                    .to_string();
                let next = url.join(&location).map_err(|e| {
                    (
                        ErrorClass::BadRedirect,
                        format!("redirect to an invalid URL {location:?}: {e}"),
                    )
                })?;
                capture.hops.push(Hop {
                    url: url.to_string(),
                    status: status.as_u16(),
                    location,
                });
                time_left = time_left.saturating_sub(hop_started.elapsed());
                if time_left.is_zero() {
                    return Err((
                        ErrorClass::Timeout,
                        format!(
                            "[http] timeout ({:?}) ran out after {} redirects",
                            self.settings.timeout,
                            capture.hops.len()
                        ),
                    ));
                }
                url = next;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                // A 304 to a request without validators confirms nothing.
                if !conditional {
                    return Err((
                        ErrorClass::HttpStatus(304),
                        "HTTP 304 Not Modified to a request without validators".to_string(),
                    ));
                }
                return Ok(FetchOutcome::NotModified);
            }
            if !status.is_success() {
                return Err((
                    ErrorClass::HttpStatus(status.as_u16()),
                    format!("HTTP {status}"),
                ));
            }
            return self.read_body(response).await.map(FetchOutcome::Body);
        }
        Err((
            ErrorClass::TooManyRedirects,
            format!("more than {} redirects", self.settings.max_redirects),
        ))
    }

    /// The headers of the request for `url`: conditional ones only when
    /// `url` is the one the validators came from.
    fn request_headers(&self, request: &FetchRequest, url: &Url) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let user_agent = HeaderValue::from_str(&self.settings.user_agent)
            .expect("the user agent was validated with the configuration");
        headers.insert(header::USER_AGENT, user_agent);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(request.accept.unwrap_or(
                "text/html,application/xhtml+xml,application/pdf,application/json,text/markdown;q=0.9,text/plain;q=0.8,*/*;q=0.5",
            )),
        );
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br, deflate"),
        );
        let own_origin = request
            .headers
            .origin
            .as_ref()
            .is_some_and(|origin| policy::same_origin(origin, url));
        if own_origin {
            for (name, value) in &request.headers.headers {
                headers.insert(name.clone(), value.clone());
            }
        }
        let Some(conditional) = request.conditional.as_ref().filter(|c| c.url == *url) else {
            return headers;
        };
        for (name, value) in [
            (header::IF_NONE_MATCH, &conditional.etag),
            (header::IF_MODIFIED_SINCE, &conditional.last_modified),
        ] {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
        headers
    }

    /// Reads the body, failing as soon as it passes the cap, then undoes
    /// its `Content-Encoding`, every layer within the cap too.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, (ErrorClass, String)> {
        let cap = self.settings.max_body;
        let too_large = || {
            (
                ErrorClass::BodyTooLarge,
                format!("the body is larger than max_body ({cap} bytes)"),
            )
        };
        let codings = decode::codings(response.headers())
            .map_err(|message| (ErrorClass::BodyEncoding, message))?;
        // Content-Length is of the encoded body: one over the cap is too
        // large either way (decoding never shrinks what is past the cap).
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(initial_capacity(response.content_length(), cap));
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if codings.is_empty() {
            return Ok(body);
        }
        // Decompressing up to the cap takes tens of milliseconds a layer:
        // not on an async worker.
        let decoded = tokio::task::spawn_blocking(move || decode::decode(body, &codings, cap))
            .await
            .map_err(|e| (ErrorClass::BodyEncoding, e.to_string()))?;
        decoded.map_err(|error| match error {
            decode::DecodeError::TooLarge => too_large(),
            decode::DecodeError::Malformed(why) => (ErrorClass::BodyEncoding, why),
        })
    }
}

/// The most memory reserved for a body before any of it arrives.
const RESERVE_MAX: u64 = 1 << 20;

/// What to reserve for a body the server says is `content_length` long:
/// a claim is not a body, so never more than [`RESERVE_MAX`].
fn initial_capacity(content_length: Option<u64>, cap: u64) -> usize {
    content_length.unwrap_or(0).min(cap).min(RESERVE_MAX) as usize
}

fn refused(refusal: Refusal) -> (ErrorClass, String) {
    (ErrorClass::AddressRefused, refusal.to_string())
}

/// Headers as recorded: a sensitive value (a secret, a credential) as
/// [`REDACTED`], so the record says it was sent and never what it was.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if value.is_sensitive() {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect()
}

/// Maps a client error to its class, looking through its causes for a
/// refusal by the address policy.
fn classify(error: reqwest::Error) -> (ErrorClass, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return refused(refusal.clone());
        }
        source = cause.source();
    }
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else if error.is_connect() {
        ErrorClass::Connect
    } else if error.is_body() || error.is_decode() {
        ErrorClass::BodyRead
    } else {
        ErrorClass::Request
    };
    (class, describe(&error.without_url()))
}

/// The error and its causes on one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_length_reserves_at_most_a_mebibyte() {
        assert_eq!(initial_capacity(Some(20 << 20), 20 << 20), 1 << 20);
        assert_eq!(initial_capacity(Some(1 << 40), u64::MAX), 1 << 20);
        assert_eq!(initial_capacity(Some(5000), 20 << 20), 5000);
        assert_eq!(initial_capacity(None, 20 << 20), 0);
    }
}
