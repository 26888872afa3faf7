//! Pages built to exhaust the extractor, served on loopback: a formatting
//! bomb (few tags, millions of nodes once the parser re-opens them), a flat
//! page of 2.6 million paragraphs, one element with 400,000 attributes,
//! PDFs whose content stream inflates to too many operators for one page or
//! to tens of MiB of them, and an
//! input no cap foresees (stopped by the extraction process's memory
//! ceiling). Each is an ordinary failed attempt (`extraction-limit`, the
//! body kept) beside a healthy source that is recorded as usual, with the
//! peak memory of the whole `check` (its extraction processes included)
//! under 150 MB. A daemon on such a page records failures and alerts
//! `failing` instead of dying; a process killed while it extracts a page is
//! remembered: the next start records `crashed` instead of fetching the page
//! again at once, and two such crashes quarantine it and alert. The bombs
//! are generated here, small.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, Measured};

const HEALTHY: &str = "<main><h1>ISO/IEC 27001</h1><p>Azure is in scope.</p></main>";

/// `<div>`, 1,900 distinct `<b id=N>` left open, `</div>`, then
/// `paragraphs` paragraphs: the parser re-opens the 1,900 in each one.
fn formatting_bomb(paragraphs: usize) -> Vec<u8> {
    let mut page = String::from("<html><body><div>");
    for i in 0..1_900 {
        page.push_str(&format!("<b id={i}>"));
    }
    page.push_str("</div>");
    page.push_str(&"<p>x</p>".repeat(paragraphs));
    page.push_str("</body></html>");
    page.into_bytes()
}

/// 2.6 million paragraphs: 20.8 MB, under the default `max_body`.
fn flat_page() -> Vec<u8> {
    let mut page = b"<html><body>".to_vec();
    page.extend_from_slice(&b"<p>x</p>".repeat(2_600_000));
    page.extend_from_slice(b"</body></html>");
    page
}

/// One element with 400,000 attributes (4.4 MB).
fn attribute_page() -> Vec<u8> {
    let mut page = b"<html><body><div".to_vec();
    for i in 0..400_000 {
        write!(page, " a{i}=x").unwrap();
    }
    page.extend_from_slice(b">x</div></body></html>");
    page
}

