//! What each `verify` of the database came to: when it finished, how many
//! findings it made, how much it checked, or why it could not finish.
//! Written by `verify`, read by the web view's evidence page.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store};

/// One `verify` of the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyRun {
    pub finished_at: String,
    /// Findings that set the exit status (tampering, damage).
    pub findings: i64,
    /// Findings reported but not counted: data pruned by policy, and
    /// what could not be checked.
    pub notes: i64,
    pub checkpoints: i64,
    pub re_extracted: i64,
    /// Why it could not finish (the counts are then zero); `None`: it ran
    /// to the end.
    pub error: Option<String>,
}

impl Store {
    pub fn record_verify_run(&mut self, run: &VerifyRun) -> Result<()> {
        self.conn().execute(
            "INSERT INTO verify_runs (finished_at, findings, notes, checkpoints, re_extracted, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.finished_at,
                run.findings,
                run.notes,
                run.checkpoints,
                run.re_extracted,
                run.error
            ],
        )?;
        Ok(())
    }

    /// The newest `verify` of the database, if one ran.
    pub fn last_verify_run(&self) -> Result<Option<VerifyRun>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT finished_at, findings, notes, checkpoints, re_extracted, error
                 FROM verify_runs ORDER BY id DESC LIMIT 1",
                [],
                |row| {
                    Ok(VerifyRun {
                        finished_at: row.get(0)?,
                        findings: row.get(1)?,
                        notes: row.get(2)?,
                        checkpoints: row.get(3)?,
                        re_extracted: row.get(4)?,
                        error: row.get(5)?,
                    })
                },
            )
            .optional()?)
    }
}
