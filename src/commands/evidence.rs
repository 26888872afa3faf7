//! `scopewatch export` (write an evidence bundle) and `scopewatch key show`
//! (print the public key that checkpoints and bundles are signed with).

use super::{Env, Status, UsageError};
use crate::clock;
use crate::evidence::{Signer, export::Selection};
use crate::wording::counted;

pub fn key_show(env: &Env) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let database = env.database_path(config.as_ref())?;
    let signer = Signer::locate(
        config.as_ref().and_then(|c| c.key_file.as_deref()),
        &database,
    )?;
    print!("{}", signer.public_pem());
    Ok(Status::Success)
}

pub fn export(env: &Env, args: crate::cli::ExportArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    super::require_known_sources(&store, config.as_ref(), &args.sources)?;
    let database = env.database_path(config.as_ref())?;
    let now = clock::now();
    let time = |text: &Option<String>| {
        text.as_deref()
            .map(|t| clock::parse_time(t, now).map_err(UsageError))
            .transpose()
    };
    let selection = Selection {
        since: time(&args.since)?,
        until: time(&args.until)?,
        sources: args.sources,
    };
    let signer = Signer::locate(
        config.as_ref().and_then(|c| c.key_file.as_deref()),
        &database,
    )?;
    let summary =
        crate::evidence::export::write_bundle(&store, &signer, &selection, args.format, &args.out)?;
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
