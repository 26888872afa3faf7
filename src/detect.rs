//! Change detection: the previous state of a source and the outcome of a
//! new attempt in, the events it calls for and the next state out. Pure.
//!
//! - first success: `baseline`;
//! - normalised text differs from the previous success: `content` (with a
//!   unified diff); raw bytes differ but the text does not: noise, no event;
//! - `fail_after` consecutive failures: `failing`; the next success after
//!   that: `recovered`. A failure is never a content change;
//! - final URL, content type or sign-in page status differs from the
//!   previous success: `moved` (and no `content` event for that attempt);
//! - a page that is (or turns into) a script shell: one `extraction-broken`
//!   with reason `script-shell` and what to do, instead of `moved`; a new
//!   front-end build of the same shell is noise (its recorded text is the
//!   same);
//! - the scope set differs from the previous one: `scope`, with the
//!   certifications renamed and the pairs added, removed and renamed; a
//!   text edit that leaves the scope alone gives no `scope` event. An
//!   extraction that breaks, or suddenly finds nothing where it found pairs
//!   before, is `extraction-broken`, never a mass removal, and the previous
//!   scope stays the reference; a plausible scope the previous one cannot
//!   explain (no certification in common, none paired as a rename) is
//!   `extraction-broken` too, and becomes the reference (see
//!   [`detect_scope`]).

pub mod notices;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::extract::shell;
use crate::hash::Digest;
use crate::scope::{ScopeOutcome, ScopeSet, ScopeSettings, Severity, diff_scope, severity};
use crate::textdiff::{content_change, scope_summary};

/// What a source looked like at its last successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastGood {
    pub record_id: i64,
    pub raw_hash: Digest,
    pub text_hash: Digest,
    pub final_url: String,
    pub content_kind: String,
    pub sign_in: bool,
}

/// The running state of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    pub last_good: Option<LastGood>,
    pub consecutive_failures: u32,
    pub failing: bool,
}

/// One fetch attempt, reduced to what detection needs.
#[derive(Debug, Clone)]
pub enum Attempt {
    Fetched {
        raw_hash: Digest,
        text_hash: Digest,
        final_url: String,
        content_kind: String,
        sign_in: bool,
    },
    /// HTTP 304: the previous content still stands.
    NotModified,
    Failed,
}

/// How an attempt relates to the previous success, stored with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Baseline,
    Content,
    /// Raw bytes changed, normalised text did not.
    Noise,
    Unchanged,
    Moved,
}

impl Change {
    /// Every change, in the order the store codes them.
    pub const ALL: [Change; 5] = [
        Change::Unchanged,
        Change::Baseline,
        Change::Content,
        Change::Noise,
        Change::Moved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Change::Baseline => "baseline",
            Change::Content => "content",
            Change::Noise => "noise",
            Change::Unchanged => "unchanged",
            Change::Moved => "moved",
        }
    }
}

/// What an event is about: the one list of event kinds. It is stored, sent
/// and filtered on as its kebab-case word ([`EventKind::as_str`], the same
/// word through serde and [`std::str::FromStr`]). A new kind is a variant
/// here, its word in `as_str`, its place in [`EventKind::ALL`] and its
/// [`EventKind::default_severity`]: routing, the `events` and `--kind`
/// filters, the store and the JSON output follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Baseline,
    Content,
    Failing,
    Recovered,
    Moved,
    Scope,
    /// A watched portal document has a new live version.
    NewVersion,
    ExtractionBroken,
    FailingReminder,
    ExtractionBrokenReminder,
    Gone,
    AttestationExpiry,
    AlertFailed,
    /// The message `scopewatch alerts test` sends; never recorded.
    AlertTest,
    TimestampFailed,
    /// The last good fetch is older than the source's `max_age`.
    Stale,
}

