//! `scopewatch show SNAPSHOT`: the normalised text or the raw body.

use std::io::Write;

use super::{Env, Status};

pub fn run(env: &Env, args: crate::cli::ShowArgs) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let bytes = store.snapshot_bytes(args.snapshot, args.raw)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(Status::Success)
}
