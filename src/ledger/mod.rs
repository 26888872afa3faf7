//! The append-only ledger: every capture, failure, event, alert delivery
//! (done or given up), prune, daemon start and stop and configuration
//! change is one leaf of an RFC 6962 Merkle log (see [`merkle`]).
//! A leaf is a JSON object in the
//! canonical form of RFC 8785 (JCS) holding `seq` (0-based, the leaf's
//! index in the tree), `type`, `at`, `source`, digests and references, and
//! `prev`, the previous leaf's hash (zeros for the first).
//!
//! Canonical JSON: serde_json's `Value` map is ordered by key (the crate's
//! `preserve_order` feature is off; a unit test pins it), writes no
//! whitespace, escapes strings as RFC 8785 section 3.2.2.2 asks (the two-
//! character escapes, `\u00xx` in lowercase hex for other controls, all
//! else as UTF-8), and our leaves hold only strings, integers, booleans
//! and null: no floats, whose formatting is where JCS and serde_json could
//! differ. Keys are ASCII, so UTF-8 byte order equals JCS's UTF-16 order.
//!
//! The `ledger` table refuses UPDATE and DELETE (triggers, see the schema).
//!
//! A capture or failure leaf holds nothing its record does not (see
//! [`LeafRecord`]), so from schema 8 on it is stored as its hash and the
//! record's id, with `leaf` empty, and rebuilt byte for byte from the
//! record when read: about 440 of the ~2,200 bytes an unchanged fetch
//! added. Its stored hash (and the signed root over it) still commits to
//! the leaf: a record altered afterwards rebuilds a leaf that does not
//! match it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub mod event_leaf;
pub mod merkle;

use crate::clock;
use crate::hash::Digest;
use crate::store::{
    DerivedHashes, EventRow, LeafRecord, LeafRow, LedgerRow, NewLeaf, RecordRow, Result, Store,
    StoreError, WriteTransaction,
};
use merkle::Hash;

/// One stored leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    /// The canonical JSON, exactly the bytes hashed. Empty for a leaf to be
    /// rebuilt from a record that is missing.
    pub leaf: String,
    /// `SHA-256(0x00 || leaf)`, hex.
    pub leaf_hash: String,
    /// The record a capture or failure leaf was rebuilt from (`None`: the
    /// leaf is stored as it is).
    #[serde(skip)]
    pub rebuilt_from: Option<i64>,
}

/// A capture or failure leaf's members: every one comes from the record.
fn attempt_members(row: &RecordRow, record_hash: &Digest) -> LeafRecord {
    LeafRecord {
        record_id: row.id,
        record_hash: record_hash.to_hex(),
        source: row.source.clone(),
        finished_at: row.finished_at.clone(),
        outcome: row.outcome.as_str().to_string(),
        url: row.url.clone(),
        status: row.status,
        raw_hash: row.raw_hash.clone(),
        text_hash: row.text_hash.clone(),
        error_class: row.error_class.clone(),
    }
}

/// The canonical capture or failure leaf of `record` at `seq` after the
/// leaf hashed `prev`.
fn attempt_canonical(record: &LeafRecord, seq: i64, prev: &str) -> String {
    let kind = if record.outcome == "failed" {
        "failure"
    } else {
        "capture"
    };
    let leaf = AttemptLeafJson {
        at: &record.finished_at,
        error_class: record.error_class.as_deref(),
        outcome: &record.outcome,
        prev,
        raw_hash: record.raw_hash.as_deref(),
        record_hash: &record.record_hash,
        record_id: record.record_id,
        seq,
        source: &record.source,
        status: record.status,
        text_hash: record.text_hash.as_deref(),
        kind,
        url: &record.url,
    };
    serde_json::to_string(&leaf).expect("a leaf serialises")
}

/// An attempt leaf's members in the order of their names, which is the
/// canonical key order: serialising it gives the canonical form directly,
/// where [`canonical`] builds and sorts a map first (this runs for every
/// record written and every leaf rebuilt).
#[derive(Serialize)]
struct AttemptLeafJson<'a> {
    at: &'a str,
    error_class: Option<&'a str>,
    outcome: &'a str,
    prev: &'a str,
    raw_hash: Option<&'a str>,
    record_hash: &'a str,
    record_id: i64,
    seq: i64,
    source: &'a str,
    status: Option<i64>,
    text_hash: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    url: &'a str,
}