impl EventKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [EventKind; 16] = [
        EventKind::Baseline,
        EventKind::Content,
        EventKind::Scope,
        EventKind::NewVersion,
        EventKind::ExtractionBroken,
        EventKind::ExtractionBrokenReminder,
        EventKind::Moved,
        EventKind::Gone,
        EventKind::Failing,
        EventKind::FailingReminder,
        EventKind::Recovered,
        EventKind::Stale,
        EventKind::AttestationExpiry,
        EventKind::AlertFailed,
        EventKind::AlertTest,
        EventKind::TimestampFailed,
    ];

    /// The kinds events are recorded with: all but `alert-test`.
    pub fn recorded() -> impl Iterator<Item = EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|k| *k != EventKind::AlertTest)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Baseline => "baseline",
            EventKind::Content => "content",
            EventKind::Failing => "failing",
            EventKind::Recovered => "recovered",
            EventKind::Moved => "moved",
            EventKind::Scope => "scope",
            EventKind::NewVersion => "new-version",
            EventKind::ExtractionBroken => "extraction-broken",
            EventKind::FailingReminder => "failing-reminder",
            EventKind::ExtractionBrokenReminder => "extraction-broken-reminder",
            EventKind::Gone => "gone",
            EventKind::AttestationExpiry => "attestation-expiry",
            EventKind::AlertFailed => "alert-failed",
            EventKind::AlertTest => "alert-test",
            EventKind::TimestampFailed => "timestamp-failed",
            EventKind::Stale => "stale",
        }
    }

    /// The severity of an event of this kind without one of its own
    /// (scope and extraction events carry theirs).
    pub fn default_severity(self) -> Severity {
        match self {
            EventKind::Failing
            | EventKind::FailingReminder
            | EventKind::Gone
            | EventKind::AlertFailed => Severity::High,
            EventKind::Content
            | EventKind::Moved
            | EventKind::AttestationExpiry
            | EventKind::ExtractionBroken
            | EventKind::ExtractionBrokenReminder
            | EventKind::Scope
            | EventKind::NewVersion
            | EventKind::TimestampFailed
            | EventKind::Stale => Severity::Medium,
            EventKind::Baseline | EventKind::Recovered | EventKind::AlertTest => Severity::Low,
        }
    }

    /// An event's severity: its own as stored when it has one (scope
    /// events), else its kind's ([`EventKind::default_severity`]).
    pub fn severity(self, stored: Option<&str>) -> Severity {
        stored
            .and_then(|s| Severity::parse(s).ok())
            .unwrap_or_else(|| self.default_severity())
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is no event kind (in a configuration, a query, or a
/// database written by another version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct UnknownEventKind(pub String);

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(word: &str) -> Result<EventKind, UnknownEventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == word)
            .ok_or_else(|| UnknownEventKind(word.to_string()))
    }
}

/// An event to record; the store adds ids and the current record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub kind: EventKind,
    pub summary: String,
    /// The previous snapshot the event compares against.
    pub from_record: Option<i64>,
    /// Unified diff of the normalised text (`content` events).
    pub diff: Option<String>,
    pub severity: Option<Severity>,
    /// Kind-specific fields (`scope`: `added`, `removed`, `renamed`).
    pub details: Option<serde_json::Value>,
}

impl EventDraft {
    fn new(kind: EventKind, summary: String, from_record: Option<i64>) -> Self {
        EventDraft {
            kind,
            summary,
            from_record,
            diff: None,
            severity: None,
            details: None,
        }
    }
}

/// What an attempt means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub change: Option<Change>,
    pub events: Vec<EventDraft>,
    pub next: SourceState,
}

/// The texts compared for a `content` event: the previous success's and
/// the current one's (only needed when the text hashes differ).
pub struct Texts<'a> {
    pub previous: &'a str,
    pub current: &'a str,
}

