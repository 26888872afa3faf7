//! The browser fetcher: renders a page in Debian's `chromium`, driven over
//! the DevTools protocol, and captures the rendered DOM (serialised HTML)
//! for the same `content`/`ignore`/extraction path as a fetched page.
//!
//! Every fetch gets its own Chromium with a fresh profile in a private
//! temporary directory, removed afterwards; at most
//! [`BrowserSettings::pages`] run at once. Every step has a deadline
//! within [`BrowserSettings::timeout`]: launch, navigation, and "content
//! ready" (the page's network idle, or a `wait_for` selector present).
//! Whatever happens, the browser's process group is killed and reaped
//! before the fetch returns. Every request the page makes goes through
//! [`proxy`], which applies the address policy. Like [`super::Fetcher`],
//! a fetch never fails with an `Err`: every outcome is a [`Capture`].

mod process;
pub mod proxy;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::Browser;
use chromiumoxide::cdp::browser_protocol::page::{EventLifecycleEvent, NavigateParams};
use futures_util::StreamExt;
use reqwest::dns::Resolve;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

use super::{Capture, ErrorClass, FetchOutcome, HttpSettings, policy};
use crate::clock;
use process::Chromium;
use proxy::{Proxy, ProxyPolicy};

/// Pages rendered at once by default. Each is a Chromium of its own
/// (about 150-250 MB and a core while it renders, see
/// docs/performance.md): two keep a 2-core, 1 GB machine responsive.
pub const DEFAULT_PAGES: usize = 2;

/// Bytes a page may download (scripts, styles, data, images) by default.
/// Script-rendered trust centers load 2-15 MB; 64 MiB leaves room and
/// still stops a page that streams without end.
pub const DEFAULT_MAX_TRANSFER: u64 = 64 << 20;

/// How long Chromium has to exit after `Browser.close` before its group is
/// killed.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How often a `wait_for` selector is looked for.
const WAIT_FOR_POLL: Duration = Duration::from_millis(100);

/// How the browser fetcher runs.
#[derive(Debug, Clone)]
pub struct BrowserSettings {
    /// At most this many pages (browsers) at once.
    pub pages: usize,
    /// The whole fetch: launch, navigation and content ready together.
    pub timeout: Duration,
    /// The largest rendered DOM kept, in bytes.
    pub max_body: u64,
    /// Bytes the page may download through the proxy.
    pub max_transfer: u64,
    /// The browser to run; `None`: `chromium` on `PATH`.
    pub executable: Option<PathBuf>,
    /// Where fresh profiles are made; `None`: the system's temporary
    /// directory (`$TMPDIR`).
    pub profile_root: Option<PathBuf>,
}

impl BrowserSettings {
    /// The defaults, with the timeout and body cap of `[http]`.
    pub fn from_http(http: &HttpSettings) -> BrowserSettings {
        BrowserSettings {
            pages: DEFAULT_PAGES,
            timeout: http.timeout,
            max_body: http.max_body,
            max_transfer: DEFAULT_MAX_TRANSFER,
            executable: None,
            profile_root: None,
        }
    }
}

/// What to render.
#[derive(Debug, Clone)]
pub struct BrowserRequest {
    pub url: Url,
    /// As [`super::FetchRequest::configured`]: a configured URL that names
    /// its own address is reached as written (and its origin with it).
    pub configured: bool,
    pub allow_private: bool,
    /// A CSS selector whose presence means the content is ready; `None`:
    /// the page's network going idle.
    pub wait_for: Option<String>,
}

/// A browser fetch: the capture to record, and how it was rendered.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The rendered DOM as a `text/html` body, or the failure.
    pub capture: Capture,
    /// The browser that rendered it (`Chromium 156.0.8078.129`), when it
    /// came up.
    pub chromium: Option<String>,
    /// Requests of the page the address policy refused, with reasons.
    pub refused: Vec<String>,
}

/// Renders pages in Chromium, at most [`BrowserSettings::pages`] at once.
pub struct BrowserFetcher {
    settings: BrowserSettings,
    pages: Semaphore,
    resolver: Arc<dyn Resolve>,
}

