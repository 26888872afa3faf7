//! The fuzzed entry points, shared by the cargo-fuzz targets in
//! tests/fuzz/fuzz_targets/ and by tests/it/fuzz_replay.rs, which replays the
//! seed corpus and every input a fuzzer found on stable Rust. Each checks
//! more than "no panic": the same input always gives the same result.

use std::path::Path;

use scopewatch::extract::{self, ExtractLimits, ExtractRules};
use scopewatch::scope::{RawScopeSpec, ScopeSettings, ScopeSpec, extract_scope};

/// The content types the first byte of an input picks from.
const CONTENT_TYPES: &[&str] = &[
    "text/html; charset=utf-8",
    "text/markdown",
    "application/json",
    "application/pdf",
    "text/plain",
    "application/octet-stream",
    "text/html; charset=windows-1252",
];

/// Every scope extractor, configured as a source would configure it.
fn scope_specs() -> Vec<ScopeSpec> {
    let raw = |kind: &str| RawScopeSpec {
        kind: Some(kind.to_string()),
        ..RawScopeSpec::default()
    };
    let specs = [
        raw("auto"),
        raw("matrix"),
        RawScopeSpec {
            certification: Some("ISO/IEC 27001".into()),
            ..raw("list")
        },
        RawScopeSpec {
            service: Some("Azure Bot Service".into()),
            ..raw("certifications")
        },
        RawScopeSpec {
            regex: Some(
                r"(?P<service>[A-Z][\w ]+) is in scope for (?P<certification>[\w /-]+)".into(),
            ),
            ..raw("pattern")
        },
    ];
    specs
        .into_iter()
        .map(|s| ScopeSpec::from_raw(s).expect("the fuzzing specs are valid"))
        .collect()
}

/// Extraction of any format, then every scope extractor on the result.
pub fn extract_and_scope(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let rules = ExtractRules::default();
    // The limits the sweep applies by default: fuzzed with libFuzzer's RSS
    // limit at the extraction process's memory ceiling, an input that the
    // caps let through but which needs more memory is a finding.
    let limits = ExtractLimits::default();
    let url = "https://example.com/page";
    let first = extract::extract(body, Some(content_type), url, &rules, &limits);
    let again = extract::extract(body, Some(content_type), url, &rules, &limits);
    match (&first, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a.text, b.text, "extraction is deterministic"),
        (Err(a), Err(b)) => assert_eq!(a, b, "extraction fails the same way every time"),
        _ => panic!("extraction succeeded once and failed once"),
    }
    let Ok(extracted) = first else { return };
    let settings = ScopeSettings::default();
    for spec in scope_specs() {
        let a = format!("{:?}", extract_scope(&extracted.document, &spec, &settings));
        let b = format!("{:?}", extract_scope(&extracted.document, &spec, &settings));
        assert_eq!(a, b, "scope extraction is deterministic");
    }
}

/// The configuration parser and validator on any text.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // No secret files: a fuzzer could name /dev/zero. Such inputs are
    // about the file system, not the parser.
    if text.contains("secret_file") || text.contains("key_file") {
        return;
    }
    let path = Path::new("/nonexistent/scopewatch-fuzz.toml");
    let first = scopewatch::config::parse(&text, path).map_err(|e| e.to_string());
    let again = scopewatch::config::parse(&text, path).map_err(|e| e.to_string());
    assert_eq!(first.is_ok(), again.is_ok());
    if let (Err(a), Err(b)) = (first, again) {
        assert_eq!(a, b, "the same errors every time");
        assert!(
            a.starts_with("/nonexistent/scopewatch-fuzz.toml"),
            "every error names the file: {a}"
        );
    }
}
