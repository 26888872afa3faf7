//! WARC 1.1 rendering and reading of captures.
//!
//! Where WARC records come from (the design choice): they are rendered at
//! export time, deterministically, from the hash-chained `records` row and
//! the content-addressed blobs, not written at capture time. Every input
//! (request and response headers, status, peer address, certificate hash,
//! redirect chain, timings, body) is already covered by the record hash
//! and the ledger, so a second stored copy would add bytes but no
//! evidence; the same record always renders to the same WARC bytes (record
//! ids derive from the record hash), so two exports agree.
//!
//! Per attempt: a `request`; a `response` (or a `revisit` with the
//! identical-payload-digest profile when an earlier capture of the same
//! URI in the file had the same payload, or with the server-not-modified
//! profile for a 304); a `conversion` with the extracted text for a PDF;
//! and a `metadata` record (JSON) tying it to the record hash and naming
//! the configuration in force (`config_sha256`, `config_ledger_seq`: the
//! last `config` leaf before the attempt's leaf; `unrecorded` with a
//! `config_note` when none precedes it), the record's canonical
//! encoding (`record`, whose SHA-256 is the `record_hash` the ledger
//! leaf holds, so its members are tied to the signed root), the negotiated
//! `tls_version` and the peer's `tls_cert_sha256` (where either is null,
//! `tls_version_note` says why). Digests are `sha256:` in hex. Each record
//! is its own gzip member; each file opens with a `warcinfo` record
//! ([`warcinfo`]).
//!
//! A portal document's attempt made two calls: its metadata call (the
//! document's title, version and dates, evidence in its own right) is
//! rendered first as a `request` and `response` of its own, from what the
//! record's `fetch_details` holds of it (URL, date, headers, status, peer
//! address) and the body that names; then the download, if one was made,
//! as the attempt's own pair. When the record's own capture is the
//! metadata call (nothing downloaded, or the call failed), it is rendered
//! once. The metadata record is `WARC-Concurrent-To` the attempt's own
//! response (or request) and to the metadata call's response, which it
//! also names as `portal_metadata_response`, and carries the record's
//! `fetch_details` as JSON.
//!
//! The stored body is the one after HTTP content decoding, so the rendered
//! response carries the body as decoded: `Content-Encoding`,
//! `Transfer-Encoding` and `Content-Length` as received are kept under
//! `X-Scopewatch-Original-*` names and `Content-Length` states the decoded
//! length. The README of a bundle says so.

use std::io::{BufRead, Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::hash::Digest;
use crate::store::{RecordOutcome, RecordRow, RecordedCall};

const IDENTICAL_PAYLOAD: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";
/// Headers whose received values describe bytes the WARC does not hold.
const RENAMED: [&str; 3] = ["content-encoding", "transfer-encoding", "content-length"];

/// One WARC record: named headers (without `Content-Length`) and the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcRecord {
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
}

impl WarcRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The record as WARC/1.1 bytes (uncompressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"WARC/1.1\r\n".to_vec();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.block.len()).as_bytes());
        out.extend_from_slice(&self.block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    /// The record as one gzip member.
    pub fn to_gzip(&self) -> std::io::Result<Vec<u8>> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&self.to_bytes())?;
        encoder.finish()
    }
}

/// `sha256:` and the hex digest of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", Digest::of(bytes).to_hex())
}

