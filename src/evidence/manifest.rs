//! A bundle's manifest (`manifest.json`, signed in `manifest.sig` and
//! listed in `SHA256SUMS`): what the bundle claims to hold, and
//! `verify BUNDLE`'s completeness checks against it.
//!
//! It states the selection (`--source`, `--since`, `--until`), the
//! checkpoint the bundle was made against, the ledger range it covers
//! (`ledger/entries.jsonl` holds entries `first` to `size - 1`, without a
//! gap) and, for every capture, failure and event leaf in that range,
//! whether the bundle includes it: `included`, `pruned` (included, its
//! body emptied by `[retention]`) or `not-selected` (another source, or
//! outside the period). Whether an entry is selected follows from its
//! leaf alone (`source`, and `at`: when the attempt finished), so a
//! capture dropped from a bundle cannot be passed off as unselected; an
//! event goes with its record's capture.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Finding;
use super::checkpoint::Checkpoint;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Empty: every source.
    pub sources: Vec<String>,
}

impl Selection {
    pub(super) fn covers_time(&self, at: &str) -> bool {
        let Ok(at) = DateTime::parse_from_rfc3339(at) else {
            return false;
        };
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u)
    }

    fn covers_source(&self, source: &str) -> bool {
        self.sources.is_empty() || self.sources.iter().any(|s| s == source)
    }

    /// Whether it leaves anything out.
    pub(super) fn narrows(&self) -> bool {
        self.since.is_some() || self.until.is_some() || !self.sources.is_empty()
    }

    /// The selection as the flags that made it: `--since 2026-01-01T00:00:00+00:00 --source a`.
    pub(super) fn describe(&self) -> String {
        let mut flags = Vec::new();
        if let Some(since) = self.since {
            flags.push(format!("--since {}", since.to_rfc3339()));
        }
        if let Some(until) = self.until {
            flags.push(format!("--until {}", until.to_rfc3339()));
        }
        flags.extend(self.sources.iter().map(|s| format!("--source {s}")));
        flags.join(" ")
    }

    /// Whether an attempt of `source` that finished at `at` (its ledger
    /// leaf's `source` and `at`) is selected: what the leaf alone says, so
    /// `verify` can tell from the ledger which captures a bundle must hold.
    pub fn selects(&self, source: &str, at: &str) -> bool {
        self.covers_source(source) && self.covers_time(at)
    }
}

/// The manifest's file name in a bundle, and its signature's.
pub const FILE: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
/// The `format` member of the manifests this version writes.
pub const FORMAT: &str = "scopewatch-bundle-manifest/1";

/// The manifest; `E`, its entries, is a list when read, and may be
/// [`EntriesFile`] when written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest<E = Vec<ManifestEntry>> {
    pub format: String,
    pub selection: SelectionJson,
    pub checkpoint: CheckpointRef,
    pub ledger: LedgerRange,
    pub entries: E,
}

/// Manifest entries kept in a file, a JSON line each, and serialised as
/// the list a [`Manifest`] holds: a manifest of a year of captures is
/// written without holding its entries.
pub struct EntriesFile {
    lines: std::cell::RefCell<Option<std::io::BufReader<std::fs::File>>>,
}

impl EntriesFile {
    /// The entries in the file at `path` (read once, when serialised).
    pub fn open(path: &std::path::Path) -> std::io::Result<EntriesFile> {
        Ok(EntriesFile {
            lines: std::cell::RefCell::new(Some(std::io::BufReader::new(std::fs::File::open(
                path,
            )?))),
        })
    }
}

impl Serialize for EntriesFile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        use std::io::BufRead;
        let lines = self
            .lines
            .borrow_mut()
            .take()
            .ok_or_else(|| S::Error::custom("the manifest's entries were already written"))?;
        let mut seq = serializer.serialize_seq(None)?;
        for line in lines.lines() {
            let line = line.map_err(S::Error::custom)?;
            let entry: ManifestEntry = serde_json::from_str(&line).map_err(S::Error::custom)?;
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

/// The selection as written: empty `sources` is every source; times in
/// RFC 3339, UTC, as the leaves' `at`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SelectionJson {
    pub sources: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub id: i64,
    pub tree_size: i64,
    pub root: String,
}

/// `ledger/entries.jsonl` holds entries `first..size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRange {
    pub first: i64,
    pub size: i64,
}

