//! Full disks and concurrent use. A `scopewatch check` whose writes fail
//! for lack of space (RLIMIT_FSIZE on the child, SIGXFSZ ignored so that
//! write(2) returns EFBIG as on a full disk) says so clearly, leaves the
//! store whole, and the next check with space back records again. CLI
//! readers running while the daemon writes never see "database is locked".

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};

fn scopewatch(config: &Path, args: &[&str]) -> Command {
    let mut command = common::scopewatch_command(config);
    command.args(args);
    command
}

/// `check`, unable to grow any file past `limit` bytes.
fn check_with_file_size_limit(config: &Path, limit: u64) -> Output {
    let mut command = scopewatch(config, &["check"]);
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between
    // fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().unwrap()
}

fn record_count(h: &Harness) -> usize {
    ["a", "b"]
        .iter()
        .map(|id| h.store().history(id, 10_000).unwrap().len())
        .sum()
}

/// A page of `size` bytes whose text is new on every request.
fn changing_pages(size: usize) -> Server {
    let served = AtomicUsize::new(0);
    Server::start(move |_| {
        let n = served.fetch_add(1, Ordering::SeqCst);
        let mut rng = fastrand::Rng::with_seed(n as u64);
        let words: Vec<String> = (0..size / 8)
            .map(|_| format!("{:x}", rng.u32(..)))
            .collect();
        Reply::html(format!("<main><p>{}</p></main>", words.join(" ")))
    })
}

#[test]
fn a_full_disk_is_a_clear_error_the_store_stays_whole_and_work_resumes() {
    let server = changing_pages(400_000);
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"a\"\nurl = \"{}\"\n[[source]]\nid = \"b\"\nurl = \"{}\"\n",
        server.url("/a"),
        server.url("/b")
    ));
    let first = scopewatch(&h.config_path(), &["check"]).output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(record_count(&h), 2);
    // Files may not grow past 100 kB: the database (larger already) and its
    // WAL can be read and take small writes, not a 400 kB page.
    let full = check_with_file_size_limit(&h.config_path(), 100 * 1024);
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write the database: the disk is full"),
        "the error says the disk is full: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(record_count(&h), 2, "no partial record");
    assert!(h.store().verify_chain().unwrap().is_empty());

    let resumed = scopewatch(&h.config_path(), &["check"]).output().unwrap();
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(record_count(&h), 4, "work resumes when space is back");
    assert!(h.store().verify_chain().unwrap().is_empty());
    let verify = scopewatch(&h.config_path(), &["verify"]).output().unwrap();
    assert_eq!(verify.status.code(), Some(0));
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // Regression: the schema version was read outside the migration's
    // lock, so a reader opening a new database while the daemon created
    // it failed with "table sources already exists".
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("scopewatch.db");
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || scopewatch::store::Store::open(&db).map(drop))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}

#[test]
fn readers_never_see_database_is_locked_while_the_daemon_writes() {
    let server = changing_pages(50_000);
    let h = Harness::new(&format!(
        "[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n{FAST_HTTP}[[source]]\nid = \"a\"\nurl = \"{}\"\n[[source]]\nid = \"b\"\nurl = \"{}\"\n",
        server.url("/a"),
        server.url("/b")
    ));
    let mut daemon = scopewatch(&h.config_path(), &["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !h.db_path().exists() || record_count(&h) == 0 {
        assert!(Instant::now() < deadline, "the daemon never wrote");
        std::thread::sleep(Duration::from_millis(50));
    }
    let reads = [
        vec!["sources", "--json"],
        vec!["history", "a", "--json"],
        vec!["changes", "--json"],
        vec!["verify"],
    ];
    let until = Instant::now() + Duration::from_secs(6);
    let mut runs = 0;
    while Instant::now() < until {
        for args in &reads {
            let out = scopewatch(&h.config_path(), args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("locked"), "{args:?}: {stderr}");
            assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
            runs += 1;
        }
    }
    // SAFETY: kill(2) with our child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    assert!(record_count(&h) >= 4, "the daemon kept writing meanwhile");
    println!("FIGURE concurrent-reads {runs}");
}
