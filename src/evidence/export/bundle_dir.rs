//! The bundle's directory while it is written: a temporary directory
//! beside the bundle's path, each file's SHA-256 computed as it is written
//! (for `SHA256SUMS`), each file synced, then `SHA256SUMS` and its
//! signature, and the directory renamed into place: the bundle appears
//! whole or not at all. Dropped before [`BundleDir::commit`] (an error
//! midway), the directory is removed. Beside it, a scratch directory for
//! what the export spills to disk, removed in any case.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::super::EvidenceError;
use super::super::checkpoint::Signer;

pub struct BundleDir {
    out: PathBuf,
    parent: PathBuf,
    temp: PathBuf,
    /// Each file written, by path in the bundle, with its SHA-256 (hex).
    sums: BTreeMap<String, String>,
    dirs: BTreeSet<PathBuf>,
    scratch: tempfile::TempDir,
    committed: bool,
}

/// A writer that hashes (SHA-256) and counts what goes through it.
pub struct Hashing<W> {
    out: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(out: W) -> Hashing<W> {
        Hashing {
            out,
            hash: Sha256::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The writer, and the digest and length of what was written.
    pub fn finish(self) -> (W, Written) {
        (
            self.out,
            Written {
                sha256: hex::encode(self.hash.finalize()),
                len: self.len,
            },
        )
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.out.write(bytes)?;
        self.hash.update(&bytes[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A file of the bundle being written, hashed as it goes.
pub struct BundleFile {
    name: String,
    path: PathBuf,
    out: Hashing<BufWriter<File>>,
}

impl Write for BundleFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.out.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl BundleFile {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.out.len()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A written file's digest and length.
#[derive(Debug, Clone)]
pub struct Written {
    /// SHA-256, hex.
    pub sha256: String,
    pub len: u64,
}

impl BundleDir {
    /// A temporary directory beside `out`, which must not exist or be empty.
    pub fn create(out: &Path) -> Result<BundleDir, EvidenceError> {
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = out
            .file_name()
            .ok_or_else(|| EvidenceError::file(out, "name a directory for the bundle"))?
            .to_string_lossy()
            .into_owned();
        std::fs::create_dir_all(&parent).map_err(|e| EvidenceError::file(&parent, e))?;
        let temp = parent.join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::create_dir(&temp).map_err(|e| EvidenceError::file(&temp, e))?;
        let scratch = tempfile::Builder::new()
            .prefix(&format!(".{name}.scratch"))
            .tempdir_in(&parent);
        let scratch = match scratch {
            Ok(scratch) => scratch,
            Err(e) => {
                let _ = std::fs::remove_dir(&temp);
                return Err(EvidenceError::file(&parent, e));
            }
        };
        Ok(BundleDir {
            out: out.to_path_buf(),
            parent,
            dirs: BTreeSet::from([temp.clone()]),
            temp,
            sums: BTreeMap::new(),
            scratch,
            committed: false,
        })
    }

    /// Where the export may spill what it does not hold in memory.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// Starts the file `name` (a relative path in the bundle).
    pub fn file(&mut self, name: &str) -> Result<BundleFile, EvidenceError> {
        let path = self.temp.join(name);
        let dir = path.parent().unwrap_or(&self.temp).to_path_buf();
        if !self.dirs.contains(&dir) {
            std::fs::create_dir_all(&dir).map_err(|e| self.failed(&dir, e))?;
            self.dirs.insert(dir);
        }
        let file = File::create(&path).map_err(|e| self.failed(&path, e))?;
        Ok(BundleFile {
            name: name.to_string(),
            path,
            out: Hashing::new(BufWriter::with_capacity(256 << 10, file)),
        })
    }

    /// Ends `file`: flushed, synced, its digest noted for `SHA256SUMS`.
    pub fn finish(&mut self, file: BundleFile) -> Result<Written, EvidenceError> {
        let BundleFile { name, path, out } = file;
        let (out, written) = out.finish();
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(|file| file.sync_all())
            .map_err(|e| self.failed(&path, e))?;
        self.sums.insert(name, written.sha256.clone());
        Ok(written)
    }

    /// Writes the file `name` whole.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<Written, EvidenceError> {
        let mut file = self.file(name)?;
        file.write_all(bytes)
            .map_err(|e| self.failed(&file.path, e))?;
        self.finish(file)
    }

    /// The path of `name` in the directory, for a file written by other
    /// means (then [`BundleDir::add_written`]).
    pub fn path_of(&mut self, name: &str) -> Result<PathBuf, EvidenceError> {
        let path = self.temp.join(name);
        let dir = path.parent().unwrap_or(&self.temp).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| self.failed(&dir, e))?;
        self.dirs.insert(dir);
        Ok(path)
    }

    /// Notes the file `name` written at [`BundleDir::path_of`]: synced
    /// and read back once for its digest.
    pub fn add_written(&mut self, name: &str) -> Result<Written, EvidenceError> {
        let path = self.temp.join(name);
        let written = File::open(&path)
            .and_then(|mut file| {
                file.sync_all()?;
                let mut hashing = Hashing::new(io::sink());
                io::copy(&mut file, &mut hashing)?;
                Ok(hashing.finish().1)
            })
            .map_err(|e| self.failed(&path, e))?;
        self.sums.insert(name.to_string(), written.sha256.clone());
        Ok(written)
    }

    /// The error for a file that could not be written.
    pub fn failed(&self, path: &Path, e: impl std::fmt::Display) -> EvidenceError {
        EvidenceError::file(
            &self.out,
            format!(
                "the bundle was not written ({}: {e}), and nothing was left behind: fix that (e.g. free disk space) and export again",
                path.display()
            ),
        )
    }

    /// Writes `SHA256SUMS` (every file so far) and `SHA256SUMS.sig`, syncs
    /// every directory, and renames the directory into place.
    pub fn commit(mut self, signer: &Signer) -> Result<(), EvidenceError> {
        let mut sums = String::new();
        for (name, sha256) in &self.sums {
            sums.push_str(&format!("{sha256}  {name}\n"));
        }
        let signature = signer.sign(sums.as_bytes());
        self.write("SHA256SUMS", sums.as_bytes())?;
        self.write("SHA256SUMS.sig", &signature)?;
        for dir in &self.dirs {
            super::super::sync_dir(dir).map_err(|e| self.failed(dir, e))?;
        }
        std::fs::rename(&self.temp, &self.out).map_err(|e| self.failed(&self.out, e))?;
        self.committed = true;
        // The bundle is whole in place; only its name may not survive a
        // power cut yet.
        if let Err(e) = super::super::sync_dir(&self.parent) {
            tracing::warn!(path = %self.parent.display(), "cannot sync the directory the bundle went to: {e}");
        }
        Ok(())
    }
}

impl Drop for BundleDir {
    fn drop(&mut self) {
        if !self.committed
            && let Err(e) = std::fs::remove_dir_all(&self.temp)
        {
            tracing::warn!(path = %self.temp.display(), "cannot remove the partial bundle: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;

    fn signer(dir: &Path) -> Signer {
        Signer::create(&dir.join("key.pem")).unwrap()
    }

    #[test]
    fn a_bundle_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut bundle = BundleDir::create(&out).unwrap();
        bundle.write("README.txt", b"read me").unwrap();
        // The second file cannot be created (a NUL in its name), as when the
        // disk fills up halfway.
        let err = bundle.write("bad\0name", b"x").unwrap_err().to_string();
        assert!(
            err.contains("nothing was left behind") && err.contains("export again"),
            "{err}"
        );
        drop(bundle);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        // Into an empty directory, as the command line allows.
        std::fs::create_dir(&out).unwrap();
        let mut bundle = BundleDir::create(&out).unwrap();
        let mut file = bundle.file("archive/a.warc.gz").unwrap();
        file.write_all(b"wa").unwrap();
        file.write_all(b"rc").unwrap();
        let written = bundle.finish(file).unwrap();
        assert_eq!(written.sha256, Digest::of(b"warc").to_hex());
        assert_eq!(written.len, 4);
        bundle.commit(&signer(keys.path())).unwrap();
        assert_eq!(
            std::fs::read(out.join("archive/a.warc.gz")).unwrap(),
            b"warc"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("SHA256SUMS")).unwrap(),
            format!("{}  archive/a.warc.gz\n", Digest::of(b"warc").to_hex())
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