/// One capture, failure or event leaf in the range, and whether the bundle
/// includes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub seq: i64,
    /// `capture`, `failure` or `event`.
    #[serde(rename = "type")]
    pub kind: String,
    pub record_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    pub status: Status,
    /// The WARC file that holds an included capture or failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Included,
    /// Included, its body emptied by `[retention]`.
    Pruned,
    NotSelected,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Included => "included",
            Status::Pruned => "pruned",
            Status::NotSelected => "not-selected",
        }
    }
}

impl SelectionJson {
    pub fn of(selection: &Selection) -> SelectionJson {
        SelectionJson {
            sources: selection.sources.clone(),
            since: selection.since.map(crate::clock::format),
            until: selection.until.map(crate::clock::format),
        }
    }

    /// The selection it states; `None` when a time is not RFC 3339.
    fn selection(&self) -> Option<Selection> {
        let time = |t: &Option<String>| -> Option<Option<DateTime<Utc>>> {
            match t {
                None => Some(None),
                Some(t) => Some(Some(DateTime::parse_from_rfc3339(t).ok()?.to_utc())),
            }
        };
        Some(Selection {
            sources: self.sources.clone(),
            since: time(&self.since)?,
            until: time(&self.until)?,
        })
    }
}

/// The archive a source's captures are written to.
pub fn archive_of(source: &str) -> String {
    format!("archive/{source}.warc.gz")
}

/// What the bundle holds of the leaf `leaf` (a capture, failure or event):
/// `included`, whether the bundle includes its record's capture, `pruned`,
/// whether that capture's body was pruned.
pub(crate) fn entry_of(
    seq: i64,
    leaf: &Value,
    included: bool,
    pruned: bool,
) -> Option<ManifestEntry> {
    let kind = leaf["type"].as_str()?;
    if !matches!(kind, "capture" | "failure" | "event") {
        return None;
    }
    let record_id = leaf["record_id"].as_i64()?;
    let status = if !included {
        Status::NotSelected
    } else if kind != "event" && pruned {
        Status::Pruned
    } else {
        Status::Included
    };
    let archive = (kind != "event" && status != Status::NotSelected)
        .then(|| leaf["source"].as_str().map(archive_of))
        .flatten();
    Some(ManifestEntry {
        seq,
        kind: kind.to_string(),
        record_id,
        event_id: leaf["event_id"].as_i64(),
        status,
        archive,
    })
}

/// One capture or failure as the bundle's archive holds it: found by its
/// WARC metadata record's `ledger_seq`.
#[derive(Debug, Clone)]
pub(crate) struct Archived {
    /// The WARC file, e.g. `archive/iso.warc.gz`.
    pub file: String,
    pub record_id: Option<i64>,
    /// The metadata says its body was pruned.
    pub raw_pruned: bool,
    /// The record its `WARC-Concurrent-To` names (the response, revisit
    /// or request) is in the same file, and its WARC type.
    pub concurrent: Option<String>,
}

/// What the bundle holds, as `verify` read it.
pub(crate) struct Held<'a> {
    /// The newest checkpoint of the bundle.
    pub latest: &'a Checkpoint,
    /// The leaves by seq.
    pub leaves: &'a HashMap<i64, Value>,
    /// Captures and failures in the archive, by ledger seq.
    pub archived: &'a HashMap<i64, Archived>,
}

/// What a bundle must hold by its manifest and ledger: the records whose
/// capture it includes (their events must be in `changes.jsonl`).
#[derive(Debug, Default)]
pub(crate) struct Expected {
    pub included_records: HashSet<i64>,
}

