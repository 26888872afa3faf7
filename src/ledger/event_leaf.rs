//! What an event's ledger leaf says about the event, and the checks
//! `verify` makes of an event against its leaf and against the records it
//! compares.
//!
//! From leaf version 2 (`"v": 2`) an `event` leaf states the event's whole
//! content: `kind`, `severity`, `summary`, `diff_hash`, the records
//! (`from_record`, `record_id`) and `details_sha256`, the SHA-256 of the
//! canonical JSON (sorted keys, no whitespace) of the event's
//! kind-specific details (a scope event's complete `added`, `removed` and
//! `renamed` lists; null when there are none). The lists themselves are in
//! the database and in a bundle's `changes.jsonl`; the leaf holds their
//! hash, so a scope change of thousands of pairs does not enter the ledger
//! twice and `ledger/entries.jsonl` stays one short line per entry. It
//! also states what the event was computed from: a `content` event the
//! two records' `from_text_hash` and `text_hash`, a `scope` event their
//! `from_scope_hash` and `scope_hash`.
//!
//! A leaf written before (no `v`) holds the event's id, kind, records and
//! diff hash only: of such an event, `verify` can check those and the
//! recomputation below, not its summary, severity or details as stored.
//!
//! Recomputation: a `scope` event's lists must be exactly the difference
//! between the scope sets of its two records (whatever aliases paired as
//! renames, see [`crate::scope::ScopeDiff::unexplained_by`]), its summary
//! the one those lists give and its severity one they allow; a `content`
//! event's summary and diff must be what the two stored texts give.

use serde_json::{Map, Value, json};

use crate::hash::Digest;
use crate::scope::{ScopeDiff, ScopeSet, Severity};
use crate::store::{DerivedHashes, EventRow};
use crate::textdiff;

/// The leaf version that states an event's content.
pub const VERSION: i64 = 2;

/// The members an event leaf of [`VERSION`] holds (besides `seq`, `type`,
/// `prev`) that the event row states itself; `at` is `detected_at`. A leaf
/// written before [`VERSION`] holds the first [`V1_MEMBERS`] of them.
const OWN_MEMBERS: [&str; 10] = [
    "at",
    "source",
    "event_id",
    "kind",
    "record_id",
    "from_record",
    "diff_hash",
    "severity",
    "summary",
    "details_sha256",
];

/// How many of [`OWN_MEMBERS`] a leaf written before [`VERSION`] holds.
const V1_MEMBERS: usize = 7;

/// SHA-256 (hex) of the canonical JSON of an event's details; `None` when
/// it has none.
pub fn details_sha256(details: &Map<String, Value>) -> Option<String> {
    (!details.is_empty()).then(|| {
        // A serde_json map is ordered by key and prints without whitespace:
        // the canonical form (see the ledger module).
        Digest::of(Value::Object(details.clone()).to_string().as_bytes()).to_hex()
    })
}

/// The members of `event`'s leaf other than the common ones; `from` and
/// `to`: the text and scope hashes of the records it compares.
pub(crate) fn members(
    event: &EventRow,
    from: &DerivedHashes,
    to: &DerivedHashes,
) -> Map<String, Value> {
    let mut members = own_members(event);
    members.remove("at");
    members.remove("source");
    members.insert("v".into(), json!(VERSION));
    match event.kind.as_str() {
        "content" => {
            members.insert("from_text_hash".into(), json!(from.text_hash));
            members.insert("text_hash".into(), json!(to.text_hash));
        }
        "scope" => {
            members.insert("from_scope_hash".into(), json!(from.scope_hash));
            members.insert("scope_hash".into(), json!(to.scope_hash));
        }
        _ => {}
    }
    members
}

