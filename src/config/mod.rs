//! Configuration: where the file is looked up, the validated [`Config`]
//! built from the raw TOML, and errors that name the file, line, column and
//! key, and say what to write instead. Defaults are defined once, here.

mod advice;
pub mod alerts;
mod evidence;
pub mod freshness;
mod headers;
mod keys;
mod raw;
mod secrets;
pub mod values;
pub mod web;

use std::collections::HashMap;
use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scraper::Selector;
use serde::Deserialize as _;
use toml::Spanned;
use url::Url;

use crate::alert::Channel;
use crate::extract::ExtractRules;
use crate::fetch::HttpSettings;
use crate::routing::Attestation;
use crate::scope::{ScopeSettings, ScopeSpec};
use raw::{RawConfig, RawSource};
pub use values::Schedule;

/// Built-in defaults, used by the code, the docs and the tests.
pub mod defaults {
    pub const SCHEDULE: &str = "0 */6 * * *";
    pub const JITTER: &str = "5m";
    pub const CONCURRENCY: usize = 8;
    pub const FAIL_AFTER: u32 = 3;
    pub const TIMEOUT: &str = "30s";
    pub const CONNECT_TIMEOUT: &str = "10s";
    pub const MAX_BODY: &str = "20MiB";
    pub const RETRIES: u32 = 3;
    pub const BACKOFF: &str = "1s";
    pub const BACKOFF_MAX: &str = "60s";
    pub const RETRY_AFTER_MAX: &str = "5m";
    pub const PER_HOST: usize = 2;
    pub const HOST_DELAY: &str = "100ms";
    pub const FOLLOW_SELECT: &str = "a[href]";
    pub const FOLLOW_MAX: usize = 20;
    /// `[browser] pages`: each page is a Chromium of its own (150-250 MB
    /// and a core while it renders); two keep a 2-core machine responsive.
    pub const BROWSER_PAGES: usize = 2;
    /// Redirect hops followed before a fetch fails.
    pub const MAX_REDIRECTS: usize = 10;
    pub const SYSTEM_CONFIG: &str = "/etc/scopewatch/scopewatch.toml";
    pub const DATABASE_FILE: &str = "scopewatch.db";
    /// The service's state directory (`StateDirectory=scopewatch`), where
    /// the daemon keeps its database.
    pub const SERVICE_STATE_DIR: &str = "/var/lib/scopewatch";

    /// `[http] user_agent`: scopewatch's own (the HTTP client's identity).
    pub fn user_agent() -> String {
        crate::fetch::USER_AGENT.to_string()
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// SHA-256 (hex) of the file's bytes as parsed: what the ledger's
    /// `config` leaves record, so a capture names the configuration in force.
    pub sha256: String,
    pub daemon: DaemonSettings,
    pub http: HttpSettings,
    /// `[storage] database`, resolved against the config file's directory.
    pub database: Option<PathBuf>,
    /// `[scope]`: watched services and name aliases.
    pub scope: Arc<ScopeSettings>,
    /// `[evidence] key_file`: the Ed25519 signing key (PKCS#8 PEM),
    /// resolved against the config file's directory.
    pub key_file: Option<PathBuf>,
    /// `[retention] raw_bodies`: raw bodies older than this are pruned
    /// (hashes and the ledger stay); `None` keeps everything.
    pub keep_raw_bodies: Option<Duration>,
    /// `[evidence] tsa_url` and `tsa_timeout`: RFC 3161 timestamps.
    pub tsa: Option<crate::evidence::timestamp::TsaSettings>,
    /// `[evidence] tsa_ca_file`: the CA certificates RFC 3161 tokens must
    /// chain to, resolved against the config file's directory.
    pub tsa_trust: Option<crate::evidence::rfc3161::TsaTrust>,
    /// `[limits]`: what one page's extraction may use.
    pub limits: crate::isolation::ExtractionBudget,
    /// `[limits] source_time`: the most one source may take in a sweep,
    /// fetch and extraction together; `None` is the bound every other
    /// limit adds up to (see `crate::sweep::source_deadline`).
    pub source_time: Option<Duration>,
    /// `[browser]`: the browser fetcher of `fetch = "browser"` sources.
    pub browser: BrowserSettings,
    pub sources: Vec<Source>,
    /// `[[alert]]` channels; the default `log` channel when none is
    /// written; none when loaded with [`AlertChannels::Skip`].
    pub alerts: Vec<Channel>,
    /// `[web]`: the web view `run` serves too; `None` without the table.
    pub web: Option<web::WebSettings>,
}

#[derive(Debug, Clone)]
pub struct DaemonSettings {
    pub schedule: Schedule,
    pub jitter: Duration,
    pub concurrency: usize,
    pub fail_after: u32,
    /// Default `remind_every` of the sources.
    pub remind_every: Option<Duration>,
    /// `max_age` of the sources that set none (see [`freshness`]).
    pub max_age: Option<Duration>,
}

/// `[browser]`: how `fetch = "browser"` sources are rendered. Read in
/// every build, so that a build without the browser can say why it refuses
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSettings {
    /// At most this many pages rendered at once, each in its own Chromium.
    pub pages: usize,
    /// The Chromium to run; `None`: `chromium` on `PATH`.
    pub chromium: Option<PathBuf>,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        BrowserSettings {
            pages: defaults::BROWSER_PAGES,
            chromium: None,
        }
    }
}

/// How a source's page is obtained.
#[derive(Debug, Clone)]
pub enum FetchMethod {
    /// One GET through the HTTP client (`fetch = "http"`, the default).
    Http,
    /// Rendered in Chromium (`fetch = "browser"`): content ready when the
    /// network goes idle, or when `wait_for` (a CSS selector) is present.
    Browser { wait_for: Option<String> },
    /// A Service Trust Portal document through the portal's API
    /// (`portal = "service-trust"`).
    ServiceTrust {
        document: crate::fetch::portal::DocumentGuid,
        api: crate::fetch::portal::PortalApi,
    },
}

