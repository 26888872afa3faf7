//! cargo-fuzz target: the configuration parser and validator.
#![no_main]

// Each target calls one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::config(data));
