//! The read side shared by the CLI's listings (`--json`) and the web API:
//! each query takes its filters as values, checks them, runs the store's
//! queries and returns the rows both print, so `scopewatch changes --json`
//! and `GET /api/v1/changes` cannot drift apart. Word-level diffs are in
//! [`words`].

pub mod words;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock;
use crate::config::Config;
use crate::detect::EventKind;
use crate::scope::Severity;
use crate::store::{
    EventFilter, EventRow, RecordSummary, ScopeFilter, ScopePairs, ScopeTransition, SourceSummary,
    Store, StoreError,
};

/// Why a query gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A filter or argument that cannot be used as given (exit 2; HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// The value of one named filter (`--kind` on the command line, `kind`
    /// in a URL) cannot be used as given.
    #[error("{field}: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// Nothing by that name or at that time (exit 2; HTTP 404).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(message) => QueryError::NotFound(message),
            other => QueryError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, QueryError>;

/// A time as the CLI and the API take it (RFC 3339, a date meaning 00:00
/// UTC that day, or a duration ago), in the stored format; `field` names
/// the argument in the error.
pub fn parse_time(field: &'static str, text: &str, now: DateTime<Utc>) -> Result<String> {
    clock::parse_time(text, now)
        .map(clock::format)
        .map_err(|message| QueryError::InvalidField { field, message })
}

/// Every source, recorded or configured, by id: `scopewatch sources`.
/// Configured sources never checked yet are listed as `never`. A source
/// whose last confirmed fetch (a page, or a 304) is older than its
/// `max_age` (see [`Freshness`]) is stale since that fetch plus its
/// `max_age`; one never fetched well, retired, or no longer watched by
/// `config` is not: it has other states for that.
pub fn sources(store: Option<&Store>, config: Option<&Config>) -> Result<Vec<SourceSummary>> {
    let now = clock::now();
    let mut summaries = match store {
        Some(store) => {
            let mut summaries = store.source_summaries()?;
            let last_confirmed = store.last_confirmed_times()?;
            let judge = Freshness::new(config);
            for summary in summaries.iter_mut().filter(|s| s.state != "retired") {
                summary.stale_since = last_confirmed
                    .get(&summary.id)
                    .and_then(|last| judge.stale_since(&summary.id, last, now))
                    .map(clock::format);
            }
            summaries
        }
        None => Vec::new(),
    };
    // A set of the recorded ids keeps this linear: a scan of the list per
    // configured source took 46 s at 100,000 sources.
    let recorded: HashSet<String> = summaries.iter().map(|s| s.id.clone()).collect();
    for source in config.iter().flat_map(|c| &c.sources) {
        if !recorded.contains(&source.id) {
            summaries.push(SourceSummary {
                id: source.id.clone(),
                url: source.url.to_string(),
                parent: None,
                state: "never".into(),
                last_checked: None,
                last_changed: None,
                snapshots: 0,
                consecutive_failures: 0,
                scope_unreadable_since: None,
                content_kind: None,
                stale_since: None,
            });
        }
    }
    summaries.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(summaries)
}

pub use crate::config::freshness::Freshness;

/// The records of one source, newest first: `scopewatch history`.
pub fn history(store: &Store, source: &str, limit: usize) -> Result<Vec<RecordSummary>> {
    let records = store.history(source, limit)?;
    if records.is_empty() && !store.has_source(source)? {
        return Err(no_source(source));
    }
    Ok(records)
}

fn no_source(source: &str) -> QueryError {
    QueryError::NotFound(format!(
        "no source {source:?} in the database; `scopewatch sources` lists them"
    ))
}

/// Refuses a source filter naming no source the database has recorded or
/// the configuration lists: a typo would otherwise select nothing and
/// look like a quiet source.
pub fn require_known_sources(store: &Store, config: Option<&Config>, ids: &[String]) -> Result<()> {
    for id in ids {
        let configured = config.is_some_and(|c| c.source(id).is_some());
        if !configured && !store.has_source(id)? {
            return Err(QueryError::Invalid(format!(
                "no source {id:?} in the database or the configuration; `scopewatch sources` lists them"
            )));
        }
    }
    Ok(())
}

/// What `scopewatch changes` lists.
#[derive(Debug, Clone, Default)]
pub struct ChangesQuery {
    /// RFC 3339 (see [`parse_time`]).
    pub since: Option<String>,
    pub until: Option<String>,
    pub sources: Vec<String>,
    pub kinds: Vec<String>,
    pub severity: Option<Severity>,
    /// At most this many of the newest events, counted before the
    /// severity filter.
    pub limit: Option<usize>,
}

/// Events, newest first, each with its severity: `scopewatch changes`.
pub fn changes(
    store: &Store,
    config: Option<&Config>,
    query: &ChangesQuery,
) -> Result<Vec<EventRow>> {
    require_known_sources(store, config, &query.sources)?;
    let kinds = known_kinds(&query.kinds)?;
    let mut events = store.events(&EventFilter {
        since: query.since.clone(),
        until: query.until.clone(),
        sources: query.sources.clone(),
        kinds,
        limit: query.limit,
    })?;
    fill_severities(&mut events);
    if let Some(minimum) = query.severity {
        events.retain(|e| e.kind.severity(e.severity.as_deref()) >= minimum);
    }
    Ok(events)
}

/// Gives every event its severity as listed: its own (scope and
/// extraction events), else its kind's (see docs/alerts.md).
pub fn fill_severities(events: &mut [EventRow]) {
    for event in events {
        let severity = event.kind.severity(event.severity.as_deref());
        event.severity = Some(severity.as_str().to_string());
    }
}

