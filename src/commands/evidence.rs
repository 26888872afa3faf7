//! `scopewatch export` (write an evidence bundle) and `scopewatch key show`
//! (print the public key that checkpoints and bundles are signed with, and
//! its key id).

use super::{Env, Status, UsageError};
use crate::clock;
use crate::evidence::{EvidenceError, Signer, export::Selection};
use crate::wording::counted;

pub fn key_show(env: &Env) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let database = env.database_path(config.as_ref())?;
    let signer = Signer::locate(
        config.as_ref().and_then(|c| c.key_file.as_deref()),
        &database,
    )?;
    print!("{}", signer.public_pem());
    // On standard error, so `key show > pinned.pem` stays a PEM file.
    eprintln!(
        "key id {} (as checkpoints, bundles and report.html name this key)",
        signer.key_id()
    );
    Ok(Status::Success)
}

pub fn export(env: &Env, args: crate::cli::ExportArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    super::require_known_sources(&store, config.as_ref(), &args.sources)?;
    let database = env.database_path(config.as_ref())?;
    let now = clock::now();
    let time = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| clock::parse_time(t, now).map_err(|e| UsageError(format!("{flag}: {e}"))))
            .transpose()
    };
    let selection = Selection {
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        sources: args.sources,
    };
    let signer = Signer::locate(
        config.as_ref().and_then(|c| c.key_file.as_deref()),
        &database,
    )?;
    let summary = match crate::evidence::export::write_bundle(
        &store,
        &signer,
        &selection,
        args.format,
        &args.out,
    ) {
        Err(EvidenceError::NothingSelected(message)) => return Err(UsageError(message).into()),
        written => written?,
    };
    say!(
        "wrote {}: {}, {}, {}; check it with `scopewatch verify {}` or the steps in its README.txt",
        args.out.display(),
        counted(summary.records, "capture", "captures"),
        counted(summary.entries, "ledger entry", "ledger entries"),
        counted(summary.checkpoints, "checkpoint", "checkpoints"),
        args.out.display()
    );
    Ok(Status::Success)
}
