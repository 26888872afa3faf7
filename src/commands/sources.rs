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
                    state_cell(s),
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

/// The state, and what else is wrong: "ok, script shell: …, stale since
/// …, scope unreadable since …".
fn state_cell(summary: &crate::store::SourceSummary) -> String {
    let mut cell = summary.state.clone();
    if summary.content_kind.as_deref() == Some(crate::extract::shell::CONTENT_KIND) {
        cell.push_str(", script shell: no content without a browser");
    }
    if let Some(since) = &summary.stale_since {
        cell.push_str(&format!(", stale since {since}"));
    }
    if let Some(since) = &summary.scope_unreadable_since {
        cell.push_str(&format!(", scope unreadable since {since}"));
    }
    cell
}
