//! `scopewatch run` under a simulated systemd: the notify protocol (READY,
//! STATUS, WATCHDOG, RELOADING, STOPPING) on a datagram socket the test
//! binds, SIGHUP reloads, SIGTERM in the middle of a sweep, the
//! one-daemon-per-database lock, and a stalled loop losing its watchdog.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, signal};

/// The messages systemd would receive.
struct NotifySocket {
    path: std::path::PathBuf,
    messages: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        });
        NotifySocket { path, messages }
    }

    fn all(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    fn count(&self, needle: &str) -> usize {
        self.all().iter().filter(|m| m.contains(needle)).count()
    }

    fn wait_for(&self, needle: &str, times: usize) {
        wait_until(
            || self.count(needle) >= times,
            &format!("{times} × {needle:?}: {:?}", self.all()),
        );
    }
}

fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn daemon(h: &Harness, notify: Option<&NotifySocket>, envs: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scopewatch"));
    command
        .arg("--config")
        .arg(h.config_path())
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(notify) = notify {
        command.env("NOTIFY_SOCKET", &notify.path);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

fn stop(mut child: Child) -> Duration {
    let start = Instant::now();
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the daemon exits 0 on SIGTERM");
    start.elapsed()
}

fn every_second(server: &Server, ids: &[&str]) -> String {
    let mut config = format!("[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n{FAST_HTTP}");
    for id in ids {
        config.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n",
            server.url(&format!("/{id}"))
        ));
    }
    config
}

#[test]
fn notify_protocol_ready_status_watchdog_stopping() {
    let server = Server::start(|_| Reply::html("<main><p>statement</p></main>"));
    let h = Harness::new(&every_second(&server, &["a"]));
    let notify = NotifySocket::bind(h.dir.path());
    let child = daemon(&h, Some(&notify), &[("WATCHDOG_USEC", "1000000")]);
    notify.wait_for("READY=1", 1);
    notify.wait_for("WATCHDOG=1", 3);
    wait_until(|| server.hits("/a") >= 2, "two sweeps");
    notify.wait_for("STATUS=next sweep", 2);
    let first = notify.all();
    assert!(first[0].contains("EXTEND_TIMEOUT_USEC="), "{first:?}");
    let ready = first.iter().position(|m| m.contains("READY=1")).unwrap();
    assert!(
        first[ready].contains("STATUS=next sweep"),
        "READY carries the schedule: {first:?}"
    );
    assert!(stop(child) < Duration::from_secs(10));
    notify.wait_for("STOPPING=1", 1);
}

#[test]
fn sighup_swaps_in_a_valid_config_and_keeps_the_old_one_when_invalid() {
    let server = Server::start(|_| Reply::html("<main><p>statement</p></main>"));
    let h = Harness::new(&every_second(&server, &["a"]));
    let notify = NotifySocket::bind(h.dir.path());
    let child = daemon(&h, Some(&notify), &[]);
    notify.wait_for("READY=1", 1);

    // A valid, changed configuration: the new source gets fetched.
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    std::fs::write(
        h.config_path(),
        format!(
            "{text}[[source]]\nid = \"b\"\nurl = \"{}\"\n",
            server.url("/b")
        ),
    )
    .unwrap();
    signal(&child, libc::SIGHUP);
    notify.wait_for("RELOADING=1", 1);
    assert!(
        notify
            .all()
            .iter()
            .any(|m| m.contains("RELOADING=1\nMONOTONIC_USEC="))
    );
    notify.wait_for("READY=1", 2);
    wait_until(|| server.hits("/b") >= 1, "the new source fetched");

    // An invalid one: rejected, the old configuration keeps running.
    std::fs::write(h.config_path(), "[daemon]\nschedule = \"never\"\n").unwrap();
    signal(&child, libc::SIGHUP);
    notify.wait_for("READY=1", 3);
    let hits = server.hits("/b");
    wait_until(
        || server.hits("/b") > hits + 1,
        "sweeps go on with the old configuration",
    );
    stop(child);

    let events = h.store().daemon_events(10).unwrap();
    let kinds: Vec<&str> = events.iter().rev().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["started", "reloaded", "config-rejected", "stopped"]);
    assert!(
        events[1].message.contains("daemon.schedule"),
        "{:?}",
        events[1]
    );

    // The ledger names the two configurations that ran (not the rejected
    // file now on disk), and the daemon signs a checkpoint after sweeps.
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count(r#"SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%"type":"config"%'"#),
        2
    );
    assert!(count("SELECT COUNT(*) FROM checkpoints") >= 2);
}

