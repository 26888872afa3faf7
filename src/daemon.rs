//! The scheduler loop behind `scopewatch run`: each source is swept on its
//! own cron schedule (or `[daemon] schedule`), spread by jitter; sources
//! whose last check is older than one period (the machine was off) are
//! checked once at start. The loop ends when `stop` turns true, after the
//! writes in flight have finished.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock;
use crate::config::{Config, Schedule, Source};
use crate::sweep::{SourceOutcome, Sweeper};

/// The longest single sleep, so a changed wall clock (suspend, NTP step)
/// is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

fn schedule_of<'c>(config: &'c Config, source: &'c Source) -> &'c Schedule {
    source.schedule.as_ref().unwrap_or(&config.daemon.schedule)
}

/// When each source is next due. A source never checked, or last checked
/// more than one period ago, is due now.
pub fn initial_due(
    config: &Config,
    last_checked: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> HashMap<String, DateTime<Utc>> {
    config
        .sources
        .iter()
        .map(|source| {
            let schedule = schedule_of(config, source);
            let next = schedule.next_after(now);
            let period =
                next.and_then(|first| schedule.next_after(first).map(|second| second - first));
            let overdue = match (last_checked.get(&source.id), period) {
                (None, _) => true,
                (Some(last), Some(period)) => *last + period < now,
                (Some(_), None) => false,
            };
            let due = if overdue { Some(now) } else { next };
            (source.id.clone(), due.unwrap_or(DateTime::<Utc>::MAX_UTC))
        })
        .collect()
}

/// Runs sweeps on schedule until `stop` turns true; `sweeping` is true
/// while a sweep runs (digest alert channels wait for its end).
pub async fn run(sweeper: Sweeper, mut stop: watch::Receiver<bool>, sweeping: watch::Sender<bool>) {
    let config = sweeper.config.clone();
    let ids: Vec<String> = config.sources.iter().map(|s| s.id.clone()).collect();
    let last_checked: HashMap<String, DateTime<Utc>> = sweeper
        .store
        .call(move |store| {
            ids.into_iter()
                .filter_map(|id| {
                    let at = store.last_checked(&id).ok().flatten()?;
                    let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
                    Some((id, at))
                })
                .collect()
        })
        .await;
    let mut due = initial_due(&config, &last_checked, clock::now());
    tracing::info!(sources = config.sources.len(), "scheduler started");

    loop {
        let Some(soonest) = due.values().min().copied() else {
            tracing::warn!("no sources configured; waiting for a stop signal");
            let _ = stop.wait_for(|stopped| *stopped).await;
            return;
        };
        let wait = (soonest - clock::now()).to_std().unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
            continue;
        }
        let now = clock::now();
        let sources: Vec<Source> = config
            .sources
            .iter()
            .filter(|s| due.get(&s.id).is_some_and(|at| *at <= now))
            .cloned()
            .collect();
        tracing::info!(sources = sources.len(), "sweep started");
        sweeping.send_replace(true);
        let report = sweeper
            .sweep(&sources, config.daemon.jitter, stop.clone(), &log_outcome)
            .await;
        sweeping.send_replace(false);
        tracing::info!(
            checked = report.outcomes.len(),
            failed = report.failed(),
            changed = report.changed(),
            "sweep finished"
        );
        if *stop.borrow() {
            return;
        }
        let after = clock::now();
        for source in &sources {
            let next = schedule_of(&config, source).next_after(after);
            due.insert(source.id.clone(), next.unwrap_or(DateTime::<Utc>::MAX_UTC));
        }
    }
}

fn log_outcome(outcome: &SourceOutcome, _done: usize, _total: usize) {
    for event in &outcome.events {
        tracing::info!(source = %outcome.source, kind = %event.kind, "{}", event.summary);
    }
    if let Some(error) = &outcome.error {
        tracing::warn!(source = %outcome.source, "fetch failed: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    #[test]
    fn missed_and_new_sources_are_due_now() {
        let config = crate::config::parse(
            "[daemon]\nschedule = \"0 */6 * * *\"\n\
             [[source]]\nid = \"new\"\nurl = \"https://x/\"\n\
             [[source]]\nid = \"recent\"\nurl = \"https://x/\"\n\
             [[source]]\nid = \"missed\"\nurl = \"https://x/\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 13, 0, 0).unwrap();
        let checked = HashMap::from([
            (
                "recent".to_string(),
                Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
            ),
            (
                "missed".to_string(),
                Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap(),
            ),
        ]);
        let due = initial_due(&config, &checked, now);
        assert_eq!(due["new"], now);
        assert_eq!(due["missed"], now);
        assert_eq!(
            due["recent"],
            Utc.with_ymd_and_hms(2026, 11, 28, 18, 0, 0).unwrap()
        );
    }
}
