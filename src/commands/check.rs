//! `scopewatch check`: one sweep now, then exit.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::{Env, Status, UsageError, cell, print_json, print_table};
use crate::fetch::Fetcher;
use crate::isolation::Extractor;
use crate::store::StoreHandle;
use crate::sweep::{SourceOutcome, Sweeper};

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
    let fetcher = Fetcher::new(&config.http)?;
    let (store, writer) = StoreHandle::spawn(store);
    let extractor = Extractor::new(crate::isolation::this_executable(), config.limits.clone());
    let sweeper = Sweeper {
        config: Arc::new(config),
        fetcher: Arc::new(fetcher),
        store,
        extractor: Arc::new(extractor),
    };

    let interactive = std::io::stderr().is_terminal();
    let progress = move |outcome: &SourceOutcome, done: usize, total: usize| {
        if interactive {
            eprintln!("[{done}/{total}] {} {}", outcome.source, outcome.result);
        }
    };
    let runtime = super::runtime()?;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let report = runtime.block_on(async {
        crate::evidence::before_sweep(&sweeper).await;
        let report = sweeper
            .sweep(&sources, Duration::ZERO, stop, &progress)
            .await;
        crate::evidence::after_sweep(&sweeper).await;
        report
    });
    crate::alert::dispatch::deliver_before_exit(&runtime, &sweeper)?;
    drop(sweeper);
    drop(runtime);
    writer.join().expect("the store writer finished its jobs");

    if args.json {
        print_json(&report.outcomes)?;
    } else {
        let mut outcomes = report.outcomes.clone();
        outcomes.sort_by(|a, b| a.source.cmp(&b.source));
        let rows: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| {
                vec![
                    o.source.clone(),
                    o.result.clone(),
                    cell(o.change.map(|c| c.as_str())),
                    cell(o.snapshot),
                    o.events
                        .iter()
                        .map(|e| format!("{}: {}", e.kind, e.summary))
                        .chain(o.error.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect();
        print_table(&["SOURCE", "RESULT", "CHANGE", "SNAPSHOT", "DETAIL"], &rows)?;
        say!(
            "{} sources: {} failed, {} changed",
            report.outcomes.len(),
            report.failed(),
            report.changed()
        );
    }
    Ok(if report.failed() > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}
