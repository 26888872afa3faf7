//! All SQL: opening and migrating the database, content-addressed blobs,
//! the hash-chained record of every fetch attempt, events and per-source
//! state. A unit of work (one attempt, as `record` decides it) is written
//! through [`Writes`] atomically, in a group-committed transaction where it
//! rolls back alone if it fails ([`Store::write_each`]), so a crash leaves
//! either the whole record (blobs, row, events, ledger leaf, state) or
//! none of it. The store decides nothing: it reads and writes rows.

mod actor;
mod blob;
mod chain;
mod checkpoints;
mod crash_guard;
mod daemon_status;
mod fetch_details;
mod follow;
mod interval;
mod ledger;
pub mod lock;
mod outbox;
mod packed;
mod queries;
mod raised;
mod reads;
mod retention;
mod schema;
mod scope_pairs;
mod scope_sets;
mod timestamps;
mod transaction;
mod verify_reads;
mod verify_runs;
mod words;
mod writes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

pub use blob::PackedBlob;
pub use scope_sets::PackedScope;

use crate::detect::EventDraft;
use crate::hash::Digest;

pub use actor::{BatchedWrite, StoreHandle};
pub use chain::{ChainFinding, Link, RecordOutcome, RecordRange, RecordRow};
pub use checkpoints::Checkpoint;
pub use crash_guard::{CRASHED, CrashCount, CrashMark};
pub use daemon_status::{DaemonEvent, DaemonStatus, SweepSummary};
pub use fetch_details::{FetchedVia, PortalCall, PortalVersion, RecordedCall, RecordedPortalCall};
pub use interval::{LoggedBefore, ScopeBefore};
pub use ledger::{LeafRecord, LeafRow, LedgerRow, NewLeaf};
pub use outbox::{
    AlertData, Delivery, DeliveryRow, DeliveryState, Finish, FinishedDelivery, Snapshot,
    delivery_id,
};
pub use queries::{
    DerivedHashes, EventFilter, EventRow, RecordSummary, ScopeTransition, SourceSummary,
    service_matches,
};
pub use raised::LastConfirmed;
pub use reads::{CheckpointRow, MetricCounts, ReadSnapshot};
pub use scope_pairs::{ScopeFilter, ScopePair, ScopePairs, ScopeRow};
pub use transaction::{SnapshotReader, WriteTransaction};
pub use verify_reads::ReextractionRow;
pub use verify_runs::VerifyRun;
pub use writes::{StateUpdate, Writes};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "cannot write the database: the disk is full, a file size limit was reached or the disk failed ({0}); free space (or check the disk) and run again: nothing committed was lost"
    )]
    Full(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("stored data is damaged: {0}; run `scopewatch verify` for details")]
    Corrupt(String),
    /// SQLite reports the file itself corrupt (`SQLITE_CORRUPT`) or not a
    /// database (`SQLITE_NOTADB`): writing on could only spread the damage.
    #[error(
        "the database file is damaged (SQLite: {0}); scopewatch writes nothing more to it: restore it from a backup, or run `scopewatch verify` to see what is affected"
    )]
    FileDamaged(String),
    #[error(
        "written by a newer scopewatch (schema {found} > {known}): upgrade scopewatch to use this database"
    )]
    NewerSchema { found: usize, known: usize },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                damage::noted(e.to_string());
                StoreError::FileDamaged(e.to_string())
            }
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            // ENOSPC mid-write is SQLITE_FULL; EFBIG or ENOSPC at the start of
            // a write is SQLITE_IOERR_WRITE (778): the same remedy.
            _ if e.sqlite_error().is_some_and(|f| f.extended_code == 778) => {
                StoreError::Full(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// The same error again, for each attempt of a batch that failed as a
    /// whole (`rusqlite::Error` is not `Clone`).
    fn again(&self) -> StoreError {
        match self {
            StoreError::Open { path, message } => StoreError::Open {
                path: path.clone(),
                message: message.clone(),
            },
            StoreError::Full(message) => StoreError::Full(message.clone()),
            StoreError::Sqlite(e) => StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                e.sqlite_error()
                    .copied()
                    .unwrap_or_else(|| rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR)),
                Some(e.to_string()),
            )),
            StoreError::NotFound(message) => StoreError::NotFound(message.clone()),
            StoreError::Corrupt(message) => StoreError::Corrupt(message.clone()),
            StoreError::FileDamaged(message) => StoreError::FileDamaged(message.clone()),
            StoreError::NewerSchema { found, known } => StoreError::NewerSchema {
                found: *found,
                known: *known,
            },
        }
    }
}