/// Decides what a new attempt means. `texts` is consulted only when the
/// normalised text changed; `record_id` is the id the attempt will get.
pub fn detect(
    state: &SourceState,
    attempt: &Attempt,
    record_id: i64,
    texts: Option<Texts<'_>>,
    fail_after: u32,
) -> Detection {
    let mut events = Vec::new();
    let mut next = state.clone();
    let change = match attempt {
        Attempt::Failed => {
            next.consecutive_failures = state.consecutive_failures.saturating_add(1);
            // At least, not exactly: `fail_after` may have been lowered
            // (a reload) past a count already reached.
            if next.consecutive_failures >= fail_after && !state.failing {
                next.failing = true;
                events.push(EventDraft::new(
                    EventKind::Failing,
                    format!("{} consecutive failed fetches", next.consecutive_failures),
                    state.last_good.as_ref().map(|g| g.record_id),
                ));
            }
            None
        }
        Attempt::NotModified | Attempt::Fetched { .. } => {
            if state.failing {
                events.push(EventDraft::new(
                    EventKind::Recovered,
                    format!(
                        "fetched again after {} failed attempts",
                        state.consecutive_failures
                    ),
                    state.last_good.as_ref().map(|g| g.record_id),
                ));
            }
            next.consecutive_failures = 0;
            next.failing = false;
            match attempt {
                Attempt::Fetched {
                    raw_hash,
                    text_hash,
                    final_url,
                    content_kind,
                    sign_in,
                } => {
                    let current = LastGood {
                        record_id,
                        raw_hash: *raw_hash,
                        text_hash: *text_hash,
                        final_url: final_url.clone(),
                        content_kind: content_kind.clone(),
                        sign_in: *sign_in,
                    };
                    let change = compare(state.last_good.as_ref(), &current, texts, &mut events);
                    next.last_good = Some(current);
                    Some(change)
                }
                _ => Some(Change::Unchanged),
            }
        }
    };
    Detection {
        change,
        events,
        next,
    }
}

fn compare(
    previous: Option<&LastGood>,
    current: &LastGood,
    texts: Option<Texts<'_>>,
    events: &mut Vec<EventDraft>,
) -> Change {
    let became_shell = current.content_kind == shell::CONTENT_KIND
        && previous.is_none_or(|p| p.content_kind != shell::CONTENT_KIND);
    let Some(previous) = previous else {
        events.push(EventDraft::new(
            EventKind::Baseline,
            format!("first snapshot ({})", current.content_kind),
            None,
        ));
        if became_shell {
            events.push(script_shell_event(current, None));
        }
        return Change::Baseline;
    };
    let mut moves = Vec::new();
    if previous.final_url != current.final_url {
        moves.push(format!(
            "final URL changed from {} to {}",
            previous.final_url, current.final_url
        ));
    }
    if previous.content_kind != current.content_kind {
        moves.push(format!(
            "content type changed from {} to {}",
            previous.content_kind, current.content_kind
        ));
    }
    if current.sign_in && !previous.sign_in {
        moves.push("the page is now a sign-in page".to_string());
    }
    if !moves.is_empty() {
        // Turning into a shell is said once, with what to do about it.
        events.push(if became_shell {
            script_shell_event(current, Some(previous))
        } else {
            EventDraft::new(EventKind::Moved, moves.join("; "), Some(previous.record_id))
        });
        return Change::Moved;
    }
    if previous.text_hash == current.text_hash {
        return if previous.raw_hash == current.raw_hash {
            Change::Unchanged
        } else {
            Change::Noise
        };
    }
    let (summary, diff) = match texts {
        Some(t) => {
            let (summary, diff) =
                content_change(t.previous, t.current, previous.record_id, current.record_id);
            (summary, Some(diff))
        }
        None => ("content changed".to_string(), None),
    };
    events.push(EventDraft {
        diff,
        ..EventDraft::new(EventKind::Content, summary, Some(previous.record_id))
    });
    Change::Content
}

/// The one event a page that became a script shell raises (see
/// [`crate::extract::shell`]): `extraction-broken` with reason
/// `script-shell` and the advice for its host.
fn script_shell_event(current: &LastGood, previous: Option<&LastGood>) -> EventDraft {
    let host = url::Url::parse(&current.final_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string));
    let advice = shell::ScriptShell::advice(host.as_deref());
    EventDraft {
        severity: Some(Severity::Medium),
        details: Some(serde_json::json!({
            "reason": shell::CONTENT_KIND,
            "advice": advice,
        })),
        ..EventDraft::new(
            EventKind::ExtractionBroken,
            format!("script shell: a plain fetch of this page holds no content; {advice}"),
            previous.map(|p| p.record_id),
        )
    }
}

/// What a `new-version` event says: a watched portal document's live
/// version changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewVersion {
    /// The document's title, or its GUID when the API gives none.
    pub title: String,
    pub old_id: String,
    pub new_id: String,
    pub old_modified: String,
    pub new_modified: String,
}

