//! RFC 3161 timestamps over signed checkpoints (`[evidence] tsa_url`):
//! after each sweep every checkpoint without a token is sent to the TSA
//! (a `TimeStampReq` with the SHA-256 of the checkpoint's signed text, a
//! random nonce and `certReq`), and a granted response whose imprint and
//! nonce match is stored with the checkpoint. A TSA that fails never blocks
//! anything: the failure is recorded, a `timestamp-failed` event is raised
//! when the TSA starts failing, and the next sweep tries again.
//!
//! DER by hand: the request is one fixed shape of 5 fields, and the reply
//! is read only along the path to the status, the imprint and the nonce
//! (`TimeStampResp` → `ContentInfo` → `SignedData` → `TSTInfo`). The
//! token's CMS signature is for the auditor's `openssl ts -verify`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::checkpoint::{self, Checkpoint};
use super::{EvidenceError, Finding, ledger};
use crate::alert::Route;
use crate::clock;
use crate::detect::{EventDraft, EventKind};
use crate::store::Store;

/// `[evidence] tsa_timeout` when not written.
pub const DEFAULT_TIMEOUT: &str = "30s";

/// `[evidence] tsa_url` and `tsa_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaSettings {
    pub url: Url,
    pub timeout: Duration,
}

/// DER of the OID 2.16.840.1.101.3.4.2.1 (SHA-256), content only.
const SHA256_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// 1.2.840.113549.1.7.2, CMS SignedData.
const SIGNED_DATA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// 1.2.840.113549.1.9.16.1.4, id-ct-TSTInfo.
const TST_INFO_OID: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const EXPLICIT_0: u8 = 0xa0;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER's content octets: minimal, with a leading zero
/// when the high bit is set.
fn unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let mut out: Vec<u8> = bytes[skip..].to_vec();
    if out.first().is_none_or(|b| b & 0x80 != 0) {
        out.insert(0, 0);
    }
    out
}

/// A `TimeStampReq` (v1, SHA-256 imprint of `message`, `nonce`, certReq).
pub fn request(message: &[u8], nonce: &[u8]) -> Vec<u8> {
    let algorithm = tlv(SEQUENCE, &[tlv(OID, SHA256_OID), tlv(NULL, &[])].concat());
    let imprint = tlv(
        SEQUENCE,
        &[algorithm, tlv(OCTET_STRING, &Sha256::digest(message))].concat(),
    );
    tlv(
        SEQUENCE,
        &[
            tlv(INTEGER, &[1]),
            imprint,
            tlv(INTEGER, &unsigned_integer(nonce)),
            tlv(BOOLEAN, &[0xff]),
        ]
        .concat(),
    )
}

/// A DER reader over one level of a constructed value.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next element's tag and content.
    fn next(&mut self) -> Result<(u8, &'a [u8]), String> {
        let bad = |what: &str| format!("malformed DER: {what}");
        let (&tag, rest) = self.0.split_first().ok_or_else(|| bad("truncated"))?;
        let (&first, rest) = rest.split_first().ok_or_else(|| bad("no length"))?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(bad("a length DER does not allow"));
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[count..])
        };
        if rest.len() < len {
            return Err(bad("a value longer than its container"));
        }
        self.0 = &rest[len..];
        Ok((tag, &rest[..len]))
    }

    /// The next element, which must have `tag`.
    fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        match self.next()? {
            (found, content) if found == tag => Ok(content),
            (found, _) => Err(format!(
                "malformed reply: expected {what} (tag {tag:#04x}), found tag {found:#04x}"
            )),
        }
    }

    /// The next element if it has `tag`.
    fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
        if self.0.first() == Some(&tag) {
            self.next().map(|(_, content)| Some(content))
        } else {
            Ok(None)
        }
    }
}

/// What a granted reply asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The hashed message, SHA-256.
    pub imprint: Vec<u8>,
    /// The nonce's INTEGER content octets, if the token has one.
    pub nonce: Option<Vec<u8>>,
    /// `genTime` as written (GeneralizedTime).
    pub gen_time: String,
}

