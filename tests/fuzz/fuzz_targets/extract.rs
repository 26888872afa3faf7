//! cargo-fuzz target: HTML, Markdown, JSON, PDF and text extraction, and
//! every scope extractor on what they yield.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::extract_and_scope(data));
