//! The packed form records are stored in (schema 9): the `records` view
//! gives each back exactly as hashed (see `store/chain.rs` for the hash and
//! `store/schema.rs` for the view); this is the encoder.
//! - Digests, URLs and peer addresses are ids of rows of `digests` and
//!   `texts`; outcome and change words are small numbers.
//! - Header sets are stored once in `header_sets`. A request's If-*
//!   headers, which name the page's validators, are a set of their own, so
//!   the rest is shared; the response's Date value (new on every response)
//!   is cut out into the row, as seconds after the start.
//! - Times are Unix milliseconds, the finish relative to the start.
//! - `prev_hash` is left out, being the previous row's `record_hash`,
//!   which is kept as its 32 bytes.
//!
//! Whatever this form cannot hold exactly is kept as written, so packing
//! never changes a record. An unchanged page's record takes about 100
//! bytes, where it took 830.

use std::collections::HashMap;

use chrono::{DateTime, Timelike, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use super::chain::{Link, RecordOutcome, RecordRow};
use crate::clock;
use crate::detect::Change;
use crate::hash::Digest;

/// Inserts `row`, made at `link`, packed (see the module doc). `known`
/// holds the ids of values looked up before (see [`KnownIds`]).
pub(super) fn insert(
    conn: &Connection,
    known: &mut KnownIds,
    row: &RecordRow,
    link: &Link,
    record_hash: &Digest,
) -> Result<()> {
    let started = packed_time(&row.started_at);
    let (started_at, finished_at) = match (started, packed_time(&row.finished_at)) {
        (Some(start), Some(finish)) if finish >= start => {
            (Value::Integer(start), Value::Integer(finish - start))
        }
        (start, _) => (
            start.map_or_else(|| Value::Text(row.started_at.clone()), Value::Integer),
            Value::Text(row.finished_at.clone()),
        ),
    };
    let (request_set, request_conditional) = match split_conditional(&row.request_headers) {
        Some((base, conditional)) => (
            header_set(conn, &base)?,
            Some(header_set(conn, &conditional)?),
        ),
        None => (header_set(conn, &row.request_headers)?, None),
    };
    let (response_set, response_date) = match split_date(&row.response_headers) {
        Some((set, date)) => {
            let packed = started.and_then(|start| packed_date(date, start));
            let date = packed.map_or_else(|| Value::Text(date.to_string()), Value::Integer);
            (header_set(conn, &set)?, Some(date))
        }
        None => (header_set(conn, &row.response_headers)?, None),
    };
    // Left out when it is the one the `records` view derives.
    let prev_hash =
        (row.id != link.id || row.prev_hash != link.prev_hash).then(|| row.prev_hash.clone());
    conn.prepare_cached(
        "INSERT INTO record_rows (id, source, url, started_at, finished_at, outcome, change,
            error_class, error_message, attempts, status, final_url, redirects, request_headers,
            request_conditional, response_headers, response_date, remote_ip, tls_cert_sha256,
            tls_version, content_type, content_kind, raw_hash, text_hash, scope_hash, prev_hash,
            record_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
    )?
    .execute(params![
        row.id,
        row.source,
        interned(conn, known, &TEXTS, &row.url)?,
        started_at,
        finished_at,
        code(row.outcome, &RecordOutcome::ALL),
        row.change.map(|change| code(change, &Change::ALL)),
        row.error_class,
        row.error_message,
        row.attempts,
        row.status,
        interned_opt(conn, known, &TEXTS, row.final_url.as_deref())?,
        row.redirects,
        request_set,
        request_conditional,
        response_set,
        response_date,
        interned_opt(conn, known, &TEXTS, row.remote_ip.as_deref())?,
        interned_opt(conn, known, &DIGESTS, row.tls_cert_sha256.as_deref())?,
        row.tls_version,
        row.content_type,
        row.content_kind,
        interned_opt(conn, known, &DIGESTS, row.raw_hash.as_deref())?,
        interned_opt(conn, known, &DIGESTS, row.text_hash.as_deref())?,
        interned_opt(conn, known, &DIGESTS, row.scope_hash.as_deref())?,
        prev_hash,
        &record_hash.as_bytes()[..],
    ])?;
    if let Some(details) = &row.fetch_details {
        conn.prepare_cached("INSERT INTO record_fetch_details (record_id, json) VALUES (?1, ?2)")?
            .execute(params![row.id, details])?;
    }
    Ok(())
}

/// The ids of values already stored in the append-only tables of values
/// records name (`digests`, `texts`), by table and the SHA-256 of the
/// value, so a record naming values seen before costs no lookups. Those
/// tables' rows are never changed or deleted (triggers refuse it), so a
/// committed id stays right; [`KnownIds::forget`] drops them all when a
/// write rolls back, as ids it added may be gone with it. Header sets are
/// not kept here: each is read back every time, so a record is never
/// pointed at a set altered since (see [`header_set`]).
#[derive(Default)]
pub(super) struct KnownIds {
    ids: HashMap<(Table, [u8; 32]), i64>,
}

/// A bound on [`KnownIds`], past which they start over: its table (49
/// bytes a slot, kept when cleared) stays at 16,384 slots, 0.8 MB. A sweep
/// names about four values a source, so up to about 3,000 sources hit on
/// every value; beyond, on those shared by many, such as peer addresses.
const MAX_KNOWN_IDS: usize = 14_000;

impl KnownIds {
    pub(super) fn forget(&mut self) {
        self.ids.clear();
    }

    /// The key `value` is known under: its SHA-256.
    fn key(value: &str) -> Digest {
        Digest::of(value.as_bytes())
    }

    fn get(&self, table: Table, key: &Digest) -> Option<i64> {
        self.ids.get(&(table, *key.as_bytes())).copied()
    }

    fn insert(&mut self, table: Table, key: &Digest, id: i64) {
        let key = (table, *key.as_bytes());
        if self.ids.len() >= MAX_KNOWN_IDS && !self.ids.contains_key(&key) {
            self.ids.clear();
        }
        self.ids.insert(key, id);
    }
}

/// Teaches `known` the ids of the body, text and scope digests record
/// `record_id` names, read by id. The next record of a page that has not
/// changed names them again, and finding them by value reads the digests
/// index at random: with 50 versions of 1,000 pages stored, a third of the
/// page reads of a sweep.
pub(super) fn learn_digests(conn: &Connection, known: &mut KnownIds, record_id: i64) -> Result<()> {
    let mut statement = conn.prepare_cached(
        "SELECT d.id, d.hex FROM record_rows r
         JOIN digests d ON d.id IN (r.raw_hash, r.text_hash, r.scope_hash)
         WHERE r.id = ?1",
    )?;
    let mut rows = statement.query([record_id])?;
    while let Some(row) = rows.next()? {
        let hex: String = row.get(1)?;
        known.insert(Table::Digests, &KnownIds::key(&hex), row.get(0)?);
    }
    Ok(())
}

/// The append-only tables [`KnownIds`] holds ids of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Digests,
    Texts,
}

