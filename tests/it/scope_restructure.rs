//! The restructure corpus (tests/fixtures/restructure, built from the real
//! pages by its make.py) end to end: every version served from a loopback
//! server, `scopewatch check` after each, `scopewatch changes --kind scope
//! --json` for what was reported, compared with each series'
//! `expected-scope.txt`. A layout change must never switch the watch off:
//! after a restructure, later real changes are still reported, and a scope
//! nothing can be paired with becomes the reference; only an unreadable
//! page keeps the old one, and says so in `sources`, `status` and `scope`.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::scope_changes::{
    Change, Score, assert_names_each_transition, expected_changes, json_changes, mismatch,
};
use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, html_source, json, markdown_files, scopewatch, stdout};
use scopewatch::demo::site;

/// The scope spec of each series: the matrices as the held-back vendor
/// page is configured (only the documented keys), the list as a list.
fn spec(series: &str) -> &'static str {
    match series {
        "list-table" => "kind = \"list\"\ncertification = \"SOC 2\"\n",
        _ => "kind = \"matrix\"\nprefix_from_heading = true\nignore_columns = \"^Planned\"\n",
    }
}

fn series_dir(series: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/restructure")
        .join(series)
}

/// The versions of a series, in order: (file name, Markdown).
fn versions(series: &str) -> Vec<(String, String)> {
    markdown_files(&series_dir(series))
}

/// A site serving one page, whose Markdown the test swaps between checks.
struct Site {
    page: Arc<Mutex<String>>,
    server: Server,
}

impl Site {
    fn start() -> Site {
        let page = Arc::new(Mutex::new(String::new()));
        let served = page.clone();
        let server = Server::start(move |_| Reply::html(site::render(&served.lock().unwrap())));
        Site { page, server }
    }

    fn show(&self, markdown: &str) {
        *self.page.lock().unwrap() = markdown.to_string();
    }

    fn harness(&self, scope: &str, extra: &str) -> Harness {
        Harness::new(&format!(
            "{FAST_HTTP}{}[source.scope]\n{scope}",
            html_source("page", &self.server.url("/page"), extra)
        ))
    }
}

