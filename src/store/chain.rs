//! The hash chain over fetch records: each row carries the previous row's
//! `record_hash` as `prev_hash`, and `record_hash` is the SHA-256 of the
//! row's canonical encoding. Editing, deleting, inserting or reordering a
//! row breaks the chain at that row.
//!
//! Canonical encoding: the row as a JSON object with every column except
//! `record_hash` (`id` included), keys sorted, no whitespace, nulls kept;
//! except `tls_version`, added later (schema 7), and `fetch_details`
//! (schema 13), which are left out when null so that records made before
//! them (and plain fetches) hash as they did.
//!
//! Storage, not encoding: the rows are kept packed (`store/packed.rs`) and
//! read through the `records` view, which gives each back as hashed.

use rusqlite::types::Value;
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, Statement};
use serde::Serialize;

use super::{Result, Store, blob};
use crate::detect::Change;
use crate::hash::Digest;

/// How a fetch attempt ended, as its record states it (and hashes it: the
/// same kebab-case word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordOutcome {
    /// A body was received and extracted.
    Ok,
    /// HTTP 304: the previous content still stands.
    NotModified,
    Failed,
}

impl RecordOutcome {
    /// Every outcome, in the order the store codes them.
    pub const ALL: [RecordOutcome; 3] = [
        RecordOutcome::Ok,
        RecordOutcome::NotModified,
        RecordOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordOutcome::Ok => "ok",
            RecordOutcome::NotModified => "not-modified",
            RecordOutcome::Failed => "failed",
        }
    }
}

impl std::fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `records` row, exactly as hashed.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRow {
    pub id: i64,
    pub source: String,
    pub url: String,
    pub started_at: String,
    pub finished_at: String,
    pub outcome: RecordOutcome,
    pub change: Option<Change>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
    pub status: Option<i64>,
    pub final_url: Option<String>,
    pub redirects: String,
    pub request_headers: String,
    pub response_headers: String,
    pub remote_ip: Option<String>,
    pub tls_cert_sha256: Option<String>,
    /// The negotiated TLS version (`TLSv1.3`); see the module doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    pub content_type: Option<String>,
    pub content_kind: Option<String>,
    pub raw_hash: Option<String>,
    pub text_hash: Option<String>,
    pub scope_hash: Option<String>,
    pub prev_hash: String,
    /// How the attempt was fetched when not by one GET: JSON naming the
    /// browser that rendered it, or the portal's metadata call and the
    /// version it named (see `store::FetchedVia`); see the module doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_details: Option<String>,
}

/// A [`RecordRow`] with its fields in the order of their names, which is
/// the canonical encoding's key order: serialising it gives that encoding
/// directly, without building a sorted map of the row first (a tenth of
/// the writer's time per record).
#[derive(Serialize)]
struct Canonical<'a> {
    attempts: i64,
    change: Option<Change>,
    content_kind: &'a Option<String>,
    content_type: &'a Option<String>,
    error_class: &'a Option<String>,
    error_message: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_details: &'a Option<String>,
    final_url: &'a Option<String>,
    finished_at: &'a str,
    id: i64,
    outcome: RecordOutcome,
    prev_hash: &'a str,
    raw_hash: &'a Option<String>,
    redirects: &'a str,
    remote_ip: &'a Option<String>,
    request_headers: &'a str,
    response_headers: &'a str,
    scope_hash: &'a Option<String>,
    source: &'a str,
    started_at: &'a str,
    status: Option<i64>,
    text_hash: &'a Option<String>,
    tls_cert_sha256: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_version: &'a Option<String>,
    url: &'a str,
}