/// A one-page PDF whose content stream is `operators` `q` operators (two
/// bytes each), deflated (about 1 KB per MiB).
fn pdf_bomb(operators: usize) -> Vec<u8> {
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = b"q\n".repeat(1 << 16);
    for _ in 0..operators >> 16 {
        deflate.write_all(&block).unwrap();
    }
    deflate
        .write_all(&block[..2 * (operators & 0xffff)])
        .unwrap();
    let content = deflate.finish().unwrap();
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        content.len()
    )
    .into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"\nendstream");
    let objects: [&[u8]; 5] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        &stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        writeln!(pdf, "{} 0 obj", i + 1).unwrap();
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    write!(pdf, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for offset in offsets {
        writeln!(pdf, "{offset:010} 00000 n ").unwrap();
    }
    write!(
        pdf,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    pdf
}

/// A JSON array of six million empty arrays (18 MB): no cap counts JSON
/// values, and parsed it needs about 200 MB.
fn json_array_bomb() -> Vec<u8> {
    let mut json = b"[".to_vec();
    json.extend_from_slice(&b"[],".repeat(6_000_000));
    json.extend_from_slice(b"[]]");
    json
}

/// The hostile pages by path; anything else is the healthy page.
fn serve(pages: Vec<(String, &'static str, Vec<u8>)>) -> Server {
    Server::start(move |req| {
        pages
            .iter()
            .find(|(path, _, _)| req.path == *path)
            .map_or_else(
                || Reply::html(HEALTHY),
                |(_, content_type, body)| Reply::ok(content_type, body.clone()),
            )
    })
}

fn source(server: &Server, id: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n{extra}",
        server.url(&format!("/{id}"))
    )
}

/// Asserts that `id`'s last attempt failed over the extraction budget with
/// a message containing `says`, its body kept, and that `healthy` was
/// recorded.
fn assert_extraction_limit(h: &Harness, id: &str, says: &str) {
    let store = h.store();
    let record = &store.history(id, 1).unwrap()[0];
    assert_eq!(record.outcome, "failed", "{id}");
    assert_eq!(
        record.error_class.as_deref(),
        Some("extraction-limit"),
        "{id}: {:?}",
        record.error_message
    );
    let message = record.error_message.as_deref().unwrap_or_default();
    assert!(message.contains(says), "{id}: {message}");
    assert!(
        record.raw_hash.is_some(),
        "{id}: the body is kept as evidence"
    );
    assert_eq!(
        store.history("healthy", 1).unwrap()[0].outcome,
        "ok",
        "{id}"
    );
}

/// Runs `check` on `h`, which fails on `case`; prints its peak memory (its
/// extraction processes included) and time, and returns the peak (KiB).
fn check_failing(h: &Harness, case: &str) -> u64 {
    let Measured {
        code,
        peak_kib,
        took,
    } = common::check_measured(&h.config_path());
    assert_eq!(code, 1, "{case}: a failed source makes check exit 1");
    println!(
        "FIGURE budget {case} peak-rss-kib={peak_kib} check-ms={}",
        took.as_millis()
    );
    peak_kib
}

#[test]
fn each_hostile_page_is_an_extraction_limit_and_check_stays_under_150_mb() {
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "formatting-bomb",
            "text/html",
            formatting_bomb(3_000),
            "nodes",
        ),
        (
            "formatting-bomb-180kb",
            "text/html",
            formatting_bomb(20_000),
            "nodes",
        ),
        ("flat-2.6m-paragraphs", "text/html", flat_page(), "elements"),
        (
            "400k-attributes",
            "text/html",
            attribute_page(),
            "attributes",
        ),
        // Under the operators of a whole document, over those of one page:
        // the shape a fuzzer found (lopdf keeps every operation of the page).
        (
            "pdf-460k-q-on-one-page",
            "application/pdf",
            pdf_bomb(460_000),
            "page 1 of the PDF holds more than 100000 content operators",
        ),
        (
            "pdf-20mib-of-q",
            "application/pdf",
            pdf_bomb(10 << 20),
            "operators",
        ),
        (
            "pdf-100mib-of-q",
            "application/pdf",
            pdf_bomb(50 << 20),
            "decompress",
        ),
    ];
    assert!(cases.iter().all(|(_, _, body, _)| body.len() < 21 << 20));
    let expected: Vec<(&str, &str)> = cases.iter().map(|(id, _, _, says)| (*id, *says)).collect();
    let server = serve(
        cases
            .into_iter()
            .map(|(id, content_type, body, _)| (format!("/{id}"), content_type, body))
            .collect(),
    );
    let mut peaks = Vec::new();
    for (id, says) in expected {
        let h = Harness::new(&format!(
            "{FAST_HTTP}{}{}",
            source(&server, id, ""),
            source(&server, "healthy", "")
        ));
        let peak_kib = check_failing(&h, id);
        assert_extraction_limit(&h, id, says);
        peaks.push((id, peak_kib));
    }
    for (id, peak_kib) in peaks {
        assert!(
            peak_kib <= 150 * 1024,
            "{id}: peak RSS of check and its extraction processes {peak_kib} KiB is over 150 MB"
        );
    }
}

#[test]
fn the_memory_ceiling_stops_an_input_no_cap_foresaw() {
    let server = serve(vec![(
        "/json-bomb".into(),
        "application/json",
        json_array_bomb(),
    )]);
    let h = Harness::new(&format!(
        "{FAST_HTTP}[limits]\nextract_memory = \"64MiB\"\n{}{}",
        source(&server, "json-bomb", ""),
        source(&server, "healthy", "")
    ));
    let peak_kib = check_failing(&h, "json-bomb");
    assert_extraction_limit(&h, "json-bomb", "more than 64 MiB of memory");
    assert!(peak_kib <= 150 * 1024, "peak RSS {peak_kib} KiB");
}

/// Sweeps every second, with a `file` alert channel.
fn every_second(server: &Server, ids: &[&str], extra: &str) -> String {
    let mut config = format!(
        "[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n{FAST_HTTP}{extra}\
         [[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"alerts.jsonl\"\n"
    );
    for id in ids {
        config.push_str(&source(server, id, ""));
    }
    config
}

