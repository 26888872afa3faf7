//! One sweep: fetch a set of sources on `[daemon] concurrency` workers
//! (and within the per-host limits), extract in the extraction processes,
//! and record each attempt atomically through the store's writer; then
//! fetch the pages those sources link to (`follow`). One source failing
//! never stops the others: each outcome is a value in the [`SweepReport`],
//! and a source that takes longer than [`source_deadline`] is recorded as
//! failed while the others go on. Sources a process died on are dealt with
//! first ([`crashes`]); sources whose evidence went stale are found by
//! [`stale`].

pub mod crashes;
pub mod stale;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use url::Url;

use crate::config::{Config, FetchMethod, Source};
use crate::detect::Change;
use crate::extract;
use crate::fetch::portal::{
    DocumentGuid, DocumentVersion, LiveDocument, PortalCheck, PortalClient, PortalOutcome,
};
use crate::fetch::{Capture, Conditional, FetchOutcome, FetchRequest, Fetcher, SourceHeaders};
use crate::follow::Link;
use crate::hash::Digest;
use crate::isolation::Extractor;
use crate::record::{AttemptRecord, AttemptResult};
use crate::scope::ScopeSettings;
use crate::store::{
    EventRow, FetchedVia, PackedBlob, PortalCall, PortalVersion, StoreHandle, Validators,
};

/// What one source's attempt came to.
#[derive(Debug, Clone, Serialize)]
pub struct SourceOutcome {
    pub source: String,
    pub url: String,
    /// `ok`, `not-modified`, `failed`, `not-recorded` (the store refused
    /// the write), or `quarantined` (not fetched: it took a process down
    /// twice in a row, see [`crashes`]).
    pub result: String,
    pub change: Option<Change>,
    pub snapshot: Option<i64>,
    pub error: Option<String>,
    pub events: Vec<EventRow>,
    /// What the page read is (`html`, `pdf`, `script-shell`, …); `None`
    /// when nothing was read.
    pub content_kind: Option<String>,
}

impl SourceOutcome {
    pub fn failed(&self) -> bool {
        matches!(
            self.result.as_str(),
            "failed" | "not-recorded" | "quarantined"
        )
    }
}

/// The outcomes of a sweep, in completion order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    pub outcomes: Vec<SourceOutcome>,
}

impl SweepReport {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failed()).count()
    }

    pub fn changed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.change, Some(Change::Content | Change::Moved)))
            .count()
    }
}

/// What a sweep needs.
#[derive(Clone)]
pub struct Sweeper {
    pub config: Arc<Config>,
    pub fetcher: Arc<Fetcher>,
    pub store: StoreHandle,
    /// The extraction processes, built with `config.limits`.
    pub extractor: Arc<Extractor>,
    /// Renders `fetch = "browser"` sources, built with `config.browser`.
    #[cfg(feature = "browser")]
    pub browser: Arc<crate::fetch::browser::BrowserFetcher>,
}

/// The most one source may take in a sweep, from the start of its fetch to
/// its attempt being handed to the writer: its turn at its host
/// (`host_delay`), every try timing out, the longest wait before each
/// retry, one extraction's time budget, and a minute for the rest. The
/// fetch and the extraction are bounded on their own; this bounds them
/// together, whatever goes wrong.
///
/// A portal document takes two calls (its metadata, then its PDF), each
/// bounded so: when a source reads one, the fetch part counts twice.
///
/// `[limits] source_time` lowers it: a higher value would bound nothing
/// more, and would stretch the watchdog's allowance (see `daemon`).
pub fn source_deadline(config: &Config) -> Duration {
    let http = &config.http;
    let tries = http.retries.saturating_add(1);
    let waits = http.backoff_max.max(http.retry_after_max);
    let calls = if config
        .sources
        .iter()
        .any(|s| matches!(s.method, FetchMethod::ServiceTrust { .. }))
    {
        2
    } else {
        1
    };
    let every_bound = http
        .host_delay
        .saturating_add(http.timeout.saturating_mul(tries))
        .saturating_add(waits.saturating_mul(http.retries))
        .saturating_mul(calls)
        .saturating_add(config.limits.time)
        .saturating_add(Duration::from_secs(60));
    config
        .source_time
        .map_or(every_bound, |time| time.min(every_bound))
}

