//! End to end over loopback: fetch → extract → store → detect, against the
//! scripted server, with the real corpus pages rendered as the live site.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, corpus_versions, html_source};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use scopewatch::demo::site;
use scopewatch::detect::EventKind;
use scopewatch::extract::markdown::extract_markdown;
use scopewatch::fetch::HttpSettings;
use scopewatch::fetch::{ErrorClass, FetchOutcome, FetchRequest, Fetcher};
use scopewatch::store::EventFilter;

const BOT: &str = "azure-bot-service-compliance";

fn kinds(h: &Harness) -> Vec<String> {
    let mut events = h.store().events(&EventFilter::default()).unwrap();
    events.reverse();
    events
        .into_iter()
        .map(|e| format!("{}:{}", e.source, e.kind))
        .collect()
}

/// Serves the given pages in turn, one per request, repeating the last.
fn serve_in_turn(pages: Vec<String>) -> Server {
    let served = AtomicUsize::new(0);
    Server::start(move |_| {
        let i = served.fetch_add(1, Ordering::SeqCst).min(pages.len() - 1);
        Reply::html(site::render(&pages[i]))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn chrome_noise_gives_no_event() {
    let page = corpus_versions(BOT)[0].1.clone();
    let server = serve_in_turn(vec![page]);
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}",
        html_source("bot", &server.url("/bot"), "")
    ));
    for _ in 0..3 {
        assert_eq!(h.sweep().await.failed(), 0);
    }
    assert_eq!(kinds(&h), ["bot:baseline"]);
    let history = h.store().history("bot", 10).unwrap();
    let changes: Vec<_> = history.iter().map(|r| r.change.clone().unwrap()).collect();
    assert_eq!(changes, ["noise", "noise", "baseline"]);
    // Raw bodies differ every time; the normalised text is stored once.
    assert_ne!(history[0].raw_hash, history[1].raw_hash);
    assert_eq!(history[0].text_hash, history[2].text_hash);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_edit_gives_one_content_event_with_its_diff() {
    let versions = corpus_versions(BOT);
    let before = versions
        .iter()
        .find(|(name, _)| name.starts_with("2021-06-18"))
        .unwrap();
    let after = versions
        .iter()
        .find(|(name, _)| name.starts_with("2021-08-09"))
        .unwrap();
    let server = serve_in_turn(vec![before.1.clone(), after.1.clone()]);
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}",
        html_source("bot", &server.url("/bot"), "")
    ));
    h.sweep().await;
    h.sweep().await;
    h.sweep().await; // the same edit served again: noise at most
    assert_eq!(kinds(&h), ["bot:baseline", "bot:content"]);
    let store = h.store();
    let event = &store
        .events(&EventFilter {
            kinds: vec![EventKind::Content],
            ..Default::default()
        })
        .unwrap()[0];
    let diff = String::from_utf8(
        store
            .blob(&scopewatch::hash::Digest::from_hex(event.diff_hash.as_ref().unwrap()).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        diff.contains("+| CSA STAR Certification | Chapter 508 | HIPAA BAA | Australia IRAP |"),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('-') && l.contains("WCAG 2.0")),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && l.contains("WCAG 2.1")),
        "{diff}"
    );
    assert_eq!(event.from_snapshot, Some(1));
    assert_eq!(event.to_snapshot, 2);
}

