//! What a validated configuration builds, and the one way to sweep.
//! [`App::open`] builds the store's writer thread, the page fetcher (and
//! browser), the extraction processes and the alert dispatcher;
//! [`App::sweep`] runs one sweep with the evidence around it: the
//! configuration's ledger leaf before, then stale sources, retention, a
//! signed checkpoint and its timestamp after; [`App::deliver`] is
//! `check`'s round of alert deliveries before it exits; [`App::close`]
//! waits for every write queued. `check`, the daemon, the demo and the
//! integration tests all sweep through it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::alert::Dispatcher;
use crate::config::{Config, Source};
use crate::fetch::{ClientError, Fetcher};
use crate::isolation::Extractor;
use crate::store::{Store, StoreHandle};
use crate::sweep::{Progress, SourceOutcome, SweepReport, Sweeper};

/// The machinery of one configuration over one database. A handle:
/// clones share the store's writer thread, which ends once every clone
/// (and every store handle taken from one) is gone.
#[derive(Clone)]
pub struct App {
    sweeper: Sweeper,
    dispatcher: Dispatcher,
    /// Taken by [`App::close`].
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// What one sweep covers and who hears of it.
pub struct SweepRequest<'a> {
    /// The sources to fetch (a subset of the configuration's).
    pub sources: &'a [Source],
    /// Each source starts after a random delay up to this.
    pub jitter: Duration,
    /// Turns true to stop: no new fetches, those in flight finish.
    pub stop: watch::Receiver<bool>,
    /// Called as each source's attempt is recorded.
    pub progress: Progress<'a>,
    /// Called once the sources are swept, before the evidence steps
    /// (the daemon beats its watchdog here).
    pub swept: Option<&'a (dyn Fn() + Sync)>,
    /// Whether the sweep ends with retention, a signed checkpoint and its
    /// timestamp: always, but in the demo, whose replayed dates are no
    /// time to sign.
    pub checkpoint: bool,
}

impl<'a> SweepRequest<'a> {
    /// `sources`, at once, until the sweep ends, heard by nobody.
    pub fn quiet(sources: &'a [Source]) -> SweepRequest<'a> {
        SweepRequest {
            sources,
            jitter: Duration::ZERO,
            stop: watch::channel(false).1,
            progress: &|_: &SourceOutcome, _, _| {},
            swept: None,
            checkpoint: true,
        }
    }
}

impl App {
    /// Builds everything `config` describes over `db`, with extraction
    /// processes of this executable.
    pub fn open(config: Config, db: Store) -> anyhow::Result<App> {
        App::open_with_extractor(config, db, crate::isolation::this_executable())
    }

    /// As [`App::open`], extracting with the scopewatch binary at
    /// `extract_program` (the integration tests run from a binary that
    /// cannot serve as one).
    pub fn open_with_extractor(
        config: Config,
        db: Store,
        extract_program: PathBuf,
    ) -> anyhow::Result<App> {
        let fetcher = Fetcher::new(&config.http)?;
        let extractor = Extractor::new(extract_program, config.limits.clone());
        let (store, writer) = StoreHandle::spawn(db);
        let dispatcher = Dispatcher::new(&config.alerts, &config.http.extra_roots, store.clone())?;
        let sweeper = Sweeper::new(
            Arc::new(config),
            Arc::new(fetcher),
            store,
            Arc::new(extractor),
        );
        Ok(App {
            sweeper,
            dispatcher,
            writer: Arc::new(Mutex::new(Some(writer))),
        })
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.sweeper.config
    }

    /// The writer thread's handle.
    pub fn store(&self) -> &StoreHandle {
        &self.sweeper.store
    }

    /// The alert dispatcher (the daemon runs a clone of it beside its sweeps).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Records the pages a process died on as crashed (see
    /// [`crate::sweep::crashes`]).
    pub async fn recover_crashes(&self) -> Vec<SourceOutcome> {
        self.sweeper.recover_crashes().await
    }

