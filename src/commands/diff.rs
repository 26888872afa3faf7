//! `scopewatch diff SOURCE [FROM [TO]]` or `diff SOURCE --from TIME --to
//! TIME`: unified diff of normalised text, each side named by its
//! snapshot id and date; `--word` marks the changed words.

use std::io::Write;

use super::{Env, Status, print_json, query_error};
use crate::clock;
use crate::query::{self, DiffQuery, SnapshotRef};

pub fn run(env: &Env, args: crate::cli::DiffArgs) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let now = clock::now();
    let at = |field: &'static str, time: &Option<String>| -> anyhow::Result<Option<SnapshotRef>> {
        time.as_deref()
            .map(|t| {
                query::parse_time(field, t, now).map(|at| SnapshotRef::At {
                    source: args.source.clone(),
                    at,
                })
            })
            .transpose()
            .map_err(query_error)
    };
    let from = match args.from {
        Some(id) => Some(SnapshotRef::Id(id)),
        None => at("from", &args.from_time)?,
    };
    let to = match args.to {
        Some(id) => Some(SnapshotRef::Id(id)),
        None => at("to", &args.to_time)?,
    };
    let diff = query::diff(
        &store,
        &DiffQuery {
            source: args.source.clone(),
            from,
            to,
            word: args.word,
        },
    )
    .map_err(query_error)?;
    if args.json {
        print_json(&diff)?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(diff.diff.as_bytes())?;
    }
    Ok(Status::Success)
}