impl<'a> Canonical<'a> {
    fn of(row: &'a RecordRow) -> Self {
        Canonical {
            attempts: row.attempts,
            change: row.change,
            content_kind: &row.content_kind,
            content_type: &row.content_type,
            error_class: &row.error_class,
            error_message: &row.error_message,
            fetch_details: &row.fetch_details,
            final_url: &row.final_url,
            finished_at: &row.finished_at,
            id: row.id,
            outcome: row.outcome,
            prev_hash: &row.prev_hash,
            raw_hash: &row.raw_hash,
            redirects: &row.redirects,
            remote_ip: &row.remote_ip,
            request_headers: &row.request_headers,
            response_headers: &row.response_headers,
            scope_hash: &row.scope_hash,
            source: &row.source,
            started_at: &row.started_at,
            status: row.status,
            text_hash: &row.text_hash,
            tls_cert_sha256: &row.tls_cert_sha256,
            tls_version: &row.tls_version,
            url: &row.url,
        }
    }
}

/// The `records` view's columns, in [`RecordRow::from_row`]'s order.
const COLUMNS: &str = "id, source, url, started_at, finished_at, outcome, change, error_class,
    error_message, attempts, status, final_url, redirects, request_headers, response_headers,
    remote_ip, tls_cert_sha256, content_type, content_kind, raw_hash, text_hash, scope_hash,
    prev_hash, tls_version,
    (SELECT json FROM record_fetch_details WHERE record_id = r.id) AS fetch_details";

/// Where `record_hash` is in a [`select_records`] row; the header sets'
/// ids (request, its conditional part, response) follow it, then whether
/// `prev_hash` is derived from the previous row (packed) or stored.
const RECORD_HASH_INDEX: usize = 25;
const HEADER_SET_INDEX: usize = 26;

/// `SELECT {COLUMNS}, record_hash`, the ids of the header sets and
/// `prev_hash_derived` of the records (`r`), `rest` appended.
fn select_records(rest: &str) -> String {
    format!(
        "SELECT {COLUMNS}, record_hash, request_headers_set, request_conditional_set,
            response_headers_set, prev_hash_derived
         FROM records r {rest}"
    )
}

/// Where the next record goes: its id and the `prev_hash` it must carry.
pub struct Link {
    pub id: i64,
    /// The last record's `record_hash` as the `records` view gives it, so
    /// a new record's derived `prev_hash` is exactly what it was hashed with.
    pub prev_hash: String,
}

impl RecordRow {
    /// The canonical encoding (see the module doc).
    pub fn canonical(&self) -> String {
        serde_json::to_string(&Canonical::of(self)).expect("a record serialises")
    }

    /// SHA-256 of the canonical encoding.
    pub fn hash(&self) -> Digest {
        Digest::of(self.canonical().as_bytes())
    }

    /// A row selected as `{COLUMNS}, record_hash`, and its stored hash.
    fn with_stored_hash(row: &Row<'_>) -> rusqlite::Result<(Self, String)> {
        let record = Self::from_row(row)?;
        let stored_hash = row.get(RECORD_HASH_INDEX)?;
        Ok((record, stored_hash))
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RecordRow {
            id: row.get(0)?,
            source: row.get(1)?,
            url: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            started_at: row.get(3)?,
            finished_at: row.get(4)?,
            outcome: row.get(5)?,
            change: row.get(6)?,
            error_class: row.get(7)?,
            error_message: row.get(8)?,
            attempts: row.get(9)?,
            status: row.get(10)?,
            final_url: row.get(11)?,
            redirects: row.get(12)?,
            // NULL only when the header set was deleted: verify names it.
            request_headers: row.get::<_, Option<String>>(13)?.unwrap_or_default(),
            response_headers: row.get::<_, Option<String>>(14)?.unwrap_or_default(),
            remote_ip: row.get(15)?,
            tls_cert_sha256: row.get(16)?,
            content_type: row.get(17)?,
            content_kind: row.get(18)?,
            raw_hash: row.get(19)?,
            text_hash: row.get(20)?,
            scope_hash: row.get(21)?,
            prev_hash: row.get(22)?,
            tls_version: row.get(23)?,
            fetch_details: row.get(24)?,
        })
    }
}

