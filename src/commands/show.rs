//! `scopewatch show SNAPSHOT` or `show SOURCE --at TIME`: the normalised
//! text (or the raw body) of a snapshot.

use std::io::Write;

use super::{Env, Status, UsageError, print_json, query_error};
use crate::clock;
use crate::query::{self, SnapshotRef};

pub fn run(env: &Env, args: crate::cli::ShowArgs) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let reference = match &args.at {
        Some(at) => SnapshotRef::At {
            source: args.snapshot.clone(),
            at: query::parse_time("at", at, clock::now()).map_err(query_error)?,
        },
        None => SnapshotRef::Id(args.snapshot.parse().map_err(|_| {
            UsageError(format!(
                "{:?} is not a snapshot id (a number from `history`); to show a source as it was at a time, add --at TIME",
                args.snapshot
            ))
        })?),
    };
    if args.json {
        print_json(&query::show(&store, &reference).map_err(query_error)?)?;
        return Ok(Status::Success);
    }
    let record = query::resolve(&store, &reference).map_err(query_error)?;
    let bytes = store.snapshot_bytes(record.id, args.raw)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(Status::Success)
}
