//! The dispatcher: reads due deliveries from the outbox, claims each with
//! a lease in the database right before sending it (so a `check` beside the
//! daemon, or two `check`s, never send the same delivery), sends them (each
//! bounded by its channel's timeout, all concurrently, off the sweep path),
//! and records each result: done, retry after a capped exponential
//! backoff, or failed after `max_attempts`. A delivery whose claim or
//! result cannot be recorded (a full disk) is held back in memory with the
//! same backoff instead of being sent again at the next poll. `check` runs
//! one bounded round before it exits; the daemon runs rounds continuously.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::payload::Item;
use super::settings::{Channel, routes};
use super::{backoff_delay, channel};
use crate::clock;
use crate::fetch::tls::ExtraRoots;
use crate::hash::Digest;
use crate::store::{Delivery, Finish, StoreHandle};

/// How often the daemon looks for due deliveries while they may appear
/// (a sweep running, sends in flight, or the last look found some).
pub const POLL: Duration = Duration::from_secs(1);
/// How often it looks between sweeps, when nothing was due: then only a
/// retry can fall due, so no channel's first `backoff` is exceeded either
/// (see [`Dispatcher::idle_poll`]). Each look is a query on the writer
/// thread; looking every second kept an idle daemon at about 390 thread
/// wake-ups a minute.
pub const IDLE_POLL: Duration = Duration::from_secs(30);
/// Messages sent at once; the rest wait for a slot.
pub const CONCURRENCY: usize = 16;
/// How long `check` waits for pending deliveries before it exits.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// How much longer than its channel's timeout a claim lasts: the time to
/// record the result after the send, when the writer is busy committing a
/// sweep. A sender that dies holds its deliveries this long at most.
pub const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// What one round did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RoundReport {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Dispatcher {
    channels: Arc<HashMap<String, Channel>>,
    routes: Arc<[crate::routing::Route]>,
    store: StoreHandle,
    http: reqwest::Client,
    /// Deliveries being sent by the daemon loop, not to be started again.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Deliveries whose claim or result could not be recorded, and until
    /// when they wait.
    held_back: Arc<Mutex<HashMap<String, HeldBack>>>,
    /// Who claims deliveries: this process (`pid:random`).
    claimer: Arc<str>,
    slots: Arc<Semaphore>,
}

/// A delivery held back after its claim or result could not be recorded.
#[derive(Debug, Clone, Copy)]
struct HeldBack {
    until: chrono::DateTime<chrono::Utc>,
    /// Times in a row it could not be recorded.
    times: u32,
}

/// The configuration a dispatcher delivers by, replaced on reload: the
/// channels, and the certificates webhooks trust besides Mozilla's roots
/// (`[http] ca_file`). The configuration is one.
pub trait DeliverySettings: Send + Sync + 'static {
    fn channels(&self) -> &[Channel];
    fn extra_roots(&self) -> &ExtraRoots;
}

/// The client webhooks are sent with, by the daemon and by `alerts test`
/// alike: no redirects, Mozilla's roots and `extra_roots`, scopewatch's
/// User-Agent.
pub fn http_client(extra_roots: &ExtraRoots) -> Result<reqwest::Client, crate::fetch::ClientError> {
    crate::fetch::client::http_client(
        crate::fetch::client::Purpose::Webhooks,
        extra_roots,
        crate::fetch::USER_AGENT,
    )
}

impl Dispatcher {
    /// `extra_roots`: `[http] ca_file`, trusted besides Mozilla's roots.
    pub fn new(
        channels: &[Channel],
        extra_roots: &ExtraRoots,
        store: StoreHandle,
    ) -> anyhow::Result<Dispatcher> {
        let http = http_client(extra_roots)?;
        Ok(Dispatcher {
            channels: Arc::new(
                channels
                    .iter()
                    .map(|c| (c.name.clone(), c.clone()))
                    .collect(),
            ),
            routes: routes(channels).into(),
            store,
            http,
            in_flight: Arc::default(),
            held_back: Arc::default(),
            claimer: format!("{}:{:08x}", std::process::id(), fastrand::u32(..)).into(),
            slots: Arc::new(Semaphore::new(CONCURRENCY)),
        })
    }

    /// The messages due now, leaving out deliveries in flight and, when
    /// `digests` is false (a sweep is running), the digest channels'.
    async fn due(&self, digests: bool) -> Vec<Vec<Delivery>> {
        let now = clock::now();
        let mut skip = self.in_flight.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(held_back) = self.held_back.lock() {
            skip.extend(
                held_back
                    .iter()
                    .filter(|(_, held)| held.until > now)
                    .map(|(id, _)| id.clone()),
            );
        }
        let due = self
            .store
            .call(move |store| store.due_deliveries(now, &skip))
            .await;
        match due {
            Ok(due) => self.batches(due, digests),
            Err(e) => {
                tracing::error!("cannot read the alert outbox: {e}");
                Vec::new()
            }
        }
    }

