//! The reads `verify` makes beside the ledger and the record chain: a
//! record's stored hash, the record ids from one on and the columns
//! re-extraction takes (both streamed a row at a time), the bodies
//! retention pruned, and a body's packed bytes.

use std::collections::HashSet;

use super::{Result, Store, StoreError};

/// A record's columns re-extraction takes.
#[derive(Debug, Clone)]
pub struct ReextractionRow {
    pub id: i64,
    pub source: String,
    pub outcome: String,
    pub raw_hash: Option<String>,
    pub text_hash: Option<String>,
    pub scope_hash: Option<String>,
    pub content_type: Option<String>,
    /// The URL the body came from (after redirects).
    pub final_url: String,
}

impl Store {
    /// The stored `record_hash` of record `id`, when it exists.
    pub fn record_hash(&self, id: i64) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .prepare_cached("SELECT record_hash FROM records WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?)
    }

    /// Feeds the id of every record from `first` on to `each`, in order,
    /// one row at a time.
    pub fn for_each_record_id<E: From<StoreError>>(
        &self,
        first: i64,
        mut each: impl FnMut(i64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut statement = self
            .conn()
            .prepare("SELECT id FROM records WHERE id >= ?1 ORDER BY id")
            .map_err(StoreError::from)?;
        let mut ids = statement.query([first]).map_err(StoreError::from)?;
        while let Some(row) = ids.next().map_err(StoreError::from)? {
            each(row.get(0).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Feeds every record from `first` on, as re-extraction reads it, to
    /// `each`, in id order, one row at a time.
    pub fn for_each_reextraction_row<E: From<StoreError>>(
        &self,
        first: i64,
        mut each: impl FnMut(ReextractionRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut statement = self
            .conn()
            .prepare(
                "SELECT id, source, outcome, raw_hash, text_hash, scope_hash, content_type,
                COALESCE(final_url, url)
         FROM records WHERE id >= ?1 ORDER BY id",
            )
            .map_err(StoreError::from)?;
        let mut rows = statement.query([first]).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let read = || -> rusqlite::Result<ReextractionRow> {
                Ok(ReextractionRow {
                    id: row.get(0)?,
                    source: row.get(1)?,
                    outcome: row.get(2)?,
                    raw_hash: row.get(3)?,
                    text_hash: row.get(4)?,
                    scope_hash: row.get(5)?,
                    content_type: row.get(6)?,
                    final_url: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
                })
            };
            each(read().map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// The hashes (hex) of the blobs `[retention]` pruned.
    pub fn pruned_blobs(&self) -> Result<HashSet<String>> {
        Ok(self
            .conn()
            .prepare("SELECT hash FROM blobs WHERE pruned_at IS NOT NULL")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A blob's size unpacked and its packed (zstd) bytes, as stored.
    pub fn packed_blob(&self, hash: &str) -> Result<(i64, Vec<u8>)> {
        Ok(self
            .conn()
            .prepare_cached("SELECT size, data FROM blobs WHERE hash = ?1")?
            .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?)))?)
    }
}
