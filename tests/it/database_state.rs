//! A database scopewatch cannot use as it is: one written by a newer
//! scopewatch is named so (not "damaged"), and one SQLite reports damaged
//! (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) stops `check` and `run` with exit 2,
//! saying to restore a backup or run `verify`, with nothing more written.

use crate::common;

use std::io::{Seek, SeekFrom, Write};
use std::process::Stdio;
use std::time::Duration;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, exit_within, output_text, scopewatch, scopewatch_command};

/// A database of two sources, made by `check` (so its configuration leaf
/// is recorded), and the server behind it.
fn checked(extra: &str) -> (Harness, Server) {
    let server =
        Server::start(|req| Reply::html(format!("<main><p>ISO 27001 on {}</p></main>", req.path)));
    let h = Harness::new(&format!(
        "{FAST_HTTP}{extra}[[source]]\nid = \"a\"\nurl = \"{}\"\n[[source]]\nid = \"b\"\nurl = \"{}\"\n",
        server.url("/a"),
        server.url("/b")
    ));
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    (h, server)
}

fn pragma(h: &Harness, name: &str) -> i64 {
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.pragma_query_value(None, name, |row| row.get(0))
        .unwrap()
}

#[test]
fn a_database_of_a_newer_schema_says_upgrade_not_damaged() {
    let (h, _server) = checked("");
    let known = pragma(&h, "user_version");
    let found = known + 3;
    rusqlite::Connection::open(h.db_path())
        .unwrap()
        .pragma_update(None, "user_version", found)
        .unwrap();
    for args in [&["sources"][..], &["check"], &["changes"]] {
        let out = scopewatch(&h.config_path(), args);
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            text.contains(&format!(
                "written by a newer scopewatch (schema {found} > {known}): upgrade"
            )),
            "{args:?}: {text}"
        );
        assert!(!text.contains("damaged"), "{args:?}: {text}");
    }
}

/// Overwrites the b-tree pages of the `sources` table and its key index
/// with bytes no page starts with: SQLite reports the file corrupt as soon
/// as a write touches them (every attempt records its source there).
fn corrupt_the_sources_pages(h: &Harness) {
    let (page_size, roots): (i64, Vec<i64>) = {
        let conn = rusqlite::Connection::open(h.db_path()).unwrap();
        let page_size = conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .unwrap();
        let roots = conn
            .prepare(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'sources' AND rootpage > 0",
            )
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        (page_size, roots)
    };
    // The last connection closed: the WAL is checkpointed into the file.
    assert!(!h.dir.path().join("scopewatch.db-wal").exists());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(h.db_path())
        .unwrap();
    for root in roots {
        file.seek(SeekFrom::Start(((root - 1) * page_size) as u64))
            .unwrap();
        file.write_all(&vec![0xff; page_size as usize]).unwrap();
    }
}

fn assert_damage_reported(text: &str) {
    assert!(text.contains("the database file is damaged"), "{text}");
    assert!(text.contains("restore it from a backup"), "{text}");
    assert!(text.contains("scopewatch verify"), "{text}");
}

/// How many records, ledger leaves, events and checkpoints the database
/// holds: none of these tables is on the pages the tests damage.
fn evidence_counts(h: &Harness) -> Vec<i64> {
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    ["records", "ledger", "events", "checkpoints"]
        .iter()
        .map(|table| {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
        })
        .collect()
}

#[test]
fn check_stops_writing_into_a_database_sqlite_reports_corrupt() {
    let (h, _server) = checked("");
    let before = evidence_counts(&h);
    corrupt_the_sources_pages(&h);
    let out = scopewatch(&h.config_path(), &["check"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_damage_reported(&text);
    // Nothing was recorded past the damage: no record, no ledger leaf, no
    // event, no checkpoint. (The mark a page gets while it is extracted,
    // written before SQLite noticed, may remain.)
    assert_eq!(evidence_counts(&h), before);
}

#[test]
fn a_file_that_is_not_a_database_is_named_damaged() {
    let (h, _server) = checked("");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(h.db_path())
        .unwrap();
    file.write_all(&[0x42; 100]).unwrap();
    drop(file);
    for args in [&["check"][..], &["sources"]] {
        let out = scopewatch(&h.config_path(), args);
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert_damage_reported(&text);
    }
}

#[test]
fn the_daemon_stops_with_exit_2_on_a_corrupt_database() {
    let (h, _server) = checked("[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n");
    corrupt_the_sources_pages(&h);
    let daemon = scopewatch_command(&h.config_path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = exit_within(
        daemon,
        Duration::from_secs(30),
        "the daemon kept running on a corrupt database",
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_damage_reported(&text);
}
