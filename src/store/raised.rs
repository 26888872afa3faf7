//! What events no fetch raised are filed on (`timestamp-failed` against
//! the newest record, `stale` against the stale source's newest record,
//! once per stale spell), and what freshness is judged on: each source's
//! last confirmed fetch.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, Writes};
use crate::detect::EventKind;

impl Writes<'_> {
    /// The newest record and its source: events no fetch raised
    /// (`timestamp-failed`) are filed against it. `None` before any record.
    pub fn newest_record(&mut self) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, source FROM records ORDER BY id DESC LIMIT 1")?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    /// `source`'s newest record.
    pub fn newest_record_of(&mut self, source: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT MAX(id) FROM record_rows WHERE source = ?1")?
            .query_row([source], |row| row.get(0))?)
    }

    /// `source`'s last confirmed record (see [`LastConfirmed`]).
    pub fn last_confirmed_record(&mut self, source: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT id FROM record_rows WHERE source = ?1 AND {CONFIRMED}
                 ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([source], |row| row.get(0))
            .optional()?)
    }

    /// Whether `source` has a `stale` event filed at or after `record_id`.
    pub fn stale_since(&mut self, source: &str, record_id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events
                 WHERE source = ?1 AND kind = ?2 AND record_id >= ?3)",
            )?
            .query_row(params![source, EventKind::Stale, record_id], |row| {
                row.get(0)
            })?)
    }
}

/// A source's last confirmed fetch: its newest record whose fetch gave a
/// page or a 304 (the page is as stored), and when it started. Freshness
/// is judged on it, not on the last good record change detection compares
/// with: a source that answers 304 is fresh while its page is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastConfirmed {
    pub source: String,
    pub record_id: i64,
    pub started_at: String,
}

/// A confirmed record's outcome, packed (0 ok, 1 not-modified) or as
/// written before packing. A source's newest such record is found walking
/// back from its newest record through `records_by_source`: as many rows
/// as it has failed since, and no column to keep in step.
const CONFIRMED: &str = "outcome IN (0, 1, 'ok', 'not-modified')";

impl Store {
    /// Per source not retired with one, its last confirmed fetch (see
    /// [`LastConfirmed`]).
    pub fn last_confirmed_fetches(&self) -> Result<Vec<LastConfirmed>> {
        let mut statement = self.conn().prepare(&format!(
            "SELECT c.source, r.id, r.started_at
             FROM (SELECT s.id AS source,
                          (SELECT id FROM record_rows WHERE source = s.id AND {CONFIRMED}
                           ORDER BY id DESC LIMIT 1) AS record_id
                   FROM sources s WHERE s.retired_at IS NULL) c
             JOIN records r ON r.id = c.record_id"
        ))?;
        let rows = statement.query_map([], |row| {
            Ok(LastConfirmed {
                source: row.get(0)?,
                record_id: row.get(1)?,
                started_at: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// [`Store::last_confirmed_fetches`] by source: when each started.
    pub fn last_confirmed_times(&self) -> Result<HashMap<String, String>> {
        Ok(self
            .last_confirmed_fetches()?
            .into_iter()
            .map(|c| (c.source, c.started_at))
            .collect())
    }
}
