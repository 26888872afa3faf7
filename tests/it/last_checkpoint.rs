//! `verify --last-checkpoint`: the newest checkpoint interval checked as
//! the whole verify checks it, and proven to extend the checkpoint before
//! (from that checkpoint's saved Merkle edge, trusted only when it
//! recombines to its signed root, or derived from the leaves when none was
//! saved). The history: a page that changes at every fetch (a content
//! event each sweep) and one that does not, swept four times with `check`
//! (a checkpoint each).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};
use rusqlite::Connection;
use scopewatch::evidence::{Signer, checkpoint};
use scopewatch::ledger::merkle::RootBuilder;
use serde_json::Value;

fn swept() -> (Harness, Server) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |req| match req.path.as_str() {
        "/changing" => Reply::html(format!(
            "<main><h1>Notices</h1><p>Revision {}</p></main>",
            fetches.fetch_add(1, Ordering::SeqCst)
        )),
        _ => Reply::html("<main><p>Our trust page</p></main>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"changing\"\nurl = \"{}\"\n\
         [[source]]\nid = \"plain\"\nurl = \"{}\"\n",
        server.url("/changing"),
        server.url("/plain")
    ));
    for _ in 0..4 {
        assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    }
    (h, server)
}

/// `verify --last-checkpoint --json`: the exit code, the findings, and the
/// info lines.
fn verify_last(h: &Harness) -> (i32, Vec<Value>, Vec<Value>) {
    let out = scopewatch(&h.config_path(), &["verify", "--last-checkpoint", "--json"]);
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let (info, findings) = all.into_iter().partition(|f| f["info"] == true);
    (out.status.code().unwrap(), findings, info)
}

/// [`verify_last`] of a tampered store: asserts it exits 1; the findings.
fn caught(h: &Harness) -> Vec<Value> {
    let (code, findings, _) = verify_last(h);
    assert_eq!(code, 1, "{}", problems(&findings));
    findings
}

/// The newest two checkpoints, oldest first.
fn newest_two(conn: &Connection) -> (checkpoint::Checkpoint, checkpoint::Checkpoint) {
    let path = std::path::Path::new(conn.path().expect("a database file"));
    let store = scopewatch::store::Store::open_reader(path).unwrap();
    let mut two = store.newest_two_checkpoints().unwrap();
    assert_eq!(two.len(), 2);
    let newest = two.pop().unwrap();
    (two.pop().unwrap(), newest)
}

fn problems(findings: &[Value]) -> String {
    serde_json::to_string_pretty(findings).unwrap()
}

/// Asserts that a finding about `concerns` contains `words`.
fn named(findings: &[Value], concerns: &str, words: &str) {
    assert!(
        findings.iter().any(|f| f["concerns"]
            .as_str()
            .is_some_and(|c| c.starts_with(concerns))
            && f["problem"].as_str().is_some_and(|p| p.contains(words))),
        "no finding on {concerns:?} with {words:?} in {}",
        problems(findings)
    );
}

/// Alters record `id` (its status) and asserts the verify names it.
fn alter_record_and_expect_it_named(h: &Harness, conn: &Connection, id: i64) {
    conn.execute("UPDATE record_rows SET status = 203 WHERE id = ?1", [id])
        .unwrap();
    expect_record_named(h, id);
}

/// Asserts the verify exits 1 naming record `id`'s hash.
fn expect_record_named(h: &Harness, id: i64) {
    let findings = caught(h);
    named(
        &findings,
        &format!("record {id}"),
        "record_hash does not match",
    );
}

