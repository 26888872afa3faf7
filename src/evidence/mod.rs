//! Evidence an auditor can check without trusting scopewatch: the
//! append-only Merkle ledger ([`ledger`], [`merkle`]) whose event leaves
//! state each event's content ([`event_leaf`]), Ed25519-signed
//! checkpoints ([`checkpoint`]), WARC rendering of captures ([`warc`]), the
//! export bundle ([`export`]) with its signed [`manifest`] and optional
//! WACZ package ([`wacz`]), and verification of the live store and of a
//! bundle ([`verify`], its files read by [`bundle_file`]; events in
//! [`event_check`], the package in [`wacz_check`], an earlier checkpoint
//! extended in [`extends`]). The hooks the rest of the program calls are here:
//! [`before_sweep`], [`after_sweep`] and the ledger's lifecycle and
//! configuration leaves. RFC 3161 timestamps are requested in [`timestamp`],
//! read and verified in [`rfc3161`], checked by `verify` in
//! [`timestamp_check`]; the
//! re-extraction `verify` runs in [`recheck`] (of a bundle:
//! [`bundle_recheck`]).

mod bundle_file;
mod bundle_recheck;
mod capture_links;
pub mod checkpoint;
mod event_check;
pub mod event_leaf;
pub mod export;
pub mod extends;
pub mod ledger;
pub mod manifest;
pub mod merkle;
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

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::store::{Store, StoreError};
use crate::sweep::Sweeper;

/// Makes the names just written in `dir` durable (on Unix, where a
/// directory can be opened and synced; elsewhere nothing to do).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

pub use checkpoint::{Checkpoint, Signer};
pub use ledger::{Lifecycle, record_config, record_lifecycle};

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

impl From<rusqlite::Error> for EvidenceError {
    fn from(e: rusqlite::Error) -> Self {
        EvidenceError::Store(StoreError::from(e))
    }
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

/// The path of the open database file, when it is a file.
pub(crate) fn database_path(store: &Store) -> Option<PathBuf> {
    store
        .conn()
        .path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Records `config` in the ledger when it or its sources' extraction
/// settings changed since the last `config` leaf.
fn record_config_of(store: &Store, config: &Config) -> Result<(), EvidenceError> {
    ledger::record_config(
        store,
        &ledger::ConfigLeaf {
            config_sha256: &config.sha256,
            ca_sha256: config.http.extra_roots.file_sha256.as_deref(),
            tsa_ca_sha256: config.tsa_trust.as_ref().map(|t| t.file_sha256.as_str()),
            extraction: &recheck::extraction_fingerprints(config),
        },
    )?;
    Ok(())
}

/// Before each sweep (`check` and the daemon): records the configuration
/// the sweep runs with (`Config::sha256`, of the bytes it was parsed from,
/// and the sources' extraction fingerprints) in the ledger when it changed,
/// so the `config` leaf in force precedes the captures made with it (WARC
/// metadata names it; `verify` re-extracts by it). A failure is logged,
/// never fatal: it must not stop capture.
pub async fn before_sweep(sweeper: &Sweeper) {
    let config = sweeper.config.clone();
    let result = sweeper
        .store
        .call(move |store| record_config_of(store, &config))
        .await;
    if let Err(e) = result {
        tracing::warn!("the configuration was not recorded in the ledger: {e}");
    }
}

/// After each sweep (`check` and the daemon): prunes by `[retention]`, signs a checkpoint,
/// and with `[evidence] tsa_url` gets an RFC 3161 token for every
/// checkpoint that lacks one ([`timestamp`]). A failure is logged (a TSA's
/// also raised as an event), never fatal: the captures are committed.
pub async fn after_sweep(sweeper: &Sweeper) {
    let config = sweeper.config.clone();
    let result = sweeper
        .store
        .call(move |store| -> Result<(), EvidenceError> {
            if let Some(keep) = config.keep_raw_bodies {
                retention::prune(store, keep)?;
            }
            let Some(database) = database_path(store) else {
                return Ok(());
            };
            let signer = Signer::locate(config.key_file.as_deref(), &database)?;
            checkpoint::sign(store, &signer)?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!("no checkpoint signed after this sweep: {e}");
    }
    if let Some(tsa) = &sweeper.config.tsa {
        let routes = crate::config::alerts::routes(&sweeper.config.alerts).into();
        let extra_roots = &sweeper.config.http.extra_roots;
        let trust = sweeper.config.tsa_trust.as_ref();
        timestamp::stamp_pending(&sweeper.store, tsa, trust, extra_roots, routes).await;
    }
}
