//! `scopewatch status`: from the database, whether a daemon is running, its
//! last heartbeat, next sweep, failing sources and recent daemon events.

use serde::Serialize;

use super::{Env, Status, cell, print_json};
use crate::store::lock::DaemonLock;
use crate::store::{DaemonEvent, SweepSummary};

#[derive(Debug, Serialize)]
struct StatusReport {
    /// A daemon holds the database's lock.
    running: bool,
    pid: Option<String>,
    started_at: Option<String>,
    last_heartbeat: Option<String>,
    next_sweep: Option<String>,
    last_sweep: Option<SweepSummary>,
    failing_sources: Vec<String>,
    /// Sources whose scope extraction is broken, and since when.
    scope_unreadable: Vec<ScopeUnreadable>,
    recent_events: Vec<DaemonEvent>,
}

#[derive(Debug, Serialize)]
struct ScopeUnreadable {
    source: String,
    since: String,
}

pub fn run(env: &Env, json: bool) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let database = env.database_path(config.as_ref())?;
    let (_, store) = env.open_existing_store()?;
    let holder = DaemonLock::holder(&database);
    let daemon = store.daemon_status()?;
    let summaries = store.source_summaries()?;
    let failing_sources = summaries
        .iter()
        .filter(|s| s.state == "failing")
        .map(|s| s.id.clone())
        .collect();
    let scope_unreadable = summaries
        .into_iter()
        .filter_map(|s| {
            s.scope_unreadable_since.map(|since| ScopeUnreadable {
                source: s.id,
                since,
            })
        })
        .collect();
    let report = StatusReport {
        running: holder.is_some(),
        pid: holder,
        started_at: daemon.as_ref().map(|d| d.started_at.clone()),
        last_heartbeat: daemon.as_ref().map(|d| d.heartbeat_at.clone()),
        next_sweep: daemon.as_ref().and_then(|d| d.next_sweep.clone()),
        last_sweep: daemon.and_then(|d| d.last_sweep),
        failing_sources,
        scope_unreadable,
        recent_events: store.daemon_events(5)?,
    };
    if json {
        print_json(&report)?;
        return Ok(Status::Success);
    }
    say!("database:        {}", database.display());
    say!(
        "daemon:          {}",
        match &report.pid {
            Some(pid) => format!("running (pid {pid})"),
            None => "not running".to_string(),
        }
    );
    say!("last heartbeat:  {}", cell(report.last_heartbeat.as_ref()));
    say!("next sweep:      {}", cell(report.next_sweep.as_ref()));
    if let Some(last) = &report.last_sweep {
        say!(
            "last sweep:      {}: {} checked, {} failed, {} changed",
            last.finished_at,
            last.checked,
            last.failed,
            last.changed
        );
    }
    say!(
        "failing sources: {}",
        if report.failing_sources.is_empty() {
            "none".to_string()
        } else {
            report.failing_sources.join(", ")
        }
    );
    for unreadable in &report.scope_unreadable {
        say!(
            "scope unreadable: {} since {}",
            unreadable.source,
            unreadable.since
        );
    }
    for event in &report.recent_events {
        say!("  {} {}: {}", event.at, event.kind, event.message);
    }
    Ok(Status::Success)
}
