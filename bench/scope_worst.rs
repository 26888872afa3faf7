//! Benchmark (not a test): scope extraction and rename pairing on generated
//! hostile inputs, each built to hit one place where work could grow faster
//! than the input: a JSON element naming thousands of services and
//! certifications (their cross product), a matrix whose long service names
//! are copied into every marked cell, thousands of header rows, a list item
//! naming tens of thousands of environments, one service given thousands of
//! notes, and a version that renames hundreds of certifications with long
//! names and many services each (pairing runs on the store's writer
//! thread), at the most pairing weighs and past it. Prints the time of
//! what each case measures (not the building of its input) and what it
//! found. Run:
//! `cargo run --release --example scope_worst [CASE]` (default: every case);
//! a case that runs away can be cut short with `timeout`.

use std::time::{Duration, Instant};

use scopewatch::extract::{Block, Document, TableRow};
use scopewatch::scope::{
    RawScopeSpec, ScopeEntry, ScopeOutcome, ScopeSet, ScopeSettings, ScopeSpec, diff_scope,
    extract_scope,
};

fn spec(kind: &str) -> ScopeSpec {
    let mut raw = RawScopeSpec {
        kind: Some(kind.into()),
        ..RawScopeSpec::default()
    };
    match kind {
        "json" => {
            raw.service_field = Some("name".into());
            raw.certification_field = Some("certifications".into());
        }
        "list" => raw.certification = Some("SOC 2".into()),
        _ => {}
    }
    ScopeSpec::from_raw(raw).expect("a valid spec")
}

/// Extracts `doc` with `spec`, timed: the time, and what was found.
fn timed(doc: &Document, spec: &ScopeSpec) -> (Duration, String) {
    let start = Instant::now();
    let out = extract_scope(doc, spec, &ScopeSettings::default());
    let elapsed = start.elapsed();
    let found = match out {
        ScopeOutcome::Extracted(set) => format!("{} pairs", set.len()),
        ScopeOutcome::Broken { reason } => format!("broken: {reason}"),
    };
    (elapsed, found)
}

/// One JSON element naming 2,000 services and 2,000 certifications.
fn json_cross_product() -> (Duration, String) {
    let names = |what: &str| -> Vec<String> { (0..2_000).map(|i| format!("{what} {i}")).collect() };
    let doc = Document {
        json: Some(serde_json::json!([{
            "name": names("Service"),
            "certifications": names("Certification"),
        }])),
        ..Document::default()
    };
    timed(&doc, &spec("json"))
}

fn table(rows: Vec<TableRow>) -> Document {
    Document {
        blocks: vec![Block::Table(rows)],
        ..Document::default()
    }
}

fn row(header: bool, cells: Vec<String>) -> TableRow {
    TableRow { header, cells }
}

/// 100 services of 5 KB names, each marked in 500 columns.
fn matrix_name_copies() -> (Duration, String) {
    let mut rows = vec![row(
        true,
        std::iter::once("Service".to_string())
            .chain((0..500).map(|j| format!("Certification {j}")))
            .collect(),
    )];
    for i in 0..100 {
        rows.push(row(
            false,
            std::iter::once(format!("{i} {}", "long service name ".repeat(280)))
                .chain((0..500).map(|_| "✅".to_string()))
                .collect(),
        ));
    }
    timed(&table(rows), &spec("matrix"))
}

/// 5,000 header rows over 5,000 body rows of 10 columns.
fn header_rows() -> (Duration, String) {
    let width = 10;
    let mut rows: Vec<TableRow> = (0..5_000)
        .map(|i| {
            row(
                true,
                (0..width).map(|j| format!("Header {i} {j}")).collect(),
            )
        })
        .collect();
    rows.extend((0..5_000).map(|i| {
        row(
            false,
            std::iter::once(format!("Service {i}"))
                .chain((1..width).map(|_| "✅".to_string()))
                .collect(),
        )
    }));
    timed(&table(rows), &spec("matrix"))
}

fn list_page(items: Vec<String>) -> Document {
    let mut blocks = vec![Block::Heading {
        level: 2,
        text: "In-scope services".into(),
    }];
    blocks.extend(
        items
            .into_iter()
            .map(|text| Block::ListItem { depth: 1, text }),
    );
    Document {
        blocks,
        ..Document::default()
    }
}

/// A list item naming 50,000 environments of one product.
fn environments() -> (Duration, String) {
    let item = (0..50_000)
        .map(|i| format!("Azure Region {i}"))
        .collect::<Vec<_>>()
        .join(", ");
    timed(&list_page(vec![item]), &spec("list"))
}

/// One service listed 20,000 times, each time with another note.
fn notes() -> (Duration, String) {
    let items = (0..20_000)
        .map(|i| format!("Azure Files (see appendix {i})"))
        .collect();
    timed(&list_page(items), &spec("list"))
}

/// `certifications` certifications of 24-word names (the most a name is
/// compared by; no numbers, so no rule rejects a pair early), each with
/// `services` services, all renamed at once, the whole within the budget
/// of names an extracted scope may hold; the comparison of the two
/// versions is timed.
fn rename_pairing(certifications: usize, services: usize) -> (Duration, String) {
    let words: Vec<String> = (0..22).map(|w| format!("q{}", letters(w))).collect();
    let set = |version: &str| {
        let mut entries = Vec::new();
        for c in 0..certifications {
            let name = format!("{version} {} {}", letters(c), words.join(" "));
            for s in 0..services {
                entries.push(ScopeEntry::new(
                    name.clone(),
                    format!("Service {}", letters(c * 7 + s)),
                ));
            }
        }
        ScopeSet::from_entries(entries)
    };
    let (before, after) = (set("Old"), set("New"));
    let start = Instant::now();
    let diff = diff_scope(&before, &after, &ScopeSettings::default());
    let elapsed = start.elapsed();
    (
        elapsed,
        format!(
            "{} certifications renamed, {} added, {} removed",
            diff.certification_renames().count(),
            diff.added.len(),
            diff.removed.len()
        ),
    )
}

/// 200 × 200 certifications of 500 services: the most pairing weighs.
fn rename_at_the_cap() -> (Duration, String) {
    rename_pairing(200, 500)
}

/// 500 × 500 certifications of 200 services: past the cap.
fn rename_past_the_cap() -> (Duration, String) {
    rename_pairing(500, 200)
}

/// A number written in letters ("bcd"), so that it is a word.
fn letters(mut n: usize) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

/// A case: its name, and what runs it (the time of what it measures, and
/// what that found).
type Case = (&'static str, fn() -> (Duration, String));

fn main() {
    let cases: [Case; 7] = [
        ("json-cross-product", json_cross_product),
        ("matrix-name-copies", matrix_name_copies),
        ("header-rows", header_rows),
        ("environments", environments),
        ("notes", notes),
        ("rename-at-the-cap", rename_at_the_cap),
        ("rename-past-the-cap", rename_past_the_cap),
    ];
    let only = std::env::args().nth(1);
    for (name, case) in cases {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (elapsed, found) = case();
        println!("{name:<20} {:>10.3} s  {found}", elapsed.as_secs_f64());
    }
}