/// One page to fetch: a configured source or a page one links to.
#[derive(Debug, Clone)]
struct Job {
    id: String,
    url: Url,
    parent: Option<String>,
    source: Arc<Source>,
}

/// Called as each source finishes: the outcome, how many are done, of how many.
pub type Progress<'a> = &'a (dyn Fn(&SourceOutcome, usize, usize) + Sync);

impl Sweeper {
    /// A sweeper for `config`, with the browser fetcher its `[browser]`
    /// table describes (in a build with the browser).
    pub fn new(
        config: Arc<Config>,
        fetcher: Arc<Fetcher>,
        store: StoreHandle,
        extractor: Arc<Extractor>,
    ) -> Sweeper {
        Sweeper {
            #[cfg(feature = "browser")]
            browser: Arc::new(crate::fetch::browser::BrowserFetcher::new(
                browser_settings(&config),
            )),
            config,
            fetcher,
            store,
            extractor,
        }
    }

    /// Sweeps `sources`. Each waits a random delay up to `jitter` before it
    /// starts. When `stop` turns true, no new fetch starts and fetches in
    /// flight are abandoned; pages already fetched are extracted, and
    /// writes already started complete.
    pub async fn sweep(
        &self,
        sources: &[Source],
        jitter: Duration,
        stop: watch::Receiver<bool>,
        progress: Progress<'_>,
    ) -> SweepReport {
        let mut report = SweepReport::default();
        // Pages a process died on: recorded as crashed, not fetched now.
        let mut skipped: HashSet<String> = HashSet::new();
        let mut early = self.recover_crashes().await;
        skipped.extend(early.iter().map(|o| o.source.clone()));
        let quarantined = self.quarantined().await;
        let held: Vec<SourceOutcome> = sources
            .iter()
            .filter(|source| !skipped.contains(&source.id))
            .filter_map(|source| {
                let until = quarantined.get(&source.id)?;
                Some(quarantined_outcome(source, *until))
            })
            .collect();
        skipped.extend(held.iter().map(|o| o.source.clone()));
        early.extend(held);
        for (done, outcome) in early.iter().enumerate() {
            progress(outcome, done + 1, early.len());
        }
        report.outcomes.extend(early);
        let jobs = sources
            .iter()
            .filter(|source| !skipped.contains(&source.id))
            .map(|source| Job {
                id: source.id.clone(),
                url: source.url.clone(),
                parent: None,
                source: Arc::new(source.clone()),
            })
            .collect();
        // One read for every source's validators, rather than a trip to the
        // writer thread before each fetch.
        let validators = match self.store.call(|store| store.validators()).await {
            Ok(validators) => Arc::new(validators),
            Err(e) => {
                tracing::warn!("cannot read the stored validators, fetching in full: {e}");
                Arc::default()
            }
        };
        let versions = self.portal_versions(sources).await;
        let known = Known {
            validators,
            versions,
        };
        let followed = self
            .run_jobs(jobs, jitter, &known, &stop, progress, &mut report)
            .await;
        if !followed.is_empty() && !*stop.borrow() {
            // Followed pages are skipped as configured ones are.
            let followed = followed
                .into_iter()
                .filter(|job| !skipped.contains(&job.id) && !quarantined.contains_key(&job.id))
                .collect();
            self.run_jobs(
                followed,
                Duration::ZERO,
                &known,
                &stop,
                progress,
                &mut report,
            )
            .await;
        }
        // Idle extraction processes keep what their largest page took.
        let extractor = Arc::clone(&self.extractor);
        if let Err(e) = tokio::task::spawn_blocking(move || extractor.retire_idle()).await {
            tracing::warn!("cannot end the idle extraction processes: {e}");
        }
        crashes::release_own_marks(&self.store).await;
        report
    }