    /// Attempts every delivery due now, once, and waits for the results.
    pub async fn round(&self) -> RoundReport {
        let mut tasks = JoinSet::new();
        for batch in self.due(true).await {
            let dispatcher = self.clone();
            tasks.spawn(async move { dispatcher.send_batch(batch).await });
        }
        let mut report = RoundReport::default();
        while let Some(joined) = tasks.join_next().await {
            for finish in joined.unwrap_or_default() {
                match finish {
                    Finish::Done => report.delivered += 1,
                    Finish::Retry { .. } => report.retrying += 1,
                    Finish::Failed { .. } => report.failed += 1,
                }
            }
        }
        report
    }

    /// One round, given at most `limit`; what is left stays pending.
    pub async fn round_within(&self, limit: Duration) -> Option<RoundReport> {
        tokio::time::timeout(limit, self.round()).await.ok()
    }

    /// The daemon's loop: every [`POLL`] while a sweep runs (or
    /// [`Dispatcher::idle_poll`] between sweeps, and at once when a sweep
    /// starts or ends), starts the messages that are due,
    /// without waiting for those still in flight (a hanging receiver holds
    /// up only its own delivery). Digest channels wait while `sweeping` is
    /// true, so that a sweep's alerts go out as one message. Ends when
    /// `stop` turns true; deliveries in flight then stay pending.
    /// Delivers until `stop`; a configuration arriving on `configs` (SIGHUP)
    /// replaces the channels and their routes.
    pub async fn run<S: DeliverySettings>(
        mut self,
        mut stop: watch::Receiver<bool>,
        mut sweeping: watch::Receiver<bool>,
        mut configs: watch::Receiver<Arc<S>>,
    ) {
        let mut tasks = JoinSet::new();
        // Until the scheduler that reports sweeps is gone.
        let mut sweeps_reported = true;
        loop {
            while tasks.try_join_next().is_some() {}
            let digests = !*sweeping.borrow();
            let batches = self.due(digests).await;
            let busy = !batches.is_empty() || !tasks.is_empty() || !digests;
            for batch in batches {
                let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
                if let Ok(mut in_flight) = self.in_flight.lock() {
                    in_flight.extend(ids.iter().cloned());
                }
                let dispatcher = self.clone();
                tasks.spawn(async move {
                    dispatcher.send_batch(batch).await;
                    if let Ok(mut in_flight) = dispatcher.in_flight.lock() {
                        for id in &ids {
                            in_flight.remove(id);
                        }
                    }
                });
            }
            let wait = if busy { POLL } else { self.idle_poll() };
            let reconfigured = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = stop.wait_for(|stopped| *stopped) => return,
                changed = configs.changed() => changed.is_ok(),
                changed = sweeping.changed(), if sweeps_reported => {
                    sweeps_reported = changed.is_ok();
                    false
                }
            };
            if reconfigured {
                let config = configs.borrow_and_update().clone();
                self.channels = Arc::new(
                    config
                        .channels()
                        .iter()
                        .map(|c| (c.name.clone(), c.clone()))
                        .collect(),
                );
                self.routes = routes(config.channels()).into();
                // `[http] ca_file` may have changed what webhooks trust.
                match http_client(config.extra_roots()) {
                    Ok(http) => self.http = http,
                    Err(e) => tracing::warn!(
                        "webhooks keep the previous TLS settings: the new ones do not build: {e}"
                    ),
                }
            }
        }
    }

    /// How long to wait between looks when nothing is due and no sweep
    /// runs: [`IDLE_POLL`], or a channel's shorter `backoff`, so a retry is
    /// late by at most its first wait.
    fn idle_poll(&self) -> Duration {
        self.channels
            .values()
            .map(|c| c.backoff)
            .fold(IDLE_POLL, Duration::min)
            .max(POLL)
    }

    /// Groups due deliveries into messages: one each, or one per digest channel.
    fn batches(&self, due: Vec<Delivery>, digests: bool) -> Vec<Vec<Delivery>> {
        let mut grouped: HashMap<String, Vec<Delivery>> = HashMap::new();
        let mut batches = Vec::new();
        for delivery in due {
            match self.channels.get(&delivery.channel) {
                Some(channel) if channel.digest => {
                    if digests {
                        grouped
                            .entry(delivery.channel.clone())
                            .or_default()
                            .push(delivery);
                    }
                }
                _ => batches.push(vec![delivery]),
            }
        }
        batches.extend(grouped.into_values());
        batches
    }

    /// Claims the deliveries of `batch` that no other sender holds; only
    /// those are sent.
    async fn claim(&self, batch: Vec<Delivery>) -> Vec<Delivery> {
        let Some(first) = batch.first() else {
            return batch;
        };
        let timeout = self
            .channels
            .get(&first.channel)
            .map_or(Duration::ZERO, |c| c.timeout);
        let now = clock::now();
        let until = clock::after(now, timeout.saturating_add(LEASE_MARGIN));
        let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
        let claimer = Arc::clone(&self.claimer);
        let claimed = self
            .store
            .call(move |store| store.claim_deliveries(&ids, &claimer, now, until))
            .await;
        match claimed {
            Ok(claimed) => {
                let claimed: HashSet<String> = claimed.into_iter().collect();
                batch
                    .into_iter()
                    .filter(|d| claimed.contains(&d.id))
                    .collect()
            }
            Err(e) => {
                tracing::error!(
                    "cannot claim alert deliveries ({e}); they are not sent, and tried again later"
                );
                self.hold_back(&batch);
                Vec::new()
            }
        }
    }

    /// Holds `deliveries` back as a failed send would be: for the channel's
    /// backoff, longer each time in a row.
    fn hold_back<'a>(&self, deliveries: impl IntoIterator<Item = &'a Delivery>) {
        let now = clock::now();
        let Ok(mut held_back) = self.held_back.lock() else {
            return;
        };
        for delivery in deliveries {
            let times = held_back.get(&delivery.id).map_or(0, |h| h.times) + 1;
            let delay = self.channels.get(&delivery.channel).map_or(POLL, |c| {
                backoff_delay(c.backoff, c.backoff_max, delivery.attempts + times)
            });
            let until = clock::after(now, delay.max(POLL));
            held_back.insert(delivery.id.clone(), HeldBack { until, times });
        }
    }

    async fn send_batch(&self, batch: Vec<Delivery>) -> Vec<Finish> {
        let slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let batch = self.claim(batch).await;
        let Some(first) = batch.first() else {
            return Vec::new();
        };
        let finishes: Vec<(String, Finish)> = match self.channels.get(&first.channel) {
            None => batch
                .iter()
                .map(|d| {
                    let error = format!(
                        "channel {:?} is no longer configured; add it back to deliver",
                        d.channel
                    );
                    (d.id.clone(), Finish::Failed { error })
                })
                .collect(),
            Some(channel) => {
                let message_id = match batch.as_slice() {
                    [one] => one.id.clone(),
                    many => {
                        let ids: Vec<&str> = many.iter().map(|d| d.id.as_str()).collect();
                        Digest::of(ids.join(",").as_bytes()).to_hex()[..32].to_string()
                    }
                };
                let items: Vec<Item> = batch
                    .iter()
                    .map(|d| Item {
                        delivery_id: d.id.clone(),
                        alert: d.alert.clone(),
                    })
                    .collect();
                let result = channel::send(channel, &self.http, &message_id, &items).await;
                batch
                    .iter()
                    .map(|d| (d.id.clone(), decide(channel, d.attempts + 1, &result)))
                    .collect()
            }
        };
        // The slot bounds sends; recording waits with the other messages' results.
        drop(slot);
        for (id, finish) in &finishes {
            if let Some(error) = finish.error() {
                tracing::warn!(delivery = %id, "alert delivery failed: {error}");
            }
        }
        let results = crate::record::deliveries::finish_deliveries(
            &self.store,
            finishes.clone(),
            Arc::clone(&self.claimer),
            Arc::clone(&self.routes),
        )
        .await;
        let mut unrecorded = Vec::new();
        for (delivery, result) in batch.iter().zip(results) {
            match result {
                Ok(()) => {
                    if let Ok(mut held_back) = self.held_back.lock() {
                        held_back.remove(&delivery.id);
                    }
                }
                Err(e) => {
                    tracing::error!(
                        delivery = %delivery.id,
                        "cannot record the delivery's result ({e}); it stays pending and is sent again after a backoff"
                    );
                    unrecorded.push(delivery);
                }
            }
        }
        self.hold_back(unrecorded);
        finishes.into_iter().map(|(_, f)| f).collect()
    }
}

