//! The rows of the evidence ledger: appending a leaf at the next position,
//! and reading leaves back in order (with the record a capture or failure
//! leaf is rebuilt from), their hashes alone, and the few leaves looked up
//! by type (a `config` leaf, a `prune` leaf naming a blob: matched on
//! their stored text). What a leaf says and its canonical bytes are the
//! `ledger` module's; this module stores and reads rows, and defines the
//! capture leaf's members ([`LeafRecord`]) as the columns it rebuilds
//! them from.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, Store, StoreError, WriteTransaction};
use crate::hash::Digest;

/// A leaf as `ledger` builds it, before it has a place in the log: its
/// bytes state its own `seq` and the hash of the leaf before it.
pub trait NewLeaf {
    /// The row to store at `seq`, after the leaf hashed `prev` (hex).
    fn at(self, seq: i64, prev: &str) -> LeafRow;
}

/// One leaf as the `ledger` table stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRow {
    /// The canonical JSON; empty for a leaf rebuilt from its record.
    pub leaf: String,
    /// `SHA-256(0x00 || leaf)` of the leaf as hashed.
    pub leaf_hash: [u8; 32],
    /// The record a capture or failure leaf is rebuilt from.
    pub record_id: Option<i64>,
}

/// One leaf as read back.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub seq: i64,
    /// As stored: empty for a leaf to be rebuilt from its record.
    pub leaf: String,
    /// Hex.
    pub leaf_hash: String,
    /// The record a capture or failure leaf is rebuilt from.
    pub record_id: Option<i64>,
    /// That record's members, when it still exists.
    pub record: Option<LeafRecord>,
}

/// The members of a record that its capture or failure leaf holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRecord {
    pub record_id: i64,
    pub record_hash: String,
    pub source: String,
    pub finished_at: String,
    pub outcome: String,
    pub url: String,
    pub status: Option<i64>,
    pub raw_hash: Option<String>,
    pub text_hash: Option<String>,
    pub error_class: Option<String>,
}

/// The next leaf's `seq` and `prev` (the last leaf's hash).
fn next_position(conn: &Connection) -> Result<(i64, String)> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, leaf_hash FROM ledger ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (0, Digest::ZERO.to_hex()),
    })
}

/// Appends `leaf` after the last one; returns its `seq` and the row as
/// stored. Call inside the caller's write transaction.
pub(crate) fn append(conn: &Connection, leaf: impl NewLeaf) -> Result<(i64, LeafRow)> {
    let (seq, prev) = next_position(conn)?;
    let row = leaf.at(seq, &prev);
    match row.record_id {
        // Stored without its text: it is rebuilt from the record when read.
        Some(record_id) => conn
            .prepare_cached(
                "INSERT INTO ledger_rows (seq, leaf, leaf_hash, record_id) VALUES (?1, '', ?2, ?3)",
            )?
            .execute(params![seq, &row.leaf_hash[..], record_id])?,
        None => conn
            .prepare_cached("INSERT INTO ledger_rows (seq, leaf, leaf_hash) VALUES (?1, ?2, ?3)")?
            .execute(params![seq, row.leaf, &row.leaf_hash[..]])?,
    };
    Ok((seq, row))
}

impl WriteTransaction<'_> {
    /// Appends `leaf` after the last one; returns its `seq` and the row as
    /// stored.
    pub fn append_leaf(&self, leaf: impl NewLeaf) -> Result<(i64, LeafRow)> {
        append(self.conn(), leaf)
    }
}

impl Store {
    /// The last `config` leaf before `seq` (the one in force there): its
    /// seq and text. One seek in the index of `config` leaves.
    pub fn config_leaf_before(&self, seq: i64) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn()
            .prepare_cached(
                // Quotes inside JSON strings are escaped, so only a leaf's own
                // `type` member can match.
                r#"SELECT seq, leaf FROM ledger WHERE seq < ?1 AND leaf LIKE '%"type":"config"%'
               ORDER BY seq DESC LIMIT 1"#,
            )?
            .query_row([seq], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    /// The hash (hex) of the leaf before `seq`, if there is one.
    pub fn leaf_hash_before(&self, seq: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT leaf_hash FROM ledger WHERE seq = ?1 - 1")?
            .query_row([seq], |row| row.get(0))
            .optional()?)
    }

