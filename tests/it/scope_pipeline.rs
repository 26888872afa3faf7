//! Issue 3 acceptance over HTTP: every dated version of every corpus
//! source, rendered as the live site serves it (chrome that changes on
//! every request), replayed in date order through fetch → extract → scope
//! → store → detect. The scope events must be exactly the scope changes
//! each source's `expected-scope.txt` lists (written by reading the
//! versions, not computed), and the known real changes must be reported
//! with the right entries.

use crate::common;

use std::sync::Arc;
use std::sync::Mutex;

use common::scope_changes::{
    Score, assert_names_each_transition, expected_changes, json_changes, mismatch,
};
use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, corpus_dir, corpus_versions, html_source};
use scopewatch::demo::site;
use scopewatch::detect::EventKind;
use scopewatch::scope::ScopeEntry;
use scopewatch::store::EventRow;

const SOURCES: &[(&str, &str)] = &[
    (
        "azure-bot-service-compliance",
        "kind = \"certifications\"\nservice = \"Azure Bot Service\"",
    ),
    (
        "ms-compliance-offering-fedramp",
        "kind = \"list\"\ncertification = \"FedRAMP\"",
    ),
    (
        "ms-compliance-offering-hipaa-hitech",
        "kind = \"list\"\ncertification = \"HIPAA/HITECH\"",
    ),
    (
        "ms-compliance-offering-iso-27001",
        "kind = \"list\"\ncertification = \"ISO/IEC 27001\"",
    ),
    (
        "ms-compliance-offering-iso-27017",
        "kind = \"list\"\ncertification = \"ISO/IEC 27017\"",
    ),
    (
        "ms-compliance-offering-iso-27018",
        "kind = \"list\"\ncertification = \"ISO/IEC 27018\"",
    ),
    (
        "ms-compliance-offering-iso-27701",
        "kind = \"list\"\ncertification = \"ISO/IEC 27701\"",
    ),
    (
        "ms-compliance-offering-pci-dss",
        "kind = \"list\"\ncertification = \"PCI DSS\"",
    ),
    (
        "ms-compliance-offering-soc-1",
        "kind = \"list\"\ncertification = \"SOC 1\"",
    ),
    (
        "ms-compliance-offering-soc-2",
        "kind = \"list\"\ncertification = \"SOC 2\"",
    ),
    (
        "ms-compliance-offering-soc-3",
        "kind = \"list\"\ncertification = \"SOC 3\"",
    ),
];

/// Replays one source through HTTP; returns, per version, the scope event
/// its sweep raised (if any).
async fn replay(source: &str, scope_config: &str) -> (Harness, Vec<(String, Option<EventRow>)>) {
    let current = Arc::new(Mutex::new(String::new()));
    let page = current.clone();
    let server = Server::start(move |_| Reply::html(site::render(&page.lock().unwrap())));
    let h = Harness::new(&format!(
        "[scope]\nwatch = [\"Azure Bot Service\"]\n{FAST_HTTP}{}[source.scope]\n{scope_config}\n",
        html_source("s", &server.url("/page"), "")
    ));
    let mut seen = Vec::new();
    for (name, markdown) in corpus_versions(source) {
        *current.lock().unwrap() = markdown;
        let report = h.sweep().await;
        assert_eq!(report.failed(), 0, "{source}/{name}: {report:?}");
        let events = &report.outcomes[0].events;
        assert!(
            !events.iter().any(|e| e.kind == EventKind::ExtractionBroken),
            "{source}/{name}: {events:?}"
        );
        let scope = events.iter().find(|e| e.kind == EventKind::Scope).cloned();
        seen.push((name, scope));
    }
    (h, seen)
}

fn entries(event: &EventRow, field: &str) -> Vec<ScopeEntry> {
    serde_json::from_value(event.details[field].clone()).unwrap()
}

fn pair(certification: &str, service: &str) -> ScopeEntry {
    ScopeEntry::new(certification, service)
}

