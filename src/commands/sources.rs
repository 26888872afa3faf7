//! `scopewatch sources`: every source, configured or followed, and its state.

use super::{Env, Status, cell, print_json, print_table, query_error};

pub fn run(env: &Env, json: bool) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let path = env.database_path(config.as_ref())?;
    let store = if path.exists() {
        Some(env.open_store(config.as_ref())?)
    } else {
        None
    };
    let summaries = crate::query::sources(store.as_ref(), config.as_ref()).map_err(query_error)?;
    if json {
        print_json(&summaries)?;
    } else {
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    match &s.scope_unreadable_since {
                        Some(since) => format!("{}, scope unreadable since {since}", s.state),
                        None => s.state.clone(),
                    },
                    cell(s.last_checked.as_ref()),
                    cell(s.last_changed.as_ref()),
                    s.snapshots.to_string(),
                    s.url.clone(),
                ]
            })
            .collect();
        print_table(
            &[
                "ID",
                "STATE",
                "LAST CHECKED",
                "LAST CHANGED",
                "OK FETCHES",
                "URL",
            ],
            &rows,
        )?;
    }
    Ok(Status::Success)
}