/// A record id derived from the fetch record's hash and the WARC type.
pub(crate) fn record_id(record_hash: &str, kind: &str) -> String {
    let h = Digest::of(format!("{record_hash}/{kind}").as_bytes()).to_hex();
    format!(
        "<urn:uuid:{}-{}-8{}-a{}-{}>",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The `warcinfo` record that opens each WARC file (WARC 1.1 section
/// 6.2): what wrote the file and what it holds, as `application/warc-fields`.
/// Deterministic: dated and identified by the checkpoint the bundle is
/// signed against, so two exports against it agree.
pub fn warcinfo(filename: &str, checkpoint_at: &str, checkpoint_root: &str) -> WarcRecord {
    let block = format!(
        "software: scopewatch/{}\r\n\
         format: WARC File Format 1.1\r\n\
         conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         description: captures of one source, each a request, a response or revisit and a metadata record tying it to the ledger\r\n\
         isPartOf: scopewatch evidence bundle signed at {checkpoint_at} (ledger root {checkpoint_root})\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    WarcRecord {
        headers: vec![
            ("WARC-Type".into(), "warcinfo".into()),
            (
                "WARC-Record-ID".into(),
                record_id(&format!("{checkpoint_root}/{filename}"), "warcinfo"),
            ),
            ("WARC-Date".into(), checkpoint_at.into()),
            ("WARC-Filename".into(), filename.into()),
            ("Content-Type".into(), "application/warc-fields".into()),
            ("WARC-Block-Digest".into(), digest(&block)),
        ],
        block,
    }
}

/// An earlier response in the same file that a revisit can point at.
#[derive(Debug, Clone)]
pub struct FirstCapture {
    pub record_id: String,
    pub uri: String,
    pub date: String,
}

/// The configuration in force for an attempt: its ledger leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `config` leaf's `seq`.
    pub seq: i64,
    /// SHA-256 (hex) of the configuration file.
    pub sha256: String,
}

/// Why a metadata record of an HTTPS capture with a response has no TLS
/// version: the capture is older than the `tls_version` column.
pub const TLS_VERSION_NOT_RECORDED: &str =
    "not recorded: this capture predates scopewatch recording the TLS version";

/// `config_sha256` of a capture no `config` leaf precedes, made by a
/// scopewatch that did not record its configuration yet: never null, so a
/// reader cannot take the absence for "none".
pub const CONFIG_UNRECORDED: &str = "unrecorded";
const CONFIG_UNRECORDED_NOTE: &str = "no configuration was recorded in the ledger before this capture: it was made by a scopewatch that did not record one yet";

/// What one fetch attempt renders from.
pub struct Attempt<'a> {
    pub row: &'a RecordRow,
    pub record_hash: &'a str,
    /// The stored body (after content decoding), when there is one.
    pub body: Option<&'a [u8]>,
    /// The extracted text, attached to a PDF as a `conversion` record.
    pub text: Option<&'a [u8]>,
    /// The ledger leaf that logged this attempt.
    pub ledger_seq: Option<i64>,
    /// The configuration in force: the last `config` leaf before `ledger_seq`.
    pub config: Option<&'a Config>,
    /// For an unchanged payload or a 304: the first response with that payload.
    pub first: Option<&'a FirstCapture>,
    /// The body was pruned by `[retention]`: the response holds headers only.
    pub pruned: bool,
    /// A portal document's metadata call, rendered as a capture of its own.
    pub portal: Option<PortalMetadata<'a>>,
}

/// A portal document's metadata call: as its record holds it, and the
/// body its `raw_hash` names.
#[derive(Clone, Copy)]
pub struct PortalMetadata<'a> {
    pub call: &'a RecordedCall,
    pub body: Option<&'a [u8]>,
}