/// One watched page.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub url: Url,
    /// `fetch` and `portal`: a plain GET, the browser, or the portal's API.
    pub method: FetchMethod,
    /// `headers`: sent with every request to the origin of `url`. Values
    /// read from a secret, and credentials, are marked sensitive: recorded
    /// as `[redacted]`, shown as `Sensitive`.
    pub headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    pub rules: ExtractRules,
    /// Overrides `[daemon] schedule`. Boxed, as `attestation` is: both are
    /// rare and large, and every source would carry their size.
    pub schedule: Option<Box<Schedule>>,
    pub follow: Option<Follow>,
    /// Lets redirects and followed links reach private addresses.
    pub allow_private: bool,
    pub fail_after: u32,
    /// `[source.scope]`: how to read its scope statement (`auto` when absent).
    pub scope: ScopeSpec,
    /// While failing, a `failing-reminder` this often.
    pub remind_every: Option<Duration>,
    /// How old its last good fetch may be before it is stale (see
    /// [`Config::max_age`]): its own `max_age`, else none here.
    pub max_age: Option<Duration>,
    pub attestation: Option<Box<Attestation>>,
}

/// `follow = { ... }`: also snapshot the pages a source links to. Its
/// `select` is the source's [`ExtractRules::links`].
#[derive(Debug, Clone)]
pub struct Follow {
    /// Hosts links may point to; empty: the source's own host.
    pub hosts: Vec<String>,
    pub max: usize,
}

/// The dispatcher delivers through `[[alert]]`, trusting `[http] ca_file`.
impl crate::alert::dispatch::DeliverySettings for Config {
    fn channels(&self) -> &[Channel] {
        &self.alerts
    }

    fn extra_roots(&self) -> &crate::fetch::tls::ExtraRoots {
        &self.http.extra_roots
    }
}

impl Config {
    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// `[http]` as it is when the table is not written.
impl Default for HttpSettings {
    fn default() -> Self {
        let duration = |s: &str| values::parse_duration(s).expect("default durations are valid");
        HttpSettings {
            timeout: duration(defaults::TIMEOUT),
            connect_timeout: duration(defaults::CONNECT_TIMEOUT),
            max_body: values::parse_size(defaults::MAX_BODY).expect("default size is valid"),
            retries: defaults::RETRIES,
            backoff: duration(defaults::BACKOFF),
            backoff_max: duration(defaults::BACKOFF_MAX),
            retry_after_max: duration(defaults::RETRY_AFTER_MAX),
            user_agent: defaults::user_agent(),
            per_host: defaults::PER_HOST,
            host_delay: duration(defaults::HOST_DELAY),
            max_redirects: defaults::MAX_REDIRECTS,
            extra_roots: Default::default(),
        }
    }
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub line: usize,
    pub column: usize,
    /// The key concerned, as a dotted path (`source[2].url`).
    pub key: String,
    pub message: String,
}

/// Why a configuration was refused: every problem found, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if issue.line == 0 {
                write!(f, "{}: {}", self.file.display(), issue.message)?;
            } else {
                write!(
                    f,
                    "{}:{}:{}: {}: {}",
                    self.file.display(),
                    issue.line,
                    issue.column,
                    issue.key,
                    issue.message
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Where the configuration file is: `--config`, then `$SCOPEWATCH_CONFIG`,
/// then [`defaults::SYSTEM_CONFIG`].
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SCOPEWATCH_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(defaults::SYSTEM_CONFIG))
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, AlertChannels::Build)
}

/// Whether loading a configuration builds its alert channels, reading
/// their secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChannels {
    /// Validate and build them, reading every secret (environment
    /// variables, `secret_file`): for the commands that deliver alerts or
    /// check the configuration.
    Build,
    /// Leave the `[[alert]]` channels out, unread, and the sources'
    /// `headers` whose values are secrets (from the environment or a
    /// `secret_file`): for the commands that only read the database and
    /// never send or fetch. Their secrets may be readable only inside the
    /// service (`${CREDENTIALS_DIRECTORY}`). [`Config::alerts`] is then
    /// empty.
    Skip,
}

/// Reads and validates the configuration file at `path`, with its alert
/// channels or without.
pub fn load_with(path: &Path, alert_channels: AlertChannels) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        issues: vec![ConfigIssue {
            line: 0,
            column: 0,
            key: String::new(),
            message: format!(
                "cannot read the configuration file: {e}. Pass --config FILE, set $SCOPEWATCH_CONFIG, or create {}",
                defaults::SYSTEM_CONFIG
            ),
        }],
    })?;
    parse_with(&text, path, alert_channels)
}

/// Parses and validates configuration text; `path` names it in errors and
/// anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    parse_with(text, path, AlertChannels::Build)
}

fn parse_with(
    text: &str,
    path: &Path,
    alert_channels: AlertChannels,
) -> Result<Config, ConfigError> {
    let mut v = Validator {
        text,
        issues: Vec::new(),
        alert_channels,
    };
    let syntax_error = |v: &mut Validator<'_>, e: toml::de::Error| {
        let span = e.span().unwrap_or(0..0);
        let key = key_at(text, &span);
        v.issue(&span, &key, advice::toml_message(e.message().trim()));
    };
    let document = match toml::de::DeTable::parse(text) {
        Ok(document) => document,
        Err(e) => {
            syntax_error(&mut v, e);
            return Err(v.into_error(path));
        }
    };
    // Unknown keys first, in file order; then what else is wrong.
    for unknown in keys::unknown_keys(document.get_ref()) {
        v.issue(&unknown.span, &unknown.key, unknown.message);
    }
    let raw = match RawConfig::deserialize(toml::de::Deserializer::from(document)) {
        Ok(raw) => raw,
        Err(e) => {
            syntax_error(&mut v, e);
            return Err(v.into_error(path));
        }
    };
    let config = v.config(raw, path);
    if v.issues.is_empty() {
        Ok(config)
    } else {
        Err(v.into_error(path))
    }
}

