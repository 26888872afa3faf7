//! `scopewatch changes`: events, newest first, with their severity.

use super::{Env, Status, cell, print_json, print_table_with_severity, query_error};
use crate::clock;
use crate::query;

pub fn run(env: &Env, args: crate::cli::ChangesArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    let since = args
        .since
        .as_deref()
        .map(|t| query::parse_time("--since", t, clock::now()))
        .transpose()
        .map_err(query_error)?;
    let query = query::ChangesQuery {
        since,
        sources: args.sources,
        kinds: args.kinds.clone(),
        severity: args.severity,
        ..Default::default()
    };
    let events = query::changes(&store, config.as_ref(), &query).map_err(query_error)?;
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
                    e.kind.to_string(),
                    cell(e.severity.as_ref()),
                    format!("{}→{}", cell(e.from_snapshot), e.to_snapshot),
                    e.summary.clone(),
                ]
            })
            .collect();
        print_table_with_severity(
            &[
                "ID",
                "DETECTED",
                "SOURCE",
                "KIND",
                "SEVERITY",
                "SNAPSHOTS",
                "SUMMARY",
            ],
            &rows,
            4,
        )?;
    }
    Ok(Status::Success)
}
