//! One daemon per database: an exclusive lock on `<database>.lock`, held
//! for the life of `scopewatch run` and released by the kernel when the
//! process ends, however it ends. The file holds the owner's pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The held lock.
pub struct DaemonLock {
    _file: File,
}

/// The lock file of a database.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another scopewatch daemon (pid {pid}) is running on {database}; stop it first, or give this one its own --db"
    )]
    Held { pid: String, database: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DaemonLock {
    /// Takes the lock, or says who holds it.
    pub fn acquire(database: &Path) -> Result<Self, LockError> {
        let path = lock_path(database);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(LockError::Held {
                    pid: pid.trim().to_string(),
                    database: database.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DaemonLock { _file: file })
    }

    /// The pid of the daemon holding the lock on `database`, if one does.
    pub fn holder(database: &Path) -> Option<String> {
        let mut file = File::open(lock_path(database)).ok()?;
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Some(pid.trim().to_string())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("scopewatch.db");
        assert_eq!(DaemonLock::holder(&db), None);
        let held = DaemonLock::acquire(&db).unwrap();
        let err = DaemonLock::acquire(&db).err().unwrap();
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        assert_eq!(
            DaemonLock::holder(&db),
            Some(std::process::id().to_string())
        );
        drop(held);
        assert!(DaemonLock::acquire(&db).is_ok());
    }
}
