//! The records a bundle exports, and the ledger leaf of each: a map from
//! record id to leaf `seq` kept in a scratch file (eight bytes a record at
//! the offset of its id), not in memory, so a bundle of years of captures
//! costs no more memory than one of a day.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::super::EvidenceError;

pub struct Selected {
    path: PathBuf,
    file: File,
    count: usize,
}

/// Bytes a record takes in the file.
const WIDTH: u64 = 8;

impl Selected {
    /// An empty map in a new file at `path`.
    pub fn create(path: &Path) -> Result<Selected, EvidenceError> {
        Ok(Selected {
            file: File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| EvidenceError::file(path, e))?,
            path: path.to_path_buf(),
            count: 0,
        })
    }

    fn offset(record: i64) -> Option<u64> {
        u64::try_from(record).ok()?.checked_mul(WIDTH)
    }

    /// Selects `record`, logged by the leaf `seq`.
    pub fn insert(&mut self, record: i64, seq: i64) -> Result<(), EvidenceError> {
        let (Some(offset), Ok(stored)) = (Self::offset(record), u64::try_from(seq)) else {
            return Err(EvidenceError::Damaged(format!(
                "ledger entry {seq} names record {record}, which no record can be: run `scopewatch verify`"
            )));
        };
        // Stored plus one: zero, what a file's holes read as, is "not selected".
        self.file
            .write_all_at(&(stored + 1).to_le_bytes(), offset)
            .map_err(|e| EvidenceError::file(&self.path, e))?;
        self.count += 1;
        Ok(())
    }

    /// The leaf of `record` when it is selected.
    pub fn seq(&self, record: i64) -> Result<Option<i64>, EvidenceError> {
        let Some(offset) = Self::offset(record) else {
            return Ok(None);
        };
        let mut bytes = [0u8; WIDTH as usize];
        match self.file.read_exact_at(&mut bytes, offset) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(EvidenceError::file(&self.path, e)),
        }
        Ok(u64::from_le_bytes(bytes)
            .checked_sub(1)
            .and_then(|seq| i64::try_from(seq).ok()))
    }

    pub fn contains(&self, record: i64) -> Result<bool, EvidenceError> {
        Ok(self.seq(record)?.is_some())
    }

    /// Records selected.
    pub fn len(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_maps_to_its_leaf_and_others_to_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut selected = Selected::create(&dir.path().join("selected")).unwrap();
        selected.insert(5, 0).unwrap();
        selected.insert(9, 12).unwrap();
        assert_eq!(selected.seq(5).unwrap(), Some(0));
        assert_eq!(selected.seq(9).unwrap(), Some(12));
        for other in [-1, 0, 4, 6, 10, 1 << 40] {
            assert_eq!(selected.seq(other).unwrap(), None, "{other}");
        }
        assert_eq!(selected.len(), 2);
        assert!(selected.insert(-3, 1).is_err());
    }
}
