//! The daemon behind `scopewatch run`, and its supervision. One per
//! database (a lock file), READY only when the configuration is loaded,
//! the database migrated and the schedule computed; SIGHUP reloads the
//! configuration (an invalid one is rejected and the old one kept);
//! SIGTERM or SIGINT stops it: no new fetches, writes in flight finish.
//! A damaged database file (SQLite reports it corrupt) stops it too, with
//! an error: the writer has already stopped writing, and a restart would
//! not mend the file. With a `[web]` table it serves the web view too (see
//! `crate::web`). The schedule itself is [`scheduler`]'s.

pub mod notify;
pub mod scheduler;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::app::App;
use crate::clock::{self, Heartbeat};
use crate::config::{self, Config};
use crate::ledger::{self, Lifecycle};
use crate::store::lock::DaemonLock;
use crate::store::{Store, StoreHandle};
use notify::Notifier;

/// How long a stop may take before the scheduler is abandoned (systemd's
/// TimeoutStopSec is longer).
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Why the daemon did not start, or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// How it was called or configured, or the database file: what to
    /// change is in the message (exit 2).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What the loop shares with the signal handlers and the watchdog task.
#[derive(Clone)]
pub struct DaemonLink {
    pub notifier: Arc<Notifier>,
    pub heartbeat: Arc<Heartbeat>,
    /// How often the loop must beat at least (a quarter of the watchdog
    /// interval, or a minute).
    pub beat_every: Duration,
}