    /// Runs jobs on `[daemon] concurrency` workers; returns the
    /// followed-link jobs they found. Each job gets a random start offset
    /// below `jitter` and the workers take jobs in offset order, so the
    /// attempts in memory (fetched and not yet committed) are bounded by the
    /// concurrency, however many sources there are.
    async fn run_jobs(
        &self,
        jobs: Vec<Job>,
        jitter: Duration,
        known: &Known,
        stop: &watch::Receiver<bool>,
        progress: Progress<'_>,
        report: &mut SweepReport,
    ) -> Vec<Job> {
        let total = jobs.len();
        let mut schedule: Vec<(Duration, Job)> = jobs
            .into_iter()
            .map(|job| (jitter.mul_f64(fastrand::f64()), job))
            .collect();
        schedule.sort_by_key(|(offset, _)| *offset);
        let queue = Arc::new(Mutex::new(schedule.into_iter()));
        let started = tokio::time::Instant::now();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        // Attempts handed to the writer and not yet committed: it commits
        // those queued together, and this bounds the memory they hold when
        // it falls behind (see [`IN_FLIGHT_PAGES_PER_WORKER`]).
        let in_flight = Arc::new(Semaphore::new(
            self.config.daemon.concurrency * IN_FLIGHT_PAGES_PER_WORKER * PAGE_UNITS as usize,
        ));
        // Extractions waiting for a worker process wait here, not on the
        // blocking threads name resolution needs too.
        let extracting = Arc::new(Semaphore::new(self.extractor.size()));
        let deadline = source_deadline(&self.config);
        let mut workers = JoinSet::new();
        for _ in 0..self.config.daemon.concurrency.min(total) {
            let sweeper = self.clone();
            let queue = Arc::clone(&queue);
            let known = known.clone();
            let done_tx = done_tx.clone();
            let in_flight = Arc::clone(&in_flight);
            let extracting = Arc::clone(&extracting);
            let mut stop = stop.clone();
            workers.spawn(async move {
                loop {
                    if *stop.borrow() {
                        break;
                    }
                    let next = queue.lock().expect("no worker panics holding it").next();
                    let Some((offset, job)) = next else { break };
                    let work = async {
                        crate::clock::sleep_until_due(started + offset).await;
                        let begun = (crate::clock::now(), tokio::time::Instant::now());
                        let fetching = sweeper.fetch(&job, &known);
                        (begun, tokio::time::timeout(deadline, fetching).await)
                    };
                    let ((begun_at, begun), retrieved) = tokio::select! {
                        // Stop first: no fetch starts once it is set.
                        biased;
                        _ = stop.wait_for(|stopped| *stopped) => break,
                        fetched = work => fetched,
                    };
                    // A page fetched is extracted and recorded even if stop
                    // comes meanwhile (extraction has its own time budget);
                    // the budget waits only for the writer, which goes on.
                    // The deadline covers fetch and extraction together.
                    let left = deadline.saturating_sub(begun.elapsed());
                    let fetched = match retrieved {
                        Ok(retrieved) => {
                            let extracting =
                                sweeper.extract_job(job.clone(), retrieved, &extracting);
                            match tokio::time::timeout(left, extracting).await {
                                Ok(fetched) => fetched,
                                Err(_) => sweeper.overdue(job, begun_at, deadline),
                            }
                        }
                        Err(_) => sweeper.overdue(job, begun_at, deadline),
                    };
                    let recording = sweeper.record(fetched, &in_flight).await;
                    let done_tx = done_tx.clone();
                    tokio::spawn(async move {
                        // The receiver is gone only when the sweep was dropped.
                        let _ = done_tx.send(recording.await);
                    });
                }
            });
        }
        drop(done_tx);
        let mut followed = Vec::new();
        let mut done = 0;
        while let Some((outcome, links)) = done_rx.recv().await {
            done += 1;
            progress(&outcome, done, total);
            report.outcomes.push(outcome);
            followed.extend(links);
        }
        while workers.join_next().await.is_some() {}
        followed
    }

    /// Fetches one page, the way its source says.
    async fn fetch(&self, job: &Job, known: &Known) -> Retrieved {
        match &job.source.method {
            FetchMethod::Http => {
                let request = FetchRequest {
                    url: job.url.clone(),
                    configured: job.parent.is_none(),
                    allow_private: job.source.allow_private,
                    conditional: conditional_for(job, &known.validators),
                    headers: SourceHeaders::for_origin(&job.source.url, &job.source.headers),
                    accept: None,
                };
                Retrieved::plain(self.fetcher.fetch(&request).await)
            }
            FetchMethod::Browser { wait_for } => self.render(job, wait_for.clone()).await,
            FetchMethod::ServiceTrust { document, api } => {
                let previous = known.versions.get(&job.id).map(|v| DocumentVersion {
                    id: v.id.clone(),
                    when_last_modified: v.when_last_modified.clone(),
                });
                let client =
                    PortalClient::new(&self.fetcher, api.clone(), job.source.allow_private);
                portal_retrieved(document, client.check(document, previous.as_ref()).await)
            }
        }
    }

