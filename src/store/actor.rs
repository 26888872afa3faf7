//! The single writer: one thread owns the write connection and runs jobs
//! sent from async tasks, so blocking SQLite work never runs on the async
//! workers and writes are serialised without lock contention.
//!
//! Recording attempts is group-committed: the attempts waiting in the
//! queue when the writer gets to them are written in one transaction; one
//! that fails rolls back alone (see `Store::record_attempts`), and none is
//! reported recorded before the transaction holding it has committed. When
//! the writer keeps up, a batch is one attempt; when it falls behind, one
//! commit (and one write of the pages every attempt touches) serves many.
//! Delivery results are committed the same way: with the log channel, a
//! check's alerts are sent at once and their results arrive together. A
//! batch that cannot be committed at all fails every result in it: those
//! deliveries stay pending and are sent again (delivery is at-least-once).
//!
//! Once any job meets a damaged file (`SQLITE_CORRUPT`, `SQLITE_NOTADB`),
//! the writer refuses every write after it and says so to every handle
//! ([`StoreHandle::damage`]): `check` and `run` stop and exit 2.

use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use super::{AttemptRecord, Finish, Recorded, Result, Store};
use crate::routing::Route;

/// The most attempts, or messages' delivery results (a digest's message
/// holds many), committed together.
const MAX_BATCH: usize = 128;

enum Job {
    Run(Box<dyn FnOnce(&mut Store) + Send>),
    Record(Box<AttemptRecord>, oneshot::Sender<Result<Recorded>>),
    Finish(Finishes),
}

/// The results of one message's deliveries, to record with `routes`.
struct Finishes {
    finishes: Vec<(String, Finish)>,
    claimer: Arc<str>,
    routes: Arc<[Route]>,
    reply: oneshot::Sender<Vec<Result<()>>>,
}

/// A cloneable handle to the writer thread. The thread ends, after running
/// every job already sent, when the last handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
    damage: watch::Receiver<Option<String>>,
}

impl StoreHandle {
    /// Moves `store` to a new writer thread.
    pub fn spawn(store: Store) -> (StoreHandle, JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (damage_tx, damage) = watch::channel(None);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(store, &queue, &damage_tx))
            .expect("the OS can start a thread");
        (StoreHandle { jobs, damage }, thread)
    }

    /// Why the writer refuses to write, once the database file was found
    /// damaged (the error to report, exit 2).
    pub fn damage(&self) -> Option<String> {
        self.damage.borrow().clone()
    }

    /// Resolves once the database file is found damaged.
    pub async fn damaged(&self) -> String {
        let mut damage = self.damage.clone();
        let found = damage
            .wait_for(Option::is_some)
            .await
            .map(|found| found.clone().unwrap_or_default());
        match found {
            Ok(found) => found,
            // The writer ended without finding damage: nothing to wait for.
            Err(_) => std::future::pending().await,
        }
    }

    /// Runs `job` on the writer thread and waits for its result.
    pub async fn call<R, F>(&self, job: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        self.send(Job::Run(Box::new(move |store: &mut Store| {
            // The caller may have gone away (shutdown); the write still happened.
            let _ = reply.send(job(store));
        })));
        result.await.expect("the store writer thread ran the job")
    }

    /// Sends an attempt to be recorded (see [`Store::record_attempts`]),
    /// committed together with the other attempts waiting at the same time;
    /// the returned future resolves once it is committed (or failed).
    pub fn record(
        &self,
        attempt: AttemptRecord,
    ) -> impl Future<Output = Result<Recorded>> + Send + 'static {
        let (reply, result) = oneshot::channel();
        self.send(Job::Record(Box::new(attempt), reply));
        async move { result.await.expect("the store writer thread ran the job") }
    }

    /// Sends the results of delivery attempts to be recorded (see
    /// [`Store::finish_deliveries`]), committed together with the other
    /// results waiting at the same time; the returned future resolves, with
    /// one result per delivery, once they are committed (or failed).
    pub fn finish_deliveries(
        &self,
        finishes: Vec<(String, Finish)>,
        claimer: Arc<str>,
        routes: Arc<[Route]>,
    ) -> impl Future<Output = Vec<Result<()>>> + Send + 'static {
        let (reply, result) = oneshot::channel();
        self.send(Job::Finish(Finishes {
            finishes,
            claimer,
            routes,
            reply,
        }));
        async move { result.await.expect("the store writer thread ran the job") }
    }

    fn send(&self, job: Job) {
        let sent = self.jobs.send(job);
        assert!(sent.is_ok(), "the store writer thread ended early");
    }
}

