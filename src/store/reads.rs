//! The read side the web view adds: a read-only connection of its own
//! (never the writer thread's), lookups by date, a bounded timeline, and
//! the counts `/metrics` reports. Every query here is bounded by a limit or
//! a date range the caller passes.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use super::queries::{RECORD_SUMMARY, record_summary};
use super::{BUSY_TIMEOUT, RecordSummary, Result, Store, StoreError, packed, schema};
use crate::detect::EventKind;

impl Store {
    /// Opens an existing database for reading only: no migration, no
    /// file created, and `PRAGMA query_only`, so SQLite itself refuses any
    /// write made through it. A database an older scopewatch wrote (not
    /// migrated yet) is refused: the daemon or `check` migrates it.
    pub fn open_reader(path: &Path) -> Result<Store> {
        let open_error = |message: String| StoreError::Open {
            path: path.to_path_buf(),
            message,
        };
        if !path.exists() {
            return Err(open_error(
                "no such file: run `scopewatch check` (or the daemon) first".into(),
            ));
        }
        // Read-write without CREATE: a reader of a WAL database may need to
        // create its shared-memory file; `query_only` keeps it from writing
        // the database itself.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| open_error(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let known = schema::MIGRATIONS.len();
        if version as usize > known {
            return Err(StoreError::NewerSchema {
                found: version as usize,
                known,
            });
        }
        if (version as usize) < known {
            return Err(open_error(format!(
                "schema {version} is older than this scopewatch's ({known}): run `scopewatch check` (or start the daemon) once to migrate it"
            )));
        }
        Ok(Store {
            conn,
            known: packed::KnownIds::default(),
            damaged: None,
        })
    }