    /// Renders one page in the browser.
    #[cfg(feature = "browser")]
    async fn render(&self, job: &Job, wait_for: Option<String>) -> Retrieved {
        let rendered = self
            .browser
            .fetch(&crate::fetch::browser::BrowserRequest {
                url: job.url.clone(),
                configured: job.parent.is_none(),
                allow_private: job.source.allow_private,
                wait_for,
            })
            .await;
        Retrieved {
            capture: rendered.capture,
            via: Some(FetchedVia::Browser {
                chromium: rendered.chromium,
                refused: rendered.refused,
            }),
            failure: None,
        }
    }

    /// Without the browser, a browser source cannot be fetched (the
    /// configuration refuses one; a reload cannot bring one in either).
    #[cfg(not(feature = "browser"))]
    async fn render(&self, job: &Job, _wait_for: Option<String>) -> Retrieved {
        let mut capture = Capture::begun(job.url.to_string());
        capture.outcome = FetchOutcome::Failed {
            class: crate::fetch::ErrorClass::BrowserMissing,
            message: "this scopewatch was built without the browser fetcher (the Cargo feature `browser`)".to_string(),
        };
        Retrieved::plain(capture)
    }

    /// The version each portal source among `sources` last downloaded.
    async fn portal_versions(&self, sources: &[Source]) -> Arc<HashMap<String, PortalVersion>> {
        let any = sources
            .iter()
            .any(|s| matches!(s.method, FetchMethod::ServiceTrust { .. }));
        if !any {
            return Arc::default();
        }
        match self.store.call(|store| store.portal_versions()).await {
            Ok(versions) => Arc::new(versions),
            Err(e) => {
                tracing::warn!(
                    "cannot read the portal versions downloaded, downloading again: {e}"
                );
                Arc::default()
            }
        }
    }

    /// Extracts a fetched page: the attempt to record. The source is marked
    /// in the database before its body is extracted (see [`crashes`]);
    /// extractions wait for a turn in `extracting`.
    async fn extract_job(&self, job: Job, retrieved: Retrieved, extracting: &Semaphore) -> Fetched {
        let source = Arc::clone(&job.source);
        let settings = Arc::clone(&self.config.scope);
        let Retrieved {
            capture,
            via,
            failure,
        } = retrieved;
        // Only a body has work that would block an async worker; a 304 or
        // a failure is not worth the trip to the blocking pool.
        let (capture, result, links) = if let Some((class, message)) = failure {
            refused_body(capture, &class, message)
        } else if matches!(capture.outcome, FetchOutcome::Body(_)) {
            self.mark_in_flight(&job).await;
            let _turn = extracting
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let extractor = Arc::clone(&self.extractor);
            tokio::task::spawn_blocking(move || process(capture, &source, &settings, &extractor))
                .await
                .expect("extraction does not panic")
        } else {
            process(capture, &source, &settings, &self.extractor)
        };
        // Only a configured source's page is followed, and only when it was
        // extracted: a 304 or a failure says nothing of its links.
        let follow = match (&job.source.follow, &result) {
            (Some(follow), AttemptResult::Extracted { .. }) if job.parent.is_none() => {
                Some(crate::follow::Followed {
                    links,
                    max: follow.max,
                })
            }
            _ => None,
        };
        let mut attempt = self.attempt(&job, capture, result, follow);
        attempt.via = via;
        Fetched { job, attempt }
    }

    /// Marks `job`'s source as being extracted by this process. A mark that
    /// cannot be written is logged: the attempt goes on (its record will
    /// likely fail the same way, and say so).
    async fn mark_in_flight(&self, job: &Job) {
        let (source, url) = (job.id.clone(), job.url.to_string());
        let since = crate::clock::format(crate::clock::now());
        let marked = self
            .store
            .call(move |store| store.mark_in_flight(&source, &url, &crashes::THIS_PROCESS, &since))
            .await;
        if let Err(e) = marked {
            tracing::warn!(source = %job.id, "cannot mark the page as being extracted: {e}");
        }
    }

