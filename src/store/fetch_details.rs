//! How an attempt was fetched when not by one GET, recorded with it: the
//! browser that rendered the page, or the portal's metadata call (its body
//! a blob of its own) and the document version it named. Written as the
//! JSON its record hashes (`fetch_details`, see `chain`), in the record's
//! transaction; read back for the version a portal source last downloaded,
//! and by the evidence ([`RecordRow::portal_call`]), which renders the
//! metadata call as a capture of its own.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PackedBlob, RecordRow, Result, Store, blob};
use crate::clock;
use crate::detect::NewVersion;
use crate::fetch::{Capture, FetchOutcome};

/// How an attempt was fetched, when not by one GET.
#[derive(Debug, Clone)]
pub enum FetchedVia {
    /// Rendered in a browser: which one (when it came up), and the requests
    /// of the page the address policy refused.
    Browser {
        chromium: Option<String>,
        refused: Vec<String>,
    },
    /// A portal document, through the portal's API.
    Portal(Box<PortalCall>),
}

/// A portal document's metadata call, besides the download (or its
/// absence) that is the record's own capture.
#[derive(Debug, Clone)]
pub struct PortalCall {
    /// The portal (`service-trust`).
    pub portal: &'static str,
    /// The document's id (its series' GUID).
    pub document: String,
    /// How the metadata call went; its body is `metadata_body`.
    pub metadata: Capture,
    pub metadata_body: Option<PackedBlob>,
    /// The live version the metadata named, when it was readable.
    pub live: Option<PortalVersion>,
    /// The `new-version` event to raise, when the live version changed.
    pub new_version: Option<NewVersion>,
}

/// A version of a portal document, as its metadata named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalVersion {
    pub id: String,
    pub when_last_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl FetchedVia {
    /// Where a page fetched so is, for change detection, when that is not the
    /// URL it was received from: each version of a portal document has its own
    /// download URL, so the document (`service-trust document <guid>`) is what
    /// a `moved` event compares.
    pub fn location(&self) -> Option<String> {
        match self {
            FetchedVia::Portal(call) => Some(document_location(call.portal, &call.document)),
            FetchedVia::Browser { .. } => None,
        }
    }
}

/// [`FetchedVia::location`] of a stored record, from its `fetch_details`.
pub(super) fn stored_location(details: &str) -> Option<String> {
    RecordedPortalCall::parse(details).map(|call| document_location(&call.portal, &call.document))
}

fn document_location(portal: &str, document: &str) -> String {
    format!("{portal} document {document}")
}

/// Stores what `via` holds besides its JSON (the metadata body) and gives
/// the JSON the record hashes.
pub(super) fn prepare(conn: &Connection, via: &FetchedVia) -> Result<String> {
    let details = match via {
        FetchedVia::Browser { chromium, refused } => json!({
            "browser": { "chromium": chromium, "refused": refused },
        }),
        FetchedVia::Portal(call) => {
            let raw_hash = call
                .metadata_body
                .as_ref()
                .map(|body| blob::put(conn, body))
                .transpose()?;
            json!({
                "portal": {
                    "name": call.portal,
                    "document": call.document,
                    "metadata": capture_json(&call.metadata, raw_hash.map(|h| h.to_hex())),
                    "live": call.live,
                },
            })
        }
    };
    Ok(details.to_string())
}

/// A capture other than the record's own, as recorded.
fn capture_json(capture: &Capture, raw_hash: Option<String>) -> Value {
    let (error_class, error_message) = match &capture.outcome {
        FetchOutcome::Failed { class, message } => (Some(class.to_string()), Some(message.clone())),
        FetchOutcome::Body(_) | FetchOutcome::NotModified => (None, None),
    };
    json!({
        "url": capture.url,
        "final_url": capture.final_url,
        "started_at": clock::format(capture.started_at),
        "finished_at": clock::format(capture.finished_at),
        "attempts": capture.attempts,
        "redirects": capture.hops,
        "request_headers": capture.request_headers,
        "status": capture.status,
        "response_headers": capture.response_headers,
        "content_type": capture.content_type,
        "remote_ip": capture.remote_ip,
        "tls_version": capture.tls_version,
        "tls_cert_sha256": capture.tls_cert_sha256,
        "raw_hash": raw_hash,
        "error_class": error_class,
        "error_message": error_message,
    })
}

/// A portal document's metadata call as its record holds it (the
/// `portal` member of `fetch_details`, written by [`prepare`]): what the
/// evidence renders as a capture of its own beside the download.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordedPortalCall {
    /// The portal (`service-trust`).
    #[serde(rename = "name")]
    pub portal: String,
    /// The document's id (its series' GUID).
    pub document: String,
    pub metadata: RecordedCall,
    /// The live version the metadata named, when it was readable.
    pub live: Option<PortalVersion>,
}

/// One HTTP exchange recorded in `fetch_details` (see `capture_json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordedCall {
    pub url: String,
    pub final_url: Option<String>,
    pub started_at: String,
    pub request_headers: Vec<(String, String)>,
    /// `None` when no response came (the call failed before one).
    pub status: Option<i64>,
    pub response_headers: Vec<(String, String)>,
    pub remote_ip: Option<String>,
    /// SHA-256 (hex) of the body as stored (after content decoding), a
    /// blob of its own; `None` when there was no body.
    pub raw_hash: Option<String>,
}

impl RecordedCall {
    /// Where the call's redirects ended: the URI its response is archived
    /// under.
    pub fn uri(&self) -> &str {
        self.final_url.as_deref().unwrap_or(&self.url)
    }
}

impl RecordedPortalCall {
    /// The portal call a record's `fetch_details` holds, if any.
    pub fn parse(details: &str) -> Option<RecordedPortalCall> {
        #[derive(Deserialize)]
        struct Details {
            portal: Option<RecordedPortalCall>,
        }
        serde_json::from_str::<Details>(details).ok()?.portal
    }
}

impl RecordRow {
    /// The portal metadata call this record holds, when it is a portal
    /// document's attempt.
    pub fn portal_call(&self) -> Option<RecordedPortalCall> {
        RecordedPortalCall::parse(self.fetch_details.as_deref()?)
    }
}

impl Store {
    /// Per portal source, the version of its document last downloaded and
    /// extracted: the live version its last good record names.
    pub fn portal_versions(&self) -> Result<HashMap<String, PortalVersion>> {
        let mut statement = self.conn().prepare(
            "SELECT s.source, d.json FROM source_state s
             JOIN record_fetch_details d ON d.record_id = s.last_good_record",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut versions = HashMap::new();
        for row in rows {
            let (source, details) = row?;
            if let Some(live) = RecordedPortalCall::parse(&details).and_then(|call| call.live) {
                versions.insert(source, live);
            }
        }
        Ok(versions)
    }
}
