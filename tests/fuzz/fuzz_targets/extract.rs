//! cargo-fuzz target: HTML, Markdown, JSON, PDF and text extraction, and
//! every scope extractor on what they yield.
#![no_main]

// Each target calls one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::extract_and_scope(data));