    /// The attempt to record for `job`.
    fn attempt(
        &self,
        job: &Job,
        capture: Capture,
        result: AttemptResult,
        follow: Option<crate::follow::Followed>,
    ) -> AttemptRecord {
        AttemptRecord {
            source: job.id.clone(),
            source_url: job.url.to_string(),
            parent: job.parent.clone(),
            capture,
            result,
            fail_after: job.source.fail_after,
            scope_settings: Arc::clone(&self.config.scope),
            alerts: crate::alert::attempt_alerts(
                &self.config.alerts,
                job.source.remind_every,
                job.source
                    .attestation
                    .as_deref()
                    .filter(|_| job.parent.is_none()),
            ),
            follow,
            via: None,
        }
    }

    /// The failed attempt of a job that outlasted its `deadline` (begun at
    /// `begun`): the sweep goes on without it.
    fn overdue(
        &self,
        job: Job,
        begun: chrono::DateTime<chrono::Utc>,
        deadline: Duration,
    ) -> Fetched {
        let mut capture = Capture::begun(job.url.to_string());
        capture.started_at = begun;
        let result = AttemptResult::Failed {
            body: None,
            class: "deadline".to_string(),
            message: format!(
                "fetching and extracting the page took longer than {}, the most one source may take; the sweep went on without it",
                humantime::format_duration(deadline)
            ),
        };
        let attempt = self.attempt(&job, capture, result, None);
        Fetched { job, attempt }
    }

    /// Hands a fetched page to the writer once the in-flight budget has
    /// room for it. Returns the rest as a future: waiting for the write,
    /// then the outcome and the jobs for the pages it links to (when its
    /// source follows links), so the worker can fetch the next page
    /// meanwhile.
    async fn record(
        &self,
        fetched: Fetched,
        in_flight: &Arc<Semaphore>,
    ) -> impl Future<Output = (SourceOutcome, Vec<Job>)> + Send + 'static {
        let Fetched { job, attempt } = fetched;
        // A failed extraction keeps the body it failed on, as big as a page.
        let (result, error, units) = match &attempt.result {
            AttemptResult::Extracted { .. } => ("ok", None, PAGE_UNITS),
            AttemptResult::NotModified => ("not-modified", None, 1),
            AttemptResult::Failed {
                class,
                message,
                body,
            } => (
                "failed",
                Some(format!("{class}: {message}")),
                if body.is_some() { PAGE_UNITS } else { 1 },
            ),
        };
        let slot = Arc::clone(in_flight)
            .acquire_many_owned(units)
            .await
            .expect("the semaphore is never closed");
        let recorded = crate::record::submit(&self.store, attempt);
        async move {
            let outcome = finish(job, result, error, recorded.await);
            drop(slot);
            outcome
        }
    }
}

/// The validators to send for `job`: none when they were stored for
/// another URL (the source's `url` was edited since).
fn conditional_for(job: &Job, validators: &HashMap<String, Validators>) -> Option<Conditional> {
    let stored = validators
        .get(&job.id)
        .filter(|v| v.requested == job.url.as_str())?;
    Some(Conditional {
        url: Url::parse(&stored.from).ok()?,
        etag: stored.etag.clone(),
        last_modified: stored.last_modified.clone(),
    })
}

/// What the sweep knows of its sources before it fetches them: the
/// validators of their last full responses, and the portal document
/// versions they last downloaded.
#[derive(Clone)]
struct Known {
    validators: Arc<HashMap<String, Validators>>,
    versions: Arc<HashMap<String, PortalVersion>>,
}

/// What a job's fetch brought back: the capture to record, how it was
/// fetched when not by one GET, and a failure decided on what came back
/// (a portal's sign-in, an unusable answer), class and message.
struct Retrieved {
    capture: Capture,
    via: Option<FetchedVia>,
    failure: Option<(String, String)>,
}

impl Retrieved {
    fn plain(capture: Capture) -> Retrieved {
        Retrieved {
            capture,
            via: None,
            failure: None,
        }
    }
}

