//! Forging an exported bundle as someone holding it (and maybe the
//! signing key) would: copying it, rewriting WARC records with their
//! digests redone, and signing `SHA256SUMS` and the manifest again.

use std::path::{Path, PathBuf};

use scopewatch::evidence::{Signer, warc};
use scopewatch::hash::Digest;
use serde_json::Value;

use super::Harness;

/// `export --out NAME EXTRA...` into the harness directory; the bundle.
pub fn export(h: &Harness, name: &str, extra: &[&str]) -> PathBuf {
    let bundle = h.dir.path().join(name);
    let mut args = vec!["export", "--out", bundle.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = super::scopewatch(&h.config_path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", super::output_text(&out));
    bundle
}

/// `verify BUNDLE --json ARGS...`: the exit code and the findings (not
/// the info lines) as `concerns: problem` lines.
pub fn verify_bundle(h: &Harness, bundle: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let mut all = vec!["verify", bundle.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let out = super::scopewatch(&h.config_path(), &all);
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", super::output_text(&out)));
    let lines = findings
        .iter()
        .filter(|f| f["info"] != true)
        .map(|f| {
            format!(
                "{}: {}",
                f["concerns"].as_str().unwrap(),
                f["problem"].as_str().unwrap()
            )
        })
        .collect();
    (out.status.code().unwrap(), lines)
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Rewrites the records of a WARC file that `forge` changes (it returns
/// whether it did), redoing their digests and lengths as a forger with the
/// file would; returns how many it changed.
pub fn forge_warc(path: &Path, mut forge: impl FnMut(&mut warc::WarcRecord) -> bool) -> usize {
    let mut rewritten = Vec::new();
    let mut forged = 0;
    for read in warc::read_all(&std::fs::read(path).unwrap()) {
        let warc::ReadRecord::Ok { mut record, .. } = read else {
            panic!("{read:?}")
        };
        if forge(&mut record) {
            forged += 1;
            redo_digests(&mut record);
        }
        rewritten.extend(record.to_gzip().unwrap());
    }
    std::fs::write(path, rewritten).unwrap();
    forged
}

/// Redoes `record`'s WARC-Payload-Digest and WARC-Block-Digest after its
/// block was edited, as a forger would (the length is written from the
/// block).
pub fn redo_digests(record: &mut warc::WarcRecord) {
    let payload = warc::digest(warc::http_payload(&record.block));
    let block = warc::digest(&record.block);
    for (name, value) in &mut record.headers {
        match name.as_str() {
            "WARC-Payload-Digest" => *value = payload.clone(),
            "WARC-Block-Digest" => *value = block.clone(),
            _ => {}
        }
    }
}

/// What an attacker holding the signing key does after editing a bundle:
/// recomputes `SHA256SUMS` and signs it again with the harness's key.
pub fn resign(h: &Harness, bundle: &Path) {
    resign_with(&Signer::locate(None, &h.db_path()).unwrap(), bundle);
}

/// [`resign`] with `signer`: `SHA256SUMS` listing every file, and its
/// signature.
pub fn resign_with(signer: &Signer, bundle: &Path) {
    let sums = std::fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    let redone: String = sums
        .lines()
        .filter_map(|line| {
            let (_, name) = line.split_once("  ").unwrap();
            let bytes = std::fs::read(bundle.join(name)).ok()?;
            Some(format!("{}  {name}\n", Digest::of(&bytes).to_hex()))
        })
        .collect();
    assert_ne!(redone, sums, "the edit changed a listed file");
    std::fs::write(bundle.join("SHA256SUMS"), &redone).unwrap();
    std::fs::write(
        bundle.join("SHA256SUMS.sig"),
        signer.sign(redone.as_bytes()),
    )
    .unwrap();
}

/// `python3 verify_ledger.py` run from elsewhere, on the directory it is
/// in; `None` (saying so) when there is no python3.
pub fn run_script(bundle: &Path) -> Option<(i32, String)> {
    python_to_end(&[bundle.join("verify_ledger.py").to_str().unwrap()])
}

/// `python3 ARGS...` run from elsewhere to its end, killed (and the test
/// failed) if it has not ended after two minutes: a hang must fail, not
/// stall the suite. `None` (saying so) when there is no python3.
pub fn python_to_end(args: &[&str]) -> Option<(i32, String)> {
    let mut child = match std::process::Command::new("python3")
        .args(args)
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: python3 is not installed; verify_ledger.py needs it");
            return None;
        }
        Err(e) => panic!("python3: {e}"),
    };
    // Read while it runs, so a full pipe cannot stall it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                std::io::Read::read_to_end(&mut pipe, &mut bytes).unwrap();
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            let out = std::process::Output {
                status,
                stdout: stdout.join().unwrap(),
                stderr: stderr.join().unwrap(),
            };
            return Some((status.code().unwrap(), super::output_text(&out)));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("python3 {args:?} did not end: it hangs");
}