/// The id and `prev_hash` for the next record. Call inside the writing
/// transaction (IMMEDIATE), so no other writer can take the same link.
pub(super) fn next_link(conn: &Connection) -> Result<Link> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT id, record_hash FROM records ORDER BY id DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match last {
        Some((id, hash)) if Digest::from_hex(&hash).is_some() => Link {
            id: id + 1,
            prev_hash: hash,
        },
        Some((id, _)) => {
            return Err(super::StoreError::Corrupt(format!(
                "record {id} has a malformed record_hash: the database was altered; run `scopewatch verify` and restore it from a backup"
            )));
        }
        None => Link {
            id: 1,
            prev_hash: Digest::ZERO.to_hex(),
        },
    })
}

/// Every record with its stored `record_hash`, in id order.
pub(crate) fn all_records(conn: &Connection) -> Result<Vec<(RecordRow, String)>> {
    let mut statement = conn.prepare(&select_records("ORDER BY r.id"))?;
    let rows = statement.query_map([], RecordRow::with_stored_hash)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which records [`Store::for_each_record`] reads: ids `first..=last`,
/// of one source or of all.
#[derive(Debug, Clone, Copy)]
pub struct RecordRange<'a> {
    pub source: Option<&'a str>,
    pub first: i64,
    pub last: i64,
}

/// What is wrong with header set `set`, if anything: the end of a finding.
fn header_set_problem(lookup: &mut Statement<'_>, set: i64) -> Result<Option<&'static str>> {
    let stored: Option<(Value, String)> = lookup
        .query_row([set], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match stored {
        None => Some("is missing: the set was deleted"),
        Some((hash, json)) if !names(&hash, &Digest::of(json.as_bytes())) => {
            Some("does not hash to its name: the set was altered")
        }
        Some(_) => None,
    })
}

/// One problem found by [`Store::verify_chain`], with the record concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainFinding {
    pub record_id: i64,
    pub problem: String,
}

