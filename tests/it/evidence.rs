//! The evidence trail end to end, through the command line: the ledger
//! and signed checkpoints written by `check`, `key show`, and `verify`
//! naming each kind of tampering the issue lists.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, history, scopewatch};
use rusqlite::Connection;
use scopewatch::app::SweepRequest;

fn verify(h: &Harness) -> (i32, String) {
    let out = scopewatch(&h.config_path(), &["verify"]);
    (out.status.code().unwrap(), common::output_text(&out))
}

/// The sqlite3 shell's view of the database: triggers can be dropped.
fn shell(h: &Harness) -> Connection {
    let conn = Connection::open(h.db_path()).unwrap();
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    conn
}

#[test]
fn every_attempt_and_event_is_a_leaf_and_every_sweep_is_signed() {
    let (h, _server) = history();
    let conn = shell(&h);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let records = count("SELECT COUNT(*) FROM records");
    let events = count("SELECT COUNT(*) FROM events");
    assert_eq!(records, 8);
    assert!(events >= 2, "a baseline per source: {events}");
    // One leaf per record and per event, and one for the configuration.
    assert_eq!(count("SELECT COUNT(*) FROM ledger"), records + events + 1);
    let store = scopewatch::store::Store::open_reader(&h.db_path()).unwrap();
    let leaves = scopewatch::ledger::entries(&store, 0, i64::MAX).unwrap();
    let failures = leaves
        .iter()
        .filter(|entry| entry.leaf.contains(r#""type":"failure""#))
        .count();
    assert_eq!(failures, 1);
    // Capture and failure leaves are stored as their hash and record only.
    assert_eq!(
        count("SELECT COUNT(*) FROM ledger WHERE leaf = '' AND record_id IS NOT NULL"),
        records
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM checkpoints"),
        4,
        "one per sweep"
    );

    let key = h.dir.path().join("scopewatch-signing-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = scopewatch(&h.config_path(), &["key", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    assert_eq!(
        scopewatch(&h.config_path(), &["key", "show"]).stdout,
        pem.as_bytes(),
        "the key is created once"
    );

    let (code, out) = verify(&h);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signed checkpoint"), "{out}");
}

#[test]
fn records_and_leaves_stored_before_schema_8_verify_as_they_are() {
    let (h, _server) = history();
    let conn = shell(&h);
    // Rewrite the first half the way schema 7 stored them: the request
    // headers in the row, and the capture leaves' text in the ledger.
    let store = scopewatch::store::Store::open_reader(&h.db_path()).unwrap();
    let leaves = scopewatch::ledger::entries(&store, 0, i64::MAX).unwrap();
    conn.execute_batch(
        "DROP TRIGGER ledger_no_update;
         UPDATE record_rows SET request_headers = (SELECT json FROM header_sets
             WHERE id = record_rows.request_headers) WHERE id <= 4;",
    )
    .unwrap();
    for entry in leaves
        .iter()
        .filter(|e| e.rebuilt_from.is_some_and(|id| id <= 4))
    {
        conn.execute(
            "UPDATE ledger_rows SET leaf = ?1, record_id = NULL WHERE seq = ?2",
            rusqlite::params![entry.leaf, entry.seq],
        )
        .unwrap();
    }
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM ledger WHERE leaf = ''"), 4);
    let (code, out) = verify(&h);
    assert_eq!(code, 0, "{out}");
    // And an old-style row edited afterwards is still named.
    conn.execute("UPDATE record_rows SET status = 299 WHERE id = 2", [])
        .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 2: record_hash does not match"),
        "{out}"
    );
}

#[test]
fn the_ledger_tables_refuse_update_and_delete() {
    let (h, _server) = history();
    let conn = shell(&h);
    for sql in [
        "UPDATE ledger_rows SET leaf_hash = 'x'",
        "DELETE FROM ledger_rows",
        "UPDATE checkpoints SET root = 'x'",
        "DELETE FROM checkpoints",
    ] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn a_flipped_byte_in_a_stored_body_is_named() {
    let (h, _server) = history();
    let conn = shell(&h);
    let hash: String = conn
        .query_row("SELECT raw_hash FROM records WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    common::flip_blob_byte(&conn, &hash);
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 1: the blob named by raw_hash"),
        "{out}"
    );
    // Export refuses it rather than passing the body off as pruned.
    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let refusal = common::output_text(&out);
    assert!(
        refusal.contains(&format!("blob {hash} "))
            && refusal.contains("cannot be exported; run `scopewatch verify`"),
        "{refusal}"
    );
}

#[test]
fn an_edited_row_is_named() {
    let (h, _server) = history();
    shell(&h)
        .execute("UPDATE record_rows SET status = 299 WHERE id = 3", [])
        .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 3: record_hash does not match"),
        "{out}"
    );
}

#[test]
fn a_deleted_row_is_named() {
    let (h, _server) = history();
    let conn = shell(&h);
    conn.execute("DELETE FROM events WHERE record_id = 4", [])
        .unwrap();
    conn.execute("DELETE FROM record_rows WHERE id = 4", [])
        .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("record 5: record ids jump"), "{out}");
    assert!(out.contains("names record 4, which is missing"), "{out}");
}

