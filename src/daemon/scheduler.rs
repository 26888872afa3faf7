//! The scheduler loop of the daemon: each source is swept on its own
//! cron schedule (or `[daemon] schedule`), spread by jitter; sources whose
//! last check is older than one period (the machine was off) are checked
//! once at start, after the pages a process died on are recorded as
//! crashed (see `sweep::crashes`). The loop keeps systemd informed (READY,
//! STATUS), beats the heartbeat the watchdog task checks, takes new
//! configurations from `configs` (SIGHUP), and ends when `stop` turns
//! true, after the writes in flight have finished.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::DaemonLink;
use crate::app::{App, SweepRequest};
use crate::clock::{self, Heartbeat};
use crate::config::{Config, Schedule, Source};
use crate::store::{DaemonStatus, SweepSummary};
use crate::sweep::SourceOutcome;

/// The longest single sleep, so a changed wall clock (suspend, NTP step)
/// is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How often the daemon looks for sources gone stale between sweeps: a
/// minute, the shortest `max_age` there is.
const STALE_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Test hook: after this many sweeps the scheduler loop stalls for good,
/// so tests can see the watchdog pings stop. Honoured by debug builds only
/// (the ones the tests run): a release build cannot be made to stall.
const STALL_HOOK: &str = "SCOPEWATCH_TEST_STALL_AFTER_SWEEPS";