fn daemon(config: &Path) -> Child {
    common::scopewatch_command(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The alert messages the `file` channel wrote.
fn alerts(h: &Harness) -> Vec<serde_json::Value> {
    std::fs::read_to_string(h.dir.path().join("alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn alerted(h: &Harness, kind: &str, source: &str) -> bool {
    alerts(h).iter().any(|message| {
        message
            .to_string()
            .contains(&format!("\"kind\":\"{kind}\""))
            && message.to_string().contains(source)
    })
}

#[test]
fn a_source_past_its_deadline_is_a_failed_attempt_and_the_sweep_goes_on() {
    // Within every bound of its own (one try of a minute), the page would
    // hold the sweep for 50 s; `[limits] source_time` says one second.
    let server = Server::start(|req| {
        if req.path == "/slow" {
            Reply::Delayed(Duration::from_secs(50), Box::new(Reply::html(HEALTHY)))
        } else {
            Reply::html(HEALTHY)
        }
    });
    let h = Harness::new(&format!(
        "[http]\ntimeout = \"60s\"\nretries = 0\nhost_delay = \"0s\"\n\
         [limits]\nsource_time = \"1s\"\n{}{}",
        source(&server, "slow", ""),
        source(&server, "healthy", "")
    ));
    let output = common::scopewatch(&h.config_path(), &["check"]);
    assert_eq!(output.status.code(), Some(1), "{}", common::stderr(&output));
    let store = h.store();
    let record = &store.history("slow", 1).unwrap()[0];
    assert_eq!(record.outcome, "failed");
    assert_eq!(record.error_class.as_deref(), Some("deadline"));
    let message = record.error_message.as_deref().unwrap_or_default();
    assert!(message.contains("longer than 1s"), "{message}");
    assert_eq!(store.history("healthy", 1).unwrap()[0].outcome, "ok");
}

#[test]
fn a_daemon_on_a_hostile_page_records_failures_and_alerts_failing_instead_of_dying() {
    // The 180 KB formatting bomb aborted the daemon on an 8 GiB allocation
    // before any record was written, at every restart.
    let server = serve(vec![("/bomb".into(), "text/html", formatting_bomb(20_000))]);
    let h = Harness::new(&every_second(&server, &["bomb", "healthy"], ""));
    let mut child = daemon(&h.config_path());
    wait_until(
        || alerted(&h, "failing", "bomb"),
        "a failing alert for the bomb",
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    let history = h.store().history("bomb", 10).unwrap();
    assert!(history.len() >= 3, "fail_after = 3 failures: {history:?}");
    assert!(
        history
            .iter()
            .all(|r| r.error_class.as_deref() == Some("extraction-limit"))
    );
    assert!(!h.store().history("healthy", 10).unwrap().is_empty());
    common::signal(&child, libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Waits until `id`, and only `id` (the healthy page is extracted in
/// milliseconds), is marked as being extracted, then SIGKILLs `child`: the
/// process dies in the middle of the page, as under the kernel's
/// out-of-memory killer or the watchdog.
fn kill_while_extracting(h: &Harness, mut child: Child, id: &str) {
    wait_until(
        || {
            let marks = h.store().crash_marks().unwrap_or_default();
            marks.len() == 1 && marks[0].source == id
        },
        "the page alone to be marked as being extracted",
    );
    common::signal(&child, libc::SIGKILL);
    child.wait().unwrap();
}

fn outcome_of(output: &std::process::Output, id: &str) -> serde_json::Value {
    common::json(output)
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["source"] == id)
        .unwrap_or_else(|| panic!("no outcome for {id}: {}", common::stdout(output)))
        .clone()
}

#[test]
fn a_page_a_process_died_on_twice_is_recorded_crashed_quarantined_and_alerted() {
    // Limits so generous that extracting the bomb takes seconds (and up to
    // a GiB): time enough to kill the process in the middle of it.
    let server = serve(vec![("/bomb".into(), "text/html", formatting_bomb(3_000))]);
    let h = Harness::new(&format!(
        "[daemon]\nschedule = \"0 0 * * * *\"\njitter = \"0s\"\n{FAST_HTTP}\
         [limits]\nhtml_elements = 50000000\nextract_memory = \"1GiB\"\nextract_time = \"10m\"\n\
         [[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"alerts.jsonl\"\n{}{}",
        source(&server, "bomb", ""),
        source(&server, "healthy", "")
    ));
    let config = h.config_path();

    // The daemon dies while it extracts the page.
    kill_while_extracting(&h, daemon(&config), "bomb");
    assert_eq!(server.hits("/bomb"), 1);

    // The next start records the crash and does not fetch the page again.
    let output = common::scopewatch(&config, &["check", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::output_text(&output)
    );
    let bomb = outcome_of(&output, "bomb");
    assert_eq!(bomb["result"], "failed");
    assert!(
        bomb["error"].as_str().unwrap().starts_with("crashed: "),
        "{bomb}"
    );
    assert_eq!(server.hits("/bomb"), 1, "not tried blind again at once");
    assert_eq!(outcome_of(&output, "healthy")["result"], "ok");
    assert!(
        !alerted(&h, "failing", "bomb"),
        "one crash is not failing yet"
    );

    // The next sweep tries it again, and dies again.
    let check = common::scopewatch_command(&config)
        .arg("check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_while_extracting(&h, check, "bomb");
    assert_eq!(server.hits("/bomb"), 2);

    // The daemon's start records the second crash: failing, alerted, and
    // quarantined until the page's next scheduled time.
    let mut child = daemon(&config);
    wait_until(
        || alerted(&h, "failing", "bomb"),
        "a failing alert for the bomb",
    );
    let history = h.store().history("bomb", 10).unwrap();
    let classes: Vec<_> = history.iter().map(|r| r.error_class.as_deref()).collect();
    assert_eq!(classes, [Some("crashed"), Some("crashed")]);
    assert!(child.try_wait().unwrap().is_none(), "the daemon runs on");
    common::signal(&child, libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(server.hits("/bomb"), 2);

    let output = common::scopewatch(&config, &["check", "--json"]);
    let bomb = outcome_of(&output, "bomb");
    assert_eq!(bomb["result"], "quarantined", "{bomb}");
    assert_eq!(server.hits("/bomb"), 2, "a quarantined page is not fetched");
    assert_eq!(outcome_of(&output, "healthy")["result"], "ok");
    assert_eq!(h.store().history("bomb", 10).unwrap().len(), 2);
}

#[test]
fn verify_re_extracts_under_the_same_limits_and_says_what_is_now_over_them() {
    let page = format!("<main>{}</main>", "<p>Azure is in scope.</p>".repeat(1_500));
    let server = Server::start(move |_| Reply::html(page.clone()));
    let h = Harness::new(&format!("{FAST_HTTP}{}", source(&server, "big", "")));
    let output = common::scopewatch(&h.config_path(), &["check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::output_text(&output)
    );
    let verify = |config: &Path| {
        let output = common::scopewatch(config, &["verify", "--json"]);
        (output.status.code(), common::json(&output))
    };
    let (code, findings) = verify(&h.config_path());
    assert_eq!((code, findings.as_array().unwrap().len()), (Some(0), 0));

    // The same settings under a lower element cap: the stored page is now
    // over it. That is said, and is not a finding of tampering.
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    std::fs::write(
        h.config_path(),
        format!("{text}[limits]\nhtml_elements = 1000\n"),
    )
    .unwrap();
    let (code, findings) = verify(&h.config_path());
    assert_eq!(code, Some(0), "{findings}");
    let findings = findings.as_array().unwrap();
    assert!(findings.iter().all(|f| f["info"] == true), "{findings:?}");
    assert!(
        findings.iter().any(|f| f["problem"]
            .as_str()
            .unwrap()
            .contains("over the current extraction limits")),
        "{findings:?}"
    );
}

/// A worker outlives the thread that started it: verify's threads and the
/// runtime's blocking threads come and go, and the pool keeps the workers.
#[test]
fn an_extraction_process_outlives_the_thread_that_started_it() {
    let h = Harness::new("");
    let extractor = std::sync::Arc::new(common::extractor(&h.config));
    let extract = |extractor: &scopewatch::isolation::Extractor| {
        extractor
            .extract(
                HEALTHY.as_bytes(),
                Some("text/html"),
                "http://127.0.0.1/",
                &Default::default(),
            )
            .map(|extracted| extracted.text)
    };
    let first = {
        let extractor = std::sync::Arc::clone(&extractor);
        std::thread::spawn(move || extract(&extractor))
            .join()
            .unwrap()
    };
    assert!(first.unwrap().contains("Azure is in scope."));
    // The thread has ended; its worker, idle in the pool, serves the next page.
    std::thread::sleep(Duration::from_millis(200));
    assert!(extract(&extractor).unwrap().contains("Azure is in scope."));
}