#[test]
fn sigterm_in_the_middle_of_a_sweep_leaves_a_whole_chain() {
    let server = Server::start(|req| {
        if req.path.starts_with("/slow") {
            std::thread::sleep(Duration::from_millis(1500));
        }
        Reply::html("<main><p>statement</p></main>")
    });
    let h = Harness::new(&every_second(
        &server,
        &["fast1", "fast2", "slow1", "slow2", "slow3"],
    ));
    let child = daemon(&h, None, &[]);
    wait_until(
        || server.hits("/slow1") >= 1 && server.hits("/fast1") >= 1,
        "a sweep in flight",
    );
    let took = stop(child);
    assert!(took < Duration::from_secs(10), "{took:?}");
    let store = h.store();
    assert!(store.verify_chain().unwrap().is_empty());
    for source in store.source_summaries().unwrap() {
        // Every record made it whole: state, record and snapshot agree.
        let history = store.history(&source.id, 100).unwrap();
        assert_eq!(
            source.snapshots as usize,
            history.iter().filter(|r| r.outcome == "ok").count()
        );
    }
}

#[test]
fn a_second_daemon_on_the_same_database_is_refused() {
    let server = Server::start(|_| Reply::html("<main><p>statement</p></main>"));
    let h = Harness::new(&every_second(&server, &["a"]));
    let first = daemon(&h, None, &[]);
    wait_until(|| server.hits("/a") >= 1, "the first daemon running");
    let second = daemon(&h, None, &[]).wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another scopewatch daemon"), "{err}");

    let status = Command::new(env!("CARGO_BIN_EXE_scopewatch"))
        .arg("--config")
        .arg(h.config_path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], first.id().to_string());
    assert!(status["last_heartbeat"].is_string());
    stop(first);
}

#[test]
fn a_source_slower_than_the_watchdog_interval_keeps_the_pings() {
    // The one source answers after 3 s: three watchdog intervals in which
    // nothing finishes, all within what one source may take.
    let server = Server::start(|_| {
        std::thread::sleep(Duration::from_secs(3));
        Reply::html("<main><p>statement</p></main>")
    });
    let h = Harness::new(&format!(
        "[daemon]\njitter = \"0s\"\n[http]\ntimeout = \"10s\"\nretries = 0\n\
         [[source]]\nid = \"slow\"\nurl = \"{}\"\n",
        server.url("/slow")
    ));
    let notify = NotifySocket::bind(h.dir.path());
    let child = daemon(&h, Some(&notify), &[("WATCHDOG_USEC", "1000000")]);
    wait_until(|| server.hits("/slow") >= 1, "the slow request");
    std::thread::sleep(Duration::from_millis(1200));
    let before = notify.count("WATCHDOG=1");
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        notify.count("WATCHDOG=1") > before,
        "pings while the slow source is fetched: {:?}",
        notify.all()
    );
    stop(child);
}

#[test]
// The stall hook is honoured by debug builds only.
#[cfg_attr(not(debug_assertions), ignore)]
fn a_stalled_scheduler_loop_stops_the_watchdog_pings() {
    let server = Server::start(|_| Reply::html("<main><p>statement</p></main>"));
    let h = Harness::new(&every_second(&server, &["a"]));
    let notify = NotifySocket::bind(h.dir.path());
    let child = daemon(
        &h,
        Some(&notify),
        &[
            ("WATCHDOG_USEC", "1000000"),
            ("SCOPEWATCH_TEST_STALL_AFTER_SWEEPS", "1"),
        ],
    );
    wait_until(|| server.hits("/a") >= 1, "the first sweep");
    notify.wait_for("WATCHDOG=1", 1);
    // After the stall, the heartbeat ages past the interval and pings stop.
    std::thread::sleep(Duration::from_millis(1500));
    let before = notify.count("WATCHDOG=1");
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(
        notify.count("WATCHDOG=1"),
        before,
        "no pings while the loop is stuck"
    );
    assert_eq!(server.hits("/a"), 1);
    stop(child);
}
