//! The WARC records each capture of a bundle consists of, checked by
//! `verify BUNDLE`. Which records a metadata record is `WARC-Concurrent-To`
//! is derived from the record hash it names (record ids derive from it,
//! see [`warc::concurrent_slots`]) and from the `record` that hashes to it,
//! which the ledger leaf covers: never from the headers, which anyone
//! holding the bundle can rewrite. Checked here: the header list is
//! exactly those ids in order, each names a record of its type earlier in
//! the file, a portal attempt's metadata call is the exchange the record
//! states byte for byte (rendered again as the export renders it), no
//! WARC-Record-ID occurs twice, and no request, response, revisit,
//! conversion or metadata record is there that no capture derives.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Finding, warc};
use crate::hash::Digest;
use crate::store::{RecordedCall, RecordedPortalCall};

/// The WARC types that belong to a capture.
const CAPTURE_KINDS: [&str; 5] = ["request", "response", "revisit", "conversion", "metadata"];

/// What a metadata record's links resolved to.
#[derive(Default)]
pub(crate) struct Linked {
    /// The attempt's own response or revisit, when it is in the file:
    /// the record holding (or referring to) the capture's body.
    pub own: Option<String>,
    /// The WARC type of the first record it is concurrent to (the
    /// attempt's own, or the metadata call when that is its own capture),
    /// when that record is in the file.
    pub first_kind: Option<String>,
}

/// The records of one WARC file, taken in file order.
pub(crate) struct FileRecords<'a> {
    file: &'a str,
    /// WARC-Record-ID to the record, for the records read so far.
    seen: HashMap<String, &'a warc::WarcRecord>,
    /// The ids the file's metadata records derive.
    derived: HashSet<String>,
    /// The capture records read, with what findings call them.
    held: Vec<(&'a warc::WarcRecord, String)>,
}

