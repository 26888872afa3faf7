//! `scopewatch check`: one sweep now, then exit.

use std::io::IsTerminal;

use super::{Env, Status, UsageError, cell, print_json, print_table_with_severity};
use crate::app::{App, SweepRequest};
use crate::scope::Severity;
use crate::sweep::SourceOutcome;

pub fn run(env: &Env, args: crate::cli::CheckArgs) -> anyhow::Result<Status> {
    let config = env.config()?;
    for id in &args.sources {
        if config.source(id).is_none() {
            return Err(UsageError(format!(
                "no source {id:?} in {}; `scopewatch sources` lists them",
                config.path.display()
            ))
            .into());
        }
    }
    let sources: Vec<_> = config
        .sources
        .iter()
        .filter(|s| args.sources.is_empty() || args.sources.contains(&s.id))
        .cloned()
        .collect();
    let store = env.open_store(Some(&config))?;
    let app = App::open(config, store)?;
    let interactive = std::io::stderr().is_terminal();
    let progress = move |outcome: &SourceOutcome, done: usize, total: usize| {
        if interactive {
            eprintln!("[{done}/{total}] {} {}", outcome.source, outcome.result);
        }
    };
    let runtime = crate::app::runtime()?;
    let report = runtime.block_on(app.sweep(SweepRequest {
        progress: &progress,
        ..SweepRequest::quiet(&sources)
    }));
    let damage = app.store().damage();
    if damage.is_none() {
        runtime.block_on(app.deliver());
    }
    drop(runtime);
    app.close()?;
    if let Some(damage) = damage {
        return Err(UsageError(damage).into());
    }

    let (total, failed, changed) = (report.outcomes.len(), report.failed(), report.changed());
    // Listed: every source, or with --severity those with an event at least that severe.
    let mut outcomes = report.outcomes;
    for outcome in &mut outcomes {
        crate::query::fill_severities(&mut outcome.events);
    }
    let mut listed: Vec<&SourceOutcome> = outcomes
        .iter()
        .filter(|o| {
            args.severity
                .is_none_or(|min| highest_severity(o).is_some_and(|s| s >= min))
        })
        .collect();
    if args.json {
        print_json(&listed)?;
    } else {
        listed.sort_by(|a, b| a.source.cmp(&b.source));
        let rows: Vec<Vec<String>> = listed
            .iter()
            .map(|o| {
                vec![
                    o.source.clone(),
                    o.result.clone(),
                    cell(o.change.map(|c| c.as_str())),
                    cell(highest_severity(o).map(Severity::as_str)),
                    cell(o.snapshot),
                    o.events
                        .iter()
                        .map(|e| format!("{}: {}", e.kind, e.summary))
                        .chain(shell_note(o))
                        .chain(
                            o.error
                                .as_deref()
                                .map(|e| crate::fetch::headline(&o.url, e)),
                        )
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect();
        print_table_with_severity(
            &[
                "SOURCE", "RESULT", "CHANGE", "SEVERITY", "SNAPSHOT", "DETAIL",
            ],
            &rows,
            3,
        )?;
        say!(
            "{}: {} failed, {} changed",
            crate::wording::counted(total, "source", "sources"),
            failed,
            changed
        );
    }
    Ok(if failed > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}

/// The most severe of a source's events this sweep.
fn highest_severity(outcome: &SourceOutcome) -> Option<Severity> {
    outcome
        .events
        .iter()
        .map(|e| e.kind.severity(e.severity.as_deref()))
        .max()
}

/// A script shell's reminder, when its event (which says what to do) is
/// not among this sweep's.
fn shell_note(outcome: &SourceOutcome) -> Option<String> {
    let shell = crate::extract::shell::CONTENT_KIND;
    let said = outcome
        .events
        .iter()
        .any(|e| e.details.get("reason").and_then(|r| r.as_str()) == Some(shell));
    (outcome.content_kind.as_deref() == Some(shell) && !said)
        .then(|| "script shell: a plain fetch of this page holds no content".to_string())
}
