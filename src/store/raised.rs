//! Events that no fetch raised: `timestamp-failed`, recorded against the
//! newest record (every event names one) inside the caller's transaction,
//! and `stale`, recorded against the stale source's newest record once
//! per stale spell. Both are routed to the channels like any other.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{EventRow, Result, Store, insert_event, outbox};
use crate::alert::Route;
use crate::detect::{EventDraft, EventKind};

/// Inserts `draft` against the newest record and enqueues its deliveries;
/// `None` when there is no record yet to attach it to.
pub fn raise_event(
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

/// A source's last good fetch: the record and when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastGoodRecord {
    pub source: String,
    pub record_id: i64,
    pub started_at: String,
}

/// A `stale` event to raise for `source` unless its current stale spell
/// (since its last good record `last_good_record`) already has one.
#[derive(Debug, Clone)]
pub struct StaleDraft {
    pub source: String,
    pub last_good_record: i64,
    pub draft: EventDraft,
}

impl Store {
    /// Per source with one and not retired, its last good fetch (a page,
    /// or a 304).
    pub fn last_good_records(&self) -> Result<Vec<LastGoodRecord>> {
        let mut statement = self.conn().prepare(
            "SELECT st.source, st.last_good_record, r.started_at FROM source_state st
             JOIN records r ON r.id = st.last_good_record
             JOIN sources s ON s.id = st.source
             WHERE s.retired_at IS NULL",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(LastGoodRecord {
                source: row.get(0)?,
                record_id: row.get(1)?,
                started_at: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Raises each of `stale` whose source has no `stale` event since its
    /// last good record (one per stale spell: a good fetch ends the spell),
    /// filed against the source's newest record, with its ledger leaf and
    /// its deliveries. One transaction; returns the events raised.
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
            let already: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM events
                     WHERE source = ?1 AND kind = ?2 AND record_id >= ?3)",
                )?
                .query_row(
                    params![
                        candidate.source,
                        EventKind::Stale.as_str(),
                        candidate.last_good_record
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
            crate::evidence::ledger::record_event(&tx, &event, Default::default())?;
            outbox::enqueue(&tx, routes, &event, None, now)?;
            raised.push(event);
        }
        tx.commit()?;
        Ok(raised)
    }
}
