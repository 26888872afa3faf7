//! The append-only ledger: every capture, failure, event, alert delivery
//! (done or given up), prune, daemon start and stop and configuration
//! change is one leaf of an RFC 6962 Merkle log (see [`super::merkle`]).
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
//! [`AttemptLeaf`]), so from schema 8 on it is stored as its hash and the
//! record's id, with `leaf` empty, and rebuilt byte for byte from the
//! record when read: about 440 of the ~2,200 bytes an unchanged fetch
//! added. Its stored hash (and the signed root over it) still commits to
//! the leaf: a record altered afterwards rebuilds a leaf that does not
//! match it.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::merkle::{self, Hash};
use crate::clock;
use crate::hash::Digest;
use crate::store::{DerivedHashes, EventRow, RecordRow, Result, Store, StoreError};

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

/// A capture or failure leaf: every member comes from the record.
struct AttemptLeaf {
    record_id: i64,
    record_hash: String,
    source: String,
    finished_at: String,
    outcome: String,
    url: String,
    status: Option<i64>,
    raw_hash: Option<String>,
    text_hash: Option<String>,
    error_class: Option<String>,
}

impl AttemptLeaf {
    fn of(row: &RecordRow, record_hash: &Digest) -> AttemptLeaf {
        AttemptLeaf {
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

    /// The canonical leaf at `seq` after the leaf hashed `prev`.
    fn canonical(&self, seq: i64, prev: &str) -> String {
        let kind = if self.outcome == "failed" {
            "failure"
        } else {
            "capture"
        };
        let leaf = AttemptLeafJson {
            at: &self.finished_at,
            error_class: self.error_class.as_deref(),
            outcome: &self.outcome,
            prev,
            raw_hash: self.raw_hash.as_deref(),
            record_hash: &self.record_hash,
            record_id: self.record_id,
            seq,
            source: &self.source,
            status: self.status,
            text_hash: self.text_hash.as_deref(),
            kind,
            url: &self.url,
        };
        serde_json::to_string(&leaf).expect("a leaf serialises")
    }
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

/// The next leaf's `seq` and `prev` (the last leaf's hash).
fn next_position(conn: &Connection) -> Result<(i64, String)> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, leaf_hash FROM ledger ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (0, Digest::ZERO.to_hex()),
    })
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

/// Appends one leaf of type `kind`; `fields` are merged into the leaf.
/// Call inside the caller's write transaction.
pub(crate) fn append(
    conn: &Connection,
    kind: &str,
    at: &str,
    source: Option<&str>,
    fields: Map<String, Value>,
) -> Result<Entry> {
    let (seq, prev) = next_position(conn)?;
    let leaf = canonical(fields, seq, kind, at, source, &prev);
    let leaf_hash = merkle::leaf_hash(leaf.as_bytes());
    conn.prepare_cached("INSERT INTO ledger_rows (seq, leaf, leaf_hash) VALUES (?1, ?2, ?3)")?
        .execute(params![seq, leaf, &leaf_hash[..]])?;
    Ok(Entry {
        seq,
        leaf,
        leaf_hash: hex::encode(leaf_hash),
        rebuilt_from: None,
    })
}

/// The leaves for one recorded fetch attempt and the events it raised:
/// called by `Store::record_attempt` inside its transaction.
pub(crate) fn record_attempt(
    conn: &Connection,
    row: &RecordRow,
    record_hash: &Digest,
    events: &[EventRow],
) -> Result<()> {
    let (seq, prev) = next_position(conn)?;
    let leaf = AttemptLeaf::of(row, record_hash).canonical(seq, &prev);
    let leaf_hash = merkle::leaf_hash(leaf.as_bytes());
    // Stored without its text: `entries` rebuilds it from the record.
    conn.prepare_cached(
        "INSERT INTO ledger_rows (seq, leaf, leaf_hash, record_id) VALUES (?1, '', ?2, ?3)",
    )?
    .execute(params![seq, &leaf_hash[..], row.id])?;
    for event in events {
        record_event(conn, event, Map::new())?;
    }
    Ok(())
}

/// The leaf of a raised event, stating its content (see
/// [`super::event_leaf`]); `extra` members join the common ones.
/// Call inside the transaction that inserted the event.
pub(crate) fn record_event(
    conn: &Connection,
    event: &EventRow,
    extra: Map<String, Value>,
) -> Result<Entry> {
    let hashes = |id: Option<i64>| -> Result<DerivedHashes> {
        Ok(match id {
            Some(id) => crate::store::derived_hashes(conn, id)?.unwrap_or_default(),
            None => DerivedHashes::default(),
        })
    };
    let mut fields = super::event_leaf::members(
        event,
        &hashes(event.from_snapshot)?,
        &hashes(Some(event.to_snapshot))?,
    );
    fields.extend(extra);
    append(
        conn,
        "event",
        &event.detected_at,
        Some(&event.source),
        fields,
    )
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

/// The `alert-delivery` leaf of a delivery done or given up. Call inside
/// the transaction that recorded the outcome.
pub(crate) fn record_delivery(
    conn: &Connection,
    delivery: &DeliveryLeaf<'_>,
    at: &str,
) -> Result<Entry> {
    let fields = object(json!({
        "delivery_id": delivery.delivery_id,
        "channel": delivery.channel,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "event_id": delivery.event_id,
        "record_id": delivery.record_id,
        "error": delivery.error,
    }));
    append(conn, "alert-delivery", at, Some(delivery.source), fields)
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
    kind: &str,
    source: Option<&str>,
    fields: Value,
) -> Result<Entry> {
    let tx = rusqlite::Transaction::new_unchecked(store.conn(), TransactionBehavior::Immediate)?;
    let entry = append(
        &tx,
        kind,
        &clock::format(clock::now()),
        source,
        object(fields),
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
    /// [`super::recheck::ExtractionSettings::fingerprints`]).
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
    let last = last_config_leaf(store.conn())?;
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
fn last_config_leaf(conn: &Connection) -> Result<Option<Value>> {
    Ok(config_leaf_before(conn, i64::MAX)?.map(|(_, leaf)| leaf))
}

/// The last `config` leaf before `seq` (the one in force there), its seq
/// and its JSON: one seek in the index of config leaves.
pub fn config_leaf_before(conn: &Connection, seq: i64) -> Result<Option<(i64, Value)>> {
    let leaf: Option<(i64, String)> = conn
        .prepare_cached(
            // Quotes inside JSON strings are escaped, so only a leaf's own
            // `type` member can match.
            r#"SELECT seq, leaf FROM ledger WHERE seq < ?1 AND leaf LIKE '%"type":"config"%'
               ORDER BY seq DESC LIMIT 1"#,
        )?
        .query_row([seq], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(leaf.and_then(|(seq, l)| Some((seq, serde_json::from_str::<Value>(&l).ok()?))))
}

/// Every leaf with `seq` in `from..to`, in order; capture and failure
/// leaves rebuilt from their records (see the module doc).
pub fn entries(conn: &Connection, from: i64, to: i64) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for_each_entry(conn, from, to, |entry, _| {
        entries.push(entry);
        Ok::<_, StoreError>(())
    })?;
    Ok(entries)
}

/// The hash (hex) of the leaf before `seq`: zeros before the first.
pub fn prev_hash(conn: &Connection, seq: i64) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT leaf_hash FROM ledger WHERE seq = ?1 - 1")?
        .query_row([seq], |row| row.get(0))
        .optional()?
        .unwrap_or_else(|| Digest::ZERO.to_hex()))
}

/// Whether a `prune` leaf before `seq` names the raw body `raw_hash`
/// (hex). A walk back through the leaves stored as text; asked only for a
/// pruned body a record after `seq` names, which retention makes rare.
pub fn prune_logged_before(conn: &Connection, seq: i64, raw_hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            r#"SELECT 1 FROM ledger WHERE seq < ?1 AND leaf LIKE '%"type":"prune"%'
               AND instr(leaf, '"raw_hash":"' || ?2 || '"') > 0 LIMIT 1"#,
        )?
        .query_row(params![seq, raw_hash], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Feeds every leaf with `seq` in `from..to` to `each`, in order, one row
/// at a time (as [`entries`] reads them, without holding them all), with
/// the outcome of the record a capture or failure leaf was rebuilt from.
pub fn for_each_entry<E: From<StoreError>>(
    conn: &Connection,
    from: i64,
    to: i64,
    mut each: impl FnMut(Entry, Option<&str>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut prev = prev_hash(conn, from)?;
    let mut statement = conn
        .prepare(
            "SELECT l.seq, l.leaf, l.leaf_hash, l.record_id, r.id, r.record_hash, r.source,
                r.finished_at, r.outcome, r.url, r.status, r.raw_hash, r.text_hash,
                r.error_class
         FROM ledger l LEFT JOIN records r ON r.id = l.record_id
         WHERE l.seq >= ?1 AND l.seq < ?2 ORDER BY l.seq",
        )
        .map_err(StoreError::from)?;
    let mut rows = statement.query([from, to]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let (entry, outcome) = entry_of(row, &prev).map_err(StoreError::from)?;
        prev.clone_from(&entry.leaf_hash);
        each(entry, outcome.as_deref())?;
    }
    Ok(())
}

/// One row of [`for_each_entry`]'s query after the leaf hashed `prev`.
fn entry_of(row: &rusqlite::Row<'_>, prev: &str) -> rusqlite::Result<(Entry, Option<String>)> {
    let seq = row.get(0)?;
    let rebuilt_from: Option<i64> = row.get(3)?;
    let (leaf, outcome) = match (rebuilt_from, row.get::<_, Option<i64>>(4)?) {
        (Some(_), Some(record_id)) => {
            let leaf = AttemptLeaf {
                record_id,
                record_hash: row.get(5)?,
                source: row.get(6)?,
                finished_at: row.get(7)?,
                outcome: row.get(8)?,
                url: row.get(9)?,
                status: row.get(10)?,
                raw_hash: row.get(11)?,
                text_hash: row.get(12)?,
                error_class: row.get(13)?,
            };
            (leaf.canonical(seq, prev), Some(leaf.outcome))
        }
        // Stored as it is, or its record is gone (`leaf` is empty).
        _ => (row.get(1)?, None),
    };
    Ok((
        Entry {
            seq,
            leaf,
            leaf_hash: row.get(2)?,
            rebuilt_from,
        },
        outcome,
    ))
}

/// Feeds the leaf hashes with `seq` in `from..to` to `each`, in order, one
/// row at a time (not all in memory, and not the leaves themselves).
pub fn for_each_leaf_hash<E: From<StoreError>>(
    conn: &Connection,
    from: i64,
    to: i64,
    mut each: impl FnMut(i64, &str) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut statement = conn
        .prepare("SELECT seq, leaf_hash FROM ledger WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")
        .map_err(StoreError::from)?;
    let mut rows = statement.query([from, to]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let seq: i64 = row.get(0).map_err(StoreError::from)?;
        let hash: String = row.get(1).map_err(StoreError::from)?;
        each(seq, &hash)?;
    }
    Ok(())
}

/// Leaves stored. `seq` runs from 0 without gaps (the triggers refuse
/// deletes), so this is the last `seq` plus one: a lookup, not a scan.
pub fn size(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger")?
        .query_row([], |row| row.get(0))?)
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
        let leaf = |outcome: &str, some: Option<&str>| AttemptLeaf {
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
            assert_eq!(leaf.canonical(3, "ab"), generic);
        }
    }

    #[test]
    fn leaves_link_and_the_table_refuses_edits() {
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
        let entries = entries(store.conn(), 0, 10).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0], first);
        let leaf: Value = serde_json::from_str(&entries[1].leaf).unwrap();
        assert_eq!(leaf["prev"], json!(first.leaf_hash));
        assert_eq!(leaf["type"], "config");
        assert!(check_entries(&entries).0.is_empty());

        for sql in [
            "UPDATE ledger_rows SET leaf = 'x' WHERE seq = 0",
            "DELETE FROM ledger_rows WHERE seq = 2",
        ] {
            let err = store.conn().execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
    }

    #[test]
    fn a_capture_leaf_is_rebuilt_from_its_record_as_it_was_hashed() {
        let mut store = Store::open_in_memory().unwrap();
        let url = "http://127.0.0.1/a";
        let extracted = crate::extract::extract(
            b"page",
            Some("text/plain"),
            url,
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let scope = crate::scope::ScopeOutcome::Extracted(Default::default());
        crate::record::record_attempt(
            &mut store,
            &crate::record::AttemptRecord {
                source: "a".into(),
                source_url: url.into(),
                parent: None,
                capture: crate::fetch::Capture {
                    status: Some(200),
                    ..crate::fetch::Capture::begun(url.into())
                },
                result: crate::record::AttemptResult::extracted(b"page", extracted, scope).unwrap(),
                fail_after: 3,
                scope_settings: Default::default(),
                alerts: Default::default(),
                follow: None,
                via: None,
            },
        )
        .unwrap();
        let stored: (String, Option<i64>) = store
            .conn()
            .query_row(
                r#"SELECT leaf, record_id FROM ledger WHERE record_id IS NOT NULL"#,
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(stored, (String::new(), Some(1)), "only the hash is stored");
        let entries = entries(store.conn(), 0, 10).unwrap();
        let capture = entries
            .iter()
            .find(|entry| entry.rebuilt_from == Some(1))
            .unwrap();
        let leaf: Value = serde_json::from_str(&capture.leaf).unwrap();
        assert_eq!(
            (leaf["type"].as_str(), leaf["status"].as_i64()),
            (Some("capture"), Some(200))
        );
        assert!(check_entries(&entries).0.is_empty());
        // Reading from the middle rebuilds the same bytes (its prev is read).
        let tail = super::entries(store.conn(), capture.seq, 10).unwrap();
        assert_eq!(tail[0], *capture);

        store
            .conn()
            .execute("UPDATE record_rows SET status = 203 WHERE id = 1", [])
            .unwrap();
        let problems = check_entries(&super::entries(store.conn(), 0, 10).unwrap()).0;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].seq, capture.seq);
        assert!(
            problems[0].problem.contains("rebuilt from record 1"),
            "{problems:?}"
        );
    }

    #[test]
    fn check_names_an_altered_or_swapped_leaf() {
        let store = Store::open_in_memory().unwrap();
        for i in 0..4 {
            record_config(&store, &config_leaf(&format!("v{i}"))).unwrap();
        }
        let mut entries = entries(store.conn(), 0, 10).unwrap();
        entries[1].leaf = entries[1].leaf.replace("config", "confiG");
        let (problems, _) = check_entries(&entries);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].seq, 1);
        assert!(problems[0].problem.contains("altered"));

        let mut entries = super::entries(store.conn(), 0, 10).unwrap();
        entries.swap(2, 3);
        let seqs: Vec<i64> = check_entries(&entries).0.iter().map(|p| p.seq).collect();
        assert!(seqs.contains(&2) && seqs.contains(&3), "{seqs:?}");
    }
}
