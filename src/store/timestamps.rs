//! The rows of RFC 3161 timestamps over checkpoints and of the requests
//! that failed: which checkpoint awaits a token, the stored tokens, and
//! when a TSA last granted or failed. Asking the TSA and checking its
//! reply are the evidence module's.

use rusqlite::{OptionalExtension, params};

use super::{Checkpoint, Result, Store, WriteTransaction, Writes};

impl Store {
    /// The newest checkpoint, when it is newer than every stamped one.
    pub fn unstamped_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let id: Option<i64> = self.conn().query_row(
            "SELECT MAX(id) FROM checkpoints
             WHERE id > (SELECT COALESCE(MAX(checkpoint_id), 0) FROM checkpoint_timestamps)",
            [],
            |row| row.get(0),
        )?;
        match id {
            Some(id) => self.checkpoint(id),
            None => Ok(None),
        }
    }

    /// The stored reply for each checkpoint that has one, by checkpoint id.
    pub fn timestamp_tokens(&self) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(self
            .conn()
            .prepare(
                "SELECT checkpoint_id, response FROM checkpoint_timestamps ORDER BY checkpoint_id",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The reply stored for the newest checkpoint that has one, with its id.
    pub fn newest_timestamp_token(&self) -> Result<Option<(i64, Vec<u8>)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT checkpoint_id, response FROM checkpoint_timestamps
             ORDER BY checkpoint_id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }
}

impl WriteTransaction<'_> {
    /// Stores the TSA `tsa_url`'s reply `der` for `checkpoint`, received at `at`.
    pub fn insert_timestamp_token(
        &self,
        checkpoint: i64,
        tsa_url: &str,
        at: &str,
        der: &[u8],
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO checkpoint_timestamps (checkpoint_id, tsa_url, at, response)
         VALUES (?1, ?2, ?3, ?4)",
            params![checkpoint, tsa_url, at, der],
        )?;
        Ok(())
    }
}

impl Writes<'_> {
    /// When the TSA `tsa_url` last failed and last granted a token, if ever.
    pub fn last_timestamp_outcomes(
        &mut self,
        tsa_url: &str,
    ) -> Result<(Option<String>, Option<String>)> {
        let conn = self.conn;
        let last_failure: Option<String> = conn
            .query_row(
                "SELECT MAX(at) FROM timestamp_failures WHERE tsa_url = ?1",
                [tsa_url],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        let last_success: Option<String> = conn
            .query_row(
                "SELECT MAX(at) FROM checkpoint_timestamps WHERE tsa_url = ?1",
                [tsa_url],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        Ok((last_failure, last_success))
    }

    /// Records that the TSA `tsa_url` gave no token for `checkpoint`.
    pub fn insert_timestamp_failure(
        &mut self,
        checkpoint: i64,
        tsa_url: &str,
        at: &str,
        error: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO timestamp_failures (checkpoint_id, tsa_url, at, error) VALUES (?1, ?2, ?3, ?4)",
            params![checkpoint, tsa_url, at, error],
        )?;
        Ok(())
    }
}