/// A portal check as the attempt to record: the download when there was
/// one (the PDF to extract), else the metadata call, which stands for "not
/// modified" while the version is the one last downloaded. The metadata
/// call is recorded with it either way.
fn portal_retrieved(document: &DocumentGuid, check: PortalCheck) -> Retrieved {
    let PortalCheck {
        mut metadata,
        download,
        outcome,
    } = check;
    // The metadata body is kept as a blob of its own, not carried twice.
    let metadata_body = match std::mem::replace(&mut metadata.outcome, FetchOutcome::NotModified) {
        FetchOutcome::Body(body) => {
            metadata.outcome = FetchOutcome::Body(Vec::new());
            PackedBlob::pack(&body).ok()
        }
        other => {
            metadata.outcome = other;
            None
        }
    };
    let version = |live: &LiveDocument| PortalVersion {
        id: live.id.clone(),
        when_last_modified: live.when_last_modified.clone(),
        title: live.title.clone(),
    };
    let (live, new_version, failure) = match &outcome {
        PortalOutcome::Unchanged(live) => (Some(version(live)), None, None),
        PortalOutcome::Downloaded { live, new_version } => {
            (Some(version(live)), new_version.clone(), None)
        }
        PortalOutcome::SignIn(message) => {
            (None, None, Some((SIGN_IN.to_string(), message.clone())))
        }
        PortalOutcome::Failed { class, message } => {
            (None, None, Some((class.clone(), message.clone())))
        }
    };
    let capture = match (&outcome, download) {
        // Nothing of the document was received: the record has no
        // response of its own; the call that said so is its metadata.
        (PortalOutcome::Unchanged(_), _) => Capture {
            started_at: metadata.started_at,
            finished_at: metadata.finished_at,
            attempts: metadata.attempts,
            request_headers: metadata.request_headers.clone(),
            outcome: FetchOutcome::NotModified,
            ..Capture::begun(metadata.url.clone())
        },
        (_, Some(download)) => download,
        (_, None) => metadata.clone(),
    };
    Retrieved {
        capture,
        via: Some(FetchedVia::Portal(Box::new(PortalCall {
            portal: PORTAL_NAME,
            document: document.to_string(),
            metadata,
            metadata_body,
            live,
            new_version,
        }))),
        failure,
    }
}

/// The `portal` value of a Service Trust Portal source.
const PORTAL_NAME: &str = "service-trust";

/// The class of an attempt turned away to sign in.
pub const SIGN_IN: &str = "sign-in";

/// The failed attempt of a fetch whose answer was refused after it came
/// (see [`Retrieved::failure`]): its body, when it had one, is kept.
fn refused_body(
    mut capture: Capture,
    class: &str,
    message: String,
) -> (Capture, AttemptResult, Vec<Link>) {
    let body = match std::mem::replace(&mut capture.outcome, FetchOutcome::NotModified) {
        FetchOutcome::Body(body) if !body.is_empty() => PackedBlob::pack(&body).ok(),
        _ => None,
    };
    let result = AttemptResult::Failed {
        body,
        class: class.to_string(),
        message,
    };
    (capture, result, Vec::new())
}

/// The browser fetcher's settings: `[browser]`, with `[http]`'s timeout
/// and body cap.
#[cfg(feature = "browser")]
pub fn browser_settings(config: &Config) -> crate::fetch::browser::BrowserSettings {
    crate::fetch::browser::BrowserSettings {
        pages: config.browser.pages,
        executable: config.browser.chromium.clone(),
        ..crate::fetch::browser::BrowserSettings::from_http(&config.http)
    }
}

/// A page fetched and extracted, to be recorded.
struct Fetched {
    job: Job,
    attempt: AttemptRecord,
}

/// Attempts waiting for their commit may hold this many extracted pages a
/// worker; with the one each worker is fetching or extracting, four at most.
/// The budget is counted in units of a 304: an extracted page holds its
/// text, scope set and packed blobs (tens of kilobytes) and takes
/// [`PAGE_UNITS`], as does a failed extraction (it keeps the body); a 304 or
/// a failed fetch (about a kilobyte) takes one. When the writer falls
/// behind, a first sweep keeps as many pages waiting as a budget of pages
/// would, while a sweep of 304s queues eight times as many, which the
/// writer commits in fewer, larger transactions.
const IN_FLIGHT_PAGES_PER_WORKER: usize = 3;

/// The units of the in-flight budget an extracted page takes.
const PAGE_UNITS: u32 = 8;

