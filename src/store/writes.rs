//! The writes of one unit of work, inside the transaction the store opens
//! for it ([`super::Store::write_each`], [`super::Store::write`]): typed
//! statements only. What to write, and why, is decided by the caller
//! (`record`); a write that fails rolls back with the rest of its unit.
//! This file holds a source's row and state, the attempt's record and the
//! ledger append; the outbox, follow, crash-guard, raised-event and
//! timestamp statements sit beside their reads (`outbox.rs`, `follow.rs`,
//! `crash_guard.rs`, `raised.rs`, `timestamps.rs`).

use rusqlite::{Connection, OptionalExtension, params};

use super::chain::{self, Link, RecordRow};
use super::fetch_details::{self, FetchedVia};
use super::ledger::{self, LeafRow, NewLeaf};
use super::{
    DerivedHashes, PackedBlob, PackedScope, Result, StoreError, blob, packed, queries, scope_sets,
};
use crate::detect::{EventDraft, LastGood, SourceState};
use crate::hash::Digest;
use crate::scope::ScopeSet;

/// The open transaction of one unit of work (see the module doc).
pub struct Writes<'c> {
    pub(super) conn: &'c Connection,
    pub(super) known: &'c mut packed::KnownIds,
}

/// A source's state after an attempt, as `source_state` keeps it.
#[derive(Debug, Clone)]
pub struct StateUpdate {
    pub record_id: i64,
    /// The record later attempts compare with.
    pub last_good_record: Option<i64>,
    /// The attempt changed the page (a baseline, content or a move).
    pub changed: bool,
    pub consecutive_failures: u32,
    pub failing: bool,
    pub sign_in: bool,
    /// The response's validators, kept only when `fresh_validators` (a full
    /// response: a 304 keeps the ones before).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fresh_validators: bool,
}

impl Writes<'_> {
    /// Adds `source`, or updates its URL and parent when they changed.
    pub fn upsert_source(
        &mut self,
        source: &str,
        url: &str,
        parent: Option<&str>,
        now: &str,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sources (id, url, parent, first_seen) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET url = excluded.url, parent = excluded.parent
                 WHERE url IS NOT excluded.url OR parent IS NOT excluded.parent",
            )?
            .execute(params![source, url, parent, now])?;
        Ok(())
    }

    /// What change detection knows of `source`: its last good record and
    /// its failure count. A source with no state yet has the default.
    pub fn source_state(&mut self, source: &str) -> Result<SourceState> {
        let state = load_state(self.conn, source)?;
        if let Some(good) = &state.last_good {
            // A 304 or an unchanged page names the digests of its last good
            // record; for another attempt this costs two lookups by row id of
            // rows `load_state` has just read.
            packed::learn_digests(self.conn, self.known, good.record_id)?;
        }
        Ok(state)
    }

    /// The id and `prev_hash` of the record this unit writes next.
    pub fn next_link(&mut self) -> Result<Link> {
        chain::next_link(self.conn)
    }

    /// Stores a packed blob (once per content) and gives its digest.
    pub fn put_blob(&mut self, blob: &PackedBlob) -> Result<Digest> {
        blob::put(self.conn, blob)
    }

    /// The bytes of a stored blob.
    pub fn blob(&mut self, hash: &Digest) -> Result<Vec<u8>> {
        blob::get(self.conn, hash)
    }

    /// The scope hash stored with record `id`.
    pub fn scope_hash_of(&mut self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT scope_hash FROM records WHERE id = ?1")?
            .query_row([id], |row| row.get(0))?)
    }

    /// The last stored scope of a source (its record and set), and whether
    /// the last extraction was broken.
    pub fn previous_scope(&mut self, source: &str) -> Result<(Option<(i64, ScopeSet)>, bool)> {
        let row: Option<(Option<i64>, Option<String>, bool)> = self
            .conn
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
            (Some(record), Some(hash)) => {
                Some((record, scope_sets::load(self.conn, &hash, record)?))
            }
            _ => None,
        };
        Ok((previous, broken))
    }

    /// Stores a packed scope set (once per content) and gives its hash.
    pub fn put_scope_set(&mut self, set: &PackedScope) -> Result<String> {
        scope_sets::put(self.conn, set)
    }

    /// Whether `source`'s scope was unreadable after its last attempt.
    pub fn scope_unreadable(&mut self, source: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT scope_broken FROM source_state WHERE source = ?1")?
            .query_row([source], |row| row.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// Stores what `via` holds besides its JSON and gives the JSON the
    /// record hashes (see [`fetch_details`]).
    pub fn fetch_details(&mut self, via: &FetchedVia) -> Result<String> {
        fetch_details::prepare(self.conn, via)
    }

    /// Appends `row`, made at `link`, with its hash, to the chain.
    pub fn insert_record(&mut self, row: &RecordRow, link: &Link, hash: &Digest) -> Result<()> {
        packed::insert(self.conn, self.known, row, link, hash)
    }

    /// Notes that record `id` replays a fetch made at `fetched_at`.
    pub fn mark_replayed(&mut self, id: i64, fetched_at: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO replayed_records (record_id, fetched_at) VALUES (?1, ?2)")?
            .execute(params![id, fetched_at])?;
        Ok(())
    }

    /// Inserts the event `draft` filed against `record_id`; its diff is
    /// stored as a blob.
    pub fn insert_event(
        &mut self,
        record_id: i64,
        source: &str,
        detected_at: &str,
        draft: &EventDraft,
    ) -> Result<super::EventRow> {
        super::insert_event(self.conn, record_id, source, detected_at, draft)
    }

    /// Appends `leaf` to the ledger after the last one; returns its `seq`
    /// and the row as stored.
    pub fn append_leaf(&mut self, leaf: impl NewLeaf) -> Result<(i64, LeafRow)> {
        ledger::append(self.conn, leaf)
    }

    /// The text and scope hashes of record `id` (what an event leaf states
    /// of the records it compares).
    pub fn derived_hashes(&mut self, id: i64) -> Result<Option<DerivedHashes>> {
        queries::derived_hashes(self.conn, id)
    }

    /// Writes `source`'s state after an attempt.
    pub fn save_state(&mut self, source: &str, update: &StateUpdate) -> Result<()> {
        self.conn
            .prepare_cached(
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
                update.record_id,
                update.last_good_record,
                update.changed,
                i64::from(update.consecutive_failures),
                update.failing,
                update.sign_in,
                update.etag,
                update.last_modified,
                update.fresh_validators,
            ])?;
        Ok(())
    }

    /// Whether `source`'s scope is unreadable after record `record_id`;
    /// a readable one makes that record its scope's reference.
    pub fn save_scope_state(&mut self, source: &str, broken: bool, record_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE source_state SET scope_broken = ?2,
                    last_scope_record = CASE WHEN ?3 THEN ?4 ELSE last_scope_record END
                 WHERE source = ?1",
            )?
            .execute(params![source, broken, !broken, record_id])?;
        Ok(())
    }
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
