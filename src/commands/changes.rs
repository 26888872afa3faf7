//! `scopewatch changes`: events, newest first, with their severity.

use super::{Env, Status, UsageError, cell, print_json, print_table_with_severity};
use crate::alert::event_severity;
use crate::clock;
use crate::detect::EventKind;
use crate::store::{EventFilter, EventRow};

pub fn run(env: &Env, args: crate::cli::ChangesArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    super::require_known_sources(&store, config.as_ref(), &args.sources)?;
    require_known_kinds(&args.kinds)?;
    let since = args
        .since
        .as_deref()
        .map(|t| clock::parse_time(t, clock::now()).map(clock::format))
        .transpose()
        .map_err(|e| UsageError(format!("--since: {e}")))?;
    let mut events = store.events(&EventFilter {
        since,
        sources: args.sources,
        kinds: args.kinds,
    })?;
    fill_severities(&mut events);
    if let Some(minimum) = args.severity {
        events.retain(|e| event_severity(e.severity.as_deref(), &e.kind) >= minimum);
    }
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

/// Gives every event its severity as listed: its own (scope and
/// extraction events), else its kind's (see docs/alerts.md).
pub(super) fn fill_severities(events: &mut [EventRow]) {
    for event in events {
        let severity = event_severity(event.severity.as_deref(), &event.kind);
        event.severity = Some(severity.as_str().to_string());
    }
}

/// Refuses (exit 2) a `--kind` that is no event kind: it would select
/// nothing and look like a quiet database.
fn require_known_kinds(kinds: &[String]) -> anyhow::Result<()> {
    let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    for kind in kinds {
        if !known.contains(&kind.as_str()) {
            let hint = crate::wording::nearest(kind, known.iter().copied())
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            return Err(UsageError(format!(
                "--kind: no event kind {kind:?}; {hint}the kinds are {}",
                known.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}
