//! `scopewatch changes`: events, newest first.

use super::{Env, Status, UsageError, cell, print_json, print_table};
use crate::clock;
use crate::store::EventFilter;

pub fn run(env: &Env, args: crate::cli::ChangesArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    super::require_known_sources(&store, config.as_ref(), &args.sources)?;
    let since = args
        .since
        .as_deref()
        .map(|t| clock::parse_time(t, clock::now()).map(clock::format))
        .transpose()
        .map_err(|e| UsageError(format!("--since: {e}")))?;
    let events = store.events(&EventFilter {
        since,
        sources: args.sources,
        kinds: args.kinds,
    })?;
    if args.json {
        print_json(&events)?;
    } else {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    e.id.to_string(),
                    e.detected_at.clone(),
                    e.source.clone(),
                    e.kind.clone(),
                    format!("{}→{}", cell(e.from_snapshot), e.to_snapshot),
                    e.summary.clone(),
                ]
            })
            .collect();
        print_table(
            &["ID", "DETECTED", "SOURCE", "KIND", "SNAPSHOTS", "SUMMARY"],
            &rows,
        )?;
    }
    Ok(Status::Success)
}
