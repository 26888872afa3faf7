//! `[[alert]]` channels and the alert settings of a source (`remind_every`,
//! `[source.attestation]`): their raw TOML form, validation, and secrets.
//! A secret (`${ENV}` interpolated, or read from `secret_file`) is held in
//! a [`Secret`], whose Debug output never shows it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use chrono::NaiveDate;
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::secrets::{interpolate, process_env, read_secret_file};
use super::{Validator, values};
use crate::alert::{Channel, ChannelKind, EmailSettings, Secret, Tls};
use crate::detect::EventKind;
use crate::routing::{Attestation, Expiry, Filter, Severity};

pub const MAX_ATTEMPTS: u32 = 8;
pub const BACKOFF: &str = "30s";
pub const BACKOFF_MAX: &str = "1h";
pub const TIMEOUT: &str = "10s";
pub const ATTESTATION_DAYS: [u32; 4] = [90, 30, 7, 0];
/// The channel used when no `[[alert]]` is configured.
pub const DEFAULT_CHANNEL: &str = "log";

/// A raw string that may be a secret: redacted in Debug output.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct RawSecret(String);

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawSecret(<redacted>)")
    }
}

#[derive(Debug, Deserialize)]
pub struct RawAlert {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub events: Option<Vec<Spanned<String>>>,
    pub severity: Option<Spanned<String>>,
    pub sources: Option<Vec<Spanned<String>>>,
    pub services: Option<Vec<Spanned<String>>>,
    pub digest: Option<bool>,
    pub max_attempts: Option<Spanned<i64>>,
    pub backoff: Option<Spanned<String>>,
    pub backoff_max: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub url: Option<Spanned<RawSecret>>,
    pub secret: Option<Spanned<RawSecret>>,
    pub secret_file: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, RawSecret>>>,
    pub command: Option<Vec<Spanned<String>>>,
    pub env: Option<Vec<Spanned<String>>>,
    pub path: Option<Spanned<String>>,
    pub smtp_host: Option<Spanned<String>>,
    pub smtp_port: Option<Spanned<i64>>,
    pub tls: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<RawSecret>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
pub struct RawAttestation {
    pub expires: Option<Spanned<String>>,
    pub pattern: Option<Spanned<String>>,
    pub valid_for: Option<Spanned<String>>,
    pub days: Option<Vec<Spanned<i64>>>,
}

/// The `log` channel used when none is configured.
pub fn default_channel() -> Channel {
    let duration = |s: &str| values::parse_duration(s).expect("default durations are valid");
    Channel {
        name: DEFAULT_CHANNEL.to_string(),
        kind: ChannelKind::Log,
        filter: Filter::default(),
        digest: false,
        max_attempts: MAX_ATTEMPTS,
        backoff: duration(BACKOFF),
        backoff_max: duration(BACKOFF_MAX),
        timeout: duration(TIMEOUT),
    }
}

/// A source id an `[[alert]]` filter names: where, under which key.
pub(super) struct FilterSource {
    span: std::ops::Range<usize>,
    key: String,
    id: String,
}

/// The source ids the alert filters name, to check once the sources are
/// read.
pub(super) fn filter_sources(raw: &[RawAlert]) -> Vec<FilterSource> {
    raw.iter()
        .enumerate()
        .flat_map(|(index, alert)| {
            alert.sources.iter().flatten().map(move |id| FilterSource {
                span: id.span(),
                key: format!("alert[{index}].sources"),
                id: id.get_ref().clone(),
            })
        })
        .collect()
}

impl Validator<'_> {
    /// Validates every `[[alert]]`; with none, the default `log` channel.
    /// A relative file `path` is resolved against `dir`, the config file's.
    pub(super) fn channels(&mut self, raw: Vec<RawAlert>, dir: &std::path::Path) -> Vec<Channel> {
        if raw.is_empty() {
            return vec![default_channel()];
        }
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut channels = Vec::new();
        for (index, alert) in raw.into_iter().enumerate() {
            let name_key = format!("alert[{index}].name");
            if seen.insert(alert.name.get_ref().clone(), ()).is_some() {
                self.issue(
                    &alert.name.span(),
                    &name_key,
                    format!(
                        "duplicate alert name {:?}: give each channel its own name",
                        alert.name.get_ref()
                    ),
                );
            }
            if let Some(channel) = self.channel(alert, index, dir) {
                channels.push(channel);
            }
        }
        channels
    }

