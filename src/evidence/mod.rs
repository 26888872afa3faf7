//! Evidence an auditor can check without trusting scopewatch, over the
//! append-only Merkle ledger ([`crate::ledger`]): Ed25519-signed
//! checkpoints ([`checkpoint`]), WARC rendering of captures ([`warc`]), the
//! export bundle ([`export`]) with its signed [`manifest`] and optional
//! WACZ package ([`wacz`]), and verification of the live store and of a
//! bundle ([`verify`], its files read by [`bundle_file`]; events in
//! [`event_check`], the package in [`wacz_check`], an earlier checkpoint
//! extended in [`extends`]). The hooks the rest of the program calls are here:
//! [`before_sweep`] (the configuration's leaf) and [`after_sweep`]. RFC 3161 timestamps are requested in [`timestamp`],
//! read and verified in [`rfc3161`], checked by `verify` in
//! [`timestamp_check`]; the
//! re-extraction `verify` runs in [`recheck`] (of a bundle:
//! [`bundle_recheck`]).

mod bundle_file;
mod bundle_recheck;
mod capture_links;
pub mod checkpoint;
mod event_check;
pub mod export;
pub mod extends;
pub mod manifest;
pub mod recheck;
mod report;
pub mod retention;
pub mod rfc3161;
pub mod timestamp;
mod timestamp_check;
pub mod verify;
pub mod wacz;
mod wacz_check;
pub mod warc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::fetch::tls::ExtraRoots;
use crate::routing::Route;
use crate::store::{StoreError, StoreHandle};

/// Makes the names just written in `dir` durable (on Unix, where a
/// directory can be opened and synced; elsewhere nothing to do).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

use crate::ledger;
pub use checkpoint::{Checkpoint, Signer};

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("{0}")]
    Damaged(String),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// `export` flags that select no capture: a usage error.
    #[error("{0}")]
    NothingSelected(String),
}

impl EvidenceError {
    /// An I/O error on `path`, naming it.
    pub fn file(path: &Path, error: impl std::fmt::Display) -> EvidenceError {
        EvidenceError::File {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}

/// One problem found by `verify`, naming what it concerns (a record, a
/// ledger entry, a checkpoint, a file of a bundle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What the problem is in, e.g. `record 3`, `ledger entry 7`,
    /// `checkpoint 2`, `record 12 (WARC record 3 of archive/x.warc.gz)`.
    pub concerns: String,
    /// The fetch record concerned, when there is one.
    pub record_id: Option<i64>,
    pub problem: String,
    /// Data removed by `[retention]` with a ledger prune leaf: reported,
    /// but not tampering, and not counted for the exit status.
    pub pruned_by_policy: bool,
    /// Not a problem but something `verify` could not check (e.g. records
    /// not re-extracted because their settings changed): reported, not
    /// counted for the exit status.
    pub info: bool,
}

impl Finding {
    pub fn new(concerns: impl Into<String>, problem: impl Into<String>) -> Finding {
        Finding {
            concerns: concerns.into(),
            record_id: None,
            problem: problem.into(),
            pruned_by_policy: false,
            info: false,
        }
    }

    /// A line saying what was not checked, and why.
    pub fn info(concerns: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding {
            info: true,
            ..Finding::new(concerns, text)
        }
    }

    pub fn record(record_id: i64, problem: impl Into<String>) -> Finding {
        Finding {
            record_id: Some(record_id),
            ..Finding::new(format!("record {record_id}"), problem)
        }
    }
}

/// The configuration a sweep runs with, as the ledger's `config` leaf
/// states it; the configuration builds it.
#[derive(Debug, Clone)]
pub struct ConfigInForce {
    /// SHA-256 (hex) of the bytes the configuration was parsed from.
    pub config_sha256: String,
    /// SHA-256 (hex) of `[http] ca_file`, when there is one.
    pub ca_sha256: Option<String>,
    /// SHA-256 (hex) of `[evidence] tsa_ca_file`, when there is one.
    pub tsa_ca_sha256: Option<String>,
    /// Source id to extraction fingerprint
    /// ([`recheck::ExtractionSettings::fingerprints`]).
    pub extraction: BTreeMap<String, String>,
}

/// What [`after_sweep`] does, from the configuration (which builds it).
#[derive(Debug, Clone)]
pub struct AfterSweep<'a> {
    /// `[retention] raw_bodies`: raw bodies older than this are pruned.
    pub keep_raw_bodies: Option<Duration>,
    /// `[evidence] key_file`: the signing key; `None`: the one beside the
    /// database.
    pub key_file: Option<&'a Path>,
    /// `[evidence] tsa_url` and `tsa_timeout`.
    pub tsa: Option<&'a timestamp::TsaSettings>,
    /// `[evidence] tsa_ca_file`.
    pub tsa_trust: Option<&'a rfc3161::TsaTrust>,
    /// `[http] ca_file`: what the TSA client trusts besides Mozilla's roots.
    pub extra_roots: &'a ExtraRoots,
    /// The alert routes a failed timestamp's event goes to.
    pub routes: Arc<[Route]>,
}

/// Before each sweep (`check` and the daemon): records the configuration
/// the sweep runs with (`config_sha256`, of the bytes it was parsed from,
/// and the sources' extraction fingerprints) in the ledger when it or its
/// sources' extraction settings changed since the last `config` leaf, so
/// the `config` leaf in force precedes the captures made with it (WARC
/// metadata names it; `verify` re-extracts by it). A failure is logged,
/// never fatal: it must not stop capture.
pub async fn before_sweep(store: &StoreHandle, config: ConfigInForce) {
    let result = store
        .call(move |store| {
            ledger::record_config(
                store,
                &ledger::ConfigLeaf {
                    config_sha256: &config.config_sha256,
                    ca_sha256: config.ca_sha256.as_deref(),
                    tsa_ca_sha256: config.tsa_ca_sha256.as_deref(),
                    extraction: &config.extraction,
                },
            )
        })
        .await;
    if let Err(e) = result {
        tracing::warn!("the configuration was not recorded in the ledger: {e}");
    }
}

/// After each sweep (`check` and the daemon): prunes by `[retention]`, signs a checkpoint,
/// and with `[evidence] tsa_url` gets an RFC 3161 token for every
/// checkpoint that lacks one ([`timestamp`]). A failure is logged (a TSA's
/// also raised as an event), never fatal: the captures are committed.
pub async fn after_sweep(store: &StoreHandle, settings: AfterSweep<'_>) {
    let keep_raw_bodies = settings.keep_raw_bodies;
    let key_file = settings.key_file.map(Path::to_path_buf);
    let result = store
        .call(move |store| -> Result<(), EvidenceError> {
            if let Some(keep) = keep_raw_bodies {
                retention::prune(store, keep)?;
            }
            let Some(database) = store.file_path() else {
                return Ok(());
            };
            let signer = Signer::locate(key_file.as_deref(), &database)?;
            checkpoint::sign(store, &signer)?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!("no checkpoint signed after this sweep: {e}");
    }
    if let Some(tsa) = settings.tsa {
        timestamp::stamp_pending(
            store,
            tsa,
            settings.tsa_trust,
            settings.extra_roots,
            settings.routes,
        )
        .await;
    }
}