#[test]
fn a_healthy_store_passes_and_says_what_it_covered() {
    let (h, _server) = swept();
    let (code, findings, info) = verify_last(&h);
    assert_eq!((code, problems(&findings)), (0, "[]".into()));
    let conn = Connection::open(h.db_path()).unwrap();
    let (previous, newest) = newest_two(&conn);
    let scope = info
        .iter()
        .find(|f| f["concerns"] == "scope")
        .unwrap_or_else(|| panic!("no scope line in {}", problems(&info)));
    let text = scope["problem"].as_str().unwrap();
    for part in [
        format!("checkpoint {}", previous.id),
        format!("checkpoint {}", newest.id),
        format!("ledger entries {} to", previous.tree_size),
    ] {
        assert!(text.contains(&part), "{part:?} not in {text:?}");
    }
    let out = scopewatch(&h.config_path(), &["verify", "--last-checkpoint"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("verified (the last checkpoint interval only)")
            && said.contains("every re-extracted body (2 captures)"),
        "{said}"
    );
}

#[test]
fn a_record_or_leaf_altered_in_the_interval_is_named() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let last: i64 = conn
        .query_row("SELECT MAX(id) FROM record_rows", [], |r| r.get(0))
        .unwrap();
    conn.execute("UPDATE record_rows SET status = 203 WHERE id = ?1", [last])
        .unwrap();
    let findings = caught(&h);
    named(
        &findings,
        &format!("record {last}"),
        "record_hash does not match",
    );

    // Put back, then a leaf of the interval stored as text (the newest
    // event's) is edited.
    conn.execute("UPDATE record_rows SET status = 200 WHERE id = ?1", [last])
        .unwrap();
    assert_eq!(verify_last(&h).0, 0);
    let seq: i64 = conn
        .query_row(
            r#"SELECT MAX(seq) FROM ledger_rows WHERE leaf LIKE '%"type":"event"%'"#,
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(seq >= newest_two(&conn).0.tree_size, "in the interval");
    conn.execute_batch(
        "DROP TRIGGER ledger_no_update;
         UPDATE ledger_rows SET leaf = replace(leaf, '\"kind\":\"content\"', '\"kind\":\"moved\"')
         WHERE leaf LIKE '%\"type\":\"event\"%' AND seq = (SELECT MAX(seq) FROM ledger_rows
             WHERE leaf LIKE '%\"type\":\"event\"%');",
    )
    .unwrap();
    let findings = caught(&h);
    named(
        &findings,
        &format!("ledger entry {seq}"),
        "the leaf hash does not match the leaf",
    );
}

#[test]
fn a_rewritten_earlier_leaf_under_a_new_checkpoint_breaks_the_extension() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let (previous, newest) = newest_two(&conn);
    // Someone holding the key rewrites an entry an earlier checkpoint
    // signed and signs the rewritten log (checkpoints are append-only, so
    // as a new checkpoint): every signature verifies.
    conn.execute_batch(
        "DROP TRIGGER ledger_no_update;
         UPDATE ledger_rows SET leaf_hash = randomblob(32) WHERE seq = 1;",
    )
    .unwrap();
    let mut builder = RootBuilder::default();
    let store = scopewatch::store::Store::open_reader(&h.db_path()).unwrap();
    store
        .for_each_leaf_hash(0, newest.tree_size, |_, hash| {
            let mut node = [0u8; 32];
            hex::decode_to_slice(hash, &mut node).unwrap();
            builder.push(node);
            Ok::<_, scopewatch::store::StoreError>(())
        })
        .unwrap();
    let signer = Signer::load(&h.dir.path().join(checkpoint::KEY_FILE)).unwrap();
    let mut forged = checkpoint::Checkpoint {
        id: 0,
        tree_size: newest.tree_size,
        root: hex::encode(builder.root()),
        at: newest.at.clone(),
        key_id: signer.key_id(),
        signature: String::new(),
    };
    forged.signature = hex::encode(signer.sign(forged.text().as_bytes()));
    conn.execute(
        "INSERT INTO checkpoints (tree_size, root, at, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            forged.tree_size,
            forged.root,
            forged.at,
            forged.key_id,
            forged.signature
        ],
    )
    .unwrap();
    let findings = caught(&h);
    named(
        &findings,
        "checkpoint",
        &format!("does not extend checkpoint {}", newest.id),
    );
    // The entry itself is before the interval: only the whole verify reads it.
    assert!(previous.tree_size > 1);
    let out = scopewatch(&h.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_forged_edge_is_named_and_the_interval_still_checked() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let (previous, _) = newest_two(&conn);
    let edge: String = conn
        .query_row(
            "SELECT edge FROM checkpoint_edges WHERE checkpoint_id = ?1",
            [previous.id],
            |r| r.get(0),
        )
        .unwrap();
    // The right shape for the tree's size, one hash changed: it parses but
    // does not recombine to the signed root. Were it trusted, the interval
    // could not extend it.
    let first = edge.split(' ').next().unwrap();
    let (height, _) = first.split_once(':').unwrap();
    let forged = edge.replacen(first, &format!("{height}:{}", "ab".repeat(32)), 1);
    assert_ne!(forged, edge);
    conn.execute(
        "UPDATE checkpoint_edges SET edge = ?1 WHERE checkpoint_id = ?2",
        rusqlite::params![forged, previous.id],
    )
    .unwrap();
    let findings = caught(&h);
    named(
        &findings,
        &format!("checkpoint {}", previous.id),
        "saved Merkle edge does not recombine to its signed root",
    );
    assert_eq!(findings.len(), 1, "{}", problems(&findings));
}

