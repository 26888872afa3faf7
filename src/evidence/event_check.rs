//! `verify`'s checks of events, in the store and in a bundle: each event
//! against its ledger leaf (what it may state, see [`crate::ledger::event_leaf`]),
//! and each `scope` and `content` event recomputed from what its two
//! records hold (scope sets, texts), so an event edited in the database,
//! or in a bundle's `changes.jsonl` signed again with the genuine key, is
//! named.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::{EvidenceError, Finding};
use crate::hash::Digest;
use crate::ledger::event_leaf::{self, VERSION};
use crate::scope::ScopeSet;
use crate::store::{EventFilter, EventRow, Store};

/// How a finding names an event.
fn name(event_id: i64, kind: impl std::fmt::Display, record: i64) -> String {
    format!("event {event_id} ({kind}, record {record})")
}

/// The store's events against the event leaves of the ledger (`leaves`:
/// event id to its leaf's seq and JSON text), and each recomputed. `first`:
/// only the events from that id on, each of which must have a leaf
/// (`None`: every event, those before the first leaf excepted).
pub(crate) fn check_store(
    store: &Store,
    mut leaves: BTreeMap<i64, (i64, String)>,
    first: Option<i64>,
) -> Result<Vec<Finding>, EvidenceError> {
    let mut findings = Vec::new();
    let mut older = 0;
    let (events, first_logged) = match first {
        Some(first) => (store.events_from(first)?, Some(first - 1)),
        None => {
            let mut events = store.events(&EventFilter::default())?;
            events.sort_by_key(|e| e.id);
            (events, leaves.keys().next().copied())
        }
    };
    for event in &events {
        let concerns = name(event.id, event.kind, event.to_snapshot);
        let mut finding = |problem: String| {
            findings.push(Finding {
                record_id: Some(event.to_snapshot),
                ..Finding::new(&concerns, problem)
            })
        };
        let Some((seq, leaf)) = leaves.remove(&event.id) else {
            // Events from before the ledger existed have no leaf.
            if first_logged.is_some_and(|first| event.id > first) {
                finding(
                    "has no ledger entry: it was added outside scopewatch, or its entry is gone"
                        .into(),
                );
            }
            continue;
        };
        // Parsed when the ledger was read: only an event leaf is kept.
        let leaf: Value = serde_json::from_str(&leaf).unwrap_or(Value::Null);
        let differ = event_leaf::differences(event, &leaf);
        if !differ.is_empty() {
            finding(format!(
                "{} (ledger entry {seq})",
                event_leaf::differs_text(&differ)
            ));
        }
        if event_leaf::version(&leaf) < VERSION {
            older += 1;
        }
        if let Some(problem) = recompute_in_store(store, event, &leaf)? {
            finding(problem);
        }
    }
    for (event_id, (seq, _)) in leaves {
        findings.push(Finding::new(
            format!("ledger entry {seq}"),
            format!("names event {event_id}, which is missing: the event was deleted"),
        ));
    }
    if older > 0 {
        findings.push(Finding::info(
            "events",
            format!(
                "{older} events were logged before ledger entries stated an event's content: their kind, records and diff are checked against the ledger, their summary, severity and lists only by recomputation"
            ),
        ));
    }
    Ok(findings)
}

