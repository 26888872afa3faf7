//! `verify` re-extracting stored bodies, of the store and of a bundle
//! (`verify BUNDLE --config`): a clean store or bundle stays clean; an
//! attacker who rewrites a record's text or scope hash and then the whole
//! chain, the ledger and the checkpoints (holding the signing key), or a
//! bundle's scope line or response body and then SHA256SUMS and its
//! signature, is still caught; changed settings or a removed source are
//! info lines, not findings.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::bundle::{forge_warc, resign};
use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};
use rusqlite::{Connection, params};
use scopewatch::evidence::{Signer, checkpoint, warc};
use scopewatch::ledger::merkle;
use scopewatch::scope::{ScopeEntry, ScopeSet};
use scopewatch::store::Store;
use serde_json::Value;

const MATRIX: &str = "<main><h1>Compliance</h1><table>\
    <tr><th>Service</th><th>ISO 27001</th><th>SOC 2</th></tr>\
    <tr><td>Compute</td><td>✓</td><td>✓</td></tr>\
    <tr><td>Storage</td><td>✓</td><td></td></tr>\
    </table></main>";

fn source_block(server: &Server, content: &str) -> String {
    format!(
        "[[source]]\nid = \"matrix\"\nurl = \"{}\"\ncontent = [\"{content}\"]\n\
         [[source]]\nid = \"plain\"\nurl = \"{}\"\n",
        server.url("/matrix"),
        server.url("/plain")
    )
}

/// Two sources, three sweeps each, with a scope matrix on one.
fn swept() -> (Harness, Server) {
    let server = Server::start(|req| match req.path.as_str() {
        "/matrix" => Reply::html(MATRIX),
        _ => Reply::html("<main><p>Our trust page</p></main>"),
    });
    let h = Harness::new(&format!("{FAST_HTTP}{}", source_block(&server, "main")));
    for _ in 0..3 {
        assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    }
    (h, server)
}

/// `verify --json`: the exit code, the findings, and the info lines.
fn verify(h: &Harness) -> (i32, Vec<Value>, Vec<Value>) {
    let out = scopewatch(&h.config_path(), &["verify", "--json"]);
    let all: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let (info, findings) = all.into_iter().partition(|f| f["info"] == true);
    (out.status.code().unwrap(), findings, info)
}

#[test]
fn a_clean_store_verifies_clean_with_every_body_re_extracted() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let scoped: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM records WHERE source = 'matrix' AND scope_hash IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(scoped, 3, "the matrix page has a scope to re-check");
    let (code, findings, info) = verify(&h);
    assert_eq!((code, &findings, &info), (0, &vec![], &vec![]));
    let out = scopewatch(&h.config_path(), &["verify"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("every re-extracted body"),
        "{out:?}"
    );
}