impl Store {
    /// Feeds each record of `range` with its stored `record_hash` to
    /// `each`, in id order, one row at a time (a source's by its index).
    pub fn for_each_record<E: From<super::StoreError>>(
        &self,
        range: RecordRange<'_>,
        mut each: impl FnMut(RecordRow, String) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut values = vec![Value::from(range.first), Value::from(range.last)];
        let filter = match range.source {
            Some(source) => {
                values.push(Value::from(source.to_string()));
                "WHERE r.id BETWEEN ?1 AND ?2 AND r.source = ?3 ORDER BY r.id"
            }
            None => "WHERE r.id BETWEEN ?1 AND ?2 ORDER BY r.id",
        };
        let mut statement = self
            .conn()
            .prepare_cached(&select_records(filter))
            .map_err(super::StoreError::from)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(values))
            .map_err(super::StoreError::from)?;
        while let Some(row) = rows.next().map_err(super::StoreError::from)? {
            let (record, hash) =
                RecordRow::with_stored_hash(row).map_err(super::StoreError::from)?;
            each(record, hash)?;
        }
        Ok(())
    }

    /// Record `id` with its stored `record_hash`, if it exists.
    pub fn record_row(&self, id: i64) -> Result<Option<(RecordRow, String)>> {
        Ok(self
            .conn()
            .prepare_cached(&select_records("WHERE r.id = ?1"))?
            .query_row([id], RecordRow::with_stored_hash)
            .optional()?)
    }

    /// Recomputes every record hash, chain link and referenced blob hash,
    /// and reports every problem found (not only the first).
    pub fn verify_chain(&self) -> Result<Vec<ChainFinding>> {
        self.verify_chain_from(i64::MIN)
    }

    /// [`Store::verify_chain`] of the records from id `first` on: the
    /// first is linked to the `record_hash` record `first - 1` holds.
    pub fn verify_chain_from(&self, first: i64) -> Result<Vec<ChainFinding>> {
        let mut findings = Vec::new();
        let mut statement = self
            .conn()
            .prepare(&select_records("WHERE r.id >= ?1 ORDER BY r.id"))?;
        let mut rows = statement.query([first])?;
        let mut set_lookup = self
            .conn()
            .prepare_cached("SELECT hash, json FROM header_sets WHERE id = ?1")?;
        // An unchanged page's records share their header sets and blobs:
        // each is checked once, and named for every record using it.
        let mut set_verdicts: HashMap<i64, Option<&str>> = HashMap::new();
        let mut blob_verdicts: HashMap<Digest, Option<String>> = HashMap::new();
        let mut expected_prev = if first > 1 {
            // A record missing there shows as a broken link on `first`.
            self.conn()
                .query_row(
                    "SELECT record_hash FROM records WHERE id = ?1",
                    [first - 1],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or_default()
        } else {
            Digest::ZERO.to_hex()
        };
        let mut expected_id = first.max(1);
        while let Some(row) = rows.next()? {
            let (record, stored_hash) = RecordRow::with_stored_hash(row)?;
            let sets: [(&str, Option<i64>); 3] = [
                ("request", row.get(HEADER_SET_INDEX)?),
                ("conditional request", row.get(HEADER_SET_INDEX + 1)?),
                ("response", row.get(HEADER_SET_INDEX + 2)?),
            ];
            let mut problem = |text: String| {
                findings.push(ChainFinding {
                    record_id: record.id,
                    problem: text,
                })
            };
            // Named for what it is, before the record hash it also breaks.
            for (kind, set) in sets {
                let Some(set) = set else { continue };
                let verdict = match set_verdicts.get(&set) {
                    Some(verdict) => *verdict,
                    None => {
                        let verdict = header_set_problem(&mut set_lookup, set)?;
                        set_verdicts.insert(set, verdict);
                        verdict
                    }
                };
                if let Some(what) = verdict {
                    problem(format!("its {kind} header set {set} {what}"));
                }
            }
            if record.id != expected_id {
                problem(format!(
                    "record ids jump from {} to {}: records are missing",
                    expected_id - 1,
                    record.id
                ));
            }
            if record.prev_hash != expected_prev {
                problem(
                    "prev_hash does not match the previous record's hash: the chain is broken here"
                        .into(),
                );
            }
            if record.hash().to_hex() != stored_hash {
                let derived: bool = row.get(HEADER_SET_INDEX + 3)?;
                // A packed row's prev_hash is whatever the row before holds
                // now, so a rehashed previous row also shows here.
                problem(if derived && record.id > 1 {
                    format!(
                        "record_hash does not match the record's contents and the record_hash of record {} before it: this row, or that one's record_hash, was altered",
                        record.id - 1
                    )
                } else {
                    "record_hash does not match the record's contents: the row was altered".into()
                });
            }
            // A portal attempt's metadata body is a blob of its own.
            let metadata_raw_hash = record.portal_call().and_then(|call| call.metadata.raw_hash);
            for (column, hash) in [
                ("raw_hash", &record.raw_hash),
                ("text_hash", &record.text_hash),
                ("the portal metadata's raw_hash", &metadata_raw_hash),
            ] {
                let Some(hex) = hash else { continue };
                let Some(digest) = Digest::from_hex(hex) else {
                    problem(format!("{column} is not a SHA-256 digest"));
                    continue;
                };
                let verdict = blob_verdicts.entry(digest).or_insert_with(|| {
                    match blob::get(self.conn(), &digest) {
                        Ok(bytes) if Digest::of(&bytes) == digest => None,
                        Ok(_) => Some(" does not hash to its name: its bytes were altered".into()),
                        Err(e) => Some(format!(": {e}")),
                    }
                });
                if let Some(what) = verdict {
                    problem(format!("the blob named by {column}{what}"));
                }
            }
            expected_prev = stored_hash;
            expected_id = record.id + 1;
        }
        Ok(findings)
    }
}

