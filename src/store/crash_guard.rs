//! Crash marks: before a page is extracted its source is marked with the
//! process that extracts it, and the attempt's record removes the mark. A
//! mark whose process is gone means that process died on the page (out of
//! memory, killed by the watchdog, aborted); the next sweep records a
//! `crashed` attempt for it instead of trying it again at once, and counts
//! such crashes in a row. The decisions (whose marks are orphaned, when a
//! source is quarantined) are the sweep's; this is the storage.

use rusqlite::params;

use super::{Result, Store, Writes};

/// The error class of an attempt recorded for a process that died while
/// extracting the page.
pub const CRASHED: &str = "crashed";

/// A source marked as being extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashMark {
    pub source: String,
    pub url: String,
    /// The process extracting it ("pid start-time").
    pub owner: String,
    pub since: String,
    /// `crashed` attempts recorded in a row before this mark.
    pub crashes: u32,
}

/// A source whose last attempts were `crashed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashCount {
    pub crashes: u32,
    /// When the last of them was recorded.
    pub crashed_at: String,
}

impl Store {
    /// Marks `source` as being extracted by `owner` from `since`.
    pub fn mark_in_flight(
        &mut self,
        source: &str,
        url: &str,
        owner: &str,
        since: &str,
    ) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO crash_guard (source, url, owner, since) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source) DO UPDATE SET
                    url = excluded.url, owner = excluded.owner, since = excluded.since",
            )?
            .execute(params![source, url, owner, since])?;
        Ok(())
    }

    /// Every source marked as being extracted, by whichever process.
    pub fn crash_marks(&self) -> Result<Vec<CrashMark>> {
        let mut statement = self.conn().prepare(
            "SELECT source, url, owner, since, crashes FROM crash_guard
             WHERE owner IS NOT NULL ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(CrashMark {
                source: row.get(0)?,
                url: row.get(1)?,
                owner: row.get(2)?,
                since: row.get(3)?,
                crashes: row.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Takes over `mark` from its dead owner, for `owner` to record its
    /// crash: false when another process took it first (or it is gone).
    pub fn take_over_mark(&mut self, mark: &CrashMark, owner: &str) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE crash_guard SET owner = ?3 WHERE source = ?1 AND owner = ?2",
            params![mark.source, mark.owner, owner],
        )?;
        Ok(changed == 1)
    }

    /// Removes the marks `owner` left without a record (attempts abandoned
    /// at a stop), keeping the crash counts.
    pub fn release_marks(&mut self, owner: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM crash_guard WHERE owner = ?1 AND crashes = 0",
            [owner],
        )?;
        self.conn().execute(
            "UPDATE crash_guard SET owner = NULL WHERE owner = ?1",
            [owner],
        )?;
        Ok(())
    }

    /// Removes the mark of a source no longer configured.
    pub fn forget_mark(&mut self, source: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM crash_guard WHERE source = ?1", [source])?;
        Ok(())
    }

    /// The sources whose last attempts were `crashed`, with their count.
    pub fn crash_counts(&self) -> Result<Vec<(String, CrashCount)>> {
        let mut statement = self.conn().prepare(
            "SELECT source, crashes, crashed_at FROM crash_guard
             WHERE crashes > 0 AND crashed_at IS NOT NULL ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                CrashCount {
                    crashes: row.get::<_, i64>(1)?.clamp(0, i64::from(u32::MAX)) as u32,
                    crashed_at: row.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Writes<'_> {
    /// What an attempt's record does to its source's mark (inside the record's
    /// transaction): a `crashed` attempt counts one crash more and leaves the
    /// source unmarked; any other attempt removes the mark and the count.
    pub fn after_attempt(&mut self, source: &str, crashed: bool, recorded_at: &str) -> Result<()> {
        if crashed {
            self.conn
                .prepare_cached(
                    "UPDATE crash_guard SET owner = NULL, crashes = crashes + 1, crashed_at = ?2
                     WHERE source = ?1",
                )?
                .execute(params![source, recorded_at])?;
        } else {
            self.conn
                .prepare_cached("DELETE FROM crash_guard WHERE source = ?1")?
                .execute([source])?;
        }
        Ok(())
    }
}