/// The WARC records of one attempt, and the response a later revisit of
/// the same payload may point at.
pub fn render(attempt: &Attempt<'_>) -> (Vec<WarcRecord>, Option<FirstCapture>) {
    let row = attempt.row;
    let uri = uri_of(row).to_string();
    let date = row.started_at.clone();
    let id = |kind: &str| record_id(attempt.record_hash, kind);
    let mut records = Vec::new();

    // The portal's metadata call, first: it was made first.
    let metadata_call = attempt.portal.as_ref().map(|portal| {
        let (call_records, rendered) = render_portal_call(attempt.record_hash, portal);
        records.extend(call_records);
        rendered
    });
    // The record's own capture, unless it is the metadata call itself
    // (nothing was downloaded, or the call failed): that is rendered once.
    let own_is_metadata_call = attempt.portal.is_some_and(|p| p.call.url == row.url);

    let mut first = None;
    let mut own = None;
    if !own_is_metadata_call {
        let request_headers = header_list(&row.request_headers);
        let response_headers = header_list(&row.response_headers);
        let exchange = Exchange {
            uri: &uri,
            date: &date,
            request_headers: &request_headers,
            status: row.status,
            response_headers: &response_headers,
            remote_ip: row.remote_ip.as_deref(),
            body_len: attempt.body.map(<[u8]>::len),
        };
        let payload = attempt.body.unwrap_or_default();
        let revisit = match (row.status, attempt.first) {
            (Some(304), first) => Some((NOT_MODIFIED, first)),
            (_, Some(first)) if attempt.body.is_some() => Some((IDENTICAL_PAYLOAD, Some(first))),
            _ => None,
        };
        let (kind, payload) = match revisit {
            Some((profile, refers_to)) => (
                "revisit",
                Payload::Revisit {
                    profile,
                    refers_to,
                    payload,
                },
            ),
            None => ("response", Payload::Body(payload)),
        };
        let rendered = push_exchange(&mut records, &exchange, [id("request"), id(kind)], payload);
        if kind == "response" && attempt.body.is_some() && row.outcome == RecordOutcome::Ok {
            first = Some(FirstCapture {
                record_id: id(kind),
                uri: uri.clone(),
                date: date.clone(),
            });
        }
        own = Some(rendered);
    }
    let own_response = own.as_ref().and_then(|r| r.response.clone());

    if let (Some(text), Some("pdf"), Some(response)) =
        (attempt.text, row.content_kind.as_deref(), &own_response)
    {
        let mut headers = base_headers("conversion", id("conversion"), &date, &uri);
        headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        headers.push(("WARC-Refers-To".into(), response.clone()));
        headers.push(("WARC-Block-Digest".into(), digest(text)));
        headers.push(("WARC-Payload-Digest".into(), digest(text)));
        records.push(WarcRecord {
            headers,
            block: text.to_vec(),
        });
    }

    let metadata_response = metadata_call.as_ref().and_then(|r| r.response.clone());
    let metadata = metadata_json(attempt, metadata_response.as_deref())
        .to_string()
        .into_bytes();
    let mut headers = base_headers("metadata", id("metadata"), &date, &uri);
    headers.push(("Content-Type".into(), "application/json".into()));
    // What the metadata is about, the attempt's own exchange first: its
    // response, else its request; a portal attempt's metadata call next.
    let concurrent = [own, metadata_call]
        .into_iter()
        .flatten()
        .map(|rendered| rendered.response.unwrap_or(rendered.request));
    for target in concurrent {
        headers.push(("WARC-Concurrent-To".into(), target));
    }
    headers.push(("WARC-Block-Digest".into(), digest(&metadata)));
    records.push(WarcRecord {
        headers,
        block: metadata,
    });
    (records, first)
}

/// The kinds the metadata call's WARC record ids derive from, beside the
/// attempt's own `request` and `response`.
pub(crate) const PORTAL_METADATA_REQUEST: &str = "portal-metadata/request";
pub(crate) const PORTAL_METADATA_RESPONSE: &str = "portal-metadata/response";

/// A portal attempt's metadata call as its `request` and (when a response
/// came) `response` records, under ids derived from `record_hash`: what
/// the export writes, and what `verify BUNDLE` renders again to compare.
pub(crate) fn render_portal_call(
    record_hash: &str,
    portal: &PortalMetadata<'_>,
) -> (Vec<WarcRecord>, Rendered) {
    let call = portal.call;
    let exchange = Exchange {
        uri: call.uri(),
        date: &call.started_at,
        request_headers: &call.request_headers,
        status: call.status,
        response_headers: &call.response_headers,
        remote_ip: call.remote_ip.as_deref(),
        body_len: portal.body.map(<[u8]>::len),
    };
    let mut records = Vec::new();
    let rendered = push_exchange(
        &mut records,
        &exchange,
        [
            record_id(record_hash, PORTAL_METADATA_REQUEST),
            record_id(record_hash, PORTAL_METADATA_RESPONSE),
        ],
        Payload::Body(portal.body.unwrap_or_default()),
    );
    (records, rendered)
}