/// A failed step: the class and message recorded.
type Failure = (ErrorClass, String);

impl BrowserFetcher {
    pub fn new(settings: BrowserSettings) -> BrowserFetcher {
        Self::with_resolver(settings, Arc::new(policy::SystemResolver))
    }

    /// A browser fetcher whose proxy looks names up with `resolver`.
    pub fn with_resolver(settings: BrowserSettings, resolver: Arc<dyn Resolve>) -> BrowserFetcher {
        BrowserFetcher {
            pages: Semaphore::new(settings.pages.max(1)),
            settings,
            resolver,
        }
    }

    /// Renders `request`. Never panics, never returns an error.
    pub async fn fetch(&self, request: &BrowserRequest) -> Rendered {
        let mut rendered = Rendered {
            capture: Capture::begun(request.url.to_string()),
            chromium: None,
            refused: Vec::new(),
        };
        let trusted = request.configured && policy::names_its_address(&request.url);
        if let Err(refusal) = policy::check_url(&request.url, !trusted && !request.allow_private) {
            return finish(
                rendered,
                Err((ErrorClass::AddressRefused, refusal.to_string())),
            );
        }
        let executable = match self.executable() {
            Ok(executable) => executable,
            Err(failure) => return finish(rendered, Err(failure)),
        };
        // Waiting for a page slot does not count against the timeout.
        let _page = self
            .pages
            .acquire()
            .await
            .expect("the page semaphore is never closed");
        rendered.capture.started_at = clock::now();
        let deadline = Instant::now() + self.settings.timeout;
        let outcome = self
            .render(request, &executable, deadline, &mut rendered)
            .await;
        finish(rendered, outcome)
    }

    fn executable(&self) -> Result<PathBuf, Failure> {
        match &self.settings.executable {
            Some(path) if path.is_file() => Ok(path.clone()),
            Some(path) => Err((
                ErrorClass::BrowserMissing,
                format!(
                    "{} does not exist: install Debian's chromium package (apt-get install chromium)",
                    path.display()
                ),
            )),
            None => which::which("chromium").map_err(|_| {
                (
                    ErrorClass::BrowserMissing,
                    "no `chromium` on PATH: install Debian's chromium package (apt-get install chromium)"
                        .to_string(),
                )
            }),
        }
    }

    /// One fetch in a fresh profile, a fresh proxy and a fresh Chromium,
    /// all removed before it returns.
    async fn render(
        &self,
        request: &BrowserRequest,
        executable: &std::path::Path,
        deadline: Instant,
        rendered: &mut Rendered,
    ) -> Result<String, Failure> {
        let mut builder = tempfile::Builder::new();
        let builder = builder.prefix("scopewatch-browser-");
        let profile = match &self.settings.profile_root {
            Some(root) => builder.tempdir_in(root),
            None => builder.tempdir(),
        }
        .map_err(|e| browser_error(format!("cannot make a profile directory: {e}")))?;
        let proxy = Proxy::start(ProxyPolicy::for_page(
            &request.url,
            request.configured,
            request.allow_private,
            Arc::clone(&self.resolver),
            self.settings.max_transfer,
        ))
        .await
        .map_err(|e| browser_error(format!("cannot start the filtering proxy: {e}")))?;
        let (mut chromium, devtools) =
            Chromium::launch(executable, profile.path(), proxy.addr(), deadline)
                .await
                .map_err(|e| match e {
                    process::LaunchError::Timeout(..) => (ErrorClass::Timeout, e.to_string()),
                    _ => browser_error(e.to_string()),
                })?;
        let session = Session {
            request,
            deadline,
            timeout: self.settings.timeout,
            max_body: self.settings.max_body,
        };
        let (browser, outcome) = tokio::select! {
            (browser, outcome) = session.run(&devtools, &mut rendered.capture, &mut rendered.chromium) => (browser, outcome),
            status = chromium.exited() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                (None, Err((
                    ErrorClass::BrowserCrashed,
                    format!("chromium exited ({status}) while rendering the page{}", chromium.stderr_tail()),
                )))
            }
        };
        if let Some(mut browser) = browser {
            let _ = tokio::time::timeout(CLOSE_GRACE, browser.close()).await;
        }
        chromium.shut_down(CLOSE_GRACE).await;
        rendered.refused = proxy.refused();
        if proxy.over_budget() {
            return Err((
                ErrorClass::BodyTooLarge,
                format!(
                    "the page downloaded more than {} bytes",
                    self.settings.max_transfer
                ),
            ));
        }
        outcome
    }
}