/// Server-supplied text as it may reach logs and alerts: control
/// characters dropped, at most 200 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Reads a `TimeStampResp`: the status must be granted (0) or granted
/// with modifications (1), and the token's `TSTInfo` is returned.
pub fn parse_response(der: &[u8]) -> Result<Granted, String> {
    let mut top = Reader(der);
    let mut response = Reader(top.expect(SEQUENCE, "TimeStampResp")?);
    let mut status = Reader(response.expect(SEQUENCE, "PKIStatusInfo")?);
    let code = status.expect(INTEGER, "PKIStatus")?;
    if !matches!(code, [0] | [1]) {
        let text = status
            .optional(SEQUENCE)?
            .and_then(|s| Reader(s).next().ok().map(|(_, t)| t))
            .map(|t| format!(": {}", printable(&String::from_utf8_lossy(t))))
            .unwrap_or_default();
        return Err(format!(
            "the TSA refused the request (PKIStatus {}){text}",
            code.iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b))
        ));
    }
    let mut info = Reader(response.expect(SEQUENCE, "TimeStampToken")?);
    if info.expect(OID, "contentType")? != SIGNED_DATA_OID {
        return Err("the token is not CMS SignedData".into());
    }
    let mut signed =
        Reader(Reader(info.expect(EXPLICIT_0, "content")?).expect(SEQUENCE, "SignedData")?);
    signed.expect(INTEGER, "version")?;
    signed.expect(SET, "digestAlgorithms")?;
    let mut encap = Reader(signed.expect(SEQUENCE, "encapContentInfo")?);
    if encap.expect(OID, "eContentType")? != TST_INFO_OID {
        return Err("the token does not hold a TSTInfo".into());
    }
    let content = Reader(encap.expect(EXPLICIT_0, "eContent")?).expect(OCTET_STRING, "eContent")?;
    let mut tst = Reader(Reader(content).expect(SEQUENCE, "TSTInfo")?);
    tst.expect(INTEGER, "version")?;
    tst.expect(OID, "policy")?;
    let mut imprint = Reader(tst.expect(SEQUENCE, "messageImprint")?);
    let mut algorithm = Reader(imprint.expect(SEQUENCE, "hashAlgorithm")?);
    if algorithm.expect(OID, "hash algorithm")? != SHA256_OID {
        return Err("the token's imprint is not SHA-256".into());
    }
    let imprint = imprint.expect(OCTET_STRING, "hashedMessage")?.to_vec();
    tst.expect(INTEGER, "serialNumber")?;
    let gen_time = String::from_utf8_lossy(tst.expect(0x18, "genTime")?).into_owned();
    tst.optional(SEQUENCE)?; // accuracy
    tst.optional(BOOLEAN)?; // ordering
    let nonce = tst.optional(INTEGER)?.map(<[u8]>::to_vec);
    Ok(Granted {
        imprint,
        nonce,
        gen_time,
    })
}

/// Checks a reply against the checkpoint text and nonce it answers.
pub fn check_response(der: &[u8], message: &[u8], nonce: &[u8]) -> Result<Granted, String> {
    let granted = parse_response(der)?;
    if granted.imprint != Sha256::digest(message).as_slice() {
        return Err("the token's message imprint is not the checkpoint's hash".into());
    }
    if granted.nonce.as_deref() != Some(unsigned_integer(nonce).as_slice()) {
        return Err("the token's nonce is not the one sent: a replayed or foreign reply".into());
    }
    Ok(granted)
}

/// Asks the TSA for a token over `message`; returns the DER reply.
async fn stamp(
    http: &reqwest::Client,
    tsa: &TsaSettings,
    message: &[u8],
) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for the nonce: {e}"))?;
    let response = http
        .post(tsa.url.clone())
        .header("Content-Type", "application/timestamp-query")
        .body(request(message, &nonce))
        .send()
        .await
        .map_err(|e| format!("no answer from the TSA {}: {e}", tsa.url))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the TSA {} answered HTTP {status}", tsa.url));
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("the TSA {}'s reply broke off: {e}", tsa.url))?
    {
        if body.len() + chunk.len() > MAX_REPLY {
            return Err(format!(
                "the TSA {}'s reply is larger than {MAX_REPLY} bytes: not a timestamp",
                tsa.url
            ));
        }
        body.extend_from_slice(&chunk);
    }
    check_response(&body, message, &nonce)?;
    Ok(body)
}

/// The largest reply read: a `TimeStampResp` with its certificates is a
/// few kilobytes; anything far larger is not one, and is not buffered.
const MAX_REPLY: usize = 64 * 1024;

/// Requests per sweep at most: a TSA configured on an old store, or back
/// after a long outage, catches up over a few sweeps instead of at once
/// (a token over the newest checkpoint already bounds every entry before
/// it), and a slow TSA holds the daemon's loop for at most this many
/// `tsa_timeout`s, well inside the systemd watchdog.
const MAX_PER_SWEEP: usize = 3;