/// One record a metadata record is `WARC-Concurrent-To`: the ids it may
/// have (an attempt's own response is a `revisit` when an earlier capture
/// in the file had its payload) with the WARC type each id is rendered as.
pub(crate) type ConcurrentSlot = Vec<(&'static str, String)>;

/// What a metadata record is `WARC-Concurrent-To`, in order, derived from
/// the record it describes (its hash, `url`, `status` and the portal call
/// its `fetch_details` holds) as [`render`] links them: the attempt's own
/// response or revisit (its request when no response came), unless its
/// own capture is the portal's metadata call; then that call's response
/// (its request when it got no status).
pub(crate) fn concurrent_slots(
    record_hash: &str,
    url: &str,
    status: Option<i64>,
    call: Option<&RecordedCall>,
) -> Vec<ConcurrentSlot> {
    let id = |kind: &'static str| (kind, record_id(record_hash, kind));
    let mut slots = Vec::new();
    if call.is_none_or(|call| call.url != url) {
        slots.push(match status {
            None => vec![id("request")],
            Some(304) => vec![id("revisit")],
            Some(_) => vec![id("response"), id("revisit")],
        });
    }
    if let Some(call) = call {
        slots.push(match call.status {
            None => vec![("request", record_id(record_hash, PORTAL_METADATA_REQUEST))],
            Some(_) => vec![("response", record_id(record_hash, PORTAL_METADATA_RESPONSE))],
        });
    }
    slots
}

/// One HTTP exchange to render as a `request` and (when a response came)
/// a `response` or `revisit`.
struct Exchange<'a> {
    uri: &'a str,
    date: &'a str,
    request_headers: &'a [(String, String)],
    status: Option<i64>,
    response_headers: &'a [(String, String)],
    remote_ip: Option<&'a str>,
    /// The length of the body received, stated as `Content-Length` when
    /// there was one.
    body_len: Option<usize>,
}

/// What an exchange's response holds.
enum Payload<'a> {
    Body(&'a [u8]),
    /// Headers only, referring to an earlier response (or, for a 304, to
    /// none in the file).
    Revisit {
        profile: &'static str,
        refers_to: Option<&'a FirstCapture>,
        payload: &'a [u8],
    },
}

/// The WARC record ids an exchange was rendered under.
pub(crate) struct Rendered {
    pub request: String,
    pub response: Option<String>,
}

fn base_headers(kind: &str, id: String, date: &str, uri: &str) -> Vec<(String, String)> {
    vec![
        ("WARC-Type".to_string(), kind.to_string()),
        ("WARC-Record-ID".to_string(), id),
        ("WARC-Date".to_string(), date.to_string()),
        ("WARC-Target-URI".to_string(), uri.to_string()),
    ]
}

/// Renders `exchange` under the ids `[request, response]`: its request,
/// then its response when one came.
fn push_exchange(
    records: &mut Vec<WarcRecord>,
    exchange: &Exchange<'_>,
    [request_id, response_id]: [String; 2],
    payload: Payload<'_>,
) -> Rendered {
    let request_block = request_block(exchange.request_headers, exchange.uri);
    let mut request = base_headers("request", request_id.clone(), exchange.date, exchange.uri);
    request.push((
        "Content-Type".into(),
        "application/http;msgtype=request".into(),
    ));
    request.push(("WARC-Block-Digest".into(), digest(&request_block)));
    records.push(WarcRecord {
        headers: request,
        block: request_block,
    });
    let Some(status) = exchange.status else {
        return Rendered {
            request: request_id,
            response: None,
        };
    };
    let head = response_head(status, exchange.response_headers, exchange.body_len);
    let kind = match payload {
        Payload::Body(_) => "response",
        Payload::Revisit { .. } => "revisit",
    };
    let mut headers = base_headers(kind, response_id.clone(), exchange.date, exchange.uri);
    headers.push((
        "Content-Type".into(),
        "application/http;msgtype=response".into(),
    ));
    if let Some(ip) = exchange.remote_ip {
        headers.push(("WARC-IP-Address".into(), ip.to_string()));
    }
    let block = match payload {
        Payload::Revisit {
            profile,
            refers_to,
            payload,
        } => {
            headers.push(("WARC-Profile".into(), profile.into()));
            if let Some(first) = refers_to {
                headers.push(("WARC-Refers-To".into(), first.record_id.clone()));
                headers.push(("WARC-Refers-To-Target-URI".into(), first.uri.clone()));
                headers.push(("WARC-Refers-To-Date".into(), first.date.clone()));
            }
            if profile == IDENTICAL_PAYLOAD {
                headers.push(("WARC-Payload-Digest".into(), digest(payload)));
            }
            head
        }
        Payload::Body(body) => {
            headers.push(("WARC-Payload-Digest".into(), digest(body)));
            let mut block = head;
            block.extend_from_slice(body);
            block
        }
    };
    headers.push(("WARC-Block-Digest".into(), digest(&block)));
    records.push(WarcRecord { headers, block });
    Rendered {
        request: request_id,
        response: Some(response_id),
    }
}

