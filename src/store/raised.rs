//! Events that no fetch raised (e.g. `timestamp-failed`): recorded against
//! the newest record, since every event names one, and routed to the
//! channels like any other. Called inside the caller's transaction.

use rusqlite::{Connection, OptionalExtension};

use super::{EventRow, Result, insert_event, outbox};
use crate::alert::Route;
use crate::detect::EventDraft;

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
