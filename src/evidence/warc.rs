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
use crate::store::RecordRow;

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
fn record_id(record_hash: &str, kind: &str) -> String {
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
}

/// The WARC records of one attempt, and the response a later revisit of
/// the same payload may point at.
pub fn render(attempt: &Attempt<'_>) -> (Vec<WarcRecord>, Option<FirstCapture>) {
    let row = attempt.row;
    let uri = uri_of(row).to_string();
    let date = row.started_at.clone();
    let base = |kind: &str| {
        vec![
            ("WARC-Type".to_string(), kind.to_string()),
            (
                "WARC-Record-ID".to_string(),
                record_id(attempt.record_hash, kind),
            ),
            ("WARC-Date".to_string(), date.clone()),
            ("WARC-Target-URI".to_string(), uri.clone()),
        ]
    };
    let mut records = Vec::new();

    let request_block = request_block(row, &uri);
    let mut request = base("request");
    request.push((
        "Content-Type".into(),
        "application/http;msgtype=request".into(),
    ));
    request.push(("WARC-Block-Digest".into(), digest(&request_block)));
    records.push(WarcRecord {
        headers: request,
        block: request_block,
    });

    let mut first = None;
    let mut response_id = None;
    if let Some(status) = row.status {
        let head = response_head(row, status, attempt.body.map(<[u8]>::len));
        let payload = attempt.body.unwrap_or_default();
        let revisit = match (status, attempt.first) {
            (304, first) => Some((NOT_MODIFIED, first)),
            (_, Some(first)) if attempt.body.is_some() => Some((IDENTICAL_PAYLOAD, Some(first))),
            _ => None,
        };
        let kind = if revisit.is_some() {
            "revisit"
        } else {
            "response"
        };
        let mut headers = base(kind);
        headers.push((
            "Content-Type".into(),
            "application/http;msgtype=response".into(),
        ));
        if let Some(ip) = &row.remote_ip {
            headers.push(("WARC-IP-Address".into(), ip.clone()));
        }
        let block = match revisit {
            Some((profile, first)) => {
                headers.push(("WARC-Profile".into(), profile.into()));
                if let Some(first) = first {
                    headers.push(("WARC-Refers-To".into(), first.record_id.clone()));
                    headers.push(("WARC-Refers-To-Target-URI".into(), first.uri.clone()));
                    headers.push(("WARC-Refers-To-Date".into(), first.date.clone()));
                }
                if profile == IDENTICAL_PAYLOAD {
                    headers.push(("WARC-Payload-Digest".into(), digest(payload)));
                }
                head
            }
            None => {
                headers.push(("WARC-Payload-Digest".into(), digest(payload)));
                let mut block = head;
                block.extend_from_slice(payload);
                if attempt.body.is_some() && row.outcome == "ok" {
                    first = Some(FirstCapture {
                        record_id: record_id(attempt.record_hash, kind),
                        uri: uri.clone(),
                        date: date.clone(),
                    });
                }
                block
            }
        };
        headers.push(("WARC-Block-Digest".into(), digest(&block)));
        response_id = Some(record_id(attempt.record_hash, kind));
        records.push(WarcRecord { headers, block });
    }

    if let (Some(text), Some("pdf"), Some(response)) =
        (attempt.text, row.content_kind.as_deref(), &response_id)
    {
        let mut headers = base("conversion");
        headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        headers.push(("WARC-Refers-To".into(), response.clone()));
        headers.push(("WARC-Block-Digest".into(), digest(text)));
        headers.push(("WARC-Payload-Digest".into(), digest(text)));
        records.push(WarcRecord {
            headers,
            block: text.to_vec(),
        });
    }

    let metadata = metadata_json(attempt).to_string().into_bytes();
    let mut headers = base("metadata");
    headers.push(("Content-Type".into(), "application/json".into()));
    let concurrent = response_id.unwrap_or_else(|| record_id(attempt.record_hash, "request"));
    headers.push(("WARC-Concurrent-To".into(), concurrent));
    headers.push(("WARC-Block-Digest".into(), digest(&metadata)));
    records.push(WarcRecord {
        headers,
        block: metadata,
    });
    (records, first)
}

/// The URI a capture is archived under: where the redirects ended.
pub(crate) fn uri_of(row: &RecordRow) -> &str {
    row.final_url.as_deref().unwrap_or(&row.url)
}

fn header_list(json_text: &str) -> Vec<(String, String)> {
    serde_json::from_str(json_text).unwrap_or_default()
}

fn request_block(row: &RecordRow, uri: &str) -> Vec<u8> {
    let target = url::Url::parse(uri).ok();
    let path = target.as_ref().map_or_else(
        || "/".to_string(),
        |u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
    );
    let mut block = format!("GET {path} HTTP/1.1\r\n");
    let headers = header_list(&row.request_headers);
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

fn response_head(row: &RecordRow, status: i64, body_len: Option<usize>) -> Vec<u8> {
    let reason = u16::try_from(status)
        .ok()
        .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in header_list(&row.response_headers) {
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

fn metadata_json(attempt: &Attempt<'_>) -> Value {
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
/// first member that cannot be read (the rest of the file has no frame).
pub fn read_all(bytes: &[u8]) -> Vec<ReadRecord> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let offset = (bytes.len() - rest.len()) as u64;
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
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
        rest = decoder.into_inner();
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