/// Every real version, served as HTML with chrome, normalises to exactly
/// the text of its Markdown source; a transition gives a `content` event
/// exactly when that text changed.
#[tokio::test(flavor = "multi_thread")]
async fn every_real_version_replays_through_http_faithfully() {
    let versions = corpus_versions(BOT);
    let pages: Vec<String> = versions.iter().map(|(_, md)| md.clone()).collect();
    let server = serve_in_turn(pages.clone());
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}",
        html_source("bot", &server.url("/bot"), "")
    ));
    let mut expected_events = vec!["bot:baseline".to_string()];
    let mut previous_text: Option<String> = None;
    for (name, md) in &versions {
        let report = h.sweep().await;
        let id = report.outcomes[0].snapshot.unwrap();
        let stored = String::from_utf8(h.store().snapshot_bytes(id, false).unwrap()).unwrap();
        let without_includes: String = md
            .lines()
            .filter(|l| !l.trim_start().starts_with("[!INCLUDE"))
            .collect::<Vec<_>>()
            .join("\n");
        let expected = extract_markdown(&without_includes).to_text();
        assert_eq!(stored, expected, "version {name}");
        if previous_text.as_ref().is_some_and(|p| *p != expected) {
            expected_events.push("bot:content".into());
        }
        previous_text = Some(expected);
    }
    assert_eq!(kinds(&h), expected_events);
    // Of the ten publishes, seven change only metadata, link targets or
    // whitespace (U+202F narrow no-break spaces swapped for spaces): noise.
    // Three change the visible text: 2021-08-09 (the accessibility
    // certifications), 2022-10-12 ("it is" became "it's") and 2023-07-18
    // (the "Azure AI Bot Service" rebrand).
    assert_eq!(
        expected_events,
        ["bot:baseline", "bot:content", "bot:content", "bot:content"]
    );
    assert!(h.store().verify_chain().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn not_modified_is_recorded_as_such() {
    let server = Server::start(|req| {
        if req.header("if-none-match") == Some("\"v1\"") {
            Reply::Http {
                status: 304,
                headers: vec![],
                body: vec![],
            }
        } else {
            Reply::html("<main><p>statement v1</p></main>")
                .with_header("ETag", "\"v1\"")
                .with_header("Last-Modified", "Sat, 28 Nov 2026 10:00:00 GMT")
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n",
        server.url("/s")
    ));
    h.sweep().await;
    let report = h.sweep().await;
    assert_eq!(report.outcomes[0].result, "not-modified");
    let requests = server.requests();
    assert_eq!(
        requests[1].header("if-modified-since"),
        Some("Sat, 28 Nov 2026 10:00:00 GMT")
    );
    let history = h.store().history("s", 10).unwrap();
    assert_eq!(history[0].outcome, "not-modified");
    assert_eq!(
        history[0].text_hash, history[1].text_hash,
        "a 304 confirms the stored text"
    );
    assert_eq!(history[0].raw_hash, history[1].raw_hash);
    assert!(history[0].raw_hash.is_some());
    assert!(h.store().verify_chain().unwrap().is_empty());
    assert_eq!(kinds(&h), ["s:baseline"]);
}

/// Answers 304 to any conditional request, whatever it names.
fn not_modified_to_any_validator(req: &common::server::Request, body: &str) -> Reply {
    if req.header("if-none-match").is_some() || req.header("if-modified-since").is_some() {
        Reply::status(304)
    } else {
        Reply::html(format!("<main><p>{body}</p></main>"))
            .with_header("Last-Modified", "Sat, 28 Nov 2026 09:00:00 GMT")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_go_only_to_the_url_that_gave_them() {
    let served_a = AtomicUsize::new(0);
    let server = Server::start(move |req| match req.path.as_str() {
        "/a" if served_a.fetch_add(1, Ordering::SeqCst) == 0 => Reply::redirect(302, "/b"),
        "/a" => Reply::redirect(302, "/c"),
        "/b" => Reply::html("<main><p>page B</p></main>")
            .with_header("ETag", "\"b1\"")
            .with_header("Last-Modified", "Sat, 28 Nov 2026 10:00:00 GMT"),
        "/always-304" => Reply::status(304),
        path => not_modified_to_any_validator(req, &format!("page {path}")),
    });
    let mut h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n",
        server.url("/a")
    ));
    h.sweep().await;
    // A now redirects to C, an old object that answers 304 to B's validators.
    let report = h.sweep().await;
    assert_eq!(report.outcomes[0].result, "ok", "{report:?}");
    let c = server.requests().pop().unwrap();
    assert_eq!(c.path, "/c");
    assert_eq!(c.header("if-modified-since"), None);
    assert_eq!(c.header("if-none-match"), None);
    assert_eq!(kinds(&h), ["s:baseline", "s:moved"]);

    // The operator points the source at another URL, keeping its id: the
    // validators were stored for A, so none are sent, even to C that gave them.
    h.config.sources[0].url = server.url("/c").parse().unwrap();
    assert_eq!(h.sweep().await.outcomes[0].result, "ok");

    // A 304 to a request that named no validators confirms nothing.
    h.config.sources[0].url = server.url("/always-304").parse().unwrap();
    let report = h.sweep().await;
    assert_eq!(report.outcomes[0].result, "failed", "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_503s_then_200_is_three_requests_and_one_snapshot() {
    let count = AtomicUsize::new(0);
    let server = Server::start(move |_| match count.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Reply::status(503),
        _ => Reply::html("<main><p>ok</p></main>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n",
        server.url("/s")
    ));
    let report = h.sweep().await;
    assert_eq!(report.failed(), 0);
    assert_eq!(server.hits("/s"), 3);
    let history = h.store().history("s", 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(h.store().events(&EventFilter::default()).unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_recorded_and_the_sweep_goes_on() {
    let server = Server::start(|req| {
        match req.path.as_str() {
        "/404" => Reply::status(404),
        "/500" => Reply::status(500),
        "/stall" => Reply::Stall(Duration::from_secs(5)),
        "/reset" => Reply::RawThenReset(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<main>partial".to_vec(),
        ),
        "/short" => Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<main>short</main>".to_vec(),
        ),
        "/chunked" => Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbroken\r\n".to_vec(),
        ),
        _ => Reply::html("<main><p>fine</p></main>"),
    }
    });
    let mut config = FAST_HTTP.replace("timeout = \"2s\"", "timeout = \"1s\"");
    for path in ["404", "500", "stall", "reset", "short", "chunked", "ok"] {
        config.push_str(&format!(
            "[[source]]\nid = \"{path}\"\nurl = \"{}\"\n",
            server.url(&format!("/{path}"))
        ));
    }
    let h = Harness::new(&config);
    let report = h.sweep().await;
    assert_eq!(report.outcomes.len(), 7);
    assert_eq!(report.failed(), 6);
    let store = h.store();
    let class = |id: &str| {
        store.history(id, 1).unwrap()[0]
            .error_class
            .clone()
            .unwrap_or_default()
    };
    assert_eq!(class("404"), "http-404");
    assert_eq!(class("500"), "http-500");
    assert_eq!(class("stall"), "timeout");
    assert_eq!(class("reset"), "body-read");
    assert_eq!(class("short"), "body-read");
    assert_eq!(class("chunked"), "body-read");
    assert_eq!(server.hits("/404"), 1, "a 404 is not retried");
    assert_eq!(server.hits("/500"), 3, "a 500 is retried (retries = 2)");
    // A 404 is `gone` (raised once), never a content change; the other
    // failures raise nothing. (Sources finish in any order.)
    let mut kinds = kinds(&h);
    kinds.sort();
    assert_eq!(
        kinds,
        ["404:gone", "ok:baseline"],
        "failures are never content changes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_after_fail_after_then_recovered() {
    let count = AtomicUsize::new(0);
    let server = Server::start(move |_| match count.fetch_add(1, Ordering::SeqCst) {
        0 | 4 => Reply::html("<main><p>ok</p></main>"),
        _ => Reply::status(404),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\nfail_after = 3\n",
        server.url("/s")
    ));
    for _ in 0..5 {
        h.sweep().await;
    }
    assert_eq!(
        kinds(&h),
        ["s:baseline", "s:gone", "s:failing", "s:recovered"]
    );
    let sources = h.store().source_summaries().unwrap();
    assert_eq!(sources[0].state, "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_the_cap_and_compression_bombs_are_refused() {
    let bomb = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'a'; 50 << 20]).unwrap();
        gz.finish().unwrap()
    };
    assert!(bomb.len() < 200_000);
    let server = Server::start(move |req| match req.path.as_str() {
        "/big" => Reply::html(vec![b'x'; 3 << 20]),
        _ => Reply::html(bomb.clone()).with_header("Content-Encoding", "gzip"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}max_body = \"1MiB\"\n[[source]]\nid = \"big\"\nurl = \"{}\"\n[[source]]\nid = \"bomb\"\nurl = \"{}\"\n",
        server.url("/big"),
        server.url("/bomb")
    ));
    let report = h.sweep().await;
    assert_eq!(report.failed(), 2);
    for id in ["big", "bomb"] {
        assert_eq!(
            h.store().history(id, 1).unwrap()[0].error_class.as_deref(),
            Some("body-too-large")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_followed_recorded_and_bounded() {
    let server = Arc::new(std::sync::OnceLock::<String>::new());
    let base = server.clone();
    let srv = Server::start(move |req| {
        let base = base.get().unwrap();
        match req.path.as_str() {
            "/moved" => Reply::redirect(301, "/final"),
            "/loop-a" => Reply::redirect(302, "/loop-b"),
            "/loop-b" => Reply::redirect(302, &format!("{base}/loop-a")),
            p if p.starts_with("/chain/") => {
                let n: usize = p[7..].parse().unwrap();
                Reply::redirect(302, &format!("/chain/{}", n + 1))
            }
            _ => Reply::html("<main><p>final</p></main>"),
        }
    });
    server.set(srv.url("")).unwrap();
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"moved\"\nurl = \"{}\"\n[[source]]\nid = \"loop\"\nurl = \"{}\"\n[[source]]\nid = \"chain\"\nurl = \"{}\"\n",
        srv.url("/moved"),
        srv.url("/loop-a"),
        srv.url("/chain/0")
    ));
    h.sweep().await;
    let store = h.store();
    let moved = &store.history("moved", 1).unwrap()[0];
    assert_eq!(moved.outcome, "ok");
    assert_eq!(moved.final_url.as_deref(), Some(srv.url("/final").as_str()));
    assert_eq!(
        store.history("loop", 1).unwrap()[0].error_class.as_deref(),
        Some("redirect-loop")
    );
    assert_eq!(
        store.history("chain", 1).unwrap()[0].error_class.as_deref(),
        Some("too-many-redirects")
    );
    assert_eq!(srv.hits("/chain/10"), 1);
    assert_eq!(
        srv.hits("/chain/11"),
        0,
        "at most 10 redirects are followed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_to_private_addresses_are_refused_before_connecting() {
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let p = port.clone();
    let server = Server::start(move |req| {
        let port = p.get().unwrap();
        match req.path.as_str() {
            "/to-loopback-2" => Reply::redirect(302, &format!("http://127.0.0.2:{port}/target")),
            "/to-private" => Reply::redirect(302, "http://10.0.0.1/latest"),
            "/to-metadata" => Reply::redirect(302, "http://169.254.169.254/latest/meta-data/"),
            "/to-file" => Reply::redirect(302, "file:///etc/passwd"),
            "/to-localhost" => Reply::redirect(302, &format!("http://localhost:{port}/target")),
            _ => Reply::html("<main><p>target</p></main>"),
        }
    });
    port.set(server.addr.port()).unwrap();
    let mut config = FAST_HTTP.to_string();
    for id in [
        "to-loopback-2",
        "to-private",
        "to-metadata",
        "to-file",
        "to-localhost",
    ] {
        config.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n",
            server.url(&format!("/{id}"))
        ));
    }
    config.push_str(&format!(
        "[[source]]\nid = \"allowed\"\nurl = \"{}\"\nallow_private = true\n",
        server.url("/to-localhost")
    ));
    let h = Harness::new(&config);
    let report = h.sweep().await;
    assert_eq!(report.failed(), 5);
    let store = h.store();
    for id in [
        "to-loopback-2",
        "to-private",
        "to-metadata",
        "to-file",
        "to-localhost",
    ] {
        let record = &store.history(id, 1).unwrap()[0];
        assert_eq!(
            record.error_class.as_deref(),
            Some("address-refused"),
            "{id}: {record:?}"
        );
    }
    // Only the source that allows private addresses reached the target,
    // through the name `localhost` that the policy resolver refused above.
    assert_eq!(server.hits("/target"), 1);
    assert_eq!(store.history("allowed", 1).unwrap()[0].outcome, "ok");
}

/// Answers every name with 127.0.0.1, as a hostile or careless DNS may.
struct LoopbackDns;

impl Resolve for LoopbackDns {
    fn resolve(&self, _: Name) -> Resolving {
        let addrs: Addrs = Box::new(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))));
        Box::pin(async move { Ok(addrs) })
    }
}