fn write_loop(
    mut store: Store,
    queue: &mpsc::Receiver<Job>,
    damage: &watch::Sender<Option<String>>,
) {
    let mut next: Option<Job> = None;
    loop {
        if let Some(met) = super::damage::take() {
            let message = super::StoreError::FileDamaged(met.clone()).to_string();
            tracing::error!("{message}");
            store.refuse_writes(met);
            damage.send_replace(Some(message));
        }
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(mpsc::RecvError) => return,
            },
        };
        match job {
            Job::Run(run) => run(&mut store),
            Job::Record(first, reply) => {
                let batch = gather((first, reply), queue, &mut next, |job| match job {
                    Job::Record(attempt, reply) => Ok((attempt, reply)),
                    other => Err(other),
                });
                let attempts: Vec<&AttemptRecord> = batch.iter().map(|(a, _)| &**a).collect();
                let results = store.record_attempts(&attempts);
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    // The caller may have gone away (shutdown); the write still happened.
                    let _ = reply.send(result);
                }
            }
            Job::Finish(first) => {
                let routes = Arc::clone(&first.routes);
                let claimer = Arc::clone(&first.claimer);
                let batch = gather(first, queue, &mut next, |job| {
                    routed_by(&routes, &claimer, job)
                });
                let mut finishes = Vec::new();
                let mut replies = Vec::with_capacity(batch.len());
                for message in batch {
                    replies.push((message.finishes.len(), message.reply));
                    finishes.extend(message.finishes);
                }
                let mut results = store
                    .finish_deliveries(&finishes, &claimer, &routes)
                    .into_iter();
                for (count, reply) in replies {
                    // The caller may have gone away (shutdown); the write still happened.
                    let _ = reply.send(results.by_ref().take(count).collect());
                }
            }
        }
    }
}

/// `job` if it is delivery results of `claimer` to record with `routes`.
/// Results routed by another configuration (after a reload) or sent by
/// another sender wait for a batch of their own.
fn routed_by(
    routes: &Arc<[Route]>,
    claimer: &Arc<str>,
    job: Job,
) -> std::result::Result<Finishes, Job> {
    match job {
        Job::Finish(more) if Arc::ptr_eq(&more.routes, routes) && more.claimer == *claimer => {
            Ok(more)
        }
        other => Err(other),
    }
}

