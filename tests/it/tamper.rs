//! The tamper suite: each way an operator (who holds the signing key) or
//! anyone holding a bundle could alter the evidence, and `verify` naming
//! what was altered, not only a checksum that no longer matches. The
//! history: a scope matrix that loses one service and gains another at
//! its second fetch (a `scope` and a `content` event), and a second page,
//! swept three times.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::bundle::{
    copy_dir, export, forge_warc, resign, resign_with, run_script, verify_bundle,
};
use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};
use rusqlite::Connection;
use scopewatch::evidence::{Signer, checkpoint, manifest, wacz, warc};
use serde_json::Value;

const BEFORE: &str = "<main><h1>Compliance</h1><table>\
    <tr><th>Service</th><th>ISO 27001</th><th>SOC 2</th></tr>\
    <tr><td>Compute</td><td>✓</td><td>✓</td></tr>\
    <tr><td>Storage</td><td>✓</td><td></td></tr>\
    </table></main>";
const AFTER: &str = "<main><h1>Compliance</h1><table>\
    <tr><th>Service</th><th>ISO 27001</th><th>SOC 2</th></tr>\
    <tr><td>Compute</td><td>✓</td><td>✓</td></tr>\
    <tr><td>Network</td><td>✓</td><td>✓</td></tr>\
    </table></main>";

/// `matrix` (changing at its second fetch) and `plain`, swept three times.
fn swept() -> (Harness, Server) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |req| match req.path.as_str() {
        "/matrix" if fetches.fetch_add(1, Ordering::SeqCst) == 0 => Reply::html(BEFORE),
        "/matrix" => Reply::html(AFTER),
        _ => Reply::html("<main><p>Our trust page</p></main>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"matrix\"\nurl = \"{}\"\ncontent = [\"main\"]\n\
         [[source]]\nid = \"plain\"\nurl = \"{}\"\n",
        server.url("/matrix"),
        server.url("/plain")
    ));
    for _ in 0..3 {
        assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    }
    (h, server)
}

/// A copy of `bundle` named `name` beside it, to tamper with.
fn copy(bundle: &Path, name: &str) -> PathBuf {
    let copy = bundle.with_file_name(name);
    copy_dir(bundle, &copy);
    copy
}

/// [`verify_bundle`] of a tampered bundle: asserts it exits 1; the findings.
fn caught(h: &Harness, bundle: &Path, args: &[&str]) -> Vec<String> {
    let (code, findings) = verify_bundle(h, bundle, args);
    assert_eq!(code, 1, "{findings:#?}");
    findings
}

/// Asserts that one finding contains every one of `words`.
fn named(findings: &[String], words: &[&str]) {
    assert!(
        findings.iter().any(|f| words.iter().all(|w| f.contains(w))),
        "no finding with {words:?} in {findings:#?}"
    );
}

/// The lines of a JSONL file, parsed.
fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_jsonl(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// The scope event of `changes.jsonl` and its line index.
fn scope_event(bundle: &Path) -> (usize, Value) {
    jsonl(&bundle.join("changes.jsonl"))
        .into_iter()
        .enumerate()
        .find(|(_, line)| line["event"]["kind"] == "scope")
        .expect("a scope event")
}

/// Signs `manifest.json` again with the harness's key, as its holder can.
fn resign_manifest(h: &Harness, bundle: &Path) {
    let signer = Signer::locate(None, &h.db_path()).unwrap();
    let bytes = std::fs::read(bundle.join(manifest::FILE)).unwrap();
    std::fs::write(bundle.join(manifest::SIGNATURE), signer.sign(&bytes)).unwrap();
}

#[test]
fn a_clean_bundle_verifies_and_its_events_carry_their_content_in_the_ledger() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    let (code, findings) = verify_bundle(&h, &bundle, &[]);
    assert_eq!((code, &findings), (0, &vec![]));
    let (_, line) = scope_event(&bundle);
    let event = &line["event"];
    assert_eq!(event["severity"], "medium", "{event}");
    assert_eq!(event["removed"][0]["service"], "Storage", "{event}");
    let leaf = jsonl(&bundle.join("ledger/entries.jsonl"))
        .into_iter()
        .find(|l| l["event_id"] == event["id"])
        .unwrap();
    assert_eq!(leaf["v"], 2);
    assert_eq!(
        (&leaf["summary"], &leaf["severity"]),
        (&event["summary"], &event["severity"])
    );
    assert!(
        leaf["details_sha256"].is_string() && leaf["scope_hash"].is_string(),
        "{leaf}"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["ledger"]["first"], 0);
    assert!(
        manifest["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "included"),
        "{manifest}"
    );
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 0, "{out}");
    }
}

