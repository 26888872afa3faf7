//! Reading an evidence bundle's files, which are untrusted input: only
//! regular files are read, since a FIFO would block `verify` forever and a
//! device such as `/dev/zero` never ends. Each file is opened without
//! blocking and checked as opened (`fstat`), so one swapped after a look at
//! its name is caught too, and never more than a cap is read.

use std::io::Read;
use std::path::Path;

/// The most a bundle's data file (a WARC file, the ledger's entries, the
/// checksums) is read: `export` builds each file in memory before writing
/// it, so a larger one is no bundle file scopewatch wrote.
pub const MAX_FILE: u64 = 4 << 30;

/// The most a small bundle file (a checkpoint's text, JSON or signature, a
/// public key) is read: each is under a kilobyte.
pub const MAX_SMALL: u64 = 64 << 10;

/// The bytes of the regular file `path`, at most `max` of them.
pub fn read(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer unless non-blocking;
        // for a regular file the flag changes nothing.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file (a FIFO, device, socket or directory): a bundle holds regular files only",
        ));
    }
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes, the most a bundle file of its kind may be"),
        )
    };
    if metadata.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read(path, max)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_script_caps_decompression_at_max_file() {
        assert_eq!(MAX_FILE, 4 << 30);
        assert!(include_str!("verify_ledger.py").contains("\nMAX_FILE = 4 << 30\n"));
    }

    #[test]
    fn a_fifo_or_a_device_is_refused_at_once_and_a_file_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("SHA256SUMS");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        let err = read(&fifo, MAX_FILE).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let err = read(Path::new("/dev/zero"), MAX_FILE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read(&file, 10).unwrap(), b"0123456789");
        assert!(
            read(&file, 9)
                .unwrap_err()
                .to_string()
                .contains("larger than 9 bytes")
        );
    }
}
