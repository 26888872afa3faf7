//! The pages a source follows, as the store keeps them: after each
//! successful fetch of the parent, [`crate::follow::decide`] is applied to
//! its followed sources in the same transaction as the parent's record
//! (counts of fetches without them, retirements), and the links to fetch
//! are handed back. A retired page keeps its records; it is only no longer
//! fetched.

use rusqlite::{Connection, params};

use super::Result;
use crate::follow::{self, Child, Followed, Link};

/// Applies one fetch of `parent` that found `followed`; returns the links
/// to fetch now.
pub(super) fn on_parent_fetched(
    conn: &Connection,
    parent: &str,
    followed: &Followed,
    now: &str,
) -> Result<Vec<Link>> {
    let children: Vec<Child> = conn
        .prepare_cached(
            "SELECT id, unlinked_fetches, retired_at IS NOT NULL FROM sources WHERE parent = ?1",
        )?
        .query_map([parent], |row| {
            Ok(Child {
                id: row.get(0)?,
                unfollowed: row.get::<_, i64>(1)?.clamp(0, i64::from(u32::MAX)) as u32,
                retired: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let decision = follow::decide(&children, followed);
    let mut fetched = conn.prepare_cached(
        "UPDATE sources SET unlinked_fetches = 0, retired_at = NULL
         WHERE id = ?1 AND (unlinked_fetches <> 0 OR retired_at IS NOT NULL)",
    )?;
    for link in &decision.fetch {
        fetched.execute([&link.id])?;
    }
    let mut unfollowed = conn.prepare_cached(
        "UPDATE sources SET unlinked_fetches = unlinked_fetches + 1 WHERE id = ?1",
    )?;
    for id in &decision.unfollowed {
        unfollowed.execute([id])?;
    }
    let mut retire = conn.prepare_cached("UPDATE sources SET retired_at = ?2 WHERE id = ?1")?;
    for id in &decision.retire {
        retire.execute(params![id, now])?;
    }
    Ok(decision.fetch)
}
