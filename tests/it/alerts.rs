//! Alerts end to end, with real receivers on loopback started by the
//! tests: a webhook receiver that checks the HMAC, an SMTP server, a
//! receiver that is down then up, a process killed between enqueue and
//! delivery, a receiver that hangs, and failing / reminder / recovered.

use crate::common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::smtp::SmtpServer;
use common::{FAST_HTTP, Harness, corpus_versions, html_source};
use scopewatch::alert::channel::sign;
use scopewatch::demo::site;
use scopewatch::detect::EventKind;
use scopewatch::store::{DeliveryState, EventFilter};

const BOT: &str = "azure-bot-service-compliance";
const SECRET: &str = "hook-secret-4711";

/// The site serves `pages[phase]`; the test moves the phase.
fn site_in_phases(pages: Vec<String>) -> (Server, Arc<AtomicUsize>) {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server = Server::start(move |_| {
        let i = p.load(Ordering::SeqCst).min(pages.len() - 1);
        Reply::html(site::render(&pages[i]))
    });
    (server, phase)
}

fn two_versions() -> Vec<String> {
    let versions = corpus_versions(BOT);
    let pick = |date: &str| {
        versions
            .iter()
            .find(|(name, _)| name.starts_with(date))
            .unwrap()
            .1
            .clone()
    };
    vec![pick("2021-06-18"), pick("2021-08-09")]
}

/// A webhook receiver that accepts (204) only bodies signed with `SECRET`.
fn hmac_checking_receiver() -> Server {
    Server::start(|req| {
        let signature = req.header("x-scopewatch-signature").unwrap_or("");
        if signature == format!("sha256={}", sign(SECRET.as_bytes(), &req.body)) {
            Reply::status(204)
        } else {
            Reply::status(401)
        }
    })
}

