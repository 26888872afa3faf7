//! The daemon's own records: its heartbeat and schedule (one row, read by
//! `scopewatch status`) and what happened to it (start, stop, reload,
//! rejected configuration).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store};

/// The last sweep's counts and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SweepSummary {
    pub finished_at: String,
    pub checked: usize,
    pub failed: usize,
    pub changed: usize,
    /// From the start of its fetches to the end of its checkpoint and
    /// timestamp; none in a row a daemon wrote before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The daemon's heartbeat row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub started_at: String,
    pub heartbeat_at: String,
    pub next_sweep: Option<String>,
    pub last_sweep: Option<SweepSummary>,
}

/// Something that happened to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonEvent {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub message: String,
}

impl Store {
    /// Replaces the heartbeat row.
    pub fn save_daemon_status(&mut self, status: &DaemonStatus) -> Result<()> {
        self.conn().execute(
            "INSERT INTO daemon_status (id, pid, started_at, heartbeat_at, next_sweep, last_sweep)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at,
                heartbeat_at = excluded.heartbeat_at, next_sweep = excluded.next_sweep,
                last_sweep = excluded.last_sweep",
            params![
                status.pid,
                status.started_at,
                status.heartbeat_at,
                status.next_sweep,
                status
                    .last_sweep
                    .as_ref()
                    .map(|s| serde_json::to_string(s).expect("a summary serialises")),
            ],
        )?;
        Ok(())
    }

    pub fn daemon_status(&self) -> Result<Option<DaemonStatus>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT pid, started_at, heartbeat_at, next_sweep, last_sweep FROM daemon_status WHERE id = 1",
                [],
                |row| {
                    let last: Option<String> = row.get(4)?;
                    Ok(DaemonStatus {
                        pid: row.get(0)?,
                        started_at: row.get(1)?,
                        heartbeat_at: row.get(2)?,
                        next_sweep: row.get(3)?,
                        last_sweep: last.and_then(|l| serde_json::from_str(&l).ok()),
                    })
                },
            )
            .optional()?)
    }

    pub fn add_daemon_event(&mut self, at: &str, kind: &str, message: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO daemon_events (at, kind, message) VALUES (?1, ?2, ?3)",
            params![at, kind, message],
        )?;
        Ok(())
    }

    /// The latest daemon events, newest first.
    pub fn daemon_events(&self, limit: usize) -> Result<Vec<DaemonEvent>> {
        let mut statement = self
            .conn()
            .prepare("SELECT id, at, kind, message FROM daemon_events ORDER BY id DESC LIMIT ?1")?;
        let rows = statement.query_map([limit as i64], |row| {
            Ok(DaemonEvent {
                id: row.get(0)?,
                at: row.get(1)?,
                kind: row.get(2)?,
                message: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