/// The `new-version` event of a portal document whose live version
/// changed; `previous_record` holds the version before.
pub fn new_version_event(version: &NewVersion, previous_record: Option<i64>) -> EventDraft {
    EventDraft {
        severity: Some(Severity::Medium),
        details: Some(serde_json::to_value(version).expect("a new version serialises")),
        ..EventDraft::new(
            EventKind::NewVersion,
            format!(
                "new version of {:?}: {} (modified {}) replaces {} (modified {})",
                version.title,
                version.new_id,
                version.new_modified,
                version.old_id,
                version.old_modified
            ),
            previous_record,
        )
    }
}

/// The scope side of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeDetection {
    pub event: Option<EventDraft>,
    /// Extraction broke: the record stores no scope set and the previous
    /// one stays the reference. Otherwise the extracted set is stored, and
    /// is the reference for the next version.
    pub broken: bool,
}

/// Compares a freshly extracted scope with the previous stored one.
/// `was_broken`: the previous extraction was broken (its event was raised
/// then, not again). `previous_record`: the record of the previous scope.
///
/// - An implausible extraction (broken, or nothing found where pairs were
///   found before, or no name in it with a letter) keeps the previous
///   scope as the reference: `extraction-broken`, raised once.
/// - A plausible one always becomes the reference. When it shares no
///   certification with the previous scope and none could be paired as a
///   rename (see [`crate::scope::rename`]), it is `extraction-broken` with
///   the pairing proposed by shared services; otherwise a difference is a
///   `scope` event with the certifications renamed, then the entries added,
///   removed and renamed.
pub fn detect_scope(
    previous: Option<&ScopeSet>,
    previous_record: Option<i64>,
    was_broken: bool,
    current: &ScopeOutcome,
    settings: &ScopeSettings,
) -> ScopeDetection {
    let kept = |reason: String| ScopeDetection {
        event: (!was_broken).then(|| EventDraft {
            severity: Some(Severity::Medium),
            details: Some(serde_json::json!({ "reason": reason, "reference": "kept" })),
            ..EventDraft::new(
                EventKind::ExtractionBroken,
                format!(
                    "scope extraction broken: {reason}; the previous scope stays the reference"
                ),
                previous_record,
            )
        }),
        broken: true,
    };
    let set = match current {
        ScopeOutcome::Broken { reason } => return kept(reason.clone()),
        ScopeOutcome::Extracted(set) => set,
    };
    let Some(previous) = previous else {
        return ScopeDetection {
            event: None,
            broken: false,
        };
    };
    if !previous.is_empty()
        && let Some(reason) = implausible(previous, set)
    {
        return kept(reason);
    }
    let diff = diff_scope(previous, set, settings);
    if diff.is_empty() {
        return ScopeDetection {
            event: None,
            broken: false,
        };
    }
    let (before, now) = (certifications(previous), certifications(set));
    if !before.is_empty()
        && !now.is_empty()
        && before.is_disjoint(&now)
        && diff.certification_renames().next().is_none()
    {
        return ScopeDetection {
            event: Some(unexplained(
                previous,
                set,
                &before,
                &now,
                diff.renames_skipped.as_deref(),
                previous_record,
            )),
            broken: false,
        };
    }
    let mut details = serde_json::json!({
        "added": diff.added,
        "removed": diff.removed,
        "renamed": diff.renamed,
    });
    if let Some(skipped) = &diff.renames_skipped {
        details["renames_skipped"] = serde_json::json!(skipped);
    }
    let event = Some(EventDraft {
        severity: Some(severity(&diff, settings)),
        details: Some(details),
        ..EventDraft::new(EventKind::Scope, scope_summary(&diff), previous_record)
    });
    ScopeDetection {
        event,
        broken: false,
    }
}

fn certifications(set: &ScopeSet) -> BTreeSet<&str> {
    set.entries()
        .iter()
        .map(|e| e.certification.as_str())
        .collect()
}

