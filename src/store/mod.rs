//! All SQL: opening and migrating the database, content-addressed blobs,
//! the hash-chained record of every fetch attempt, events and per-source
//! state. Each attempt is written atomically (in a group-committed
//! transaction, rolled back alone if it fails, see
//! [`Store::record_attempts`]), so a crash
//! leaves either the whole record (blobs, row, events, ledger leaf, state)
//! or none of it.

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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

pub use blob::PackedBlob;
pub use scope_sets::PackedScope;

use crate::clock;
use crate::detect::{self, Attempt, Change, EventDraft, LastGood, SourceState, Texts};
use crate::fetch::Capture;
use crate::hash::Digest;
use crate::scope::{ScopeOutcome, ScopeSet, ScopeSettings};

pub use actor::StoreHandle;
pub use chain::{ChainFinding, RecordOutcome, RecordRange, RecordRow};
pub use checkpoints::Checkpoint;
pub use crash_guard::{CRASHED, CrashCount, CrashMark};
pub use daemon_status::{DaemonEvent, DaemonStatus, SweepSummary};
pub use fetch_details::{FetchedVia, PortalCall, PortalVersion, RecordedCall, RecordedPortalCall};
pub use interval::{LoggedBefore, ScopeBefore};
pub use ledger::{LeafRecord, LeafRow, LedgerRow, NewLeaf};
pub use outbox::{AlertData, Delivery, DeliveryRow, DeliveryState, Finish, Snapshot};
pub(crate) use queries::derived_hashes;
pub use queries::{
    DerivedHashes, EventFilter, EventRow, RecordSummary, ScopeTransition, SourceSummary,
    service_matches,
};
pub use raised::{LastConfirmed, StaleDraft};
pub use reads::{CheckpointRow, MetricCounts};
pub use scope_pairs::{ScopeFilter, ScopePair, ScopePairs, ScopeRow};
pub use transaction::{SnapshotReader, WriteTransaction};
pub use verify_reads::ReextractionRow;
pub use verify_runs::VerifyRun;

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

/// What an attempt produced, as the store records it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The source's id and the URL it is configured with.
    pub source: String,
    pub source_url: String,
    /// For a followed link: the id of the source that linked to it.
    pub parent: Option<String>,
    pub capture: Capture,
    pub result: AttemptResult,
    pub fail_after: u32,
    /// `[scope]` settings: aliases and watched services for the scope diff.
    pub scope_settings: Arc<ScopeSettings>,
    /// Where the events go (channel names and filters), reminders, attestation.
    pub alerts: crate::alert::AttemptAlerts,
    /// For a page extracted from a source that follows links: the links
    /// found, to decide which to follow (see [`crate::follow`]).
    pub follow: Option<crate::follow::Followed>,
    /// How the page was fetched when not by one GET: recorded with it.
    pub via: Option<FetchedVia>,
}

/// The outcome of fetching and extracting one page. Bodies, texts and
/// scope sets arrive packed ([`PackedBlob`], [`PackedScope`]): hashed and
/// compressed on the extraction threads, not on the writer.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per attempt, moved a few times: boxing would buy nothing"
)]
pub enum AttemptResult {
    Extracted {
        body: PackedBlob,
        content_kind: String,
        text: String,
        packed_text: PackedBlob,
        sign_in: bool,
        scope: ScopeOutcome,
        /// The extracted scope set, packed; `None` when `scope` is broken.
        packed_scope: Option<PackedScope>,
    },
    NotModified,
    /// The fetch or the extraction failed; `body` is kept when there was one.
    Failed {
        body: Option<PackedBlob>,
        class: String,
        message: String,
    },
}

impl AttemptResult {
    /// A fetched and extracted page, its body, text and scope set packed
    /// (hashed and compressed) here, on the calling thread.
    pub fn extracted(
        body: &[u8],
        extracted: crate::extract::Extracted,
        scope: ScopeOutcome,
    ) -> std::io::Result<AttemptResult> {
        let packed_scope = match &scope {
            ScopeOutcome::Extracted(set) => Some(PackedScope::pack(set)?),
            ScopeOutcome::Broken { .. } => None,
        };
        Ok(AttemptResult::Extracted {
            body: PackedBlob::pack(body)?,
            content_kind: extracted.kind.as_str().to_string(),
            packed_text: PackedBlob::pack(extracted.text.as_bytes())?,
            text: extracted.text,
            sign_in: extracted.sign_in,
            scope,
            packed_scope,
        })
    }
}