/// Scope events over HTTP are exactly the changes each source's
/// `expected-scope.txt` says its versions make (written by reading them).
#[tokio::test(flavor = "multi_thread")]
async fn every_corpus_version_over_http_gives_exactly_the_real_scope_changes() {
    let mut total = Score::default();
    let mut wrong = Vec::new();
    for (source, scope_config) in SOURCES {
        let (h, seen) = replay(source, scope_config).await;
        let expected = expected_changes(&corpus_dir(source));
        assert_names_each_transition(&expected, &seen, source);
        for ((file, want), (_, event)) in expected.iter().zip(&seen[1..]) {
            let got = event
                .as_ref()
                .map(|e| json_changes(&serde_json::Value::Object(e.details.clone())))
                .unwrap_or_default();
            if got != *want {
                wrong.push(mismatch(&format!("{source}/{file}"), want, &got));
            }
            total.add(want, &got);
        }
        assert!(h.store().verify_chain().unwrap().is_empty());
    }
    println!("over HTTP: {}", total.line());
    assert_eq!(total.transitions, 130, "every transition of the corpus");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bot_service_has_one_scope_change_in_ten_publishes() {
    let (_, seen) = replay(SOURCES[0].0, SOURCES[0].1).await;
    let changes: Vec<_> = seen
        .iter()
        .filter_map(|(name, e)| e.as_ref().map(|e| (name, e)))
        .collect();
    assert_eq!(
        changes.len(),
        1,
        "nine of ten transitions, the 2023 rebrand included, are not scope changes"
    );
    let (name, event) = changes[0];
    assert!(name.starts_with("2021-08-09"));
    let bot = "Azure Bot Service";
    assert_eq!(
        entries(event, "added"),
        [
            pair("Chapter 508", bot),
            pair("EN 301 549", bot),
            pair("WCAG 2.1", bot)
        ]
    );
    assert_eq!(entries(event, "removed"), [pair("WCAG 2.0", bot)]);
    assert_eq!(
        event.severity.as_deref(),
        Some("high"),
        "Azure Bot Service is watched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn soc2_drops_microsoft_graph_and_hipaa_adds_windows_365() {
    let (_, soc2) = replay(SOURCES[9].0, SOURCES[9].1).await;
    let (_, event) = soc2
        .iter()
        .find(|(name, _)| name.starts_with("2022-04-08"))
        .unwrap();
    let removed = entries(event.as_ref().unwrap(), "removed");
    assert!(
        removed.contains(&pair("SOC 2", "Microsoft Graph")),
        "{removed:?}"
    );

    let (_, hipaa) = replay(SOURCES[2].0, SOURCES[2].1).await;
    let (_, event) = hipaa
        .iter()
        .find(|(name, _)| name.starts_with("2021-11-30"))
        .unwrap();
    let event = event.as_ref().unwrap();
    assert_eq!(
        entries(event, "added"),
        [pair("HIPAA/HITECH", "Windows 365")]
    );
    assert_eq!(entries(event, "removed"), []);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_statement_as_pdf_extracts_the_same_pairs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let pdf = std::fs::read(format!("{dir}statement.pdf")).unwrap();
    // The page-break marker is for the PDF printer only.
    let markdown = std::fs::read_to_string(format!("{dir}statement.md"))
        .unwrap()
        .replace("<<page>>\n", "");
    let server = Server::start(move |req| match req.path.as_str() {
        "/statement.pdf" => Reply::ok("application/pdf", pdf.clone()),
        _ => Reply::html(site::render(&markdown)),
    });
    let spec = "[source.scope]\nkind = \"list\"\ncertification = \"HIPAA/HITECH\"\n";
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"pdf\"\nurl = \"{}\"\n{spec}{}{spec}",
        server.url("/statement.pdf"),
        html_source("html", &server.url("/statement"), "")
    ));
    assert_eq!(h.sweep().await.failed(), 0);
    let store = h.store();
    let pdf_pairs = store.scope_at(None, &Default::default()).unwrap();
    let of = |source: &str| -> Vec<ScopeEntry> {
        pdf_pairs
            .iter()
            .filter(|p| p.source == source)
            .map(|p| pair(&p.certification, &p.service))
            .collect()
    };
    // 13 list items; "Azure and Azure Government", "Dynamics 365 and
    // Dynamics 365 U.S. Government" and "Office 365, Office 365 U.S.
    // Government" name two environments each.
    assert_eq!(of("pdf").len(), 16);
    assert_eq!(of("pdf"), of("html"));
    assert!(of("pdf").contains(&pair("HIPAA/HITECH", "Windows 365")));
}