/// What the event row states, under the leaf's member names.
fn own_members(event: &EventRow) -> Map<String, Value> {
    let value = json!({
        "at": event.detected_at,
        "source": event.source,
        "event_id": event.id,
        "kind": event.kind,
        "record_id": event.to_snapshot,
        "from_record": event.from_snapshot,
        "diff_hash": event.diff_hash,
        "severity": event.severity,
        "summary": event.summary,
        "details_sha256": details_sha256(&event.details),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The leaf's version: [`VERSION`], or 1 for a leaf written before it.
pub fn version(leaf: &Value) -> i64 {
    leaf["v"].as_i64().unwrap_or(1)
}

/// The members in which `event` differs from its `leaf`, by the leaf's
/// version (empty: they agree).
pub fn differences(event: &EventRow, leaf: &Value) -> Vec<&'static str> {
    let own = own_members(event);
    let names = if version(leaf) >= VERSION {
        &OWN_MEMBERS[..]
    } else {
        &OWN_MEMBERS[..V1_MEMBERS]
    };
    names
        .iter()
        .copied()
        .filter(|name| own.get(*name).unwrap_or(&Value::Null) != &leaf[*name])
        .collect()
}

/// A finding's text for an event that differs from its leaf in `members`.
pub fn differs_text(members: &[&str]) -> String {
    format!(
        "its {} differ from its ledger entry: the event was edited after it was recorded",
        members.join(", ")
    )
}

/// An event read back from its JSON (a `changes.jsonl` line's `event`, as
/// [`EventRow`] serialises it: its details flattened among the members).
pub fn event_of_json(json: &Value) -> Option<EventRow> {
    let object = json.as_object()?;
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(String::from);
    let mut details = object.clone();
    for name in [
        "id",
        "source",
        "kind",
        "detected_at",
        "from_snapshot",
        "to_snapshot",
        "summary",
        "diff_hash",
        "severity",
    ] {
        details.remove(name);
    }
    Some(EventRow {
        id: object.get("id")?.as_i64()?,
        source: text("source")?,
        kind: text("kind")?.parse().ok()?,
        detected_at: text("detected_at")?,
        from_snapshot: object.get("from_snapshot").and_then(Value::as_i64),
        to_snapshot: object.get("to_snapshot")?.as_i64()?,
        summary: text("summary")?,
        diff_hash: text("diff_hash"),
        severity: text("severity"),
        details,
    })
}

/// Why a `scope` event cannot be the change from `previous` to `current`
/// (the scope sets its two records hold), if so.
pub fn scope_event_problem(
    event: &EventRow,
    previous: &ScopeSet,
    current: &ScopeSet,
) -> Option<String> {
    let Ok(diff) = serde_json::from_value::<ScopeDiff>(Value::Object(event.details.clone())) else {
        return Some(
            "its added/removed/renamed lists are missing or malformed: the event was edited".into(),
        );
    };
    let records = format!(
        "records {} and {}",
        event
            .from_snapshot
            .map_or("(none)".to_string(), |id| id.to_string()),
        event.to_snapshot
    );
    if diff.is_empty() {
        return Some(format!(
            "it lists no change, but a scope event is only raised for one (between {records}): the event was edited"
        ));
    }
    if let Some(problem) = diff.unexplained_by(previous, current) {
        return Some(format!(
            "{problem} between the scope sets of {records}: the event's lists were edited"
        ));
    }
    let summary = textdiff::scope_summary(&diff);
    if event.summary != summary {
        return Some(format!(
            "its summary is not what its lists give ({summary:?}): the event was edited"
        ));
    }
    let touches_entries = !diff.added.is_empty()
        || !diff.removed.is_empty()
        || diff.renamed.iter().any(|r| r.entries().is_some());
    let allowed = match event.severity.as_deref().map(Severity::parse) {
        Some(Ok(Severity::High)) => touches_entries,
        Some(Ok(Severity::Medium)) => !diff.removed.is_empty(),
        Some(Ok(Severity::Low)) => diff.removed.is_empty(),
        _ => false,
    };
    if !allowed {
        return Some(format!(
            "its severity {} does not fit its lists ({} removed): the event was edited",
            event.severity.as_deref().unwrap_or("(none)"),
            diff.removed.len()
        ));
    }
    None
}

/// Why a `content` event is not what the two stored texts give (its
/// summary and diff), if so.
pub fn content_event_problem(event: &EventRow, previous: &str, current: &str) -> Option<String> {
    let from = event.from_snapshot?;
    let (summary, diff) = textdiff::content_change(previous, current, from, event.to_snapshot);
    let diff_hash = Digest::of(diff.as_bytes()).to_hex();
    if event.summary != summary {
        Some(format!(
            "its summary is not what the texts of records {from} and {} give ({summary:?}): the event was edited",
            event.to_snapshot
        ))
    } else if event.diff_hash.as_deref() != Some(diff_hash.as_str()) {
        Some(format!(
            "its diff is not the one the texts of records {from} and {} give: the event or its diff was replaced",
            event.to_snapshot
        ))
    } else {
        None
    }
}

/// Why a `content` event's summary is not what its `diff` counts, if so
/// (where the texts are not at hand: a bundle).
pub fn content_summary_problem(event: &EventRow, diff: &str) -> Option<String> {
    let (added, removed) = textdiff::diff_line_counts(diff);
    let summary = textdiff::content_summary(added, removed);
    (event.summary != summary).then(|| {
        format!("its summary is not what its diff counts ({summary:?}): the event was edited")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeEntry;

    fn event(kind: &str, summary: &str, severity: Option<&str>, details: Value) -> EventRow {
        EventRow {
            id: 4,
            source: "iso".into(),
            kind: kind.parse().unwrap(),
            detected_at: "2026-11-29T08:00:00.000Z".into(),
            from_snapshot: Some(1),
            to_snapshot: 2,
            summary: summary.into(),
            diff_hash: None,
            severity: severity.map(String::from),
            details: super::super::object(details),
        }
    }

    #[test]
    fn a_leaf_binds_every_member_and_an_older_leaf_what_it_held() {
        let row = event("scope", "s", Some("low"), json!({"added": []}));
        let hashes = DerivedHashes::default();
        let mut leaf = Value::Object(members(&row, &hashes, &hashes));
        leaf["at"] = json!(row.detected_at);
        leaf["source"] = json!(row.source);
        assert!(differences(&row, &leaf).is_empty());
        let mut edited = row.clone();
        edited.summary = "other".into();
        edited.severity = None;
        edited.details.insert("added".into(), json!([1]));
        assert_eq!(
            differences(&edited, &leaf),
            ["severity", "summary", "details_sha256"]
        );
        // A leaf of version 1 states none of those.
        leaf.as_object_mut().unwrap().remove("v");
        assert!(differences(&edited, &leaf).is_empty());
        edited.kind = crate::detect::EventKind::Content;
        assert_eq!(differences(&edited, &leaf), ["kind"]);
    }

    #[test]
    fn a_scope_event_is_recomputed_from_the_two_sets() {
        let previous = ScopeSet::from_entries([
            ScopeEntry::new("ISO 27001", "Bot Service"),
            ScopeEntry::new("ISO 27001", "Compute"),
        ]);
        let current = ScopeSet::from_entries([
            ScopeEntry::new("ISO 27001", "Bot Service"),
            ScopeEntry::new("ISO 27001", "Storage"),
        ]);
        let diff = ScopeDiff {
            added: vec![ScopeEntry::new("ISO 27001", "Storage")],
            removed: vec![ScopeEntry::new("ISO 27001", "Compute")],
            renamed: vec![],
            renames_skipped: None,
        };
        let genuine = event(
            "scope",
            &textdiff::scope_summary(&diff),
            Some("medium"),
            serde_json::to_value(&diff).unwrap(),
        );
        assert_eq!(scope_event_problem(&genuine, &previous, &current), None);
        let mut low = genuine.clone();
        low.severity = Some("low".into());
        assert!(
            scope_event_problem(&low, &previous, &current)
                .unwrap()
                .contains("severity low")
        );
        let mut fewer = genuine.clone();
        fewer.details.insert("removed".into(), json!([]));
        assert!(
            scope_event_problem(&fewer, &previous, &current)
                .unwrap()
                .contains("entries that left")
        );
        let mut summary = genuine;
        summary.summary = "scope changed: 1 added".into();
        assert!(
            scope_event_problem(&summary, &previous, &current)
                .unwrap()
                .contains("summary")
        );
    }

    #[test]
    fn a_content_event_is_recomputed_from_the_two_texts() {
        let (summary, diff) = textdiff::content_change("a\nb\n", "a\nc\n", 1, 2);
        let mut row = event("content", &summary, None, json!({}));
        row.diff_hash = Some(Digest::of(diff.as_bytes()).to_hex());
        assert_eq!(content_event_problem(&row, "a\nb\n", "a\nc\n"), None);
        assert_eq!(content_summary_problem(&row, &diff), None);
        assert!(content_event_problem(&row, "a\nb\n", "a\nd\n").is_some());
        row.summary = "content changed: 9 lines added, 0 removed".into();
        assert!(content_summary_problem(&row, &diff).is_some());
    }

    #[test]
    fn an_event_reads_back_from_its_json() {
        let row = event(
            "scope",
            "s",
            Some("high"),
            json!({"added": [], "reason": "x"}),
        );
        let json = serde_json::to_value(&row).unwrap();
        let back = event_of_json(&json).unwrap();
        assert_eq!(back.details, row.details);
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }
}