#[test]
fn an_event_edited_in_changes_jsonl_and_re_signed_with_the_genuine_key_is_named() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    // "2 added, 1 removed, medium" made into "1 renamed, low": the lists,
    // summary and severity rewritten.
    let path = bundle.join("changes.jsonl");
    let mut lines = jsonl(&path);
    let (index, line) = scope_event(&bundle);
    let event = &line["event"];
    let (from, to) = (event["removed"][0].clone(), event["added"][0].clone());
    let id = event["id"].as_i64().unwrap();
    let edited = &mut lines[index]["event"];
    edited["added"] = serde_json::json!([]);
    edited["removed"] = serde_json::json!([]);
    edited["renamed"] = serde_json::json!([{ "from": from, "to": to }]);
    edited["severity"] = "low".into();
    edited["summary"] =
        "scope changed: 1 renamed (ISO 27001 | Storage → ISO 27001 | Network)".into();
    write_jsonl(&path, &lines);
    resign(&h, &bundle);

    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("event {id} (scope"),
            "severity, summary, details_sha256 differ from its ledger entry",
        ],
    );
    // Named as an edit, not as a checksum that no longer matches.
    assert!(
        !findings.iter().any(|f| f.contains("SHA256SUMS")),
        "{findings:#?}"
    );
}

#[test]
fn an_event_whose_lists_disagree_with_the_scope_files_is_named_by_recomputation() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    // The removal dropped from the lists (and its summary and severity),
    // as one who also rewrote the ledger leaf would leave it: the scope
    // files still show Storage leaving.
    let path = bundle.join("changes.jsonl");
    let mut lines = jsonl(&path);
    let (index, _) = scope_event(&bundle);
    let edited = &mut lines[index]["event"];
    edited["removed"] = serde_json::json!([]);
    edited["severity"] = "low".into();
    edited["summary"] = "scope changed: 1 added (+ ISO 27001 | Network)".into();
    write_jsonl(&path, &lines);
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            "are not the 1 entries that left the scope",
            "scope sets of records",
        ],
    );
}

#[test]
fn an_event_edited_in_the_database_is_named() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let id: i64 = conn
        .query_row("SELECT id FROM events WHERE kind = 'scope'", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute(
        "UPDATE events SET severity = 'low', summary = 'scope changed: 1 added' WHERE id = ?1",
        [id],
    )
    .unwrap();
    let out = scopewatch(&h.config_path(), &["verify"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("event {id} (scope, record"))
            && text.contains("severity, summary differ from its ledger entry"),
        "{text}"
    );
    // Recomputed from the two records' scope sets, too.
    assert!(
        text.contains("its summary is not what its lists give"),
        "{text}"
    );

    // A content event's summary, likewise, against its two texts.
    let content: i64 = conn
        .query_row("SELECT id FROM events WHERE kind = 'content'", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute(
        "UPDATE events SET summary = 'content changed: 1 line added, 0 removed' WHERE id = ?1",
        [content],
    )
    .unwrap();
    let text = common::output_text(&scopewatch(&h.config_path(), &["verify"]));
    assert!(
        text.contains(&format!("event {content} (content"))
            && text.contains("is not what the texts of records"),
        "{text}"
    );
}

/// The byte offsets of each capture's records in a WARC file: (record id
/// of its metadata, first offset, end offset).
fn captures_in(bytes: &[u8]) -> Vec<(i64, u64, u64)> {
    let mut captures = Vec::new();
    let mut start = 0;
    let reads = warc::read_all(bytes);
    let offsets: Vec<u64> = reads
        .iter()
        .map(|r| match r {
            warc::ReadRecord::Ok { offset, .. } | warc::ReadRecord::Damaged { offset, .. } => {
                *offset
            }
        })
        .chain([bytes.len() as u64])
        .collect();
    for (i, read) in reads.iter().enumerate() {
        let warc::ReadRecord::Ok { record, .. } = read else {
            panic!("{read:?}")
        };
        if record.header("WARC-Type") == Some("metadata") {
            let meta: Value = serde_json::from_slice(&record.block).unwrap();
            captures.push((meta["record_id"].as_i64().unwrap(), start, offsets[i + 1]));
            start = offsets[i + 1];
        }
    }
    captures
}

#[test]
fn a_capture_dropped_and_re_signed_is_named_by_verify_and_the_script() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    // The middle matrix capture (the one with the scope change): its WARC
    // records and its events' lines removed; the ledger cannot lose its
    // entries without breaking the signed root, so it stays.
    let path = bundle.join("archive/matrix.warc.gz");
    let bytes = std::fs::read(&path).unwrap();
    let captures = captures_in(&bytes);
    let (record, start, end) = captures[1];
    let mut cut = bytes[..start as usize].to_vec();
    cut.extend_from_slice(&bytes[end as usize..]);
    std::fs::write(&path, cut).unwrap();
    let changes = bundle.join("changes.jsonl");
    let kept: Vec<Value> = jsonl(&changes)
        .into_iter()
        .filter(|l| l["event"]["to_snapshot"] != record)
        .collect();
    write_jsonl(&changes, &kept);
    resign(&h, &bundle);

    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("capture of record {record} (ledger entry"),
            "is missing from archive/matrix.warc.gz",
        ],
    );
    named(
        &findings,
        &["(scope, record", "is missing from changes.jsonl"],
    );
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "capture of record {record} is missing from archive/matrix.warc.gz"
            )),
            "{out}"
        );
    }

    // And with the manifest saying the capture was not selected, signed
    // again: the capture's own leaf says it is within the selection.
    let path = bundle.join(manifest::FILE);
    let mut stated: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in stated["entries"].as_array_mut().unwrap() {
        if entry["record_id"] == record {
            entry["status"] = "not-selected".into();
            entry.as_object_mut().unwrap().remove("archive");
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&stated).unwrap()).unwrap();
    resign_manifest(&h, &bundle);
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("capture of record {record}"),
            "within the bundle's selection but the manifest says not-selected",
        ],
    );
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("the manifest says not-selected"), "{out}");
    }
}