/// Runs the daemon on `database` until a stop signal; returns once every
/// write has finished.
pub fn run(config: Config, database: &Path) -> Result<(), DaemonError> {
    refuse_without_sources(&config)?;
    let config_path = config.path.clone();
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::store::create_private_dir(dir)
            .map_err(|e| DaemonError::Refused(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = DaemonLock::acquire(database).map_err(|e| DaemonError::Refused(e.to_string()))?;
    let notifier = Arc::new(Notifier::from_env());
    // Migrations of a large database can outlast TimeoutStartSec.
    notifier.extend_timeout(Duration::from_secs(300));
    let mut store = Store::open(database).map_err(|e| DaemonError::Refused(e.to_string()))?;
    store
        .add_daemon_event(
            &clock::format(clock::now()),
            "started",
            &format!("pid {}", std::process::id()),
        )
        .map_err(anyhow::Error::from)?;
    ledger::record_lifecycle(&store, Lifecycle::DaemonStart).map_err(anyhow::Error::from)?;
    let app = App::open(config, store)?;
    let watchdog = notify::watchdog_interval();
    let link = DaemonLink {
        notifier: notifier.clone(),
        heartbeat: Arc::new(Heartbeat::default()),
        beat_every: watchdog.map_or(Duration::from_secs(60), |w| w / 4),
    };

    let runtime = crate::app::runtime().map_err(anyhow::Error::from)?;
    let supervised = runtime.block_on(supervise(
        app.clone(),
        database,
        &config_path,
        link,
        watchdog,
    ));
    drop(runtime);
    // Every write already queued finishes before the writer thread ends.
    // What stopped the daemon is the error to report; a writer that could
    // not be joined after it is logged beside it.
    let closed = app.close();
    supervised?;
    closed?;
    tracing::info!("stopped");
    Ok(())
}

/// The daemon's tasks (the scheduler, alert deliveries, the web view, the
/// watchdog) until a stop signal or a damaged database file; then the stop,
/// each task given [`STOP_GRACE`].
async fn supervise(
    app: App,
    database: &Path,
    config_path: &Path,
    link: DaemonLink,
    watchdog: Option<Duration>,
) -> Result<(), DaemonError> {
    let store = app.store().clone();
    let notifier = link.notifier.clone();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (config_tx, configs) = tokio::sync::watch::channel(app.config().clone());
    let listen = |kind| signal(kind).map_err(anyhow::Error::from);
    let mut terminate = listen(SignalKind::terminate())?;
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut hangup = listen(SignalKind::hangup())?;
    // The web view, when configured: bound before the first sweep, so
    // an address that cannot be used stops the start.
    let web = match &app.config().web {
        Some(settings) => {
            let bound = crate::web::bind(
                settings,
                database,
                Some(config_tx.subscribe()),
                crate::web::Readiness::Heartbeat(
                    link.heartbeat.clone(),
                    crate::web::HEARTBEAT_WITHIN,
                ),
            )
            .await
            .map_err(|e| DaemonError::Refused(format!("[web]: {e}")))?;
            tracing::info!("web view on {}", bound.address);
            let mut stopped = stop.clone();
            Some(tokio::spawn(bound.serve(async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            })))
        }
        None => None,
    };
    // Alerts are delivered beside the sweeps, never in their way; digest
    // channels wait while `sweeping` is true.
    let (sweeping_tx, sweeping) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(app.dispatcher().clone().run(
        stop.clone(),
        sweeping,
        config_tx.subscribe(),
    ));
    let mut scheduler = tokio::spawn(scheduler::run(
        app,
        configs,
        stop,
        sweeping_tx,
        link.clone(),
    ));
    if let Some(interval) = watchdog {
        tokio::spawn(watchdog_task(link.clone(), interval));
    }
    let mut damage = None;
    loop {
        tokio::select! {
            _ = terminate.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = interrupt.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hangup.recv() => reload(config_path, &config_tx, &store, &notifier).await,
            found = store.damaged() => {
                // The writer refuses writes already; nothing is gained by
                // fetching on.
                tracing::error!("stopping: the database file is damaged");
                damage = Some(found);
                break;
            }
            finished = &mut scheduler => {
                finished.map_err(anyhow::Error::from)?;
                return Err(anyhow::anyhow!("the scheduler ended without a stop signal").into());
            }
        }
    }
    notifier.stopping();
    let _ = stop_tx.send(true);
    if tokio::time::timeout(STOP_GRACE, &mut scheduler)
        .await
        .is_err()
    {
        tracing::warn!(
            "the scheduler did not stop within {STOP_GRACE:?}; abandoning fetches in flight"
        );
        scheduler.abort();
    }
    crate::sweep::crashes::release_own_marks(&store).await;
    if let Some(web) = web
        && tokio::time::timeout(STOP_GRACE, web).await.is_err()
    {
        tracing::warn!("web requests still in flight at stop were cut off");
    }
    if tokio::time::timeout(STOP_GRACE, dispatcher).await.is_err() {
        tracing::warn!("alert deliveries still in flight at stop are retried at the next start");
    }
    if let Some(damage) = damage {
        return Err(DaemonError::Refused(damage));
    }
    let message = format!("pid {}", std::process::id());
    if let Err(e) = store
        .call(move |store| {
            store.add_daemon_event(&clock::format(clock::now()), "stopped", &message)?;
            ledger::record_lifecycle(store, Lifecycle::DaemonStop)
                .map(|_| ())
                .map_err(anyhow::Error::from)
        })
        .await
    {
        tracing::warn!("cannot record the stop: {e}");
    }
    Ok(())
}

/// SIGHUP: re-read and validate the configuration; swap it in, or keep the
/// old one and say why.
async fn reload(
    path: &Path,
    configs: &tokio::sync::watch::Sender<Arc<Config>>,
    store: &StoreHandle,
    notifier: &Notifier,
) {
    notifier.reloading();
    let (kind, message) = match config::load(path) {
        Ok(config) if config.sources.is_empty() => {
            let message = no_sources(path);
            tracing::error!("SIGHUP: keeping the old configuration: {message}");
            ("config-rejected", message)
        }
        Ok(config) => {
            let message = format!(
                "{} from {}",
                crate::wording::counted(config.sources.len(), "source", "sources"),
                path.display()
            );
            let _ = configs.send(Arc::new(config));
            tracing::info!("SIGHUP: configuration reloaded: {message}");
            ("reloaded", message)
        }
        Err(e) => {
            tracing::error!("SIGHUP: the new configuration is invalid; keeping the old one:\n{e}");
            ("config-rejected", e.to_string())
        }
    };
    let (event_kind, event_message) = (kind.to_string(), message.clone());
    if let Err(e) = store
        .call(move |store| {
            store.add_daemon_event(&clock::format(clock::now()), &event_kind, &event_message)
        })
        .await
    {
        tracing::warn!("cannot record the reload: {e}");
    }
    notifier.ready(&format!("{kind}: {message}"));
}

/// Refuses a configuration without sources: a daemon would run, report
/// ready and watch nothing. `scopewatch run` asks before anything else
/// (such as where the database is), so that is the error it reports.
pub fn refuse_without_sources(config: &Config) -> Result<(), DaemonError> {
    if config.sources.is_empty() {
        return Err(DaemonError::Refused(no_sources(&config.path)));
    }
    Ok(())
}

/// Why a daemon is not started on a configuration without sources.
fn no_sources(path: &Path) -> String {
    format!(
        "{}: no [[source]] to watch: add at least one (id and url); `scopewatch config check` validates the file",
        path.display()
    )
}

/// Pings the watchdog at half its interval, but only while the scheduler
/// loop makes progress: a stuck loop gets the service restarted.
async fn watchdog_task(link: DaemonLink, interval: Duration) {
    let mut ticks = tokio::time::interval(interval / 2);
    let mut warned = false;
    loop {
        ticks.tick().await;
        let age = link.heartbeat.age();
        if age < interval {
            link.notifier.watchdog();
            warned = false;
        } else if !warned {
            tracing::error!(
                "the scheduler loop has made no progress for {age:?}; withholding the watchdog ping"
            );
            warned = true;
        }
    }
}