/// The word under a span, to name the key of a TOML syntax or type error.
fn key_at(text: &str, span: &Range<usize>) -> String {
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) => key.trim().to_string(),
        None => line.trim().to_string(),
    }
}

struct Validator<'t> {
    text: &'t str,
    issues: Vec<ConfigIssue>,
    alert_channels: AlertChannels,
}

impl Validator<'_> {
    fn issue(&mut self, span: &Range<usize>, key: &str, message: String) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        self.issues.push(ConfigIssue {
            line,
            column,
            key: key.to_string(),
            message,
        });
    }

    fn into_error(self, path: &Path) -> ConfigError {
        ConfigError {
            file: path.to_path_buf(),
            issues: self.issues,
        }
    }

    /// Applies `parse` to a spanned value, recording its error.
    fn value<T, R>(
        &mut self,
        spanned: Option<&Spanned<T>>,
        key: &str,
        parse: impl FnOnce(&T) -> Result<R, String>,
    ) -> Option<R> {
        let spanned = spanned?;
        match parse(spanned.get_ref()) {
            Ok(value) => Some(value),
            Err(message) => {
                self.issue(&spanned.span(), key, message);
                None
            }
        }
    }

    /// A duration in `range`; the default is the example an error gives.
    fn duration(
        &mut self,
        spanned: Option<&Spanned<String>>,
        key: &str,
        default: &str,
        range: RangeInclusive<Duration>,
    ) -> Duration {
        self.value(spanned, key, |s| {
            values::parse_duration_in(s, &range, default)
        })
        .unwrap_or_else(|| values::parse_duration(default).expect("defaults are valid"))
    }

    fn count(
        &mut self,
        spanned: Option<&Spanned<i64>>,
        key: &str,
        min: i64,
        max: i64,
        default: u32,
    ) -> u32 {
        self.value(spanned, key, |n| {
            if (min..=max).contains(n) {
                Ok(*n as u32)
            } else {
                Err(format!(
                    "{n} is out of range: write a whole number from {min} to {max}"
                ))
            }
        })
        .unwrap_or(default)
    }

    /// A cron schedule; an error points at the field at fault when the
    /// string is written without escapes (so its offsets are the file's).
    fn schedule(&mut self, spanned: Option<&Spanned<String>>, key: &str) -> Option<Schedule> {
        let spanned = spanned?;
        let written = spanned.get_ref();
        match Schedule::parse_located(written) {
            Ok(schedule) => Some(schedule),
            Err(e) => {
                let span = spanned.span();
                // The span covers the quotes: the text starts one byte in.
                let start = span.start + 1;
                let verbatim =
                    self.text.get(start..start + written.len()) == Some(written.as_str());
                let at = match e.at {
                    Some(offset) if verbatim => start + offset..span.end,
                    _ => span,
                };
                self.issue(&at, key, e.message);
                None
            }
        }
    }

    fn selectors(&mut self, list: Option<&Vec<Spanned<String>>>, key: &str) -> Vec<Selector> {
        list.into_iter()
            .flatten()
            .filter_map(|css| self.value(Some(css), key, |s| parse_selector(s)))
            .collect()
    }

    fn config(&mut self, raw: RawConfig, path: &Path) -> Config {
        let daemon_raw = raw.daemon.unwrap_or_default();
        let default_schedule =
            Schedule::parse(defaults::SCHEDULE).expect("default schedule is valid");
        let daemon = DaemonSettings {
            schedule: self
                .schedule(daemon_raw.schedule.as_ref(), "daemon.schedule")
                .unwrap_or(default_schedule),
            jitter: self.duration(
                daemon_raw.jitter.as_ref(),
                "daemon.jitter",
                defaults::JITTER,
                values::DELAYS,
            ),
            concurrency: self.count(
                daemon_raw.concurrency.as_ref(),
                "daemon.concurrency",
                1,
                1024,
                defaults::CONCURRENCY as u32,
            ) as usize,
            fail_after: self.count(
                daemon_raw.fail_after.as_ref(),
                "daemon.fail_after",
                1,
                1000,
                defaults::FAIL_AFTER,
            ),
            remind_every: self
                .remind_every(daemon_raw.remind_every.as_ref(), "daemon.remind_every"),
            max_age: self.max_age(daemon_raw.max_age.as_ref(), "daemon.max_age"),
        };

        let http_raw = raw.http.unwrap_or_default();
        let extra_roots = self
            .value(http_raw.ca_file.as_ref(), "http.ca_file", |file| {
                crate::fetch::tls::read_ca_file(&beside(path, file))
            })
            .unwrap_or_default();
        let http = HttpSettings {
            timeout: self.duration(
                http_raw.timeout.as_ref(),
                "http.timeout",
                defaults::TIMEOUT,
                values::TIMEOUTS,
            ),
            connect_timeout: self.duration(
                http_raw.connect_timeout.as_ref(),
                "http.connect_timeout",
                defaults::CONNECT_TIMEOUT,
                values::TIMEOUTS,
            ),
            max_body: self
                .value(http_raw.max_body.as_ref(), "http.max_body", |s| {
                    values::parse_size(s)
                })
                .unwrap_or_else(|| HttpSettings::default().max_body),
            retries: self.count(
                http_raw.retries.as_ref(),
                "http.retries",
                0,
                10,
                defaults::RETRIES,
            ),
            backoff: self.duration(
                http_raw.backoff.as_ref(),
                "http.backoff",
                defaults::BACKOFF,
                values::DELAYS,
            ),
            backoff_max: self.duration(
                http_raw.backoff_max.as_ref(),
                "http.backoff_max",
                defaults::BACKOFF_MAX,
                values::DELAYS,
            ),
            retry_after_max: self.duration(
                http_raw.retry_after_max.as_ref(),
                "http.retry_after_max",
                defaults::RETRY_AFTER_MAX,
                values::DELAYS,
            ),
            user_agent: self
                .value(http_raw.user_agent.as_ref(), "http.user_agent", |s| {
                    reqwest::header::HeaderValue::from_str(s)
                        .map(|_| s.clone())
                        .map_err(|_| {
                            "the user agent must be printable ASCII on one line".to_string()
                        })
                })
                .unwrap_or_else(defaults::user_agent),
            per_host: self.count(
                http_raw.per_host.as_ref(),
                "http.per_host",
                1,
                64,
                defaults::PER_HOST as u32,
            ) as usize,
            host_delay: self.duration(
                http_raw.host_delay.as_ref(),
                "http.host_delay",
                defaults::HOST_DELAY,
                values::DELAYS,
            ),
            max_redirects: defaults::MAX_REDIRECTS,
            extra_roots,
        };

        let web = self.web(raw.web, path);
        let beside_config = |file: Spanned<String>| beside(path, file.get_ref());
        let database = raw.storage.and_then(|s| s.database).map(beside_config);
        let evidence = raw.evidence.unwrap_or_default();
        let key_file = evidence.key_file.map(beside_config);
        // Checked with or without tsa_url, so a bad value is found before
        // the day a TSA is configured.
        let tsa_timeout = self.duration(
            evidence.tsa_timeout.as_ref(),
            "evidence.tsa_timeout",
            crate::evidence::timestamp::DEFAULT_TIMEOUT,
            values::TSA_TIMEOUTS,
        );
        let tsa = self
            .value(evidence.tsa_url.as_ref(), "evidence.tsa_url", |u| {
                parse_url(u).and_then(tsa_without_credentials)
            })
            .map(|url| crate::evidence::timestamp::TsaSettings {
                url,
                timeout: tsa_timeout,
            });
        let tsa_trust = self.value(
            evidence.tsa_ca_file.as_ref(),
            "evidence.tsa_ca_file",
            |file| crate::evidence::rfc3161::TsaTrust::read(&beside(path, file)),
        );
        let keep_raw_bodies = raw.retention.and_then(|r| {
            self.value(r.raw_bodies.as_ref(), "retention.raw_bodies", |s| {
                values::parse_duration_in(s, &values::PERIODS, "365d")
            })
        });

        let mut raw_limits = raw.limits.unwrap_or_default();
        let source_time = self.value(
            raw_limits.source_time.take().as_ref(),
            "limits.source_time",
            |s| values::parse_duration_in(s, &values::TIMEOUTS, "10m"),
        );
        let limits = self.limits(raw_limits);
        let browser = self.browser(raw.browser.unwrap_or_default(), path);

        let scope = match raw.scope {
            Some(spanned) => {
                let span = spanned.span();
                ScopeSettings::from_raw(spanned.into_inner()).unwrap_or_else(|e| {
                    self.issue(&span, &format!("scope.{}", e.key), e.message);
                    ScopeSettings::default()
                })
            }
            None => ScopeSettings::default(),
        };

        // Checked against the sources once they are read.
        let filter_sources = alerts::filter_sources(&raw.alerts);
        let alerts = match self.alert_channels {
            AlertChannels::Build => {
                self.channels(raw.alerts, path.parent().unwrap_or(Path::new("")))
            }
            AlertChannels::Skip => Vec::new(),
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        // Exactly as many as written: a doubled capacity would be ~3 MB of
        // nothing for every 10,000 sources, held for the process's life.
        let mut sources = Vec::with_capacity(raw.sources.len());
        for (index, raw_source) in raw.sources.into_iter().enumerate() {
            let id_span = raw_source.id.span();
            let id = raw_source.id.get_ref().clone();
            // The line is counted only for a duplicate: counting it for
            // every source made loading quadratic in the number of sources.
            if let Some(first) = seen.insert(id.clone(), id_span.start) {
                let first = self.text[..first].matches('\n').count() + 1;
                self.issue(
                    &id_span,
                    &format!("source[{index}].id"),
                    format!("duplicate source id {id:?} (first defined on line {first}): give each source its own id"),
                );
            }
            if let Some(source) = self.source(raw_source, index, &daemon) {
                sources.push(source);
            }
        }
        if self.alert_channels == AlertChannels::Build {
            self.check_filter_sources(filter_sources, &seen);
        }

        Config {
            path: path.to_path_buf(),
            sha256: crate::hash::Digest::of(self.text.as_bytes()).to_hex(),
            daemon,
            http,
            database,
            scope: Arc::new(scope),
            key_file,
            keep_raw_bodies,
            tsa,
            tsa_trust,
            limits,
            source_time,
            browser,
            sources,
            alerts,
            web,
        }
    }

    /// `[browser]`.
    fn browser(&mut self, raw: raw::RawBrowser, path: &Path) -> BrowserSettings {
        BrowserSettings {
            pages: self.count(
                raw.pages.as_ref(),
                "browser.pages",
                1,
                64,
                defaults::BROWSER_PAGES as u32,
            ) as usize,
            chromium: raw.chromium.map(|file| beside(path, file.get_ref())),
        }
    }

    /// `fetch`, `wait_for` and `portal`: how the source's page is obtained.
    fn fetch_method(
        &mut self,
        raw: &RawSource,
        url: Option<&Url>,
        key: &dyn Fn(&str) -> String,
    ) -> Option<FetchMethod> {
        let browser = self.value(raw.fetch.as_ref(), &key("fetch"), |method| {
            match method.as_str() {
                "http" => Ok(false),
                "browser" if cfg!(feature = "browser") => Ok(true),
                "browser" => Err("this scopewatch was built without the browser fetcher (the Cargo feature `browser`): install a build with it (the release packages have it), or watch the page with fetch = \"http\"".to_string()),
                other => Err(format!("{other:?} is not a way to fetch: write \"http\" (a plain GET, the default) or \"browser\" (render the page in Chromium)")),
            }
        });
        let wait_for = self.value(raw.wait_for.as_ref(), &key("wait_for"), |css| {
            parse_selector(css).map(|_| css.clone())
        });
        if let (Some(spanned), false) = (&raw.wait_for, browser == Some(true)) {
            self.issue(&spanned.span(), &key("wait_for"), "wait_for is for pages rendered in the browser: add fetch = \"browser\", or remove it".to_string());
        }
        if let (Some(spanned), Some(true)) = (&raw.headers, browser) {
            self.issue(&spanned.span(), &key("headers"), "the browser sends its own request headers, not a source's: remove headers, or fetch the page with fetch = \"http\"".to_string());
        }
        let Some(portal) = &raw.portal else {
            return Some(match browser {
                Some(true) => FetchMethod::Browser { wait_for },
                _ => FetchMethod::Http,
            });
        };
        if portal.get_ref() != "service-trust" {
            self.issue(&portal.span(), &key("portal"), format!("{:?} is not a portal scopewatch knows: write \"service-trust\" (Microsoft's Service Trust Portal)", portal.get_ref()));
            return None;
        }
        if let Some(fetch) = raw.fetch.as_ref().filter(|_| browser.is_some()) {
            self.issue(&fetch.span(), &key("fetch"), "a portal document is read through the portal's API, not fetched: remove fetch, or remove portal".to_string());
        }
        if let Some(headers) = &raw.headers {
            self.issue(&headers.span(), &key("headers"), "the portal's documents are read without credentials (one behind sign-in is recorded as such): remove headers".to_string());
        }
        if let Some(follow) = &raw.follow {
            self.issue(
                &follow.span(),
                &key("follow"),
                "a portal document is a PDF: it has no links to follow; remove follow".to_string(),
            );
        }
        let url = url?;
        match crate::fetch::portal::source_document(url) {
            Ok((document, api)) => Some(FetchMethod::ServiceTrust { document, api }),
            Err(e) => {
                self.issue(&raw.url.span(), &key("url"), e.to_string());
                None
            }
        }
    }

    /// `[limits]`, each key within the range it is checked against.
    fn limits(&mut self, raw: raw::RawLimits) -> crate::isolation::ExtractionBudget {
        use crate::extract::limits::defaults as caps;
        use crate::isolation::defaults as process;
        let defaults = crate::isolation::ExtractionBudget::default();
        let mut size = |spanned: Option<&Spanned<String>>, key: &str, min: u64, default: u64| {
            self.value(spanned, key, |s| {
                let size = values::parse_size(s)?;
                if size < min {
                    return Err(format!(
                        "{s:?} is too small: write at least {} MiB",
                        min >> 20
                    ));
                }
                Ok(size)
            })
            .unwrap_or(default)
        };
        let memory = size(
            raw.extract_memory.as_ref(),
            "limits.extract_memory",
            32 << 20,
            process::MEMORY,
        );
        let attribute_bytes = size(
            raw.html_attribute_bytes.as_ref(),
            "limits.html_attribute_bytes",
            1 << 20,
            caps::HTML_ATTRIBUTE_BYTES as u64,
        );
        let stream_bytes = size(
            raw.pdf_stream_bytes.as_ref(),
            "limits.pdf_stream_bytes",
            1 << 20,
            caps::PDF_STREAM_BYTES as u64,
        );
        let time = self.duration(
            raw.extract_time.as_ref(),
            "limits.extract_time",
            &humantime::format_duration(process::TIME).to_string(),
            values::TIMEOUTS,
        );
        let elements = self.count(
            raw.html_elements.as_ref(),
            "limits.html_elements",
            1_000,
            100_000_000,
            caps::HTML_ELEMENTS as u32,
        );
        let operators = self.count(
            raw.pdf_operators.as_ref(),
            "limits.pdf_operators",
            1_000,
            1_000_000_000,
            caps::PDF_OPERATORS as u32,
        );
        crate::isolation::ExtractionBudget {
            limits: crate::extract::ExtractLimits {
                html_attribute_bytes: usize::try_from(attribute_bytes).unwrap_or(usize::MAX),
                pdf_stream_bytes: usize::try_from(stream_bytes).unwrap_or(usize::MAX),
                pdf_operators: operators as usize,
                ..defaults.limits
            }
            .with_html_elements(elements as usize),
            memory,
            time,
        }
    }

    fn source(&mut self, raw: RawSource, index: usize, daemon: &DaemonSettings) -> Option<Source> {
        let key = |name: &str| format!("source[{index}].{name}");
        let id = self.value(Some(&raw.id), &key("id"), |id| validate_id(id));
        let url = self.value(Some(&raw.url), &key("url"), |u| {
            parse_url(u).and_then(without_credentials)
        });
        let method = self.fetch_method(&raw, url.as_ref(), &key);
        let headers = self.source_headers(
            raw.headers.as_ref(),
            &key("headers"),
            self.alert_channels == AlertChannels::Build,
        );
        let mut rules = ExtractRules {
            content: self.selectors(raw.content.as_ref(), &key("content")),
            ignore: self.selectors(raw.ignore.as_ref(), &key("ignore")),
            json_pointer: self.value(raw.json_pointer.as_ref(), &key("json_pointer"), |p| {
                if p.is_empty() || p.starts_with('/') {
                    Ok(p.clone())
                } else {
                    Err(format!("a JSON pointer starts with '/' (RFC 6901), e.g. \"/data/services\"; got {p:?}"))
                }
            }),
            scope_tables: None,
            links: None,
        };
        let schedule = self.schedule(raw.schedule.as_ref(), &key("schedule"));
        let follow = raw.follow.as_ref().and_then(|follow| {
            let f = follow.get_ref();
            let select = match &f.select {
                Some(css) => self.value(Some(css), &key("follow.select"), |s| parse_selector(s))?,
                None => parse_selector(defaults::FOLLOW_SELECT).expect("default is valid"),
            };
            let hosts = f
                .hosts
                .iter()
                .flatten()
                .filter_map(|h| {
                    self.value(Some(h), &key("follow.hosts"), |host| {
                        url::Host::parse(host)
                            .map(|_| host.to_ascii_lowercase())
                            .map_err(|e| format!("{host:?} is not a host name ({e}); write e.g. \"www.microsoft.com\""))
                    })
                })
                .collect();
            let max = self.count(f.max.as_ref(), &key("follow.max"), 1, 1000, defaults::FOLLOW_MAX as u32)
                as usize;
            Some((select, Follow { hosts, max }))
        });
        // The follow selector is an extraction rule: links are read from
        // the page's one parse.
        let (links, follow) = follow.unzip();
        rules.links = links;
        let fail_after = self.count(
            raw.fail_after.as_ref(),
            &key("fail_after"),
            1,
            1000,
            daemon.fail_after,
        );
        let scope = match raw.scope {
            Some(spanned) => {
                let span = spanned.span();
                match ScopeSpec::from_raw(spanned.into_inner()) {
                    Ok(spec) => Some(spec),
                    Err(e) => {
                        self.issue(&span, &key(&format!("scope.{}", e.key)), e.message);
                        None
                    }
                }
            }
            None => Some(ScopeSpec::auto()),
        };
        rules.scope_tables = scope
            .as_ref()
            .and_then(|spec| spec.table_css())
            .and_then(|css| Selector::parse(css).ok());
        let remind_every = self
            .remind_every(raw.remind_every.as_ref(), &key("remind_every"))
            .or(daemon.remind_every);
        let max_age = self.max_age(raw.max_age.as_ref(), &key("max_age"));
        let attestation = self.attestation(raw.attestation.as_deref(), &key("attestation"));
        Some(Source {
            id: id?,
            url: url?,
            method: method?,
            headers,
            rules,
            schedule: schedule.map(Box::new),
            follow,
            allow_private: raw.allow_private.unwrap_or(false),
            fail_after,
            scope: scope?,
            remind_every,
            max_age,
            attestation: attestation.map(Box::new),
        })
    }
}

