//! Transactions a caller outside the store holds open across several of
//! its calls: an IMMEDIATE write transaction (the evidence jobs that read,
//! decide and write in one step, such as signing a checkpoint), and a
//! second read-only connection kept on one snapshot (what `verify` hashes
//! the records with beside the main connection).

use rusqlite::TransactionBehavior;

use super::{Result, Store};

/// An IMMEDIATE write transaction on a store's connection, taken before
/// its first read, so no other writer can come between what it reads and
/// what it writes. Every read and write made through it (it derefs to the
/// [`Store`]) belongs to the transaction; dropped without
/// [`WriteTransaction::commit`], it rolls back.
pub struct WriteTransaction<'a> {
    transaction: rusqlite::Transaction<'a>,
    store: &'a Store,
}

impl Store {
    /// Begins an IMMEDIATE write transaction (see [`WriteTransaction`]).
    pub fn write_transaction(&self) -> Result<WriteTransaction<'_>> {
        Ok(WriteTransaction {
            transaction: rusqlite::Transaction::new_unchecked(
                self.conn(),
                TransactionBehavior::Immediate,
            )?,
            store: self,
        })
    }

    /// A second, read-only connection to this database's file (see
    /// [`Store::reader`]) inside its own read transaction, ended when it is
    /// dropped; `None` for a database in memory.
    pub fn snapshot_reader(&self) -> Result<Option<SnapshotReader>> {
        let Some(reader) = self.reader()? else {
            return Ok(None);
        };
        reader.conn().execute_batch("BEGIN")?;
        Ok(Some(SnapshotReader(reader)))
    }
}

impl WriteTransaction<'_> {
    /// Commits everything written through the transaction.
    pub fn commit(self) -> Result<()> {
        Ok(self.transaction.commit()?)
    }
}

impl std::ops::Deref for WriteTransaction<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
    }
}

/// A [`Store`] inside its own read transaction, ended when dropped.
pub struct SnapshotReader(Store);

impl std::ops::Deref for SnapshotReader {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0
    }
}

impl Drop for SnapshotReader {
    fn drop(&mut self) {
        // A read transaction: nothing to keep, and ending it cannot lose anything.
        let _ = self.0.conn().execute_batch("COMMIT");
    }
}
