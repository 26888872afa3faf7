//! The alert rules an attempt is recorded with: which channels an event
//! goes to (an event's severity, its own or its kind's, and the per-channel
//! filters: event kinds, minimum severity, sources, services), how often a
//! lasting problem is reminded of, and when a source's attestation expires
//! ([`attestation`]). Pure; `record` applies them when it files events.

pub mod attestation;

use std::sync::Arc;
use std::time::Duration;

pub use attestation::{Attestation, Expiry, expiry_date};

/// How urgent an event is: one scale for every event (scope events carry
/// their own, from the scope diff); a channel's `severity` is the minimum
/// it gets.
pub use crate::scope::Severity;

use crate::detect::EventKind;

/// A channel's filters. Empty lists match everything, except that with no
/// `events` list the `baseline` of a new source is not alerted on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `events`: the kinds an alert can be about.
    pub kinds: Vec<EventKind>,
    pub severity: Option<Severity>,
    pub sources: Vec<String>,
    /// Matches events whose scope changes name one of these services.
    pub services: Vec<String>,
}

/// What a filter is applied to.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub kind: EventKind,
    pub source: &'a str,
    /// Services named by the event's scope changes.
    pub services: &'a [String],
    pub severity: Severity,
}

impl Filter {
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let kind_ok = if self.kinds.is_empty() {
            subject.kind != EventKind::Baseline
        } else {
            self.kinds.contains(&subject.kind)
        };
        // A followed page `PARENT~...` matches a filter on its parent.
        let parent = subject.source.split('~').next().unwrap_or(subject.source);
        let source_ok = self.sources.is_empty()
            || self
                .sources
                .iter()
                .any(|s| s == subject.source || s == parent);
        let service_ok = self.services.is_empty()
            || subject.services.iter().any(|svc| {
                self.services
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(svc))
            });
        let severity_ok = self.severity.is_none_or(|min| subject.severity >= min);
        kind_ok && source_ok && service_ok && severity_ok
    }
}

/// A channel as events are routed to it: its name and filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel: String,
    pub filter: Filter,
}

/// The channels `subject` goes to, skipping `except` (the channel whose
/// delivery failure an `alert-failed` event reports).
pub fn channels_for<'r>(
    routes: &'r [Route],
    subject: &Subject<'_>,
    except: Option<&str>,
) -> impl Iterator<Item = &'r str> {
    routes
        .iter()
        .filter(move |r| Some(r.channel.as_str()) != except && r.filter.matches(subject))
        .map(|r| r.channel.as_str())
}

/// The alert rules a source's attempts are recorded with.
#[derive(Debug, Clone, Default)]
pub struct AttemptAlerts {
    pub routes: Arc<[Route]>,
    /// How often a lasting problem (failing, an unreadable scope) is
    /// reminded of; `None`: never.
    pub remind_every: Option<Duration>,
    /// Only for a configured page, not for the pages it links to.
    pub attestation: Option<Attestation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(kind: &str, source: &'a str) -> Subject<'a> {
        let kind: EventKind = kind.parse().unwrap();
        Subject {
            kind,
            source,
            services: &[],
            severity: kind.default_severity(),
        }
    }

    #[test]
    fn default_filter_skips_baseline_only() {
        let f = Filter::default();
        assert!(!f.matches(&subject("baseline", "a")));
        for kind in ["content", "failing", "recovered", "alert-failed"] {
            assert!(f.matches(&subject(kind, "a")), "{kind}");
        }
    }

    #[test]
    fn filters_combine() {
        let f = Filter {
            kinds: vec![],
            severity: Some(Severity::Medium),
            sources: vec!["bot".into()],
            services: vec![],
        };
        assert!(f.matches(&subject("content", "bot")));
        assert!(f.matches(&subject("content", "bot~learn.microsoft.com-x")));
        assert!(!f.matches(&subject("recovered", "bot")));
        assert!(!f.matches(&subject("content", "other")));
        let services = Filter {
            services: vec!["Azure Bot Service".into()],
            ..Filter::default()
        };
        let named = ["azure bot service".to_string()];
        assert!(services.matches(&Subject {
            kind: EventKind::Scope,
            source: "x",
            services: &named,
            severity: Severity::Low,
        }));
        assert!(!services.matches(&subject("content", "x")));
        // A scope event's own severity counts, not its kind's.
        let high_only = Filter {
            severity: Some(Severity::High),
            ..Filter::default()
        };
        let watched = Subject {
            severity: Severity::High,
            ..subject("scope", "x")
        };
        assert!(high_only.matches(&watched));
        assert!(!high_only.matches(&subject("scope", "x")));
    }

    #[test]
    fn failed_channel_is_skipped() {
        let routes = vec![
            Route {
                channel: "hook".into(),
                filter: Filter::default(),
            },
            Route {
                channel: "mail".into(),
                filter: Filter::default(),
            },
        ];
        let to: Vec<_> =
            channels_for(&routes, &subject("alert-failed", "a"), Some("hook")).collect();
        assert_eq!(to, ["mail"]);
    }
}