    fn secret(&mut self, value: Option<&Spanned<RawSecret>>, key: &str) -> Option<Option<Secret>> {
        let Some(spanned) = value else {
            return Some(None);
        };
        match interpolate(&spanned.get_ref().0, &process_env) {
            Ok(v) => Some(Some(Secret::new(v))),
            Err(message) => {
                self.issue(&spanned.span(), key, message);
                None
            }
        }
    }

    /// Refuses a filter on a source id none of `sources` has: it would
    /// never match, and the channel would stay silent.
    pub(super) fn check_filter_sources<V>(
        &mut self,
        filter_sources: Vec<FilterSource>,
        sources: &HashMap<String, V>,
    ) {
        for FilterSource { span, key, id } in filter_sources {
            // A followed page `PARENT~...` is filtered as its parent.
            let parent = id.split('~').next().unwrap_or(&id);
            if !sources.contains_key(parent) {
                self.issue(
                    &span,
                    &key,
                    format!("no source {id:?}: an alert filter names configured source ids (a page a source follows as SOURCE~...); this filter would never match"),
                );
            }
        }
    }

    /// The channel's one secret: the key written inline, or `secret_file`.
    fn secret_or_file(
        &mut self,
        alert: &RawAlert,
        inline: Option<&Spanned<RawSecret>>,
        key: &str,
        index: usize,
    ) -> Option<Option<Secret>> {
        let file_key = format!("alert[{index}].secret_file");
        match (inline, &alert.secret_file) {
            (Some(_), Some(file)) => {
                self.issue(
                    &file.span(),
                    &file_key,
                    format!("give either {key} or secret_file, not both"),
                );
                None
            }
            (_, Some(file)) => self.value(Some(file), &file_key, |path| {
                read_secret_file(path).map(|text| Some(Secret::new(text)))
            }),
            (inline, None) => self.secret(inline, key),
        }
    }