/// Why a non-empty `previous` cannot be replaced by `current`, if so: it is
/// empty, or none of its service or certification names has a letter (the
/// columns read are not services and certifications).
fn implausible(previous: &ScopeSet, current: &ScopeSet) -> Option<String> {
    let has_letter = |name: &str| name.chars().any(char::is_alphabetic);
    if current.is_empty() {
        Some(format!(
            "no scope entries found where the previous snapshot had {}",
            previous.len()
        ))
    } else if !current.entries().iter().any(|e| has_letter(&e.service)) {
        Some("no service name found: the first column holds no names".to_string())
    } else if !current
        .entries()
        .iter()
        .any(|e| has_letter(&e.certification))
    {
        Some("no certification name found: the columns are not certifications".to_string())
    } else {
        None
    }
}

/// The `extraction-broken` event of a plausible scope that shares nothing
/// with the previous one: what was found, and what shared services suggest.
/// `skipped`: why no rename was looked for, if none was.
fn unexplained(
    previous: &ScopeSet,
    current: &ScopeSet,
    before: &BTreeSet<&str>,
    now: &BTreeSet<&str>,
    skipped: Option<&str>,
    previous_record: Option<i64>,
) -> EventDraft {
    let list = |names: &BTreeSet<&str>| {
        let shown: Vec<&str> = names.iter().take(5).copied().collect();
        let more = names.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{}, and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    let proposed = crate::scope::rename::propose_pairs(previous, current);
    let suggestion = if proposed.is_empty() {
        String::new()
    } else {
        let aliases: Vec<String> = proposed
            .iter()
            .take(3)
            .map(|p| format!("{:?} = {:?}", p.from, p.to))
            .collect();
        format!(" (by shared services: {})", aliases.join(", "))
    };
    let paired = match skipped {
        Some(why) => format!("no rename was looked for ({why})"),
        None => "none could be paired as a rename".to_string(),
    };
    let reason = format!(
        "none of the certifications found before ({}) is on the page now (found: {}), and \
         {paired}; the new scope is the reference from now on. If they were renamed, add [scope] \
         aliases{suggestion}",
        list(before),
        list(now),
    );
    EventDraft {
        severity: Some(Severity::Medium),
        details: Some(serde_json::json!({
            "reason": reason,
            "reference": "replaced",
            "proposed": proposed,
        })),
        ..EventDraft::new(
            EventKind::ExtractionBroken,
            format!("scope layout changed: {reason}"),
            previous_record,
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_event_kind_reads_back_from_its_word() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        }
        assert_eq!(
            "contnet".parse::<EventKind>(),
            Err(UnknownEventKind("contnet".into()))
        );
        assert!(!EventKind::recorded().any(|k| k == EventKind::AlertTest));
        assert_eq!(EventKind::recorded().count(), EventKind::ALL.len() - 1);
    }

    use super::*;

    fn fetched(raw: &[u8], text: &str, url: &str) -> Attempt {
        Attempt::Fetched {
            raw_hash: Digest::of(raw),
            text_hash: Digest::of(text.as_bytes()),
            final_url: url.into(),
            content_kind: "html".into(),
            sign_in: false,
        }
    }

    fn kinds(d: &Detection) -> Vec<EventKind> {
        d.events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn baseline_noise_content() {
        let s0 = SourceState::default();
        let d1 = detect(&s0, &fetched(b"a1", "A", "u"), 1, None, 3);
        assert_eq!(kinds(&d1), [EventKind::Baseline]);
        let d2 = detect(&d1.next, &fetched(b"a2", "A", "u"), 2, None, 3);
        assert_eq!((d2.change, kinds(&d2)), (Some(Change::Noise), vec![]));
        let texts = Texts {
            previous: "A\n",
            current: "B\n",
        };
        let d3 = detect(&d2.next, &fetched(b"b", "B", "u"), 3, Some(texts), 3);
        assert_eq!(kinds(&d3), [EventKind::Content]);
        assert_eq!(d3.events[0].from_record, Some(2));
        assert!(d3.events[0].diff.as_ref().unwrap().contains("-A\n+B\n"));
    }

    #[test]
    fn failing_after_exactly_n_then_recovered() {
        let mut s = detect(
            &SourceState::default(),
            &fetched(b"a", "A", "u"),
            1,
            None,
            3,
        )
        .next;
        for i in 1..=4 {
            let d = detect(&s, &Attempt::Failed, 1 + i, None, 3);
            assert_eq!(
                kinds(&d),
                if i == 3 {
                    vec![EventKind::Failing]
                } else {
                    vec![]
                },
                "failure {i}"
            );
            assert_eq!(d.change, None);
            s = d.next;
        }
        let d = detect(&s, &fetched(b"a", "A", "u"), 6, None, 3);
        assert_eq!(kinds(&d), [EventKind::Recovered]);
        assert_eq!(d.change, Some(Change::Unchanged));
        assert!(!d.next.failing);
    }

    #[test]
    fn a_lowered_fail_after_raises_failing_at_the_next_failure() {
        let mut s = SourceState::default();
        for i in 1..=4 {
            let d = detect(&s, &Attempt::Failed, i, None, 10);
            assert!(d.events.is_empty());
            s = d.next;
        }
        let d = detect(&s, &Attempt::Failed, 5, None, 3);
        assert_eq!(kinds(&d), [EventKind::Failing]);
        assert_eq!(d.events[0].summary, "5 consecutive failed fetches");
        assert!(d.next.failing);
    }

    #[test]
    fn scope_changes_and_broken_extractions() {
        use crate::scope::ScopeEntry;
        let settings = ScopeSettings {
            watch: vec!["Azure Bot Service".into()],
            ..ScopeSettings::default()
        };
        let set = |pairs: &[(&str, &str)]| {
            ScopeSet::from_entries(pairs.iter().map(|(c, s)| ScopeEntry::new(*c, *s)))
        };
        let before = set(&[
            ("PCI DSS", "Azure Bot Service"),
            ("PCI DSS", "Azure Cosmos DB"),
        ]);
        let after = set(&[("PCI DSS", "Azure Cosmos DB")]);

        let first = detect_scope(
            None,
            None,
            false,
            &ScopeOutcome::Extracted(before.clone()),
            &settings,
        );
        assert_eq!((first.event, first.broken), (None, false));

        let same = detect_scope(
            Some(&before),
            Some(1),
            false,
            &ScopeOutcome::Extracted(before.clone()),
            &settings,
        );
        assert_eq!(same.event, None);

        let removed = detect_scope(
            Some(&before),
            Some(1),
            false,
            &ScopeOutcome::Extracted(after),
            &settings,
        );
        let event = removed.event.unwrap();
        assert_eq!(event.kind, EventKind::Scope);
        assert_eq!(event.severity, Some(Severity::High));
        assert_eq!(
            event.details.unwrap()["removed"][0]["service"],
            "Azure Bot Service"
        );

        let empty = detect_scope(
            Some(&before),
            Some(1),
            false,
            &ScopeOutcome::Extracted(ScopeSet::default()),
            &settings,
        );
        assert_eq!(empty.event.unwrap().kind, EventKind::ExtractionBroken);
        assert!(empty.broken, "the previous scope stays the reference");

        let broken = ScopeOutcome::Broken {
            reason: "no table".into(),
        };
        assert!(
            detect_scope(Some(&before), Some(1), false, &broken, &settings)
                .event
                .is_some()
        );
        assert!(
            detect_scope(Some(&before), Some(1), true, &broken, &settings)
                .event
                .is_none(),
            "raised once"
        );
    }

    #[test]
    fn too_many_certifications_renamed_at_once_is_said_not_hidden() {
        use crate::scope::ScopeEntry;
        let set = |version: &str, keep: bool| {
            ScopeSet::from_entries(
                (0..201)
                    .map(|i| ScopeEntry::new(format!("{version} program {i}"), "Azure Files"))
                    .chain(keep.then(|| ScopeEntry::new("SOC 2", "Azure Files"))),
            )
        };
        let settings = ScopeSettings::default();
        let renamed_all = |keep: bool| {
            detect_scope(
                Some(&set("Old", keep)),
                Some(1),
                false,
                &ScopeOutcome::Extracted(set("New", keep)),
                &settings,
            )
            .event
            .unwrap()
        };
        // Nothing in common: the new layout is the reference, and the event
        // says no rename was looked for.
        let event = renamed_all(false);
        assert_eq!(event.kind, EventKind::ExtractionBroken);
        assert!(
            event.summary.contains("no rename was looked for"),
            "{}",
            event.summary
        );
        // A certification in common: a scope event that carries why.
        let event = renamed_all(true);
        assert_eq!(event.kind, EventKind::Scope);
        assert!(
            event
                .summary
                .contains("certification renames not looked for")
        );
        let why = event.details.unwrap()["renames_skipped"].clone();
        assert!(why.as_str().unwrap().contains("201 certifications left"));
    }

    #[test]
    fn a_restructured_scope_is_paired_or_becomes_the_reference() {
        use crate::scope::ScopeEntry;
        let settings = ScopeSettings::default();
        let set = |pairs: &[(&str, &str)]| {
            ScopeSet::from_entries(pairs.iter().map(|(c, s)| ScopeEntry::new(*c, *s)))
        };
        let before = set(&[
            ("DoD CC SRG IL 2", "Azure Files"),
            ("DoD CC SRG IL 2", "Azure Maps"),
            ("FedRAMP Moderate", "Azure Files"),
        ]);
        // Every certification renamed or gone, services changed too: a
        // scope event, one rename, then the real changes.
        let renamed = set(&[("DoD IL2", "Azure Files"), ("DoD IL2", "Azure Bot Service")]);
        let d = detect_scope(
            Some(&before),
            Some(1),
            false,
            &ScopeOutcome::Extracted(renamed),
            &settings,
        );
        assert!(!d.broken);
        let event = d.event.unwrap();
        assert_eq!(event.kind, EventKind::Scope);
        let details = event.details.unwrap();
        assert_eq!(
            details["renamed"],
            serde_json::json!([{"from": {"certification": "DoD CC SRG IL 2"}, "to": {"certification": "DoD IL2"}}])
        );
        assert_eq!(details["added"][0]["service"], "Azure Bot Service");
        assert_eq!(details["removed"].as_array().unwrap().len(), 2);
        assert!(
            event.summary.starts_with("scope changed: 1 certification renamed, 1 added, 2 removed (DoD CC SRG IL 2 → DoD IL2"),
            "{}",
            event.summary
        );

        // Nothing pairs: extraction-broken with a proposal, and the new
        // scope is the reference (stored), even right after a broken one.
        let unrelated = set(&[("Tier A", "Azure Files"), ("Tier A", "Azure Maps")]);
        for was_broken in [false, true] {
            let d = detect_scope(
                Some(&before),
                Some(1),
                was_broken,
                &ScopeOutcome::Extracted(unrelated.clone()),
                &settings,
            );
            assert!(!d.broken, "the new scope is stored");
            let event = d.event.unwrap();
            assert_eq!(event.kind, EventKind::ExtractionBroken);
            let details = event.details.unwrap();
            assert_eq!(details["reference"], "replaced");
            assert_eq!(details["proposed"][0]["from"], "DoD CC SRG IL 2");
            assert_eq!(details["proposed"][0]["to"], "Tier A");
            assert!(
                event.summary.contains("\"DoD CC SRG IL 2\" = \"Tier A\""),
                "{}",
                event.summary
            );
        }

        // Implausible: the previous scope stays the reference.
        for current in [
            set(&[("DoD IL2", "✅"), ("DoD IL2", "12")]),
            set(&[("2019", "Azure Files")]),
        ] {
            let d = detect_scope(
                Some(&before),
                Some(1),
                false,
                &ScopeOutcome::Extracted(current),
                &settings,
            );
            assert!(d.broken);
            assert_eq!(d.event.unwrap().details.unwrap()["reference"], "kept");
        }
    }

    #[test]
    fn redirect_elsewhere_is_a_move_not_a_content_change() {
        let s = detect(
            &SourceState::default(),
            &fetched(b"a", "A", "u"),
            1,
            None,
            3,
        )
        .next;
        let d = detect(
            &s,
            &fetched(b"login", "Sign in", "https://login/"),
            2,
            None,
            3,
        );
        assert_eq!(
            (d.change, kinds(&d)),
            (Some(Change::Moved), vec![EventKind::Moved])
        );
    }
}