/// What recording an attempt led to.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record_id: i64,
    pub change: Option<Change>,
    pub events: Vec<EventRow>,
    /// The linked pages to fetch now (see [`AttemptRecord::follow`]).
    pub follow: Vec<crate::follow::Link>,
    /// What the page read is (`html`, `script-shell`, …): this attempt's,
    /// or for a 304 the page it confirms; `None` for a failure.
    pub content_kind: Option<String>,
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

    /// Records one attempt in its own transaction (see [`Store::record_attempts`]).
    pub fn record_attempt(&mut self, attempt: &AttemptRecord) -> Result<Recorded> {
        self.record_attempts(&[attempt])
            .pop()
            .expect("one result per attempt")
    }

    /// Records attempts in one transaction (see [`each_atomically`]): an
    /// attempt's blobs, row (linked into the hash chain), events, ledger
    /// leaf and source state are written whole or not at all, and an
    /// attempt that fails to record is rolled back without the others.
    /// Returns one result per attempt, in order; when the transaction
    /// cannot be committed at all, every attempt fails with its error.
    pub fn record_attempts(&mut self, attempts: &[&AttemptRecord]) -> Vec<Result<Recorded>> {
        if let Some(damage) = &self.damaged {
            return fail_all(attempts.len(), StoreError::FileDamaged(damage.clone()));
        }
        // Whatever rolls back may take ids it added with it: the known ids
        // are forgotten at once, before another attempt is written.
        each_atomically(
            &mut self.conn,
            attempts,
            &mut self.known,
            |conn, known, attempt| record_in(conn, known, attempt),
            packed::KnownIds::forget,
        )
    }

    /// The bytes of a blob.
    pub fn blob(&self, hash: &Digest) -> Result<Vec<u8>> {
        blob::get(&self.conn, hash)
    }

    /// The connection, for the store's own modules alone: nothing outside
    /// `store` runs SQL.
    fn conn(&self) -> &Connection {
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

/// Records one attempt inside the caller's transaction: see
/// [`Store::record_attempts`].
fn record_in(
    tx: &Connection,
    known: &mut packed::KnownIds,
    attempt: &AttemptRecord,
) -> Result<Recorded> {
    let now = clock::format(attempt.capture.finished_at);
    tx.prepare_cached(
        "INSERT INTO sources (id, url, parent, first_seen) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET url = excluded.url, parent = excluded.parent
         WHERE url IS NOT excluded.url OR parent IS NOT excluded.parent",
    )?
    .execute(params![
        attempt.source,
        attempt.source_url,
        attempt.parent,
        now
    ])?;
    let state = load_state(tx, &attempt.source)?;
    if let Some(good) = &state.last_good {
        // A 304 or an unchanged page names the digests of its last good
        // record; for another attempt this costs two lookups by row id of
        // rows `load_state` has just read.
        packed::learn_digests(tx, known, good.record_id)?;
    }
    let link = chain::next_link(tx)?;
    let record_id = link.id;

    let (raw_hash, text_hash, detect_attempt, content_kind) = match &attempt.result {
        AttemptResult::Extracted {
            body,
            content_kind,
            packed_text,
            sign_in,
            ..
        } => {
            let raw_hash = blob::put(tx, body)?;
            let text_hash = blob::put(tx, packed_text)?;
            let detect_attempt = Attempt::Fetched {
                raw_hash,
                text_hash,
                final_url: attempt
                    .via
                    .as_ref()
                    .and_then(fetch_details::location)
                    .or_else(|| attempt.capture.final_url.clone())
                    .unwrap_or_else(|| attempt.capture.url.clone()),
                content_kind: content_kind.clone(),
                sign_in: *sign_in,
            };
            (
                Some(raw_hash),
                Some(text_hash),
                detect_attempt,
                Some(content_kind.clone()),
            )
        }
        AttemptResult::NotModified => {
            let good = state.last_good.as_ref();
            (
                good.map(|g| g.raw_hash),
                good.map(|g| g.text_hash),
                Attempt::NotModified,
                good.map(|g| g.content_kind.clone()),
            )
        }
        AttemptResult::Failed { body, .. } => {
            let raw_hash = body.as_ref().map(|b| blob::put(tx, b)).transpose()?;
            (raw_hash, None, Attempt::Failed, None)
        }
    };

    let previous_text = match (&state.last_good, text_hash) {
        (Some(good), Some(current)) if good.text_hash != current => {
            Some(String::from_utf8_lossy(&blob::get(tx, &good.text_hash)?).into_owned())
        }
        _ => None,
    };
    let texts = match (&previous_text, &attempt.result) {
        (Some(previous), AttemptResult::Extracted { text, .. }) => Some(Texts {
            previous,
            current: text,
        }),
        _ => None,
    };
    let detection = detect::detect(
        &state,
        &detect_attempt,
        record_id,
        texts,
        attempt.fail_after,
    );
    let (scope_hash, scope_detection) = scope_for_record(
        tx,
        &attempt.source,
        &state,
        &attempt.result,
        &attempt.scope_settings,
    )?;

    let (outcome, error_class, error_message) = match &attempt.result {
        AttemptResult::Extracted { .. } => (RecordOutcome::Ok, None, None),
        AttemptResult::NotModified => (RecordOutcome::NotModified, None, None),
        AttemptResult::Failed { class, message, .. } => (
            RecordOutcome::Failed,
            Some(class.clone()),
            Some(message.clone()),
        ),
    };
    let fetch_details = attempt
        .via
        .as_ref()
        .map(|via| fetch_details::prepare(tx, via))
        .transpose()?;
    // A new version is news once its PDF is read: a download or an
    // extraction that failed leaves the version before as the reference.
    let new_version = match (&attempt.via, &attempt.result) {
        (Some(FetchedVia::Portal(call)), AttemptResult::Extracted { .. }) => call
            .new_version
            .as_ref()
            .map(|v| detect::new_version_event(v, state.last_good.as_ref().map(|g| g.record_id))),
        _ => None,
    };
    let capture = &attempt.capture;
    let row = RecordRow {
        id: record_id,
        source: attempt.source.clone(),
        url: capture.url.clone(),
        started_at: clock::format(capture.started_at),
        finished_at: clock::format(capture.finished_at),
        outcome,
        change: detection.change,
        error_class,
        error_message,
        attempts: i64::from(capture.attempts),
        status: capture.status.map(i64::from),
        final_url: capture.final_url.clone(),
        redirects: serde_json::to_string(&capture.hops).expect("hops serialise"),
        request_headers: serde_json::to_string(&capture.request_headers)
            .expect("headers serialise"),
        response_headers: serde_json::to_string(&capture.response_headers)
            .expect("headers serialise"),
        remote_ip: capture.remote_ip.clone(),
        tls_cert_sha256: capture.tls_cert_sha256.clone(),
        tls_version: capture.tls_version.map(str::to_string),
        content_type: capture.content_type.clone(),
        content_kind,
        raw_hash: raw_hash.map(|h| h.to_hex()),
        text_hash: text_hash.map(|h| h.to_hex()),
        scope_hash: scope_hash.clone(),
        prev_hash: link.prev_hash.clone(),
        fetch_details,
    };
    let record_hash = row.hash();
    packed::insert(tx, known, &row, &link, &record_hash)?;
    if let Some(wall_clock) = capture.wall_clock_start {
        tx.prepare_cached("INSERT INTO replayed_records (record_id, fetched_at) VALUES (?1, ?2)")?
            .execute(params![record_id, clock::format(wall_clock)])?;
    }

    let mut events = Vec::new();
    let scope_event = scope_detection.as_ref().and_then(|d| d.event.as_ref());
    for draft in detection
        .events
        .iter()
        .chain(new_version.as_ref())
        .chain(scope_event)
    {
        events.push(insert_event(tx, record_id, &attempt.source, &now, draft)?);
    }
    // Whether the source's scope is unreadable after this attempt: what
    // this extraction found, else (a failure, a 304) as it was.
    let scope_unreadable = match &scope_detection {
        Some(scope) => scope.broken,
        None => tx
            .prepare_cached("SELECT scope_broken FROM source_state WHERE source = ?1")?
            .query_row([&attempt.source], |row| row.get(0))
            .optional()?
            .unwrap_or(false),
    };
    outbox::on_recorded(
        tx,
        attempt,
        record_id,
        &detection.next,
        scope_unreadable,
        &mut events,
    )?;
    crash_guard::after_attempt(tx, &attempt.source, &attempt.result, &now)?;
    let leaves = crate::evidence::ledger::attempt_leaves(&row, &record_hash, &events, |id| {
        derived_hashes(tx, id)
    })?;
    ledger::append_all(tx, leaves)?;
    save_state(
        tx,
        &attempt.source,
        record_id,
        &detection,
        capture,
        &attempt.result,
    )?;
    if let Some(scope) = &scope_detection {
        tx.prepare_cached(
            "UPDATE source_state SET scope_broken = ?2,
                last_scope_record = CASE WHEN ?3 THEN ?4 ELSE last_scope_record END
             WHERE source = ?1",
        )?
        .execute(params![
            attempt.source,
            scope.broken,
            !scope.broken,
            record_id
        ])?;
    }
    let follow = match &attempt.follow {
        Some(followed) => follow::on_parent_fetched(tx, &attempt.source, followed, &now)?,
        None => Vec::new(),
    };
    // The sweep's report holds these until the sweep ends: a first pass
    // over 10,000 sources kept ~5 MB of spare capacity (one event, room
    // for four).
    events.shrink_to_fit();
    Ok(Recorded {
        record_id,
        change: detection.change,
        events,
        follow,
        content_kind: row.content_kind,
    })
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
    items: &[T],
    state: &mut S,
    write: impl Fn(&Connection, &mut S, &T) -> Result<R>,
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
    items: &[T],
    state: &mut S,
    write: &impl Fn(&Connection, &mut S, &T) -> Result<R>,
) -> Result<Vec<R>> {
    let results = items
        .iter()
        .map(|item| write(&tx, state, item))
        .collect::<Result<Vec<R>>>()?;
    tx.commit()?;
    Ok(results)
}

/// The slow path of [`each_atomically`]: one transaction, each item in its
/// own savepoint.
fn each_in_own_savepoint<T, R, S>(
    conn: &mut Connection,
    items: &[T],
    state: &mut S,
    write: &impl Fn(&Connection, &mut S, &T) -> Result<R>,
    rolled_back: &impl Fn(&mut S),
) -> Vec<Result<R>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(items.len(), e.into()),
    };
    let mut results = Vec::with_capacity(items.len());
    for item in items {
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

/// The scope side of an attempt: the scope hash to store with the record,
/// and (for a fresh extraction) what it means against the previous scope.
fn scope_for_record(
    conn: &Connection,
    source: &str,
    state: &SourceState,
    result: &AttemptResult,
    settings: &ScopeSettings,
) -> Result<(Option<String>, Option<detect::ScopeDetection>)> {
    match result {
        AttemptResult::Failed { .. } => Ok((None, None)),
        AttemptResult::NotModified => {
            // A 304 confirms the scope of the content it confirms.
            let Some(good) = &state.last_good else {
                return Ok((None, None));
            };
            let hash: Option<String> = conn
                .prepare_cached("SELECT scope_hash FROM records WHERE id = ?1")?
                .query_row([good.record_id], |row| row.get(0))?;
            Ok((hash, None))
        }
        // A script shell says nothing of the scope: the previous scope
        // stays the reference, and its one event says why.
        AttemptResult::Extracted { content_kind, .. }
            if content_kind == crate::extract::shell::CONTENT_KIND =>
        {
            Ok((None, None))
        }
        AttemptResult::Extracted {
            scope,
            packed_scope,
            ..
        } => {
            let (previous, was_broken) = previous_scope(conn, source)?;
            let detection = detect::detect_scope(
                previous.as_ref().map(|(_, set)| set),
                previous.as_ref().map(|(record, _)| *record),
                was_broken,
                scope,
                settings,
            );
            // The extracted set is stored (packed) unless extraction broke.
            let hash = match packed_scope {
                Some(packed) if !detection.broken => Some(scope_sets::put(conn, packed)?),
                _ => None,
            };
            Ok((hash, Some(detection)))
        }
    }
}

/// The last stored scope of a source (its record and set), and whether the
/// last extraction was broken.
fn previous_scope(conn: &Connection, source: &str) -> Result<(Option<(i64, ScopeSet)>, bool)> {
    let row: Option<(Option<i64>, Option<String>, bool)> = conn
        .prepare_cached(
            "SELECT st.last_scope_record, r.scope_hash, st.scope_broken
             FROM source_state st
             LEFT JOIN records r ON r.id = st.last_scope_record
             WHERE st.source = ?1",
        )?
        .query_row([source], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((record, entries, broken)) = row else {
        return Ok((None, false));
    };
    let previous = match (record, entries) {
        (Some(record), Some(hash)) => Some((record, scope_sets::load(conn, &hash, record)?)),
        _ => None,
    };
    Ok((previous, broken))
}

fn load_state(conn: &Connection, source: &str) -> Result<SourceState> {
    let row = conn
        .prepare_cached(
            "SELECT s.consecutive_failures, s.failing, s.sign_in, r.id, r.raw_hash, r.text_hash,
                    COALESCE(r.final_url, r.url), r.content_kind, d.json
             FROM source_state s LEFT JOIN records r ON r.id = s.last_good_record
             LEFT JOIN record_fetch_details d ON d.record_id = s.last_good_record
             WHERE s.source = ?1",
        )?
        .query_row([source], |row| {
            let last_good = match row.get::<_, Option<i64>>(3)? {
                Some(record_id) => {
                    let raw: String = row.get(4)?;
                    let text: String = row.get(5)?;
                    let details: Option<String> = row.get(8)?;
                    let location = details
                        .as_deref()
                        .and_then(fetch_details::stored_location)
                        .map_or_else(|| row.get(6), Ok)?;
                    Some((record_id, raw, text, location, row.get(7)?, row.get(2)?))
                }
                None => None,
            };
            Ok((row.get::<_, i64>(0)?, row.get::<_, bool>(1)?, last_good))
        })
        .optional()?;
    let Some((failures, failing, last_good)) = row else {
        return Ok(SourceState::default());
    };
    let last_good = match last_good {
        Some((record_id, raw, text, final_url, kind, sign_in)) => {
            let parse = |h: &str| {
                Digest::from_hex(h).ok_or_else(|| {
                    StoreError::Corrupt(format!("record {record_id} has a malformed hash"))
                })
            };
            let kind: Option<String> = kind;
            Some(LastGood {
                record_id,
                raw_hash: parse(&raw)?,
                text_hash: parse(&text)?,
                final_url,
                content_kind: kind.unwrap_or_default(),
                sign_in,
            })
        }
        None => None,
    };
    Ok(SourceState {
        last_good,
        consecutive_failures: failures.max(0) as u32,
        failing,
    })
}

fn save_state(
    conn: &Connection,
    source: &str,
    record_id: i64,
    detection: &detect::Detection,
    capture: &Capture,
    result: &AttemptResult,
) -> Result<()> {
    let changed = matches!(
        detection.change,
        Some(Change::Baseline | Change::Content | Change::Moved)
    );
    // Validators come from a full 200 response; a 304 keeps the old ones.
    let fresh_validators = matches!(result, AttemptResult::Extracted { .. });
    let header = |name: &str| {
        capture
            .response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let next = &detection.next;
    conn.prepare_cached(
        "INSERT INTO source_state (source, last_record, last_good_record, last_change_record,
                                   consecutive_failures, failing, sign_in, etag, last_modified)
         VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN ?2 END, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(source) DO UPDATE SET
            last_record = excluded.last_record,
            last_good_record = excluded.last_good_record,
            last_change_record = COALESCE(excluded.last_change_record, last_change_record),
            consecutive_failures = excluded.consecutive_failures,
            failing = excluded.failing,
            sign_in = excluded.sign_in,
            etag = CASE WHEN ?10 THEN excluded.etag ELSE etag END,
            last_modified = CASE WHEN ?10 THEN excluded.last_modified ELSE last_modified END",
    )?
    .execute(params![
        source,
        record_id,
        next.last_good.as_ref().map(|g| g.record_id),
        changed,
        i64::from(next.consecutive_failures),
        next.failing,
        next.last_good.as_ref().is_some_and(|g| g.sign_in),
        header("etag"),
        header("last-modified"),
        fresh_validators,
    ])?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fetch of `source` that gave `body` as a plain-text page.
    pub(crate) fn attempt(source: &str, body: &[u8]) -> AttemptRecord {
        let url = format!("http://127.0.0.1/{source}");
        let extracted = crate::extract::extract(
            body,
            Some("text/plain"),
            &url,
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let scope = ScopeOutcome::Extracted(ScopeSet::default());
        AttemptRecord {
            source: source.to_string(),
            source_url: url.clone(),
            parent: None,
            capture: Capture {
                status: Some(200),
                content_type: Some("text/plain".into()),
                ..Capture::begun(url)
            },
            result: AttemptResult::extracted(body, extracted, scope).unwrap(),
            fail_after: 3,
            scope_settings: Arc::default(),
            alerts: Default::default(),
            follow: None,
            via: None,
        }
    }

    fn records_of(store: &Store, source: &str) -> i64 {
        store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM records WHERE source = ?1",
                [source],
                |row| row.get(0),
            )
            .unwrap()
    }

    /// A `stale` event for every source with a confirmed fetch.
    fn stale_candidates(store: &Store) -> Vec<StaleDraft> {
        store
            .last_confirmed_fetches()
            .unwrap()
            .into_iter()
            .map(|good| StaleDraft {
                source: good.source,
                last_confirmed_record: good.record_id,
                draft: EventDraft {
                    kind: crate::detect::EventKind::Stale,
                    summary: "old".into(),
                    from_record: Some(good.record_id),
                    diff: None,
                    severity: None,
                    details: None,
                },
            })
            .collect()
    }

    #[test]
    fn a_stale_event_is_raised_once_per_stale_spell_and_routed() {
        let mut store = Store::open_in_memory().unwrap();
        let first = store.record_attempt(&attempt("a", b"one")).unwrap();
        let stale = stale_candidates;
        let routes = [crate::alert::Route {
            channel: "hook".into(),
            filter: crate::alert::Filter {
                kinds: vec![crate::detect::EventKind::Stale],
                ..Default::default()
            },
        }];
        let now = "2030-01-01T00:00:00.000Z";
        let raised = store.raise_stale(&stale(&store), &routes, now).unwrap();
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].to_snapshot, first.record_id);
        assert_eq!(raised[0].from_snapshot, Some(first.record_id));
        // Once per spell: neither the next check nor a failed fetch raises another.
        assert!(
            store
                .raise_stale(&stale(&store), &routes, now)
                .unwrap()
                .is_empty()
        );
        let mut failed = attempt("a", b"gone");
        failed.result = AttemptResult::Failed {
            body: None,
            class: "connect".into(),
            message: "refused".into(),
        };
        let failure = store.record_attempt(&failed).unwrap();
        assert!(
            store
                .raise_stale(&stale(&store), &routes, now)
                .unwrap()
                .is_empty()
        );
        // A good fetch ends the spell; the next one is filed against the newest record.
        let second = store.record_attempt(&attempt("a", b"two")).unwrap();
        assert!(second.record_id > failure.record_id);
        let again = store.raise_stale(&stale(&store), &routes, now).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].to_snapshot, second.record_id);
        let (deliveries, leaves): (i64, i64) = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM outbox o JOIN events e ON e.id = o.event_id
                         WHERE e.kind = 'stale' AND o.channel = 'hook'),
                        (SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%\"kind\":\"stale\"%')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((deliveries, leaves), (2, 2));
    }

    #[test]
    fn a_stale_candidate_read_before_a_confirmed_fetch_raises_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        store.record_attempt(&attempt("a", b"one")).unwrap();
        let candidates = stale_candidates;
        // Read by `check`; meanwhile the daemon records a 304 of `a`.
        let read_before = candidates(&store);
        let mut not_modified = attempt("a", b"one");
        not_modified.result = AttemptResult::NotModified;
        let confirmed = store.record_attempt(&not_modified).unwrap();
        let now = "2030-01-01T00:00:00.000Z";
        assert!(
            store
                .raise_stale(&read_before, &[], now)
                .unwrap()
                .is_empty()
        );
        // Nothing filed against the new spell: when it is stale in its
        // turn, its event is raised.
        let raised = store.raise_stale(&candidates(&store), &[], now).unwrap();
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].from_snapshot, Some(confirmed.record_id));
    }

    #[test]
    fn retired_sources_have_no_last_confirmed_fetch() {
        let mut store = Store::open_in_memory().unwrap();
        store.record_attempt(&attempt("a", b"one")).unwrap();
        store.record_attempt(&attempt("a~b", b"two")).unwrap();
        store
            .conn
            .execute(
                "UPDATE sources SET retired_at = '2030-01-01T00:00:00.000Z' WHERE id = 'a~b'",
                [],
            )
            .unwrap();
        let sources: Vec<String> = store
            .last_confirmed_fetches()
            .unwrap()
            .into_iter()
            .map(|c| c.source)
            .collect();
        assert_eq!(sources, ["a"]);
    }

    #[test]
    fn request_headers_are_stored_once_and_an_edited_set_is_named_per_record() {
        let mut store = Store::open_in_memory().unwrap();
        let headers = vec![("accept".to_string(), "text/html".to_string())];
        for (source, body) in [("a", &b"one"[..]), ("b", b"two"), ("a", b"one")] {
            let mut attempt = attempt(source, body);
            attempt.capture.request_headers = headers.clone();
            store.record_attempt(&attempt).unwrap();
        }
        let count = |sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        // One request set and one response set (`[]`), each stored once.
        assert_eq!(count("SELECT COUNT(*) FROM header_sets"), 2);
        assert_eq!(
            count("SELECT COUNT(DISTINCT request_headers) FROM record_rows"),
            1
        );
        let records = store.all_records().unwrap();
        assert!(
            records
                .iter()
                .all(|(row, _)| row.request_headers == r#"[["accept","text/html"]]"#)
        );
        assert!(store.verify_chain().unwrap().is_empty());

        store
            .conn
            .execute_batch(
                "DROP TRIGGER header_sets_no_update;
                 UPDATE header_sets SET json = '[[\"accept\",\"*/*\"]]' WHERE id = 1;",
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        let altered: Vec<i64> = findings.iter().map(|f| f.record_id).collect();
        assert_eq!(altered, [1, 1, 2, 2, 3, 3], "{findings:?}");
        assert!(
            findings[0]
                .problem
                .contains("request header set 1 does not hash to its name")
        );
        // A genuine record with the same headers is refused, not pointed at
        // the forged set.
        let mut next = attempt("a", b"one");
        next.capture.request_headers = headers;
        let err = store.record_attempt(&next).unwrap_err().to_string();
        assert!(err.contains("run `scopewatch verify`"), "{err}");

        store
            .conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 DROP TRIGGER header_sets_no_delete;
                 DELETE FROM header_sets WHERE id = 2;",
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f.problem.contains("response header set 2 is missing")),
            "{findings:?}"
        );
    }

    #[test]
    fn a_pruned_body_that_comes_back_is_stored_again() {
        let mut store = Store::open_in_memory().unwrap();
        let body = b"version A of the page";
        store.record_attempt(&attempt("a", body)).unwrap();
        let hash = Digest::of(body);
        store
            .conn
            .execute(
                "UPDATE blobs SET data = X'', pruned_at = '2026-01-01T00:00:00Z' WHERE hash = ?1",
                [hash.to_hex()],
            )
            .unwrap();
        assert!(store.blob(&hash).is_err(), "pruned");
        // The page reverts to version A: the new record has its body.
        store.record_attempt(&attempt("a", body)).unwrap();
        assert_eq!(store.blob(&hash).unwrap(), body);
        let pruned: Option<String> = store
            .conn
            .query_row(
                "SELECT pruned_at FROM blobs WHERE hash = ?1",
                [hash.to_hex()],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pruned, None);
    }

    #[test]
    fn a_tampered_length_is_an_error_not_an_allocation() {
        let mut store = Store::open_in_memory().unwrap();
        store.record_attempt(&attempt("a", b"some page")).unwrap();
        let hash = Digest::of(b"some page");
        store
            .conn
            .execute(
                "UPDATE blobs SET size = 1000000000000000 WHERE hash = ?1",
                [hash.to_hex()],
            )
            .unwrap();
        let error = store.blob(&hash).unwrap_err().to_string();
        assert!(error.contains("does not match"), "{error}");
    }

    #[test]
    fn ids_added_by_a_rolled_back_attempt_are_not_reused() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER refuse_b BEFORE INSERT ON main.record_rows
                 WHEN NEW.source = 'b' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        // The batch is tried whole and rolled back at b, taking the ids
        // a's URL and digests were given; then b's are added and rolled back
        // with its savepoint, and c, in the same transaction, names the same
        // digests. Ids remembered from either would point at no row.
        let batch = [
            attempt("a", b"page a"),
            attempt("b", b"page b"),
            attempt("c", b"page b"),
        ];
        let results = store.record_attempts(&batch.iter().collect::<Vec<_>>());
        assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
        assert!(results[2].is_ok(), "{results:?}");
        store.conn.execute_batch("DROP TRIGGER refuse_b").unwrap();
        store.record_attempt(&attempt("b", b"page b")).unwrap();
        let url: String = store
            .conn
            .query_row("SELECT url FROM records WHERE source = 'b'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(url, "http://127.0.0.1/b");
        assert!(store.verify_chain().unwrap().is_empty());
    }

    #[test]
    fn a_batch_whose_commit_fails_reports_every_attempt_failed() {
        let mut store = Store::open_in_memory().unwrap();
        // b's record leaves a dangling foreign key that is checked only at
        // COMMIT: the batch's commit fails, and so does its commit when it
        // is written again attempt by attempt.
        store
            .conn
            .execute_batch(
                "CREATE TABLE test_dangling (
                     source TEXT REFERENCES sources(id) DEFERRABLE INITIALLY DEFERRED
                 );
                 CREATE TEMP TRIGGER dangle_b AFTER INSERT ON main.record_rows
                 WHEN NEW.source = 'b'
                 BEGIN INSERT INTO test_dangling VALUES ('no such source'); END;",
            )
            .unwrap();
        let batch = [
            attempt("a", b"page a"),
            attempt("b", b"page b"),
            attempt("c", b"page c"),
        ];
        let results = store.record_attempts(&batch.iter().collect::<Vec<_>>());
        assert!(results.iter().all(Result::is_err), "{results:?}");
        for source in ["a", "b", "c"] {
            assert_eq!(records_of(&store, source), 0, "{source}");
        }
        // Nothing was kept of the rolled-back writes, ids included.
        store.conn.execute_batch("DROP TRIGGER dangle_b").unwrap();
        let again = store.record_attempts(&batch.iter().collect::<Vec<_>>());
        assert!(again.iter().all(Result::is_ok), "{again:?}");
        assert!(store.verify_chain().unwrap().is_empty());
    }

    #[test]
    fn a_batch_reports_exactly_what_it_committed_when_the_disk_fills() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("scopewatch.db")).unwrap();
        store.record_attempt(&attempt("a", b"first page")).unwrap();
        // The database may grow by 10 pages: a 300 kB incompressible-ish
        // page cannot be written, small ones can.
        let pages: i64 = store
            .conn
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .unwrap();
        store
            .conn
            .pragma_update(None, "max_page_count", pages + 10)
            .unwrap();
        let big: String = (0..150_000)
            .map(|_| format!("{:02x}", fastrand::u8(..)))
            .collect();
        let batch = [
            attempt("b", b"a small page"),
            attempt("c", big.as_bytes()),
            attempt("d", b"another small page"),
        ];
        let results = store.record_attempts(&batch.iter().collect::<Vec<_>>());
        assert!(
            matches!(results[1], Err(StoreError::Full(_))),
            "{:?}",
            results[1]
        );
        store
            .conn
            .pragma_update(None, "max_page_count", 1_000_000_000)
            .unwrap();
        // Whether SQLite rolled back the savepoint or the whole transaction,
        // every attempt reported recorded is stored, and no other.
        for (attempt, result) in batch.iter().zip(&results) {
            assert_eq!(
                records_of(&store, &attempt.source),
                i64::from(result.is_ok()),
                "{}: {result:?}",
                attempt.source
            );
        }
        assert!(store.verify_chain().unwrap().is_empty());
        store
            .record_attempt(&attempt("e", b"space is back"))
            .unwrap();
        assert!(store.verify_chain().unwrap().is_empty());
    }
}