#[test]
fn a_warc_cut_at_a_gzip_member_boundary_is_named() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    let path = bundle.join("archive/plain.warc.gz");
    let bytes = std::fs::read(&path).unwrap();
    let (record, start, _) = *captures_in(&bytes).last().unwrap();
    // What is left is valid gzip and valid WARC: `gzip -t` passes it.
    std::fs::write(&path, &bytes[..start as usize]).unwrap();
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("capture of record {record}"),
            "is missing from archive/plain.warc.gz",
        ],
    );
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("capture of record {record}"),
            "is missing from archive/plain.warc.gz",
        ],
    );
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("is missing from archive/plain.warc.gz"),
            "{out}"
        );
    }
}

/// Flips one byte of the matrix page's first response body.
fn flip_body_byte(record: &mut warc::WarcRecord) -> bool {
    if record.header("WARC-Type") != Some("response") {
        return false;
    }
    let at = record.block.len() - 10;
    record.block[at] ^= 0x20;
    true
}

#[test]
fn a_flipped_body_byte_is_named_however_the_digests_and_sums_are_redone() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);

    // The byte alone: the WARC digests name it.
    let flipped = copy(&bundle, "flipped");
    let bytes = std::fs::read(flipped.join("archive/matrix.warc.gz")).unwrap();
    let mut rewritten = Vec::new();
    let mut done = false;
    for read in warc::read_all(&bytes) {
        let warc::ReadRecord::Ok { mut record, .. } = read else {
            panic!()
        };
        if !done {
            done = flip_body_byte(&mut record);
        }
        rewritten.extend(record.to_gzip().unwrap());
    }
    std::fs::write(flipped.join("archive/matrix.warc.gz"), rewritten).unwrap();
    let findings = caught(&h, &flipped, &[]);
    named(
        &findings,
        &[
            "of archive/matrix.warc.gz",
            "does not match WARC-Payload-Digest",
        ],
    );

    // The digests recomputed: the payload no longer hashes to the
    // record's raw_hash, which the signed ledger holds.
    let redigested = copy(&bundle, "redigested");
    assert!(forge_warc(&redigested.join("archive/matrix.warc.gz"), flip_body_byte) >= 1);
    let findings = caught(&h, &redigested, &[]);
    named(
        &findings,
        &[
            "archive/matrix.warc.gz",
            "does not match its SHA256SUMS line",
        ],
    );
    named(
        &findings,
        &[
            "of archive/matrix.warc.gz",
            "the response payload is not the body the record hashed",
        ],
    );

    // And SHA256SUMS regenerated and signed with the genuine key.
    resign(&h, &redigested);
    let findings = caught(&h, &redigested, &[]);
    named(
        &findings,
        &[
            "of archive/matrix.warc.gz",
            "the response payload is not the body the record hashed",
        ],
    );
    assert!(
        !findings.iter().any(|f| f.contains("SHA256SUMS")),
        "{findings:#?}"
    );
}

