//! Benchmark (not a test): how long `verify` takes over a ledger of
//! 100,000 entries (every leaf hash, link and record reference, the Merkle
//! root and a signed checkpoint), and then over captures whose stored
//! bodies it re-extracts (a ~25 KB scope-matrix page per capture; DISTINCT
//! of them differ, the rest repeat a body as unchanged pages do). Run:
//! `cargo build --release && cargo run --release --example verify_bench [ENTRIES] [CAPTURES] [DISTINCT]`
//! (defaults 100000, 20000, 2000; extraction runs in processes of the
//! `scopewatch` binary beside `examples/`).

use std::sync::Arc;
use std::time::Instant;

use scopewatch::evidence::{self, Signer};
use scopewatch::fetch::Capture;
use scopewatch::ledger::{self, Lifecycle};
use scopewatch::record::{AttemptRecord, AttemptResult, record_attempt};
use scopewatch::store::Store;

fn arg(n: usize, default: usize) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(std::env::args()
        .nth(n)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(default))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entries = arg(1, 100_000)?;
    let captures = arg(2, 20_000)?;
    let distinct = arg(3, 2_000)?.max(1);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let store = Store::open(&db)?;
    let started = Instant::now();
    for i in 0..entries {
        let moment = if i % 2 == 0 {
            Lifecycle::DaemonStart
        } else {
            Lifecycle::DaemonStop
        };
        ledger::record_lifecycle(&store, moment)?;
    }
    println!("appended {entries} leaves in {:.2?}", started.elapsed());
    let signer = Signer::locate(None, &db)?;
    let started = Instant::now();
    evidence::checkpoint::sign(&store, &signer)?;
    println!("signed a checkpoint over them in {:.2?}", started.elapsed());
    let started = Instant::now();
    let key = signer.verifying_key();
    let own = Some((&key, evidence::verify::KeyOrigin::SigningKey));
    let findings = evidence::verify::verify_store(&store, own, None)?.findings;
    println!(
        "verified {entries} ledger entries in {:.2?} ({} findings)",
        started.elapsed(),
        findings.len()
    );
    for finding in &findings {
        println!(
            "  {}: {}",
            if finding.info { "info" } else { "FINDING" },
            finding.problem
        );
    }
    if captures == 0 {
        return Ok(());
    }

    // Captures of 10 sources, recorded as a sweep records them, after the
    // configuration leaf that names their extraction settings.
    let config_path = dir.path().join("scopewatch.toml");
    let sources: String = (0..10)
        .map(|s| format!("[[source]]\nid = \"s{s}\"\nurl = \"https://example.com/{s}\"\ncontent = [\"main\"]\n"))
        .collect();
    std::fs::write(&config_path, &sources)?;
    let config = scopewatch::config::parse(&sources, &config_path)?;
    let worker = std::env::current_exe()?
        .parent()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join("scopewatch"))
        .ok_or("cannot find the scopewatch binary")?;
    let extractor = scopewatch::isolation::Extractor::new(worker, config.limits.clone());
    ledger::record_config(
        &store,
        &ledger::ConfigLeaf {
            config_sha256: &scopewatch::hash::Digest::of(sources.as_bytes()).to_hex(),
            ca_sha256: None,
            tsa_ca_sha256: None,
            extraction: &config.extraction_settings().fingerprints(),
        },
    )?;
    let mut store = store;
    let started = Instant::now();
    for i in 0..captures {
        let source = &config.sources[i % 10];
        let body = page(i % distinct);
        let (extracted, scope) = extractor.extract_page(
            body.as_bytes(),
            Some("text/html"),
            source.url.as_str(),
            &source.rules,
            &source.scope,
            &config.scope,
        )?;
        record_attempt(
            &mut store,
            &AttemptRecord {
                source: source.id.clone(),
                source_url: source.url.to_string(),
                parent: None,
                capture: Capture {
                    status: Some(200),
                    content_type: Some("text/html".into()),
                    ..Capture::begun(source.url.to_string())
                },
                result: AttemptResult::extracted(body.as_bytes(), extracted, scope)?,
                fail_after: 3,
                scope_settings: Arc::clone(&config.scope),
                alerts: Default::default(),
                follow: None,
                via: None,
            },
        )?;
    }
    println!("recorded {captures} captures in {:.2?}", started.elapsed());
    evidence::checkpoint::sign(&store, &signer)?;
    let started = Instant::now();
    let key = signer.verifying_key();
    let own = Some((&key, evidence::verify::KeyOrigin::SigningKey));
    evidence::verify::verify_store(&store, own, None)?;
    println!(
        "verified them without re-extraction in {:.2?}",
        started.elapsed()
    );
    let started = Instant::now();
    let findings = evidence::verify::verify_store(
        &store,
        own,
        Some(evidence::recheck::Reextraction {
            extraction: &config.extraction_settings(),
            tsa_trust: None,
            extractor: &extractor,
        }),
    )?
    .findings;
    println!(
        "verified {entries}+ ledger entries and re-extracted {captures} captures ({distinct} distinct bodies) in {:.2?} ({} findings, {} threads)",
        started.elapsed(),
        findings.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    Ok(())
}

/// A ~25 KB page with a 60 × 4 scope matrix; `n` varies one cell and a line.
fn page(n: usize) -> String {
    let mut html =
        format!("<html><body><main><h1>Compliance offerings</h1><p>Revision {n}</p><table>");
    html.push_str(
        "<tr><th>Service</th><th>ISO 27001</th><th>SOC 2</th><th>PCI DSS</th><th>HIPAA</th></tr>",
    );
    for row in 0..60 {
        let mark = |col: usize| {
            if (row + col + n).is_multiple_of(3) {
                ""
            } else {
                "✓"
            }
        };
        html.push_str(&format!(
            "<tr><td>Service number {row} with a long descriptive name</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            mark(0),
            mark(1),
            mark(2),
            mark(3)
        ));
    }
    html.push_str("</table>");
    html.push_str(
        &"<p>Boilerplate paragraph about the audit programme and its scope. </p>".repeat(150),
    );
    html.push_str("</main></body></html>");
    html
}
