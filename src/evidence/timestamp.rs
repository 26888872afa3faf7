//! RFC 3161 timestamps over signed checkpoints (`[evidence] tsa_url`):
//! after each sweep the newest checkpoint, when it is newer than the newest
//! one stamped, is sent to the TSA (a `TimeStampReq` with the SHA-256 of
//! its signed text, a random nonce and `certReq`), and a granted response
//! whose imprint and nonce match (and, with `[evidence] tsa_ca_file`, whose
//! signature and certificate chain verify) is stored with it. Older
//! checkpoints left without a token need none: the newer token bounds
//! every entry they cover, and tokens stay in checkpoint order, which
//! `verify` checks. A TSA that fails never blocks anything: the failure is
//! recorded, a `timestamp-failed` event is raised when the TSA starts
//! failing, and the next sweep tries again. The ASN.1 and the signature
//! checks are in [`super::rfc3161`]; `verify`'s findings in
//! [`super::timestamp_check`].

use std::path::Path;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use url::Url;

use super::checkpoint::Checkpoint;
use super::rfc3161::{self, TsaTrust};
use super::timestamp_check::{self, StoredToken};
use super::{EvidenceError, Finding};
use crate::clock;
use crate::detect::{EventDraft, EventKind};
use crate::ledger;
use crate::routing::Route;
use crate::store::Store;

/// `[evidence] tsa_timeout` when not written.
pub const DEFAULT_TIMEOUT: &str = "30s";

/// `[evidence] tsa_url` and `tsa_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaSettings {
    pub url: Url,
    pub timeout: Duration,
}

/// Asks the TSA for a token over `message`; returns the DER reply, checked
/// against `trust` when there is one. Everything, the reply's checks
/// included, ends within `tsa.timeout`: the checks run on a blocking
/// thread, so a reply that is slow to decode cannot hold the daemon's loop.
async fn stamp(
    http: &reqwest::Client,
    tsa: &TsaSettings,
    trust: Option<&TsaTrust>,
    message: &[u8],
) -> Result<Vec<u8>, String> {
    let deadline = tokio::time::Instant::now() + tsa.timeout;
    let too_slow = || {
        format!(
            "the TSA {} did not give a checked token within tsa_timeout ({}s)",
            tsa.url,
            tsa.timeout.as_secs()
        )
    };
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for the nonce: {e}"))?;
    let request = rfc3161::request(message, &nonce).map_err(|e| e.to_string())?;
    let body = tokio::time::timeout_at(deadline, ask(http, tsa, request))
        .await
        .map_err(|_| too_slow())??;
    let trust = trust.cloned();
    let message = message.to_vec();
    let checked = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let granted =
            rfc3161::check_response(&body, &message, &nonce).map_err(|e| e.to_string())?;
        if let Some(trust) = &trust {
            rfc3161::verify_token(&granted.token, trust, &Sha256::digest(&message)).map_err(
                |e| format!("the TSA's token does not verify against [evidence] tsa_ca_file: {e}"),
            )?;
        }
        Ok(body)
    });
    tokio::time::timeout_at(deadline, checked)
        .await
        .map_err(|_| too_slow())?
        .map_err(|e| format!("the check of the TSA's reply stopped: {e}"))?
}

/// Posts the request; the reply's body, at most [`MAX_REPLY`] bytes.
async fn ask(
    http: &reqwest::Client,
    tsa: &TsaSettings,
    request: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut response = http
        .post(tsa.url.clone())
        .header("Content-Type", "application/timestamp-query")
        .body(request)
        .send()
        .await
        .map_err(|e| format!("no answer from the TSA {}: {e}", tsa.url))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the TSA {} answered HTTP {status}", tsa.url));
    }
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
    Ok(body)
}

/// The largest reply read, from a TSA or a bundle: a `TimeStampResp` with
/// its certificate chain is 2 to 8 KiB. The bound also bounds the decoding:
/// the `der` crate sorts each SET OF it reads (an insertion sort), so one
/// hostile certificate name of 64 KiB took 7 s to decode, and one of
/// 16 KiB 0.2 s (see docs/security.md).
const MAX_REPLY: usize = 16 * 1024;

