//! Replays the fuzz seed corpus (tests/fuzz/corpus/<target>/) and every
//! input a fuzzer found (tests/fuzz/regressions/<target>/, one file per
//! fixed bug) through the same entry points the cargo-fuzz targets call,
//! so that each fixed finding stays fixed on stable Rust, in CI.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut inputs = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            eprintln!("replaying {}", path.display());
            run(&std::fs::read(&path).unwrap());
            inputs += 1;
        }
    }
    assert!(inputs > 0, "no {target} inputs under {}", root.display());
    println!("FIGURE fuzz-replay {target} {inputs}");
}

#[test]
fn extraction_and_scope_inputs_replay_cleanly() {
    replay("extract", targets::extract_and_scope);
}

#[test]
fn configuration_inputs_replay_cleanly() {
    replay("config", targets::config);
}