/// The URI a capture is archived under: where the redirects ended.
pub(crate) fn uri_of(row: &RecordRow) -> &str {
    row.final_url.as_deref().unwrap_or(&row.url)
}

fn header_list(json_text: &str) -> Vec<(String, String)> {
    serde_json::from_str(json_text).unwrap_or_default()
}

fn request_block(headers: &[(String, String)], uri: &str) -> Vec<u8> {
    let target = url::Url::parse(uri).ok();
    let path = target.as_ref().map_or_else(
        || "/".to_string(),
        |u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
    );
    let mut block = format!("GET {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
        && let Some(host) = target.as_ref().and_then(|u| u.host_str())
    {
        match target.as_ref().and_then(url::Url::port) {
            Some(port) => block.push_str(&format!("Host: {host}:{port}\r\n")),
            None => block.push_str(&format!("Host: {host}\r\n")),
        }
    }
    for (name, value) in headers {
        block.push_str(&format!("{name}: {value}\r\n"));
    }
    block.push_str("\r\n");
    block.into_bytes()
}

fn response_head(status: i64, headers: &[(String, String)], body_len: Option<usize>) -> Vec<u8> {
    let reason = u16::try_from(status)
        .ok()
        .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        if RENAMED.contains(&name.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("X-Scopewatch-Original-{name}: {value}\r\n"));
        } else {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if let Some(len) = body_len {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The members of a metadata record copied from its record's columns, as
/// the record serialises them: `verify BUNDLE` checks each against the
/// embedded `record`.
pub(crate) const RECORD_MEMBERS: [&str; 17] = [
    "source",
    "url",
    "final_url",
    "outcome",
    "change",
    "started_at",
    "finished_at",
    "attempts",
    "remote_ip",
    "tls_cert_sha256",
    "tls_version",
    "content_type",
    "content_kind",
    "raw_hash",
    "text_hash",
    "error_class",
    "error_message",
];

/// A metadata record's JSON; `metadata_response`: the WARC record id of
/// a portal attempt's metadata call response.
fn metadata_json(attempt: &Attempt<'_>, metadata_response: Option<&str>) -> Value {
    let row = attempt.row;
    let record = serde_json::to_value(row).expect("a record serialises");
    let mut meta = json!({
        "collector": format!("scopewatch/{}", env!("CARGO_PKG_VERSION")),
        "record_id": row.id,
        "record_hash": attempt.record_hash,
        // The bytes `record_hash` is the SHA-256 of: `verify BUNDLE` checks
        // the members above and below against it.
        "record": record.to_string(),
        "ledger_seq": attempt.ledger_seq,
        "redirects": serde_json::from_str::<Value>(&row.redirects).unwrap_or(Value::Null),
        "tls_version_note": tls_version_note(row),
        "config_sha256": attempt.config.map_or(CONFIG_UNRECORDED, |c| c.sha256.as_str()),
        "config_ledger_seq": attempt.config.map(|c| c.seq),
        "raw_pruned": attempt.pruned,
    });
    if attempt.config.is_none() {
        meta["config_note"] = CONFIG_UNRECORDED_NOTE.into();
    }
    for member in RECORD_MEMBERS {
        // A null `tls_version` is absent from the record: null here too.
        meta[member] = record[member].clone();
    }
    // How the attempt was fetched when not by one GET (the browser, the
    // portal's metadata call and the document version it named), as the
    // record holds it; `verify BUNDLE` checks it against `record`.
    if let Some(details) = &row.fetch_details {
        meta["fetch_details"] = serde_json::from_str(details).unwrap_or(Value::Null);
    }
    if let Some(response) = metadata_response {
        meta["portal_metadata_response"] = response.into();
    }
    meta
}

/// Why `tls_version` is null, or `None` when it is not.
fn tls_version_note(row: &RecordRow) -> Option<&'static str> {
    if row.tls_version.is_some() {
        None
    } else if !uri_of(row).starts_with("https:") {
        Some("no TLS: the URL is plain HTTP")
    } else if row.status.is_none() {
        Some("no TLS session: no response was received")
    } else {
        Some(TLS_VERSION_NOT_RECORDED)
    }
}

/// A record read back from a `.warc.gz`, or why it could not be.
#[derive(Debug)]
pub enum ReadRecord {
    Ok { offset: u64, record: WarcRecord },
    Damaged { offset: u64, problem: String },
}

/// Reads every gzip member of a `.warc.gz` as one record; stops at the
/// first member that cannot be read (the rest of the file has no frame),
/// and at the bundle's file limit of decompressed bytes: a small member
/// may inflate a thousandfold.
pub fn read_all(bytes: &[u8]) -> Vec<ReadRecord> {
    read_all_within(bytes, super::bundle_file::MAX_FILE)
}

/// [`read_all`], decompressing at most `limit` bytes in all.
fn read_all_within(bytes: &[u8], limit: u64) -> Vec<ReadRecord> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut left = limit;
    while !rest.is_empty() {
        let offset = (bytes.len() - rest.len()) as u64;
        let mut decoder = flate2::bufread::GzDecoder::new(rest).take(left.saturating_add(1));
        let mut plain = Vec::new();
        if let Err(e) = decoder.read_to_end(&mut plain) {
            out.push(ReadRecord::Damaged {
                offset,
                problem: format!(
                    "the gzip member does not decompress ({e}): the record is truncated or altered"
                ),
            });
            break;
        }
        if plain.len() as u64 > left {
            out.push(ReadRecord::Damaged {
                offset,
                problem: format!(
                    "the file decompresses to more than {limit} bytes, more than any bundle holds: the record is altered"
                ),
            });
            break;
        }
        left -= plain.len() as u64;
        rest = decoder.into_inner().into_inner();
        out.push(match parse(&plain) {
            Ok(record) => ReadRecord::Ok { offset, record },
            Err(problem) => ReadRecord::Damaged { offset, problem },
        });
    }
    out
}

/// How findings name each record [`read_all`] read from `file`: by the
/// fetch record it belongs to and its place in the file, "record 12 (WARC
/// record 3 of archive/x.warc.gz)". A capture's WARC records end with its
/// metadata record, which names the fetch record; a record no metadata
/// record closes (a `warcinfo`, or one before a damaged record) is named
/// by its place alone, with its offset.
pub fn record_names(file: &str, reads: &[ReadRecord]) -> Vec<String> {
    let mut owner: Option<i64> = None;
    let mut names: Vec<String> = reads
        .iter()
        .enumerate()
        .rev()
        .map(|(index, read)| {
            let place = format!("WARC record {} of {file}", index + 1);
            let (offset, record) = match read {
                ReadRecord::Ok { offset, record } => (offset, Some(record)),
                ReadRecord::Damaged { offset, .. } => (offset, None),
            };
            owner = match record.and_then(|r| r.header("WARC-Type")) {
                Some("metadata") => record
                    .and_then(|r| serde_json::from_slice::<Value>(&r.block).ok())
                    .and_then(|meta| meta["record_id"].as_i64()),
                Some("warcinfo") | None => None,
                Some(_) => owner,
            };
            match owner {
                Some(id) => format!("record {id} ({place})"),
                None => format!("{place} (offset {offset})"),
            }
        })
        .collect();
    names.reverse();
    names
}

/// Parses one uncompressed WARC record, checking its framing.
fn parse(bytes: &[u8]) -> Result<WarcRecord, String> {
    let mut reader = bytes;
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("unreadable version line: {e}"))?;
    if line.trim_end() != "WARC/1.1" {
        return Err(format!(
            "not a WARC/1.1 record (starts {:?})",
            line.trim_end()
        ));
    }
    let mut headers = Vec::new();
    let mut length = None;
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("unreadable header: {e}"))?;
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| format!("malformed header line {text:?}"))?;
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else {
            headers.push((name, value));
        }
    }
    let length = length.ok_or("no Content-Length")?;
    // Checked: a crafted Content-Length near usize::MAX must not overflow.
    let Some(end) = length.checked_add(4).filter(|end| *end <= reader.len()) else {
        return Err(format!(
            "the block is shorter than its Content-Length ({} of {length} bytes): the record is truncated",
            reader.len().saturating_sub(4)
        ));
    };
    if &reader[length..end] != b"\r\n\r\n" {
        return Err("the block does not end where Content-Length says".into());
    }
    Ok(WarcRecord {
        headers,
        block: reader[..length].to_vec(),
    })
}