    /// Whether a `prune` leaf before `seq` names the raw body `raw_hash`
    /// (hex). A walk back through the leaves stored as text; asked only for a
    /// pruned body a record after `seq` names, which retention makes rare.
    pub fn prune_logged_before(&self, seq: i64, raw_hash: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                r#"SELECT 1 FROM ledger WHERE seq < ?1 AND leaf LIKE '%"type":"prune"%'
               AND instr(leaf, '"raw_hash":"' || ?2 || '"') > 0 LIMIT 1"#,
            )?
            .query_row(params![seq, raw_hash], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Feeds every leaf with `seq` in `from..to` to `each`, in order, one
    /// row at a time (never all in memory), with the record a capture or
    /// failure leaf names.
    pub fn for_each_leaf<E: From<StoreError>>(
        &self,
        from: i64,
        to: i64,
        mut each: impl FnMut(LedgerRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut statement = self
            .conn()
            .prepare(
                "SELECT l.seq, l.leaf, l.leaf_hash, l.record_id, r.id, r.record_hash, r.source,
                r.finished_at, r.outcome, r.url, r.status, r.raw_hash, r.text_hash,
                r.error_class
         FROM ledger l LEFT JOIN records r ON r.id = l.record_id
         WHERE l.seq >= ?1 AND l.seq < ?2 ORDER BY l.seq",
            )
            .map_err(StoreError::from)?;
        let mut rows = statement.query([from, to]).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            each(ledger_row(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Feeds the leaf hashes (hex) with `seq` in `from..to` to `each`, in
    /// order, one row at a time (not all in memory, and not the leaves).
    pub fn for_each_leaf_hash<E: From<StoreError>>(
        &self,
        from: i64,
        to: i64,
        mut each: impl FnMut(i64, &str) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut statement = self
            .conn()
            .prepare("SELECT seq, leaf_hash FROM ledger WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")
            .map_err(StoreError::from)?;
        let mut rows = statement.query([from, to]).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let seq: i64 = row.get(0).map_err(StoreError::from)?;
            let hash: String = row.get(1).map_err(StoreError::from)?;
            each(seq, &hash)?;
        }
        Ok(())
    }
}

/// One row of [`Store::for_each_leaf`]'s query.
fn ledger_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerRow> {
    let record = match row.get::<_, Option<i64>>(4)? {
        Some(record_id) => Some(LeafRecord {
            record_id,
            record_hash: row.get(5)?,
            source: row.get(6)?,
            finished_at: row.get(7)?,
            outcome: row.get(8)?,
            url: row.get(9)?,
            status: row.get(10)?,
            raw_hash: row.get(11)?,
            text_hash: row.get(12)?,
            error_class: row.get(13)?,
        }),
        None => None,
    };
    Ok(LedgerRow {
        seq: row.get(0)?,
        leaf: row.get(1)?,
        leaf_hash: row.get(2)?,
        record_id: row.get(3)?,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leaf of fixed text, whatever its place.
    struct Fixed(&'static str);

    impl NewLeaf for Fixed {
        fn at(self, _seq: i64, _prev: &str) -> LeafRow {
            LeafRow {
                leaf: self.0.to_string(),
                leaf_hash: *Digest::of(self.0.as_bytes()).as_bytes(),
                record_id: None,
            }
        }
    }

    #[test]
    fn the_table_refuses_edits() {
        let store = Store::open_in_memory().unwrap();
        for leaf in [Fixed("a"), Fixed("b"), Fixed("c")] {
            append(store.conn(), leaf).unwrap();
        }
        for sql in [
            "UPDATE ledger_rows SET leaf = 'x' WHERE seq = 0",
            "DELETE FROM ledger_rows WHERE seq = 2",
        ] {
            let err = store.conn().execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
    }
}