/// Checks the manifest against the checkpoint, the ledger and the archive;
/// returns what the bundle must include.
pub(crate) fn check(manifest: &Manifest, held: &Held<'_>, findings: &mut Vec<Finding>) -> Expected {
    let mut expected = Expected::default();
    let mut problem = |concerns: String, text: String| findings.push(Finding::new(concerns, text));
    if manifest.format != FORMAT {
        problem(
            FILE.into(),
            format!("is in format {:?}, not {FORMAT:?}", manifest.format),
        );
    }
    let latest = held.latest;
    let signed = CheckpointRef {
        id: latest.id,
        tree_size: latest.tree_size,
        root: latest.root.clone(),
    };
    if manifest.checkpoint != signed {
        problem(
            FILE.into(),
            format!(
                "names checkpoint {} (tree size {}), not the bundle's newest, checkpoint {} (tree size {}): the manifest or the checkpoints were replaced",
                manifest.checkpoint.id, manifest.checkpoint.tree_size, latest.id, latest.tree_size
            ),
        );
    }
    if manifest.ledger.size != latest.tree_size {
        problem(
            FILE.into(),
            format!(
                "says the ledger runs to {} entries, but checkpoint {} signs {}",
                manifest.ledger.size, latest.id, latest.tree_size
            ),
        );
    }
    let Some(selection) = manifest.selection.selection() else {
        problem(FILE.into(), "its selection's times are not RFC 3339".into());
        return expected;
    };
    let stated: BTreeMap<i64, &ManifestEntry> =
        manifest.entries.iter().map(|e| (e.seq, e)).collect();
    let mut seqs: Vec<i64> = held.leaves.keys().copied().collect();
    seqs.sort_unstable();
    // Captures first: an event goes with its record's capture.
    let mut selected_records = HashSet::new();
    for &seq in &seqs {
        let leaf = &held.leaves[&seq];
        if matches!(leaf["type"].as_str(), Some("capture" | "failure"))
            && let (Some(source), Some(at), Some(record)) = (
                leaf["source"].as_str(),
                leaf["at"].as_str(),
                leaf["record_id"].as_i64(),
            )
            && selection.selects(source, at)
        {
            selected_records.insert(record);
        }
    }
    for &seq in &seqs {
        let leaf = &held.leaves[&seq];
        let kind = leaf["type"].as_str().unwrap_or_default();
        if !matches!(kind, "capture" | "failure" | "event") {
            if stated.contains_key(&seq) {
                problem(
                    format!("ledger entry {seq}"),
                    format!("is a {kind} entry, but the manifest lists it as a capture or event"),
                );
            }
            continue;
        }
        let record = leaf["record_id"].as_i64().unwrap_or_default();
        let selected = selected_records.contains(&record);
        let what = match kind {
            "event" => format!(
                "event {} (ledger entry {seq}, record {record})",
                leaf["event_id"].as_i64().unwrap_or_default()
            ),
            _ => format!("{kind} of record {record} (ledger entry {seq})"),
        };
        let Some(entry) = stated.get(&seq) else {
            problem(
                FILE.into(),
                format!("does not list {what}: the manifest was cut"),
            );
            continue;
        };
        if entry.kind != kind
            || entry.record_id != record
            || entry.event_id != leaf["event_id"].as_i64()
        {
            problem(
                format!("ledger entry {seq}"),
                format!(
                    "the manifest lists it as {} of record {}, but the ledger entry is {what}",
                    entry.kind, entry.record_id
                ),
            );
        }
        if selected != (entry.status != Status::NotSelected) {
            problem(
                what.clone(),
                if selected {
                    format!(
                        "is within the bundle's selection but the manifest says {}: it was left out of the bundle",
                        entry.status.as_str()
                    )
                } else {
                    "is outside the bundle's selection but the manifest says it is included".into()
                },
            );
        }
        if !selected || kind == "event" {
            if kind != "event"
                && let Some(archived) = held.archived.get(&seq)
            {
                problem(
                    format!("{} ({what})", archived.file),
                    "holds a capture outside the bundle's selection: it was added".into(),
                );
            }
            continue;
        }
        expected.included_records.insert(record);
        let file = archive_of(leaf["source"].as_str().unwrap_or_default());
        match held.archived.get(&seq) {
            None => problem(
                what,
                format!("is missing from {file}: its WARC records were removed"),
            ),
            Some(archived) => {
                if archived.file != file {
                    problem(
                        what.clone(),
                        format!("is in {}, not in {file}", archived.file),
                    );
                }
                if archived.record_id != Some(record) {
                    problem(
                        what.clone(),
                        format!(
                            "its WARC metadata record in {} names another record: the capture was replaced",
                            archived.file
                        ),
                    );
                }
                let needs_response = !leaf["status"].is_null();
                match archived.concurrent.as_deref() {
                    Some("response" | "revisit") => {}
                    Some(_) if !needs_response => {}
                    _ => problem(
                        what.clone(),
                        format!(
                            "its {} record is missing from {}: it was removed",
                            if needs_response {
                                "response"
                            } else {
                                "request"
                            },
                            archived.file
                        ),
                    ),
                }
                if archived.raw_pruned != (entry.status == Status::Pruned) {
                    problem(
                        what,
                        format!(
                            "the manifest says {}, but its WARC metadata says the body was{} pruned",
                            entry.status.as_str(),
                            if archived.raw_pruned { "" } else { " not" }
                        ),
                    );
                }
            }
        }
    }
    for (seq, entry) in &stated {
        if !held.leaves.contains_key(seq) {
            problem(
                FILE.into(),
                format!(
                    "lists ledger entry {seq} ({} of record {}), which is not in ledger/entries.jsonl: the ledger line was removed",
                    entry.kind, entry.record_id
                ),
            );
        }
    }
    expected
}
