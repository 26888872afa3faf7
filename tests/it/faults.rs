//! Hostile and broken servers, beyond the ones tests/it/pipeline.rs covers:
//! slow headers, a stalled body, a brotli bomb, a 50 MB body, 429 with an
//! hour's `Retry-After`, a 503 storm, broken encodings, 100,000 levels of
//! nesting, an empty 200, a sign-in page in place of the page, and a
//! content type that flips. Each case is a failure record with its error
//! class (or, for encodings, the same text every time), no content or
//! scope event, and a healthy source in the same sweep unaffected. Peak
//! memory is measured on `scopewatch check` run as a child process.

use crate::common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};
use scopewatch::store::EventFilter;

/// Short timeouts and one retry, so that every slow case ends in seconds.
/// 3 s, not less: a loaded machine must still read a 20 MiB body (the cap)
/// within one try, or the bombs and large bodies time out instead.
const HTTP: &str = "[http]\ntimeout = \"3s\"\nconnect_timeout = \"1s\"\nbackoff = \"10ms\"\nbackoff_max = \"50ms\"\nhost_delay = \"0s\"\nretries = 1\nper_host = 16\n";

const CONTROL_PAGE: &str = "<main><h1>ISO/IEC 27001</h1><p>Azure is in scope.</p></main>";

fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    gz.finish().unwrap()
}

/// 1 GiB of zeros, brotli-compressed to a few kilobytes.
fn brotli_bomb() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
        let block = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            writer.write_all(&block).unwrap();
        }
    }
    out
}

fn nested(depth: usize) -> Vec<u8> {
    let mut page = "<div>".repeat(depth);
    page.push_str("deep");
    page.push_str(&"</div>".repeat(depth));
    page.into_bytes()
}

/// A chunked response of `total` bytes of HTML-ish filler, no Content-Length.
fn chunked(total: usize) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..total / chunk.len() {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A redirect to `location` sent a byte at a time over about 2 s: each
/// hop within `timeout`, two of them not.
fn slow_redirect(location: &str) -> Reply {
    let bytes = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let every = Duration::from_secs(2) / bytes.len() as u32;
    Reply::Trickle { bytes, every }
}

/// The hostile replies by path; anything else is the healthy control page.
fn hostile(path: &str, gzip: &[u8], brotli: &[u8]) -> Reply {
    match path {
        "/slow-headers" => Reply::Trickle {
            bytes: b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<main>late</main>".to_vec(),
            every: Duration::from_secs(3),
        },
        "/stalled-body" => Reply::RawThenStall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<main><p>half"
                .to_vec(),
            Duration::from_secs(30),
        ),
        "/slow-redirects" => slow_redirect("/slow-redirects-2"),
        "/slow-redirects-2" => slow_redirect("/slow-redirects-3"),
        "/gzip-bomb" => Reply::html(gzip.to_vec()).with_header("Content-Encoding", "gzip"),
        "/brotli-bomb" => Reply::html(brotli.to_vec()).with_header("Content-Encoding", "br"),
        "/50mb" => Reply::html(vec![b'x'; 50 << 20]),
        "/50mb-chunked" => Reply::Raw(chunked(50 << 20)),
        "/429" => Reply::status(429).with_header("Retry-After", "3600"),
        "/503" => Reply::status(503),
        "/nested" => Reply::html(nested(100_000)),
        "/empty" => Reply::html(Vec::new()),
        "/octet" => Reply::ok("application/octet-stream", CONTROL_PAGE),
        _ => Reply::html(CONTROL_PAGE),
    }
}

/// Every failing case and the error class its record must carry.
const FAILING: &[(&str, &str)] = &[
    ("slow-headers", "timeout"),
    ("stalled-body", "timeout"),
    ("slow-redirects", "timeout"),
    ("gzip-bomb", "body-too-large"),
    ("brotli-bomb", "body-too-large"),
    ("50mb", "body-too-large"),
    ("50mb-chunked", "body-too-large"),
    ("429", "http-429"),
    ("503", "http-503"),
    ("nested", "too-deeply-nested"),
    ("empty", "empty-content"),
    ("octet", "unsupported-content-type"),
];

