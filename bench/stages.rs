//! The pure stages, one page at a time: normalising a ~100 KB compliance
//! page (and, for scale, scraper's parse of it alone), hashing it, and
//! extracting the scope of a 200 × 7 audit-scope matrix page (two tables,
//! every quirk). Run with `cargo bench --bench stages`.

#[path = "../tests/it/common/matrix.rs"]
mod matrix;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scopewatch::extract::{self, ExtractRules};
use scopewatch::hash::Digest;
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
    c.bench_function(
        &format!("normalise {} KB HTML page", page.len() / 1024),
        |b| {
            b.iter(|| {
                extract::extract(
                    black_box(page.as_bytes()),
                    Some("text/html"),
                    "http://x/",
                    &rules,
                )
                .unwrap()
            })
        },
    );
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
    let document = extract::extract(
        matrix_page.as_bytes(),
        Some("text/html"),
        "http://x/",
        &matrix_rules,
    )
    .unwrap()
    .document;
    c.bench_function(
        "scope: 200 x 7 matrix, two tables (document to pairs)",
        |b| b.iter(|| extract_scope(black_box(&document), &spec, &settings)),
    );
    c.bench_function("scope: 200 x 7 matrix page (HTML bytes to pairs)", |b| {
        b.iter(|| {
            let doc = extract::extract(
                black_box(matrix_page.as_bytes()),
                Some("text/html"),
                "http://x/",
                &matrix_rules,
            )
            .unwrap()
            .document;
            extract_scope(&doc, &spec, &settings)
        })
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