#[test]
fn two_swapped_rows_are_named() {
    let (h, _server) = history();
    let conn = shell(&h);
    conn.execute_batch(
        "DROP TRIGGER ledger_no_update;
         UPDATE ledger_rows SET seq = -1 WHERE seq = 2;
         UPDATE ledger_rows SET seq = 2 WHERE seq = 3;
         UPDATE ledger_rows SET seq = 3 WHERE seq = -1;",
    )
    .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ledger entry 2:"), "{out}");
    assert!(out.contains("ledger entry 3:"), "{out}");
    assert!(out.contains("no longer hash to the signed root"), "{out}");
}

#[test]
fn a_log_truncated_at_the_tail_is_caught_by_the_last_checkpoint() {
    let (h, _server) = history();
    let conn = shell(&h);
    conn.execute_batch(
        "DROP TRIGGER ledger_no_delete;
         DELETE FROM ledger_rows WHERE seq = (SELECT MAX(seq) FROM ledger_rows);",
    )
    .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the ledger was truncated at the tail"),
        "{out}"
    );
}

#[test]
fn a_checkpoint_signed_with_another_key_is_named() {
    let (h, _server) = history();
    // Another key signs a checkpoint over the same ledger.
    let other = scopewatch::evidence::Signer::create(&h.dir.path().join("other.pem")).unwrap();
    let store = h.store();
    let conn = shell(&h);
    let latest: (i64, String, String) = conn
        .query_row(
            "SELECT tree_size, root, at FROM checkpoints ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let mut forged = scopewatch::evidence::Checkpoint {
        id: 0,
        tree_size: latest.0,
        root: latest.1,
        at: latest.2,
        key_id: other.key_id(),
        signature: String::new(),
    };
    forged.signature = hex::encode(other.sign(forged.text().as_bytes()));
    conn.execute(
        "INSERT INTO checkpoints (tree_size, root, at, key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![forged.tree_size, forged.root, forged.at, forged.key_id, forged.signature],
    )
    .unwrap();
    drop(store);
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("checkpoint 5 (tree size"), "{out}");
    assert!(out.contains("signed by another key"), "{out}");
}

/// A page that changes to text carrying markup, swept three times.
fn exported() -> (Harness, Server, std::path::PathBuf) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Server::start(move |req| match req.path.as_str() {
        "/iso" if counter.fetch_add(1, Ordering::SeqCst) >= 2 => Reply::html(
            "<main><p>ISO 27001</p><p>&lt;script&gt;alert(1)&lt;/script&gt; in scope</p></main>",
        ),
        "/iso" => Reply::html("<main><p>ISO 27001</p></main>"),
        _ => Reply::status(404),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
        server.url("/iso")
    ));
    let bundle = swept_and_exported(&h, 3);
    (h, server, bundle)
}

/// `check` run `sweeps` times, then `export --out bundle` in the harness
/// directory; returns the bundle.
fn swept_and_exported(h: &Harness, sweeps: usize) -> std::path::PathBuf {
    for _ in 0..sweeps {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    }
    common::export_bundle(h)
}

fn verify_bundle(h: &Harness, bundle: &Path) -> (i32, String) {
    let out = scopewatch(&h.config_path(), &["verify", bundle.to_str().unwrap()]);
    (out.status.code().unwrap(), common::output_text(&out))
}

/// Runs a standard tool in `dir`; `None` when it is not installed.
fn tool(program: &str, args: &[&str], dir: &Path) -> Option<Output> {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{program}: {e}"),
    }
}