/// Which thread has met a damaged database file. Every SQLite error
/// becomes a [`StoreError`] on the thread that ran the statement, so the
/// writer thread learns of damage met by any of its jobs, whatever they
/// return, and stops writing (see `actor`).
mod damage {
    use std::cell::RefCell;

    thread_local! {
        static MET: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Notes damage met on this thread.
    pub(super) fn noted(message: String) {
        MET.with(|met| {
            met.borrow_mut().get_or_insert(message);
        });
    }

    /// The damage this thread has met since the last call, if any.
    pub(super) fn take() -> Option<String> {
        MET.with(|met| met.borrow_mut().take())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database.
pub struct Store {
    conn: Connection,
    /// Ids of values the packed records name, looked up before.
    known: packed::KnownIds,
    /// Set once SQLite has reported the file damaged: writes are refused.
    damaged: Option<String>,
}

/// Conditional-request validators remembered for a source, from its last
/// full response (its last good record).
#[derive(Debug, Clone)]
pub struct Validators {
    /// The URL that was requested then: they stand for no other.
    pub requested: String,
    /// The URL that gave them: the final URL of that response.
    pub from: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    /// A new directory is made 0700 and a new database file 0600.
    pub fn open(path: &Path) -> Result<Store> {
        let open_error = |message: String| StoreError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            create_private_dir(dir).map_err(|e| {
                open_error(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let created = !path.exists();
        let conn = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
        if created {
            restrict_file(path).map_err(|e| open_error(format!("cannot set mode 0600: {e}")))?;
        }
        Self::setup(conn).map_err(|e| open_error(e.to_string()))
    }

    /// A private in-memory database, for tests and the demo.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    /// A second, read-only connection to this database's file, for reading
    /// beside this one on another core (`verify` hashes the records while
    /// it reads the ledger); `None` for a database in memory.
    pub fn reader(&self) -> Result<Option<Store>> {
        let Some(path) = self.conn.path().filter(|path| !path.is_empty()) else {
            return Ok(None);
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Some(Store {
            conn,
            known: packed::KnownIds::default(),
            damaged: None,
        }))
    }

    fn setup(conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // The record path alone prepares about 20 statements; the default
        // cache of 16 would evict them in turn and re-parse each one.
        conn.set_prepared_statement_cache_capacity(64);
        // WAL: readers never block the writer. synchronous=NORMAL: every
        // commit is atomic and survives a process crash; a power cut can
        // lose the last commits but never corrupt the file.
        when_free(|| Ok(conn.pragma_update(None, "journal_mode", "WAL")?))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals, and the journal of a savepoint (the pages it
        // changed, as they were; made only when a batch is written again
        // item by item, see `each_atomically`), stay in memory: past 64 KiB
        // SQLite spills them to a temporary file, written page by page, and
        // an attempt with a new page version passes that. A savepoint's
        // journal is one attempt's pages.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let mut store = Store {
            conn,
            known: packed::KnownIds::default(),
            damaged: None,
        };
        when_free(|| store.migrate())?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let applied: usize = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))?
            as usize;
        if applied > schema::MIGRATIONS.len() {
            return Err(StoreError::NewerSchema {
                found: applied,
                known: schema::MIGRATIONS.len(),
            });
        }
        if applied == schema::MIGRATIONS.len() {
            return Ok(());
        }
        // A migration may rebuild a table others refer to (SQLite's
        // documented way: copy, drop, rename), which foreign keys would
        // refuse midway; each keeps every id, so the references still hold.
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrated = self.apply_migrations(applied);
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        migrated
    }

    fn apply_migrations(&mut self, applied: usize) -> Result<()> {
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process opening the same new database may have applied
            // it between the read above and this lock.
            let now: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if now as usize > index {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The validators to send with the next request, per source that has
    /// any. They come from the same response as the last good record.
    pub fn validators(&self) -> Result<HashMap<String, Validators>> {
        let mut statement = self.conn.prepare(
            "SELECT s.source, r.url, COALESCE(r.final_url, r.url), s.etag, s.last_modified
             FROM source_state s JOIN records r ON r.id = s.last_good_record
             WHERE s.etag IS NOT NULL OR s.last_modified IS NOT NULL",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                Validators {
                    requested: row.get(1)?,
                    from: row.get(2)?,
                    etag: row.get(3)?,
                    last_modified: row.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The bytes of a blob.
    pub fn blob(&self, hash: &Digest) -> Result<Vec<u8>> {
        blob::get(&self.conn, hash)
    }

    /// Writes each of `items` atomically (see [`each_atomically`]) in one
    /// transaction: an item that fails to write rolls back alone. One
    /// result per item, in order; when the transaction cannot be committed
    /// at all, every item fails with its error.
    pub fn write_each<T, R>(
        &mut self,
        items: &mut [T],
        write: impl Fn(&mut Writes<'_>, &mut T) -> Result<R>,
    ) -> Vec<Result<R>> {
        if let Some(damage) = &self.damaged {
            return fail_all(items.len(), StoreError::FileDamaged(damage.clone()));
        }
        // Whatever rolls back may take ids it added with it: the known ids
        // are forgotten at once, before another item is written.
        each_atomically(
            &mut self.conn,
            items,
            &mut self.known,
            |conn, known, item| write(&mut Writes { conn, known }, item),
            packed::KnownIds::forget,
        )
    }

    /// Runs `write` in one transaction, committed when it succeeds.
    pub fn write<R>(&mut self, write: impl FnOnce(&mut Writes<'_>) -> Result<R>) -> Result<R> {
        if let Some(damage) = &self.damaged {
            return Err(StoreError::FileDamaged(damage.clone()));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let written = write(&mut Writes {
            conn: &tx,
            known: &mut self.known,
        });
        match written.and_then(|written| Ok(tx.commit().map(|()| written)?)) {
            Ok(written) => Ok(written),
            Err(e) => {
                self.known.forget();
                Err(e)
            }
        }
    }

    /// The connection, for the store's own modules alone: nothing outside
    /// `store` runs SQL.
    fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for unit tests elsewhere that set a state up (a
    /// trigger that refuses a write) or count rows.
    #[cfg(test)]
    pub(crate) fn test_conn(&self) -> &Connection {
        &self.conn
    }

    /// What SQLite said of the file, once it reported it damaged: writes
    /// are then refused.
    pub fn damage(&self) -> Option<&str> {
        self.damaged.as_deref()
    }

    /// Refuses every write from now on (`PRAGMA query_only`, so SQLite
    /// itself refuses them, whoever asks): the file is damaged, and writing
    /// on could only spread the damage over pages still intact.
    fn refuse_writes(&mut self, sqlite_message: String) {
        if let Err(e) = self.conn.pragma_update(None, "query_only", true) {
            tracing::error!("cannot make the damaged database read-only: {e}");
        }
        self.damaged.get_or_insert(sqlite_message);
    }

    /// Every record with its stored `record_hash`, in id order.
    pub fn all_records(&self) -> Result<Vec<(RecordRow, String)>> {
        chain::all_records(&self.conn)
    }
}

/// Writes each item as if in its own savepoint of one transaction, so an
/// item that fails rolls back alone, and returns one result per item, in
/// order. When the transaction cannot begin, or it has to be written item
/// by item (below) and then its commit fails or SQLite rolls all of it back
/// (a full disk, an I/O error), every item fails with that error.
/// `rolled_back` is called at once whenever writes are undone, before the
/// next item.
///
/// The batch is first written in one transaction without savepoints: a
/// savepoint per item cost a tenth of the writer's time (two statements
/// prepared per item, and each page an item first touches copied to the
/// savepoint's journal). Only when an item or the commit fails is that
/// transaction rolled back and the batch written again, each item in its
/// own savepoint.
fn each_atomically<T, R, S>(
    conn: &mut Connection,
    items: &mut [T],
    state: &mut S,
    write: impl Fn(&Connection, &mut S, &mut T) -> Result<R>,
    rolled_back: impl Fn(&mut S),
) -> Vec<Result<R>> {
    // A transaction that cannot begin (another process held the lock for
    // the whole busy timeout) is not tried twice.
    let whole = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => all_in_one(tx, items, state, &write),
        Err(e) => return fail_all(items.len(), e.into()),
    };
    match whole {
        Ok(results) => results.into_iter().map(Ok).collect(),
        // Written again item by item, a damaged file would only take more writes.
        Err(damaged @ StoreError::FileDamaged(_)) => fail_all(items.len(), damaged),
        Err(_) => {
            rolled_back(state);
            each_in_own_savepoint(conn, items, state, &write, &rolled_back)
        }
    }
}

/// Writes every item in `tx` and commits it; the first error, or a failed
/// commit, rolls the whole transaction back (dropping it does).
fn all_in_one<T, R, S>(
    tx: rusqlite::Transaction<'_>,
    items: &mut [T],
    state: &mut S,
    write: &impl Fn(&Connection, &mut S, &mut T) -> Result<R>,
) -> Result<Vec<R>> {
    let results = items
        .iter_mut()
        .map(|item| write(&tx, state, item))
        .collect::<Result<Vec<R>>>()?;
    tx.commit()?;
    Ok(results)
}

/// The slow path of [`each_atomically`]: one transaction, each item in its
/// own savepoint.
fn each_in_own_savepoint<T, R, S>(
    conn: &mut Connection,
    items: &mut [T],
    state: &mut S,
    write: &impl Fn(&Connection, &mut S, &mut T) -> Result<R>,
    rolled_back: &impl Fn(&mut S),
) -> Vec<Result<R>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(items.len(), e.into()),
    };
    let mut results = Vec::with_capacity(items.len());
    for item in items.iter_mut() {
        // Dropping an uncommitted savepoint rolls it back.
        let result = tx
            .savepoint()
            .map_err(StoreError::from)
            .and_then(|savepoint| {
                let written = write(&savepoint, state, item)?;
                savepoint.commit()?;
                Ok(written)
            })
            .inspect_err(|_| rolled_back(state));
        match result {
            // A full disk or an I/O error makes SQLite roll back the whole
            // transaction, not only the savepoint: nothing of the batch was
            // written, and going on would write the rest outside any
            // transaction.
            Err(e) if tx.is_autocommit() => return fail_all(items.len(), e),
            result => results.push(result),
        }
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => {
            rolled_back(state);
            fail_all(items.len(), e.into())
        }
    }
}

/// `count` results, each failed with `error`.
fn fail_all<R>(count: usize, error: StoreError) -> Vec<Result<R>> {
    (0..count).map(|_| Err(error.again())).collect()
}

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `op` again while SQLite answers "database is locked", up to
/// [`BUSY_TIMEOUT`]. Processes opening a new database at once all switch it
/// to WAL and migrate it, and in those steps SQLite can return "locked"
/// at once instead of waiting through the busy timeout.
fn when_free<T>(mut op: impl FnMut() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    loop {
        match op() {
            Err(StoreError::Sqlite(e))
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5 + fastrand::u64(..20)));
            }
            other => return other,
        }
    }
}

/// Creates `dir` and its missing parents, each 0700: the database, its
/// lock and the signing key live there.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn restrict_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn insert_event(
    conn: &Connection,
    record_id: i64,
    source: &str,
    detected_at: &str,
    draft: &EventDraft,
) -> Result<EventRow> {
    let diff_hash = draft
        .diff
        .as_deref()
        .map(|d| blob::put_bytes(conn, d.as_bytes()))
        .transpose()?;
    let severity = draft.severity.map(|s| s.as_str().to_string());
    let details = draft.details.as_ref().map(|d| d.to_string());
    conn.prepare_cached(
        "INSERT INTO events (record_id, source, kind, detected_at, from_record, summary, diff_hash,
                             severity, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        record_id,
        source,
        draft.kind.as_str(),
        detected_at,
        draft.from_record,
        draft.summary,
        diff_hash.map(|h| h.to_hex()),
        severity,
        details,
    ])?;
    Ok(EventRow {
        id: conn.last_insert_rowid(),
        source: source.to_string(),
        kind: draft.kind,
        detected_at: detected_at.to_string(),
        from_snapshot: draft.from_record,
        to_snapshot: record_id,
        summary: draft.summary.clone(),
        diff_hash: diff_hash.map(|h| h.to_hex()),
        severity,
        details: queries::details_map(details.as_deref()),
    })
}