/// The DevTools side of one fetch.
struct Session<'a> {
    request: &'a BrowserRequest,
    deadline: Instant,
    timeout: Duration,
    max_body: u64,
}

impl Session<'_> {
    /// Connects, renders and serialises; returns the browser (to close) and
    /// the rendered HTML.
    async fn run(
        &self,
        devtools: &str,
        capture: &mut Capture,
        chromium: &mut Option<String>,
    ) -> (Option<Browser>, Result<String, Failure>) {
        let connected = self
            .step("connect to chromium", Browser::connect(devtools))
            .await
            .and_then(|r| r.map_err(|e| browser_error(format!("cannot connect to chromium: {e}"))));
        let (browser, mut handler) = match connected {
            Ok(pair) => pair,
            Err(failure) => return (None, Err(failure)),
        };
        // The handler drives the DevTools connection; it ends when the
        // connection does.
        let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let outcome = self.render(&browser, capture, chromium).await;
        driver.abort();
        (Some(browser), outcome)
    }

    async fn render(
        &self,
        browser: &Browser,
        capture: &mut Capture,
        chromium: &mut Option<String>,
    ) -> Result<String, Failure> {
        let version = self
            .step("ask chromium's version", browser.version())
            .await?;
        let version = version.map_err(cdp_error)?;
        *chromium = Some(chromium_name(&version.product));
        let page = self
            .step("open a page", browser.new_page("about:blank"))
            .await?
            .map_err(cdp_error)?;
        let mut lifecycle = self
            .step(
                "listen to the page",
                page.event_listener::<EventLifecycleEvent>(),
            )
            .await?
            .map_err(cdp_error)?;
        let navigated = self
            .step(
                "load the page",
                page.execute(NavigateParams::new(self.request.url.to_string())),
            )
            .await?
            .map_err(cdp_error)?;
        if let Some(error) = &navigated.result.error_text {
            return Err(navigation_error(error));
        }
        let main_frame = navigated.result.frame_id.clone();
        match &self.request.wait_for {
            Some(selector) => {
                let found = format!(
                    "document.querySelector({}) !== null",
                    serde_json::to_string(selector).expect("a string serialises")
                );
                self.step(&format!("wait for {selector:?}"), async {
                    loop {
                        let present = page
                            .evaluate(found.as_str())
                            .await
                            .map_err(cdp_error)?
                            .into_value::<bool>()
                            .map_err(|e| browser_error(format!("wait_for {selector:?}: {e}")))?;
                        if present {
                            return Ok(());
                        }
                        tokio::time::sleep(WAIT_FOR_POLL).await;
                    }
                })
                .await??;
            }
            None => {
                // The page's loader changes when a script navigates it: idle
                // is the idle of the last document the main frame loaded.
                let mut loader = navigated.result.loader_id.clone();
                self.step("wait for the network to go idle", async {
                    while let Some(event) = lifecycle.next().await {
                        if event.frame_id != main_frame {
                            continue;
                        }
                        if event.name == "init" {
                            loader = Some(event.loader_id.clone());
                        }
                        if event.name == "networkIdle"
                            && loader.as_ref().is_none_or(|l| *l == event.loader_id)
                        {
                            return Ok(());
                        }
                    }
                    Err(browser_error("the DevTools connection closed".to_string()))
                })
                .await??;
            }
        }
        let document = self
            .step("read the navigation", page.evaluate(NAVIGATION))
            .await?
            .map_err(cdp_error)?
            .into_value::<serde_json::Value>()
            .map_err(|e| browser_error(format!("reading the navigation: {e}")))?;
        capture.final_url = document["url"].as_str().map(str::to_string);
        capture.status = document["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| *s != 0);
        if let Some(status) = capture.status.filter(|s| !(200..300).contains(s)) {
            return Err((ErrorClass::HttpStatus(status), format!("HTTP {status}")));
        }
        let html = self
            .step("serialise the page", page.content())
            .await?
            .map_err(cdp_error)?;
        if html.len() as u64 > self.max_body {
            return Err((
                ErrorClass::BodyTooLarge,
                format!(
                    "the rendered page is larger than max_body ({} bytes)",
                    self.max_body
                ),
            ));
        }
        capture.content_type = Some("text/html; charset=utf-8".to_string());
        Ok(html)
    }

    /// Runs one step against the fetch's deadline.
    async fn step<T>(&self, what: &str, step: impl Future<Output = T>) -> Result<T, Failure> {
        tokio::time::timeout_at(self.deadline, step)
            .await
            .map_err(|_| {
                (
                    ErrorClass::Timeout,
                    format!(
                        "timeout ({:?}) ran out: could not {what} in time",
                        self.timeout
                    ),
                )
            })
    }
}

