//! One sender per alert delivery: two processes delivering from the same
//! database at once (two `check`s, as a `check` beside the daemon) send each
//! delivery exactly once, to a counting webhook receiver and through a
//! command channel, because each claims a delivery with a lease before it
//! sends it.

use crate::common;

use std::collections::HashMap;
use std::process::Stdio;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch_command};
use scopewatch::store::DeliveryState;

const SOURCES: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_delivering_at_once_send_each_delivery_once() {
    let site = Server::start(|req| {
        Reply::html(format!(
            "<main><h1>Page {}</h1><p>ISO/IEC 27001</p></main>",
            req.path
        ))
    });
    let hook = Server::start(|_| Reply::status(204));
    let out = tempfile::tempdir().unwrap();
    let ids_file = out.path().join("command-deliveries.txt");
    let sources = sources_on(&site, SOURCES);
    // The command takes a moment, as a real one would: the two processes'
    // rounds overlap for certain.
    let h = Harness::new(&format!(
        "{FAST_HTTP}{sources}\
         [[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nevents = [\"baseline\"]\n\
         [[alert]]\nname = \"cmd\"\nkind = \"command\"\nevents = [\"baseline\"]\n\
         command = [\"sh\", \"-c\", \"cat >/dev/null; sleep 0.2; echo $SCOPEWATCH_DELIVERY_ID >> {}\"]\n",
        hook.url("/hook"),
        ids_file.display(),
    ));
    h.sweep().await;
    let pending = h.store().deliveries(Some(DeliveryState::Pending)).unwrap();
    assert_eq!(pending.len(), 2 * SOURCES);

    // Each `check` fetches one (unchanged) page, then delivers what is due.
    let checks: Vec<_> = ["s0", "s1"]
        .iter()
        .map(|source| {
            scopewatch_command(&h.config_path())
                .args(["check", "--source", source])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for check in checks {
        let output = check.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let mut sent: HashMap<String, usize> = HashMap::new();
    for request in hook.requests() {
        *sent
            .entry(request.header("idempotency-key").unwrap().to_string())
            .or_default() += 1;
    }
    for line in std::fs::read_to_string(&ids_file).unwrap().lines() {
        *sent.entry(line.to_string()).or_default() += 1;
    }
    let twice: Vec<(&String, &usize)> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} of {} deliveries sent more than once: {twice:?}",
        twice.len(),
        sent.len()
    );
    assert_eq!(sent.len(), 2 * SOURCES, "every delivery sent");
    let done = h.store().deliveries(Some(DeliveryState::Done)).unwrap();
    assert_eq!(done.len(), 2 * SOURCES);
}

/// While results cannot be recorded (a full disk did this: 29 deliveries
/// sent 13 times each in 12 s), the daemon does not send a delivery again
/// at every poll: its claim holds, and it waits a backoff after that.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_whose_result_cannot_be_recorded_is_not_sent_every_second() {
    let site = Server::start(|req| {
        Reply::html(format!(
            "<main><h1>Page {}</h1><p>ISO/IEC 27001</p></main>",
            req.path
        ))
    });
    let hook = Server::start(|_| Reply::status(204));
    let sources = sources_on(&site, 5);
    let h = Harness::new(&format!(
        "[daemon]\nschedule = \"0 0 1 1 *\"\n{FAST_HTTP}{sources}\
         [[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nevents = [\"baseline\"]\n\
         backoff = \"1s\"\n",
        hook.url("/hook"),
    ));
    h.sweep().await;
    rusqlite::Connection::open(h.db_path())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_results AFTER UPDATE ON outbox WHEN NEW.attempts <> OLD.attempts
             BEGIN SELECT RAISE(ABORT, 'the disk is full (the test says)'); END",
        )
        .unwrap();
    let daemon = scopewatch_command(&h.config_path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Six polls of the outbox.
    std::thread::sleep(std::time::Duration::from_secs(6));
    common::signal(&daemon, libc::SIGTERM);
    common::exit_within(
        daemon,
        std::time::Duration::from_secs(20),
        "the daemon did not stop",
    );

    let mut sent: HashMap<String, usize> = HashMap::new();
    for request in hook.requests() {
        *sent
            .entry(request.header("idempotency-key").unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(
        sent.values().all(|n| *n == 1),
        "sent again while unrecorded: {sent:?}"
    );
    let pending = h.store().deliveries(Some(DeliveryState::Pending)).unwrap();
    assert_eq!(pending.len(), 5, "no result was recorded");
}

/// `count` sources `s0`, `s1`, … on `site`'s pages `/s0`, `/s1`, ….
fn sources_on(site: &Server, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "[[source]]\nid = \"s{i}\"\nurl = \"{}\"\n",
                site.url(&format!("/s{i}"))
            )
        })
        .collect()
}