    /// The path of the open database file, when it is a file.
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        self.conn()
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
    }

    /// The snapshot a source had at `at` (RFC 3339): its last successful
    /// fetch made at or before then, `None` when it had none yet.
    pub fn snapshot_at(&self, source: &str, at: &str) -> Result<Option<RecordSummary>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "{RECORD_SUMMARY} WHERE r.source = ?1 AND r.outcome = 'ok' AND r.started_at <= ?2
                     ORDER BY r.id DESC LIMIT 1"
                ),
                params![source, at],
                record_summary,
            )
            .optional()?)
    }

    /// The records of one source made in `[from, until)` (RFC 3339),
    /// newest first, at most `limit`.
    pub fn records_between(
        &self,
        source: &str,
        from: &str,
        until: &str,
        limit: usize,
    ) -> Result<Vec<RecordSummary>> {
        let mut statement = self.conn().prepare_cached(&format!(
            "{RECORD_SUMMARY} WHERE r.source = ?1 AND r.started_at >= ?2 AND r.started_at < ?3
             ORDER BY r.id DESC LIMIT ?4"
        ))?;
        let rows =
            statement.query_map(params![source, from, until, limit as i64], record_summary)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest checkpoints, newest first, at most `limit`, each with
    /// the time its RFC 3161 timestamp was received, if it has one.
    pub fn recent_checkpoints(&self, limit: usize) -> Result<Vec<CheckpointRow>> {
        let mut statement = self.conn().prepare(
            "SELECT c.id, c.tree_size, c.root, c.at, c.key_id, t.at, t.tsa_url
             FROM checkpoints c LEFT JOIN checkpoint_timestamps t ON t.checkpoint_id = c.id
             ORDER BY c.id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map([limit as i64], |row| {
            Ok(CheckpointRow {
                id: row.get(0)?,
                tree_size: row.get(1)?,
                root: row.get(2)?,
                at: row.get(3)?,
                key_id: row.get(4)?,
                timestamped_at: row.get(5)?,
                tsa_url: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Everything `/metrics` reports from the database. Per-source values
    /// are one row per source; durations are those of the attempts made
    /// at or after `durations_since` (RFC 3339), at most `max_durations`.
    pub fn metric_counts(
        &self,
        durations_since: &str,
        max_durations: usize,
    ) -> Result<MetricCounts> {
        let conn = self.conn();
        let attempts = grouped(
            conn,
            "SELECT outcome, error_class, attempts FROM attempt_counts",
            |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)),
        )?;
        let events = grouped(
            conn,
            "SELECT kind, COUNT(*) FROM events GROUP BY kind",
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let outbox = grouped(
            conn,
            "SELECT state, COUNT(*) FROM outbox GROUP BY state",
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let last_confirmed = self.last_confirmed_times()?.into_iter().collect();
        // The packed rows, not the `records` view: the view formats both
        // times as text for every row, which cost seconds at 100,000.
        // A packed row's `started_at` is Unix milliseconds and its
        // `finished_at` the milliseconds after it; a row written before
        // packing keeps both as RFC 3339 text.
        let since_ms = super::packed::unix_ms(durations_since).unwrap_or(i64::MAX);
        let mut statement = conn.prepare(
            "SELECT source, CASE typeof(started_at) WHEN 'integer' THEN finished_at
                    ELSE (julianday(finished_at) - julianday(started_at)) * 86400000.0 END
             FROM record_rows
             WHERE id > COALESCE((SELECT MAX(id) FROM record_rows) - ?3, 0)
               AND CASE typeof(started_at) WHEN 'integer' THEN started_at >= ?2
                   ELSE started_at >= ?1 END",
        )?;
        let durations = statement
            .query_map(
                params![durations_since, since_ms, max_durations as i64],
                |row| {
                    let milliseconds: f64 = row.get(1)?;
                    Ok((row.get(0)?, milliseconds.max(0.0) / 1000.0))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        let page_count: i64 = conn.pragma_query_value(None, "page_count", |row| row.get(0))?;
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let ledger_entries = self.ledger_entries()?;
        Ok(MetricCounts {
            attempts,
            events,
            outbox,
            last_confirmed,
            durations,
            database_bytes: page_count * page_size,
            ledger_entries,
        })
    }

    /// A read transaction: every read through this store until the guard
    /// is dropped sees one snapshot, whatever a daemon commits meanwhile.
    pub fn read_snapshot(&self) -> Result<ReadSnapshot<'_>> {
        Ok(ReadSnapshot(self.conn().unchecked_transaction()?))
    }

    /// How many entries the evidence ledger holds.
    pub fn ledger_entries(&self) -> Result<i64> {
        // `seq` runs from 0 without gaps (the triggers refuse deletes), so
        // this is the last `seq` plus one: a lookup, not a scan.
        Ok(self
            .conn()
            .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_rows")?
            .query_row([], |row| row.get(0))?)
    }

    /// Per source with one, when its last event of `kind` was detected.
    pub fn last_event_times(&self, kind: EventKind) -> Result<Vec<(String, String)>> {
        // Per source through its (source, detected_at) index: a scan of
        // every event grouped by source took ten times as long.
        let mut statement = self.conn().prepare(
            "SELECT s.id, (SELECT MAX(e.detected_at) FROM events e
                           WHERE e.source = s.id AND e.kind = ?1)
             FROM sources s",
        )?;
        let rows = statement.query_map([kind], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })?;
        let mut times = Vec::new();
        for row in rows {
            if let (source, Some(at)) = row? {
                times.push((source, at));
            }
        }
        Ok(times)
    }

    /// Whether the database answers a query: what `/healthz` asks.
    pub fn readable(&self) -> Result<()> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |row| {
                row.get::<_, i64>(0)
            })?;
        Ok(())
    }
}

fn grouped<K, V>(
    conn: &Connection,
    sql: &str,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<(K, V)>,
) -> Result<Vec<(K, V)>> {
    let mut statement = conn.prepare(sql)?;
    let rows = statement.query_map([], read)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One signed checkpoint, as the evidence page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointRow {
    pub id: i64,
    pub tree_size: i64,
    pub root: String,
    pub at: String,
    pub key_id: String,
    /// When its RFC 3161 timestamp was received, if it has one.
    pub timestamped_at: Option<String>,
    pub tsa_url: Option<String>,
}

/// The database's side of `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct MetricCounts {
    /// ((outcome, error class or ""), attempts).
    pub attempts: Vec<((String, String), i64)>,
    /// (event kind, events).
    pub events: Vec<(String, i64)>,
    /// (delivery state, deliveries).
    pub outbox: Vec<(String, i64)>,
    /// (source not retired, when its last confirmed fetch, a page or a
    /// 304, started).
    pub last_confirmed: Vec<(String, String)>,
    /// (source, seconds) of recent attempts.
    pub durations: Vec<(String, f64)>,
    pub database_bytes: i64,
    pub ledger_entries: i64,
}

/// The read transaction of [`Store::read_snapshot`], ended when dropped. It
/// gives no access to the connection: reads go through the store.
pub struct ReadSnapshot<'a>(
    #[expect(dead_code, reason = "held for its drop, which ends the transaction")]
    rusqlite::Transaction<'a>,
);