#[cfg(test)]
impl RecordRow {
    /// An HTTPS capture of a small page, with no TLS version (as made
    /// before it was recorded), for tests.
    pub(crate) fn sample() -> RecordRow {
        RecordRow {
            id: 7,
            source: "iso".into(),
            url: "https://example.com/iso?x=1".into(),
            started_at: "2026-11-28T12:00:00.000Z".into(),
            finished_at: "2026-11-28T12:00:01.000Z".into(),
            outcome: RecordOutcome::Ok,
            change: None,
            error_class: None,
            error_message: None,
            attempts: 1,
            status: Some(200),
            final_url: None,
            redirects: "[]".into(),
            request_headers: r#"[["user-agent","scopewatch"]]"#.into(),
            response_headers: r#"[["content-type","text/html"],["content-encoding","gzip"]]"#
                .into(),
            remote_ip: Some("192.0.2.1".into()),
            tls_cert_sha256: None,
            tls_version: None,
            content_type: Some("text/html".into()),
            content_kind: Some("html".into()),
            raw_hash: Some(Digest::of(b"<p>hi</p>").to_hex()),
            text_hash: None,
            scope_hash: None,
            prev_hash: Digest::ZERO.to_hex(),
            fetch_details: None,
        }
    }
}

/// Whether a stored hash (32 bytes, or hex as written before schema 9)
/// is `digest`.
fn names(stored: &Value, digest: &Digest) -> bool {
    match stored {
        Value::Blob(bytes) => bytes[..] == digest.as_bytes()[..],
        Value::Text(hex) => *hex == digest.to_hex(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::packed::tests::stored;
    use crate::store::packed::{KnownIds, insert};

    #[test]
    fn the_canonical_encoding_is_the_row_with_its_keys_sorted() {
        // As the module doc defines it (serde_json's map sorts the keys).
        let defined = |row: &RecordRow| serde_json::to_value(row).unwrap().to_string();
        let odd = "quote \" backslash \\ tab \t control \u{1} caf\u{e9} \u{2705} </script>";
        let everything = RecordRow {
            change: Some(Change::Content),
            error_class: Some(odd.into()),
            error_message: Some(odd.into()),
            status: Some(-1),
            final_url: Some(odd.into()),
            tls_cert_sha256: Some(Digest::ZERO.to_hex()),
            tls_version: Some("TLSv1.3".into()),
            fetch_details: Some(odd.into()),
            text_hash: Some(odd.into()),
            scope_hash: Some(odd.into()),
            attempts: i64::MAX,
            id: i64::MIN,
            ..RecordRow::sample()
        };
        let nothing = RecordRow {
            status: None,
            remote_ip: None,
            content_type: None,
            content_kind: None,
            raw_hash: None,
            source: odd.into(),
            url: String::new(),
            ..RecordRow::sample()
        };
        for row in [RecordRow::sample(), everything, nothing] {
            assert_eq!(row.canonical(), defined(&row));
        }
    }

    /// Pinned as released: every stored record's hash depends on this
    /// encoding, the words of `outcome` and `change` included, so a change
    /// to how a row (or one of its enums) serialises fails here first.
    #[test]
    fn the_record_hash_of_known_rows_is_pinned() {
        let changed = RecordRow {
            change: Some(Change::Content),
            ..RecordRow::sample()
        };
        let unmodified = RecordRow {
            outcome: RecordOutcome::NotModified,
            change: Some(Change::Unchanged),
            status: Some(304),
            ..RecordRow::sample()
        };
        let failed = RecordRow {
            outcome: RecordOutcome::Failed,
            error_class: Some("connect".into()),
            error_message: Some("connection refused".into()),
            status: None,
            ..RecordRow::sample()
        };
        assert_eq!(
            changed.canonical(),
            concat!(
                r#"{"attempts":1,"change":"content","content_kind":"html","#,
                r#""content_type":"text/html","error_class":null,"error_message":null,"#,
                r#""final_url":null,"finished_at":"2026-11-28T12:00:01.000Z","id":7,"outcome":"ok","#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""raw_hash":"0a4735281db700223af63abc387c351f64ea6961a1ef955631df08d96169e772","#,
                r#""redirects":"[]","remote_ip":"192.0.2.1","#,
                r#""request_headers":"[[\"user-agent\",\"scopewatch\"]]","#,
                r#""response_headers":"[[\"content-type\",\"text/html\"],[\"content-encoding\",\"gzip\"]]","#,
                r#""scope_hash":null,"source":"iso","started_at":"2026-11-28T12:00:00.000Z","#,
                r#""status":200,"text_hash":null,"tls_cert_sha256":null,"#,
                r#""url":"https://example.com/iso?x=1"}"#,
            )
        );
        let hashes = [changed, unmodified, failed].map(|row| row.hash().to_hex());
        assert_eq!(
            hashes,
            [
                "8bbd9b4a2639c6dee39e6ab32e9adfbfe5422239854fa9835cda8f611476a52f",
                "5ff42f31dfbd63fadb57b72cc1e215b2665e5262184c53e1b6dfaf8f9bcad102",
                "c49c10342cdad6aff9f63d54abc6787f1b2e28e1f66af67bb64add7db39d3ef4",
            ]
        );
    }

    #[test]
    fn a_null_tls_version_is_left_out_so_older_records_hash_as_they_did() {
        let mut row = RecordRow::sample();
        let before = row.canonical();
        assert!(!before.contains("tls_version"), "{before}");
        assert!(before.contains(r#""tls_cert_sha256":null"#), "{before}");
        row.tls_version = Some("TLSv1.3".into());
        assert!(row.canonical().contains(r#""tls_version":"TLSv1.3""#));
        assert_ne!(row.hash(), RecordRow::sample().hash());
    }

    #[test]
    fn fetch_details_are_hashed_stored_and_checked() {
        let mut row = RecordRow::sample();
        assert!(!row.canonical().contains("fetch_details"));
        row.fetch_details = Some(r#"{"browser":{"chromium":"Chromium 1.2.3.4"}}"#.into());
        assert!(row.canonical().contains("fetch_details"));
        assert_ne!(row.hash(), RecordRow::sample().hash());
        let mut rows = [row];
        let store = stored(&mut rows);
        let row = &rows[0];
        let read = store.all_records().unwrap();
        assert_eq!(read[0].0.fetch_details, row.fetch_details);
        assert_eq!(read[0].1, row.hash().to_hex());
        assert_eq!(store.verify_chain().unwrap(), []);
        // The details cannot be changed, and a copy edited elsewhere shows.
        assert!(
            store
                .conn()
                .execute("UPDATE record_fetch_details SET json = '{}'", [])
                .is_err()
        );
        store
            .conn()
            .execute_batch(
                "DROP TRIGGER record_fetch_details_no_update;
                 UPDATE record_fetch_details SET json = '{}';",
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
    }

    #[test]
    fn a_row_made_elsewhere_in_the_chain_keeps_its_prev_hash() {
        let store = stored(&mut [RecordRow::sample()]);
        let mut row = RecordRow::sample();
        let link = next_link(store.conn()).unwrap();
        (row.id, row.prev_hash) = (link.id, Digest::of(b"another chain").to_hex());
        insert(
            store.conn(),
            &mut KnownIds::default(),
            &row,
            &link,
            &row.hash(),
        )
        .unwrap();
        let read = store.all_records().unwrap();
        assert_eq!(read[1].0.canonical(), row.canonical());
        let findings = store.verify_chain().unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].problem.contains("chain is broken"));
    }

    #[test]
    fn a_row_rehashed_to_hide_an_edit_shows_on_the_row_after_it() {
        let mut rows = [
            RecordRow::sample(),
            RecordRow::sample(),
            RecordRow::sample(),
        ];
        let store = stored(&mut rows);
        let mut edited = rows[1].clone();
        edited.status = Some(299);
        store
            .conn()
            .execute(
                "UPDATE record_rows SET status = 299, record_hash = ?1 WHERE id = 2",
                [&edited.hash().as_bytes()[..]],
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].record_id, 3);
        assert!(
            findings[0]
                .problem
                .contains("the record_hash of record 2 before it"),
            "{findings:?}"
        );
    }
}
