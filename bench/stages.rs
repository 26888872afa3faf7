//! The pure stages, one page at a time: normalising a ~100 KB compliance
//! page (and, for scale, scraper's parse of it alone), hashing it, and
//! extracting the scope of a 200 × 7 audit-scope matrix page (two tables,
//! every quirk); and what extracting in an extraction process (as the
//! sweep does) adds per page, for that page and a ~9 KB one like
//! bench/run.sh's. Run with `cargo bench --bench stages`.

#[path = "../tests/it/common/matrix.rs"]
mod matrix;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scopewatch::extract::{self, ExtractLimits, ExtractRules};
use scopewatch::hash::Digest;
use scopewatch::isolation::{ExtractionBudget, Extractor};
use scopewatch::scope::{RawScopeSettings, RawScopeSpec, ScopeSettings, ScopeSpec, extract_scope};

/// A ~100 KB page: the real Bot Service page repeated, inside site chrome.
fn large_page() -> String {
    let markdown = include_str!(
        "../tests/fixtures/corpus/azure-bot-service-compliance/2024-08-02_d2051d77.md"
    );
    let body: String = std::iter::repeat_n(markdown, 20)
        .collect::<Vec<_>>()
        .join("\n");
    scopewatch::demo::site::render(&body)
}

/// A ~9 KB page: one real compliance offering page inside site chrome.
fn small_page() -> String {
    scopewatch::demo::site::render(include_str!(
        "../tests/fixtures/corpus/azure-bot-service-compliance/2024-08-02_d2051d77.md"
    ))
}

fn stages(c: &mut Criterion) {
    let page = large_page();
    let rules = ExtractRules {
        content: vec![scraper::Selector::parse("main").unwrap()],
        ignore: vec![
            scraper::Selector::parse(".feedback").unwrap(),
            scraper::Selector::parse("time").unwrap(),
        ],
        ..ExtractRules::default()
    };
    let normalise = |page: &str| {
        extract::extract(
            page.as_bytes(),
            Some("text/html"),
            "http://x/",
            &rules,
            &ExtractLimits::default(),
        )
        .unwrap()
    };
    // Each page also through an extraction process, as the sweep runs it:
    // the difference is the isolation's cost per page.
    let extractor = Extractor::new(
        env!("CARGO_BIN_EXE_scopewatch").into(),
        ExtractionBudget::default(),
    );
    let small = small_page();
    for page in [&page, &small] {
        let kb = page.len() / 1024;
        c.bench_function(&format!("normalise {kb} KB HTML page"), |b| {
            b.iter(|| normalise(black_box(page)))
        });
        c.bench_function(
            &format!("normalise {kb} KB HTML page in an extraction process"),
            |b| {
                b.iter(|| {
                    extractor
                        .extract(
                            black_box(page.as_bytes()),
                            Some("text/html"),
                            "http://x/",
                            &rules,
                        )
                        .unwrap()
                })
            },
        );
    }
    // The floor under normalising: scraper's parse into a DOM, alone.
    c.bench_function(
        &format!("parse {} KB HTML page (scraper only)", page.len() / 1024),
        |b| b.iter(|| scraper::Html::parse_document(black_box(&page))),
    );
    c.bench_function(&format!("sha256 {} KB", page.len() / 1024), |b| {
        b.iter(|| Digest::of(black_box(page.as_bytes())))
    });

    let matrix_page = matrix::page(200, "DoD IL2", None);
    let spec = ScopeSpec::from_raw(RawScopeSpec {
        kind: Some("matrix".into()),
        table: Some("table.audit-scope".into()),
        ignore_columns: Some("^Planned".into()),
        prefix_from_heading: Some(scopewatch::scope::RawHeadingPrefix::Flag(true)),
        ..RawScopeSpec::default()
    })
    .unwrap();
    let settings = ScopeSettings::from_raw(RawScopeSettings::default()).unwrap();
    let matrix_rules = ExtractRules {
        scope_tables: Some(scraper::Selector::parse("table.audit-scope").unwrap()),
        ..ExtractRules::default()
    };
    let matrix_document = |page: &str| {
        extract::extract(
            page.as_bytes(),
            Some("text/html"),
            "http://x/",
            &matrix_rules,
            &ExtractLimits::default(),
        )
        .unwrap()
        .document
    };
    let document = matrix_document(&matrix_page);
    c.bench_function(
        "scope: 200 x 7 matrix, two tables (document to pairs)",
        |b| b.iter(|| extract_scope(black_box(&document), &spec, &settings)),
    );
    c.bench_function("scope: 200 x 7 matrix page (HTML bytes to pairs)", |b| {
        b.iter(|| extract_scope(&matrix_document(black_box(&matrix_page)), &spec, &settings))
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
