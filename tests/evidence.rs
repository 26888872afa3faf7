//! The evidence trail end to end, through the command line: the ledger
//! and signed checkpoints written by `check`, `key show`, and `verify`
//! naming each kind of tampering the issue lists.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};
use rusqlite::Connection;

fn scopewatch(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scopewatch"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SCOPEWATCH_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Two sources swept four times: one page changes on the third sweep, the
/// other fails on the second. Returns the harness and the server.
fn history() -> (Harness, Server) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Server::start(move |req| match req.path.as_str() {
        "/flaky" if counter.fetch_add(1, Ordering::SeqCst) == 1 => Reply::status(500),
        "/flaky" => Reply::html("<main><p>SOC 2 Type 2: Azure Bot Service</p></main>"),
        _ => Reply::html("<main><h1>ISO/IEC 27001</h1><p>In scope</p></main>"),
    });
    let h = Harness::new(&format!(
        "{}[[source]]\nid = \"iso\"\nurl = \"{}\"\n[[source]]\nid = \"flaky\"\nurl = \"{}\"\n",
        FAST_HTTP.replace("retries = 2", "retries = 0"),
        server.url("/iso"),
        server.url("/flaky")
    ));
    for _ in 0..4 {
        scopewatch(&h.config_path(), &["check"]);
    }
    (h, server)
}

fn verify(h: &Harness) -> (i32, String) {
    let out = scopewatch(&h.config_path(), &["verify"]);
    (out.status.code().unwrap(), text(&out))
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
    assert_eq!(
        count(r#"SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%"type":"failure"%'"#),
        1
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
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
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
fn the_ledger_tables_refuse_update_and_delete() {
    let (h, _server) = history();
    let conn = shell(&h);
    for sql in [
        "UPDATE ledger SET leaf_hash = 'x'",
        "DELETE FROM ledger",
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
    let (hash, mut data): (String, Vec<u8>) = conn
        .query_row(
            "SELECT b.hash, b.data FROM blobs b JOIN records r ON r.raw_hash = b.hash WHERE r.id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let last = data.len() - 5;
    data[last] ^= 0x01;
    conn.execute(
        "UPDATE blobs SET data = ?1 WHERE hash = ?2",
        rusqlite::params![data, hash],
    )
    .unwrap();
    let (code, out) = verify(&h);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 1: the blob named by raw_hash"),
        "{out}"
    );
}

#[test]
fn an_edited_row_is_named() {
    let (h, _server) = history();
    shell(&h)
        .execute("UPDATE records SET status = 299 WHERE id = 3", [])
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
    conn.execute("DELETE FROM records WHERE id = 4", [])
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
         UPDATE ledger SET seq = -1 WHERE seq = 2;
         UPDATE ledger SET seq = 2 WHERE seq = 3;
         UPDATE ledger SET seq = 3 WHERE seq = -1;",
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
         DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger);",
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
