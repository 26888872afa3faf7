//! `[retention] raw_bodies`: raw bodies whose every capture is older than
//! the period are pruned (the blob's bytes are emptied and `pruned_at` set;
//! its hash, the records and the ledger stay). Every prune is a `prune`
//! leaf naming the body's hash, so `verify` reports the missing bytes as
//! "pruned by policy" and a body emptied without such a leaf as tampering.
//! Texts, diffs and each source's last good body are never pruned: change
//! detection and the reports still need them. Nor is a portal document's
//! metadata body, though a record with the same body gets old: it is the
//! evidence of its attempt's metadata call, which `verify` and the bundle
//! check against the hash the record states.

use std::time::Duration;

use serde_json::json;

use super::EvidenceError;
use crate::clock;
use crate::ledger;
use crate::store::Store;

/// Prunes raw bodies older than `keep`, in one transaction; returns how
/// many were pruned.
pub fn prune(store: &Store, keep: Duration) -> Result<usize, EvidenceError> {
    let now = clock::now();
    // A period longer than time can count back keeps everything.
    let cutoff = chrono::Duration::from_std(keep)
        .ok()
        .and_then(|keep_for| now.checked_sub_signed(keep_for))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let cutoff = clock::format(cutoff);
    let tx = store.write_transaction()?;
    let hashes = tx.prunable_raw_bodies(&cutoff)?;
    let at = clock::format(now);
    let policy = format!("raw_bodies = {}", humantime::format_duration(keep));
    for hash in &hashes {
        tx.prune_blob(hash, &at)?;
        let fields = json!({ "raw_hash": hash, "policy": policy, "cutoff": cutoff });
        ledger::append(&tx, ledger::Leaf::members("prune", &at, None, fields))?;
    }
    tx.commit()?;
    Ok(hashes.len())
}