/// The kinds named, each a kind events are recorded with; refuses any
/// other word: it would select nothing and look like a quiet database.
fn known_kinds(kinds: &[String]) -> Result<Vec<EventKind>> {
    let known: Vec<&str> = EventKind::recorded().map(EventKind::as_str).collect();
    kinds
        .iter()
        .map(|kind| {
            kind.parse()
                .ok()
                .filter(|k| *k != EventKind::AlertTest)
                .ok_or_else(|| {
                    let hint = crate::wording::nearest(kind, known.iter().copied())
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    QueryError::InvalidField {
                        field: "kind",
                        message: format!(
                            "no event kind {kind:?}; {hint}the kinds are {}",
                            known.join(", ")
                        ),
                    }
                })
        })
        .collect()
}

/// The pairs in scope at a time (RFC 3339; `None`: now): `scopewatch scope`.
pub fn scope(
    store: &Store,
    config: Option<&Config>,
    at: Option<&str>,
    filter: &ScopeFilter,
) -> Result<ScopePairs> {
    require_known_sources(store, config, &filter.sources)?;
    Ok(store.scope_pairs_at(at, filter)?)
}

/// When services entered, left or were renamed: `scopewatch scope history`.
pub fn scope_history(store: &Store, service: Option<&str>) -> Result<Vec<ScopeTransition>> {
    Ok(store.scope_history(service)?)
}

/// A snapshot named by its record id, or by a source and a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRef {
    Id(i64),
    /// The source's last successful fetch at or before `at` (RFC 3339).
    At {
        source: String,
        at: String,
    },
}

/// A snapshot's record and its normalised text: `scopewatch show --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    pub snapshot: RecordSummary,
    pub text: String,
}

/// The record a reference names; `source`, when given, must own it.
pub fn resolve(store: &Store, reference: &SnapshotRef) -> Result<RecordSummary> {
    match reference {
        SnapshotRef::Id(id) => Ok(store.record(*id)?),
        SnapshotRef::At { source, at } => match store.snapshot_at(source, at)? {
            Some(record) => Ok(record),
            None if !store.has_source(source)? => Err(no_source(source)),
            None => Err(QueryError::NotFound(format!(
                "source {source:?} has no snapshot at or before {at}"
            ))),
        },
    }
}

/// The record and normalised text of a snapshot.
pub fn show(store: &Store, reference: &SnapshotRef) -> Result<Shown> {
    let snapshot = resolve(store, reference)?;
    let text = String::from_utf8_lossy(&store.snapshot_bytes(snapshot.id, false)?).into_owned();
    Ok(Shown { snapshot, text })
}

/// Which two snapshots of a source to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffQuery {
    pub source: String,
    /// `None` for both: the last two distinct versions.
    pub from: Option<SnapshotRef>,
    /// `None`: the source's latest snapshot.
    pub to: Option<SnapshotRef>,
    /// Mark changed words within changed lines (see [`words`]).
    pub word: bool,
}

/// Two snapshots compared: `scopewatch diff --json`. `diff` is a unified
/// diff whose `---`/`+++` lines name each snapshot and its date; with
/// `word`, changed words are marked `[-removed-]` and `{+added+}`.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub source: String,
    pub from: RecordSummary,
    pub to: RecordSummary,
    /// Lines added and removed.
    pub added: usize,
    pub removed: usize,
    pub word: bool,
    pub diff: String,
    /// The texts compared, for the side-by-side view.
    #[serde(skip)]
    pub old_text: String,
    #[serde(skip)]
    pub new_text: String,
}

/// The label of a side in a diff's header: its id and date.
pub fn side_label(record: &RecordSummary) -> String {
    let replayed = if record.clock == "replayed" {
        ", replayed"
    } else {
        ""
    };
    format!("snapshot {} ({}{replayed})", record.id, record.started_at)
}

/// Compares two snapshots of a source.
pub fn diff(store: &Store, query: &DiffQuery) -> Result<Diff> {
    let source = &query.source;
    let (from, to) = match (&query.from, &query.to) {
        (None, None) => {
            let (from, to) = store.last_two_versions(source)?.ok_or_else(|| {
                if store.has_source(source).unwrap_or(false) {
                    QueryError::NotFound(format!(
                        "source {source:?} has fewer than two distinct versions to compare"
                    ))
                } else {
                    no_source(source)
                }
            })?;
            (store.record(from)?, store.record(to)?)
        }
        (from, to) => {
            let to = match to {
                Some(reference) => resolve(store, reference)?,
                None => store
                    .history(source, 50)?
                    .into_iter()
                    .find(|r| r.text_hash.is_some())
                    .ok_or_else(|| {
                        QueryError::NotFound(format!("source {source:?} has no snapshot"))
                    })?,
            };
            let from = match from {
                Some(reference) => resolve(store, reference)?,
                None => {
                    return Err(QueryError::Invalid(
                        "name the older snapshot too (an id, or --from DATE)".into(),
                    ));
                }
            };
            (from, to)
        }
    };
    for record in [&from, &to] {
        if &record.source != source {
            return Err(QueryError::Invalid(format!(
                "snapshot {} belongs to source {:?}, not {source:?}",
                record.id, record.source
            )));
        }
    }
    let old_text = String::from_utf8_lossy(&store.snapshot_bytes(from.id, false)?).into_owned();
    let new_text = String::from_utf8_lossy(&store.snapshot_bytes(to.id, false)?).into_owned();
    let (from_label, to_label) = (side_label(&from), side_label(&to));
    let (added, removed, diff) = if query.word {
        words::unified(&old_text, &new_text, &from_label, &to_label)
    } else {
        crate::textdiff::unified_diff_labelled(&old_text, &new_text, &from_label, &to_label)
    };
    Ok(Diff {
        source: source.clone(),
        from,
        to,
        added,
        removed,
        word: query.word,
        diff,
        old_text,
        new_text,
    })
}