impl<'a> FileRecords<'a> {
    pub(crate) fn new(file: &'a str) -> FileRecords<'a> {
        FileRecords {
            file,
            seen: HashMap::new(),
            derived: HashSet::new(),
            held: Vec::new(),
        }
    }

    /// Takes in one record; a second record under an id already read is
    /// a finding, and the first one is kept.
    pub(crate) fn add(
        &mut self,
        concerns: &str,
        record: &'a warc::WarcRecord,
        findings: &mut Vec<Finding>,
    ) {
        let kind = record.header("WARC-Type").unwrap_or_default();
        if CAPTURE_KINDS.contains(&kind) {
            self.held.push((record, concerns.to_string()));
        }
        let Some(id) = record.header("WARC-Record-ID") else {
            return;
        };
        if self.seen.contains_key(id) {
            findings.push(Finding::new(
                concerns,
                format!("a second WARC record has the id {id}: records were added or repeated"),
            ));
        } else {
            self.seen.insert(id.to_string(), record);
        }
    }

    /// Checks the records `metadata` (already added) is about against the
    /// ids derived from the record it names.
    pub(crate) fn link(
        &mut self,
        concerns: &str,
        metadata: &warc::WarcRecord,
        meta: &Value,
        findings: &mut Vec<Finding>,
    ) -> Linked {
        let mut problem = |text: String| {
            findings.push(Finding {
                record_id: meta["record_id"].as_i64(),
                ..Finding::new(concerns, text)
            })
        };
        // Without a `record` hashing to `record_hash` nothing can be
        // derived; the metadata check says why.
        let Some((record_hash, record)) = hashed_record(meta) else {
            return Linked::default();
        };
        let call = record["fetch_details"]
            .as_str()
            .and_then(RecordedPortalCall::parse)
            .map(|portal| portal.metadata);
        let url = record["url"].as_str().unwrap_or_default();
        let slots =
            warc::concurrent_slots(record_hash, url, record["status"].as_i64(), call.as_ref());
        let named: Vec<&str> = metadata
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("WARC-Concurrent-To"))
            .map(|(_, value)| value.as_str())
            .collect();
        let matches = named.len() == slots.len()
            && named
                .iter()
                .zip(&slots)
                .all(|(id, slot)| slot.iter().any(|(_, derived)| derived == id));
        if !matches {
            let expected: Vec<String> = slots
                .iter()
                .map(|slot| {
                    slot.iter()
                        .map(|(_, id)| id.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                })
                .collect();
            problem(format!(
                "its WARC-Concurrent-To [{}] are not the records its capture was archived as ([{}], derived from its record hash): a record was removed, added or swapped",
                named.join(", "),
                expected.join(", ")
            ));
        }
        let mut linked = Linked::default();
        // The record's own capture is rendered apart from the metadata
        // call unless it is that call (as [`warc::concurrent_slots`] says).
        let has_own = call.as_ref().is_none_or(|c| c.url != url);
        for (index, slot) in slots.iter().enumerate() {
            // The id the header names when it is one this slot allows,
            // else every id the slot allows.
            let chosen: Vec<&(&str, String)> = match slot
                .iter()
                .find(|(_, id)| named.get(index) == Some(&id.as_str()))
            {
                Some(named) => vec![named],
                None => slot.iter().collect(),
            };
            self.derived
                .extend(chosen.iter().map(|(_, id)| id.to_string()));
            let found = chosen.iter().find_map(|(kind, id)| {
                self.seen
                    .get(id)
                    .filter(|r| r.header("WARC-Type") == Some(kind))
                    .map(|_| (*kind, id.clone()))
            });
            let is_own = index == 0 && has_own;
            match found {
                Some((kind, id)) => {
                    if index == 0 {
                        linked.first_kind = Some(kind.to_string());
                    }
                    if is_own && kind != "request" {
                        linked.own = Some(id);
                    }
                }
                None if is_own => problem(format!(
                    "the capture's {} record ({}) is not in the archive before its metadata: it was removed",
                    chosen[0].0, chosen[0].1
                )),
                None => problem(format!(
                    "the portal's metadata {} ({}) is not in the archive: it was removed",
                    chosen[0].0,
                    call.as_ref().map_or("", RecordedCall::uri)
                )),
            }
        }
        let id = |kind: &str| warc::record_id(record_hash, kind);
        self.derived.insert(id("metadata"));
        if has_own {
            self.derived.insert(id("request"));
            self.derived.insert(id("conversion"));
        }
        if let Some(call) = &call {
            self.derived.insert(id(warc::PORTAL_METADATA_REQUEST));
            if call.status.is_some() {
                self.derived.insert(id(warc::PORTAL_METADATA_RESPONSE));
            }
            self.check_portal_call(record_hash, call, meta, &mut problem);
        }
        linked
    }

    /// The metadata call as the file holds it against the call as the
    /// record states it, rendered again exactly as the export renders it:
    /// its request, status line, headers, date and peer address, and its
    /// body, whose SHA-256 the record states (an empty one when it states
    /// none).
    fn check_portal_call(
        &self,
        record_hash: &str,
        call: &RecordedCall,
        meta: &Value,
        problem: &mut impl FnMut(String),
    ) {
        let response_id = call
            .status
            .map(|_| warc::record_id(record_hash, warc::PORTAL_METADATA_RESPONSE));
        if meta["portal_metadata_response"].as_str() != response_id.as_deref() {
            problem(
                "the metadata's portal_metadata_response is not the id of its metadata call's response: the metadata was altered"
                    .into(),
            );
        }
        let archived_body = response_id
            .as_ref()
            .and_then(|id| self.seen.get(id))
            .map(|response| warc::http_payload(&response.block));
        if let (Some(raw_hash), Some(body)) = (&call.raw_hash, archived_body)
            && Digest::of(body).to_hex() != *raw_hash
        {
            problem(
                "the portal's metadata response payload is not the body the record hashed: the document's title, version or dates were altered"
                    .into(),
            );
            return;
        }
        let body = call.raw_hash.as_ref().and(archived_body);
        let (rendered, _) =
            warc::render_portal_call(record_hash, &warc::PortalMetadata { call, body });
        for expected in &rendered {
            let id = expected.header("WARC-Record-ID").unwrap_or_default();
            if let Some(archived) = self.seen.get(id)
                && *archived != expected
            {
                problem(format!(
                    "the portal's metadata {} ({}) is not the call the record states (status, headers, date, peer address or body differ): it was altered",
                    expected.header("WARC-Type").unwrap_or_default(),
                    call.uri()
                ));
            }
        }
    }

    /// Every capture record no metadata record of the file derives.
    pub(crate) fn finish(self, findings: &mut Vec<Finding>) {
        for (record, concerns) in self.held {
            let id = record.header("WARC-Record-ID").unwrap_or("(none)");
            if !self.derived.contains(id) {
                findings.push(Finding::new(
                    concerns,
                    format!(
                        "the {} record {id} in {} belongs to no capture of the bundle (no metadata record's record hash derives its id): it was added",
                        record.header("WARC-Type").unwrap_or_default(),
                        self.file
                    ),
                ));
            }
        }
    }
}

/// A metadata record's `record_hash` and the record it is the SHA-256 of,
/// parsed; `None` when it is not (the metadata check names that).
fn hashed_record(meta: &Value) -> Option<(&str, Value)> {
    let record_hash = meta["record_hash"].as_str()?;
    let canonical = meta["record"].as_str()?;
    if Digest::of(canonical.as_bytes()).to_hex() != record_hash {
        return None;
    }
    Some((record_hash, serde_json::from_str(canonical).ok()?))
}
