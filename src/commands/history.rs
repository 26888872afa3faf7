//! `scopewatch history SOURCE`: the records of one source, newest first:
//! every attempt (304s and failures too), each named by its record id,
//! which `show` and `diff` take. A time the demo replayed is marked so.

use super::{Env, Status, cell, print_json, print_table, query_error};

pub fn run(env: &Env, args: crate::cli::HistoryArgs) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let records = crate::query::history(&store, &args.source, args.limit).map_err(query_error)?;
    if args.json {
        print_json(&records)?;
    } else {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                let replayed = if r.clock == "replayed" {
                    " (replayed)"
                } else {
                    ""
                };
                vec![
                    r.id.to_string(),
                    format!("{}{replayed}", r.started_at),
                    r.outcome.clone(),
                    cell(r.change.as_ref()),
                    cell(r.status),
                    cell(r.raw_size),
                    cell(r.text_hash.as_ref().map(|h| &h[..12])),
                    cell(r.error_class.as_ref()),
                ]
            })
            .collect();
        print_table(
            &[
                "RECORD",
                "FETCHED",
                "OUTCOME",
                "CHANGE",
                "STATUS",
                "BYTES",
                "TEXT HASH",
                "ERROR",
            ],
            &rows,
        )?;
    }
    Ok(Status::Success)
}