/// The newest checkpoint, when it is newer than every stamped one: one
/// request per sweep, so a slow TSA holds the daemon's loop for at most one
/// `tsa_timeout`, well inside the systemd watchdog; a token over the newest
/// checkpoint bounds every entry before it; and tokens are requested in
/// checkpoint order, so an honest store's tokens are in time order too.
fn unstamped(store: &Store) -> Result<Option<Checkpoint>, EvidenceError> {
    Ok(store.unstamped_checkpoint()?)
}

/// `ledger/checkpoints/NNNNNN.tsr` for each of `checkpoints` that has a
/// token: the DER `TimeStampResp`, as `openssl ts -verify -in` reads it.
pub fn bundle_files(
    store: &Store,
    checkpoints: &[Checkpoint],
) -> Result<Vec<(String, Vec<u8>)>, EvidenceError> {
    let ids: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.id).collect();
    Ok(store
        .timestamp_tokens()?
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, der)| (format!("ledger/checkpoints/{id:06}.tsr"), der))
        .collect())
}

/// Each stored token against its checkpoint, and with `trust` its signature
/// and certificate chain (see [`timestamp_check`]).
pub fn check_tokens(
    store: &Store,
    checkpoints: &[Checkpoint],
    trust: Option<&TsaTrust>,
) -> Result<Vec<Finding>, EvidenceError> {
    check_stored(store, checkpoints, trust, |_| true)
}

/// [`check_tokens`] of the tokens stored for `checkpoints` alone (the
/// others' are not findings about checkpoints left out).
pub fn check_tokens_of(
    store: &Store,
    checkpoints: &[Checkpoint],
    trust: Option<&TsaTrust>,
) -> Result<Vec<Finding>, EvidenceError> {
    check_stored(store, checkpoints, trust, |id| {
        checkpoints.iter().any(|c| c.id == id)
    })
}

/// The stored tokens whose checkpoint id passes `keep`, checked.
fn check_stored(
    store: &Store,
    checkpoints: &[Checkpoint],
    trust: Option<&TsaTrust>,
    keep: impl Fn(i64) -> bool,
) -> Result<Vec<Finding>, EvidenceError> {
    let tokens = store
        .timestamp_tokens()?
        .into_iter()
        .filter(|(id, _)| keep(*id))
        .map(|(id, der)| StoredToken {
            concerns: format!("timestamp of checkpoint {id}"),
            checkpoint_id: id,
            reply: Ok(der),
        })
        .collect();
    Ok(timestamp_check::check(tokens, checkpoints, trust))
}

/// The bundle's `.tsr` files against the checkpoints beside them.
pub fn check_bundle_tokens(
    dir: &Path,
    checkpoints: &[Checkpoint],
    trust: Option<&TsaTrust>,
) -> Vec<Finding> {
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
        tokens.push(StoredToken {
            concerns: format!("ledger/checkpoints/{name}"),
            checkpoint_id: id,
            reply: read_bounded(&entry.path()),
        });
    }
    tokens.sort_by_key(|t| t.checkpoint_id);
    timestamp_check::check(tokens, checkpoints, trust)
}

/// A bundle's `.tsr` file, of at most [`MAX_REPLY`] bytes.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    super::bundle_file::read(path, MAX_REPLY as u64).map_err(|e| format!("cannot be read: {e}"))
}