#[test]
fn a_bundle_verifies_with_scopewatch_and_standard_tools() {
    let (h, _server, bundle) = exported();
    for name in [
        "README.txt",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "public-key.pem",
        "archive/iso.warc.gz",
        "ledger/entries.jsonl",
        "ledger/proofs/inclusion.jsonl",
        "ledger/proofs/consistency.jsonl",
        "ledger/checkpoints/000001.txt",
        "changes.jsonl",
        "scope/iso.jsonl",
        "report.html",
        "report.csv",
    ] {
        assert!(bundle.join(name).is_file(), "{name}");
    }
    // One scope line per capture, naming the record and the scope hash.
    let scope = std::fs::read_to_string(bundle.join("scope/iso.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(scope.lines().next().unwrap()).unwrap();
    assert!(
        first["record_hash"].is_string() && first["entries"].is_array(),
        "{first}"
    );
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 0, "{out}");

    // The report escapes what came from the page.
    let report = std::fs::read_to_string(bundle.join("report.html")).unwrap();
    assert!(
        report.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{report}"
    );
    assert!(!report.contains("<script"), "{report}");
    let csv = std::fs::read_to_string(bundle.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three captures: {csv}");

    // Two captures of the same payload: the second is a revisit.
    let warc = std::fs::read(bundle.join("archive/iso.warc.gz")).unwrap();
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&warc[..]),
        &mut plain,
    )
    .unwrap();
    assert!(plain.contains("WARC-Type: revisit\r\n"), "{plain}");
    assert!(plain.contains("identical-payload-digest"));

    match tool("sha256sum", &["-c", "--quiet", "SHA256SUMS"], &bundle) {
        Some(out) => assert!(
            out.status.success(),
            "sha256sum -c: {}",
            common::output_text(&out)
        ),
        None => eprintln!("SKIPPED: sha256sum is not installed"),
    }
    let openssl = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "public-key.pem",
        "-rawin",
        "-in",
        "SHA256SUMS",
        "-sigfile",
        "SHA256SUMS.sig",
    ];
    match tool("openssl", &openssl, &bundle) {
        Some(out) => {
            assert!(
                out.status.success(),
                "openssl pkeyutl -verify: {}",
                common::output_text(&out)
            );
            // A checkpoint verifies the same way.
            let mut checkpoint = openssl;
            checkpoint[7] = "ledger/checkpoints/000001.txt";
            checkpoint[9] = "ledger/checkpoints/000001.sig";
            let out = tool("openssl", &checkpoint, &bundle).unwrap();
            assert!(
                out.status.success(),
                "checkpoint: {}",
                common::output_text(&out)
            );
        }
        None => eprintln!("SKIPPED: openssl is not installed"),
    }
    let warcio = std::env::var("SCOPEWATCH_WARCIO").unwrap_or_else(|_| "warcio".into());
    match tool(&warcio, &["check", "-v", "archive/iso.warc.gz"], &bundle) {
        Some(out) => {
            assert!(
                out.status.success(),
                "warcio check: {}",
                common::output_text(&out)
            );
            assert!(
                common::output_text(&out).contains("digest pass"),
                "{}",
                common::output_text(&out)
            );
        }
        None => eprintln!(
            "SKIPPED: warcio is not available ({warcio}); .ci/run installs it into a venv and sets SCOPEWATCH_WARCIO"
        ),
    }
}

