//! A matrix page at the real size, with every quirk, through the whole
//! pipeline: the pairs are exactly the check marks, a lost check mark is
//! one removal, a column renamed over the years is no change at all, and
//! one of the two tables becoming unreadable is a broken extraction, whether
//! the source picks its tables or not.

use crate::common;

use std::sync::{Arc, Mutex};

use common::matrix::{self, CLOUDS, COLUMNS};
use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};
use scopewatch::detect::EventKind;
use scopewatch::scope::ScopeEntry;

const ROWS: usize = 200;

fn expected() -> Vec<ScopeEntry> {
    let mut pairs = Vec::new();
    for (cloud, heading) in CLOUDS.iter().enumerate() {
        for row in 0..ROWS {
            for (col, column) in COLUMNS.iter().enumerate() {
                if matrix::in_scope(cloud, row, col) {
                    let column = if *column == "DoD CC SRG IL 2" {
                        "DoD IL2"
                    } else {
                        column
                    };
                    pairs.push(ScopeEntry::new(
                        format!("{heading} / {column}"),
                        matrix::service(row),
                    ));
                }
            }
        }
    }
    pairs.sort();
    pairs
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_size_matrix_with_every_quirk_over_http() {
    let page = Arc::new(Mutex::new(matrix::page(ROWS, "DoD CC SRG IL 2", None)));
    let served = page.clone();
    let server = Server::start(move |_| Reply::html(served.lock().unwrap().clone()));
    let h = Harness::new(&format!(
        "[scope]\naliases = {{ \"DoD CC SRG IL 2\" = \"DoD IL2\" }}\n{FAST_HTTP}\
         [[source]]\nid = \"audit\"\nurl = \"{}\"\n\
         [source.scope]\nkind = \"matrix\"\ntable = \"table.audit-scope\"\nignore_columns = \"^Planned\"\nprefix_from_heading = true\n",
        server.url("/audit")
    ));

    let report = h.sweep().await;
    assert_eq!(report.failed(), 0);
    let stored: Vec<ScopeEntry> = h
        .store()
        .scope_at(None, &Default::default())
        .unwrap()
        .into_iter()
        .map(|r| ScopeEntry::new(r.certification, r.service))
        .collect();
    assert_eq!(stored.len(), expected().len());
    assert_eq!(
        stored,
        expected(),
        "footnotes, notes, repeated headers, marks, Planned, legend"
    );

    // The column renamed to what the alias already calls it: no scope change.
    *page.lock().unwrap() = matrix::page(ROWS, "DoD IL2", None);
    let report = h.sweep().await;
    assert!(
        report.outcomes[0]
            .events
            .iter()
            .all(|e| e.kind != EventKind::Scope),
        "{report:?}"
    );

    // One check mark lost: exactly one removal.
    let (cloud, row, col) = (1, 17, 1);
    assert!(matrix::in_scope(cloud, row, col));
    *page.lock().unwrap() = matrix::page(ROWS, "DoD IL2", Some((cloud, row, col)));
    let report = h.sweep().await;
    let event = report.outcomes[0]
        .events
        .iter()
        .find(|e| e.kind == EventKind::Scope)
        .unwrap();
    assert_eq!(event.details["added"], serde_json::json!([]));
    assert_eq!(
        event.details["removed"],
        serde_json::json!([{"certification": "Azure Government / FedRAMP High", "service": "Azure Service 017"}])
    );

    // The table replaced by one whose columns are not certifications: broken, not a mass removal.
    *page.lock().unwrap() = matrix::page(ROWS, "DoD IL2", None)
        .replace("FedRAMP Moderate", "Notes")
        .replace("<th>FedRAMP High</th>", "<th>Comments</th>")
        .replace("DoD IL2", "Region")
        .replace("DoD IL4", "Owner")
        .replace("DoD IL5", "Since");
    let report = h.sweep().await;
    let kinds: Vec<&str> = report.outcomes[0]
        .events
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert!(kinds.contains(&"extraction-broken"), "{kinds:?}");
    assert!(!kinds.contains(&"scope"), "{kinds:?}");
}

/// The Azure Government table's marks become images without text. Picked
/// by selector or found among all, the table still has the certification
/// columns of the page's matrices: a broken extraction, never its services
/// read as removed.
#[tokio::test(flavor = "multi_thread")]
async fn a_matrix_whose_marks_cannot_be_read_is_broken_picked_or_not() {
    let page = Arc::new(Mutex::new(matrix::page(20, "DoD IL2", None)));
    let served = page.clone();
    let server = Server::start(move |_| Reply::html(served.lock().unwrap().clone()));
    let scope = "[source.scope]\nkind = \"matrix\"\nignore_columns = \"^Planned\"\nprefix_from_heading = true\n";
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"picked\"\nurl = \"{url}\"\n{scope}table = \"table.audit-scope\"\n\
         [[source]]\nid = \"all\"\nurl = \"{url}\"\n{scope}",
        url = server.url("/audit"),
    ));
    assert_eq!(h.sweep().await.failed(), 0);

    let good = matrix::page(20, "DoD IL2", None);
    let (public, government) = good.split_at(good.find("<h2>Azure Government</h2>").unwrap());
    let mut icons = government.to_string();
    for mark in matrix::MARKS {
        icons = icons.replace(mark, "<img src=\"check.svg\">");
    }
    *page.lock().unwrap() = format!("{public}{icons}");
    let report = h.sweep().await;
    let kinds = |id: &str| -> Vec<&str> {
        let outcome = report.outcomes.iter().find(|o| o.source == id).unwrap();
        outcome.events.iter().map(|e| e.kind.as_str()).collect()
    };
    // Both see the page's text change, and neither a mass removal.
    assert_eq!(kinds("picked"), ["content", "extraction-broken"]);
    assert_eq!(kinds("all"), ["content", "extraction-broken"]);
    let all = report.outcomes.iter().find(|o| o.source == "all").unwrap();
    let broken = all
        .events
        .iter()
        .find(|e| e.kind == EventKind::ExtractionBroken)
        .unwrap();
    assert!(
        broken.summary.contains("can no longer be read"),
        "{}",
        broken.summary
    );
}
