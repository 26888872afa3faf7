//! Benchmark (not a test): how long `verify` takes over a ledger of
//! 100,000 entries (every leaf hash, link and record reference, the Merkle
//! root and a signed checkpoint). Run:
//! `cargo run --release --example verify_bench [ENTRIES]`.

use std::time::Instant;

use scopewatch::evidence::{self, Lifecycle, Signer};
use scopewatch::store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
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
        evidence::record_lifecycle(&store, moment)?;
    }
    println!("appended {entries} leaves in {:.2?}", started.elapsed());
    let signer = Signer::locate(None, &db)?;
    let started = Instant::now();
    evidence::checkpoint::sign(&store, &signer)?;
    println!("signed a checkpoint over them in {:.2?}", started.elapsed());
    let started = Instant::now();
    let findings = evidence::verify::verify_store(&store, Some(&signer.verifying_key()))?;
    println!(
        "verified {entries} ledger entries in {:.2?} ({} findings)",
        started.elapsed(),
        findings.len()
    );
    Ok(())
}