/// The outcome of a recorded (or unrecordable) attempt, and the jobs for
/// the pages it links to that the store decided to follow.
fn finish(
    job: Job,
    result: &str,
    error: Option<String>,
    recorded: crate::store::Result<crate::record::Recorded>,
) -> (SourceOutcome, Vec<Job>) {
    let (recorded, follow) = match recorded {
        Ok(mut recorded) => {
            let follow = std::mem::take(&mut recorded.follow);
            (Ok(recorded), follow)
        }
        Err(e) => (Err(e), Vec::new()),
    };
    let outcome = recorded_outcome(&job.id, job.url.as_str(), result, error, recorded);
    let followed = follow
        .into_iter()
        .map(|link| Job {
            id: link.id,
            url: link.url,
            parent: Some(job.id.clone()),
            source: Arc::clone(&job.source),
        })
        .collect();
    (outcome, followed)
}

/// The outcome of an attempt at `source` (`url`), once its record was
/// written (or could not be).
fn recorded_outcome(
    source: &str,
    url: &str,
    result: &str,
    error: Option<String>,
    recorded: crate::store::Result<crate::record::Recorded>,
) -> SourceOutcome {
    match recorded {
        Ok(recorded) => SourceOutcome {
            source: source.to_string(),
            url: url.to_string(),
            result: result.to_string(),
            change: recorded.change,
            snapshot: Some(recorded.record_id),
            error,
            events: recorded.events,
            content_kind: recorded.content_kind,
        },
        Err(e) => {
            tracing::error!(source = %source, "could not record the fetch: {e}");
            SourceOutcome {
                source: source.to_string(),
                url: url.to_string(),
                result: "not-recorded".to_string(),
                change: None,
                snapshot: None,
                error: Some(e.to_string()),
                events: Vec::new(),
                content_kind: None,
            }
        }
    }
}

/// The outcome of a quarantined source: not fetched, nothing recorded.
fn quarantined_outcome(source: &Source, until: chrono::DateTime<chrono::Utc>) -> SourceOutcome {
    SourceOutcome {
        source: source.id.clone(),
        url: source.url.to_string(),
        result: "quarantined".to_string(),
        change: None,
        snapshot: None,
        error: Some(format!(
            "quarantined: extracting this page took scopewatch down {} times in a row; not fetched before {}",
            crashes::QUARANTINE_AFTER,
            crate::clock::format(until)
        )),
        events: Vec::new(),
        content_kind: None,
    }
}

/// Extraction, off the async workers: the capture and the attempt result to
/// record, and the links to follow.
fn process(
    mut capture: Capture,
    source: &Source,
    scope_settings: &ScopeSettings,
    extractor: &Extractor,
) -> (Capture, AttemptResult, Vec<Link>) {
    let outcome = std::mem::replace(&mut capture.outcome, FetchOutcome::NotModified);
    let body = match outcome {
        FetchOutcome::NotModified => return (capture, AttemptResult::NotModified, Vec::new()),
        FetchOutcome::Failed { class, message } => {
            let result = AttemptResult::Failed {
                body: None,
                class: class.to_string(),
                message,
            };
            return (capture, result, Vec::new());
        }
        FetchOutcome::Body(body) => body,
    };
    let final_url = capture
        .final_url
        .clone()
        .unwrap_or_else(|| capture.url.clone());
    let (mut extracted, scope) = match extractor.extract_page(
        &body,
        capture.content_type.as_deref(),
        &final_url,
        &source.rules,
        &source.scope,
        scope_settings,
    ) {
        Ok(extracted) => extracted,
        Err(e) => {
            let result = packed_failure(&body, e.class(), e.to_string());
            return (capture, result, Vec::new());
        }
    };
    let links = match &source.follow {
        Some(follow) => follow_links(
            &std::mem::take(&mut extracted.links),
            &final_url,
            source,
            follow,
        ),
        None => Vec::new(),
    };
    let result = AttemptResult::extracted(&body, extracted, scope).unwrap_or_else(|e| {
        AttemptResult::Failed {
            body: None,
            class: "out-of-memory".to_string(),
            message: format!("the page could not be compressed for storage: {e}"),
        }
    });
    (capture, result, links)
}

/// A failed extraction, keeping the body that failed.
fn packed_failure(body: &[u8], class: &str, message: String) -> AttemptResult {
    AttemptResult::Failed {
        body: PackedBlob::pack(body).ok(),
        class: class.to_string(),
        message,
    }
}

