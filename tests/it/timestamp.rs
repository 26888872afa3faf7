//! RFC 3161 timestamps over checkpoints against a loopback TSA: the test's
//! HTTP server pipes each request through `openssl ts -reply` with a
//! throw-away CA and TSA certificate made in a temporary directory. The
//! exported token passes `openssl ts -verify`; a TSA answering 500 or not
//! at all never blocks capture, raises `timestamp-failed`, and is retried.
//! Skipped, saying so, where `openssl` is not installed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};
use rusqlite::Connection;

const GOOD: u8 = 0;
const ERROR_500: u8 = 1;
const SILENT: u8 = 2;

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A CA and a TSA certificate it issued, and the `openssl ts` config; `None`
/// (with a message) when openssl is absent.
fn make_tsa(dir: &Path) -> Option<PathBuf> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIPPED: openssl is not installed; the RFC 3161 loopback TSA needs it");
        return None;
    }
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let run = |args: &[&str]| {
        let out = openssl(args, dir);
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=Test CA",
            "-days",
            "2",
        ],
        &["-addext", "basicConstraints=critical,CA:TRUE"],
        &["-addext", "keyUsage=critical,keyCertSign"],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Test TSA",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "extendedKeyUsage = critical,timeStamping\nkeyUsage = critical,digitalSignature\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tsa.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let config = dir.join("tsa.cnf");
    std::fs::write(
        &config,
        format!(
            "[tsa]\ndefault_tsa = tsa1\n[tsa1]\nserial = {d}/serial\nsigner_cert = {d}/tsa.crt\n\
             certs = {d}/tsa.crt\nsigner_key = {d}/tsa.key\nsigner_digest = sha256\n\
             default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\n\
             ess_cert_id_alg = sha256\n",
            d = dir.display()
        ),
    )
    .unwrap();
    Some(config)
}

/// A server with a page and a TSA at `/tsa` whose behaviour `mode` sets.
fn server(dir: PathBuf, config: PathBuf, mode: Arc<AtomicU8>) -> Server {
    let count = AtomicUsize::new(0);
    Server::start(move |req| {
        if req.path != "/tsa" {
            return Reply::html("<main><p>ISO 27001: Compute</p></main>");
        }
        match mode.load(Ordering::SeqCst) {
            ERROR_500 => return Reply::status(500),
            SILENT => return Reply::Stall(Duration::from_secs(5)),
            _ => {}
        }
        assert_eq!(
            req.header("content-type"),
            Some("application/timestamp-query")
        );
        let n = count.fetch_add(1, Ordering::SeqCst);
        let (query, reply) = (dir.join(format!("{n}.tsq")), dir.join(format!("{n}.tsr")));
        std::fs::write(&query, &req.body).unwrap();
        let out = Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(&config)
            .arg("-queryfile")
            .arg(&query)
            .arg("-out")
            .arg(&reply)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl ts -reply: {out:?}");
        Reply::ok(
            "application/timestamp-reply",
            std::fs::read(&reply).unwrap(),
        )
    })
}

struct Setup {
    h: Harness,
    tsa_dir: tempfile::TempDir,
    mode: Arc<AtomicU8>,
    _server: Server,
}

fn setup() -> Option<Setup> {
    setup_with("")
}

/// [`setup`] with `extra` configuration (e.g. a `[daemon]` table) first.
fn setup_with(extra: &str) -> Option<Setup> {
    let tsa_dir = tempfile::tempdir().unwrap();
    let config = make_tsa(tsa_dir.path())?;
    let mode = Arc::new(AtomicU8::new(GOOD));
    let server = server(tsa_dir.path().to_path_buf(), config, mode.clone());
    let h = Harness::new(&format!(
        "{extra}{FAST_HTTP}[evidence]\ntsa_url = \"{}\"\ntsa_timeout = \"1s\"\n\
         [[source]]\nid = \"page\"\nurl = \"{}\"\n",
        server.url("/tsa"),
        server.url("/page")
    ));
    Some(Setup {
        h,
        tsa_dir,
        mode,
        _server: server,
    })
}

fn check(h: &Harness) {
    let out = common::scopewatch_command(&h.config_path())
        .arg("check")
        .output()
        .unwrap();
    assert!(out.status.success(), "capture completes: {out:?}");
}

fn count(h: &Harness, sql: &str) -> i64 {
    Connection::open(h.db_path())
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn each_checkpoint_gets_a_token_that_openssl_verifies_in_the_bundle() {
    let Some(s) = setup() else { return };
    check(&s.h);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoints"), 2);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 2);
    let verify = common::scopewatch_command(&s.h.config_path())
        .arg("verify")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");

    let bundle = s.h.dir.path().join("bundle");
    let out = common::scopewatch_command(&s.h.config_path())
        .args(["export", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let checkpoints = bundle.join("ledger/checkpoints");
    for stem in ["000001", "000002"] {
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(checkpoints.join(format!("{stem}.txt")))
            .arg("-in")
            .arg(checkpoints.join(format!("{stem}.tsr")))
            .arg("-CAfile")
            .arg(s.tsa_dir.path().join("ca.crt"))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{stem}: {out:?}"
        );
    }
    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    assert!(readme.contains("openssl ts -verify"), "{readme}");
    let out = common::scopewatch_command(&s.h.config_path())
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // A token swapped onto another checkpoint is named.
    std::fs::copy(
        checkpoints.join("000001.tsr"),
        checkpoints.join("000002.tsr"),
    )
    .unwrap();
    let out = common::scopewatch_command(&s.h.config_path())
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("000002.tsr: message imprint does not match checkpoint 2"),
        "{out:?}"
    );
}

#[test]
fn a_failing_tsa_never_blocks_capture_raises_one_event_and_is_retried() {
    let Some(s) = setup() else { return };
    s.mode.store(ERROR_500, Ordering::SeqCst);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM records"), 1);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 0);
    let failed = "SELECT COUNT(*) FROM events WHERE kind = 'timestamp-failed'";
    assert_eq!(count(&s.h, failed), 1);
    let error: String = Connection::open(s.h.db_path())
        .unwrap()
        .query_row("SELECT error FROM timestamp_failures", [], |r| r.get(0))
        .unwrap();
    assert!(error.contains("500"), "{error}");

    // Silent: the timeout (1s) ends the wait; still failing, no second event.
    s.mode.store(SILENT, Ordering::SeqCst);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM records"), 2);
    assert_eq!(count(&s.h, failed), 1, "already failing: no new event");
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM timestamp_failures"), 2);

    // Back: the newest checkpoint gets a token, which bounds the two
    // before it; they are not stamped later, out of order.
    s.mode.store(GOOD, Ordering::SeqCst);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoints"), 3);
    assert_eq!(
        count(&s.h, "SELECT checkpoint_id FROM checkpoint_timestamps"),
        3
    );
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 2);
    // The event is in the ledger too, and the store still verifies.
    assert_eq!(
        count(
            &s.h,
            r#"SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%"kind":"timestamp-failed"%'"#
        ),
        1
    );
    let out = common::scopewatch_command(&s.h.config_path())
        .arg("verify")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_daemon_signs_and_stamps_a_checkpoint_after_each_sweep() {
    let Some(s) = setup_with("[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n") else {
        return;
    };
    let mut child = common::scopewatch_command(&s.h.config_path())
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stamped = || {
        Connection::open(s.h.db_path())
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM checkpoint_timestamps", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stamped() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no stamped checkpoints from the daemon"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) with our child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert!(child.wait().unwrap().success());
}