/// What a send result means for a delivery on its `attempts`-th attempt.
fn decide(channel: &Channel, attempts: u32, result: &Result<(), String>) -> Finish {
    match result {
        Ok(()) => Finish::Done,
        Err(error) if attempts >= channel.max_attempts => Finish::Failed {
            error: error.clone(),
        },
        Err(error) => {
            let delay = backoff_delay(channel.backoff, channel.backoff_max, attempts);
            let at = clock::after(clock::now(), delay);
            Finish::Retry {
                at,
                error: error.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatcher(alerts: &str) -> Dispatcher {
        let config =
            crate::config::parse(alerts, std::path::Path::new("/tmp/scopewatch.toml")).unwrap();
        let (store, _writer) = StoreHandle::spawn(crate::store::Store::open_in_memory().unwrap());
        Dispatcher::new(&config.alerts, &config.http.extra_roots, store).unwrap()
    }

    #[test]
    fn between_sweeps_it_looks_as_often_as_the_shortest_first_backoff() {
        // The default `log` channel backs off 30 s.
        assert_eq!(dispatcher("").idle_poll(), IDLE_POLL);
        let quick = "[[alert]]\nname = \"quick\"\nkind = \"log\"\nbackoff = \"5s\"\n\
                     [[alert]]\nname = \"slow\"\nkind = \"log\"\nbackoff = \"10m\"\n";
        assert_eq!(dispatcher(quick).idle_poll(), Duration::from_secs(5));
        let instant = "[[alert]]\nname = \"instant\"\nkind = \"log\"\nbackoff = \"0s\"\n";
        assert_eq!(dispatcher(instant).idle_poll(), POLL);
    }
}