/// A `scope` or `content` event recomputed from its two records' stored
/// scope sets or texts; the problem, if any.
fn recompute_in_store(
    store: &Store,
    event: &EventRow,
    leaf: &Value,
) -> Result<Option<String>, EvidenceError> {
    let Some(from) = event.from_snapshot else {
        return Ok(None);
    };
    let (Some(before), Some(after)) = (
        store.derived_hashes(from)?,
        store.derived_hashes(event.to_snapshot)?,
    ) else {
        // A record deleted is named by the record checks.
        return Ok(None);
    };
    match event.kind.as_str() {
        "scope" => {
            let hashes = (before.scope_hash, after.scope_hash);
            if let Some(problem) = stated_hashes(leaf, "scope", &hashes, from, event.to_snapshot) {
                return Ok(Some(problem));
            }
            let set = |hash: &Option<String>| -> Result<Option<ScopeSet>, EvidenceError> {
                Ok(match hash {
                    Some(hash) => store
                        .scope_set_json(hash)?
                        .and_then(|json| serde_json::from_str::<ScopeSet>(&json).ok())
                        .filter(|set| set.hash() == *hash),
                    None => None,
                })
            };
            // A set missing or altered is named by the scope checks.
            Ok(match (set(&hashes.0)?, set(&hashes.1)?) {
                (Some(previous), Some(current)) => {
                    event_leaf::scope_event_problem(event, &previous, &current)
                }
                _ => None,
            })
        }
        "content" => {
            let hashes = (before.text_hash, after.text_hash);
            if let Some(problem) = stated_hashes(leaf, "text", &hashes, from, event.to_snapshot) {
                return Ok(Some(problem));
            }
            let text = |hash: &Option<String>| -> Option<String> {
                let digest = Digest::from_hex(hash.as_deref()?)?;
                let bytes = store.blob(&digest).ok()?;
                (Digest::of(&bytes) == digest).then(|| String::from_utf8_lossy(&bytes).into_owned())
            };
            // A text missing or altered is named by the blob checks.
            Ok(match (text(&hashes.0), text(&hashes.1)) {
                (Some(previous), Some(current)) => {
                    event_leaf::content_event_problem(event, &previous, &current)
                }
                _ => None,
            })
        }
        _ => Ok(None),
    }
}

/// Whether a leaf of [`VERSION`] names the `what` hashes (`scope` or
/// `text`) its records hold; the problem, if not.
fn stated_hashes(
    leaf: &Value,
    what: &str,
    (from_hash, to_hash): &(Option<String>, Option<String>),
    from: i64,
    to: i64,
) -> Option<String> {
    if event_leaf::version(leaf) < VERSION {
        return None;
    }
    let stated = |member: String| leaf[member.as_str()].as_str().map(String::from);
    let (stated_from, stated_to) = (
        stated(format!("from_{what}_hash")),
        stated(format!("{what}_hash")),
    );
    (stated_from != *from_hash || stated_to != *to_hash).then(|| {
        format!(
            "its ledger entry says it compared {what} hashes {} and {}, but records {from} and {to} hold {} and {}: a record's {what} was replaced",
            show(&stated_from),
            show(&stated_to),
            show(from_hash),
            show(to_hash)
        )
    })
}

fn show(hash: &Option<String>) -> &str {
    hash.as_deref().unwrap_or("none")
}

/// A bundle's scope lines: record id to scope hash, and scope hash to its
/// entries (JSON), as [`super::bundle_recheck::scope_lines`] reads them.
pub(crate) struct ScopeLines {
    pub scope_of: HashMap<i64, String>,
    pub sets: HashMap<String, String>,
}

/// What the bundle's events are checked against.
pub(crate) struct BundleLedger<'a> {
    /// The leaves by seq.
    pub leaves: &'a HashMap<i64, Value>,
    /// The scope lines.
    pub scope: &'a ScopeLines,
    /// Which event ids must have a `changes.jsonl` line: those whose
    /// record's capture the bundle includes.
    pub included_records: &'a std::collections::HashSet<i64>,
}

