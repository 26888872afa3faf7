//! How `verify` reads and names what it finds: a FIFO, a device or an
//! oversized file in a bundle is named at once, never waited on; a key is
//! "pinned" only when `--key` gave it; a WARC record is named by the fetch
//! record it belongs to and its place in its file.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};
use scopewatch::evidence::warc::{self, ReadRecord};

/// A page checked twice, then exported; the harness, its server and the bundle.
fn exported() -> (Harness, Server, PathBuf) {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001: Compute</p></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"page\"\nurl = \"{}\"\n",
        server.url("/page")
    ));
    for _ in 0..2 {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    }
    let bundle = common::export_bundle(&h);
    (h, server, bundle)
}

/// `verify` with `args`; a run that does not end is killed and fails the test.
fn verify(h: &Harness, args: &[&str]) -> (i32, String) {
    let child = common::scopewatch_command(&h.config_path())
        .arg("verify")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::exit_within(child, Duration::from_secs(120), "verify hung");
    (out.status.code().unwrap(), common::output_text(&out))
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_in_a_bundle_is_named_not_waited_on() {
    let (h, _server, bundle) = exported();
    let warc = bundle.join("archive/page.warc.gz");
    std::fs::remove_file(&warc).unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, &warc, rustix::fs::Mode::from(0o600)).unwrap();
    let key = bundle.join("public-key.pem");
    std::fs::remove_file(&key).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &key).unwrap();
    let (code, out) = verify(&h, &[bundle.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("archive/page.warc.gz: cannot be read: not a regular file"),
        "{out}"
    );
    assert!(
        out.contains("public-key.pem: ") && out.contains("not a regular file"),
        "{out}"
    );
}

#[test]
fn an_oversized_timestamp_reply_is_refused_by_its_size() {
    let (h, _server, bundle) = exported();
    std::fs::write(
        bundle.join("ledger/checkpoints/000001.tsr"),
        vec![0x30; 20 * 1024],
    )
    .unwrap();
    let (code, out) = verify(&h, &[bundle.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ledger/checkpoints/000001.tsr: cannot be read: larger than 16384 bytes"),
        "{out}"
    );
}

#[test]
fn a_key_is_called_pinned_only_when_given_with_key() {
    let (h, _server, bundle) = exported();
    let other = scopewatch::evidence::Signer::create(&h.dir.path().join("other.pem")).unwrap();
    common::re_sign_bundle_checkpoint(&bundle, &other);
    let own = scopewatch::evidence::Signer::load(&h.dir.path().join("scopewatch-signing-key.pem"))
        .unwrap();
    let (code, out) = verify(&h, &[bundle.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "signed by another key (key id {}), not the bundle's public-key.pem (key id {})",
            other.key_id(),
            own.key_id()
        )),
        "{out}"
    );
    assert!(!out.contains("pinned"), "{out}");

    let pinned = h.dir.path().join("pinned.pem");
    std::fs::write(&pinned, own.public_pem()).unwrap();
    let (code, out) = verify(
        &h,
        &[bundle.to_str().unwrap(), "--key", pinned.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("not the pinned key {}", own.key_id())),
        "{out}"
    );

    // The database checked against its own signing key.
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    let mut checkpoint = scopewatch::store::Store::open_reader(&h.db_path())
        .unwrap()
        .checkpoint(1)
        .unwrap()
        .unwrap();
    checkpoint.key_id = other.key_id();
    checkpoint.signature = hex::encode(other.sign(checkpoint.text().as_bytes()));
    conn.execute_batch("DROP TRIGGER IF EXISTS checkpoints_no_update")
        .unwrap();
    conn.execute(
        "UPDATE checkpoints SET key_id = ?1, signature = ?2 WHERE id = 1",
        rusqlite::params![checkpoint.key_id, checkpoint.signature],
    )
    .unwrap();
    let (code, out) = verify(&h, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "not this database's signing key {}: the checkpoint was re-signed",
            own.key_id()
        )),
        "{out}"
    );
    assert!(!out.contains("pinned"), "{out}");
}

#[test]
fn a_warc_record_is_named_by_its_fetch_record_and_its_place_in_the_file() {
    let (h, _server, bundle) = exported();
    let path = bundle.join("archive/page.warc.gz");
    let mut records: Vec<warc::WarcRecord> = warc::read_all(&std::fs::read(&path).unwrap())
        .into_iter()
        .map(|read| match read {
            ReadRecord::Ok { record, .. } => record,
            ReadRecord::Damaged { problem, .. } => panic!("{problem}"),
        })
        .collect();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r.header("WARC-Type").unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "warcinfo", "request", "response", "metadata", "request", "revisit", "metadata"
        ]
    );
    let last = records[2].block.len() - 1;
    records[2].block[last] ^= 1;
    let bytes: Vec<u8> = records.iter().flat_map(|r| r.to_gzip().unwrap()).collect();
    std::fs::write(&path, bytes).unwrap();
    let (code, out) = verify(&h, &[bundle.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "record 1 (WARC record 3 of archive/page.warc.gz): the response block does not match WARC-Block-Digest"
        ),
        "{out}"
    );
}
