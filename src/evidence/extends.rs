//! `verify BUNDLE --since-checkpoint OLD`: that the bundle's signed log
//! extends a checkpoint the auditor kept from before (an earlier bundle's
//! `ledger/checkpoints/NNNNNN.json`, or its `.txt` with the `.sig` beside
//! it), so nothing that checkpoint covered was rewritten since.
//!
//! A bundle holds every checkpoint of the log and an RFC 6962 consistency
//! proof between each two consecutive ones (`ledger/proofs/consistency.jsonl`).
//! The bundle's checkpoint of OLD's tree size must sign OLD's root, and the
//! proofs from it to the newest checkpoint must hold: each proves its tree
//! a prefix of the next, so together they prove OLD's tree a prefix of the
//! newest. A history rewritten and signed again with the genuine key has
//! another root at OLD's size; one whose checkpoint of that size was left
//! out of the bundle cannot be shown to extend OLD: both are findings.

use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::checkpoint::{self, Checkpoint};
use super::{EvidenceError, Finding};
use crate::ledger::{self, merkle};

/// A checkpoint kept from before: its tree size and root, and its signed
/// text and signature when the file holds them.
#[derive(Debug, Clone)]
pub struct OldCheckpoint {
    /// How findings name it: the file given.
    pub name: String,
    pub tree_size: i64,
    pub root: String,
    /// The signed text and the signature over it, when known.
    signed: Option<(String, Vec<u8>)>,
}

/// The first line of a checkpoint's signed text.
const TEXT_HEADER: &str = "scopewatch checkpoint v1";

/// Reads OLD: a checkpoint's `.json`, or its signed `.txt` (with the
/// `.sig` beside it, when there is one).
pub fn read_old(path: &Path) -> Result<OldCheckpoint, EvidenceError> {
    let bytes = super::bundle_file::read(path, super::bundle_file::MAX_SMALL)
        .map_err(|e| EvidenceError::file(path, e))?;
    let name = path.display().to_string();
    if let Ok(checkpoint) = serde_json::from_slice::<Checkpoint>(&bytes) {
        let signature = hex::decode(&checkpoint.signature).unwrap_or_default();
        return Ok(OldCheckpoint {
            name,
            tree_size: checkpoint.tree_size,
            root: checkpoint.root.clone(),
            signed: Some((checkpoint.text(), signature)),
        });
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .map(str::to_string)
    };
    let (Some(size), Some(root)) = (field("tree_size"), field("root")) else {
        return Err(EvidenceError::file(
            path,
            "not a checkpoint: give a bundle's ledger/checkpoints/NNNNNN.json or .txt",
        ));
    };
    let tree_size = size
        .parse()
        .ok()
        .filter(|_| text.starts_with(TEXT_HEADER) && ledger::parse_hash(&root).is_some())
        .ok_or_else(|| EvidenceError::file(path, "not a checkpoint text"))?;
    let signed =
        super::bundle_file::read(&path.with_extension("sig"), super::bundle_file::MAX_SMALL)
            .ok()
            .map(|signature| (text.clone(), signature));
    Ok(OldCheckpoint {
        name,
        tree_size,
        root,
        signed,
    })
}

/// Whether the log the bundle's `checkpoints` (by id) sign extends `old`,
/// by the consistency proofs `consistency` (the bundle's lines); `key`:
/// the key OLD's signature is checked with, when it has one.
pub(crate) fn check(
    old: &OldCheckpoint,
    checkpoints: &[Checkpoint],
    consistency: &[Value],
    key: Option<&VerifyingKey>,
    findings: &mut Vec<Finding>,
) {
    let concerns = format!("--since-checkpoint {}", old.name);
    let mut problem = |text: String| findings.push(Finding::new(&concerns, text));
    if let (Some((text, signature)), Some(key)) = (&old.signed, key)
        && !checkpoint::verify_signature(key, text.as_bytes(), signature)
    {
        problem(
            "its signature does not verify with the bundle's key: it was signed by another key, or altered"
                .into(),
        );
    }
    let Some(latest) = checkpoints.last() else {
        return;
    };
    if old.tree_size > latest.tree_size {
        problem(format!(
            "it signs {} ledger entries, but the bundle's newest checkpoint {} signs only {}: the log was cut",
            old.tree_size, latest.id, latest.tree_size
        ));
        return;
    }
    let Some(start) = checkpoints
        .iter()
        .position(|c| c.tree_size == old.tree_size)
    else {
        problem(format!(
            "the bundle holds no checkpoint of its tree size ({}), so nothing proves the bundle's log extends it: a checkpoint was left out",
            old.tree_size
        ));
        return;
    };
    let same_size = &checkpoints[start];
    if same_size.root != old.root {
        problem(format!(
            "the bundle's checkpoint {} signs the first {} entries with root {}, but it signed them with root {}: the history it covers was rewritten",
            same_size.id, old.tree_size, same_size.root, old.root
        ));
        return;
    }
    for pair in checkpoints[start..].windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let path: Vec<merkle::Hash> = consistency
            .iter()
            .find(|p| {
                p["first"].as_i64() == Some(a.tree_size)
                    && p["second"].as_i64() == Some(b.tree_size)
            })
            .and_then(|p| p["path"].as_array())
            .map(|path| {
                path.iter()
                    .filter_map(|h| h.as_str().and_then(ledger::parse_hash))
                    .collect()
            })
            .unwrap_or_default();
        let root = |c: &Checkpoint| ledger::parse_hash(&c.root).unwrap_or([0; 32]);
        if a.tree_size > b.tree_size
            || !merkle::verify_consistency(
                a.tree_size as u64,
                b.tree_size as u64,
                &root(a),
                &root(b),
                &path,
            )
        {
            problem(format!(
                "no consistency proof leads from checkpoint {} to checkpoint {}, so the bundle's log is not shown to extend it",
                a.id, b.id
            ));
            return;
        }
    }
    findings.push(Finding::info(
        concerns,
        format!(
            "the bundle's log extends it: checkpoint {} signs its {} entries with its root, and the consistency proofs from there to checkpoint {} (tree size {}) hold",
            same_size.id, old.tree_size, latest.id, latest.tree_size
        ),
    ));
}
