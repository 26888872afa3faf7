//! The rows of signed checkpoints and the Merkle right edge saved with
//! each: inserting one, and reading them by id, the newest, the newest two
//! `verify --last-checkpoint` spans, or all. What a checkpoint signs and
//! checking its signature are the evidence module's.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, WriteTransaction};

/// One signed statement of the ledger's size and root (its text and
/// signature check: `evidence::checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: i64,
    pub tree_size: i64,
    /// RFC 6962 root of the first `tree_size` leaves, hex.
    pub root: String,
    pub at: String,
    pub key_id: String,
    /// Ed25519 over the checkpoint's text, hex.
    pub signature: String,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        id: row.get(0)?,
        tree_size: row.get(1)?,
        root: row.get(2)?,
        at: row.get(3)?,
        key_id: row.get(4)?,
        signature: row.get(5)?,
    })
}

impl WriteTransaction<'_> {
    /// Inserts `checkpoint` (its `id` is ignored) with `edge`, the Merkle
    /// right edge of the tree it signs; returns its id.
    pub fn insert_checkpoint(&self, checkpoint: &Checkpoint, edge: &str) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO checkpoints (tree_size, root, at, key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                checkpoint.tree_size,
                checkpoint.root,
                checkpoint.at,
                checkpoint.key_id,
                checkpoint.signature
            ],
        )?;
        let id = conn.last_insert_rowid();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO checkpoint_edges (checkpoint_id, edge) VALUES (?1, ?2)",
        )?
        .execute(params![id, edge])?;
        Ok(id)
    }
}

const COLUMNS: &str = "id, tree_size, root, at, key_id, signature";

impl Store {
    /// The Merkle right edge saved with checkpoint `id`, as text.
    pub fn checkpoint_edge(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT edge FROM checkpoint_edges WHERE checkpoint_id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?)
    }

    /// Saves `edge` as checkpoint `id`'s right edge when none is saved
    /// (never replacing one).
    pub fn save_checkpoint_edge(&self, id: i64, edge: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO checkpoint_edges (checkpoint_id, edge) VALUES (?1, ?2)",
            )?
            .execute(params![id, edge])?;
        Ok(())
    }

    /// The newest checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM checkpoints ORDER BY id DESC LIMIT 1"),
                [],
                from_row,
            )
            .optional()?)
    }

    /// The checkpoint `verify --last-checkpoint` ends at and the one its
    /// stretch starts from, oldest first (fewer when there are fewer). The
    /// newest is the one signing the most entries (the latest of those), so a
    /// copy of an older signed row added after it cannot stand in for it. The
    /// one before is the latest other checkpoint that is not a copy of the
    /// newest (the same size and root): a signature covers a checkpoint's
    /// size, root and time, not its row id, so a copied row must not make the
    /// stretch empty, while a second root signed for the same size must still
    /// be shown not to extend.
    pub fn newest_two_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let conn = self.conn();
        let Some(newest) = conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM checkpoints ORDER BY tree_size DESC, id DESC LIMIT 1"
                ),
                [],
                from_row,
            )
            .optional()?
        else {
            return Ok(Vec::new());
        };
        let previous = conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM checkpoints
                 WHERE id != ?1 AND tree_size <= ?2 AND NOT (tree_size = ?2 AND root = ?3)
                 ORDER BY id DESC LIMIT 1"
                ),
                params![newest.id, newest.tree_size, newest.root],
                from_row,
            )
            .optional()?;
        Ok(previous.into_iter().chain([newest]).collect())
    }

    /// The checkpoint `id`.
    pub fn checkpoint(&self, id: i64) -> Result<Option<Checkpoint>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM checkpoints WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    /// Every checkpoint, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let mut statement = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM checkpoints ORDER BY id"))?;
        let rows = statement.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
