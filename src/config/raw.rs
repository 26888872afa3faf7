//! The configuration file exactly as written: serde structs of optional
//! values, spans kept so that validation errors can name the line and
//! column. Unknown keys are refused by [`super::keys`], with the rest of
//! the file's problems. [`super::Config`] is the validated form.

use serde::Deserialize;
use toml::Spanned;

use crate::scope::{RawScopeSettings, RawScopeSpec};

#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    pub daemon: Option<RawDaemon>,
    pub http: Option<RawHttp>,
    pub storage: Option<RawStorage>,
    pub scope: Option<Spanned<RawScopeSettings>>,
    pub evidence: Option<RawEvidence>,
    pub retention: Option<RawRetention>,
    pub limits: Option<RawLimits>,
    pub browser: Option<RawBrowser>,
    pub web: Option<super::web::RawWeb>,
    #[serde(default, rename = "source")]
    pub sources: Vec<RawSource>,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<super::alerts::RawAlert>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDaemon {
    pub schedule: Option<Spanned<String>>,
    pub jitter: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<i64>>,
    pub fail_after: Option<Spanned<i64>>,
    pub remind_every: Option<Spanned<String>>,
    pub max_age: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawHttp {
    pub timeout: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub max_body: Option<Spanned<String>>,
    pub retries: Option<Spanned<i64>>,
    pub backoff: Option<Spanned<String>>,
    pub backoff_max: Option<Spanned<String>>,
    pub retry_after_max: Option<Spanned<String>>,
    pub user_agent: Option<Spanned<String>>,
    pub per_host: Option<Spanned<i64>>,
    pub host_delay: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
}

/// `[limits]`: the extraction budget (see `crate::isolation`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub extract_memory: Option<Spanned<String>>,
    pub extract_time: Option<Spanned<String>>,
    pub html_elements: Option<Spanned<i64>>,
    pub html_attribute_bytes: Option<Spanned<String>>,
    pub pdf_stream_bytes: Option<Spanned<String>>,
    pub pdf_operators: Option<Spanned<i64>>,
    pub source_time: Option<Spanned<String>>,
}

/// `[browser]`: the browser fetcher (see `crate::fetch::browser`).
#[derive(Debug, Default, Deserialize)]
pub struct RawBrowser {
    pub pages: Option<Spanned<i64>>,
    pub chromium: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawStorage {
    pub database: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawEvidence {
    pub key_file: Option<Spanned<String>>,
    pub tsa_url: Option<Spanned<String>>,
    pub tsa_timeout: Option<Spanned<String>>,
    pub tsa_ca_file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawRetention {
    pub raw_bodies: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawSource {
    pub id: Spanned<String>,
    pub url: Spanned<String>,
    pub headers: Option<super::headers::RawHeaders>,
    pub content: Option<Vec<Spanned<String>>>,
    pub ignore: Option<Vec<Spanned<String>>>,
    pub json_pointer: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    // Boxed, as `scope` and `attestation` are: rare, and large enough that
    // every source written without them would carry their size.
    pub follow: Option<Box<Spanned<RawFollow>>>,
    pub allow_private: Option<bool>,
    pub fail_after: Option<Spanned<i64>>,
    pub scope: Option<Box<Spanned<RawScopeSpec>>>,
    pub remind_every: Option<Spanned<String>>,
    pub max_age: Option<Spanned<String>>,
    pub attestation: Option<Box<super::alerts::RawAttestation>>,
    pub fetch: Option<Spanned<String>>,
    pub wait_for: Option<Spanned<String>>,
    pub portal: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawFollow {
    pub select: Option<Spanned<String>>,
    pub hosts: Option<Vec<Spanned<String>>>,
    pub max: Option<Spanned<i64>>,
}