/// What an attacker holding the database and the signing key does after
/// `edit` changed one record: re-hashes the chain from there, rewrites the
/// ledger leaves that name the changed records (and their `text_hash`),
/// and signs a fresh checkpoint. Everything but re-extraction agrees.
fn rewrite_history(h: &Harness, edit: &str) {
    let conn = Connection::open(h.db_path()).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete;
         DROP TRIGGER checkpoints_no_update; DROP TRIGGER checkpoints_no_delete;",
    )
    .unwrap();
    conn.execute_batch(edit).unwrap();
    let store = Store::open(&h.db_path()).unwrap();
    let mut prev = "0".repeat(64);
    let mut rows = HashMap::new();
    for (mut row, stored) in store.all_records().unwrap() {
        row.prev_hash = prev.clone();
        let hash = row.hash().to_hex();
        if hash != stored {
            conn.execute(
                // Stored packed: the 32 bytes, the link derived from the row before.
                "UPDATE record_rows SET prev_hash = NULL, record_hash = unhex(?1) WHERE id = ?2",
                params![hash, row.id],
            )
            .unwrap();
        }
        rows.insert(row.id, (hash.clone(), row.text_hash.clone()));
        prev = hash;
    }
    // The leaves as verify reads them (capture leaves rebuilt from records).
    let leaves: Vec<(i64, String)> = scopewatch::ledger::entries(&store, 0, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|entry| (entry.seq, entry.leaf))
        .collect();
    let mut prev = "0".repeat(64);
    for (seq, leaf) in leaves {
        let mut leaf: Value = serde_json::from_str(&leaf).unwrap();
        leaf["prev"] = Value::String(prev.clone());
        if matches!(leaf["type"].as_str(), Some("capture" | "failure")) {
            let (hash, text) = &rows[&leaf["record_id"].as_i64().unwrap()];
            leaf["record_hash"] = Value::String(hash.clone());
            leaf["text_hash"] = serde_json::json!(text);
        }
        let leaf = leaf.to_string();
        let hash = hex::encode(merkle::leaf_hash(leaf.as_bytes()));
        conn.execute(
            "UPDATE ledger_rows SET leaf = ?1, leaf_hash = ?2 WHERE seq = ?3",
            params![leaf, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("DELETE FROM checkpoints", []).unwrap();
    let signer = Signer::locate(None, &h.db_path()).unwrap();
    checkpoint::sign(&store, &signer).unwrap();
}

#[test]
fn a_rewritten_scope_hash_is_caught_by_re_extraction_alone() {
    let (h, _server) = swept();
    // The attacker claims record 3 (the second matrix capture, say) had
    // Storage out of SOC 2 and in nothing: a smaller, well-formed set.
    let forged = ScopeSet::from_entries([ScopeEntry::new("ISO 27001", "Compute")]);
    let conn = Connection::open(h.db_path()).unwrap();
    let target: i64 = conn
        .query_row(
            "SELECT id FROM records WHERE source = 'matrix' ORDER BY id LIMIT 1 OFFSET 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    rewrite_history(
        &h,
        &format!(
            "INSERT INTO scope_sets (hash, entries) VALUES ('{hash}', '{entries}');
             INSERT INTO digests (hex) VALUES ('{hash}');
             UPDATE record_rows SET scope_hash = (SELECT id FROM digests WHERE hex = '{hash}')
                 WHERE id = {target};",
            hash = forged.hash(),
            entries = serde_json::to_string(&forged).unwrap(),
        ),
    );
    let (code, findings, _) = verify(&h);
    assert_eq!(code, 1, "{findings:#?}");
    assert_only_scope_finding(&findings, target, &forged.hash());
}

/// The one finding is re-extraction's: record `target` of the matrix
/// source has a scope hash (`forged`) its body does not give.
fn assert_only_scope_finding(findings: &[Value], target: i64, forged: &str) {
    assert_eq!(
        findings.len(),
        1,
        "only re-extraction sees it: {findings:#?}"
    );
    assert_eq!(findings[0]["record_id"], target);
    let problem = findings[0]["problem"].as_str().unwrap();
    assert!(problem.contains("scope hash differs"), "{problem}");
    assert!(problem.contains(forged), "{problem}");
    assert_eq!(
        findings[0]["concerns"],
        format!("record {target} (source matrix)")
    );
}

#[test]
fn a_rewritten_text_hash_is_caught_by_re_extraction_alone() {
    let (h, _server) = swept();
    // Record 2's text now names a blob that exists (its raw body), with the
    // chain, ledger and checkpoint all rewritten to agree.
    rewrite_history(
        &h,
        "UPDATE record_rows SET text_hash = raw_hash WHERE id = 2;",
    );
    let (code, findings, _) = verify(&h);
    assert_eq!(code, 1, "{findings:#?}");
    assert_eq!(
        findings.len(),
        1,
        "only re-extraction sees it: {findings:#?}"
    );
    assert_eq!(findings[0]["record_id"], 2);
    let problem = findings[0]["problem"].as_str().unwrap();
    assert!(problem.contains("text hash differs"), "{problem}");
}

#[test]
fn an_edited_scope_set_is_named() {
    let (h, _server) = swept();
    // The scope set's entries rewritten in place (unpacked, edited,
    // packed again): its hash no longer fits.
    let conn = Connection::open(h.db_path()).unwrap();
    let sets: Vec<(String, Vec<u8>, i64)> = conn
        .prepare("SELECT hash, packed, size FROM scope_sets")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!sets.is_empty());
    for (hash, packed, size) in sets {
        let json = zstd::bulk::decompress(&packed, size as usize).unwrap();
        let edited = String::from_utf8(json)
            .unwrap()
            .replace("Storage", "Storage X");
        conn.execute(
            "UPDATE scope_sets SET packed = ?1, size = ?2 WHERE hash = ?3",
            params![
                zstd::bulk::compress(edited.as_bytes(), 3).unwrap(),
                edited.len() as i64,
                hash
            ],
        )
        .unwrap();
    }
    let (code, findings, _) = verify(&h);
    assert_eq!(code, 1);
    assert!(
        findings
            .iter()
            .any(|f| f["problem"].as_str().unwrap().contains("no longer hashes")),
        "{findings:#?}"
    );
}

/// The info line about `source`.
fn info_for(info: &[Value], source: &str) -> String {
    info.iter()
        .find(|i| i["concerns"] == format!("source {source}"))
        .unwrap_or_else(|| panic!("no info for {source}: {info:#?}"))["problem"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn changed_settings_and_a_removed_source_are_info_not_findings() {
    let (h, server) = swept();
    // A different content selector for `matrix`; `plain` removed.
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    let changed = text.replace(&source_block(&server, "main"), "")
        + &format!(
            "[[source]]\nid = \"matrix\"\nurl = \"{}\"\ncontent = [\"table\"]\n",
            server.url("/matrix")
        );
    std::fs::write(h.config_path(), changed).unwrap();
    let (code, findings, info) = verify(&h);
    assert_eq!((code, &findings), (0, &vec![]), "{info:#?}");
    assert!(
        info_for(&info, "matrix").contains("not re-checked: extraction settings changed"),
        "{info:#?}"
    );
    assert!(
        info_for(&info, "plain").contains("not re-checked: source removed"),
        "{info:#?}"
    );
    let out = scopewatch(&h.config_path(), &["verify"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("info: source matrix: 3 records"),
        "{out:?}"
    );

    // The next sweep records the new settings: its capture is re-checked.
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    let (code, findings, info) = verify(&h);
    assert_eq!((code, &findings), (0, &vec![]), "{info:#?}");
    assert!(info_for(&info, "matrix").contains("3 records"), "{info:#?}");
}

/// `swept()` exported as a bundle.
fn bundle(h: &Harness) -> std::path::PathBuf {
    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert!(out.status.success(), "{out:?}");
    bundle
}

/// `verify BUNDLE --json` with the harness's configuration (`--config`).
fn verify_bundle(h: &Harness, bundle: &Path) -> (i32, Vec<Value>, Vec<Value>) {
    let out = scopewatch(
        &h.config_path(),
        &["verify", bundle.to_str().unwrap(), "--json"],
    );
    let all: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let (info, findings) = all.into_iter().partition(|f| f["info"] == true);
    (out.status.code().unwrap(), findings, info)
}

/// `verify BUNDLE` with no configuration at all.
fn verify_bundle_without_config(bundle: &Path) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scopewatch"));
    command.env_remove("SCOPEWATCH_CONFIG");
    command
        .args(["verify", bundle.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn a_clean_bundle_verifies_clean_with_every_capture_re_extracted() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    let (code, findings, info) = verify_bundle(&h, &bundle);
    assert_eq!((code, &findings, &info), (0, &vec![], &vec![]));
    // Two sources swept three times: six captures, the repeats stored as
    // identical-payload revisits whose body is the first response's.
    let archive = std::fs::read(bundle.join("archive/matrix.warc.gz")).unwrap();
    let kinds: Vec<String> = warc::read_all(&archive)
        .into_iter()
        .filter_map(|r| match r {
            warc::ReadRecord::Ok { record, .. } => record.header("WARC-Type").map(String::from),
            warc::ReadRecord::Damaged { .. } => None,
        })
        .filter(|kind| kind == "response" || kind == "revisit")
        .collect();
    assert_eq!(kinds, ["response", "revisit", "revisit"]);
    let out = scopewatch(&h.config_path(), &["verify", bundle.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "every re-extracted body (6 captures) gives the text and scope hashes the bundle states"
        ),
        "{out:?}"
    );

    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    assert!(
        readme
            .contains("scopewatch verify THIS_DIRECTORY --key PINNED.pem --config scopewatch.toml"),
        "{readme}"
    );

    // Without a configuration there are no settings: one info line.
    let out = verify_bundle_without_config(&bundle);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("info: re-extraction: not re-checked: no configuration file")
            && text.contains("pass --config"),
        "{text}"
    );
    assert!(text.contains("(0 captures)"), "{text}");
}

#[test]
fn a_bundle_with_a_forged_scope_re_signed_is_caught_by_re_extraction_alone() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    // The attacker claims the second matrix capture had only Compute in
    // ISO 27001: a well-formed set under its own hash, SHA256SUMS redone
    // and signed again.
    let forged = ScopeSet::from_entries([ScopeEntry::new("ISO 27001", "Compute")]);
    let path = bundle.join("scope/matrix.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let target = lines[1]["record_id"].as_i64().unwrap();
    let edited: String = lines
        .into_iter()
        .map(|mut line| {
            if line["record_id"] == target {
                line["scope_hash"] = Value::String(forged.hash());
                line["entries"] = serde_json::to_value(&forged).unwrap();
            }
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&path, edited).unwrap();
    resign(&h, &bundle);

    // Without re-extraction every checksum, signature and proof holds.
    let out = verify_bundle_without_config(&bundle);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let (code, findings, info) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{findings:#?}");
    assert_only_scope_finding(&findings, target, &forged.hash());
    assert_eq!(info, Vec::<Value>::new());
}

#[test]
fn a_bundle_re_extracted_with_changed_settings_gives_info_lines() {
    let (h, server) = swept();
    let bundle = bundle(&h);
    // A different content selector for `matrix`; `plain` removed.
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    let changed = text.replace(&source_block(&server, "main"), "")
        + &format!(
            "[[source]]\nid = \"matrix\"\nurl = \"{}\"\ncontent = [\"table\"]\n",
            server.url("/matrix")
        );
    std::fs::write(h.config_path(), changed).unwrap();
    let (code, findings, info) = verify_bundle(&h, &bundle);
    assert_eq!((code, &findings), (0, &vec![]), "{info:#?}");
    let matrix = info_for(&info, "matrix");
    assert!(
        matrix.starts_with("3 records")
            && matrix.contains("not re-checked: extraction settings changed"),
        "{info:#?}"
    );
    assert!(
        info_for(&info, "plain").contains("not re-checked: source removed"),
        "{info:#?}"
    );
}

#[test]
fn a_bundle_starting_after_the_scope_a_capture_was_judged_against_says_so() {
    // The matrix's check marks are all gone after the first sweep: the
    // sweep judges the empty scope broken against the first one (the
    // first scope stays the reference) and stores none.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Server::start(move |req| match req.path.as_str() {
        "/matrix" if counter.fetch_add(1, Ordering::SeqCst) >= 1 => Reply::html(
            "<main><h1>Compliance</h1><table>\
             <tr><th>Service</th><th>PCI DSS</th></tr>\
             <tr><td>Compute</td><td>planned</td></tr></table></main>",
        ),
        "/matrix" => Reply::html(MATRIX),
        _ => Reply::html("<main><p>Our trust page</p></main>"),
    });
    let h = Harness::new(&format!("{FAST_HTTP}{}", source_block(&server, "main")));
    for _ in 0..3 {
        assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    }
    let conn = Connection::open(h.db_path()).unwrap();
    let matrix: Vec<(i64, String, Option<String>)> = conn
        .prepare(
            "SELECT id, started_at, scope_hash FROM records WHERE source = 'matrix' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let stored: Vec<bool> = matrix.iter().map(|m| m.2.is_some()).collect();
    assert_eq!(stored, [true, false, false], "judged broken: {matrix:?}");

    // The whole history: the judgement is replayed, nothing left out.
    let (code, findings, info) = verify_bundle(&h, &bundle(&h));
    assert_eq!((code, &findings, &info), (0, &vec![], &vec![]));

    // From the second matrix capture on: the scope it was judged against
    // is not in the bundle, so its stored "none" cannot be replayed.
    let late = h.dir.path().join("late");
    let out = scopewatch(
        &h.config_path(),
        &[
            "export",
            "--out",
            late.to_str().unwrap(),
            "--since",
            &matrix[1].1,
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let (code, findings, info) = verify_bundle(&h, &late);
    assert_eq!((code, &findings), (0, &vec![]), "{info:#?}");
    let (second, third) = (matrix[1].0, matrix[2].0);
    let ids = if third == second + 1 {
        format!("records {second}-{third}")
    } else {
        format!("record {second}, record {third}")
    };
    assert!(
        info_for(&info, "matrix").starts_with(&format!(
            "2 records ({ids}) scope hash not re-checked (text hash was)"
        )),
        "{info:#?}"
    );
}

#[test]
fn a_bundle_whose_response_body_was_altered_and_re_signed_names_every_capture_of_it() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    // The attacker puts Storage in SOC 2 in the first matrix response,
    // redoes its WARC digests, SHA256SUMS and the signature. The two
    // revisits point at that response, so their body changed too.
    let forged = forge_warc(&bundle.join("archive/matrix.warc.gz"), |record| {
        if record.header("WARC-Type") != Some("response") {
            return false;
        }
        let block = String::from_utf8(record.block.clone()).unwrap();
        let forged = block.replace(
            "<td>Storage</td><td>✓</td><td></td>",
            "<td>Storage</td><td>✓</td><td>✓</td>",
        );
        assert_ne!(forged, block);
        record.block = forged.into_bytes();
        true
    });
    assert_eq!(forged, 1);
    resign(&h, &bundle);

    let (code, findings, _) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{findings:#?}");
    let conn = Connection::open(h.db_path()).unwrap();
    let matrix: Vec<i64> = conn
        .prepare("SELECT id FROM records WHERE source = 'matrix' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(matrix.len(), 3);
    // Each metadata record sees its payload changed (a revisit's is the
    // response it refers to), and re-extraction its text.
    let others: Vec<&Value> = findings
        .iter()
        .filter(|f| f["concerns"].as_str().unwrap().contains("(WARC record "))
        .collect();
    assert_eq!(others.len(), 3, "{findings:#?}");
    for other in others {
        assert!(
            other["problem"]
                .as_str()
                .unwrap()
                .contains("the response payload is not the body the record hashed"),
            "{findings:#?}"
        );
    }
    for id in matrix {
        assert!(
            findings.iter().any(|f| f["record_id"] == id
                && f["concerns"] == format!("record {id} (source matrix)")
                && f["problem"].as_str().unwrap().contains("text hash differs")),
            "record {id}: {findings:#?}"
        );
    }
}

#[test]
fn a_forged_body_marked_pruned_and_re_signed_is_named_with_and_without_config() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    // The attacker forges the first matrix response's body and marks its
    // capture "raw_pruned", hoping the mark excuses the body; then redoes
    // the WARC digests, SHA256SUMS and the signature.
    let mut first_metadata = true;
    let forged = forge_warc(
        &bundle.join("archive/matrix.warc.gz"),
        |record| match record.header("WARC-Type") {
            Some("response") => {
                let block = String::from_utf8(record.block.clone()).unwrap();
                record.block = block.replace("Storage", "Backup").into_bytes();
                true
            }
            Some("metadata") if std::mem::take(&mut first_metadata) => {
                let mut meta: Value = serde_json::from_slice(&record.block).unwrap();
                meta["raw_pruned"] = Value::Bool(true);
                record.block = meta.to_string().into_bytes();
                true
            }
            _ => false,
        },
    );
    assert_eq!(forged, 2);
    resign(&h, &bundle);

    // Without re-extraction: each capture of the body (the response and
    // the two revisits referring to it) is named.
    let out = verify_bundle_without_config(&bundle);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("the response payload is not the body the record hashed")
            .count(),
        3,
        "{text}"
    );
    // With it: the capture marked pruned is re-extracted too.
    let (code, findings, _) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{findings:#?}");
    let re_extracted = findings
        .iter()
        .filter(|f| f["problem"].as_str().unwrap().contains("text hash differs"))
        .count();
    assert_eq!(re_extracted, 3, "{findings:#?}");
}

#[test]
fn a_metadata_record_naming_another_configuration_is_named() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    // The attacker claims the first matrix capture ran with another
    // configuration, redoing the record's digest, SHA256SUMS and signature.
    let mut first = true;
    let forged = forge_warc(&bundle.join("archive/matrix.warc.gz"), |record| {
        if record.header("WARC-Type") != Some("metadata") || !std::mem::take(&mut first) {
            return false;
        }
        let mut meta: Value = serde_json::from_slice(&record.block).unwrap();
        assert!(meta["config_sha256"].is_string(), "{meta}");
        meta["config_sha256"] = Value::String("0".repeat(64));
        record.block = serde_json::to_vec(&meta).unwrap();
        true
    });
    assert_eq!(forged, 1);
    resign(&h, &bundle);

    let (code, findings, _) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{findings:#?}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let problem = findings[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains("not the configuration the ledger had in force"),
        "{problem}"
    );
}

#[test]
fn a_bundle_whose_metadata_was_altered_and_re_signed_names_the_members() {
    let (h, _server) = swept();
    let bundle = bundle(&h);
    // The attacker moves the first matrix capture to another address and
    // TLS session, redoing the WARC digests, SHA256SUMS and the signature;
    // then, on a second try, rewrites the embedded record too.
    let path = bundle.join("archive/matrix.warc.gz");
    let original = std::fs::read(&path).unwrap();
    let forge_metadata = |rewrite_record: bool| {
        let mut first = true;
        forge_warc(&path, |record| {
            if record.header("WARC-Type") != Some("metadata") || !std::mem::take(&mut first) {
                return false;
            }
            let mut meta: Value = serde_json::from_slice(&record.block).unwrap();
            meta["remote_ip"] = "203.0.113.7".into();
            meta["tls_version"] = "TLSv1.3".into();
            if rewrite_record {
                let mut inner: Value =
                    serde_json::from_str(meta["record"].as_str().unwrap()).unwrap();
                inner["remote_ip"] = "203.0.113.7".into();
                meta["record"] = inner.to_string().into();
            }
            record.block = meta.to_string().into_bytes();
            true
        })
    };
    for rewrite_record in [false, true] {
        std::fs::write(&path, &original).unwrap();
        assert_eq!(forge_metadata(rewrite_record), 1);
        resign(&h, &bundle);
        let out = verify_bundle_without_config(&bundle);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let expected = if rewrite_record {
            "`record` does not hash to its record_hash"
        } else {
            "the metadata's remote_ip, tls_version differ from the record it names"
        };
        assert!(text.contains(expected), "{text}");
    }
}

/// What extraction makes of the fixtures (every real corpus version as the
/// live site renders it, the PDF statement, and a page of table and name
/// quirks) is pinned: `verify` tells records of another extractor apart by
/// its version alone, so output that changes without it would be reported
/// as tampering.
#[test]
fn extraction_output_is_pinned_to_the_extractor_version() {
    const PINNED: &str = "d449febcef401ddbdd1c3990a201d451004c5b6250475873115543dab8580c49";
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut pages: Vec<(String, Vec<u8>, &str)> = Vec::new();
    let corpus = fixtures.join("corpus");
    let mut versions: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|page| page.unwrap().path())
        .filter(|page| page.is_dir())
        .flat_map(|page| std::fs::read_dir(page).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    versions.sort();
    for (n, path) in versions.into_iter().enumerate() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        let html = scopewatch::demo::site::render_as_request(&markdown, n);
        let name = path.strip_prefix(&corpus).unwrap().display().to_string();
        pages.push((name, html.into_bytes(), "text/html"));
    }
    pages.push((
        "statement.pdf".into(),
        std::fs::read(fixtures.join("statement.pdf")).unwrap(),
        "application/pdf",
    ));
    pages.push((
        "quirks".into(),
        "<main><h2>In scope</h2><table><thead><tr><th rowspan=2>Service</th>\
         <th colspan=2>FedRAMP</th><th rowspan=2>PCI DSS</th></tr>\
         <tr><th>Moderate</th><th>High</th></tr></thead>\
         <tr><td>Azure Files<sup>1</sup></td><td>\u{2705}\u{FE0F}</td><td></td><td><img alt=\"Yes\"></td></tr>\
         <tr><td>Microsoft Teams®</td><td colspan=2>✓</td><td>✓</td></tr>\
         <tr><td>Azure Maps (1)</td><td>✓</td><td></td><td></td></tr>\
         <tr><td>Azure Monitor<sup>4, 5</sup></td><td></td><td>✓</td><td></td></tr></table>\
         <table><tr><th>Symbol</th><th>Meaning</th></tr><tr><td>In scope</td><td>✓</td></tr></table></main>"
            .as_bytes()
            .to_vec(),
        "text/html",
    ));
    let config = scopewatch::config::parse(
        "[[source]]\nid = \"page\"\nurl = \"https://example.com/\"\n",
        Path::new("pinned.toml"),
    )
    .unwrap();
    let mut all = String::new();
    let extractor = common::extractor(&config);
    for (name, body, content_type) in &pages {
        let (extracted, scope) = extractor
            .extract_page(
                body,
                Some(content_type),
                "https://example.com/",
                &config.sources[0].rules,
                &config.sources[0].scope,
                &config.scope,
            )
            .unwrap();
        let scope = match scope {
            scopewatch::scope::ScopeOutcome::Extracted(set) => serde_json::to_string(&set).unwrap(),
            scopewatch::scope::ScopeOutcome::Broken { reason } => format!("broken: {reason}"),
        };
        all.push_str(&format!("{name}\n{}\n{scope}\n", extracted.text));
    }
    let digest = scopewatch::hash::Digest::of(all.as_bytes()).to_hex();
    // Pinned together, so re-pinning the digest means editing the version
    // beside it, where the message says to bump it.
    assert_eq!(
        (
            scopewatch::evidence::recheck::EXTRACTION_VERSION,
            digest.as_str()
        ),
        (5, PINNED),
        "what extraction makes of the fixtures changed: bump EXTRACTION_VERSION in \
         src/evidence/recheck.rs, then pin this digest"
    );
}