#[test]
fn everything_re_signed_by_another_key_with_the_public_key_swapped_is_named() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    // The forger's own key signs what the forger can sign: SHA256SUMS, the
    // manifest and every checkpoint, and its public key replaces the
    // bundle's; the body is altered with its WARC digests redone.
    let other = Signer::create(&h.dir.path().join("other-key.pem")).unwrap();
    forge_warc(&bundle.join("archive/matrix.warc.gz"), flip_body_byte);
    for entry in std::fs::read_dir(bundle.join("ledger/checkpoints")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut c: checkpoint::Checkpoint =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            c.key_id = other.key_id();
            c.signature = hex::encode(other.sign(c.text().as_bytes()));
            std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
            std::fs::write(path.with_extension("txt"), c.text()).unwrap();
            std::fs::write(
                path.with_extension("sig"),
                hex::decode(&c.signature).unwrap(),
            )
            .unwrap();
        }
    }
    let manifest = std::fs::read(bundle.join(manifest::FILE)).unwrap();
    std::fs::write(bundle.join(manifest::SIGNATURE), other.sign(&manifest)).unwrap();
    std::fs::write(bundle.join("public-key.pem"), other.public_pem()).unwrap();
    resign_with(&other, &bundle);

    // Without --key every signature holds; the signed ledger does not
    // hold the altered body.
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            "of archive/matrix.warc.gz",
            "the response payload is not the body the record hashed",
        ],
    );
    // With the pinned key: the key itself is named.
    let pinned = h.dir.path().join("pinned.pem");
    std::fs::write(
        &pinned,
        scopewatch(&h.config_path(), &["key", "show"]).stdout,
    )
    .unwrap();
    let findings = caught(&h, &bundle, &["--key", pinned.to_str().unwrap()]);
    named(
        &findings,
        &["public-key.pem", "differs from the pinned key"],
    );
    named(&findings, &["checkpoint 1", "signed by another key"]);
}

#[test]
fn a_wacz_altered_with_its_datapackage_updated_and_re_signed_is_named() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &["--format", "wacz"]);
    let (code, findings) = verify_bundle(&h, &bundle, &[]);
    assert_eq!((code, &findings), (0, &vec![]));
    // A replay would show an altered page: the WARC inside the package is
    // forged, the package rebuilt with a datapackage.json (and its digest)
    // that lists the forged bytes, SHA256SUMS signed again.
    let forged = h.dir.path().join("forged.warc.gz");
    std::fs::copy(bundle.join("archive/matrix.warc.gz"), &forged).unwrap();
    forge_warc(&forged, flip_body_byte);
    let plain = bundle.join("archive/plain.warc.gz");
    let files = [
        ("archive/matrix.warc.gz", forged),
        ("archive/plain.warc.gz", plain),
    ];
    // The index of the forged files, as the export indexes what it writes.
    let mut lines = Vec::new();
    let mut digests = Vec::new();
    for (path, file) in &files {
        let bytes = std::fs::read(file).unwrap();
        let reads = warc::read_all(&bytes);
        for (i, read) in reads.iter().enumerate() {
            let warc::ReadRecord::Ok { offset, record } = read else {
                panic!("{read:?}")
            };
            let end = match reads.get(i + 1) {
                Some(warc::ReadRecord::Ok { offset, .. }) => *offset,
                _ => bytes.len() as u64,
            };
            let name = path.rsplit('/').next().unwrap();
            lines.extend(wacz::cdxj_line(name, *offset, end - offset, record));
        }
        digests.push((
            scopewatch::hash::Digest::of(&bytes).to_hex(),
            bytes.len() as u64,
        ));
    }
    lines.sort();
    let index_text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let index = h.dir.path().join("index.cdx");
    std::fs::write(&index, &index_text).unwrap();
    let index_sha256 = scopewatch::hash::Digest::of(index_text.as_bytes()).to_hex();
    let archives: Vec<wacz::Packaged> = files
        .iter()
        .zip(&digests)
        .map(|((path, file), (sha256, len))| wacz::Packaged {
            path,
            file,
            sha256,
            len: *len,
        })
        .collect();
    let index = wacz::Packaged {
        path: "indexes/index.cdx",
        file: &index,
        sha256: &index_sha256,
        len: index_text.len() as u64,
    };
    let package = std::fs::File::create(bundle.join("archive.wacz")).unwrap();
    wacz::package(package, &archives, &index, &[], "2026-01-01T00:00:00Z").unwrap();
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            "archive.wacz: archive/matrix.warc.gz",
            "is not byte for byte the bundle's archive/matrix.warc.gz",
        ],
    );
    assert_eq!(findings.len(), 1, "{findings:#?}");
}

