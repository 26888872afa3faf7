//! `export` in bounded memory: the bundle of a history is made under a
//! data ceiling that the history's captures and diffs, held together,
//! would not fit in. The ceiling is the one the web view's bundle process
//! (`bundle-worker --memory`) runs under, set low here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::server::{Reply, Server};
use crate::common::{FAST_HTTP, Harness, output_text, scopewatch, scopewatch_bare};

/// Sources, and sweeps of them: every sweep changes every page whole.
const SOURCES: usize = 8;
const SWEEPS: usize = 20;
/// Lines of a page, and characters of a line: a page of about 160 KB,
/// its every capture a WARC response and its every change a diff of
/// about its size, about 100 MB in all.
const LINES: usize = 400;
const LINE_CHARS: usize = 400;
/// The bundle process's data ceiling: a fraction of what the captures
/// and diffs take together, several times what the export needs.
const CEILING: u64 = 40 << 20;

/// A page of `LINES` lines of hex, different for every sweep and source.
fn page(seed: u64, sweep: usize, source: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(seed ^ ((sweep as u64) << 32) ^ source as u64);
    let mut html = String::from("<html><head><title>page</title></head><body><main>\n");
    for _ in 0..LINES {
        html.push_str("<p>");
        for _ in 0..LINE_CHARS / 16 {
            html.push_str(&format!("{:016x}", rng.u64(..)));
        }
        html.push_str("</p>\n");
    }
    html.push_str("</main></body></html>\n");
    html
}

#[test]
fn a_long_history_is_exported_within_a_small_memory_ceiling() {
    let seed = fastrand::u64(..);
    println!("seed {seed}");
    let sweep = Arc::new(AtomicUsize::new(0));
    let serving = sweep.clone();
    let server = Server::start(move |req| {
        let source = req
            .path
            .trim_start_matches("/p")
            .parse::<usize>()
            .unwrap_or(0);
        Reply::html(page(seed, serving.load(Ordering::SeqCst), source))
    });
    let sources: String = (0..SOURCES)
        .map(|i| {
            format!(
                "[[source]]\nid = \"p{i}\"\nurl = \"{}\"\n",
                server.url(&format!("/p{i}"))
            )
        })
        .collect();
    let h = Harness::new(&format!("{FAST_HTTP}{sources}"));
    for n in 0..SWEEPS {
        sweep.store(n, Ordering::SeqCst);
        let out = scopewatch(&h.config_path(), &["check"]);
        assert!(out.status.success(), "{}", output_text(&out));
    }

    let bundle = h.dir.path().join("bundle");
    let key = h.dir.path().join("scopewatch-signing-key.pem");
    let out = scopewatch_bare()
        .arg("--db")
        .arg(h.db_path())
        .arg("bundle-worker")
        .arg("--out")
        .arg(&bundle)
        .arg("--memory")
        .arg(CEILING.to_string())
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"{"result":"written"}"#,
        "{}",
        output_text(&out)
    );
    let archived: u64 = std::fs::read_dir(bundle.join("archive"))
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    let changes = std::fs::metadata(bundle.join("changes.jsonl"))
        .unwrap()
        .len();
    assert!(
        archived + changes > CEILING,
        "the history ({archived} bytes of WARC, {changes} of changes) must not fit the ceiling"
    );
    let verified = scopewatch(&h.config_path(), &["verify", bundle.to_str().unwrap()]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        output_text(&verified)
    );
}