#[test]
fn two_sources_of_the_same_page_each_hold_its_response() {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001</p></main>"));
    let url = server.url("/iso");
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"a\"\nurl = \"{url}\"\n[[source]]\nid = \"b\"\nurl = \"{url}\"\n"
    ));
    let bundle = swept_and_exported(&h, 2);
    // Each file is read on its own: a revisit refers within it.
    for source in ["a", "b"] {
        let archive = std::fs::read(bundle.join(format!("archive/{source}.warc.gz"))).unwrap();
        let kinds: Vec<String> = scopewatch::evidence::warc::read_all(&archive)
            .into_iter()
            .filter_map(|read| match read {
                scopewatch::evidence::warc::ReadRecord::Ok { record, .. } => {
                    record.header("WARC-Type").map(String::from)
                }
                scopewatch::evidence::warc::ReadRecord::Damaged { problem, .. } => {
                    panic!("{problem}")
                }
            })
            .filter(|kind| kind == "response" || kind == "revisit")
            .collect();
        assert_eq!(kinds, ["response", "revisit"], "{source}");
    }
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_truncated_warc_record_is_named() {
    let (h, _server, bundle) = exported();
    let path = bundle.join("archive/iso.warc.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("of archive/iso.warc.gz (offset"), "{out}");
    assert!(out.contains("truncated"), "{out}");
    assert!(
        out.contains("archive/iso.warc.gz: does not match its SHA256SUMS line"),
        "{out}"
    );
}

#[test]
fn a_replaced_signature_is_named() {
    let (h, _server, bundle) = exported();
    let other = scopewatch::evidence::Signer::create(&h.dir.path().join("other.pem")).unwrap();
    let sums = std::fs::read(bundle.join("SHA256SUMS")).unwrap();
    std::fs::write(bundle.join("SHA256SUMS.sig"), other.sign(&sums)).unwrap();
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("SHA256SUMS.sig: the signature does not verify"),
        "{out}"
    );
}

#[test]
fn a_checkpoint_re_signed_with_another_key_is_named_in_a_bundle() {
    let (h, _server, bundle) = exported();
    let other = scopewatch::evidence::Signer::create(&h.dir.path().join("other.pem")).unwrap();
    common::re_sign_bundle_checkpoint(&bundle, &other);
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("checkpoint 1 (tree size"), "{out}");
    assert!(out.contains("signed by another key"), "{out}");
}

#[test]
fn pruned_bodies_are_reported_as_policy_and_a_silent_removal_as_tampering() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Server::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        Reply::html(format!("<main><p>version {}</p></main>", n.min(1)))
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[retention]\nraw_bodies = \"1ms\"\n[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
        server.url("/iso")
    ));
    for _ in 0..3 {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    }
    let conn = shell(&h);
    let pruned: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM blobs WHERE pruned_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        pruned, 1,
        "the first version's body; the last good one is kept"
    );
    let prunes: i64 = conn
        .query_row(
            r#"SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%"type":"prune"%'"#,
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(prunes, 1, "every prune is a ledger event");
    let (code, out) = verify(&h);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("record 1: raw body pruned by policy"), "{out}");

    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 0, "{out}");

    // The same removal without a prune leaf is tampering.
    conn.execute(
        "UPDATE blobs SET data = X'', pruned_at = 'x'
         WHERE hash = (SELECT raw_hash FROM records WHERE id = 3)",
        [],
    )
    .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("removed outside the retention policy"),
        "{out}"
    );
}