#[test]
fn ledger_lines_swapped_or_deleted_are_named_by_verify_and_the_script() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &["--source", "plain"]);
    let entries = jsonl(&bundle.join("ledger/entries.jsonl"));
    let first = entries[0]["seq"].as_i64().unwrap();
    let rewrite = |name: &str, alter: &dyn Fn(&mut Vec<String>)| {
        let copy = copy(&bundle, name);
        let path = copy.join("ledger/entries.jsonl");
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        alter(&mut lines);
        std::fs::write(
            &path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        resign(&h, &copy);
        copy
    };
    let swapped = rewrite("swapped", &|lines| lines.swap(2, 3));
    let findings = caught(&h, &swapped, &[]);
    named(
        &findings,
        &[
            &format!("ledger entry {}", first + 2),
            "comes after entry",
            "moved",
        ],
    );

    let deleted = rewrite("deleted", &|lines| {
        lines.remove(3);
    });
    let findings = caught(&h, &deleted, &[]);
    named(
        &findings,
        &[
            &format!("ledger entry {}", first + 3),
            "is missing from ledger/entries.jsonl",
            "deleted",
        ],
    );

    // The first line: only the manifest says where the range starts.
    let prefix = rewrite("prefix", &|lines| {
        lines.remove(0);
    });
    let findings = caught(&h, &prefix, &[]);
    named(
        &findings,
        &[
            &format!("ledger entry {first}"),
            "is missing from ledger/entries.jsonl",
        ],
    );
    for bundle in [&deleted, &prefix] {
        if let Some((code, out)) = run_script(bundle) {
            assert_eq!(code, 1, "{out}");
            assert!(
                out.contains("missing: the ledger lines were deleted"),
                "{out}"
            );
        }
    }
}

#[test]
fn a_changes_line_edited_or_removed_is_named() {
    let (h, _server) = swept();
    let bundle = export(&h, "bundle", &[]);
    let path = bundle.join("changes.jsonl");
    let lines = jsonl(&path);
    // A content event's diff rewritten (and its hash with it).
    let (index, line) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l["event"]["kind"] == "content")
        .expect("a content event");
    let id = line["event"]["id"].as_i64().unwrap();
    let mut edited = lines.clone();
    let diff = line["diff"]
        .as_str()
        .unwrap()
        .replace("Storage", "Storage (all regions)");
    edited[index]["event"]["diff_hash"] = scopewatch::hash::Digest::of(diff.as_bytes())
        .to_hex()
        .into();
    edited[index]["diff"] = diff.into();
    write_jsonl(&path, &edited);
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("event {id} (content"),
            "diff_hash differ from its ledger entry",
        ],
    );

    // The line removed.
    let mut removed = lines.clone();
    removed.remove(index);
    write_jsonl(&path, &removed);
    resign(&h, &bundle);
    let findings = caught(&h, &bundle, &[]);
    named(
        &findings,
        &[
            &format!("event {id} (content"),
            "is missing from changes.jsonl",
        ],
    );
}

#[test]
fn a_later_bundle_extends_an_earlier_checkpoint_and_a_rewrite_is_named() {
    let (h, _server) = swept();
    let early = export(&h, "early", &[]);
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    let late = export(&h, "late", &[]);
    let mut kept: Vec<PathBuf> = std::fs::read_dir(early.join("ledger/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    kept.sort();
    let old = kept.last().unwrap();
    let out = scopewatch(
        &h.config_path(),
        &[
            "verify",
            late.to_str().unwrap(),
            "--since-checkpoint",
            old.to_str().unwrap(),
        ],
    );
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the bundle's log extends it"), "{text}");
    // Its .txt (with the .sig beside it) does as well.
    let (code, findings) = verify_bundle(
        &h,
        &late,
        &[
            "--since-checkpoint",
            old.with_extension("txt").to_str().unwrap(),
        ],
    );
    assert_eq!((code, &findings), (0, &vec![]));

    // The history the earlier checkpoint covered, as the later bundle
    // states it, differs: another root at that size.
    let mut rewritten: checkpoint::Checkpoint =
        serde_json::from_slice(&std::fs::read(old).unwrap()).unwrap();
    rewritten.root = "ab".repeat(32);
    let forged = h.dir.path().join("held.json");
    std::fs::write(&forged, serde_json::to_vec(&rewritten).unwrap()).unwrap();
    let (code, findings) =
        verify_bundle(&h, &late, &["--since-checkpoint", forged.to_str().unwrap()]);
    assert_eq!(code, 1);
    named(
        &findings,
        &["--since-checkpoint", "the history it covers was rewritten"],
    );
}