/// The canonical JSON of a leaf: `fields` and the common members.
fn canonical(
    mut leaf: Map<String, Value>,
    seq: i64,
    kind: &str,
    at: &str,
    source: Option<&str>,
    prev: &str,
) -> String {
    leaf.insert("seq".into(), json!(seq));
    leaf.insert("type".into(), json!(kind));
    leaf.insert("at".into(), json!(at));
    leaf.insert("source".into(), json!(source));
    leaf.insert("prev".into(), json!(prev));
    Value::Object(leaf).to_string()
}

/// A daemon lifecycle moment worth a ledger leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    DaemonStart,
    DaemonStop,
}

/// A leaf built and waiting for its place in the log: the store appends
/// it ([`NewLeaf`]) after the last one.
pub(crate) enum Leaf {
    /// A capture or failure, stored as its hash and its record's id and
    /// rebuilt from the record when read (see the module doc).
    Attempt(LeafRecord),
    /// Any other leaf: `members` and the common ones, stored as it is.
    Members {
        kind: &'static str,
        at: String,
        source: Option<String>,
        members: Map<String, Value>,
    },
}

impl Leaf {
    /// A leaf of type `kind`; `fields` (a JSON object) are its members.
    pub(crate) fn members(
        kind: &'static str,
        at: &str,
        source: Option<&str>,
        fields: Value,
    ) -> Leaf {
        Leaf::Members {
            kind,
            at: at.to_string(),
            source: source.map(str::to_string),
            members: object(fields),
        }
    }
}

impl NewLeaf for Leaf {
    fn at(self, seq: i64, prev: &str) -> LeafRow {
        match self {
            Leaf::Attempt(record) => LeafRow {
                leaf_hash: merkle::leaf_hash(attempt_canonical(&record, seq, prev).as_bytes()),
                // Stored without its text: `entries` rebuilds it from the record.
                leaf: String::new(),
                record_id: Some(record.record_id),
            },
            Leaf::Members {
                kind,
                at,
                source,
                members,
            } => {
                let leaf = canonical(members, seq, kind, &at, source.as_deref(), prev);
                LeafRow {
                    leaf_hash: merkle::leaf_hash(leaf.as_bytes()),
                    leaf,
                    record_id: None,
                }
            }
        }
    }
}

/// Appends `leaf`; call inside the caller's write transaction
/// ([`Store::write_transaction`]).
pub(crate) fn append(store: &WriteTransaction<'_>, leaf: Leaf) -> Result<Entry> {
    let (seq, row) = store.append_leaf(leaf)?;
    Ok(Entry {
        seq,
        leaf: row.leaf,
        leaf_hash: hex::encode(row.leaf_hash),
        rebuilt_from: row.record_id,
    })
}

/// The leaves for one recorded fetch attempt and the events it raised,
/// in the order the store appends them (inside the attempt's
/// transaction). `hashes` looks up the text and scope hashes of a record
/// an event compares.
pub(crate) fn attempt_leaves(
    row: &RecordRow,
    record_hash: &Digest,
    events: &[EventRow],
    mut hashes: impl FnMut(i64) -> Result<Option<DerivedHashes>>,
) -> Result<Vec<Leaf>> {
    let mut leaves = Vec::with_capacity(1 + events.len());
    leaves.push(Leaf::Attempt(attempt_members(row, record_hash)));
    for event in events {
        leaves.push(event_leaf(event, Map::new(), &mut hashes)?);
    }
    Ok(leaves)
}

/// The leaf of a raised event, stating its content (see
/// [`event_leaf`]); `extra` members join the common ones, and
/// `hashes` looks up the text and scope hashes of the records it compares.
pub(crate) fn event_leaf(
    event: &EventRow,
    extra: Map<String, Value>,
    mut hashes: impl FnMut(i64) -> Result<Option<DerivedHashes>>,
) -> Result<Leaf> {
    let mut hashes = |id: Option<i64>| -> Result<DerivedHashes> {
        Ok(match id {
            Some(id) => hashes(id)?.unwrap_or_default(),
            None => DerivedHashes::default(),
        })
    };
    let from = hashes(event.from_snapshot)?;
    let to = hashes(Some(event.to_snapshot))?;
    let mut members = event_leaf::members(event, &from, &to);
    members.extend(extra);
    Ok(Leaf::Members {
        kind: "event",
        at: event.detected_at.clone(),
        source: Some(event.source.clone()),
        members,
    })
}

/// An alert delivery done or given up, as its leaf records it.
pub(crate) struct DeliveryLeaf<'a> {
    pub delivery_id: &'a str,
    pub channel: &'a str,
    /// `done` or `failed`.
    pub state: &'a str,
    pub attempts: i64,
    pub event_id: i64,
    /// The record of the event delivered.
    pub record_id: i64,
    pub source: &'a str,
    /// Why it failed (secret-free: channels strip URLs).
    pub error: Option<&'a str>,
}