/// The id of the stored header set `json`, stored now if it is new. A set
/// stored under the same hash with other text was altered: refused, so no
/// new record points at it.
fn header_set(conn: &Connection, json: &str) -> Result<i64> {
    let digest = Digest::of(json.as_bytes());
    let hash = &digest.as_bytes()[..];
    let stored: Option<(i64, String)> = conn
        .prepare_cached("SELECT id, json FROM header_sets WHERE hash = ?1")?
        .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match stored {
        None => Ok(conn
            .prepare_cached("INSERT INTO header_sets (hash, json) VALUES (?1, ?2) RETURNING id")?
            .query_row(params![hash, json], |row| row.get(0))?),
        Some((id, stored)) if stored == json => Ok(id),
        Some((id, _)) => Err(super::StoreError::Corrupt(format!(
            "header set {id} does not hold the headers its hash names: the database was altered; run `scopewatch verify` and restore it from a backup"
        ))),
    }
}

/// An append-only table of distinct values records name by id: how to
/// find a value and how to add it.
struct Interned {
    table: Table,
    select: &'static str,
    insert: &'static str,
}

const DIGESTS: Interned = Interned {
    table: Table::Digests,
    select: "SELECT id FROM digests WHERE hex = ?1",
    insert: "INSERT INTO digests (hex) VALUES (?1) RETURNING id",
};

