//! `verify BUNDLE --config FILE`: re-extraction of a bundle's captures. A
//! bundle holds each capture's body (its WARC `response`, or the response
//! an identical-payload `revisit` points at), what the capture produced
//! (the WARC `metadata` record's `text_hash`, which the ledger leaf also
//! holds, and the `scope_hash` and entries of its `scope/<source>.jsonl`
//! line) and the `config` ledger leaves with the extraction fingerprints,
//! but not the settings: FILE gives them. The decisions (settings in
//! force, replay of scope detection) are [`super::recheck`]'s.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::event_check::ScopeLines;
use super::recheck::{self, Body, Capture, History, Recheck, Stored};
use super::warc::{self, WarcRecord};
use super::{EvidenceError, Finding};
use crate::hash::Digest;
use crate::scope::ScopeSet;

/// The captures of a bundle's WARC files, collected while they are checked.
#[derive(Default)]
pub(crate) struct Captures {
    captures: Vec<Capture>,
    /// Response payloads by their SHA-256 (hex).
    bodies: HashMap<String, Vec<u8>>,
    /// WARC-Record-ID of a response or identical-payload revisit to the
    /// SHA-256 of its payload.
    payloads: HashMap<String, String>,
}

impl Captures {
    /// Takes in one WARC record (in file order: a response comes before
    /// the revisits and the metadata record that refer to it).
    /// `own`: for a metadata record, its attempt's own response or
    /// revisit as [`super::capture_links`] derived it, when in the file.
    pub(crate) fn add(
        &mut self,
        concerns: &str,
        record: &WarcRecord,
        own: Option<&str>,
        findings: &mut Vec<Finding>,
    ) {
        let id = record.header("WARC-Record-ID").unwrap_or_default();
        match record.header("WARC-Type") {
            Some("response") => {
                let payload = warc::http_payload(&record.block);
                let hash = Digest::of(payload).to_hex();
                self.bodies
                    .entry(hash.clone())
                    .or_insert_with(|| payload.to_vec());
                // A repeated id is a finding; the first record stands.
                self.payloads.entry(id.to_string()).or_insert(hash);
            }
            Some("revisit") => {
                if let Some(hash) = record
                    .header("WARC-Refers-To")
                    .and_then(|first| self.payloads.get(first))
                {
                    let hash = hash.clone();
                    self.payloads.entry(id.to_string()).or_insert(hash);
                }
            }
            Some("metadata") => {
                if let Ok(meta) = serde_json::from_slice::<Value>(&record.block) {
                    self.add_metadata(concerns, own, &meta, findings);
                }
            }
            _ => {}
        }
    }

    /// The SHA-256 (hex) of the body a capture holds: the payload of its
    /// own response `own` (derived from its record hash, see
    /// [`super::capture_links`]), or of the response that revisit refers
    /// to. None without one: a portal attempt that downloaded nothing, or
    /// whose call failed, has no response holding its own body.
    pub(crate) fn payload_of(&self, own: Option<&str>) -> Option<&str> {
        own.and_then(|id| self.payloads.get(id)).map(String::as_str)
    }

    fn add_metadata(
        &mut self,
        concerns: &str,
        own: Option<&str>,
        meta: &Value,
        findings: &mut Vec<Finding>,
    ) {
        let (Some(id), Some(source), Some(outcome)) = (
            meta["record_id"].as_i64(),
            meta["source"].as_str(),
            meta["outcome"].as_str(),
        ) else {
            findings.push(Finding::new(
                concerns,
                "the metadata record lacks record_id, source or outcome",
            ));
            return;
        };
        let text_hash = meta["text_hash"].as_str().map(str::to_string);
        let body = self.payload_of(own).map(str::to_string);
        let pruned = body.as_deref().is_some_and(|p| pruned_by_policy(meta, p));
        let extracted = outcome == "ok" && text_hash.is_some() && !pruned;
        if extracted && body.is_none() {
            findings.push(Finding {
                record_id: Some(id),
                ..Finding::new(
                    concerns,
                    "the capture's response record is not in the archive, so its body cannot be re-extracted: it was removed",
                )
            });
        }
        self.captures.push(Capture {
            id,
            source: source.to_string(),
            outcome: outcome.to_string(),
            body: body.filter(|_| extracted),
            text_hash,
            scope_hash: None,
            content_type: meta["content_type"].as_str().map(str::to_string),
            final_url: meta["final_url"]
                .as_str()
                .or(meta["url"].as_str())
                .unwrap_or_default()
                .to_string(),
        });
    }