/// The `alert-delivery` leaf of a delivery done or given up, for the
/// transaction that records the outcome.
pub(crate) fn delivery_leaf(delivery: &DeliveryLeaf<'_>, at: &str) -> Leaf {
    let fields = json!({
        "delivery_id": delivery.delivery_id,
        "channel": delivery.channel,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "event_id": delivery.event_id,
        "record_id": delivery.record_id,
        "error": delivery.error,
    });
    Leaf::members("alert-delivery", at, Some(delivery.source), fields)
}

/// The members of a JSON object (`json!({...})` always makes one).
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Appends `fields` as a leaf of type `kind` in its own transaction.
pub(crate) fn append_now(
    store: &Store,
    kind: &'static str,
    source: Option<&str>,
    fields: Value,
) -> Result<Entry> {
    let tx = store.write_transaction()?;
    let entry = append(
        &tx,
        Leaf::members(kind, &clock::format(clock::now()), source, fields),
    )?;
    tx.commit()?;
    Ok(entry)
}

/// Records a daemon start or stop in the ledger; `scopewatch run` calls it.
pub fn record_lifecycle(store: &Store, moment: Lifecycle) -> Result<Entry> {
    let kind = match moment {
        Lifecycle::DaemonStart => "daemon-start",
        Lifecycle::DaemonStop => "daemon-stop",
    };
    append_now(
        store,
        kind,
        None,
        json!({ "version": env!("CARGO_PKG_VERSION") }),
    )
}

/// What a `config` leaf records of the configuration in force.
pub struct ConfigLeaf<'a> {
    /// SHA-256 (hex) of the bytes the configuration was parsed from.
    pub config_sha256: &'a str,
    /// SHA-256 (hex) of `[http] ca_file`, when there is one: what TLS
    /// trusts besides Mozilla's roots can change without the file above.
    pub ca_sha256: Option<&'a str>,
    /// SHA-256 (hex) of `[evidence] tsa_ca_file`, when there is one: which
    /// TSA certificates `verify` trusts.
    pub tsa_ca_sha256: Option<&'a str>,
    /// Source id to extraction fingerprint (see
    /// [`crate::evidence::recheck::ExtractionSettings::fingerprints`]).
    pub extraction: &'a BTreeMap<String, String>,
}

/// Records the configuration in force when any member of `config` differs
/// from the last `config` leaf; returns the new leaf, or `None` when
/// unchanged. Called before each sweep, so the leaf in force precedes the
/// captures made with it.
pub fn record_config(store: &Store, config: &ConfigLeaf<'_>) -> Result<Option<Entry>> {
    let fields = json!({
        "config_sha256": config.config_sha256,
        "ca_sha256": config.ca_sha256,
        "extraction": config.extraction,
        "tsa_ca_sha256": config.tsa_ca_sha256,
    });
    let last = last_config_leaf(store)?;
    // A leaf from before `ca_sha256` or `tsa_ca_sha256` existed reads it
    // as null.
    if last.is_some_and(|leaf| {
        ["config_sha256", "ca_sha256", "extraction", "tsa_ca_sha256"]
            .iter()
            .all(|member| leaf[member] == fields[member])
    }) {
        return Ok(None);
    }
    append_now(store, "config", None, fields).map(Some)
}

/// The latest `config` leaf, parsed.
fn last_config_leaf(store: &Store) -> Result<Option<Value>> {
    Ok(config_leaf_before(store, i64::MAX)?.map(|(_, leaf)| leaf))
}

/// The last `config` leaf before `seq` (the one in force there), its seq
/// and its JSON.
pub fn config_leaf_before(store: &Store, seq: i64) -> Result<Option<(i64, Value)>> {
    let leaf = store.config_leaf_before(seq)?;
    Ok(leaf.and_then(|(seq, l)| Some((seq, serde_json::from_str::<Value>(&l).ok()?))))
}

/// Every leaf with `seq` in `from..to`, in order; capture and failure
/// leaves rebuilt from their records (see the module doc).
pub fn entries(store: &Store, from: i64, to: i64) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for_each_entry(store, from, to, |entry, _| {
        entries.push(entry);
        Ok::<_, StoreError>(())
    })?;
    Ok(entries)
}

/// The hash (hex) of the leaf before `seq`: zeros before the first.
pub fn prev_hash(store: &Store, seq: i64) -> Result<String> {
    Ok(store
        .leaf_hash_before(seq)?
        .unwrap_or_else(|| Digest::ZERO.to_hex()))
}

