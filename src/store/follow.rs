//! The pages a source follows, as the store keeps them: read before, and
//! written after, `record` applies [`crate::follow::decide`] to them in the
//! same transaction as the parent's record (counts of fetches without
//! them, retirements). A retired page keeps its records; it is only no
//! longer fetched.

use rusqlite::params;

use super::{Result, Writes};
use crate::follow::{Child, Decision};

impl Writes<'_> {
    /// The pages `parent` has followed, with their counts.
    pub fn followed_by(&mut self, parent: &str) -> Result<Vec<Child>> {
        let children = self
            .conn
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
        Ok(children)
    }

    /// Writes what one fetch of a parent decided of its followed pages
    /// (see [`crate::follow::decide`]): the ones fetched start counting
    /// again, the unlinked count one fetch more, the retired are retired
    /// at `now`.
    pub fn apply_follow(&mut self, decision: &Decision, now: &str) -> Result<()> {
        let mut fetched = self.conn.prepare_cached(
            "UPDATE sources SET unlinked_fetches = 0, retired_at = NULL
             WHERE id = ?1 AND (unlinked_fetches <> 0 OR retired_at IS NOT NULL)",
        )?;
        for link in &decision.fetch {
            fetched.execute([&link.id])?;
        }
        let mut unfollowed = self.conn.prepare_cached(
            "UPDATE sources SET unlinked_fetches = unlinked_fetches + 1 WHERE id = ?1",
        )?;
        for id in &decision.unfollowed {
            unfollowed.execute([id])?;
        }
        let mut retire = self
            .conn
            .prepare_cached("UPDATE sources SET retired_at = ?2 WHERE id = ?1")?;
        for id in &decision.retire {
            retire.execute(params![id, now])?;
        }
        Ok(())
    }
}
