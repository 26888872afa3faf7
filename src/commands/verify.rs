//! `scopewatch verify`: recompute the hash chain, blob hashes, ledger and
//! signed checkpoints of the live database and re-extract its stored
//! bodies, or check an exported bundle and, with `--config`, re-extract its
//! captures (`scopewatch verify BUNDLE`), and report every finding.

use std::path::Path;

use super::{Env, Status, print_json};
use crate::config::Config;
use crate::evidence::recheck::{ExtractionSettings, Reextraction};
use crate::evidence::verify::{KeyOrigin, Verified};
use crate::evidence::{self, Signer};
use crate::isolation::Extractor;
use crate::wording::counted;

pub fn run(env: &Env, args: crate::cli::VerifyArgs) -> anyhow::Result<Status> {
    let Verified {
        findings,
        re_extracted,
        checkpoints,
        covered,
    } = match &args.bundle {
        Some(bundle) => {
            let config = env.optional_config()?;
            let extractor = config.as_ref().map(extractor);
            let extraction = config.as_ref().map(Config::extraction_settings);
            let since = args
                .since_checkpoint
                .as_deref()
                .map(evidence::extends::read_old)
                .transpose()?;
            evidence::verify::verify_bundle(
                bundle,
                args.key.as_deref(),
                since.as_ref(),
                reextraction(config.as_ref(), extraction.as_ref(), extractor.as_ref()),
            )?
        }
        None => live(env, args.key.as_deref(), args.last_checkpoint)?,
    };
    let tampering = tampering(&findings);
    if args.json {
        print_json(&findings)?;
    } else {
        for finding in &findings {
            let info = if finding.info { "info: " } else { "" };
            say!("{info}{}: {}", finding.concerns, finding.problem);
        }
        let bodies = counted(re_extracted, "capture", "captures");
        let verified = match covered {
            Some(_) => "verified (the last checkpoint interval only)",
            None => "verified",
        };
        match (tampering, &args.bundle) {
            (0, Some(_)) => say!(
                "bundle verified: every checksum, signature, WARC digest, ledger proof and checkpoint matches, and every re-extracted body ({bodies}) gives the text and scope hashes the bundle states"
            ),
            (0, None) if checkpoints == 0 => say!(
                "{verified}: every record hash, link, blob hash and ledger entry matches, and every re-extracted body ({bodies}) gives its record's text and scope hashes; there are no signed checkpoints yet (`check` and the daemon sign one after each sweep)"
            ),
            (0, None) => say!(
                "{verified}: every record hash, link, blob hash, ledger entry and signed checkpoint ({checkpoints}) matches, and every re-extracted body ({bodies}) gives its record's text and scope hashes"
            ),
            (n, _) => say!("{}", counted(n, "finding", "findings")),
        }
    }
    Ok(if tampering == 0 {
        Status::Success
    } else {
        Status::Findings
    })
}

/// Verifies the database and records what that came to, a failure too;
/// `last_checkpoint`: only the newest checkpoint interval, which is not
/// recorded (the evidence page tells of whole-store verifies).
fn live(env: &Env, pinned: Option<&Path>, last_checkpoint: bool) -> anyhow::Result<Verified> {
    let (config, store) = env.open_existing_store()?;
    let database = env.database_path(config.as_ref())?;
    let verified = verify_live(&store, config.as_ref(), &database, pinned, last_checkpoint);
    if !last_checkpoint {
        record_run(store, verified.as_ref());
    }
    Ok(verified?)
}

fn verify_live(
    store: &crate::store::Store,
    config: Option<&Config>,
    database: &Path,
    pinned: Option<&Path>,
    last_checkpoint: bool,
) -> Result<Verified, evidence::EvidenceError> {
    let key = match pinned {
        Some(path) => Some((evidence::verify::read_public_key(path)?, KeyOrigin::Pinned)),
        None => Signer::existing(config.and_then(|c| c.key_file.as_deref()), database)?
            .map(|s| (s.verifying_key(), KeyOrigin::SigningKey)),
    };
    let extractor = config.map(extractor);
    let extraction = config.map(Config::extraction_settings);
    let verify = if last_checkpoint {
        evidence::verify::verify_last_checkpoint
    } else {
        evidence::verify::verify_store
    };
    verify(
        store,
        key.as_ref().map(|(key, origin)| (key, *origin)),
        reextraction(config, extraction.as_ref(), extractor.as_ref()),
    )
}

/// The findings that set the exit status: neither pruned by policy nor
/// only information.
fn tampering(findings: &[evidence::Finding]) -> usize {
    findings
        .iter()
        .filter(|f| !f.pruned_by_policy && !f.info)
        .count()
}

/// Keeps what this `verify` of the database came to, or why it could not
/// finish (the web view's evidence page shows the last); a database that
/// takes no write is said, not fatal: the findings are printed all the
/// same.
fn record_run(
    mut store: crate::store::Store,
    verified: Result<&Verified, &evidence::EvidenceError>,
) {
    let finished_at = crate::clock::format(crate::clock::now());
    let run = match verified {
        Ok(verified) => {
            let findings = tampering(&verified.findings);
            crate::store::VerifyRun {
                finished_at,
                findings: findings as i64,
                notes: (verified.findings.len() - findings) as i64,
                checkpoints: verified.checkpoints as i64,
                re_extracted: verified.re_extracted as i64,
                error: None,
            }
        }
        Err(e) => crate::store::VerifyRun {
            finished_at,
            findings: 0,
            notes: 0,
            checkpoints: 0,
            re_extracted: 0,
            error: Some(e.to_string()),
        },
    };
    if let Err(e) = store.record_verify_run(&run) {
        eprintln!("warning: this verify's outcome was not recorded in the database: {e}");
    }
}

/// The sweep's extraction processes, under the configuration's `[limits]`.
fn extractor(config: &Config) -> Extractor {
    Extractor::new(crate::isolation::this_executable(), config.limits.clone())
}

fn reextraction<'a>(
    config: Option<&'a Config>,
    extraction: Option<&'a ExtractionSettings<'a>>,
    extractor: Option<&'a Extractor>,
) -> Option<Reextraction<'a>> {
    Some(Reextraction {
        extraction: extraction?,
        tsa_trust: config?.tsa_trust.as_ref(),
        extractor: extractor?,
    })
}