/// `first` and the jobs queued right behind it that `take` accepts, up to
/// [`MAX_BATCH`]; the first job it refuses is left in `next`, to run after.
fn gather<T>(
    first: T,
    queue: &mpsc::Receiver<Job>,
    next: &mut Option<Job>,
    take: impl Fn(Job) -> std::result::Result<T, Job>,
) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv().map(&take) {
            Ok(Ok(item)) => batch.push(item),
            Ok(Err(other)) => {
                *next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finishes(routes: &Arc<[Route]>) -> Job {
        Job::Finish(Finishes {
            finishes: Vec::new(),
            claimer: Arc::from("me"),
            routes: Arc::clone(routes),
            reply: oneshot::channel().0,
        })
    }

    /// A batch takes the delivery results queued right behind the first
    /// that share its routes, and stops at the first job that does not: a
    /// `Run` job (which may read what the batch writes) or results routed by
    /// a reloaded configuration. That job is kept in `next`, not lost.
    #[test]
    fn a_batch_of_results_stops_at_other_routes_or_another_job() {
        let (routes, reloaded): (Arc<[Route]>, Arc<[Route]>) =
            (Arc::from(Vec::new()), Arc::from(Vec::new()));
        let (jobs, queue) = mpsc::channel();
        for job in [finishes(&routes), finishes(&reloaded), finishes(&routes)] {
            jobs.send(job).unwrap();
        }
        let mut next = None;
        let batch = gather(0, &queue, &mut next, |job| {
            routed_by(&routes, &Arc::from("me"), job).map(|_| 1)
        });
        assert_eq!(batch, [0, 1]);
        assert!(matches!(&next, Some(Job::Finish(f)) if Arc::ptr_eq(&f.routes, &reloaded)));
        // The results behind the refused job wait for a batch of their own.
        assert!(matches!(queue.try_recv(), Ok(Job::Finish(f)) if Arc::ptr_eq(&f.routes, &routes)));

        jobs.send(Job::Run(Box::new(|_| {}))).unwrap();
        jobs.send(finishes(&routes)).unwrap();
        let mut next = None;
        let batch = gather(0, &queue, &mut next, |job| {
            routed_by(&routes, &Arc::from("me"), job).map(|_| 1)
        });
        assert_eq!(batch, [0]);
        assert!(matches!(next, Some(Job::Run(_))));
        assert!(queue.try_recv().is_ok(), "the job behind stays queued");
    }

    /// Three messages' results, queued behind a busy writer so that they
    /// are written as one batch, each go back to their own caller, and the
    /// delivery the database refuses fails alone.
    #[tokio::test]
    async fn delivery_results_queued_together_are_each_answered_with_their_own() {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO events (id, record_id, source, kind, detected_at, summary)
                     VALUES (1, 1, 'a', 'content', '2026-11-29T00:00:00.000Z', 'changed');
                 INSERT INTO outbox (id, event_id, channel, created_at, next_attempt_at) VALUES
                     ('d1', 1, 'log', 't', 't'), ('d2', 1, 'hook', 't', 't'),
                     ('d3', 1, 'mail', 't', 't'), ('d4', 1, 'chat', 't', 't');
                 CREATE TRIGGER refuse AFTER UPDATE ON outbox WHEN NEW.id = 'd2'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        let (handle, thread) = StoreHandle::spawn(store);

        // Hold the writer until every message's results are queued.
        let (started, writer_busy) = oneshot::channel();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let holding = tokio::spawn({
            let handle = handle.clone();
            async move {
                handle
                    .call(move |_| {
                        started.send(()).unwrap();
                        gate.recv().unwrap();
                    })
                    .await
            }
        });
        writer_busy.await.unwrap();
        let routes: Arc<[Route]> = Arc::from(Vec::new());
        let me: Arc<str> = Arc::from("me");
        let finish = |ids: &[&str]| {
            let finishes = ids.iter().map(|id| (id.to_string(), Finish::Done));
            handle.finish_deliveries(finishes.collect(), Arc::clone(&me), Arc::clone(&routes))
        };
        let (first, second, third) = (finish(&["d1"]), finish(&["d2"]), finish(&["d3", "d4"]));
        release.send(()).unwrap();
        holding.await.unwrap();

        let answers = [first.await, second.await, third.await];
        let ok: Vec<Vec<bool>> = answers
            .iter()
            .map(|results| results.iter().map(Result::is_ok).collect())
            .collect();
        assert_eq!(ok, [vec![true], vec![false], vec![true, true]]);
        assert!(
            format!("{:?}", answers[1][0]).contains("refused by the test"),
            "{answers:?}"
        );

        let reader = handle
            .call(|store| {
                store
                    .conn()
                    .prepare("SELECT id, state FROM outbox ORDER BY id")
                    .unwrap()
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<(String, String)>>>()
                    .unwrap()
            })
            .await;
        assert_eq!(
            reader,
            [
                ("d1".into(), "done".into()),
                ("d2".into(), "pending".into()),
                ("d3".into(), "done".into()),
                ("d4".into(), "done".into())
            ]
        );
        drop(handle);
        thread.join().unwrap();
    }
}