/// Every `changes.jsonl` line against its ledger leaf and recomputed from
/// the bundle's scope lines (scope events) or its diff (content events);
/// every event leaf of an included capture against a line.
pub(crate) fn check_bundle(dir: &Path, ledger: &BundleLedger<'_>, findings: &mut Vec<Finding>) {
    let mut event_leaves: BTreeMap<i64, (i64, &Value)> = BTreeMap::new();
    let mut text_of_record: HashMap<i64, Option<&str>> = HashMap::new();
    for (seq, leaf) in ledger.leaves {
        match leaf["type"].as_str() {
            Some("event") => {
                if let Some(id) = leaf["event_id"].as_i64() {
                    event_leaves.insert(id, (*seq, leaf));
                }
            }
            Some("capture" | "failure") => {
                if let Some(id) = leaf["record_id"].as_i64() {
                    text_of_record.insert(id, leaf["text_hash"].as_str());
                }
            }
            _ => {}
        }
    }
    let text =
        match super::bundle_file::read(&dir.join("changes.jsonl"), super::bundle_file::MAX_FILE) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                findings.push(Finding::new(
                    "changes.jsonl",
                    format!("cannot be read: {e}"),
                ));
                return;
            }
        };
    let mut listed = std::collections::HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let concerns = format!("changes.jsonl line {}", number + 1);
        let parsed: Option<(EventRow, Option<String>)> =
            serde_json::from_str::<Value>(line).ok().and_then(|v| {
                let diff = v["diff"].as_str().map(String::from);
                Some((event_leaf::event_of_json(&v["event"])?, diff))
            });
        let Some((event, diff)) = parsed else {
            findings.push(Finding::new(concerns, "is not an event line"));
            continue;
        };
        listed.insert(event.id);
        let concerns = format!(
            "{concerns}: {}",
            name(event.id, event.kind, event.to_snapshot)
        );
        let mut finding = |problem: String| {
            findings.push(Finding {
                record_id: Some(event.to_snapshot),
                ..Finding::new(&concerns, problem)
            })
        };
        let Some((seq, leaf)) = event_leaves.get(&event.id) else {
            finding("has no ledger entry in ledger/entries.jsonl: the line was added".into());
            continue;
        };
        let differ = event_leaf::differences(&event, leaf);
        if !differ.is_empty() {
            finding(format!(
                "{} (ledger entry {seq})",
                event_leaf::differs_text(&differ)
            ));
        }
        if let Some(diff) = &diff
            && event.diff_hash.as_deref() != Some(Digest::of(diff.as_bytes()).to_hex().as_str())
        {
            finding("its diff does not hash to its diff_hash: the diff was edited".into());
        }
        if let Some(problem) =
            recompute_in_bundle(&event, diff.as_deref(), leaf, ledger, &text_of_record)
        {
            finding(problem);
        }
    }
    for (event_id, (seq, leaf)) in event_leaves {
        let record = leaf["record_id"].as_i64().unwrap_or_default();
        if ledger.included_records.contains(&record) && !listed.contains(&event_id) {
            findings.push(Finding {
                record_id: Some(record),
                ..Finding::new(
                    name(event_id, leaf["kind"].as_str().unwrap_or("?"), record),
                    format!(
                        "is missing from changes.jsonl, though its record's capture is in the bundle (ledger entry {seq}): its line was removed"
                    ),
                )
            });
        }
    }
}

/// A bundle's `scope` event recomputed from the scope lines of its two
/// records, a `content` event's summary from its diff and its text hashes
/// against the capture leaves; the problem, if any.
fn recompute_in_bundle(
    event: &EventRow,
    diff: Option<&str>,
    leaf: &Value,
    ledger: &BundleLedger<'_>,
    text_of_record: &HashMap<i64, Option<&str>>,
) -> Option<String> {
    let from = event.from_snapshot?;
    let to = event.to_snapshot;
    match event.kind.as_str() {
        "scope" => {
            let hashes = (
                ledger.scope.scope_of.get(&from).cloned(),
                ledger.scope.scope_of.get(&to).cloned(),
            );
            if hashes.0.is_none() || hashes.1.is_none() {
                return Some(format!(
                    "the scope of record {} is not in scope/{}.jsonl, so the event cannot be recomputed: its scope line was removed",
                    if hashes.0.is_none() { from } else { to },
                    event.source
                ));
            }
            if let Some(problem) = stated_hashes(leaf, "scope", &hashes, from, to) {
                return Some(problem);
            }
            let set = |hash: &Option<String>| {
                let hash = hash.as_deref()?;
                serde_json::from_str::<ScopeSet>(ledger.scope.sets.get(hash)?)
                    .ok()
                    .filter(|set| set.hash() == hash)
            };
            match (set(&hashes.0), set(&hashes.1)) {
                (Some(previous), Some(current)) => {
                    event_leaf::scope_event_problem(event, &previous, &current)
                }
                _ => Some(format!(
                    "a scope line of records {from} and {to} does not hash to its scope_hash: scope/{}.jsonl was edited",
                    event.source
                )),
            }
        }
        "content" => {
            let known = |id: i64| text_of_record.get(&id).map(|h| h.map(String::from));
            if let (Some(before), Some(after)) = (known(from), known(to))
                && let Some(problem) = stated_hashes(leaf, "text", &(before, after), from, to)
            {
                return Some(problem);
            }
            diff.and_then(|diff| event_leaf::content_summary_problem(event, diff))
        }
        _ => None,
    }
}