/// The payload of a response block: the bytes after the HTTP header.
pub fn http_payload(block: &[u8]) -> &[u8] {
    block
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |at| &block[at + 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_that_inflates_past_the_limit_is_damaged_not_read() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![b'x'; 2 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        let reads = read_all_within(&bomb, 1 << 20);
        assert!(
            matches!(&reads[..], [ReadRecord::Damaged { offset: 0, problem }] if problem.contains("more than 1048576 bytes")),
            "{reads:?}"
        );
        // Within the limit, the same member is read (as a malformed record).
        let reads = read_all_within(&bomb, 4 << 20);
        assert!(
            matches!(&reads[..], [ReadRecord::Damaged { problem, .. }] if !problem.contains("more than")),
            "{reads:?}"
        );
    }

    #[test]
    fn a_content_length_that_overflows_is_a_damaged_record() {
        let record = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 18446744073709551615\r\n\r\nabc\r\n\r\n";
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(record).unwrap();
        let read = read_all(&encoder.finish().unwrap());
        assert!(
            matches!(&read[..], [ReadRecord::Damaged { problem, .. }] if problem.contains("truncated")),
            "{read:?}"
        );
    }

    #[test]
    fn a_portal_attempt_renders_its_metadata_call_once_beside_its_download() {
        let metadata_url = "https://api.example.com/api/v2/GetLiveDocumentIncludingOldSeriesDoc/g/";
        let call = RecordedCall {
            url: metadata_url.into(),
            final_url: None,
            started_at: "2026-11-28T11:59:59.000Z".into(),
            request_headers: vec![("accept".into(), "application/json".into())],
            status: Some(200),
            response_headers: vec![("content-type".into(), "application/json".into())],
            remote_ip: Some("192.0.2.9".into()),
            raw_hash: Some(Digest::of(br#"{"id":"v1"}"#).to_hex()),
        };
        let kinds = |records: &[WarcRecord]| -> Vec<String> {
            records
                .iter()
                .map(|r| r.header("WARC-Type").unwrap().to_string())
                .collect()
        };
        let concurrent = |record: &WarcRecord| -> Vec<String> {
            record
                .headers
                .iter()
                .filter(|(name, _)| name == "WARC-Concurrent-To")
                .map(|(_, value)| value.clone())
                .collect()
        };
        let downloaded = RecordRow::sample();
        let attempt = Attempt {
            row: &downloaded,
            record_hash: "ab",
            body: Some(b"%PDF-1.7"),
            text: None,
            ledger_seq: Some(3),
            config: None,
            first: None,
            pruned: false,
            portal: Some(PortalMetadata {
                call: &call,
                body: Some(br#"{"id":"v1"}"#),
            }),
        };
        let (records, _) = render(&attempt);
        assert_eq!(
            kinds(&records),
            ["request", "response", "request", "response", "metadata"]
        );
        let call_response = &records[1];
        assert_eq!(call_response.header("WARC-Target-URI"), Some(metadata_url));
        assert_eq!(
            call_response.header("WARC-Date"),
            Some("2026-11-28T11:59:59.000Z")
        );
        assert_eq!(call_response.header("WARC-IP-Address"), Some("192.0.2.9"));
        assert_eq!(http_payload(&call_response.block), br#"{"id":"v1"}"#);
        let metadata = &records[4];
        let ids: Vec<String> = [&records[3], call_response]
            .iter()
            .map(|r| r.header("WARC-Record-ID").unwrap().to_string())
            .collect();
        assert_eq!(concurrent(metadata), ids);
        // What verify derives from the record hash names the same records.
        let derived = |row: &RecordRow| -> Vec<Vec<String>> {
            concurrent_slots("ab", &row.url, row.status, Some(&call))
                .into_iter()
                .map(|slot| slot.into_iter().map(|(_, id)| id).collect())
                .collect()
        };
        let slots = derived(&downloaded);
        assert_eq!(slots.len(), 2);
        assert!(slots[0].contains(&ids[0]) && slots[1] == [ids[1].clone()]);
        let meta: Value = serde_json::from_slice(&metadata.block).unwrap();
        assert_eq!(meta["portal_metadata_response"], ids[1]);

        // Nothing downloaded: the record's capture is the metadata call,
        // rendered once.
        let unchanged = RecordRow {
            url: metadata_url.into(),
            status: None,
            outcome: RecordOutcome::NotModified,
            ..RecordRow::sample()
        };
        let (records, _) = render(&Attempt {
            row: &unchanged,
            body: None,
            ..attempt
        });
        assert_eq!(kinds(&records), ["request", "response", "metadata"]);
        assert_eq!(
            concurrent(&records[2]),
            [records[1].header("WARC-Record-ID").unwrap()]
        );
        assert_eq!(
            derived(&unchanged),
            [[records[1].header("WARC-Record-ID").unwrap()]]
        );
    }

    #[test]
    fn a_capture_renders_request_response_metadata_and_reads_back() {
        let row = RecordRow::sample();
        let config = Config {
            seq: 2,
            sha256: "c0".repeat(32),
        };
        let attempt = Attempt {
            row: &row,
            record_hash: "ab",
            body: Some(b"<p>hi</p>"),
            text: None,
            ledger_seq: Some(3),
            config: Some(&config),
            first: None,
            pruned: false,
            portal: None,
        };
        let (records, first) = render(&attempt);
        let kinds: Vec<_> = records
            .iter()
            .map(|r| r.header("WARC-Type").unwrap())
            .collect();
        assert_eq!(kinds, ["request", "response", "metadata"]);
        let meta: Value = serde_json::from_slice(&records[2].block).unwrap();
        assert_eq!(meta["config_sha256"], "c0".repeat(32));
        assert_eq!(meta["config_ledger_seq"], 2);
        assert_eq!(meta["config_note"], Value::Null);
        let unrecorded = render(&Attempt {
            config: None,
            ..attempt
        });
        let meta: Value = serde_json::from_slice(&unrecorded.0[2].block).unwrap();
        assert_eq!(meta["config_sha256"], CONFIG_UNRECORDED);
        assert_eq!(meta["config_ledger_seq"], Value::Null);
        assert!(
            meta["config_note"]
                .as_str()
                .unwrap()
                .contains("no configuration was recorded")
        );
        let meta: Value = serde_json::from_slice(&records[2].block).unwrap();
        assert_eq!(meta["tls_version"], Value::Null);
        assert_eq!(meta["tls_version_note"], TLS_VERSION_NOT_RECORDED);
        let response = &records[1];
        assert!(response.block.starts_with(b"HTTP/1.1 200 OK\r\n"));
        let head = String::from_utf8_lossy(&response.block);
        assert!(head.contains("X-Scopewatch-Original-content-encoding: gzip\r\n"));
        assert!(head.contains("Content-Length: 9\r\n"));
        assert_eq!(http_payload(&response.block), b"<p>hi</p>");
        assert_eq!(
            response.header("WARC-Payload-Digest").unwrap(),
            format!("sha256:{}", row.raw_hash.clone().unwrap())
        );
        assert!(
            String::from_utf8_lossy(&records[0].block)
                .starts_with("GET /iso?x=1 HTTP/1.1\r\nHost: example.com\r\n")
        );

        let mut file = Vec::new();
        for record in &records {
            file.extend(record.to_gzip().unwrap());
        }
        let read: Vec<WarcRecord> = read_all(&file)
            .into_iter()
            .map(|r| match r {
                ReadRecord::Ok { record, .. } => record,
                ReadRecord::Damaged { problem, .. } => panic!("{problem}"),
            })
            .collect();
        assert_eq!(read, records);
        let cut = &file[..file.len() - 10];
        assert!(matches!(
            read_all(cut).last(),
            Some(ReadRecord::Damaged { .. })
        ));

        // The same payload again: a revisit pointing at the first response.
        let second = Attempt {
            first: first.as_ref(),
            ..attempt
        };
        let (again, _) = render(&second);
        assert_eq!(again[1].header("WARC-Type"), Some("revisit"));
        assert_eq!(again[1].header("WARC-Profile"), Some(IDENTICAL_PAYLOAD));
        assert_eq!(
            again[1].header("WARC-Refers-To"),
            response.header("WARC-Record-ID")
        );
    }
}
