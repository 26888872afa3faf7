//! `scopewatch run`: the daemon. One per database (a lock file), READY
//! only when the configuration is loaded, the database migrated and the
//! schedule computed; SIGHUP reloads the configuration (an invalid one is
//! rejected and the old one kept); SIGTERM or SIGINT stops it: no new
//! fetches, writes in flight finish, exit 0. A damaged database file
//! (SQLite reports it corrupt) stops it too, with exit 2: the writer has
//! already stopped writing, and a restart would not mend the file. With a
//! `[web]` table it serves the web view too (see `crate::web`).

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::{Env, Status, UsageError};
use crate::clock;
use crate::config;
use crate::daemon::lock::DaemonLock;
use crate::daemon::notify::{self, Notifier};
use crate::daemon::{self, DaemonLink, Heartbeat};
use crate::evidence::{self, Lifecycle};
use crate::fetch::Fetcher;
use crate::isolation::Extractor;
use crate::store::{Store, StoreHandle};
use crate::sweep::Sweeper;

/// How long a stop may take before the scheduler is abandoned (systemd's
/// TimeoutStopSec is longer).
const STOP_GRACE: Duration = Duration::from_secs(8);

pub fn run(env: &Env) -> anyhow::Result<Status> {
    let config = env.config()?;
    if config.sources.is_empty() {
        return Err(UsageError(no_sources(&config.path)).into());
    }
    let config_path = config.path.clone();
    let database = env.database_path(Some(&config))?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::store::create_private_dir(dir)
            .map_err(|e| UsageError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = DaemonLock::acquire(&database).map_err(|e| UsageError(e.to_string()))?;
    let notifier = Arc::new(Notifier::from_env());
    // Migrations of a large database can outlast TimeoutStartSec.
    notifier.extend_timeout(Duration::from_secs(300));
    let mut store = Store::open(&database).map_err(|e| UsageError(e.to_string()))?;
    store.add_daemon_event(
        &clock::format(clock::now()),
        "started",
        &format!("pid {}", std::process::id()),
    )?;
    evidence::record_lifecycle(&store, Lifecycle::DaemonStart)?;
    let fetcher = Fetcher::new(&config.http)?;
    let (store, writer) = StoreHandle::spawn(store);
    let config = Arc::new(config);
    let extractor = Extractor::new(crate::isolation::this_executable(), config.limits.clone());
    let sweeper = Sweeper::new(
        config.clone(),
        Arc::new(fetcher),
        store.clone(),
        Arc::new(extractor),
    );
    let watchdog = notify::watchdog_interval();
    let link = DaemonLink {
        notifier: notifier.clone(),
        heartbeat: Arc::new(Heartbeat::default()),
        beat_every: watchdog.map_or(Duration::from_secs(60), |w| w / 4),
    };

    let runtime = super::runtime()?;
    runtime.block_on(async {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let (config_tx, configs) = tokio::sync::watch::channel(config);
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut hangup = signal(SignalKind::hangup())?;
        // Alerts are delivered beside the sweeps, never in their way; digest
        // channels wait while `sweeping` is true.
        let dispatcher = crate::alert::Dispatcher::new(
            &sweeper.config.alerts,
            &sweeper.config.http.extra_roots,
            sweeper.store.clone(),
        )?;
        // The web view, when configured: bound before the first sweep, so
        // an address that cannot be used stops the start.
        let web = match &sweeper.config.web {
            Some(settings) => {
                let bound = crate::web::bind(
                    settings,
                    &database,
                    Some(config_tx.subscribe()),
                    crate::web::Readiness::Heartbeat(
                        link.heartbeat.clone(),
                        crate::web::HEARTBEAT_WITHIN,
                    ),
                )
                .await
                .map_err(|e| UsageError(format!("[web]: {e}")))?;
                tracing::info!("web view on {}", bound.address);
                let mut stopped = stop.clone();
                Some(tokio::spawn(bound.serve(async move {
                    let _ = stopped.wait_for(|stopped| *stopped).await;
                })))
            }
            None => None,
        };
        let (sweeping_tx, sweeping) = tokio::sync::watch::channel(false);
        let dispatcher =
            tokio::spawn(dispatcher.run(stop.clone(), sweeping, config_tx.subscribe()));
        let mut scheduler = tokio::spawn(daemon::run(
            sweeper,
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
                _ = hangup.recv() => reload(&config_path, &config_tx, &store, &notifier).await,
                found = store.damaged() => {
                    // The writer refuses writes already; nothing is gained by
                    // fetching on.
                    tracing::error!("stopping: the database file is damaged");
                    damage = Some(found);
                    break;
                }
                finished = &mut scheduler => {
                    finished?;
                    anyhow::bail!("the scheduler ended without a stop signal");
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
            tracing::warn!(
                "alert deliveries still in flight at stop are retried at the next start"
            );
        }
        if let Some(damage) = damage {
            return Err(UsageError(damage).into());
        }
        let message = format!("pid {}", std::process::id());
        if let Err(e) = store
            .call(move |store| {
                store.add_daemon_event(&clock::format(clock::now()), "stopped", &message)?;
                evidence::record_lifecycle(store, Lifecycle::DaemonStop)
                    .map(|_| ())
                    .map_err(anyhow::Error::from)
            })
            .await
        {
            tracing::warn!("cannot record the stop: {e}");
        }
        anyhow::Ok(())
    })?;
    drop(runtime);
    drop(store);
    // Every write already queued finishes before the writer thread ends.
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the store writer thread failed"))?;
    tracing::info!("stopped");
    Ok(Status::Success)
}

/// SIGHUP: re-read and validate the configuration; swap it in, or keep the
/// old one and say why.
async fn reload(
    path: &std::path::Path,
    configs: &tokio::sync::watch::Sender<Arc<config::Config>>,
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

/// Why a daemon is not started on a configuration without sources: it
/// would run, report ready and watch nothing.
fn no_sources(path: &std::path::Path) -> String {
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