/// `scopewatch changes --kind KIND --json`, oldest first.
fn events(h: &Harness, kind: &str) -> Vec<serde_json::Value> {
    let out = scopewatch(&h.config_path(), &["changes", "--kind", kind, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let mut events = json(&out).as_array().unwrap().clone();
    events.reverse();
    events
}

/// Runs `check` on each version; returns what each transition reported as
/// scope changes, and the kinds of the other scope-related events.
fn replay(site: &Site, h: &Harness, versions: &[(String, String)]) -> Vec<BTreeSet<Change>> {
    let mut reported = Vec::new();
    let mut seen = 0;
    for (n, (name, markdown)) in versions.iter().enumerate() {
        site.show(markdown);
        let out = scopewatch(&h.config_path(), &["check"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let scope = events(h, "scope");
        let new: Vec<&serde_json::Value> = scope[seen..].iter().collect();
        seen = scope.len();
        assert!(new.len() <= 1, "{name}: one scope event at most: {new:?}");
        if n > 0 {
            reported.push(new.first().map(|e| json_changes(e)).unwrap_or_default());
        }
    }
    reported
}

/// Each series, end to end, against its expected changes.
#[test]
fn every_restructure_transition_reports_exactly_its_changes() {
    let mut total = Score::default();
    let mut wrong = Vec::new();
    for series in ["one-at-a-time", "all-at-once", "list-table"] {
        let site = Site::start();
        let h = site.harness(spec(series), "");
        let versions = versions(series);
        let expected = expected_changes(&series_dir(series));
        assert_names_each_transition(&expected, &versions, series);
        let reported = replay(&site, &h, &versions);
        let mut score = Score::default();
        for ((file, want), got) in expected.iter().zip(&reported) {
            if got != want {
                wrong.push(mismatch(&format!("{series}/{file}"), want, got));
            }
            score.add(want, got);
        }
        println!("{series:<14} {}", score.line());
        // No layout change was taken for a broken page.
        assert_eq!(
            events(&h, "extraction-broken"),
            Vec::<serde_json::Value>::new()
        );
        total.merge(score);
    }
    println!("{:<14} {}", "all", total.line());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The restructure and two later real changes: both are reported, and the
/// answer of `scope` is the page's latest, not the old layout's.
#[test]
fn a_restructure_then_two_real_changes_are_all_reported() {
    let site = Site::start();
    let h = site.harness(spec("all-at-once"), "");
    let versions = versions("all-at-once");
    let reported = replay(&site, &h, &versions);
    let expected = expected_changes(&series_dir("all-at-once"));
    assert_eq!(reported.len(), 3);
    let restructure = &reported[0];
    assert_eq!(
        restructure.iter().filter(|c| !c.contains(" | ")).count(),
        20,
        "one rename per renamed column and section: {restructure:#?}"
    );
    for (later, (file, want)) in reported[1..].iter().zip(&expected[1..]) {
        assert!(!later.is_empty(), "{file}: a later change went unreported");
        assert_eq!(later, want, "{file}");
    }
    let out = scopewatch(
        &h.config_path(),
        &["scope", "--json", "--service", "Microsoft Graph"],
    );
    let rows = json(&out);
    let certifications: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["certification"].as_str().unwrap())
        .collect();
    // Graph left SOC 1 and SOC 2 in the last version; it is still under the
    // renamed ISO 27017 column (the new layout's name).
    assert!(
        certifications.contains(&"Microsoft cloud services / ISO 27017"),
        "{certifications:?}"
    );
    assert!(
        !certifications.iter().any(|c| c.contains("SOC")),
        "{certifications:?}"
    );
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("stale_since").is_none())
    );
    // The history says what `changes` said: each service under a renamed
    // certification renamed with it, then Graph leaving SOC 2.
    let out = scopewatch(
        &h.config_path(),
        &["scope", "history", "--service", "Microsoft Graph", "--json"],
    );
    let history = json(&out);
    let rows: Vec<(&str, &str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["service"] == "Microsoft Graph")
        .map(|r| {
            (
                r["change"].as_str().unwrap(),
                r["certification"].as_str().unwrap(),
                r["from"]["certification"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        rows.contains(&(
            "renamed",
            "Microsoft cloud services / SOC 2",
            "Microsoft cloud services / SOC 2 Type 2"
        )),
        "{rows:#?}"
    );
    assert!(
        rows.contains(&("left", "Microsoft cloud services / SOC 2", "")),
        "{rows:#?}"
    );
}

/// Every certification column renamed to names the old ones share nothing
/// with: nothing can be paired, so the version is `extraction-broken` with
/// a proposed pairing, and it becomes the reference: the next real change
/// is reported against it.
#[test]
fn a_layout_nothing_pairs_with_becomes_the_reference() {
    // Each column under a scheme number no old name has: numbers and
    // levels must stay the same in every rule, so nothing pairs.
    let codes = [
        "FedRAMP",
        "HIPAA/HITECH",
        "ISO/IEC 27001:2013",
        "ISO/IEC 27017:2015",
        "ISO/IEC 27018:2019",
        "PCI DSS Level 1",
        "SOC 1 Type 2",
        "SOC 2 Type 2",
        "SOC 3",
    ];
    let recode = |markdown: &str| {
        markdown
            .lines()
            .map(|line| {
                if !line.starts_with("| Service |") {
                    return line.to_string();
                }
                let mut header = line.to_string();
                for (n, name) in codes.iter().enumerate() {
                    header =
                        header.replace(&format!("| {name} |"), &format!("| Scheme {} |", 101 + n));
                }
                header
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let base = versions("one-at-a-time");
    let site = Site::start();
    let h = site.harness(spec("one-at-a-time"), "");
    site.show(&base[0].1);
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    // The same data, every column renamed beyond recognition.
    site.show(&recode(&base[0].1));
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    let broken = events(&h, "extraction-broken");
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert_eq!(broken[0]["reference"], "replaced");
    let proposed = broken[0]["proposed"].as_array().unwrap();
    assert!(
        proposed
            .iter()
            .any(|p| p["from"] == "Office 365 GCC / FedRAMP"
                && p["to"] == "Office 365 GCC / Scheme 101"),
        "{proposed:#?}"
    );
    assert_eq!(events(&h, "scope"), Vec::<serde_json::Value>::new());
    // A real change later (Griffin leaves the Commercial table): reported,
    // under the new names.
    let griffin = recode(&base[0].1)
        .lines()
        .filter(|l| !l.starts_with("| Griffin |"))
        .collect::<Vec<_>>()
        .join("\n");
    site.show(&griffin);
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    let scope = events(&h, "scope");
    assert_eq!(scope.len(), 1, "{scope:#?}");
    let changes = json_changes(&scope[0]);
    assert!(
        !changes.is_empty()
            && changes
                .iter()
                .all(|c| c.starts_with("- Office 365 Commercial / Scheme")
                    && c.ends_with("| Griffin")),
        "{changes:#?}"
    );
    let out = scopewatch(&h.config_path(), &["sources", "--json"]);
    assert!(json(&out)[0].get("scope_unreadable_since").is_none());
    // The history shows the new reference: the old names left and the
    // new ones entered, then Griffin left.
    let out = scopewatch(
        &h.config_path(),
        &["scope", "history", "--service", "Griffin", "--json"],
    );
    let history = json(&out);
    let rows: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["change"].as_str().unwrap(),
                r["certification"].as_str().unwrap(),
            )
        })
        .collect();
    for row in [
        ("entered", "Office 365 Commercial / SOC 2 Type 2"),
        ("left", "Office 365 Commercial / SOC 2 Type 2"),
        ("entered", "Office 365 Commercial / Scheme 108"),
        ("left", "Office 365 Commercial / Scheme 108"),
    ] {
        assert!(rows.contains(&row), "{row:?} in {rows:#?}");
    }
}

/// A page whose matrix can no longer be read keeps the last readable scope
/// as the reference, and every listing says since when; a reminder follows
/// on the `remind_every` cadence; a readable page ends it.
#[test]
fn an_unreadable_scope_is_flagged_stale_and_reminded() {
    let base = versions("one-at-a-time");
    let site = Site::start();
    let h = site.harness(spec("one-at-a-time"), "remind_every = \"1ms\"");
    site.show(&base[0].1);
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    // The check marks became images without text: no mark is read.
    site.show(&base[0].1.replace("&#x2705;", "![](check.svg)"));
    for _ in 0..2 {
        assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    }
    let broken = events(&h, "extraction-broken");
    assert_eq!(broken.len(), 1, "raised once: {broken:#?}");
    assert_eq!(broken[0]["reference"], "kept");
    let since = broken[0]["detected_at"].as_str().unwrap().to_string();
    assert_eq!(events(&h, "extraction-broken-reminder").len(), 1);

    let out = scopewatch(&h.config_path(), &["sources"]);
    assert!(
        stdout(&out).contains(&format!("scope unreadable since {since}")),
        "{}",
        stdout(&out)
    );
    let out = scopewatch(&h.config_path(), &["sources", "--json"]);
    assert_eq!(json(&out)[0]["scope_unreadable_since"], since.as_str());
    let out = scopewatch(&h.config_path(), &["status", "--json"]);
    assert_eq!(
        json(&out)["scope_unreadable"],
        serde_json::json!([{"source": "page", "since": since}])
    );
    let out = scopewatch(&h.config_path(), &["status"]);
    assert!(stdout(&out).contains(&format!("scope unreadable: page since {since}")));
    let out = scopewatch(&h.config_path(), &["scope", "--json"]);
    let rows = json(&out);
    assert!(
        !rows.as_array().unwrap().is_empty(),
        "the last readable scope"
    );
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["stale_since"] == since.as_str())
    );
    let out = scopewatch(&h.config_path(), &["scope"]);
    assert!(stdout(&out).contains("stale: the scope of page is unreadable since"));
    // The stale mark of every pair of the scope at `at`.
    let stale_marks_at = |at: &str| -> Vec<Option<serde_json::Value>> {
        let out = scopewatch(&h.config_path(), &["scope", "--json", "--at", at]);
        let rows = json(&out).as_array().unwrap().clone();
        assert!(!rows.is_empty(), "the scope at {at}");
        rows.iter().map(|r| r.get("stale_since").cloned()).collect()
    };
    // Before it broke, the answer was not stale.
    let baseline = events(&h, "baseline");
    let before = baseline[0]["detected_at"].as_str().unwrap();
    assert!(stale_marks_at(before).iter().all(Option::is_none));
    // At the time it broke, the answer was already stale, since then.
    let marks = stale_marks_at(&since);
    assert!(
        marks
            .iter()
            .all(|m| m.as_ref().is_some_and(|m| m == since.as_str())),
        "{marks:?}"
    );

    // Readable again: compared with the kept reference, no longer stale.
    site.show(&base[4].1);
    assert!(scopewatch(&h.config_path(), &["check"]).status.success());
    let out = scopewatch(&h.config_path(), &["sources", "--json"]);
    assert!(json(&out)[0].get("scope_unreadable_since").is_none());
    let scope = events(&h, "scope");
    assert_eq!(scope.len(), 1, "{scope:#?}");
    // The same changes as the restructure of the all-at-once series, which
    // goes from the same base to the same version.
    let (_, want) = &expected_changes(&series_dir("all-at-once"))[0];
    assert_eq!(&json_changes(&scope[0]), want);
}