fn webhook(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[alert]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n{extra}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_gets_the_scope_change_of_a_watched_service() {
    let (site, phase) = site_in_phases(two_versions());
    let hook = hmac_checking_receiver();
    let h = Harness::new(&format!(
        "[scope]\nwatch = [\"Azure Bot Service\"]\n{FAST_HTTP}{}\
         [source.scope]\nkind = \"certifications\"\nservice = \"Azure Bot Service\"\n{}",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "hook",
            &hook.url("/hook"),
            "events = [\"scope\"]\nseverity = \"high\"\nservices = [\"Azure Bot Service\"]"
        )
    ));
    h.sweep().await;
    phase.store(1, Ordering::SeqCst);
    h.sweep().await;
    let report = h.dispatch().await;
    assert_eq!(
        report.delivered, 1,
        "only the scope event passes the filters: {report:?}"
    );
    let body: serde_json::Value = serde_json::from_slice(&hook.requests()[0].body).unwrap();
    assert_eq!(body["kind"], "scope");
    assert_eq!(body["severity"], "high");
    let bot = "Azure Bot Service";
    assert_eq!(
        body["scope"]["added"],
        serde_json::json!([
            {"certification": "Chapter 508", "service": bot},
            {"certification": "EN 301 549", "service": bot},
            {"certification": "WCAG 2.1", "service": bot}
        ])
    );
    assert_eq!(
        body["scope"]["removed"],
        serde_json::json!([{"certification": "WCAG 2.0", "service": bot}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_webhook_is_trusted_through_ca_file_and_refused_without_it() {
    let (site, _) = site_in_phases(two_versions());
    let hook = Server::start_https(&[&rustls::version::TLS13], |_| Reply::status(204));
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    std::fs::write(&ca, &hook.tls.as_ref().unwrap().ca_pem).unwrap();
    for (trusted, delivered) in [(true, 1), (false, 0)] {
        let ca_file = if trusted {
            format!("ca_file = \"{}\"\n", ca.display())
        } else {
            String::new()
        };
        let h = Harness::new(&format!(
            "{FAST_HTTP}{ca_file}{}{}",
            html_source("bot", &site.url("/bot"), ""),
            webhook(
                "hook",
                &hook.url("/hook"),
                "events = [\"baseline\"]\nmax_attempts = 1"
            )
        ));
        h.sweep().await;
        let report = h.dispatch().await;
        assert_eq!(report.delivered, delivered, "trusted {trusted}: {report:?}");
    }
    assert_eq!(hook.requests().len(), 1, "the untrusted one never sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_gets_signed_documented_json_for_a_content_change() {
    let (site, phase) = site_in_phases(two_versions());
    let hook = hmac_checking_receiver();
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}",
        html_source("bot", &site.url("/bot"), ""),
        webhook("hook", &hook.url("/hook"), "")
    ));
    h.sweep().await;
    assert_eq!(
        h.dispatch().await.delivered,
        0,
        "a baseline is not alerted by default"
    );
    phase.store(1, Ordering::SeqCst);
    h.sweep().await;
    let report = h.dispatch().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["schema"], "scopewatch.alert/v1");
    assert_eq!(body["kind"], "content");
    assert_eq!(body["severity"], "medium");
    assert_eq!(body["source"]["id"], "bot");
    assert_eq!(body["source"]["url"], site.url("/bot"));
    assert_eq!(req.header("idempotency-key").unwrap(), body["delivery_id"]);
    assert!(
        body["summary"]
            .as_str()
            .unwrap()
            .starts_with("content changed")
    );
    assert!(
        body["diff"]["excerpt"]
            .as_str()
            .unwrap()
            .contains("+| CSA STAR Certification")
    );
    assert_eq!(body["diff"]["truncated"], false);
    assert_eq!(body["snapshots"]["from"]["id"], 1);
    assert_eq!(body["snapshots"]["to"]["id"], 2);
    let history = h.store().history("bot", 1).unwrap();
    assert_eq!(
        body["snapshots"]["to"]["text_sha256"],
        history[0].text_hash.clone().unwrap()
    );
    for key in ["added", "removed", "renamed"] {
        assert!(body["scope"][key].is_array());
    }
    assert!(body["detected_at"].as_str().unwrap().ends_with('Z'));
    let stored = h.store().deliveries(Some(DeliveryState::Done)).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, body["delivery_id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_server_on_loopback_receives_the_mail() {
    let smtp = SmtpServer::start().await;
    let (site, phase) = site_in_phases(two_versions());
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}[[alert]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"scopewatch@example.com\"\nto = [\"grc@example.com\"]\n",
        html_source("bot", &site.url("/bot"), ""),
        smtp.port
    ));
    h.sweep().await;
    phase.store(1, Ordering::SeqCst);
    h.sweep().await;
    let report = h.dispatch().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    let id = h.store().deliveries(None).unwrap()[0].id.clone();
    let messages = smtp.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert!(
        mail.contains(&format!("Message-ID: <{id}@scopewatch>")),
        "{mail}"
    );
    assert!(mail.contains("Subject: [scopewatch] content bot"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_is_required_not_downgraded() {
    // The loopback server offers no STARTTLS: the mail must not go out in clear.
    let smtp = SmtpServer::start().await;
    let (site, _) = site_in_phases(two_versions());
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}[[alert]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"starttls\"\nusername = \"u\"\npassword = \"smtp-pass-31337\"\nfrom = \"scopewatch@example.com\"\nto = [\"grc@example.com\"]\nevents = [\"baseline\"]\n",
        html_source("bot", &site.url("/bot"), ""),
        smtp.port
    ));
    h.sweep().await;
    let report = h.dispatch().await;
    assert_eq!(report.retrying, 1, "{report:?}");
    assert!(smtp.messages.lock().unwrap().is_empty());
    let row = &h.store().deliveries(None).unwrap()[0];
    let error = row.last_error.clone().unwrap();
    assert!(!error.contains("smtp-pass-31337"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_down_then_up_gets_each_delivery_once_with_one_id() {
    let (site, _) = site_in_phases(two_versions());
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let hook = Server::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "hook",
            &hook.url("/hook"),
            "events = [\"baseline\"]\nbackoff = \"50ms\"\nbackoff_max = \"100ms\"\nmax_attempts = 5"
        )
    ));
    h.sweep().await;
    let mut reports = Vec::new();
    for _ in 0..6 {
        reports.push(h.dispatch().await);
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let delivered: usize = reports.iter().map(|r| r.delivered).sum();
    let retried: usize = reports.iter().map(|r| r.retrying).sum();
    assert_eq!((delivered, retried), (1, 2), "{reports:?}");
    let keys: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == keys[0]));
    let row = &h.store().deliveries(None).unwrap()[0];
    assert_eq!(
        (row.state.as_str(), row.attempts, row.id.as_str()),
        ("done", 3, keys[0].as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_for_good_raises_alert_failed_on_the_other_channels() {
    let (site, _) = site_in_phases(two_versions());
    let hook = Server::start(|_| Reply::status(500));
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}[[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"alerts.jsonl\"\nevents = [\"alert-failed\"]\n",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "hook",
            &hook.url("/hook"),
            "events = [\"baseline\"]\nbackoff = \"1ms\"\nmax_attempts = 2"
        )
    ));
    let jsonl = h.dir.path().join("alerts.jsonl");
    h.sweep().await;
    let first = h.dispatch().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = h.dispatch().await;
    assert_eq!(
        (first.retrying, second.failed),
        (1, 1),
        "{first:?} {second:?}"
    );
    let third = h.dispatch().await;
    assert_eq!(
        third.delivered, 1,
        "the alert-failed event reaches the file channel"
    );
    let failed = h.store().deliveries(Some(DeliveryState::Failed)).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 500")
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&jsonl).unwrap().trim()).unwrap();
    assert_eq!(line["kind"], "alert-failed");
    assert!(line["summary"].as_str().unwrap().contains(&failed[0].id));
    assert_eq!(
        hook.requests().len(),
        2,
        "the failed channel is not told about itself"
    );

    // Each outcome is a ledger leaf (a retry is not), and so is the
    // alert-failed event; verify accepts them.
    let store = scopewatch::store::Store::open_reader(&h.db_path()).unwrap();
    let leaves: Vec<serde_json::Value> = scopewatch::ledger::entries(&store, 0, i64::MAX)
        .unwrap()
        .iter()
        .map(|entry| serde_json::from_str(&entry.leaf).unwrap())
        .collect();
    let deliveries: Vec<(&str, &str, i64)> = leaves
        .iter()
        .filter(|leaf| leaf["type"] == "alert-delivery")
        .map(|leaf| {
            (
                leaf["channel"].as_str().unwrap(),
                leaf["state"].as_str().unwrap(),
                leaf["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(deliveries, [("hook", "failed", 2), ("siem", "done", 1)]);
    let hook_leaf = leaves
        .iter()
        .find(|leaf| leaf["channel"] == "hook")
        .unwrap();
    assert_eq!(hook_leaf["delivery_id"], failed[0].id.as_str());
    assert!(hook_leaf["error"].as_str().unwrap().contains("HTTP 500"));
    assert!(
        leaves
            .iter()
            .any(|leaf| leaf["type"] == "event" && leaf["kind"] == "alert-failed")
    );
    // The sweep signed a checkpoint, as `check` does: verified with its key.
    let key = scopewatch::evidence::Signer::locate(None, &h.db_path())
        .unwrap()
        .verifying_key();
    let verified = scopewatch::evidence::verify::verify_store(
        &h.store(),
        Some((&key, scopewatch::evidence::verify::KeyOrigin::SigningKey)),
        None,
    )
    .unwrap();
    assert!(
        verified.findings.iter().all(|f| f.info),
        "{:?}",
        verified.findings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_whose_result_is_not_recorded_stays_pending_alone() {
    let (site, _) = site_in_phases(two_versions());
    let chat = Server::start(|_| Reply::status(200));
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}{}",
        html_source("a", &site.url("/a"), ""),
        html_source("b", &site.url("/b"), ""),
        webhook(
            "digest",
            &chat.url("/digest"),
            "events = [\"baseline\"]\ndigest = true"
        ),
    ));
    h.sweep().await;
    let mut pending = h.store().deliveries(Some(DeliveryState::Pending)).unwrap();
    assert_eq!(pending.len(), 2);
    // The first of the digest's results to be recorded is refused (its
    // claim is not: an attempt counted is a result).
    pending.sort_by(|x, y| (&x.created_at, &x.id).cmp(&(&y.created_at, &y.id)));
    let refused = pending[0].id.clone();
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER refuse AFTER UPDATE ON outbox
         WHEN NEW.id = '{refused}' AND NEW.attempts <> OLD.attempts
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ))
    .unwrap();

    // Both go out in one message; the other's result is still recorded.
    h.dispatch().await;
    let still: Vec<String> = h
        .store()
        .deliveries(Some(DeliveryState::Pending))
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(still, std::slice::from_ref(&refused));
    assert_eq!(
        h.store()
            .deliveries(Some(DeliveryState::Done))
            .unwrap()
            .len(),
        1
    );

    // Its claim holds until its lease runs out: no other sender takes it
    // meanwhile. Then, once it can be recorded, it is sent again, alone and
    // with the same id.
    conn.execute_batch("DROP TRIGGER refuse").unwrap();
    h.dispatch().await;
    assert_eq!(hook_bodies(&chat).len(), 1, "sent again within the lease");
    expire_leases(&conn);
    h.dispatch().await;
    let sent: Vec<Vec<String>> = hook_bodies(&chat)
        .iter()
        .map(|(_, body)| match body["alerts"].as_array() {
            Some(alerts) => alerts
                .iter()
                .map(|a| a["delivery_id"].as_str().unwrap().to_string())
                .collect(),
            None => vec![body["delivery_id"].as_str().unwrap().to_string()],
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].len(), 2);
    assert_eq!(sent[1], [refused]);
    assert!(
        h.store()
            .deliveries(Some(DeliveryState::Pending))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_after_exactly_fail_after_then_a_reminder_then_recovered() {
    let page = corpus_versions(BOT)[0].1.clone();
    let down = Arc::new(AtomicBool::new(false));
    let d = down.clone();
    let site = Server::start(move |_| {
        if d.load(Ordering::SeqCst) {
            Reply::status(500)
        } else {
            Reply::html(site::render(&page))
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}[[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"alerts.jsonl\"\n",
        html_source(
            "bot",
            &site.url("/bot"),
            "fail_after = 2\nremind_every = \"1ms\""
        )
    ));
    let jsonl = h.dir.path().join("alerts.jsonl");
    let mut kinds_after_each = Vec::new();
    for fail in [false, true, true, true, false] {
        down.store(fail, Ordering::SeqCst);
        let report = h.sweep().await;
        kinds_after_each.push(
            report.outcomes[0]
                .events
                .iter()
                .map(|e| e.kind.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        h.dispatch().await;
    }
    assert_eq!(
        kinds_after_each,
        ["baseline", "", "failing", "failing-reminder", "recovered"]
    );
    let lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(lines, ["failing", "failing-reminder", "recovered"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn attestation_expiry_reminds_once_per_threshold() {
    let page = corpus_versions(BOT)[0].1.clone();
    let site = Server::start(move |_| Reply::html(site::render(&page)));
    let expires = (scopewatch::clock::now() + chrono::Duration::days(20)).date_naive();
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}\n[source.attestation]\nexpires = \"{expires}\"\n",
        html_source("bot", &site.url("/bot"), "")
    ));
    h.sweep().await;
    h.sweep().await;
    let events = h
        .store()
        .events(&EventFilter {
            kinds: vec![EventKind::AttestationExpiry],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0]
            .summary
            .contains("20 days left (reminder at 30 days)"),
        "{}",
        events[0].summary
    );
}

fn scopewatch(h: &Harness) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scopewatch"));
    command
        .arg("--config")
        .arg(h.config_path())
        .env_remove("SCOPEWATCH_CONFIG")
        .env_remove("STATE_DIRECTORY");
    command
}

/// Moves every delivery claim's lease into the past, as if its time had run.
fn expire_leases(conn: &rusqlite::Connection) {
    conn.execute(
        "UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z' WHERE lease_until IS NOT NULL",
        [],
    )
    .unwrap();
}

#[test]
fn killed_between_enqueue_and_delivery_delivers_after_restart_with_the_same_id() {
    let (site, _) = site_in_phases(two_versions());
    let up = Arc::new(AtomicBool::new(false));
    let u = up.clone();
    let hook = Server::start(move |_| {
        if u.load(Ordering::SeqCst) {
            Reply::status(200)
        } else {
            Reply::Stall(Duration::from_secs(60))
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "hook",
            &hook.url("/hook"),
            "events = [\"baseline\"]\ntimeout = \"60s\""
        )
    ));
    let mut child = scopewatch(&h)
        .arg("check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while hook.requests().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the delivery never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let pending = h.store().deliveries(Some(DeliveryState::Pending)).unwrap();
    assert_eq!(pending.len(), 1);
    up.store(true, Ordering::SeqCst);
    // The killed sender's claim holds until its lease runs out (the
    // channel's timeout and a margin): a check meanwhile leaves it alone.
    let out = scopewatch(&h).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(hook.requests().len(), 1, "sent again within the lease");
    expire_leases(&rusqlite::Connection::open(h.db_path()).unwrap());
    let out = scopewatch(&h).arg("check").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = h.store().deliveries(Some(DeliveryState::Done)).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, pending[0].id);
    let keys: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys, [pending[0].id.clone(), pending[0].id.clone()]);
}

#[test]
fn a_hanging_receiver_delays_neither_sweeps_nor_other_deliveries() {
    let (site, phase) = site_in_phases(two_versions());
    let hook = Server::start(|_| Reply::Stall(Duration::from_secs(30)));
    let h = Harness::new(&format!(
        "[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n{FAST_HTTP}{}{}\
         [[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"alerts.jsonl\"\nevents = [\"content\"]\n",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "hook",
            &hook.url("/hook"),
            "events = [\"baseline\"]\ntimeout = \"30s\""
        )
    ));
    let mut child = scopewatch(&h)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    phase.store(1, Ordering::SeqCst); // a content change while the hook hangs
    std::thread::sleep(Duration::from_millis(3000));
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let stopping = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "a hanging delivery delays the stop"
    );
    assert_eq!(hook.requests().len(), 1, "the delivery hung the whole time");
    let sweeps = h.store().history("bot", 100).unwrap().len();
    assert!(
        sweeps >= 3,
        "only {sweeps} sweeps in 4.5 s while the receiver hung"
    );
    let lines = std::fs::read_to_string(h.dir.path().join("alerts.jsonl")).unwrap();
    assert!(lines.contains("\"kind\":\"content\""), "{lines}");
    let pending = h.store().deliveries(Some(DeliveryState::Pending)).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the hanging delivery stays pending for the next start"
    );
}

#[test]
fn alerts_cli_lists_failed_deliveries_and_tests_channels() {
    let (site, _) = site_in_phases(two_versions());
    let hook = Server::start(|_| Reply::status(500));
    let ok = Server::start(|_| Reply::status(200));
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}{}",
        html_source("bot", &site.url("/bot"), ""),
        webhook(
            "broken",
            &hook.url("/hook"),
            "events = [\"baseline\"]\nmax_attempts = 1"
        ),
        webhook("fine", &ok.url("/hook"), "events = [\"alert-test\"]")
    ));
    let out = scopewatch(&h).arg("check").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = scopewatch(&h)
        .args(["alerts", "--failed", "--json"])
        .output()
        .unwrap();
    let failed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["channel"], "broken");
    assert_eq!(failed[0]["state"], "failed");
    assert_eq!(failed[0]["event_kind"], "baseline");
    let pending = scopewatch(&h)
        .args(["alerts", "--pending", "--json"])
        .output()
        .unwrap();
    let pending: serde_json::Value = serde_json::from_slice(&pending.stdout).unwrap();
    assert!(pending.as_array().unwrap().is_empty(), "{pending}");

    let out = scopewatch(&h).args(["alerts", "test"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("broken (webhook): not accepted: the receiver answered HTTP 500"),
        "{text}"
    );
    assert!(text.contains("fine (webhook): accepted"), "{text}");
    let out = scopewatch(&h)
        .args(["alerts", "test", "--channel", "fine"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A test alert is sent as real deliveries are, scopewatch's User-Agent
    // included.
    let agents: Vec<Option<String>> = ok
        .requests()
        .iter()
        .map(|r| r.header("user-agent").map(str::to_string))
        .collect();
    assert!(
        !agents.is_empty()
            && agents
                .iter()
                .all(|a| a.as_deref().is_some_and(|a| a.starts_with("scopewatch/"))),
        "{agents:?}"
    );
    let out = scopewatch(&h)
        .args(["alerts", "test", "--channel", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn secrets_never_reach_output_errors_or_debug() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("slack-url");
    std::fs::write(
        &secret_file,
        "http://127.0.0.1:9/services/T000/B000/slacktoken123\n",
    )
    .unwrap();
    let config_path = dir.path().join("scopewatch.toml");
    std::fs::write(
        &config_path,
        format!(
            "[storage]\ndatabase = \"sw.db\"\n\
             [[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook?token=${{SW_TEST_URL_TOKEN}}\"\nsecret = \"${{SW_TEST_HMAC}}\"\nheaders = {{ Authorization = \"Bearer ${{SW_TEST_BEARER}}\" }}\n\
             [[alert]]\nname = \"chat\"\nkind = \"slack\"\nsecret_file = \"{}\"\n",
            secret_file.display()
        ),
    )
    .unwrap();
    let scopewatch = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scopewatch"));
        command.arg("--config").arg(&config_path);
        command
    };
    let envs = [
        ("SW_TEST_URL_TOKEN", "urltoken456"),
        ("SW_TEST_HMAC", "hmacsecret789"),
        ("SW_TEST_BEARER", "bearer000"),
    ];
    let secrets = ["slacktoken123", "urltoken456", "hmacsecret789", "bearer000"];
    let run = |args: &[&str]| {
        let out = scopewatch().args(args).envs(envs).output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    for args in [&["config", "check"][..], &["alerts", "test"][..]] {
        let text = run(args);
        assert!(text.contains("hook"), "{text}");
        for secret in secrets {
            assert!(!text.contains(secret), "{args:?} printed {secret}: {text}");
        }
    }
    // A missing variable is named, and nothing else leaks.
    let out = scopewatch().args(["config", "check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(text.contains("SW_TEST_URL_TOKEN is not set"), "{text}");
    // Debug output of the validated configuration.
    let config = {
        let text = std::fs::read_to_string(&config_path)
            .unwrap()
            .replace("${SW_TEST_URL_TOKEN}", "urltoken456")
            .replace("${SW_TEST_HMAC}", "hmacsecret789")
            .replace("${SW_TEST_BEARER}", "bearer000");
        scopewatch::config::parse(&text, &config_path).unwrap()
    };
    let debug = format!("{config:?}");
    for secret in secrets {
        assert!(!debug.contains(secret), "Debug shows {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_answers_410_raises_gone_once() {
    let page = corpus_versions(BOT)[0].1.clone();
    let gone = Arc::new(AtomicBool::new(false));
    let g = gone.clone();
    let site = Server::start(move |_| {
        if g.load(Ordering::SeqCst) {
            Reply::status(410)
        } else {
            Reply::html(site::render(&page))
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}",
        html_source("bot", &site.url("/bot"), "fail_after = 5")
    ));
    h.sweep().await;
    gone.store(true, Ordering::SeqCst);
    h.sweep().await;
    h.sweep().await;
    let events = h
        .store()
        .events(&EventFilter {
            kinds: vec![EventKind::Gone],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].summary.contains("HTTP 410"));
    let deliveries = h.store().deliveries(None).unwrap();
    assert_eq!(deliveries.len(), 1, "the default log channel gets it");
    assert_eq!(
        (
            deliveries[0].channel.as_str(),
            deliveries[0].event_kind.as_str()
        ),
        ("log", "gone")
    );
    assert_eq!(h.dispatch().await.delivered, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn digest_slack_teams_and_command_channels() {
    let (site, _) = site_in_phases(two_versions());
    let chat = Server::start(|_| Reply::status(200));
    let out_dir = tempfile::tempdir().unwrap();
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}{}{}\
         [[alert]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"{}\"\nevents = [\"baseline\"]\n\
         [[alert]]\nname = \"teams\"\nkind = \"teams\"\nurl = \"{}\"\nevents = [\"baseline\"]\n\
         [[alert]]\nname = \"tee\"\nkind = \"command\"\ncommand = [\"tee\", \"{}\"]\nevents = [\"baseline\"]\n",
        html_source("a", &site.url("/a"), ""),
        html_source("b", &site.url("/b"), ""),
        webhook(
            "digest",
            &chat.url("/digest"),
            "events = [\"baseline\"]\ndigest = true"
        ),
        chat.url("/slack"),
        chat.url("/teams"),
        out_dir.path().join("out.json").display(),
    ));
    h.sweep().await;
    let report = h.dispatch().await;
    assert_eq!(report.delivered, 8, "{report:?}");
    let requests = hook_bodies(&chat);
    let digests: Vec<_> = requests.iter().filter(|(p, _)| p == "/digest").collect();
    assert_eq!(digests.len(), 1, "one digest message for the sweep");
    assert_eq!(digests[0].1["digest"], true);
    assert_eq!(digests[0].1["alerts"].as_array().unwrap().len(), 2);
    let slack: Vec<_> = requests.iter().filter(|(p, _)| p == "/slack").collect();
    assert_eq!(slack.len(), 2);
    assert!(
        slack[0].1["text"]
            .as_str()
            .unwrap()
            .starts_with("[scopewatch] baseline")
    );
    assert_eq!(slack[0].1["blocks"][0]["type"], "section");
    let teams: Vec<_> = requests.iter().filter(|(p, _)| p == "/teams").collect();
    assert_eq!(
        teams[0].1["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );
    let out_path = h.config.alerts.iter().find_map(|c| match &c.kind {
        scopewatch::alert::ChannelKind::Command { argv, .. } => Some(argv[1].clone()),
        _ => None,
    });
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_path.unwrap()).unwrap()).unwrap();
    assert_eq!(written["schema"], "scopewatch.alert/v1");
    assert_eq!(written["kind"], "baseline");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_channel_gets_a_clean_environment() {
    // cargo and nextest set these for the test process, and so for the
    // scopewatch code running in it.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
    let (site, _) = site_in_phases(two_versions());
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("env.txt");
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}\
         [[alert]]\nname = \"env\"\nkind = \"command\"\n\
         command = [\"/bin/sh\", \"-c\", \"env > {}\"]\nenv = [\"CARGO_PKG_NAME\"]\n\
         events = [\"baseline\"]\n",
        html_source("a", &site.url("/a"), ""),
        out.display(),
    ));
    h.sweep().await;
    assert_eq!(h.dispatch().await.delivered, 1);
    let env = std::fs::read_to_string(&out).unwrap();
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"SCOPEWATCH_DELIVERY_ID"), "{names:?}");
    assert!(names.contains(&"PATH"), "{names:?}");
    assert!(!names.contains(&"CARGO_MANIFEST_DIR"), "{names:?}");
    // What the channel's `env` names is passed on.
    assert!(names.contains(&"CARGO_PKG_NAME"), "{names:?}");
}

fn hook_bodies(server: &Server) -> Vec<(String, serde_json::Value)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.path.clone(), serde_json::from_slice(&r.body).unwrap()))
        .collect()
}