#[tokio::test]
async fn a_record_made_after_the_newest_checkpoint_is_not_exported() {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001</p></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
        server.url("/iso")
    ));
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    // What a daemon commits between export's checkpoint and its reads: a
    // capture whose leaf no checkpoint covers yet. The export runs once
    // the sweep's capture is committed, before the sweep's own checkpoint.
    let bundle = h.dir.path().join("bundle");
    let signer = scopewatch::evidence::Signer::locate(None, &h.db_path()).unwrap();
    let exported = std::sync::Mutex::new(None);
    let export = || {
        *exported.lock().unwrap() = Some(
            scopewatch::evidence::export::write_signed(
                &h.store(),
                &signer,
                &Default::default(),
                Default::default(),
                &bundle,
            )
            .unwrap(),
        );
    };
    let app = h.app();
    app.sweep(SweepRequest {
        swept: Some(&export),
        ..SweepRequest::quiet(&h.config.sources)
    })
    .await;
    app.close().unwrap();
    let summary = exported.into_inner().unwrap().unwrap();
    assert_eq!(summary.records, 1, "only the signed capture");
    let (code, out) = verify_bundle(&h, &bundle);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn export_selects_by_source_and_period() {
    let (h, _server) = history();
    let bundle = h.dir.path().join("only-iso");
    let out = scopewatch(
        &h.config_path(),
        &[
            "export",
            "--out",
            bundle.to_str().unwrap(),
            "--source",
            "iso",
            "--since",
            "1d",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    assert!(bundle.join("archive/iso.warc.gz").is_file());
    assert!(!bundle.join("archive/flaky.warc.gz").exists());
    // The ledger runs without a gap from the selection's first leaf to the
    // checkpoint's last: the other source's leaves in that range go out
    // too (a removed leaf would show), its captures do not.
    let entries = std::fs::read_to_string(bundle.join("ledger/entries.jsonl")).unwrap();
    let seqs: Vec<i64> = entries
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(entries.contains(r#""source":"flaky""#), "{entries}");
    assert_eq!(verify_bundle(&h, &bundle).0, 0);

    let empty = h.dir.path().join("future");
    let out = scopewatch(
        &h.config_path(),
        &[
            "export",
            "--out",
            empty.to_str().unwrap(),
            "--since",
            "2999-01-01",
        ],
    );
    // A selection of nothing is a mistake in the flags: exit 2, no bundle.
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    assert!(
        common::output_text(&out)
            .contains("no capture matches --since 2999-01-01T00:00:00+00:00: nothing to export"),
        "{}",
        common::output_text(&out)
    );
    assert!(!empty.exists(), "nothing written");

    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a non-empty directory is refused"
    );
    assert!(
        common::output_text(&out).contains("not empty"),
        "{}",
        common::output_text(&out)
    );
}

#[test]
fn key_show_prefers_the_configured_key_then_the_systemd_credential() {
    let h = Harness::new("");
    let credentials = h.dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    let credential =
        scopewatch::evidence::Signer::create(&credentials.join("scopewatch-signing-key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scopewatch"))
        .arg("--config")
        .arg(h.config_path())
        .args(["key", "show"])
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        credential.public_pem()
    );
    assert!(!h.dir.path().join("scopewatch-signing-key.pem").exists());

    let configured = scopewatch::evidence::Signer::create(&h.dir.path().join("mine.pem")).unwrap();
    let config = h.config_path();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}[evidence]\nkey_file = \"mine.pem\"\n"),
    )
    .unwrap();
    let out = scopewatch(&config, &["key", "show"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        configured.public_pem()
    );
}

/// The `metadata` records of a `.warc.gz`, as JSON, in file order.
fn warc_metadata(path: &Path) -> Vec<serde_json::Value> {
    let warc = std::fs::read(path).unwrap();
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&warc[..]),
        &mut plain,
    )
    .unwrap();
    plain
        .split("WARC/1.1\r\n")
        .filter(|record| record.contains("WARC-Type: metadata\r\n"))
        .map(|record| {
            let block = record.split_once("\r\n\r\n").unwrap().1;
            serde_json::from_str(block.trim_end()).unwrap()
        })
        .collect()
}