const TEXTS: Interned = Interned {
    table: Table::Texts,
    select: "SELECT id FROM texts WHERE text = ?1",
    insert: "INSERT INTO texts (text) VALUES (?1) RETURNING id",
};

/// The id naming `value` in `table`, added now if it is new.
fn interned(conn: &Connection, known: &mut KnownIds, table: &Interned, value: &str) -> Result<i64> {
    let key = KnownIds::key(value);
    if let Some(id) = known.get(table.table, &key) {
        return Ok(id);
    }
    let found = conn
        .prepare_cached(table.select)?
        .query_row([value], |row| row.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => conn
            .prepare_cached(table.insert)?
            .query_row([value], |row| row.get(0))?,
    };
    known.insert(table.table, &key, id);
    Ok(id)
}

fn interned_opt(
    conn: &Connection,
    known: &mut KnownIds,
    table: &Interned,
    value: Option<&str>,
) -> Result<Option<i64>> {
    value.map(|v| interned(conn, known, table, v)).transpose()
}

/// An RFC 3339 time as packed rows' times compare with it: Unix
/// milliseconds; `None` when `at` is not RFC 3339.
pub(super) fn unix_ms(at: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// `text` as Unix milliseconds, when that is exactly what
/// [`clock::format`] makes of them (the `records` view formats them back
/// the same way); `None` for anything else, which is stored as written.
fn packed_time(text: &str) -> Option<i64> {
    let at = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let ms = at.timestamp_millis();
    (ms >= 0 && !leap_second(&at) && clock::format(at) == text).then_some(ms)
}

/// chrono reads a second 60 as the 59th plus a whole second of nanos and
/// writes it back as 60; Unix time, and so the view, has no such second.
fn leap_second(at: &DateTime<Utc>) -> bool {
    at.nanosecond() >= 1_000_000_000
}

/// A record's `outcome` or `change`, stored as its place in
/// [`RecordOutcome::ALL`] or [`Change::ALL`] (0 and 1 take no bytes at
/// all); the `records` view's CASEs spell the word back.
fn code<T: Copy + PartialEq>(value: T, all: &[T]) -> i64 {
    // `ALL` lists every variant (each enum's tests check its words).
    all.iter()
        .position(|v| *v == value)
        .expect("ALL lists every variant") as i64
}

/// The request headers' JSON split before the first If-* header: the
/// headers every request of a source sends, shared by one set, and the
/// conditional ones, which name the page's validators. `None` when there
/// is nothing to split. (`,["` cannot occur inside a JSON string, whose
/// quotes are escaped, so the text splits at a pair boundary.)
fn split_conditional(json: &str) -> Option<(String, String)> {
    let at = json.find(r#",["if-"#)?;
    Some((format!("{}]", &json[..at]), format!("[{}", &json[at + 1..])))
}

/// An HTTP date in the preferred form (RFC 9110 IMF-fixdate).
const IMF_FIXDATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

/// A Date header's `value` as seconds after the record's start (Unix
/// ms), when that is exactly what the `records` view makes of them; `None`
/// for anything else, which is stored as written.
fn packed_date(value: &str, started_ms: i64) -> Option<i64> {
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let exact =
        at.timestamp() >= 0 && !leap_second(&at) && at.format(IMF_FIXDATE).to_string() == value;
    exact.then(|| at.timestamp() - started_ms / 1000)
}

/// How the Date header's value sits in a stored response set.
const DATE_PLACEHOLDER: &str = r#"["date",""]"#;

/// The response headers' JSON split into the set to store, with the Date
/// value emptied, and that value; `None` when that cannot be undone
/// exactly by the `records` view's textual replace (no Date, more than
/// one, or a value needing escapes), and the set is stored whole.
fn split_date(json: &str) -> Option<(String, &str)> {
    const PREFIX: &str = r#"["date",""#;
    if json.matches(PREFIX).count() != 1 || json.contains(DATE_PLACEHOLDER) {
        return None;
    }
    let start = json.find(PREFIX)? + PREFIX.len();
    let length = json[start..].find('"')?;
    let value = &json[start..start + length];
    let plain = |c: char| c.is_ascii() && !c.is_ascii_control() && c != '\\';
    if value.is_empty() || !value.chars().all(plain) || !json[start + length..].starts_with("\"]") {
        return None;
    }
    let set = format!("{}{}", &json[..start], &json[start + length..]);
    Some((set, value))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::chain::next_link;
    use crate::store::{Store, blob};

    /// `rows`, chained and inserted in order into a new store.
    pub(in crate::store) fn stored(rows: &mut [RecordRow]) -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO sources (id, url, first_seen) VALUES ('iso', 'https://example.com/', '')",
                [],
            )
            .unwrap();
        blob::put_bytes(store.conn(), b"<p>hi</p>").unwrap();
        let mut known = KnownIds::default();
        for row in rows {
            let link = next_link(store.conn()).unwrap();
            (row.id, row.prev_hash) = (link.id, link.prev_hash.clone());
            insert(store.conn(), &mut known, row, &link, &row.hash()).unwrap();
        }
        store
    }

    pub(in crate::store) fn with(edit: impl FnOnce(&mut RecordRow)) -> RecordRow {
        let mut row = RecordRow::sample();
        edit(&mut row);
        row
    }

    /// A change word no [`Change`] has (a row edited, or written by
    /// another version) is an ordinary error when the row is read, never a
    /// panic. (The table's CHECK keeps `outcome` to its three words.)
    #[test]
    fn an_unknown_change_word_reads_as_an_error() {
        let store = stored(&mut [RecordRow::sample()]);
        store
            .conn()
            .execute(
                "UPDATE record_rows SET change = 'a word from elsewhere'",
                [],
            )
            .unwrap();
        let err = store.all_records().unwrap_err().to_string();
        assert!(err.contains("a word from elsewhere"), "{err}");
    }

    #[test]
    fn packed_records_read_back_exactly_as_hashed() {
        let times = [
            ("1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.001Z"),
            ("2024-02-29T23:59:59.999Z", "2024-03-01T00:00:00.000Z"),
            ("2038-01-19T03:14:08.050Z", "2038-01-19T03:14:08.050Z"),
            ("9999-12-31T23:59:59.998Z", "9999-12-31T23:59:59.999Z"),
            // Not what the clock writes, or not after the start: as written.
            ("2026-11-28T12:00:00Z", "2026-11-28T12:00:01.000Z"),
            ("2026-11-28T13:00:00.000+01:00", "2026-11-28T12:00:01.000Z"),
            ("2026-11-28T12:00:02.000Z", "2026-11-28T12:00:01.000Z"),
            ("2026-11-28T12:00:00.000Z", "soon"),
            ("2016-12-31T23:59:60.500Z", "2017-01-01T00:00:00.000Z"),
        ];
        let mut rows: Vec<RecordRow> = times
            .iter()
            .map(|(started, finished)| {
                with(|r| {
                    (r.started_at, r.finished_at) = (started.to_string(), finished.to_string())
                })
            })
            .collect();
        let date =
            |value: &str| format!(r#"[["server","nginx"],["date","{value}"],["etag","\"1\""]]"#);
        for headers in [
            date("Sun, 29 Nov 2026 05:52:04 GMT"),
            date("Mon, 01 Jan 1990 00:00:00 GMT"),
            date("Sun, 29 Nov 2026 05:52:04 +0000"),
            date("Sunday, 29-Nov-26 05:52:04 GMT"),
            date("Wed, 31 Dec 2025 23:59:60 GMT"),
            date(r#"Sun, \"29\" Nov"#),
            date("Sun, 29 Nov 2026 05:52:04 GMT\u{e9}"),
            date(""),
            r#"[["date","a"],["date","b"]]"#.to_string(),
            "[]".to_string(),
        ] {
            rows.push(with(|r| r.response_headers = headers));
        }
        for headers in [
            r#"[["user-agent","x"],["if-none-match","\"1\""],["if-modified-since","d"]]"#,
            r#"[["if-none-match","\"1\""]]"#,
            r#"[["x-note","a,[\"if-b"]]"#,
        ] {
            rows.push(with(|r| r.request_headers = headers.into()));
        }
        for (outcome, change) in [
            (RecordOutcome::Failed, None),
            (RecordOutcome::NotModified, Some(Change::Unchanged)),
            (RecordOutcome::Ok, Some(Change::Moved)),
            (RecordOutcome::Ok, Some(Change::Noise)),
        ] {
            rows.push(with(|r| {
                r.outcome = outcome;
                r.change = change;
                r.remote_ip = None;
            }));
        }
        rows.push(with(|r| {
            r.final_url = Some("https://example.com/moved".into());
            r.tls_cert_sha256 = Some(Digest::of(b"cert").to_hex());
            r.tls_version = Some("TLSv1.3".into());
            // Kept as written, even when it is no digest.
            r.scope_hash = Some("not hex".into());
            r.text_hash = r.raw_hash.clone();
        }));
        let store = stored(&mut rows);

        let read = store.all_records().unwrap();
        assert_eq!(read.len(), rows.len());
        for ((back, stored_hash), row) in read.iter().zip(&rows) {
            assert_eq!(back.canonical(), row.canonical());
            assert_eq!(*stored_hash, row.hash().to_hex());
        }
        assert_eq!(store.verify_chain().unwrap(), []);

        let physical = |id: i64, column: &str| -> String {
            store
                .conn()
                .query_row(
                    &format!("SELECT typeof({column}) FROM record_rows WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(physical(2, "started_at"), "integer");
        assert_eq!(physical(2, "finished_at"), "integer");
        assert_eq!(physical(5, "started_at"), "text");
        assert_eq!(physical(7, "finished_at"), "text");
        // A leap second: chrono writes it back, Unix time cannot.
        assert_eq!(physical(9, "started_at"), "text");
        for (id, stored) in [
            (10, "integer"),
            (11, "integer"),
            (12, "text"),
            (13, "text"),
            (14, "text"),
            (15, "null"),
            (16, "null"),
            (17, "null"),
        ] {
            assert_eq!(physical(id, "response_date"), stored, "row {id}");
        }
        let conditional = rows.len() as i64 - 7;
        assert_eq!(physical(conditional, "request_conditional"), "integer");
        assert_eq!(physical(conditional + 1, "request_conditional"), "null");
        assert_eq!(physical(conditional + 2, "request_conditional"), "null");
        assert_eq!(physical(3, "prev_hash"), "null");
        assert_eq!(physical(3, "outcome"), "integer");
        assert_eq!(physical(3, "remote_ip"), "integer");
        assert_eq!(physical(rows.len() as i64 - 1, "change"), "integer");
        assert_eq!(physical(3, "record_hash"), "blob");
        // Every page's Date differs; its set does not.
        let sets: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM header_sets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            sets,
            1 + 1 + 5 + 4,
            "request, sample response, five new responses, three new requests in four sets"
        );
    }

    #[test]
    fn records_from_schema_8_are_packed_without_loss() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &super::super::schema::MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        conn.execute(
            "INSERT INTO sources (id, url, first_seen) VALUES ('iso', 'https://example.com/', '')",
            [],
        )
        .unwrap();
        let request_headers = RecordRow::sample().request_headers;
        conn.execute(
            "INSERT INTO header_sets (hash, json) VALUES (?1, ?2)",
            [
                Digest::of(request_headers.as_bytes()).to_hex(),
                request_headers,
            ],
        )
        .unwrap();
        blob::put_bytes(&conn, b"<p>hi</p>").unwrap();
        // One row from before header sets, one after, one off the chain.
        let mut rows = vec![
            RecordRow::sample(),
            with(|r| r.final_url = Some("https://example.com/moved".into())),
            with(|r| r.started_at = "2026-11-28T12:00:00Z".into()),
        ];
        let mut prev = Digest::ZERO.to_hex();
        for (index, row) in rows.iter_mut().enumerate() {
            row.id = index as i64 + 1;
            row.prev_hash = if index == 2 {
                "f00".into()
            } else {
                prev.clone()
            };
            let hash = row.hash().to_hex();
            let (inline, set) = if index == 0 {
                (row.request_headers.as_str(), None)
            } else {
                ("", Some(1))
            };
            conn.execute(
                "INSERT INTO records (id, source, url, started_at, finished_at, outcome, change,
                    error_class, error_message, attempts, status, final_url, redirects,
                    request_headers, response_headers, remote_ip, tls_cert_sha256, content_type,
                    content_kind, raw_hash, text_hash, scope_hash, prev_hash, record_hash,
                    tls_version, request_headers_set)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                params![
                    row.id,
                    row.source,
                    row.url,
                    row.started_at,
                    row.finished_at,
                    row.outcome,
                    row.change,
                    row.error_class,
                    row.error_message,
                    row.attempts,
                    row.status,
                    row.final_url,
                    row.redirects,
                    inline,
                    row.response_headers,
                    row.remote_ip,
                    row.tls_cert_sha256,
                    row.content_type,
                    row.content_kind,
                    row.raw_hash,
                    row.text_hash,
                    row.scope_hash,
                    row.prev_hash,
                    hash,
                    row.tls_version,
                    set,
                ],
            )
            .unwrap();
            prev = hash;
        }
        conn.execute(
            "INSERT INTO events (record_id, source, kind, detected_at, summary)
             VALUES (2, 'iso', 'content', '', '')",
            [],
        )
        .unwrap();
        let leaf_hash = Digest::of(b"leaf").to_hex();
        conn.execute(
            "INSERT INTO ledger (seq, leaf, leaf_hash, record_id) VALUES (0, '', ?1, 1)",
            [&leaf_hash],
        )
        .unwrap();

        let store = Store::setup(conn).unwrap();
        let read = store.all_records().unwrap();
        for ((back, stored_hash), row) in read.iter().zip(&rows) {
            assert_eq!(back.canonical(), row.canonical());
            assert_eq!(*stored_hash, row.hash().to_hex());
        }
        let findings = store.verify_chain().unwrap();
        assert_eq!(
            findings.iter().map(|f| f.record_id).collect::<Vec<_>>(),
            [3],
            "only the row off the chain: {findings:?}"
        );
        // The events' foreign key follows the rebuilt table.
        let check: Vec<String> = store
            .conn()
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(check, Vec::<String>::new());
        let events_sql: String = store
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            events_sql.contains("REFERENCES \"record_rows\"(id)"),
            "{events_sql}"
        );
        let ledger: (String, String, i64) = store
            .conn()
            .query_row("SELECT leaf, leaf_hash, record_id FROM ledger", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(ledger, (String::new(), leaf_hash, 1));
        // New records chain on from the old ones.
        let mut next = RecordRow::sample();
        let link = next_link(store.conn()).unwrap();
        (next.id, next.prev_hash) = (link.id, link.prev_hash.clone());
        insert(
            store.conn(),
            &mut KnownIds::default(),
            &next,
            &link,
            &next.hash(),
        )
        .unwrap();
        assert_eq!(store.verify_chain().unwrap().len(), 1);
    }
}
