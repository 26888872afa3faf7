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

use std::collections::HashSet;
use std::time::Duration;

use rusqlite::TransactionBehavior;
use serde_json::json;

use super::{EvidenceError, ledger};
use crate::clock;
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
    let tx = rusqlite::Transaction::new_unchecked(store.conn(), TransactionBehavior::Immediate)?;
    let hashes: Vec<String> = tx
        .prepare(
            // One pass over the records: the last capture of each body.
            "SELECT b.hash FROM blobs b
             JOIN (SELECT raw_hash, MAX(started_at) AS last FROM records
                   WHERE raw_hash IS NOT NULL GROUP BY raw_hash) r ON r.raw_hash = b.hash
             WHERE b.pruned_at IS NULL
               AND r.last < ?1
               AND b.hash NOT IN (SELECT text_hash FROM records WHERE text_hash IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.diff_hash = b.hash)
               AND b.hash NOT IN (SELECT r.raw_hash FROM source_state s
                                  JOIN records r ON r.id = s.last_good_record
                                  WHERE r.raw_hash IS NOT NULL)
               AND b.hash NOT IN (SELECT json_extract(json, '$.portal.metadata.raw_hash')
                                  FROM record_fetch_details
                                  WHERE json_extract(json, '$.portal.metadata.raw_hash') IS NOT NULL)",
        )?
        .query_map([&cutoff], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let at = clock::format(now);
    let policy = format!("raw_bodies = {}", humantime::format_duration(keep));
    for hash in &hashes {
        tx.execute(
            "UPDATE blobs SET data = X'', pruned_at = ?1 WHERE hash = ?2",
            [&at, hash],
        )?;
        let fields = json!({ "raw_hash": hash, "policy": policy, "cutoff": cutoff });
        ledger::append(&tx, "prune", &at, None, ledger::object(fields))?;
    }
    tx.commit()?;
    Ok(hashes.len())
}

/// The hashes (hex) of the blobs pruned by [`prune`].
pub(crate) fn pruned(store: &Store) -> Result<HashSet<String>, EvidenceError> {
    Ok(store
        .conn()
        .prepare("SELECT hash FROM blobs WHERE pruned_at IS NOT NULL")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
