//! Bundles the real page versions that `scopewatch demo` serves: writes
//! `$OUT_DIR/demo_corpus.rs`, a table of `include_str!`s of the dated
//! Markdown files under tests/fixtures/corpus, in date order.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

/// The sources the demo replays.
const DEMO_SOURCES: &[&str] = &[
    "azure-bot-service-compliance",
    "ms-compliance-offering-hipaa-hitech",
    "ms-compliance-offering-iso-27001",
    "ms-compliance-offering-pci-dss",
    "ms-compliance-offering-soc-2",
    "ms-compliance-offering-fedramp",
];

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let corpus = Path::new(&manifest).join("tests/fixtures/corpus");
    println!("cargo:rerun-if-changed=tests/fixtures/corpus");
    let mut out = String::from("&[\n");
    for source in DEMO_SOURCES {
        let dir = corpus.join(source);
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.expect("a readable directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .collect();
        files.sort();
        writeln!(out, "    ({source:?}, &[").expect("writing to a String");
        for path in files {
            let name = path.file_name().expect("a file name").to_string_lossy();
            // Relative to the manifest at compile time, not at build-script
            // time: a target directory shared by two checkouts of the same
            // corpus (an experiment's worktree) then reads each checkout's
            // own files, and removing one does not break the other's build.
            let relative = format!("/tests/fixtures/corpus/{source}/{name}");
            writeln!(
                out,
                "        ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {relative:?}))),"
            )
            .expect("writing to a String");
        }
        out.push_str("    ]),\n");
    }
    out.push(']');
    let target =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("demo_corpus.rs");
    fs::write(target, out).expect("writing demo_corpus.rs");
}