/// The pages a source may follow among a page's links (`hrefs`, as
/// extracted): on an allowed host, not the page itself, each id once, in
/// page order. How many are followed is the store's decision (see
/// [`crate::follow`]).
fn follow_links(
    hrefs: &[String],
    final_url: &str,
    source: &Source,
    follow: &crate::config::Follow,
) -> Vec<Link> {
    let Ok(base) = Url::parse(final_url) else {
        return Vec::new();
    };
    let own_host = base.host_str().map(str::to_ascii_lowercase);
    let mut ids = HashSet::new();
    extract::html::resolve_links(hrefs, &base)
        .into_iter()
        .filter(|url| {
            let host = url.host_str().map(str::to_ascii_lowercase);
            if follow.hosts.is_empty() {
                host == own_host
            } else {
                host.is_some_and(|h| follow.hosts.contains(&h))
            }
        })
        .filter(|url| *url != source.url && url.as_str() != final_url)
        .map(|url| Link {
            id: followed_id(&source.id, &url),
            url,
        })
        // One page an id: two would share its history and validators.
        .filter(|link| ids.insert(link.id.clone()))
        .collect()
}

/// The id of a followed page: `PARENT~host-and-path`, readable and stable.
/// A short hash of the whole URL is appended when that form is long or
/// could stand for another URL too: not https, a port, a query, a trailing
/// slash, a character other than letters, digits, `.`, `-` and `/` (all
/// but those become `-`). `~` never appears in configured ids.
pub fn followed_id(parent: &str, url: &Url) -> String {
    let path = if url.path() == "/" { "" } else { url.path() };
    let written = format!("{}{path}", url.host_str().unwrap_or(""));
    let readable: String = written
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let readable = readable.trim_matches('-');
    // `/` and `-` both read `-`: kept so, as existing histories go by it.
    let exact = url.scheme() == "https"
        && url.port().is_none()
        && url.query().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && readable.len() == written.len()
        && written
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/'));
    if exact && readable.len() <= 60 {
        format!("{parent}~{readable}")
    } else {
        let short: String = readable.chars().take(50).collect();
        let hash = Digest::of(url.as_str().as_bytes()).to_hex();
        format!("{parent}~{}-{}", short.trim_matches('-'), &hash[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followed_ids_are_readable_and_bounded() {
        let url = Url::parse("https://www.microsoft.com/en-us/trust-center/iso-27001").unwrap();
        assert_eq!(
            followed_id("bot", &url),
            "bot~www.microsoft.com-en-us-trust-center-iso-27001"
        );
        let long = Url::parse(&format!("https://x.example/{}", "a/".repeat(60))).unwrap();
        let id = followed_id("bot", &long);
        assert!(id.len() < 70, "{id}");
        assert_ne!(
            id,
            followed_id("bot", &Url::parse("https://x.example/?q=1").unwrap())
        );
    }

    #[test]
    fn followed_ids_differ_where_the_readable_form_is_lossy() {
        let id = |url: &str| followed_id("bot", &Url::parse(url).unwrap());
        for (a, b) in [
            (
                "https://h.example/trust/iso",
                "https://h.example/trust/iso/",
            ),
            ("https://h.example/a_b", "https://h.example/a-b"),
            ("http://h.example/x", "https://h.example:8443/x"),
            ("https://h.example/x", "https://h.example/x-"),
            ("https://h.example/%C3%A9", "https://h.example/-C3-A9"),
        ] {
            assert_ne!(id(a), id(b), "{a} and {b}");
        }
        assert_eq!(id("https://h.example/"), "bot~h.example");
        assert_eq!(id("https://h.example/a-b"), "bot~h.example-a-b");
        assert!(id("https://h.example/a_b").starts_with("bot~h.example-a-b-"));
    }

    #[test]
    fn a_followed_id_is_fetched_once() {
        let config = crate::config::parse(
            "[[source]]\nid = \"bot\"\nurl = \"https://h.example/bot\"\nfollow = { max = 5 }\n",
            std::path::Path::new("/tmp/scopewatch.toml"),
        )
        .unwrap();
        let source = &config.sources[0];
        let hrefs = ["/a-b", "/a/b", "/c"].map(String::from);
        let links = follow_links(
            &hrefs,
            "https://h.example/bot",
            source,
            source.follow.as_ref().unwrap(),
        );
        let links: Vec<&str> = links.iter().map(|link| link.url.as_str()).collect();
        assert_eq!(links, ["https://h.example/a-b", "https://h.example/c"]);
    }
}