    /// Re-extracts the captures with the configuration's settings and compares them
    /// with the bundle's `scope/` lines and `leaves` (by seq).
    pub(crate) fn recheck(
        mut self,
        scope: ScopeLines,
        leaves: &HashMap<i64, Value>,
        reextraction: Option<recheck::Reextraction<'_>>,
    ) -> Result<Recheck, EvidenceError> {
        let Some(reextraction) = reextraction else {
            return Ok(recheck::no_config());
        };
        let ScopeLines { scope_of, sets } = scope;
        for capture in &mut self.captures {
            capture.scope_hash = scope_of.get(&capture.id).cloned();
        }
        self.captures.sort_by_key(|c| c.id);
        let mut ordered: Vec<(i64, &Value)> = leaves.iter().map(|(s, l)| (*s, l)).collect();
        ordered.sort_by_key(|(seq, _)| *seq);
        let mut stored = Bundle {
            bodies: self.bodies,
            sets,
        };
        // A bundle may start after a source's first capture.
        recheck::recheck(
            &self.captures,
            &mut stored,
            ordered,
            reextraction,
            History::Partial,
        )
    }
}

/// SHA-256 (hex) of no bytes: the payload of a response whose body was pruned.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Whether a capture was exported with its body pruned by `[retention]`:
/// its metadata says `raw_pruned` and its response holds no body. A body
/// beside the mark is checked, and re-extracted, like any other.
pub(crate) fn pruned_by_policy(meta: &Value, payload: &str) -> bool {
    meta["raw_pruned"] == true && payload == EMPTY_SHA256
}

/// Every `scope/<source>.jsonl` line: record id to scope hash, and scope
/// hash to its entries (JSON).
pub(crate) fn scope_lines(dir: &Path, findings: &mut Vec<Finding>) -> ScopeLines {
    let mut scope_of = HashMap::new();
    let mut sets: HashMap<String, String> = HashMap::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("scope"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files {
        let name = format!(
            "scope/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let text = match super::bundle_file::read_to_string(&path, super::bundle_file::MAX_FILE) {
            Ok(text) => text,
            Err(e) => {
                findings.push(Finding::new(&name, format!("cannot be read: {e}")));
                continue;
            }
        };
        for (number, line) in text.lines().enumerate() {
            let parsed = serde_json::from_str::<Value>(line).ok();
            let Some((id, hash, entries)) = parsed.as_ref().and_then(|l| {
                Some((
                    l["record_id"].as_i64()?,
                    l["scope_hash"].as_str()?,
                    &l["entries"],
                ))
            }) else {
                findings.push(Finding::new(
                    format!("{name} line {}", number + 1),
                    "not a scope line (record_id, scope_hash, entries)",
                ));
                continue;
            };
            scope_of.insert(id, hash.to_string());
            let entries = entries.to_string();
            // Two lines naming one set with different entries: keep the
            // one that does not hash to its name, so it is reported.
            let keep = sets
                .get(hash)
                .is_none_or(|kept| kept != &entries && hashes_to(kept, hash));
            if keep {
                sets.insert(hash.to_string(), entries);
            }
        }
    }
    ScopeLines { scope_of, sets }
}

fn hashes_to(json: &str, hash: &str) -> bool {
    serde_json::from_str::<ScopeSet>(json).is_ok_and(|set| set.hash() == hash)
}

/// A bundle's bodies and scope sets, as re-extraction reads them.
struct Bundle {
    bodies: HashMap<String, Vec<u8>>,
    sets: HashMap<String, String>,
}

impl Stored for Bundle {
    fn body(&mut self, hash: &str) -> Result<Body, EvidenceError> {
        self.bodies
            .get(hash)
            .map(|bytes| Body::Plain(bytes.clone()))
            .ok_or_else(|| EvidenceError::Damaged(format!("no response payload {hash}")))
    }

    fn scope_set_json(&mut self, hash: &str) -> Result<Option<String>, EvidenceError> {
        Ok(self.sets.get(hash).cloned())
    }
}