/// A file named in the configuration: relative paths are relative to the
/// configuration file's directory.
fn beside(config: &Path, file: &str) -> PathBuf {
    let file = PathBuf::from(file);
    match config.parent() {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file,
    }
}

fn validate_id(id: &str) -> Result<String, String> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok && !id.starts_with('.') {
        Ok(id.to_string())
    } else {
        Err(format!(
            "{id:?} is not a valid source id: use 1-100 letters, digits, '-', '_' or '.', e.g. \"bot-service-compliance\""
        ))
    }
}

fn parse_url(written: &str) -> Result<Url, String> {
    let url = Url::parse(written).map_err(|e| {
        format!("{written:?} is not a valid URL ({e}); write an absolute http(s) URL, e.g. \"https://learn.microsoft.com/...\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "{written:?}: only http:// and https:// URLs with a host can be watched"
        ));
    }
    Ok(url)
}

/// Refuses a source URL with `user:password@`: the client would send it as
/// Basic auth (over plain HTTP too), and the URL is stored with every
/// record, in the ledger and in every export. The message names the host
/// only: the URL holds the password.
fn without_credentials(url: Url) -> Result<Url, String> {
    refuse_credentials(url, |host| {
        format!(
            "the URL for {host} carries credentials (user:password@): they would be sent as Basic auth, over plain HTTP too, and stored with every record and export. Remove them and send them as a header read from a file: headers = {{ Authorization = {{ secret_file = \"${{CREDENTIALS_DIRECTORY}}/scopewatch_NAME\" }} }} (the service's credential for /etc/scopewatch/credentials/NAME), the file holding the whole value (e.g. \"Basic \" and the base64 of user:password)"
        )
    })
}

