//! Verification: of the live store (the record chain and blobs, the
//! ledger's leaves and links, every leaf's reference to its record, and the
//! Merkle root against every signed checkpoint) and of an exported bundle
//! (see [`verify_bundle`]). Every problem is collected and named by what it
//! concerns; nothing stops at the first.

use std::collections::{HashMap, HashSet};

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::checkpoint::{self, Checkpoint, key_id};
use super::ledger::{self, Entry};
use super::merkle::Tree;
use super::{EvidenceError, Finding};
use crate::store::Store;

/// Everything `scopewatch verify` checks in the live store; `key` is the
/// public key checkpoints must be signed with.
pub fn verify_store(
    store: &Store,
    key: Option<&VerifyingKey>,
) -> Result<Vec<Finding>, EvidenceError> {
    let mut findings: Vec<Finding> = store
        .verify_chain()?
        .into_iter()
        .map(|f| Finding::record(f.record_id, f.problem))
        .collect();
    let conn = store.conn();
    let entries = ledger::entries(conn, 0, i64::MAX)?;
    let records: HashMap<i64, String> = conn
        .prepare("SELECT id, record_hash FROM records")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    findings.extend(check_ledger(&entries, &records));
    findings.extend(check_checkpoints(&entries, &checkpoint::all(conn)?, key));
    Ok(findings)
}

/// The leaves' hashes, links and order, and each capture or failure leaf
/// against the record it names (`records`: id to record_hash).
pub fn check_ledger(entries: &[Entry], records: &HashMap<i64, String>) -> Vec<Finding> {
    let (problems, _) = ledger::check_entries(entries);
    let mut findings: Vec<Finding> = problems
        .into_iter()
        .map(|p| Finding::new(format!("ledger entry {}", p.seq), p.problem))
        .collect();
    let mut referenced = HashSet::new();
    let mut first_referenced = None;
    for entry in entries {
        let Ok(leaf) = serde_json::from_str::<Value>(&entry.leaf) else {
            continue;
        };
        if !matches!(leaf["type"].as_str(), Some("capture" | "failure")) {
            continue;
        }
        let (Some(id), Some(hash)) = (leaf["record_id"].as_i64(), leaf["record_hash"].as_str())
        else {
            findings.push(Finding::new(
                format!("ledger entry {}", entry.seq),
                "a capture leaf without record_id and record_hash",
            ));
            continue;
        };
        referenced.insert(id);
        first_referenced = Some(first_referenced.map_or(id, |f: i64| f.min(id)));
        match records.get(&id) {
            None => findings.push(Finding {
                concerns: format!("ledger entry {}", entry.seq),
                record_id: Some(id),
                problem: format!("names record {id}, which is missing: the record was deleted"),
            }),
            Some(stored) if stored != hash => findings.push(Finding {
                concerns: format!("ledger entry {}", entry.seq),
                record_id: Some(id),
                problem: format!(
                    "names record {id} with hash {hash}, but the record's hash is now {stored}: the record was replaced"
                ),
            }),
            Some(_) => {}
        }
    }
    // Records from before the ledger existed have no leaf; any later one must.
    if let Some(first) = first_referenced {
        let mut unlogged: Vec<i64> = records
            .keys()
            .filter(|id| **id > first && !referenced.contains(id))
            .copied()
            .collect();
        unlogged.sort_unstable();
        for id in unlogged {
            findings.push(Finding::record(
                id,
                "the record has no ledger entry: it was added outside scopewatch, or its ledger entry is gone",
            ));
        }
    }
    findings
}

/// Every checkpoint's signature against `key`, and its root against the
/// ledger's leaves as stored.
pub fn check_checkpoints(
    entries: &[Entry],
    checkpoints: &[Checkpoint],
    key: Option<&VerifyingKey>,
) -> Vec<Finding> {
    let (_, hashes) = ledger::check_entries(entries);
    let size = hashes.len() as i64;
    let tree = Tree::new(hashes);
    let mut findings = Vec::new();
    let Some(key) = key else {
        if !checkpoints.is_empty() {
            findings.push(Finding::new(
                "checkpoints",
                "no public key to check the signatures with: the signing key is missing; pass --key public-key.pem",
            ));
        }
        return findings;
    };
    let expected_key = key_id(key);
    let mut previous_size = 0;
    for checkpoint in checkpoints {
        let concerns = format!(
            "checkpoint {} (tree size {})",
            checkpoint.id, checkpoint.tree_size
        );
        let mut problem = |text: String| findings.push(Finding::new(concerns.clone(), text));
        if !checkpoint.signed_by(key) {
            if checkpoint.key_id != expected_key {
                problem(format!(
                    "signed by another key (key id {}), not the pinned key {expected_key}: the checkpoint was re-signed",
                    checkpoint.key_id
                ));
            } else {
                problem(
                    "the signature does not verify: the checkpoint or its signature was altered"
                        .into(),
                );
            }
        }
        if checkpoint.tree_size < previous_size {
            problem(format!(
                "the tree shrank from {previous_size} to {} entries: checkpoints were reordered or replaced",
                checkpoint.tree_size
            ));
        }
        previous_size = checkpoint.tree_size;
        if checkpoint.tree_size > size {
            problem(format!(
                "it signed {} ledger entries but only {size} exist: the ledger was truncated at the tail",
                checkpoint.tree_size
            ));
        } else if hex::encode(tree.root(checkpoint.tree_size as usize)) != checkpoint.root {
            problem(format!(
                "the first {} ledger entries no longer hash to the signed root: the ledger was rewritten",
                checkpoint.tree_size
            ));
        }
    }
    findings
}

/// Reads a public key (SubjectPublicKeyInfo PEM) to pin.
pub fn read_public_key(path: &std::path::Path) -> Result<VerifyingKey, EvidenceError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvidenceError::file(path, e))?;
    checkpoint::parse_public_pem(&text).ok_or_else(|| {
        EvidenceError::file(
            path,
            "not an Ed25519 public key in PEM (`scopewatch key show` prints one)",
        )
    })
}
