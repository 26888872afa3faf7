//! `verify_ledger.py`, the auditor's check shipped in every bundle, run
//! with the system's `python3` on an exported bundle and on tampered
//! copies: each alteration is named by the script alone, by the ledger
//! sequence number it concerns. Skipped, saying so, without `python3`.

use crate::common;

use std::path::{Path, PathBuf};

use common::bundle::{copy_dir, export, python_to_end, run_script};
use common::server::Server;
use common::{Harness, scopewatch};

/// [`common::history`], exported whole and for one source only.
fn bundles() -> (Harness, Server, PathBuf, PathBuf) {
    let (h, server) = common::history();
    let whole = export(&h, "whole", &[]);
    let iso = export(&h, "iso", &["--source", "iso", "--since", "2000-01-01"]);
    (h, server, whole, iso)
}

/// A copy of `bundle` with `ledger/entries.jsonl` (and the inclusion
/// proofs) rewritten by `alter`, which gets the lines.
fn tampered(
    bundle: &Path,
    name: &str,
    alter: impl FnOnce(&mut Vec<String>, &mut Vec<String>),
) -> PathBuf {
    let copy = bundle.with_file_name(name);
    copy_dir(bundle, &copy);
    let read = |file: &str| -> Vec<String> {
        std::fs::read_to_string(copy.join(file))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    let (mut entries, mut proofs) = (
        read("ledger/entries.jsonl"),
        read("ledger/proofs/inclusion.jsonl"),
    );
    alter(&mut entries, &mut proofs);
    let write = |file: &str, lines: &[String]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(copy.join(file), text).unwrap();
    };
    write("ledger/entries.jsonl", &entries);
    write("ledger/proofs/inclusion.jsonl", &proofs);
    copy
}

fn seq_of(line: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"]
        .as_i64()
        .unwrap()
}

#[test]
fn the_shipped_script_verifies_a_clean_bundle_and_names_each_tampering() {
    let (h, _server, whole, iso) = bundles();
    // Shipped byte for byte, and covered by SHA256SUMS.
    assert_eq!(
        std::fs::read_to_string(whole.join("verify_ledger.py")).unwrap(),
        include_str!("../../src/evidence/verify_ledger.py")
    );
    let sums = std::fs::read_to_string(whole.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  verify_ledger.py\n"), "{sums}");
    let readme = std::fs::read_to_string(whole.join("README.txt")).unwrap();
    assert!(readme.contains("python3 verify_ledger.py"), "{readme}");
    let out = scopewatch(&h.config_path(), &["verify", whole.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    let Some((code, out)) = run_script(&whole) else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger verified: entries 0 to"), "{out}");
    assert!(out.contains("Merkle root of every checkpoint"), "{out}");
    // One source's bundle: the ledger from its first leaf on, without a gap.
    let (code, out) = run_script(&iso).unwrap();
    assert_eq!(code, 0, "{out}");
    let out_of_scopewatch = scopewatch(&h.config_path(), &["verify", iso.to_str().unwrap()]);
    assert_eq!(out_of_scopewatch.status.code(), Some(0));

    let entries: Vec<String> = std::fs::read_to_string(whole.join("ledger/entries.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let last = entries.len() as i64 - 1;
    let middle = entries.len() / 2;
    assert_eq!(
        seq_of(&entries[middle]),
        middle as i64,
        "the whole ledger, from 0"
    );

    // A deleted ledger line (its proof left in place).
    let deleted = tampered(&whole, "deleted", |entries, _| {
        entries.remove(middle);
    });
    let (code, out) = run_script(&deleted).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("ledger entry {middle}: is missing")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ledger entry {middle}: has an inclusion proof but no line"
        )),
        "{out}"
    );

    // The last line and its proof: the tail the checkpoint signed is short.
    let cut = tampered(&whole, "cut", |entries, proofs| {
        entries.pop();
        proofs.pop();
    });
    let (code, out) = run_script(&cut).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("ledger entry {last}: is missing")),
        "{out}"
    );

    // Two lines swapped.
    let swapped = tampered(&whole, "swapped", |entries, _| {
        entries.swap(middle, middle + 1);
    });
    let (code, out) = run_script(&swapped).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("ledger entry {middle}: is out of order")),
        "{out}"
    );

    // A capture dropped: its capture and event leaves and their proofs.
    let changed = entries
        .iter()
        .rfind(|l| l.contains(r#""kind":"baseline""#))
        .expect("a baseline event");
    let record = serde_json::from_str::<serde_json::Value>(changed).unwrap()["record_id"]
        .as_i64()
        .unwrap();
    let capture = entries
        .iter()
        .find(|l| {
            l.contains(r#""type":"capture""#) && l.contains(&format!(r#""record_id":{record},"#))
        })
        .map(|l| seq_of(l))
        .unwrap();
    let dropped = tampered(&whole, "dropped", |entries, proofs| {
        let gone: Vec<i64> = entries
            .iter()
            .filter(|l| l.contains(&format!(r#""record_id":{record},"#)))
            .map(|l| seq_of(l))
            .collect();
        assert!(gone.len() >= 2, "a capture and its event: {gone:?}");
        entries.retain(|l| !gone.contains(&seq_of(l)));
        proofs.retain(|l| !gone.contains(&seq_of(l)));
    });
    let (code, out) = run_script(&dropped).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("ledger entry {capture}: ")), "{out}");
    assert!(
        out.contains("missing: the ledger lines were deleted"),
        "{out}"
    );

    // An edited capture leaf; then the same with its proof's leaf_hash
    // recomputed.
    let at = entries
        .iter()
        .position(|l| l.contains(r#""type":"capture""#))
        .unwrap();
    let edited_line = |entries: &mut Vec<String>| {
        let line = &mut entries[at];
        *line = line.replacen(r#""status":200"#, r#""status":203"#, 1);
        assert!(line.contains("203"), "{line}");
    };
    let edited = tampered(&whole, "edited", |entries, _| edited_line(entries));
    let (code, out) = run_script(&edited).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "ledger entry {at}: its line does not hash to the leaf_hash of its proof"
        )),
        "{out}"
    );
    let rehashed = tampered(&whole, "rehashed", |entries, proofs| {
        edited_line(entries);
        let hash = scopewatch::ledger::merkle::leaf_hash(entries[at].as_bytes());
        let mut proof: serde_json::Value = serde_json::from_str(&proofs[at]).unwrap();
        proof["leaf_hash"] = hex::encode(hash).into();
        proofs[at] = proof.to_string();
    });
    let (code, out) = run_script(&rehashed).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "ledger entry {at}: its audit path does not lead to the root"
        )),
        "{out}"
    );
    // The next entry's `prev` names the original leaf.
    assert!(
        out.contains(&format!(
            "ledger entry {}: its prev is not the hash of entry {at}",
            at + 1
        )),
        "{out}"
    );
}