/// How a configured `url` fetches over [`LoopbackDns`].
async fn configured_fetch(url: &str, allow_private: bool) -> FetchOutcome {
    let fetcher = Fetcher::with_resolver(&HttpSettings::default(), Arc::new(LoopbackDns)).unwrap();
    let request = FetchRequest {
        url: url.parse().unwrap(),
        configured: true,
        allow_private,
        conditional: None,
        headers: Default::default(),
        accept: None,
    };
    fetcher.fetch(&request).await.outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_host_name_must_resolve_to_a_public_address() {
    let server = Server::start(|_| Reply::html("<main><p>internal</p></main>"));
    let port = server.addr.port();
    let by_name = format!("http://trust.example:{port}/");
    let outcome = configured_fetch(&by_name, false).await;
    assert!(
        matches!(
            &outcome,
            FetchOutcome::Failed { class: ErrorClass::AddressRefused, message }
                if message.contains("allow_private")
        ),
        "{outcome:?}"
    );
    assert!(server.requests().is_empty(), "refused before connecting");
    // What the operator wrote as an address is theirs to choose.
    for url in [
        by_name,
        format!("http://localhost:{port}/"),
        server.url("/"),
    ] {
        let allow_private = url.contains("trust.example");
        let outcome = configured_fetch(&url, allow_private).await;
        assert!(
            matches!(outcome, FetchOutcome::Body(_)),
            "{url}: {outcome:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pdf_and_json_sources() {
    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/statement.pdf"
    ))
    .unwrap();
    let count = AtomicUsize::new(0);
    let server = Server::start(move |req| match req.path.as_str() {
        "/statement.pdf" => Reply::ok("application/pdf", pdf.clone()),
        _ => {
            let body = match count.fetch_add(1, Ordering::SeqCst) {
                0 => r#"{"services": ["Azure Bot Service", "Azure Cosmos DB"], "version": 1}"#,
                1 => r#"{ "version": 1, "services": ["Azure Bot Service", "Azure Cosmos DB"] }"#,
                _ => r#"{"services": ["Azure Bot Service"], "version": 2}"#,
            };
            Reply::ok("application/json", body)
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"pdf\"\nurl = \"{}\"\n[[source]]\nid = \"json\"\nurl = \"{}\"\n",
        server.url("/statement.pdf"),
        server.url("/scope.json")
    ));
    for _ in 0..3 {
        assert_eq!(h.sweep().await.failed(), 0);
    }
    let store = h.store();
    let pdf_text = String::from_utf8(
        store
            .snapshot_bytes(store.history("pdf", 1).unwrap()[0].id, false)
            .unwrap(),
    )
    .unwrap();
    assert!(pdf_text.contains("--- page 2 ---"), "{pdf_text}");
    assert!(
        pdf_text.contains(
            "\n## Microsoft in-scope cloud platforms & services\n- Azure and Azure Government\n"
        ),
        "{pdf_text}"
    );
    assert!(
        pdf_text.contains("--- page 2 ---\n- Microsoft Managed Desktop\n"),
        "{pdf_text}"
    );
    let json_changes: Vec<_> = store
        .history("json", 5)
        .unwrap()
        .iter()
        .map(|r| r.change.clone().unwrap())
        .collect();
    assert_eq!(
        json_changes,
        ["content", "noise", "baseline"],
        "key order is noise, a value is content"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_turned_sign_in_page_is_a_move() {
    let count = AtomicUsize::new(0);
    let server =
        Server::start(
            move |req| match (req.path.as_str(), count.fetch_add(1, Ordering::SeqCst)) {
                ("/doc", 0) => {
                    Reply::html("<main><h1>Overview of Azure compliance</h1><p>scope</p></main>")
                }
                ("/doc", _) => Reply::redirect(302, "/login"),
                _ => {
                    Reply::html("<main><form><input name=user><input type=password></form></main>")
                } // (no text at all: a sign-in page is still a page, not an empty one)
            },
        );
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"doc\"\nurl = \"{}\"\n",
        server.url("/doc")
    ));
    h.sweep().await;
    h.sweep().await;
    assert_eq!(kinds(&h), ["doc:baseline", "doc:moved"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn followed_links_are_snapshotted_as_their_own_sources() {
    let server = Server::start(|req| match req.path.as_str() {
        "/bot" => Reply::html(
            r#"<nav><a href="/nav-only">nav</a></nav><main><p>See <a href="/trust/iso">ISO</a>,
               <a href="/trust/iso/">ISO index</a>, <a href="/trust/soc#x">SOC</a>,
               <a href="https://example.org/">elsewhere</a></p></main>"#,
        ),
        path => Reply::html(format!("<main><p>page {path}</p></main>")),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{}",
        html_source(
            "bot",
            &server.url("/bot"),
            "allow_private = true\nfollow = { select = \"main a[href]\", max = 5 }"
        )
    ));
    let report = h.sweep().await;
    assert_eq!(report.outcomes.len(), 4, "{report:?}");
    assert_eq!(server.hits("/trust/iso"), 1);
    assert_eq!(server.hits("/trust/iso/"), 1);
    assert_eq!(server.hits("/trust/soc"), 1);
    assert_eq!(server.hits("/nav-only"), 0);
    let sources = h.store().source_summaries().unwrap();
    // Over http with a port the readable form is lossy: a hash follows it,
    // so /trust/iso and /trust/iso/ are two sources.
    let ids: Vec<_> = sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[0], "bot");
    for (id, prefix) in ids[1..].iter().zip([
        "bot~127.0.0.1-trust-iso-",
        "bot~127.0.0.1-trust-iso-",
        "bot~127.0.0.1-trust-soc-",
    ]) {
        assert!(id.starts_with(prefix), "{ids:?}");
    }
    assert_ne!(ids[1], ids[2]);
    assert_eq!(sources[1].parent.as_deref(), Some("bot"));
}

#[tokio::test(flavor = "multi_thread")]
async fn followed_links_to_private_addresses_need_allow_private() {
    let server = Server::start(|req| match req.path.as_str() {
        "/bot" => Reply::html(r#"<main><a href="/trust/iso">ISO</a></main>"#),
        _ => Reply::html("<main>iso</main>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"bot\"\nurl = \"{}\"\nfollow = {{ max = 5 }}\n",
        server.url("/bot")
    ));
    let report = h.sweep().await;
    assert_eq!(report.failed(), 1);
    assert_eq!(
        server.hits("/trust/iso"),
        0,
        "the loopback link was refused before connecting"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hash_chain_links_every_row_and_shows_tampering() {
    let count = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        if n % 3 == 2 {
            Reply::status(404)
        } else {
            Reply::html(format!("<main><p>v{}</p></main>", n / 2))
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"a\"\nurl = \"{}\"\n[[source]]\nid = \"b\"\nurl = \"{}\"\n",
        server.url("/a"),
        server.url("/b")
    ));
    for _ in 0..4 {
        h.sweep().await;
    }
    assert!(h.store().verify_chain().unwrap().is_empty());

    // What someone editing the file with the sqlite3 shell can do.
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    conn.execute("UPDATE record_rows SET status = 299 WHERE id = 3", [])
        .unwrap();
    let findings = h.store().verify_chain().unwrap();
    assert_eq!(
        findings.iter().map(|f| f.record_id).collect::<Vec<_>>(),
        [3]
    );

    conn.execute("DELETE FROM record_rows WHERE id = 5", [])
        .unwrap();
    let findings = h.store().verify_chain().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.record_id == 6 && f.problem.contains("missing")),
        "{findings:?}"
    );
}