    fn required<'a, T>(
        &mut self,
        value: Option<&'a Spanned<T>>,
        name: &Spanned<String>,
        key: &str,
        kind: &str,
    ) -> Option<&'a Spanned<T>> {
        if value.is_none() {
            self.issue(&name.span(), key, format!("a {kind} channel needs {key}"));
        }
        value
    }

    fn channel(&mut self, alert: RawAlert, index: usize, dir: &std::path::Path) -> Option<Channel> {
        let key = |name: &str| format!("alert[{index}].{name}");
        let name = self.value(Some(&alert.name), &key("name"), |n| {
            let ok = !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if ok {
                Ok(n.clone())
            } else {
                Err(format!(
                    "{n:?} is not a valid channel name: use 1-64 letters, digits, '-', '_' or '.'"
                ))
            }
        });
        let filter = self.filter(&alert, index);
        let kind = match alert.kind.get_ref().as_str() {
            "webhook" => self.webhook(&alert, index)?,
            "slack" => ChannelKind::Slack {
                url: self.url(&alert, index, true)?,
            },
            "teams" => ChannelKind::Teams {
                url: self.url(&alert, index, true)?,
            },
            "command" => self.command(&alert, index)?,
            "file" => {
                let path = self.required(alert.path.as_ref(), &alert.kind, &key("path"), "file")?;
                ChannelKind::File {
                    path: dir.join(path.get_ref()),
                }
            }
            "log" => ChannelKind::Log,
            "email" => self.email(&alert, index)?,
            other => {
                self.issue(
                    &alert.kind.span(),
                    &key("kind"),
                    format!("unknown channel kind {other:?}: use webhook, slack, teams, email, command, file or log"),
                );
                return None;
            }
        };
        Some(Channel {
            name: name?,
            kind,
            filter,
            digest: alert.digest.unwrap_or(false),
            max_attempts: self.count(
                alert.max_attempts.as_ref(),
                &key("max_attempts"),
                1,
                100,
                MAX_ATTEMPTS,
            ),
            backoff: self.duration(
                alert.backoff.as_ref(),
                &key("backoff"),
                BACKOFF,
                values::DELAYS,
            ),
            backoff_max: self.duration(
                alert.backoff_max.as_ref(),
                &key("backoff_max"),
                BACKOFF_MAX,
                values::DELAYS,
            ),
            timeout: self.duration(
                alert.timeout.as_ref(),
                &key("timeout"),
                TIMEOUT,
                values::TIMEOUTS,
            ),
        })
    }

    /// `events`, `severity`, `sources` and `services`: what a channel gets.
    fn filter(&mut self, alert: &RawAlert, index: usize) -> Filter {
        let key = |name: &str| format!("alert[{index}].{name}");
        let kinds = alert
            .events
            .iter()
            .flatten()
            .filter_map(|k| {
                self.value(Some(k), &key("events"), |k| {
                    k.parse::<EventKind>().map_err(|unknown| {
                        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                        format!("{unknown}: use one of {}", kinds.join(", "))
                    })
                })
            })
            .collect();
        Filter {
            kinds,
            severity: self.value(alert.severity.as_ref(), &key("severity"), |s| {
                Severity::parse(s)
            }),
            sources: alert
                .sources
                .iter()
                .flatten()
                .map(|s| s.get_ref().clone())
                .collect(),
            services: alert
                .services
                .iter()
                .flatten()
                .map(|s| s.get_ref().clone())
                .collect(),
        }
    }

    /// The URL a webhook or chat channel posts to: an absolute http(s) URL,
    /// a secret. With `from_file`, a chat channel's `secret_file` may hold
    /// it (its token is in the path); a webhook's `secret_file` is its HMAC
    /// secret.
    fn url(&mut self, alert: &RawAlert, index: usize, from_file: bool) -> Option<Secret> {
        let url_key = format!("alert[{index}].url");
        let raw = alert.url.as_ref();
        let secret = if from_file && (raw.is_some() || alert.secret_file.is_some()) {
            self.secret_or_file(alert, raw, &url_key, index)??
        } else {
            let raw = self.required(raw, &alert.kind, &url_key, alert.kind.get_ref())?;
            self.secret(Some(raw), &url_key)??
        };
        match Url::parse(secret.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(secret),
            _ => {
                let span = alert
                    .url
                    .as_ref()
                    .map_or_else(|| alert.kind.span(), |u| u.span());
                self.issue(
                    &span,
                    &url_key,
                    "not an absolute http(s) URL; write e.g. \"https://hooks.example.com/scopewatch\"".to_string(),
                );
                None
            }
        }
    }

    /// `kind = "webhook"`: the URL, an optional HMAC secret, headers.
    fn webhook(&mut self, alert: &RawAlert, index: usize) -> Option<ChannelKind> {
        let key = |name: &str| format!("alert[{index}].{name}");
        let url = self.url(alert, index, false);
        let secret = self.secret_or_file(alert, alert.secret.as_ref(), &key("secret"), index);
        let mut headers = Vec::new();
        for (header, value) in alert.headers.iter().flat_map(|h| h.get_ref()) {
            let span = alert.headers.as_ref().map(|h| h.span()).unwrap_or(0..0);
            let checked = interpolate(&value.0, &process_env).and_then(|v| {
                super::headers::header_name(header)?;
                super::headers::header_value(header, &v, "not shown")?;
                Ok(v)
            });
            match checked {
                Ok(v) => headers.push((header.clone(), Secret::new(v))),
                Err(message) => self.issue(&span, &key("headers"), message),
            }
        }
        Some(ChannelKind::Webhook {
            url: url?,
            secret: secret?,
            headers,
        })
    }

    /// `kind = "command"`: the program and its arguments (no shell), and
    /// the variables of the daemon's environment it also gets.
    fn command(&mut self, alert: &RawAlert, index: usize) -> Option<ChannelKind> {
        let key = |name: &str| format!("alert[{index}].{name}");
        let argv: Vec<String> = alert
            .command
            .iter()
            .flatten()
            .map(|a| a.get_ref().clone())
            .collect();
        if argv.is_empty() {
            self.issue(
                &alert.kind.span(),
                &key("command"),
                "a command channel needs command = [\"/path/to/program\", \"arg\", ...] (no shell)"
                    .to_string(),
            );
            return None;
        }
        let env = alert
            .env
            .iter()
            .flatten()
            .filter_map(|name| {
                self.value(Some(name), &key("env"), |name| {
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        Ok(name.clone())
                    } else {
                        Err(format!("{name:?} is not an environment variable name: write names such as \"HTTPS_PROXY\""))
                    }
                })
            })
            .collect();
        Some(ChannelKind::Command { argv, env })
    }

    /// `kind = "email"`: the SMTP server, how it is reached (TLS only to
    /// another machine), signing in, and the addresses.
    fn email(&mut self, alert: &RawAlert, index: usize) -> Option<ChannelKind> {
        let key = |name: &str| format!("alert[{index}].{name}");
        let host = self.required(
            alert.smtp_host.as_ref(),
            &alert.kind,
            &key("smtp_host"),
            "email",
        );
        let from = self.required(alert.from.as_ref(), &alert.kind, &key("from"), "email");
        let tls = self
            .value(alert.tls.as_ref(), &key("tls"), |t| match t.as_str() {
                "starttls" => Ok(Tls::Starttls),
                "implicit" => Ok(Tls::Implicit),
                "none" => Ok(Tls::None),
                other => Err(format!("unknown tls {other:?}: write \"starttls\", \"implicit\" or \"none\" (a relay on this machine only)")),
            })
            .unwrap_or(Tls::Starttls);
        let default_port = match tls {
            Tls::Starttls => 587,
            Tls::Implicit => 465,
            Tls::None => 25,
        };
        let port = self.count(
            alert.smtp_port.as_ref(),
            &key("smtp_port"),
            1,
            65535,
            default_port,
        );
        let password = self.secret_or_file(alert, alert.password.as_ref(), &key("password"), index);
        if let Some(host) = host
            && tls == Tls::None
            && !is_loopback_host(host.get_ref())
        {
            self.issue(
                &alert.tls.as_ref().map_or_else(|| alert.kind.span(), |t| t.span()),
                &key("tls"),
                format!("tls = \"none\" sends the mail, and any password, unencrypted: it is for a relay on this machine (localhost, 127.0.0.1, ::1); for {:?} write tls = \"starttls\" or \"implicit\"", host.get_ref()),
            );
        }
        let signs_in =
            alert.username.is_some() || alert.password.is_some() || alert.secret_file.is_some();
        let has_both =
            alert.username.is_some() && (alert.password.is_some() || alert.secret_file.is_some());
        if signs_in && !has_both {
            self.issue(
                &alert.kind.span(),
                &key(if alert.username.is_some() { "password" } else { "username" }),
                "give username and password together: with only one, the mail would be sent without signing in".to_string(),
            );
        }
        let to: Vec<String> = alert
            .to
            .iter()
            .flatten()
            .filter_map(|t| self.value(Some(t), &key("to"), |a| parse_mailbox(a)))
            .collect();
        if to.is_empty() {
            self.issue(
                &alert.kind.span(),
                &key("to"),
                "an email channel needs to = [\"team@example.com\"]".to_string(),
            );
        }
        let from = self.value(from, &key("from"), |a| parse_mailbox(a));
        Some(ChannelKind::Email(Box::new(EmailSettings {
            host: host?.get_ref().clone(),
            port: port as u16,
            tls,
            username: alert.username.as_ref().map(|u| u.get_ref().clone()),
            password: password?,
            from: from?,
            to,
        })))
    }

    /// `remind_every` of a source: how often a `failing-reminder` goes out.
    pub(super) fn remind_every(
        &mut self,
        value: Option<&Spanned<String>>,
        key: &str,
    ) -> Option<Duration> {
        self.value(value, key, |s| {
            values::parse_duration_in(s, &values::PERIODS, "1d")
        })
    }

    pub(super) fn attestation(
        &mut self,
        raw: Option<&RawAttestation>,
        key: &str,
    ) -> Option<Attestation> {
        let raw = raw?;
        let expiry = match (&raw.expires, &raw.pattern) {
            (Some(date), None) => {
                Expiry::Date(self.value(Some(date), &format!("{key}.expires"), |d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|e| format!("{d:?} is not a date ({e}); write \"YYYY-MM-DD\""))
                })?)
            }
            (None, Some(pattern)) => {
                let regex = self.value(Some(pattern), &format!("{key}.pattern"), |p| {
                    Regex::new(p).map_err(|e| format!("invalid regex: {e}"))
                })?;
                let valid_for = self
                    .value(raw.valid_for.as_ref(), &format!("{key}.valid_for"), |s| {
                        values::parse_duration_in(s, &values::PERIODS, "365d")
                    })
                    .map_or(365, |d| (d.as_secs() / 86_400) as u32);
                Expiry::Pattern {
                    regex,
                    valid_for_days: valid_for,
                }
            }
            _ => {
                self.issue(&(0..0), key, format!("{key} needs exactly one of expires = \"YYYY-MM-DD\" or pattern = \"regex with a date\""));
                return None;
            }
        };
        let mut days: Vec<u32> = match &raw.days {
            Some(list) => list
                .iter()
                .filter_map(|d| {
                    self.value(Some(d), &format!("{key}.days"), |n| {
                        u32::try_from(*n)
                            .map_err(|_| format!("{n} is not a number of days (0 or more)"))
                    })
                })
                .collect(),
            None => ATTESTATION_DAYS.to_vec(),
        };
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Some(Attestation { expiry, days })
    }
}