/// Checkpoints without a token, newest first (a token over the newest also
/// bounds every entry before it), at most [`MAX_PER_SWEEP`].
fn unstamped(conn: &Connection) -> Result<Vec<Checkpoint>, EvidenceError> {
    let ids: Vec<i64> = conn
        .prepare(
            "SELECT c.id FROM checkpoints c LEFT JOIN checkpoint_timestamps t ON t.checkpoint_id = c.id
             WHERE t.checkpoint_id IS NULL ORDER BY c.id DESC LIMIT ?1",
        )?
        .query_map([MAX_PER_SWEEP as i64], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut pending = Vec::with_capacity(ids.len());
    for id in ids {
        pending.extend(checkpoint::by_id(conn, id)?);
    }
    Ok(pending)
}

/// The stored reply for each checkpoint that has one, by checkpoint id.
pub fn tokens(conn: &Connection) -> Result<Vec<(i64, Vec<u8>)>, EvidenceError> {
    Ok(conn
        .prepare(
            "SELECT checkpoint_id, response FROM checkpoint_timestamps ORDER BY checkpoint_id",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// `ledger/checkpoints/NNNNNN.tsr` for each of `checkpoints` that has a
/// token: the DER `TimeStampResp`, as `openssl ts -verify -in` reads it.
pub fn bundle_files(
    conn: &Connection,
    checkpoints: &[Checkpoint],
) -> Result<Vec<(String, Vec<u8>)>, EvidenceError> {
    let ids: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.id).collect();
    Ok(tokens(conn)?
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, der)| (format!("ledger/checkpoints/{id:06}.tsr"), der))
        .collect())
}

/// Each stored token against its checkpoint: granted, and its imprint the
/// SHA-256 of the checkpoint's signed text. (The TSA's signature is for
/// `openssl ts -verify` with the TSA's CA certificate.)
pub fn check_tokens(
    conn: &Connection,
    checkpoints: &[Checkpoint],
) -> Result<Vec<Finding>, EvidenceError> {
    let by_id: std::collections::HashMap<i64, &Checkpoint> =
        checkpoints.iter().map(|c| (c.id, c)).collect();
    let tokens: Vec<(String, Option<&Checkpoint>, Vec<u8>)> = tokens(conn)?
        .into_iter()
        .map(|(id, der)| {
            (
                format!("timestamp of checkpoint {id}"),
                by_id.get(&id).copied(),
                der,
            )
        })
        .collect();
    Ok(token_findings(tokens))
}

/// The bundle's `.tsr` files against the checkpoints beside them.
pub fn check_bundle_tokens(dir: &Path, checkpoints: &[Checkpoint]) -> Vec<Finding> {
    let mut tokens = Vec::new();
    let Ok(listing) = std::fs::read_dir(dir.join("ledger/checkpoints")) else {
        return Vec::new();
    };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name
            .strip_suffix(".tsr")
            .and_then(|s| s.parse::<i64>().ok())
        else {
            continue;
        };
        let der = std::fs::read(entry.path()).unwrap_or_default();
        tokens.push((
            format!("ledger/checkpoints/{name}"),
            checkpoints.iter().find(|c| c.id == id),
            der,
        ));
    }
    token_findings(tokens)
}

fn token_findings(tokens: Vec<(String, Option<&Checkpoint>, Vec<u8>)>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (concerns, checkpoint, der) in tokens {
        let problem = match (checkpoint, parse_response(&der)) {
            (None, _) => "names a checkpoint that does not exist".to_string(),
            (_, Err(e)) => format!("is not a granted RFC 3161 reply: {e}"),
            (Some(c), Ok(granted))
                if granted.imprint != Sha256::digest(c.text().as_bytes()).as_slice() =>
            {
                "stamps another text than the checkpoint's: the checkpoint or the token was replaced"
                    .to_string()
            }
            (Some(_), Ok(_)) => continue,
        };
        findings.push(Finding::new(concerns, problem));
    }
    findings
}

fn save(store: &Store, checkpoint: i64, tsa: &Url, der: &[u8]) -> Result<(), EvidenceError> {
    store.conn().execute(
        "INSERT OR IGNORE INTO checkpoint_timestamps (checkpoint_id, tsa_url, at, response)
         VALUES (?1, ?2, ?3, ?4)",
        params![checkpoint, tsa.as_str(), clock::format(clock::now()), der],
    )?;
    Ok(())
}