fn schedule_of<'c>(config: &'c Config, source: &'c Source) -> &'c Schedule {
    source
        .schedule
        .as_deref()
        .unwrap_or(&config.daemon.schedule)
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

/// Awaits a sweep, beating the heartbeat every `link.beat_every` as long as
/// its sources are being swept and some source finished (or the sweep
/// started) within `longest`, the most one source may take. One slow
/// source (a long `Retry-After`, a server that answers at the last second
/// of every try) keeps the watchdog fed; a sweep in which nothing finishes
/// for longer loses its pings. Once `swept` is set, the steps after the
/// sources (a checkpoint, a timestamp bounded by `tsa_timeout`) run on the
/// beat given then.
async fn beating_while_sources_finish<T>(
    sweep: impl std::future::Future<Output = T>,
    link: &DaemonLink,
    finished: &Heartbeat,
    swept: &AtomicBool,
    longest: Duration,
) -> T {
    let mut sweep = std::pin::pin!(sweep);
    let mut ticks = tokio::time::interval(link.beat_every);
    loop {
        tokio::select! {
            report = &mut sweep => return report,
            _ = ticks.tick() => {
                if !swept.load(Ordering::Relaxed) && finished.age() < longest {
                    link.heartbeat.beat();
                }
            }
        }
    }
}

/// The longest one source may take in a sweep: its jitter, then its
/// deadline (see [`crate::sweep::source_deadline`]).
fn longest_source(config: &Config) -> Duration {
    config
        .daemon
        .jitter
        .saturating_add(crate::sweep::source_deadline(config))
}

/// When each configured source was last checked.
async fn last_checked(app: &App) -> HashMap<String, DateTime<Utc>> {
    let ids: Vec<String> = app.config().sources.iter().map(|s| s.id.clone()).collect();
    app.store()
        .call(move |store| {
            ids.into_iter()
                .filter_map(|id| {
                    let at = store.last_checked(&id).ok().flatten()?;
                    let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
                    Some((id, at))
                })
                .collect()
        })
        .await
}

fn status_line(next: Option<DateTime<Utc>>, last: Option<&SweepSummary>) -> String {
    let next = next
        .filter(|n| *n < DateTime::<Utc>::MAX_UTC)
        .map_or_else(|| "none".to_string(), clock::format);
    match last {
        Some(l) => format!(
            "next sweep {next}; last sweep {}: {} checked, {} failed, {} changed",
            l.finished_at, l.checked, l.failed, l.changed
        ),
        None => format!("next sweep {next}; no sweep yet"),
    }
}

/// Runs sweeps on schedule until `stop` turns true. A new configuration
/// arriving on `configs` replaces the old one between sweeps; `sweeping`
/// is true while a sweep runs (digest alert channels wait for its end).
pub async fn run(
    mut app: App,
    mut configs: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
    sweeping: watch::Sender<bool>,
    link: DaemonLink,
) {
    let started_at = clock::format(clock::now());
    // A page a process died on is recorded as such first: it is then last
    // checked now, and due at its next scheduled time, not at once.
    for outcome in app.recover_crashes().await {
        log_outcome(&outcome);
    }
    let mut due = initial_due(app.config(), &last_checked(&app).await, clock::now());
    let stall_after: Option<usize> = cfg!(debug_assertions)
        .then(|| std::env::var(STALL_HOOK).ok()?.parse().ok())
        .flatten();
    let mut last_sweep: Option<SweepSummary> = None;
    let mut sweeps = 0usize;
    let mut ready = false;
    tracing::info!(sources = app.config().sources.len(), "scheduler started");

    let mut stale_checked: Option<Instant> = None;
    // Sources overdue at start (the daemon was down) are swept at once:
    // freshness is first judged after that sweep, not on the evidence it
    // is about to renew, or an outage longer than `max_age` would raise a
    // `stale` event for every source seconds before it is fetched.
    let now = clock::now();
    let mut catching_up = due.values().any(|at| *at <= now);
    loop {
        link.heartbeat.beat();
        // Every source, due or not: its evidence ages while nothing is fetched.
        if !catching_up && stale_checked.is_none_or(|at| at.elapsed() >= STALE_CHECK_EVERY) {
            crate::sweep::stale::raise_stale(app.store(), app.config()).await;
            stale_checked = Some(Instant::now());
        }
        let soonest = due.values().min().copied();
        let status = DaemonStatus {
            pid: std::process::id(),
            started_at: started_at.clone(),
            heartbeat_at: clock::format(clock::now()),
            next_sweep: soonest
                .filter(|n| *n < DateTime::<Utc>::MAX_UTC)
                .map(clock::format),
            last_sweep: last_sweep.clone(),
        };
        if let Err(e) = app
            .store()
            .call(move |store| store.save_daemon_status(&status))
            .await
        {
            tracing::warn!("cannot record the heartbeat: {e}");
        }
        let line = status_line(soonest, last_sweep.as_ref());
        if ready {
            link.notifier.status(&line);
        } else {
            // Configuration loaded, database migrated, schedule computed.
            link.notifier.ready(&line);
            ready = true;
        }
        if stall_after.is_some_and(|n| sweeps >= n) {
            tracing::warn!("{STALL_HOOK} is set: the scheduler loop stalls now");
            let _ = stop.wait_for(|stopped| *stopped).await;
            return;
        }

        let wait = soonest
            .map(|at| (at - clock::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(MAX_SLEEP);
        if !wait.is_zero() || soonest.is_none() {
            let reloaded = tokio::select! {
                _ = tokio::time::sleep(wait.min(MAX_SLEEP).min(link.beat_every)) => false,
                _ = stop.wait_for(|stopped| *stopped) => return,
                changed = configs.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
            };
            if reloaded {
                let config = configs.borrow_and_update().clone();
                match app.reconfigure(config) {
                    Ok(()) => {
                        due = initial_due(app.config(), &last_checked(&app).await, clock::now());
                        tracing::info!(
                            sources = app.config().sources.len(),
                            "configuration swapped in"
                        );
                    }
                    Err(e) => tracing::error!(
                        "the new configuration's HTTP client cannot start ({e}); keeping the old one"
                    ),
                }
            }
            continue;
        }
        let now = clock::now();
        let sources: Vec<Source> = app
            .config()
            .sources
            .iter()
            .filter(|s| due.get(&s.id).is_some_and(|at| *at <= now))
            .cloned()
            .collect();
        tracing::info!(sources = sources.len(), "sweep started");
        let finished = Arc::new(Heartbeat::default());
        let last_finished = finished.clone();
        let progress = move |outcome: &SourceOutcome, _: usize, _: usize| {
            last_finished.beat();
            log_outcome(outcome);
        };
        sweeping.send_replace(true);
        let sweep_began = Instant::now();
        let swept = AtomicBool::new(false);
        let sources_swept = || {
            // The sources are done: progress. What follows (a checkpoint,
            // and a timestamp bounded by `tsa_timeout`) starts from a
            // fresh beat.
            link.heartbeat.beat();
            swept.store(true, Ordering::Relaxed);
        };
        let report = beating_while_sources_finish(
            app.sweep(SweepRequest {
                sources: &sources,
                jitter: app.config().daemon.jitter,
                stop: stop.clone(),
                progress: &progress,
                swept: Some(&sources_swept),
                checkpoint: true,
            }),
            &link,
            &finished,
            &swept,
            longest_source(app.config()),
        )
        .await;
        // Freshness was judged with this sweep's fetches.
        stale_checked = Some(Instant::now());
        catching_up = false;
        sweeping.send_replace(false);
        sweeps += 1;
        last_sweep = Some(SweepSummary {
            finished_at: clock::format(clock::now()),
            checked: report.outcomes.len(),
            failed: report.failed(),
            changed: report.changed(),
            duration_ms: Some(u64::try_from(sweep_began.elapsed().as_millis()).unwrap_or(u64::MAX)),
        });
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
            let next = schedule_of(app.config(), source).next_after(after);
            due.insert(source.id.clone(), next.unwrap_or(DateTime::<Utc>::MAX_UTC));
        }
    }
}

fn log_outcome(outcome: &SourceOutcome) {
    for event in &outcome.events {
        tracing::info!(source = %outcome.source, kind = %event.kind, "{}", event.summary);
    }
    if let Some(error) = &outcome.error {
        // What happened to whom first; the whole chain of causes as a field.
        tracing::warn!(
            source = %outcome.source,
            error = %error,
            "{}",
            crate::fetch::headline(&outcome.url, error)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    #[test]
    fn one_source_may_take_its_jitter_every_try_every_wait_and_its_extraction() {
        let config = |text: &str| crate::config::parse(text, Path::new("t.toml")).unwrap();
        // The defaults: 5m jitter, 100ms host delay, 4 tries of 30s, 3
        // waits of up to 5m, 30s of extraction.
        assert_eq!(
            longest_source(&config("")),
            Duration::from_millis((300 + 4 * 30 + 3 * 300 + 30 + 60) * 1000 + 100)
        );
        assert_eq!(
            longest_source(&config(
                "[daemon]\njitter = \"0s\"\n[http]\ntimeout = \"10s\"\nretries = 0\nhost_delay = \"1h\"\n[limits]\nextract_time = \"5s\"\n"
            )),
            Duration::from_secs(3600 + 10 + 5 + 60)
        );
    }

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