fn hostile_server() -> Server {
    let (gzip, brotli) = (gzip_bomb(), brotli_bomb());
    assert!(gzip.len() < 200_000 && brotli.len() < 200_000);
    Server::start(move |req| hostile(&req.path, &gzip, &brotli))
}

fn sources(server: &Server, ids: &[&str]) -> String {
    ids.iter()
        .map(|id| {
            format!(
                "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n",
                server.url(&format!("/{id}"))
            )
        })
        .collect()
}

fn event_kinds(h: &Harness, source: &str) -> Vec<String> {
    let mut events = h
        .store()
        .events(&EventFilter {
            sources: vec![source.to_string()],
            ..Default::default()
        })
        .unwrap();
    events.reverse();
    events.into_iter().map(|e| e.kind.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hostile_server_is_a_classified_failure_and_the_sweep_goes_on() {
    let server = hostile_server();
    let mut ids: Vec<&str> = FAILING.iter().map(|(id, _)| *id).collect();
    ids.push("control");
    let h = Harness::new(&format!("{HTTP}{}", sources(&server, &ids)));
    let started = Instant::now();
    let report = h.sweep().await;
    let took = started.elapsed();
    // Two tries of at most 3 s each, plus backoff: nothing waits for the
    // stalled servers (30 s) or for Retry-After (an hour).
    assert!(took < Duration::from_secs(25), "the sweep took {took:?}");
    assert_eq!(report.outcomes.len(), FAILING.len() + 1);
    assert_eq!(report.failed(), FAILING.len(), "{report:?}");
    let store = h.store();
    for (id, class) in FAILING {
        let record = &store.history(id, 10).unwrap();
        assert_eq!(record.len(), 1, "{id}: one record per attempt");
        assert_eq!(record[0].outcome, "failed", "{id}");
        assert_eq!(record[0].error_class.as_deref(), Some(*class), "{id}");
        assert!(
            event_kinds(&h, id).is_empty(),
            "{id}: a failure raises no content or scope event"
        );
    }
    assert_eq!(
        server.hits("/429"),
        1,
        "Retry-After: 3600 is not waited for"
    );
    assert_eq!(server.hits("/503"), 2, "a 503 is retried (retries = 1)");
    let control = &store.history("control", 1).unwrap()[0];
    assert_eq!(control.outcome, "ok");
    assert_eq!(event_kinds(&h, "control"), ["baseline"]);
    assert!(store.verify_chain().unwrap().is_empty());
    println!(
        "FIGURE hostile-cases {} sweep-seconds {:.1}",
        FAILING.len(),
        took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_storm_is_recorded_every_sweep_and_raises_failing_once() {
    let server = Server::start(|req| match req.path.as_str() {
        "/storm" => Reply::status(503).with_header("Retry-After", "0"),
        _ => Reply::html(CONTROL_PAGE),
    });
    let h = Harness::new(&format!(
        "{HTTP}{}",
        sources(&server, &["storm", "control"])
    ));
    for _ in 0..5 {
        let started = Instant::now();
        let report = h.sweep().await;
        assert_eq!(report.failed(), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert_eq!(server.hits("/storm"), 10, "two tries per sweep, no more");
    let history = h.store().history("storm", 10).unwrap();
    assert_eq!(history.len(), 5);
    assert!(
        history
            .iter()
            .all(|r| r.error_class.as_deref() == Some("http-503"))
    );
    // fail_after = 3: the third failure in a row raises `failing`, once.
    assert_eq!(event_kinds(&h, "storm"), ["failing"]);
    assert_eq!(event_kinds(&h, "control"), ["baseline"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_encodings_give_the_same_text_every_time() {
    let server = Server::start(|req| match req.path.as_str() {
        // Bytes that are not UTF-8 at all, declared UTF-8.
        "/invalid-utf8" => Reply::ok(
            "text/html; charset=utf-8",
            b"<main><p>caf\xe9 \xff\xfe scope</p></main>".to_vec(),
        ),
        // UTF-8 declared as Latin-1: mojibake, but stable mojibake.
        "/wrong-charset" => Reply::ok(
            "text/html; charset=iso-8859-1",
            "<main><p>café scope</p></main>",
        ),
        // An unknown charset label: read as UTF-8.
        "/unknown-charset" => Reply::ok(
            "text/html; charset=x-no-such-thing",
            "<main><p>café scope</p></main>",
        ),
        _ => Reply::html(CONTROL_PAGE),
    });
    let ids = [
        "invalid-utf8",
        "wrong-charset",
        "unknown-charset",
        "control",
    ];
    let h = Harness::new(&format!("{HTTP}{}", sources(&server, &ids)));
    for _ in 0..3 {
        assert_eq!(h.sweep().await.failed(), 0);
    }
    let store = h.store();
    let expected = [
        ("invalid-utf8", "caf\u{fffd} \u{fffd}\u{fffd} scope"),
        ("wrong-charset", "caf\u{c3}\u{a9} scope"),
        ("unknown-charset", "café scope"),
    ];
    for (id, text) in expected {
        let history = store.history(id, 10).unwrap();
        assert_eq!(history.len(), 3);
        assert!(
            history.iter().all(|r| r.text_hash == history[0].text_hash),
            "{id}: the same bytes give the same text"
        );
        let stored =
            String::from_utf8(store.snapshot_bytes(history[0].id, false).unwrap()).unwrap();
        assert_eq!(stored.trim(), text, "{id}");
        assert_eq!(event_kinds(&h, id), ["baseline"], "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_page_at_the_same_address_is_a_move() {
    let count = AtomicUsize::new(0);
    let server = Server::start(move |req| match req.path.as_str() {
        "/doc" if count.fetch_add(1, Ordering::SeqCst) > 0 => Reply::html(
            "<main><h1>Sign in</h1><form><input name=user><input type=password></form></main>",
        ),
        _ => Reply::html(CONTROL_PAGE),
    });
    let h = Harness::new(&format!("{HTTP}{}", sources(&server, &["doc", "control"])));
    h.sweep().await;
    h.sweep().await;
    h.sweep().await;
    assert_eq!(
        event_kinds(&h, "doc"),
        ["baseline", "moved"],
        "a sign-in page is a move, raised once, never a content change"
    );
    assert_eq!(event_kinds(&h, "control"), ["baseline"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_content_type_flipping_to_octet_stream_is_a_failure_not_a_change() {
    let count = AtomicUsize::new(0);
    let server = Server::start(move |req| match req.path.as_str() {
        "/doc" if count.fetch_add(1, Ordering::SeqCst) > 0 => {
            Reply::ok("application/octet-stream", CONTROL_PAGE)
        }
        _ => Reply::html(CONTROL_PAGE),
    });
    let h = Harness::new(&format!("{HTTP}{}", sources(&server, &["doc", "control"])));
    assert_eq!(h.sweep().await.failed(), 0);
    let report = h.sweep().await;
    assert_eq!(report.failed(), 1);
    let store = h.store();
    let newest = &store.history("doc", 1).unwrap()[0];
    assert_eq!(
        newest.error_class.as_deref(),
        Some("unsupported-content-type")
    );
    assert_eq!(event_kinds(&h, "doc"), ["baseline"]);
    assert_eq!(store.history("control", 10).unwrap().len(), 2);
}

#[test]
fn peak_memory_stays_under_100_mb_for_large_bodies_and_bombs() {
    let server = hostile_server();
    let mut peaks = Vec::new();
    // The default max_body (20 MiB) applies: the configuration sets none.
    for id in ["50mb", "50mb-chunked", "gzip-bomb", "brotli-bomb", "nested"] {
        let h = Harness::new(&format!(
            "{FAST_HTTP}{}",
            sources(&server, &[id, "control"])
        ));
        let common::Measured { code, peak_kib, .. } = common::check_measured(&h.config_path());
        assert_eq!(code, 1, "{id}: a failed source makes check exit 1");
        let record = &h.store().history(id, 1).unwrap()[0];
        assert_eq!(record.outcome, "failed", "{id}");
        assert_eq!(h.store().history("control", 1).unwrap()[0].outcome, "ok");
        println!("FIGURE peak-rss-kib {id} {peak_kib}");
        peaks.push((id, peak_kib));
    }
    for (id, peak_kib) in peaks {
        assert!(
            peak_kib < 100 * 1024,
            "{id}: peak RSS {peak_kib} KiB is over 100 MB"
        );
    }
}
