//! `scopewatch diff SOURCE [FROM [TO]]`: unified diff of normalised text.

use std::io::Write;

use super::{Env, Status, UsageError};
use crate::detect::unified_diff_labelled;

pub fn run(env: &Env, args: crate::cli::DiffArgs) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let (from, to) = match (args.from, args.to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => {
            let latest = store
                .history(&args.source, 50)?
                .into_iter()
                .find(|r| r.text_hash.is_some())
                .ok_or_else(|| UsageError(format!("source {:?} has no snapshot", args.source)))?;
            (from, latest.id)
        }
        _ => store.last_two_versions(&args.source)?.ok_or_else(|| {
            UsageError(format!(
                "source {:?} has fewer than two distinct versions to compare",
                args.source
            ))
        })?,
    };
    let mut labels = Vec::new();
    for id in [from, to] {
        let record = store.record(id)?;
        if record.source != args.source {
            return Err(UsageError(format!(
                "snapshot {id} belongs to source {:?}, not {:?}",
                record.source, args.source
            ))
            .into());
        }
        let replayed = if record.clock == "replayed" {
            ", replayed"
        } else {
            ""
        };
        labels.push(format!("snapshot {id} ({}{replayed})", record.started_at));
    }
    let old = String::from_utf8_lossy(&store.snapshot_bytes(from, false)?).into_owned();
    let new = String::from_utf8_lossy(&store.snapshot_bytes(to, false)?).into_owned();
    let (_, _, diff) = unified_diff_labelled(&old, &new, &labels[0], &labels[1]);
    let mut out = std::io::stdout().lock();
    out.write_all(diff.as_bytes())?;
    Ok(Status::Success)
}
