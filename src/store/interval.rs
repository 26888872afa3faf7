//! Reads that bound one stretch of the ledger, for `verify
//! --last-checkpoint`: the last record and event the leaves before it
//! named (the stretch's own records and events come after them), the
//! events from an id on, the sources of the records from an id on, and a
//! source's scope as the sweep had it before a record. Each is a seek or
//! a short walk back along an index, never a read of the whole history.

use rusqlite::OptionalExtension;
use serde_json::Value;

use super::queries::{EVENT_COLUMNS, event_row};
use super::{EventRow, Result, Store};

/// What the ledger named last before a given leaf.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoggedBefore {
    /// The record of the last capture or failure leaf.
    pub record: Option<i64>,
    /// The event of the last event leaf.
    pub event: Option<i64>,
}

/// A source's scope as the sweep last stored it before a record: the last
/// successful capture that stored a scope set (its record and the set's
/// hash), and whether a successful capture after it stored none (its
/// extraction was judged broken).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeBefore {
    pub stored: Option<(i64, String)>,
    pub broken: bool,
}

impl Store {
    /// The last record and event named by a leaf before ledger entry
    /// `seq`. Capture and failure leaves name their record in a column
    /// (older ones in their text); quotes inside a leaf's strings are
    /// escaped, so only a leaf's own `type` member matches the patterns.
    pub fn logged_before(&self, seq: i64) -> Result<LoggedBefore> {
        self.logged_next_to(seq, "seq < ?1", "DESC")
    }

    /// The first record and event named by a leaf from ledger entry `seq`
    /// on. Those leaves are checked against the newest signed root, the
    /// ones before `seq` are not: where a stretch's records begin is
    /// taken as the lower of the two, so an edited leaf before the
    /// stretch cannot move its start past records it holds.
    pub fn logged_from(&self, seq: i64) -> Result<LoggedBefore> {
        self.logged_next_to(seq, "seq >= ?1", "")
    }

    /// The record and event named by the nearest leaves on one side of
    /// `seq`: `side` bounds `seq`, `order` walks away from it.
    fn logged_next_to(&self, seq: i64, side: &str, order: &str) -> Result<LoggedBefore> {
        let conn = self.conn();
        let record = conn
            .query_row(
                &format!(
                    r#"SELECT record_id, leaf FROM ledger
                       WHERE {side} AND (record_id IS NOT NULL
                           OR leaf LIKE '%"type":"capture"%' OR leaf LIKE '%"type":"failure"%')
                       ORDER BY seq {order} LIMIT 1"#
                ),
                [seq],
                |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()?
            .and_then(|(id, leaf)| id.or_else(|| member(&leaf, "record_id")));
        let event = conn
            .query_row(
                &format!(
                    r#"SELECT leaf FROM ledger WHERE {side} AND leaf LIKE '%"type":"event"%'
                       ORDER BY seq {order} LIMIT 1"#
                ),
                [seq],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .and_then(|leaf| member(&leaf, "event_id"));
        Ok(LoggedBefore { record, event })
    }

    /// The highest record id (0 when there is none): with the ledger's
    /// size, what two connections compare to know they read one snapshot
    /// (records and leaves are only ever appended).
    pub fn last_record_id(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM record_rows", [], |row| {
                row.get(0)
            })?)
    }

    /// Record `id`'s raw body, when it names one that `[retention]`
    /// pruned (its bytes emptied, `pruned_at` set): its hash.
    pub fn pruned_raw_hash(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT r.raw_hash FROM records r JOIN blobs b ON b.hash = r.raw_hash
                 WHERE r.id = ?1 AND b.pruned_at IS NOT NULL",
            )?
            .query_row([id], |row| row.get(0))
            .optional()?)
    }

    /// The events with ids from `first` on, in id order.
    pub fn events_from(&self, first: i64) -> Result<Vec<EventRow>> {
        let mut statement = self.conn().prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id >= ?1 ORDER BY id"
        ))?;
        let rows = statement.query_map([first], event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The sources of the records with ids from `first` on.
    pub fn sources_from(&self, first: i64) -> Result<Vec<String>> {
        let mut statement = self
            .conn()
            .prepare("SELECT DISTINCT source FROM record_rows WHERE id >= ?1 ORDER BY source")?;
        let rows = statement.query_map([first], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `source`'s scope as the sweep had it before record `before`.
    pub fn scope_before(&self, source: &str, before: i64) -> Result<ScopeBefore> {
        let conn = self.conn();
        let stored: Option<(i64, String)> = conn
            .prepare_cached(
                "SELECT id, scope_hash FROM records
                 WHERE source = ?1 AND id < ?2 AND outcome = 'ok' AND scope_hash IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(rusqlite::params![source, before], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let after = stored.as_ref().map_or(0, |(id, _)| *id);
        let broken = conn
            .prepare_cached(
                "SELECT 1 FROM records
                 WHERE source = ?1 AND id > ?2 AND id < ?3 AND outcome = 'ok'
                     AND scope_hash IS NULL
                 LIMIT 1",
            )?
            .query_row(rusqlite::params![source, after, before], |_| Ok(()))
            .optional()?
            .is_some();
        Ok(ScopeBefore { stored, broken })
    }
}

/// An integer member of a leaf's JSON.
fn member(leaf: &str, name: &str) -> Option<i64> {
    serde_json::from_str::<Value>(leaf).ok()?[name].as_i64()
}
