//! Events that no fetch raised: `timestamp-failed`, recorded against the
//! newest record (every event names one) inside the caller's transaction,
//! and `stale`, recorded against the stale source's newest record once
//! per stale spell. Both are routed to the channels like any other. And
//! what freshness is judged on: each source's last confirmed fetch.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{EventRow, Result, Store, insert_event, outbox};
use crate::alert::Route;
use crate::detect::{EventDraft, EventKind};

impl Store {
    /// Inserts `draft` against the newest record and enqueues its
    /// deliveries; `None` when there is no record yet to attach it to.
    /// Call inside a [`Store::write_transaction`] that also logs it.
    pub fn raise_event(
        &self,
        draft: &EventDraft,
        routes: &[Route],
        now: &str,
    ) -> Result<Option<EventRow>> {
        raise_event(self.conn(), draft, routes, now)
    }
}

/// [`Store::raise_event`] on a connection.
fn raise_event(
    conn: &Connection,
    draft: &EventDraft,
    routes: &[Route],
    now: &str,
) -> Result<Option<EventRow>> {
    let newest: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, source FROM records ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((record_id, source)) = newest else {
        return Ok(None);
    };
    let event = insert_event(conn, record_id, &source, now, draft)?;
    outbox::enqueue(conn, routes, &event, None, now)?;
    Ok(Some(event))
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

/// A `stale` event to raise for `source` unless its last confirmed record
/// is no longer `last_confirmed_record` (a fetch confirmed it since) or its
/// current stale spell (since that record) already has one.
#[derive(Debug, Clone)]
pub struct StaleDraft {
    pub source: String,
    pub last_confirmed_record: i64,
    pub draft: EventDraft,
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

    /// Raises each of `stale` whose source has no `stale` event since its
    /// last confirmed record (one per stale spell: a confirmed fetch ends
    /// the spell), filed against the source's newest record, with its
    /// ledger leaf and its deliveries. The candidates were read before this
    /// transaction (another process may have recorded a fetch meanwhile):
    /// one whose last confirmed record has changed is skipped, or its event
    /// would fall in the new spell and silence it. One transaction; returns
    /// the events raised.
    pub fn raise_stale(
        &mut self,
        stale: &[StaleDraft],
        routes: &[Route],
        now: &str,
    ) -> Result<Vec<EventRow>> {
        if let Some(damage) = &self.damaged {
            return Err(super::StoreError::FileDamaged(damage.clone()));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut raised = Vec::new();
        for candidate in stale {
            let confirmed: Option<i64> = tx
                .prepare_cached(&format!(
                    "SELECT id FROM record_rows WHERE source = ?1 AND {CONFIRMED}
                     ORDER BY id DESC LIMIT 1"
                ))?
                .query_row([&candidate.source], |row| row.get(0))
                .optional()?;
            if confirmed != Some(candidate.last_confirmed_record) {
                continue;
            }
            let already: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM events
                     WHERE source = ?1 AND kind = ?2 AND record_id >= ?3)",
                )?
                .query_row(
                    params![
                        candidate.source,
                        EventKind::Stale,
                        candidate.last_confirmed_record
                    ],
                    |row| row.get(0),
                )?;
            if already {
                continue;
            }
            let newest: i64 = tx
                .prepare_cached("SELECT MAX(id) FROM record_rows WHERE source = ?1")?
                .query_row([&candidate.source], |row| row.get(0))?;
            let event = insert_event(&tx, newest, &candidate.source, now, &candidate.draft)?;
            let leaf = crate::evidence::ledger::event_leaf(&event, Default::default(), |id| {
                super::derived_hashes(&tx, id)
            })?;
            super::ledger::append(&tx, leaf)?;
            outbox::enqueue(&tx, routes, &event, None, now)?;
            raised.push(event);
        }
        tx.commit()?;
        Ok(raised)
    }
}