/// Feeds every leaf with `seq` in `from..to` to `each`, in order, one row
/// at a time (as [`entries`] reads them, without holding them all), with
/// the outcome of the record a capture or failure leaf was rebuilt from.
pub fn for_each_entry<E: From<StoreError>>(
    store: &Store,
    from: i64,
    to: i64,
    mut each: impl FnMut(Entry, Option<&str>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut prev = prev_hash(store, from)?;
    store.for_each_leaf(from, to, |row| {
        let (entry, outcome) = entry_of(row, &prev);
        prev.clone_from(&entry.leaf_hash);
        each(entry, outcome.as_deref())
    })
}

/// One stored leaf after the leaf hashed `prev`, a capture or failure
/// leaf rebuilt from its record; with that record's outcome.
fn entry_of(row: LedgerRow, prev: &str) -> (Entry, Option<String>) {
    let (leaf, outcome) = match (row.record_id, row.record) {
        (Some(_), Some(record)) => (
            attempt_canonical(&record, row.seq, prev),
            Some(record.outcome),
        ),
        // Stored as it is, or its record is gone (`leaf` is empty).
        _ => (row.leaf, None),
    };
    (
        Entry {
            seq: row.seq,
            leaf,
            leaf_hash: row.leaf_hash,
            rebuilt_from: row.record_id,
        },
        outcome,
    )
}

/// Parses a 64-digit hex hash.
pub(crate) fn parse_hash(text: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// One problem found in the ledger, named by the leaf concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerProblem {
    pub seq: i64,
    pub problem: String,
    /// The record a rebuilt leaf comes from.
    pub record_id: Option<i64>,
}

/// Recomputes every leaf hash and `prev` link and checks each leaf's
/// `seq`; returns the problems and the leaf hashes as stored (for the tree).
pub fn check_entries(entries: &[Entry]) -> (Vec<LedgerProblem>, Vec<Hash>) {
    let mut checker = EntryChecker::default();
    let hashes = entries
        .iter()
        .map(|entry| checker.check(entry, false))
        .collect();
    (checker.problems, hashes)
}

/// [`check_entries`] one leaf at a time, in order, for a ledger read as a
/// stream ([`for_each_entry`]).
#[derive(Debug)]
pub struct EntryChecker {
    index: i64,
    prev: String,
    pub problems: Vec<LedgerProblem>,
}

impl Default for EntryChecker {
    fn default() -> Self {
        EntryChecker {
            index: 0,
            prev: Digest::ZERO.to_hex(),
            problems: Vec::new(),
        }
    }
}

impl EntryChecker {
    /// A checker of the leaves from `seq` on, the leaf before which is
    /// hashed `prev` (hex).
    pub fn starting_at(seq: i64, prev: String) -> EntryChecker {
        EntryChecker {
            index: seq,
            prev,
            problems: Vec::new(),
        }
    }

    /// Checks the next leaf; returns its hash as stored (the computed one
    /// when the stored one is not a hash), for the tree. `streamed`: the
    /// entry comes straight from [`for_each_entry`], which rebuilt a
    /// capture or failure leaf with this very `seq` and `prev`, so only its
    /// hash is left to check, not its own members (parsing a million
    /// rebuilt leaves back would only confirm what was just written).
    pub fn check(&mut self, entry: &Entry, streamed: bool) -> Hash {
        let index = self.index;
        let problems = &mut self.problems;
        let mut problem = |text: String| {
            problems.push(LedgerProblem {
                seq: entry.seq,
                problem: text,
                record_id: entry.rebuilt_from,
            })
        };
        if entry.seq != index {
            problem(format!(
                "ledger entry {} is at position {index}: entries are missing or out of order",
                entry.seq
            ));
        }
        let computed = merkle::leaf_hash(entry.leaf.as_bytes());
        // A leaf whose record is missing could not be rebuilt: the
        // verifier's record checks name it.
        let rebuilt = entry.rebuilt_from.is_some();
        if !(rebuilt && entry.leaf.is_empty()) {
            check_hash(entry, &computed, &mut problem);
            if !(rebuilt && streamed) {
                check_members(entry, &self.prev, &mut problem);
            }
        }
        self.index += 1;
        self.prev.clone_from(&entry.leaf_hash);
        parse_hash(&entry.leaf_hash).unwrap_or(computed)
    }
}

/// One leaf's hash against its text.
fn check_hash(entry: &Entry, computed: &Hash, problem: &mut impl FnMut(String)) {
    if hex::encode(computed) != entry.leaf_hash {
        problem(match entry.rebuilt_from {
            Some(record) => format!(
                "the leaf rebuilt from record {record} does not match the leaf hash: the record, or the hash of the entry before it, was altered (see the record's own findings)"
            ),
            None => "the leaf hash does not match the leaf: the entry was altered".into(),
        });
    }
}

/// A leaf's own `seq` and `prev` against its place in the log.
fn check_members(entry: &Entry, prev: &str, problem: &mut impl FnMut(String)) {
    match serde_json::from_str::<Value>(&entry.leaf) {
        Ok(leaf) => {
            if leaf["seq"].as_i64() != Some(entry.seq) {
                problem("the leaf's own seq differs from its place in the log".into());
            }
            if leaf["prev"].as_str() != Some(prev) {
                problem(
                    "prev does not match the previous leaf's hash: the log is broken or reordered here"
                        .into(),
                );
            }
        }
        Err(e) => problem(format!("the leaf is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_leaf(config_sha256: &str) -> ConfigLeaf<'_> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        ConfigLeaf {
            config_sha256,
            ca_sha256: None,
            tsa_ca_sha256: None,
            extraction: &NONE,
        }
    }

    #[test]
    fn leaves_are_canonical_json() {
        // RFC 8785: keys sorted, no whitespace, the short escapes, other
        // controls as lowercase \u00xx, non-ASCII as UTF-8, '/' unescaped.
        let value = json!({"b": 1, "a": "\u{1}\n\"é/", "c": null, "A": [true, -5]});
        assert_eq!(
            value.to_string(),
            r#"{"A":[true,-5],"a":"\u0001\n\"é/","b":1,"c":null}"#
        );
    }

    #[test]
    fn attempt_leaves_are_the_canonical_form_of_their_members() {
        let odd = "quote \" backslash \\ control \u{1} caf\u{e9} \u{2705} </script>";
        let leaf = |outcome: &str, some: Option<&str>| LeafRecord {
            record_id: 7,
            record_hash: Digest::of(b"record").to_hex(),
            source: odd.into(),
            finished_at: "2026-11-29T08:00:00.000Z".into(),
            outcome: outcome.into(),
            url: odd.into(),
            status: some.map(|_| 200),
            raw_hash: some.map(str::to_string),
            text_hash: some.map(str::to_string),
            error_class: some.map(str::to_string),
        };
        for (leaf, kind) in [
            (leaf("ok", Some(odd)), "capture"),
            (leaf("failed", None), "failure"),
        ] {
            // The generic path: the members as a map, sorted by serde_json.
            let members = object(json!({
                "record_id": leaf.record_id,
                "record_hash": leaf.record_hash,
                "outcome": leaf.outcome,
                "url": leaf.url,
                "status": leaf.status,
                "raw_hash": leaf.raw_hash,
                "text_hash": leaf.text_hash,
                "error_class": leaf.error_class,
            }));
            let generic = canonical(
                members,
                3,
                kind,
                &leaf.finished_at,
                Some(&leaf.source),
                "ab",
            );
            assert_eq!(attempt_canonical(&leaf, 3, "ab"), generic);
        }
    }

    #[test]
    fn leaves_link() {
        let store = Store::open_in_memory().unwrap();
        let first = record_lifecycle(&store, Lifecycle::DaemonStart).unwrap();
        assert_eq!(
            record_config(&store, &config_leaf("a1"))
                .unwrap()
                .unwrap()
                .seq,
            1
        );
        assert_eq!(
            record_config(&store, &config_leaf("a1")).unwrap(),
            None,
            "unchanged"
        );
        assert!(record_config(&store, &config_leaf("a2")).unwrap().is_some());
        let entries = entries(&store, 0, 10).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0], first);
        let leaf: Value = serde_json::from_str(&entries[1].leaf).unwrap();
        assert_eq!(leaf["prev"], json!(first.leaf_hash));
        assert_eq!(leaf["type"], "config");
        assert!(check_entries(&entries).0.is_empty());
    }

    #[test]
    fn check_names_an_altered_or_swapped_leaf() {
        let store = Store::open_in_memory().unwrap();
        for i in 0..4 {
            record_config(&store, &config_leaf(&format!("v{i}"))).unwrap();
        }
        let mut entries = entries(&store, 0, 10).unwrap();
        entries[1].leaf = entries[1].leaf.replace("config", "confiG");
        let (problems, _) = check_entries(&entries);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].seq, 1);
        assert!(problems[0].problem.contains("altered"));

        let mut entries = super::entries(&store, 0, 10).unwrap();
        entries.swap(2, 3);
        let seqs: Vec<i64> = check_entries(&entries).0.iter().map(|p| p.seq).collect();
        assert!(seqs.contains(&2) && seqs.contains(&3), "{seqs:?}");
    }
}