/// Keeps the token for `checkpoint` only while it is still the newest: no
/// token for a later checkpoint is stored, and none stored states a later
/// time than this one's beyond both accuracies. Checked and inserted in one
/// IMMEDIATE transaction, so two processes stamping at once (`check` beside
/// the daemon, with a slow TSA) cannot store tokens out of order, which
/// `verify` would report as a rewritten log for good. Returns the
/// checkpoint stamped meanwhile when the token is not kept.
fn save(
    store: &Store,
    checkpoint: i64,
    tsa: &Url,
    der: &[u8],
) -> Result<Option<i64>, EvidenceError> {
    let tx = store.write_transaction()?;
    if let Some((newest, reply)) = tx.newest_timestamp_token()? {
        let later_in_time = || {
            let (Ok(stored), Ok(ours)) = (
                rfc3161::parse_response(&reply),
                rfc3161::parse_response(der),
            ) else {
                return false;
            };
            ours.info.latest() < stored.info.earliest()
        };
        if newest >= checkpoint || later_in_time() {
            return Ok(Some(newest));
        }
    }
    tx.insert_timestamp_token(checkpoint, tsa.as_str(), &clock::format(clock::now()), der)?;
    tx.commit()?;
    Ok(None)
}

/// Records a failure; raises `timestamp-failed` (an event, its ledger leaf
/// and its deliveries) unless the TSA was already failing. One transaction.
fn fail(
    store: &mut Store,
    checkpoint: i64,
    tsa: &Url,
    error: &str,
    routes: &[Route],
) -> Result<(), EvidenceError> {
    let now = clock::format(clock::now());
    store.write(|w| {
        let (last_failure, last_success) = w.last_timestamp_outcomes(tsa.as_str())?;
        let already_failing = last_failure.is_some() && last_failure >= last_success;
        w.insert_timestamp_failure(checkpoint, tsa.as_str(), &now, error)?;
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
            let extra = ledger::object(serde_json::json!({ "checkpoint_id": checkpoint }));
            crate::record::raised::raise_event(w, &draft, extra, routes, &now)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn tsa_client(
    tsa: &TsaSettings,
    extra_roots: &crate::fetch::tls::ExtraRoots,
) -> Result<reqwest::Client, crate::fetch::ClientError> {
    crate::fetch::client::http_client(
        crate::fetch::client::Purpose::Timestamps {
            timeout: tsa.timeout,
        },
        extra_roots,
        crate::fetch::USER_AGENT,
    )
}

/// Why a token was not stored.
enum Outcome {
    /// The TSA failed: recorded, retried after the next sweep.
    Failed(String),
    /// A later checkpoint was stamped meanwhile (by another process).
    Superseded(i64),
}

/// After a checkpoint is signed: a token for the newest checkpoint unless
/// it or a newer one has one (see [`unstamped`]). A failure is recorded
/// and alerted on, never returned: the sweep is done either way, and the
/// next sweep asks for its own newest checkpoint.
pub async fn stamp_pending(
    store: &crate::store::StoreHandle,
    tsa: &TsaSettings,
    trust: Option<&TsaTrust>,
    extra_roots: &crate::fetch::tls::ExtraRoots,
    routes: std::sync::Arc<[Route]>,
) {
    let checkpoint = match store.call(|store| unstamped(store)).await {
        Ok(Some(checkpoint)) => checkpoint,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("cannot find the checkpoint to timestamp: {e}");
            return;
        }
    };
    let http = match tsa_client(tsa, extra_roots) {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!("no HTTP client for the TSA: {e}");
            return;
        }
    };
    let id = checkpoint.id;
    let url = tsa.url.clone();
    let result = stamp(&http, tsa, trust, checkpoint.text().as_bytes()).await;
    let saved = store
        .call(move |store| match &result {
            Ok(der) => save(store, id, &url, der).map(|newer| newer.map(Outcome::Superseded)),
            Err(error) => {
                fail(store, id, &url, error, &routes).map(|()| Some(Outcome::Failed(error.clone())))
            }
        })
        .await;
    match saved {
        Ok(None) => {}
        Ok(Some(Outcome::Superseded(newer))) => tracing::info!(
            "the timestamp for checkpoint {id} is not kept: checkpoint {newer} was timestamped meanwhile, and its token bounds every entry"
        ),
        Ok(Some(Outcome::Failed(error))) => {
            tracing::warn!(
                "no timestamp for checkpoint {id}: {error}; retried after the next sweep"
            )
        }
        Err(e) => tracing::warn!("timestamp for checkpoint {id} not recorded: {e}"),
    }
}
