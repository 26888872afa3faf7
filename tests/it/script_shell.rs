//! Script-shell recognition on real pages: every corpus version, rendered
//! as the live site serves it, is content and never a shell; and a shell
//! served on 127.0.0.1, through `check`: one event, then noise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::common::server::{Reply, Server};
use crate::common::{Harness, corpus_dir, corpus_versions, output_text, scopewatch};
use scopewatch::demo::site;
use scopewatch::extract::{ExtractLimits, ExtractRules, extract, shell};
use scraper::{Html, Selector};
use serde_json::Value;

#[test]
fn no_corpus_page_is_a_script_shell() {
    let rules = ExtractRules {
        content: vec![Selector::parse("main").unwrap()],
        ignore: vec![
            Selector::parse(".feedback").unwrap(),
            Selector::parse("time").unwrap(),
        ],
        ..ExtractRules::default()
    };
    let mut pages = 0;
    for source in std::fs::read_dir(corpus_dir("")).unwrap() {
        let source = source.unwrap();
        if !source.file_type().unwrap().is_dir() {
            continue;
        }
        let name = source.file_name().to_string_lossy().into_owned();
        for (file, markdown) in corpus_versions(&name) {
            let page = site::render(&markdown);
            let text = extract(
                page.as_bytes(),
                Some("text/html"),
                "http://x/",
                &rules,
                &ExtractLimits::default(),
            )
            .unwrap()
            .text;
            assert_eq!(
                shell::detect(&Html::parse_document(&page), &text),
                None,
                "{name}/{file}"
            );
            // Also with a mount point and a bundle, as a documentation site
            // that hydrates server-rendered content would carry.
            let hydrated = page.replace(
                "</body>",
                "<div id=\"root\"></div><script src=\"/_themes/docs.a1b2c3.js\"></script></body>",
            );
            assert_eq!(
                shell::detect(&Html::parse_document(&hydrated), &text),
                None,
                "{name}/{file} (hydrated)"
            );
            pages += 1;
        }
    }
    assert!(pages >= 10, "the corpus has {pages} pages");
}

/// The portal's shell as a new front-end build serves it: build `n`'s
/// bundle names and build id.
fn portal_build(n: usize) -> String {
    include_str!("../fixtures/shells/service-trust-portal.html")
        .replace("main.3f9a1c2e", &format!("main.{n:08x}"))
        .replace("vendors.8d2e", &format!("vendors.{:04x}", n * 7919))
        .replace("20261128.4", &format!("20261128.{n}"))
}

/// `scopewatch check --json` on `harness`: each source's outcome.
fn check(harness: &Harness) -> Vec<Value> {
    let out = scopewatch(&harness.config_path(), &["check", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

fn kinds(outcome: &Value) -> Vec<String> {
    outcome["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_shell_with_churning_bundles_raises_one_event_and_no_content() {
    let builds = Arc::new(AtomicUsize::new(0));
    let served = builds.clone();
    let server =
        Server::start(move |_| Reply::html(portal_build(served.fetch_add(1, Ordering::SeqCst))));
    let harness = Harness::new(&format!(
        "[[source]]\nid = \"portal-front\"\nurl = \"{}\"\ncontent = [\"main\"]\n",
        server.url("/")
    ));
    let first = check(&harness);
    assert_eq!(first[0]["result"], "ok", "{first:?}");
    assert_eq!(first[0]["content_kind"], "script-shell");
    assert_eq!(kinds(&first[0]), ["baseline", "extraction-broken"]);
    let shell_event = &first[0]["events"][1];
    assert_eq!(shell_event["reason"], "script-shell");
    assert!(
        shell_event["advice"]
            .as_str()
            .unwrap()
            .contains("fetch = \"browser\""),
        "{shell_event}"
    );
    for _ in 0..3 {
        let again = check(&harness);
        assert_eq!(again[0]["change"], "noise", "{again:?}");
        assert_eq!(kinds(&again[0]), Vec::<String>::new());
    }
    assert_eq!(builds.load(Ordering::SeqCst), 4);

    // `sources` and `check` say what it is.
    let out = scopewatch(&harness.config_path(), &["sources"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("script shell"), "{listing}");
    let out = scopewatch(&harness.config_path(), &["check"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("script shell"), "{table}");

    // Re-extracting the stored shells gives what was recorded.
    let out = scopewatch(&harness.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
}

#[test]
fn a_page_that_turns_into_a_shell_says_so_once_instead_of_moved() {
    let shell = Arc::new(AtomicBool::new(false));
    let serve_shell = shell.clone();
    let builds = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if serve_shell.load(Ordering::SeqCst) {
            Reply::html(portal_build(builds.fetch_add(1, Ordering::SeqCst)))
        } else {
            Reply::html(
                "<html><body><main><h1>Trust</h1><p>SOC 2 Type II: Azure Bot Service is in scope.</p></main></body></html>",
            )
        }
    });
    let harness = Harness::new(&format!(
        "[[source]]\nid = \"trust\"\nurl = \"{}\"\n",
        server.url("/")
    ));
    assert_eq!(kinds(&check(&harness)[0]), ["baseline"]);
    shell.store(true, Ordering::SeqCst);
    let turned = check(&harness);
    assert_eq!(kinds(&turned[0]), ["extraction-broken"], "{turned:?}");
    assert_eq!(turned[0]["events"][0]["reason"], "script-shell");
    assert_eq!(kinds(&check(&harness)[0]), Vec::<String>::new());
    let out = scopewatch(&harness.config_path(), &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