/// Whether an SMTP host is this machine, the one place mail may go
/// without TLS.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_mailbox(address: &str) -> Result<String, String> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(|_| address.to_string())
        .map_err(|e| format!("{address:?} is not an email address ({e}); write e.g. \"grc@example.com\" or \"GRC <grc@example.com>\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<super::super::Config, super::super::ConfigError> {
        super::super::parse(text, std::path::Path::new("/etc/scopewatch/t.toml"))
    }

    #[test]
    fn channel_errors_name_the_key_and_what_to_write() {
        let err = check(
            "[[alert]]\nname = \"a\"\nkind = \"pager\"\n\
             [[alert]]\nname = \"b\"\nkind = \"webhook\"\n\
             [[alert]]\nname = \"c\"\nkind = \"slack\"\nurl = \"https://x/\"\nsecret_file = \"/f\"\n\
             [[alert]]\nname = \"d\"\nkind = \"email\"\nsmtp_host = \"mx\"\nfrom = \"not an address\"\n\
             [[alert]]\nname = \"d\"\nkind = \"log\"\nevents = [\"contnet\"]\nseverity = \"urgent\"\n",
        )
        .unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "alert[0].kind",
                "alert[1].url",
                "alert[2].secret_file",
                "alert[3].to",
                "alert[3].from",
                "alert[4].name",
                "alert[4].events",
                "alert[4].severity"
            ]
        );
        assert!(
            err.to_string()
                .contains("use webhook, slack, teams, email, command, file or log")
        );
    }

    #[test]
    fn mail_goes_unencrypted_only_to_this_machine_and_signs_in_with_both_halves() {
        let email = |host: &str, tls: &str, login: &str| {
            format!(
                "[[alert]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"{host}\"\ntls = \"{tls}\"\n\
                 from = \"a@b.c\"\nto = [\"d@e.f\"]\n{login}"
            )
        };
        let keys = |text: &str| -> Vec<String> {
            check(text).map_or_else(
                |e| e.issues.iter().map(|i| i.key.clone()).collect(),
                |_| Vec::new(),
            )
        };
        let login = "username = \"u\"\npassword = \"p\"\n";
        assert_eq!(
            keys(&email("smtp.example.com", "none", login)),
            ["alert[0].tls"]
        );
        assert!(
            check(&email("smtp.example.com", "none", ""))
                .unwrap_err()
                .to_string()
                .contains("unencrypted")
        );
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            assert_eq!(
                keys(&email(host, "none", login)),
                Vec::<String>::new(),
                "{host}"
            );
        }
        assert_eq!(
            keys(&email("smtp.example.com", "starttls", "username = \"u\"\n")),
            ["alert[0].password"]
        );
        assert_eq!(
            keys(&email("smtp.example.com", "starttls", "password = \"p\"\n")),
            ["alert[0].username"]
        );
    }

    #[test]
    fn an_alert_filter_on_a_source_that_does_not_exist_is_refused() {
        let config = |sources: &str| {
            format!(
                "[[source]]\nid = \"iso\"\nurl = \"https://x/\"\n\
                 [[alert]]\nname = \"l\"\nkind = \"log\"\nsources = [{sources}]\n"
            )
        };
        assert!(check(&config("\"iso\", \"iso~learn.microsoft.com-x\"")).is_ok());
        let err = check(&config("\"iso\", \"isso\"")).unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["alert[0].sources"]);
        assert!(err.to_string().contains("no source \"isso\""), "{err}");
    }

    #[test]
    fn defaults_and_the_log_channel() {
        let c = check("").unwrap();
        assert_eq!(c.alerts.len(), 1);
        assert_eq!(c.alerts[0].name, DEFAULT_CHANNEL);
        let c = check(
            "[[alert]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"mx\"\ntls = \"implicit\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n\
             [[alert]]\nname = \"f\"\nkind = \"file\"\npath = \"alerts.jsonl\"\n",
        )
        .unwrap();
        match &c.alerts[0].kind {
            ChannelKind::Email(e) => assert_eq!((e.port, e.tls), (465, Tls::Implicit)),
            other => panic!("{other:?}"),
        }
        match &c.alerts[1].kind {
            ChannelKind::File { path } => {
                assert_eq!(path, std::path::Path::new("/etc/scopewatch/alerts.jsonl"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.alerts[1].max_attempts, MAX_ATTEMPTS);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret::new("s3cr3t".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert!(!format!("{:?}", RawSecret("s3cr3t".into())).contains("s3cr3t"));
    }
}
