//! HTTP headers written in the configuration: a source's `headers` (sent
//! with its requests, a value written inline, `${ENV}` interpolated, or
//! read from a `secret_file`) and the checks every configured header
//! passes, webhook headers included: a name and a value the HTTP client can
//! send (no CR, LF or other control characters), caught by `config check`
//! instead of failing every request later.

use std::collections::BTreeMap;

use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;

use super::Validator;
use super::secrets::{interpolate, read_secret_file};

/// `headers = { Name = "value", Other = { secret_file = "PATH" } }` as written.
pub type RawHeaders = Spanned<BTreeMap<String, Spanned<toml::Value>>>;

/// Headers scopewatch sets itself, or that would make the body received
/// something other than the page: refused in a source's `headers`.
const MANAGED: &[(&str, &str)] = &[
    ("host", "it follows from the URL"),
    ("content-length", "a GET has no body"),
    ("transfer-encoding", "a GET has no body"),
    ("connection", "the HTTP client manages connections"),
    ("keep-alive", "the HTTP client manages connections"),
    ("proxy-connection", "the HTTP client manages connections"),
    ("te", "the HTTP client manages transfer codings"),
    ("trailer", "a GET has no body"),
    ("upgrade", "the HTTP client manages the protocol"),
    (
        "accept-encoding",
        "scopewatch decodes exactly what it announces",
    ),
    ("user-agent", "set [http] user_agent instead"),
    (
        "if-none-match",
        "scopewatch sends its own conditional requests",
    ),
    (
        "if-modified-since",
        "scopewatch sends its own conditional requests",
    ),
    (
        "if-match",
        "a conditional request may not answer with the page",
    ),
    (
        "if-unmodified-since",
        "a conditional request may not answer with the page",
    ),
    ("if-range", "a partial body is not the page"),
    ("range", "a partial body is not the page"),
];

/// Headers whose value is a credential whatever it was read from: stored
/// and shown redacted, like a value read from a secret.
const CREDENTIALS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Words that mark a header name as carrying a credential (`X-Api-Key`,
/// `X-Auth-Token`, `X-Session-Id`, `Ocp-Apim-Subscription-Key`): its
/// value, written inline or not, is stored and shown redacted. A header
/// redacted by mistake costs a reader one value; one missed leaks a secret
/// into the evidence for good, so the list errs on the side of redacting.
const CREDENTIAL_WORDS: &[&str] = &[
    "auth",
    "key",
    "token",
    "secret",
    "session",
    "password",
    "passwd",
    "signature",
    "credential",
    "cookie",
];

/// Whether a (lower-case) header name carries a credential.
fn is_credential(name: &str) -> bool {
    CREDENTIALS.contains(&name)
        || name
            .split(['-', '_'])
            .any(|word| CREDENTIAL_WORDS.iter().any(|w| word.contains(w)))
}

/// A header name the HTTP client can send.
pub fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        format!(
            "{name:?} is not a valid header name: use letters, digits and '-' (e.g. \"Accept-Language\")"
        )
    })
}

/// A header value the HTTP client can send: no control characters but
/// tabs (no CR, LF, NUL, DEL). `shown` is what the message may say about
/// it (never a secret).
pub fn header_value(name: &str, value: &str, shown: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| {
        format!(
            "the value of header {name:?} ({shown}) holds a line break or another control character a header cannot carry; every request would fail: write it on one line"
        )
    })
}

impl Validator<'_> {
    /// A source's `headers`, checked. With `read_secrets` false (commands
    /// that never fetch), values from the environment or a file are not
    /// read and those headers are left out.
    pub(super) fn source_headers(
        &mut self,
        raw: Option<&RawHeaders>,
        key: &str,
        read_secrets: bool,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = Vec::new();
        for (name, value) in raw.iter().flat_map(|raw| raw.get_ref()) {
            let header = self.value(Some(value), key, |value| {
                source_header(name, value, read_secrets)
            });
            if let Some(Some(header)) = header {
                headers.push(header);
            }
        }
        headers
    }
}

/// One header of a source: `None` when its value is a secret left unread.
fn source_header(
    name: &str,
    value: &toml::Value,
    read_secrets: bool,
) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let name = header_name(name)?;
    if let Some((_, why)) = MANAGED.iter().find(|(managed, _)| name == *managed) {
        return Err(format!("header {name:?} cannot be set here: {why}"));
    }
    let credential = is_credential(name.as_str());
    // The value, what an error may say about it, and whether it is secret.
    let (text, shown, secret) = match value {
        toml::Value::String(written) if !written.contains("${") => {
            let shown = if credential {
                "not shown".to_string()
            } else {
                format!("{written:?}")
            };
            (written.clone(), shown, credential)
        }
        toml::Value::String(written) => {
            if !read_secrets {
                return Ok(None);
            }
            let text = interpolate(written, &|variable| std::env::var(variable).ok())?;
            (text, "from the environment".to_string(), true)
        }
        toml::Value::Table(table) => {
            let Some(toml::Value::String(path)) =
                table.get("secret_file").filter(|_| table.len() == 1)
            else {
                return Err(value_form(name.as_str()));
            };
            if !read_secrets {
                return Ok(None);
            }
            (read_secret_file(path)?, format!("read from {path}"), true)
        }
        _ => return Err(value_form(name.as_str())),
    };
    let mut value = header_value(name.as_str(), &text, &shown)?;
    value.set_sensitive(secret);
    Ok(Some((name, value)))
}

fn value_form(name: &str) -> String {
    format!(
        "the value of header {name:?} is a string, or {{ secret_file = \"PATH\" }} for a secret such as an Authorization value"
    )
}