#[test]
fn checkpoints_without_a_saved_edge_get_one_derived_and_saved() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let (previous, _) = newest_two(&conn);
    // As in a database whose checkpoints predate saved edges.
    conn.execute_batch("DELETE FROM checkpoint_edges").unwrap();
    let (code, findings, info) = verify_last(&h);
    assert_eq!((code, problems(&findings)), (0, "[]".into()));
    let derived = |info: &[Value]| {
        info.iter().any(|f| {
            f["concerns"]
                .as_str()
                .is_some_and(|c| c.starts_with(&format!("checkpoint {}", previous.id)))
                && f["problem"]
                    .as_str()
                    .is_some_and(|p| p.contains("no Merkle edge was saved"))
        })
    };
    assert!(derived(&info), "{}", problems(&info));
    let saved: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM checkpoint_edges WHERE checkpoint_id = ?1",
            [previous.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(saved, 1, "the derived edge is saved");
    let (code, findings, info) = verify_last(&h);
    assert_eq!((code, problems(&findings)), (0, "[]".into()));
    assert!(!derived(&info), "derived once: {}", problems(&info));

    // A derived edge is only what the leaves hash to: an entry rewritten
    // before the interval then shows against the signed root.
    conn.execute_batch(
        "DELETE FROM checkpoint_edges;
         DROP TRIGGER ledger_no_update;
         UPDATE ledger_rows SET leaf_hash = randomblob(32) WHERE seq = 1;",
    )
    .unwrap();
    let findings = caught(&h);
    named(
        &findings,
        &format!("checkpoint {}", previous.id),
        "no longer hash to the signed root",
    );
}

#[test]
fn a_copy_of_the_newest_checkpoint_does_not_empty_the_interval() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let (_, newest) = newest_two(&conn);
    let last: i64 = conn
        .query_row("SELECT MAX(id) FROM record_rows", [], |r| r.get(0))
        .unwrap();
    // A signature covers a checkpoint's size, root and time, not its row
    // id: the copy verifies, and were it taken as the checkpoint before,
    // the interval would hold nothing.
    conn.execute(
        "INSERT INTO checkpoints (tree_size, root, at, key_id, signature)
         SELECT tree_size, root, at, key_id, signature FROM checkpoints WHERE id = ?1",
        [newest.id],
    )
    .unwrap();
    alter_record_and_expect_it_named(&h, &conn, last);
}

#[test]
fn an_edited_leaf_before_the_interval_cannot_move_its_first_record() {
    let (h, _server) = swept();
    let conn = Connection::open(h.db_path()).unwrap();
    let (previous, _) = newest_two(&conn);
    // The first record of the interval, altered: the one an off-by-one at
    // the interval's start would leave out.
    let first: i64 = conn
        .query_row(
            "SELECT MIN(record_id) FROM ledger_rows WHERE seq >= ?1 AND record_id IS NOT NULL",
            [previous.tree_size],
            |r| r.get(0),
        )
        .unwrap();
    alter_record_and_expect_it_named(&h, &conn, first);
    // The last leaf before the interval (which only the whole verify
    // hashes) made to name a record far past every real one: the interval
    // still starts at the first record its own leaves name.
    conn.execute_batch(&format!(
        "DROP TRIGGER ledger_no_update;
         UPDATE ledger_rows SET record_id = 1000000000 WHERE seq = (SELECT MAX(seq) FROM ledger_rows
             WHERE seq < {} AND record_id IS NOT NULL);",
        previous.tree_size
    ))
    .unwrap();
    expect_record_named(&h, first);
}