/// A copy of `bundle` whose first archive file has `member` (one gzip
/// member) appended.
fn with_member_appended(bundle: &Path, name: &str, member: &[u8]) -> PathBuf {
    let copy = bundle.with_file_name(name);
    copy_dir(bundle, &copy);
    let archive = std::fs::read_dir(copy.join("archive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(member);
    std::fs::write(&archive, bytes).unwrap();
    copy
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Hostile archive files end the script with a clear problem: a record
/// whose Content-Length is negative (it walked the reader back for ever)
/// and a gzip member that decompresses past the cap (checked with the
/// cap lowered to 1 MiB, the shipped one being Rust's 4 GiB).
#[test]
fn the_script_ends_on_hostile_archive_files() {
    let (_h, _server, whole, _iso) = bundles();
    let script = include_str!("../../src/evidence/verify_ledger.py");
    assert!(script.contains("\nMAX_FILE = 4 << 30\n"));

    // A length that takes the reader back to where the record starts,
    // just after the previous record's end.
    let back = (1..1000)
        .map(|n| format!("WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: -{n}"))
        .find(|head| head.len() + 8 == head.rsplit('-').next().unwrap().parse::<usize>().unwrap())
        .unwrap();
    let negative = with_member_appended(
        &whole,
        "negative",
        &gzip(format!("{back}\r\n\r\n").as_bytes()),
    );
    let script_path = negative.join("verify_ledger.py");
    let Some((code, out)) = python_to_end(&[script_path.to_str().unwrap()]) else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a Content-Length of digits"), "{out}");

    let bomb = with_member_appended(&whole, "bomb", &gzip(&vec![0; 2 << 20]));
    let lowered_cap = format!(
        "import sys; sys.path.insert(0, {dir:?}); import verify_ledger as v; v.MAX_FILE = 1 << 20; \
         sys.argv = ['verify_ledger.py', {dir:?}]; sys.exit(v.main())",
        dir = bomb.to_str().unwrap()
    );
    let (code, out) = python_to_end(&["-c", &lowered_cap]).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("decompresses to more than 1048576 bytes"),
        "{out}"
    );
}

/// WARC header names are case-insensitive (WARC 1.1 section 4): a bundle
/// whose names are all lower-cased still passes the script.
#[test]
fn the_script_reads_warc_header_names_in_any_case() {
    let (h, _server, whole, _iso) = bundles();
    let lowered = whole.with_file_name("lowered");
    copy_dir(&whole, &lowered);
    for entry in std::fs::read_dir(lowered.join("archive")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".warc.gz") {
            continue;
        }
        common::bundle::forge_warc(&path, |record| {
            for (name, _) in &mut record.headers {
                *name = name.to_ascii_lowercase();
            }
            true
        });
    }
    let _ = std::fs::remove_file(lowered.join("archive.wacz"));
    common::bundle::resign(&h, &lowered);
    if let Some((code, out)) = run_script(&lowered) {
        assert_eq!(code, 0, "{out}");
    }
}