/// Records a failure; raises `timestamp-failed` (an event, its ledger leaf
/// and its deliveries) unless the TSA was already failing. One transaction.
fn fail(
    store: &Store,
    checkpoint: i64,
    tsa: &Url,
    error: &str,
    routes: &[Route],
) -> Result<(), EvidenceError> {
    let tx = rusqlite::Transaction::new_unchecked(store.conn(), TransactionBehavior::Immediate)?;
    let now = clock::format(clock::now());
    let last_failure: Option<String> = tx
        .query_row(
            "SELECT MAX(at) FROM timestamp_failures WHERE tsa_url = ?1",
            [tsa.as_str()],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let last_success: Option<String> = tx
        .query_row(
            "SELECT MAX(at) FROM checkpoint_timestamps WHERE tsa_url = ?1",
            [tsa.as_str()],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let already_failing = last_failure.is_some() && last_failure >= last_success;
    tx.execute(
        "INSERT INTO timestamp_failures (checkpoint_id, tsa_url, at, error) VALUES (?1, ?2, ?3, ?4)",
        params![checkpoint, tsa.as_str(), now, error],
    )?;
    if !already_failing {
        let draft = EventDraft {
            kind: EventKind::TimestampFailed,
            summary: format!(
                "no RFC 3161 timestamp for checkpoint {checkpoint}: {error}; retried after each sweep"
            ),
            from_record: None,
            diff: None,
            severity: None,
            details: None,
        };
        if let Some(event) = crate::store::raise_event(&tx, &draft, routes, &now)? {
            ledger::record_event(
                &tx,
                &event,
                ledger::object(serde_json::json!({ "checkpoint_id": checkpoint })),
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn tsa_client(
    tsa: &TsaSettings,
    extra_roots: &crate::fetch::tls::ExtraRoots,
) -> Result<reqwest::Client, crate::fetch::ClientError> {
    Ok(crate::fetch::tls::client_builder(extra_roots)?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(tsa.timeout)
        .user_agent(crate::config::defaults::user_agent())
        .build()?)
}

/// After a checkpoint is signed: a token for each checkpoint that lacks
/// one (newest first, [`MAX_PER_SWEEP`] at most), stopping at the first
/// failure (recorded and alerted on, never returned: the sweep is done
/// either way).
pub async fn stamp_pending(
    store: &crate::store::StoreHandle,
    tsa: &TsaSettings,
    extra_roots: &crate::fetch::tls::ExtraRoots,
    routes: std::sync::Arc<[Route]>,
) {
    let pending = match store.call(|store| unstamped(store.conn())).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!("cannot list the checkpoints to timestamp: {e}");
            return;
        }
    };
    if pending.is_empty() {
        return;
    }
    let http = match tsa_client(tsa, extra_roots) {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!("no HTTP client for the TSA: {e}");
            return;
        }
    };
    for checkpoint in pending {
        let id = checkpoint.id;
        let url = tsa.url.clone();
        let result = stamp(&http, tsa, checkpoint.text().as_bytes()).await;
        let routes = routes.clone();
        let saved = store
            .call(move |store| match &result {
                Ok(der) => save(store, id, &url, der).map(|()| None),
                Err(error) => fail(store, id, &url, error, &routes).map(|()| Some(error.clone())),
            })
            .await;
        match saved {
            Ok(None) => {}
            Ok(Some(error)) => {
                tracing::warn!(
                    "no timestamp for checkpoint {id}: {error}; retried after the next sweep"
                );
                return;
            }
            Err(e) => {
                tracing::warn!("timestamp for checkpoint {id} not recorded: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_der_rfc_3161_describes() {
        let der = request(b"abc", &[0x80, 1]);
        let mut top = Reader(&der);
        let mut req = Reader(top.expect(SEQUENCE, "req").unwrap());
        assert!(top.0.is_empty());
        assert_eq!(req.expect(INTEGER, "version").unwrap(), [1]);
        let mut imprint = Reader(req.expect(SEQUENCE, "imprint").unwrap());
        let mut alg = Reader(imprint.expect(SEQUENCE, "alg").unwrap());
        assert_eq!(alg.expect(OID, "oid").unwrap(), SHA256_OID);
        assert_eq!(
            hex::encode(imprint.expect(OCTET_STRING, "hash").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A nonce with its high bit set gets a leading zero: positive.
        assert_eq!(req.expect(INTEGER, "nonce").unwrap(), [0, 0x80, 1]);
        assert_eq!(req.expect(BOOLEAN, "certReq").unwrap(), [0xff]);
        assert!(req.0.is_empty());
    }

    #[test]
    fn long_lengths_and_refusals_are_read() {
        let long = tlv(OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader(&long).next().unwrap().1.len(), 300);
        // status 2 (rejection) with a statusString.
        let refused = tlv(
            SEQUENCE,
            &tlv(
                SEQUENCE,
                &[tlv(INTEGER, &[2]), tlv(SEQUENCE, &tlv(0x0c, b"bad alg"))].concat(),
            ),
        );
        let err = parse_response(&refused).unwrap_err();
        assert!(
            err.contains("PKIStatus 2") && err.contains("bad alg"),
            "{err}"
        );
        assert!(parse_response(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_err());
        assert!(parse_response(&[0x30, 0x05, 0x30]).is_err());
    }
}
