//! The bundle's `report.html` as an auditor reads it: the summary, every
//! scope change with its complete added and removed lists, dated diff
//! headers, and page text escaped, never markup.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};

/// A service name a hostile page could state.
const HOSTILE: &str = r#"<script>alert("x")</script> & <img src=x onerror=alert(1)> Co"#;

/// The page's list of services in scope of SOC 2, in version `version`:
/// the first keeps services 0-29 (and the hostile one), the second drops
/// 0-24 and adds 100-139, and edits a paragraph.
fn page(version: usize) -> String {
    let services: Vec<String> = match version {
        0 => (0..30).map(|i| format!("Service {i:03}")).collect(),
        _ => (25..30)
            .chain(100..140)
            .map(|i| format!("Service {i:03}"))
            .collect(),
    };
    let items: String = services
        .iter()
        .map(|s| format!("<li>{s}</li>"))
        .chain(std::iter::once(format!(
            "<li>{}</li>",
            HOSTILE
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        )))
        .collect();
    let paragraph = if version == 0 {
        "Audited yearly."
    } else {
        "Audited twice a year."
    };
    format!("<main><h1>SOC 2</h1><p>{paragraph}</p><h2>In scope</h2><ul>{items}</ul></main>")
}

#[test]
fn the_report_lists_every_scope_change_in_full_with_dates_and_escapes_page_text() {
    let version = Arc::new(AtomicUsize::new(0));
    let served = version.clone();
    let server = Server::start(move |_| Reply::html(page(served.load(Ordering::SeqCst))));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"soc\"\nurl = \"{}\"\n[source.scope]\nkind = \"list\"\ncertification = \"SOC 2\"\n",
        server.url("/soc")
    ));
    for next in [0, 1] {
        version.store(next, Ordering::SeqCst);
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    }
    let bundle = common::export_bundle(&h);
    let html = std::fs::read_to_string(bundle.join("report.html")).unwrap();

    // The summary: verification at export, the key, the checkpoint.
    let shown = scopewatch(&h.config_path(), &["key", "show"]);
    assert!(common::stdout(&shown).starts_with("-----BEGIN PUBLIC KEY-----"));
    let key_id = common::stderr(&shown)
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    assert!(
        html.contains(&format!("key id <code>{key_id}</code>")),
        "{key_id}: {html}"
    );
    assert!(
        html.contains("<th>Verification at export</th><td><span class=\"ok\">passed</span>"),
        "{html}"
    );
    assert!(html.contains("<th>Newest checkpoint</th>"), "{html}");

    // The scope change with its complete lists, in its own section.
    let changes = section(&html, "scope-changes");
    assert!(
        changes.contains("severity <span class=\"sev-medium\">medium</span>"),
        "{changes}"
    );
    assert!(changes.contains("<h4>Added (40)</h4>"), "{changes}");
    assert!(changes.contains("<h4>Removed (25)</h4>"), "{changes}");
    for i in (0..25).chain(100..140) {
        assert!(
            changes.contains(&format!("<td>SOC 2</td><td>Service {i:03}</td>")),
            "service {i} is missing from the scope change: {changes}"
        );
    }
    let dated = regex::Regex::new(
        r"Between the capture of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(record 1\) and that of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(record 2\)",
    )
    .unwrap();
    assert!(dated.is_match(changes), "{changes}");

    // The scope as of the export: the 45 pairs of the newest statement,
    // and the 25 no longer in scope.
    let now = section(&html, "scope");
    assert!(now.contains("46 pairs."), "{now}");
    assert!(now.contains("No longer in scope: 25 pairs"), "{now}");

    // Every diff column is headed by the date of its capture.
    let content = section(&html, "content-changes");
    let header = regex::Regex::new(
        r"<th>Before: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(record 1\)</th><th>After: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(record 2\)</th>",
    )
    .unwrap();
    assert!(header.is_match(content), "{content}");
    assert!(!content.contains("snapshot"), "{content}");
    assert!(content.contains("Audited twice a year."), "{content}");

    // Page text is data: escaped wherever it appears, never markup.
    assert!(
        html.contains(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt; Co"
        ),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("Content-Security-Policy"), "{html}");
    assert!(html.contains("@media print"), "{html}");
}

/// The report's section from `<h2 id="ID">` to the next `<h2`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<h2 id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let rest = &html[start + 4..];
    &html[start..start + 4 + rest.find("<h2").unwrap_or(rest.len())]
}