/// The main document's URL and HTTP status, as the page's own Navigation
/// Timing entry records them.
const NAVIGATION: &str = "(() => { const n = performance.getEntriesByType('navigation')[0]; \
     return { url: location.href, status: n ? n.responseStatus : 0 }; })()";

/// `HeadlessChrome/156.0.8078.129` → `Chromium 156.0.8078.129`.
fn chromium_name(product: &str) -> String {
    match product.split_once('/') {
        Some((_, version)) => format!("Chromium {version}"),
        None => product.to_string(),
    }
}

fn finish(mut rendered: Rendered, outcome: Result<String, Failure>) -> Rendered {
    rendered.capture.outcome = match outcome {
        Ok(html) => FetchOutcome::Body(html.into_bytes()),
        Err((class, message)) => FetchOutcome::Failed { class, message },
    };
    rendered.capture.finished_at = clock::now();
    rendered
}

fn browser_error(message: String) -> Failure {
    (ErrorClass::Browser, message)
}

/// A DevTools call that failed: the connection is gone when Chromium is.
fn cdp_error(error: chromiumoxide::error::CdpError) -> Failure {
    use chromiumoxide::error::CdpError;
    match error {
        CdpError::Ws(_) | CdpError::ChannelSendError(_) | CdpError::NoResponse => (
            ErrorClass::BrowserCrashed,
            format!("the connection to chromium broke: {error}"),
        ),
        CdpError::Timeout => (ErrorClass::Timeout, "a DevTools call timed out".to_string()),
        other => browser_error(format!("DevTools: {other}")),
    }
}

/// A navigation Chromium reports as failed (`net::ERR_…`).
fn navigation_error(error: &str) -> Failure {
    let class = if error.contains("ERR_TUNNEL_CONNECTION_FAILED")
        || error.contains("ERR_PROXY")
        || error.contains("ERR_BLOCKED")
    {
        ErrorClass::AddressRefused
    } else if error.contains("ERR_TIMED_OUT") {
        ErrorClass::Timeout
    } else {
        ErrorClass::Connect
    };
    (class, format!("chromium could not load the page: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_browser_from_its_product() {
        assert_eq!(
            chromium_name("HeadlessChrome/156.0.8078.129"),
            "Chromium 156.0.8078.129"
        );
        assert_eq!(chromium_name("odd"), "odd");
    }

    #[tokio::test]
    async fn without_chromium_the_fetch_says_what_to_install() {
        let settings = BrowserSettings {
            executable: Some(PathBuf::from("/nonexistent/chromium")),
            ..BrowserSettings::from_http(&HttpSettings::default())
        };
        let rendered = BrowserFetcher::new(settings)
            .fetch(&BrowserRequest {
                url: Url::parse("http://127.0.0.1:9/").unwrap(),
                configured: true,
                allow_private: false,
                wait_for: None,
            })
            .await;
        let FetchOutcome::Failed { class, message } = rendered.capture.outcome else {
            panic!("{:?}", rendered.capture.outcome)
        };
        assert_eq!(class, ErrorClass::BrowserMissing);
        assert!(
            message.contains("install Debian's chromium package"),
            "{message}"
        );
    }
}