#[test]
fn each_warc_metadata_record_names_the_configuration_in_force() {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001</p></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
        server.url("/iso")
    ));
    let sha256 = |bytes: &[u8]| scopewatch::hash::Digest::of(bytes).to_hex();
    let first = std::fs::read(h.config_path()).unwrap();
    let check = || {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    };
    check();
    let mut second = first.clone();
    second.extend_from_slice(b"# edited between sweeps\n");
    std::fs::write(h.config_path(), &second).unwrap();
    check();
    check();

    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let metadata = warc_metadata(&bundle.join("archive/iso.warc.gz"));
    let hashes: Vec<&str> = metadata
        .iter()
        .map(|m| m["config_sha256"].as_str().unwrap())
        .collect();
    let (one, two) = (sha256(&first), sha256(&second));
    assert_eq!(hashes, [one.as_str(), two.as_str(), two.as_str()]);
    // Each names its config leaf, which is in the bundle's ledger.
    let entries = std::fs::read_to_string(bundle.join("ledger/entries.jsonl")).unwrap();
    for meta in &metadata {
        let seq = meta["config_ledger_seq"].as_i64().unwrap();
        assert!(seq < meta["ledger_seq"].as_i64().unwrap(), "{meta}");
        let leaf = format!(
            r#""config_sha256":"{}","#,
            meta["config_sha256"].as_str().unwrap()
        );
        assert!(
            entries.lines().any(|l| l.contains(&leaf)
                && l.contains(r#""type":"config""#)
                && l.contains(&format!(r#""seq":{seq},"#))),
            "{entries}"
        );
        assert_eq!(meta["tls_version"], serde_json::Value::Null);
        assert_eq!(meta["tls_version_note"], "no TLS: the URL is plain HTTP");
    }
    assert_eq!(verify_bundle(&h, &bundle).0, 0);
    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    assert!(readme.contains("config_sha256"), "{readme}");
    assert!(readme.contains("tls_version_note says why"), "{readme}");

    // A period that starts after the configuration changed still carries
    // the config leaf its captures name.
    let since: String = shell(&h)
        .query_row("SELECT started_at FROM records WHERE id = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let late = h.dir.path().join("late");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", late.to_str().unwrap(), "--since", &since],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let metadata = warc_metadata(&late.join("archive/iso.warc.gz"));
    assert_eq!(metadata.len(), 1);
    assert_eq!(metadata[0]["config_sha256"], two.as_str());
    let entries = std::fs::read_to_string(late.join("ledger/entries.jsonl")).unwrap();
    assert!(entries.contains(&two), "{entries}");
    assert!(!entries.contains(&one), "{entries}");
    assert_eq!(verify_bundle(&h, &late).0, 0);
}

/// A `[http] ca_file` naming `server`'s CA, in a directory kept alive.
fn trusting(server: &Server) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &server.tls.as_ref().unwrap().ca_pem).unwrap();
    let setting = format!("[http]\nca_file = \"{}\"\n", path.display());
    (dir, setting)
}

#[test]
fn an_https_capture_records_the_negotiated_tls_version_and_certificate() {
    for (version, name) in [
        (&rustls::version::TLS13, "TLSv1.3"),
        (&rustls::version::TLS12, "TLSv1.2"),
    ] {
        let server = Server::start_https(&[version], |_| {
            Reply::html("<main><p>ISO 27001: Azure Bot Service</p></main>")
        });
        let (_ca_dir, ca_file) = trusting(&server);
        let h = Harness::new(&format!(
            "{ca_file}[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
            server.url("/iso")
        ));
        let bundle = swept_and_exported(&h, 2);
        let certificate = scopewatch::hash::Digest::of(&server.tls.as_ref().unwrap().leaf_der);
        // What was trusted besides Mozilla's roots is on the ledger.
        let ca = scopewatch::hash::Digest::of(server.tls.as_ref().unwrap().ca_pem.as_bytes());
        let entries = std::fs::read_to_string(bundle.join("ledger/entries.jsonl")).unwrap();
        assert!(
            entries.contains(&format!(r#""ca_sha256":"{}""#, ca.to_hex())),
            "{entries}"
        );
        let metadata = warc_metadata(&bundle.join("archive/iso.warc.gz"));
        assert_eq!(metadata.len(), 2);
        for meta in &metadata {
            assert_eq!(meta["tls_version"], name, "{meta}");
            assert_eq!(meta["tls_version_note"], serde_json::Value::Null);
            assert_eq!(meta["tls_cert_sha256"], certificate.to_hex().as_str());
        }
        // The version is part of each record's hash: both verifications
        // pass, and an edited version is named.
        assert_eq!(verify_bundle(&h, &bundle).0, 0);
        assert_eq!(verify(&h).0, 0);
        shell(&h)
            .execute_batch(
                "UPDATE record_rows SET tls_version = 'TLSv1.3' WHERE id = 1;
                 UPDATE record_rows SET tls_version = NULL WHERE id = 2;",
            )
            .unwrap();
        let (code, report) = verify(&h);
        assert_eq!(code, 1, "{report}");
        let altered = report.matches("record_hash does not match").count();
        assert_eq!(altered, if name == "TLSv1.3" { 1 } else { 2 }, "{report}");
    }
}

#[test]
fn an_https_fetch_without_a_response_says_why_it_has_no_tls_version() {
    let port = common::server::closed_port();
    let h = Harness::new(&format!(
        "{}[[source]]\nid = \"down\"\nurl = \"https://127.0.0.1:{port}/\"\n",
        FAST_HTTP.replace("retries = 2", "retries = 0")
    ));
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let metadata = warc_metadata(&bundle.join("archive/down.warc.gz"));
    assert_eq!(metadata.len(), 1);
    assert_eq!(metadata[0]["tls_version"], serde_json::Value::Null);
    assert_eq!(
        metadata[0]["tls_version_note"],
        "no TLS session: no response was received"
    );
}

/// The store of a fresh database file, and the sqlite3 shell's view of it.
fn store_and_shell() -> (tempfile::TempDir, scopewatch::store::Store, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopewatch.db");
    let store = scopewatch::store::Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    (dir, store, conn)
}

#[test]
fn a_capture_leaf_is_rebuilt_from_its_record_as_it_was_hashed() {
    use scopewatch::ledger::{check_entries, entries};
    let (_dir, mut store, conn) = store_and_shell();
    let url = "http://127.0.0.1/a";
    let extracted = scopewatch::extract::extract(
        b"page",
        Some("text/plain"),
        url,
        &Default::default(),
        &Default::default(),
    )
    .unwrap();
    let scope = scopewatch::scope::ScopeOutcome::Extracted(Default::default());
    scopewatch::record::record_attempt(
        &mut store,
        &scopewatch::record::AttemptRecord {
            source: "a".into(),
            source_url: url.into(),
            parent: None,
            capture: scopewatch::fetch::Capture {
                status: Some(200),
                ..scopewatch::fetch::Capture::begun(url.into())
            },
            result: scopewatch::record::AttemptResult::extracted(b"page", extracted, scope)
                .unwrap(),
            fail_after: 3,
            scope_settings: Default::default(),
            alerts: Default::default(),
            follow: None,
            via: None,
        },
    )
    .unwrap();
    let stored: (String, Option<i64>) = conn
        .query_row(
            r#"SELECT leaf, record_id FROM ledger WHERE record_id IS NOT NULL"#,
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, (String::new(), Some(1)), "only the hash is stored");
    let all = entries(&store, 0, 10).unwrap();
    let capture = all
        .iter()
        .find(|entry| entry.rebuilt_from == Some(1))
        .unwrap();
    let leaf: serde_json::Value = serde_json::from_str(&capture.leaf).unwrap();
    assert_eq!(
        (leaf["type"].as_str(), leaf["status"].as_i64()),
        (Some("capture"), Some(200))
    );
    assert!(check_entries(&all).0.is_empty());
    // Reading from the middle rebuilds the same bytes (its prev is read).
    let tail = entries(&store, capture.seq, 10).unwrap();
    assert_eq!(tail[0], *capture);

    conn.execute("UPDATE record_rows SET status = 203 WHERE id = 1", [])
        .unwrap();
    let problems = check_entries(&entries(&store, 0, 10).unwrap()).0;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].seq, capture.seq);
    assert!(
        problems[0].problem.contains("rebuilt from record 1"),
        "{problems:?}"
    );
}

#[test]
fn each_checkpoint_resumes_from_the_last_edge_and_ignores_a_bad_one() {
    use scopewatch::evidence::checkpoint::sign;
    use scopewatch::ledger::{self, Lifecycle, record_lifecycle};
    let (dir, store, conn) = store_and_shell();
    let signer = scopewatch::evidence::Signer::create(&dir.path().join("key.pem")).unwrap();
    let expected_root = || {
        let entries = ledger::entries(&store, 0, i64::MAX).unwrap();
        let hashes = entries
            .iter()
            .map(|e| {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(&e.leaf_hash, &mut hash).unwrap();
                hash
            })
            .collect();
        hex::encode(scopewatch::ledger::merkle::Tree::new(hashes).root(entries.len()))
    };
    let append = |n: usize| {
        for _ in 0..n {
            record_lifecycle(&store, Lifecycle::DaemonStart).unwrap();
        }
    };
    for (round, leaves) in [5, 1, 8, 3].into_iter().enumerate() {
        append(leaves);
        let checkpoint = sign(&store, &signer).unwrap().unwrap();
        assert_eq!(checkpoint.root, expected_root(), "round {round}");
    }
    assert!(sign(&store, &signer).unwrap().is_none(), "nothing new");

    // A damaged edge is not trusted: the root is rebuilt from the leaves.
    let edge: String = conn
        .query_row(
            "SELECT edge FROM checkpoint_edges ORDER BY checkpoint_id DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    // The right shape for the tree's size, one hash changed: parses,
    // but does not reproduce the signed root.
    let first = edge.split(' ').next().unwrap();
    let (height, _) = first.split_once(':').unwrap();
    let forged = edge.replacen(first, &format!("{height}:{}", "0".repeat(64)), 1);
    assert_ne!(forged, edge);
    conn.execute("UPDATE checkpoint_edges SET edge = ?1", [forged])
        .unwrap();
    append(2);
    assert_eq!(
        sign(&store, &signer).unwrap().unwrap().root,
        expected_root()
    );
}