/// Refuses a `tsa_url` with `user:password@`: the URL is logged and kept
/// with every timestamp token, so the password would be too.
fn tsa_without_credentials(url: Url) -> Result<Url, String> {
    refuse_credentials(url, |host| {
        format!(
            "the TSA URL for {host} carries credentials (user:password@): they would be logged and stored with every timestamp. Remove them; scopewatch asks time-stamping authorities that need no sign-in"
        )
    })
}

/// `url` if it has no `user:password@`, else the error `message` gives for
/// its host (never the URL itself: it holds the password).
fn refuse_credentials(url: Url, message: impl FnOnce(&str) -> String) -> Result<Url, String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(url);
    }
    Err(message(url.host_str().unwrap_or("the host")))
}

fn parse_selector(css: &str) -> Result<Selector, String> {
    Selector::parse(css)
        .map_err(|e| format!("{css:?} is not a valid CSS selector ({}); e.g. \"main\", \".feedback\", \"main a[href]\"", advice::selector_problem(&e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/etc/scopewatch/test.toml"))
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = check("[[source]]\nid = \"a\"\nurl = \"https://example.com/\"\n").unwrap();
        assert_eq!(c.daemon.concurrency, defaults::CONCURRENCY);
        assert_eq!(c.http.max_body, 20 << 20);
        assert_eq!(c.sources[0].fail_after, defaults::FAIL_AFTER);
        assert_eq!(c.database, None);
    }

    #[test]
    fn relative_database_is_beside_the_config() {
        let c = check("[storage]\ndatabase = \"state/sw.db\"\n").unwrap();
        assert_eq!(
            c.database.unwrap(),
            PathBuf::from("/etc/scopewatch/state/sw.db")
        );
    }

    #[test]
    fn evidence_and_retention_keys() {
        let c =
            check("[evidence]\nkey_file = \"keys/sign.pem\"\n[retention]\nraw_bodies = \"365d\"\n")
                .unwrap();
        assert_eq!(
            c.key_file.unwrap(),
            PathBuf::from("/etc/scopewatch/keys/sign.pem")
        );
        assert_eq!(c.keep_raw_bodies, Some(Duration::from_secs(365 * 86400)));
        let err = check("[retention]\nraw_bodies = \"soon\"\n").unwrap_err();
        assert_eq!(err.issues[0].key, "retention.raw_bodies");
    }

    #[test]
    fn durations_out_of_range_are_refused_naming_key_and_limit() {
        let err = check(
            "[daemon]\njitter = \"300000000000y\"\n[http]\ntimeout = \"0s\"\n\
             host_delay = \"2d\"\nconnect_timeout = \"500ms\"\n\
             [[source]]\nid = \"a\"\nurl = \"https://example.com/\"\nremind_every = \"1000000y\"\n",
        )
        .unwrap_err();
        let issues: Vec<(&str, &str)> = err
            .issues
            .iter()
            .map(|i| (i.key.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(
            issues,
            [
                (
                    "daemon.jitter",
                    r#"must be at most 1day (not "300000000000y"): write e.g. "5m""#
                ),
                (
                    "http.timeout",
                    r#"must be at least 1s (not "0s"): write e.g. "30s""#
                ),
                (
                    "http.connect_timeout",
                    r#"must be at least 1s (not "500ms"): write e.g. "10s""#
                ),
                (
                    "http.host_delay",
                    r#"must be at most 1day (not "2d"): write e.g. "100ms""#
                ),
                (
                    "source[0].remind_every",
                    r#"must be at most 100years (not "1000000y"): write e.g. "1d""#
                ),
            ]
        );
        let c = check("[daemon]\njitter = \"0s\"\n[http]\ntimeout = \"1d\"\nhost_delay = \"0s\"\n")
            .unwrap();
        assert_eq!(c.http.timeout, Duration::from_secs(86_400));
    }

    #[test]
    fn tsa_keys_are_validated_with_their_position() {
        let c = check("[evidence]\ntsa_url = \"http://127.0.0.1:3180/tsa\"\n").unwrap();
        let tsa = c.tsa.unwrap();
        assert_eq!(tsa.url.as_str(), "http://127.0.0.1:3180/tsa");
        assert_eq!(tsa.timeout, Duration::from_secs(30));
        let c = check("[evidence]\ntsa_url = \"https://tsa.example/\"\ntsa_timeout = \"5s\"\n")
            .unwrap();
        assert_eq!(c.tsa.unwrap().timeout, Duration::from_secs(5));
        assert_eq!(check("").unwrap().tsa, None);
        let err = check("[evidence]\ntsa_url = \"https://u:hunter2@tsa.example/\"\n").unwrap_err();
        assert!(err.to_string().contains("carries credentials"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = check("[evidence]\ntsa_url = \"ftp://tsa.example/\"\n").unwrap_err();
        assert_eq!(
            (
                err.issues[0].key.as_str(),
                err.issues[0].line,
                err.issues[0].column
            ),
            ("evidence.tsa_url", 2, 11)
        );
        let err = check("[evidence]\ntsa_url = \"https://tsa.example/\"\ntsa_timeout = \"soon\"\n")
            .unwrap_err();
        assert_eq!(
            (err.issues[0].key.as_str(), err.issues[0].line),
            ("evidence.tsa_timeout", 3)
        );
        // Above the cap that keeps a stamp inside the watchdog, and checked
        // without a tsa_url too.
        for text in [
            "[evidence]\ntsa_url = \"https://tsa.example/\"\ntsa_timeout = \"5m\"\n",
            "[evidence]\ntsa_timeout = \"1d\"\n",
        ] {
            let err = check(text).unwrap_err();
            assert_eq!(err.issues[0].key, "evidence.tsa_timeout", "{text}");
            assert!(
                err.issues[0].message.contains("must be at most 1m"),
                "{}",
                err.issues[0].message
            );
        }
    }

    #[test]
    fn a_ca_file_is_read_beside_the_config_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("scopewatch.toml");
        let err = parse("[http]\nca_file = \"ca.pem\"\n", &config).unwrap_err();
        let issue = &err.issues[0];
        assert_eq!((issue.key.as_str(), issue.line), ("http.ca_file", 2));
        assert!(issue.message.contains("cannot read"), "{}", issue.message);
        assert!(
            issue
                .message
                .contains(&dir.path().join("ca.pem").display().to_string()),
            "{}",
            issue.message
        );
        assert!(check("").unwrap().http.extra_roots.certs.is_empty());
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let err = check("[daemon]\nschedule = \"bogus\"\n").unwrap_err();
        assert_eq!(err.issues[0].line, 2);
        assert_eq!(err.issues[0].column, 12);
        assert_eq!(err.issues[0].key, "daemon.schedule");
        assert!(
            err.to_string()
                .starts_with("/etc/scopewatch/test.toml:2:12: daemon.schedule: ")
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let err = check(
            "[[source]]\nid = \"a\"\nurl = \"ftp://x/\"\n[[source]]\nid = \"a\"\nurl = \"https://x/\"\ncontent = [\"main[\"]\n",
        )
        .unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["source[0].url", "source[1].id", "source[1].content"]);
    }

    #[test]
    fn portal_sources_name_a_document_and_take_no_page_keys() {
        let c = check(
            "[[source]]\nid = \"stp\"\nurl = \"https://servicetrust.microsoft.com/DocumentPage/7adf2d9e-d7b5-4e71-bad8-713e6a183cf3\"\nportal = \"service-trust\"\n",
        )
        .unwrap();
        let FetchMethod::ServiceTrust { document, .. } = &c.sources[0].method else {
            panic!("{:?}", c.sources[0].method)
        };
        assert_eq!(document.as_str(), "7adf2d9e-d7b5-4e71-bad8-713e6a183cf3");
        // The three forms Microsoft's documentation links to name it too.
        for url in [
            "https://servicetrust.microsoft.com/ViewPage/MSComplianceGuide?command=Download&downloadType=Document&downloadId=7adf2d9e-d7b5-4e71-bad8-713e6a183cf3&docTab=x",
            "https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/7ADF2D9E-D7B5-4E71-BAD8-713E6A183CF3",
        ] {
            let c = check(&format!(
                "[[source]]\nid = \"stp\"\nurl = \"{url}\"\nportal = \"service-trust\"\n"
            ))
            .unwrap();
            let FetchMethod::ServiceTrust { document, api } = &c.sources[0].method else {
                panic!("{url}: {:?}", c.sources[0].method)
            };
            // Resolved through the portal's own API.
            assert!(
                api.metadata_url(document)
                    .as_str()
                    .starts_with(crate::fetch::portal::DEFAULT_API_BASE),
                "{url}"
            );
            assert_eq!(
                document.as_str(),
                "7adf2d9e-d7b5-4e71-bad8-713e6a183cf3",
                "{url}"
            );
        }
        let err = check(
            "[[source]]\nid = \"stp\"\nurl = \"https://servicetrust.microsoft.com/\"\nportal = \"service-trust\"\n\
             [[source]]\nid = \"x\"\nurl = \"https://servicetrust.microsoft.com/DocumentPage/7adf2d9e-d7b5-4e71-bad8-713e6a183cf3\"\nportal = \"stp\"\n\
             [[source]]\nid = \"y\"\nurl = \"https://servicetrust.microsoft.com/DocumentPage/7adf2d9e-d7b5-4e71-bad8-713e6a183cf3\"\nportal = \"service-trust\"\nfollow = { max = 2 }\n",
        )
        .unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["source[0].url", "source[1].portal", "source[2].follow"]
        );
        assert!(
            err.issues[0].message.contains("names no portal document"),
            "{}",
            err.issues[0].message
        );
        assert!(err.issues[1].message.contains("\"service-trust\""));
    }

    #[test]
    fn browser_keys_are_checked() {
        let page = "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\n";
        let err = check(&format!("{page}fetch = \"chrome\"\n")).unwrap_err();
        assert_eq!(err.issues[0].key, "source[0].fetch");
        let err = check(&format!("{page}wait_for = \"main\"\n")).unwrap_err();
        assert!(
            err.issues[0].message.contains("fetch = \"browser\""),
            "{err}"
        );
        let err = check("[browser]\npages = 0\n").unwrap_err();
        assert_eq!(err.issues[0].key, "browser.pages");
        let c = check("[browser]\npages = 4\nchromium = \"bin/chromium\"\n").unwrap();
        assert_eq!(
            c.browser,
            BrowserSettings {
                pages: 4,
                chromium: Some(PathBuf::from("/etc/scopewatch/bin/chromium")),
            }
        );
        assert_eq!(check("").unwrap().browser.pages, defaults::BROWSER_PAGES);
    }

    #[cfg(feature = "browser")]
    #[test]
    fn a_browser_source_is_accepted_with_the_browser() {
        let c = check(
            "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\nfetch = \"browser\"\nwait_for = \"main h1\"\n",
        )
        .unwrap();
        assert!(matches!(
            &c.sources[0].method,
            FetchMethod::Browser { wait_for: Some(css) } if css == "main h1"
        ));
        let err = check(
            "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\nfetch = \"browser\"\nheaders = { Authorization = \"Bearer x\" }\n",
        )
        .unwrap_err();
        assert_eq!(err.issues[0].key, "source[0].headers");
    }

    #[cfg(not(feature = "browser"))]
    #[test]
    fn a_browser_source_is_refused_without_the_browser() {
        let err = check(
            "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\nfetch = \"browser\"\n",
        )
        .unwrap_err();
        assert_eq!(err.issues[0].key, "source[0].fetch");
        assert!(
            err.issues[0]
                .message
                .contains("built without the browser fetcher"),
            "{err}"
        );
    }

    #[test]
    fn a_duplicate_id_names_the_line_of_the_first() {
        let source =
            |id: &str| format!("\n[[source]]\nid = \"{id}\"\nurl = \"https://example.com/\"\n");
        let text = [source("a"), source("b"), source("a")].concat();
        let err = check(&text).unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert_eq!(err.issues[0].key, "source[2].id");
        assert_eq!(err.issues[0].line, 11);
        assert!(
            err.issues[0].message.contains("first defined on line 3"),
            "{}",
            err.issues[0].message
        );
    }
}