    /// Swaps in a new configuration (SIGHUP): a new page fetcher, and new
    /// extraction and browser settings when they changed. Nothing changes
    /// when the new fetcher cannot be built. The dispatcher takes new
    /// configurations on its own (see [`Dispatcher::run`]).
    pub fn reconfigure(&mut self, config: Arc<Config>) -> Result<(), ClientError> {
        let sweeper = &mut self.sweeper;
        sweeper.fetcher = Arc::new(Fetcher::new(&config.http)?);
        if config.limits != sweeper.config.limits {
            sweeper.extractor = Arc::new(sweeper.extractor.with_budget(config.limits.clone()));
        }
        #[cfg(feature = "browser")]
        if config.browser != sweeper.config.browser
            || config.http.timeout != sweeper.config.http.timeout
            || config.http.max_body != sweeper.config.http.max_body
        {
            sweeper.browser = Arc::new(crate::fetch::browser::BrowserFetcher::new(
                crate::sweep::browser_settings(&config),
            ));
        }
        sweeper.config = config;
        Ok(())
    }

    /// One sweep: the configuration in the ledger (when it changed), the
    /// sources, then, unless the database file was found damaged, `stale`
    /// events for sources whose evidence is too old (before the checkpoint,
    /// so that it covers them) and the evidence steps after a sweep
    /// (retention, a signed checkpoint, its timestamp; see
    /// [`SweepRequest::checkpoint`]). A damaged database file stops the sweep: nothing more
    /// is written.
    pub async fn sweep(&self, request: SweepRequest<'_>) -> SweepReport {
        let store = &self.sweeper.store;
        let (stop_tx, stop) = watch::channel(*request.stop.borrow());
        let mut asked = request.stop;
        let watch_stop = {
            let store = store.clone();
            tokio::spawn(async move {
                let asked = async {
                    if asked.wait_for(|stopped| *stopped).await.is_err() {
                        // Nobody left to ask.
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    _ = store.damaged() => {}
                    () = asked => {}
                }
                let _ = stop_tx.send(true);
            })
        };
        crate::evidence::before_sweep(store, self.sweeper.config.in_force()).await;
        let report = self
            .sweeper
            .sweep(request.sources, request.jitter, stop, request.progress)
            .await;
        watch_stop.abort();
        // Gone before this returns, with its store handle: `close` waits
        // for the last one.
        let _ = watch_stop.await;
        if let Some(swept) = request.swept {
            swept();
        }
        if store.damage().is_none() {
            crate::sweep::stale::raise_stale(store, &self.sweeper.config).await;
            if request.checkpoint {
                crate::evidence::after_sweep(store, self.sweeper.config.after_sweep()).await;
            }
        }
        report
    }

    /// `check`'s last step: one round of alert deliveries, bounded by
    /// [`crate::alert::dispatch::CHECK_TIMEOUT`]; what is left is retried by
    /// the next check or the daemon.
    pub async fn deliver(&self) {
        let limit = crate::alert::dispatch::CHECK_TIMEOUT;
        match self.dispatcher.round_within(limit).await {
            Some(report) if report.retrying + report.failed > 0 => tracing::warn!(
                delivered = report.delivered,
                retrying = report.retrying,
                failed = report.failed,
                "some alerts were not delivered: `scopewatch alerts --pending` lists them"
            ),
            Some(_) => {}
            None => tracing::warn!(
                "alert delivery did not finish within {}s; the next check or the daemon retries",
                limit.as_secs()
            ),
        }
    }

    /// Drops this handle and waits until every write queued has finished.
    /// Other clones must be gone first (the writer ends with the last).
    pub fn close(self) -> anyhow::Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(self);
        match writer {
            Some(writer) => writer
                .join()
                .map_err(|_| anyhow::anyhow!("the store writer thread failed")),
            None => Ok(()),
        }
    }
}

/// The async runtime of the commands that fetch: a worker thread per core,
/// and at most two blocking threads per core. The blocking threads run
/// extraction (CPU-bound: more threads than cores only add memory, each
/// holding its own allocator arena), DNS lookups and file appends; a
/// lookup may wait behind a few extractions (milliseconds each).
/// Measured on the 1,000-page bench: limiting extraction to one per core
/// instead, with more threads for lookups, cost 25% of the first pass.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(cores * 2)
        .build()
}
