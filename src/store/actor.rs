//! The single writer: one thread owns the write connection and runs jobs
//! sent from async tasks, so blocking SQLite work never runs on the async
//! workers and writes are serialised without lock contention.
//!
//! Recording attempts is group-committed: the attempts waiting in the
//! queue when the writer gets to them are written in one transaction, each
//! in its own savepoint, so one that fails rolls back alone, and none is
//! reported recorded before the transaction holding it has committed. When
//! the writer keeps up, a batch is one attempt; when it falls behind, one
//! commit (and one write of the pages every attempt touches) serves many.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{AttemptRecord, Recorded, Result, Store};

/// The most attempts committed together.
const MAX_BATCH: usize = 128;

enum Job {
    Run(Box<dyn FnOnce(&mut Store) + Send>),
    Record(Box<AttemptRecord>, oneshot::Sender<Result<Recorded>>),
}

/// A cloneable handle to the writer thread. The thread ends, after running
/// every job already sent, when the last handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
}

impl StoreHandle {
    /// Moves `store` to a new writer thread.
    pub fn spawn(store: Store) -> (StoreHandle, JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(store, &queue))
            .expect("the OS can start a thread");
        (StoreHandle { jobs }, thread)
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

    fn send(&self, job: Job) {
        let sent = self.jobs.send(job);
        assert!(sent.is_ok(), "the store writer thread ended early");
    }
}

fn write_loop(mut store: Store, queue: &mpsc::Receiver<Job>) {
    let mut next: Option<Job> = None;
    loop {
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
                let mut batch = vec![(first, reply)];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(Job::Record(attempt, reply)) => batch.push((attempt, reply)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let attempts: Vec<&AttemptRecord> = batch.iter().map(|(a, _)| &**a).collect();
                let results = store.record_attempts(&attempts);
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    // The caller may have gone away (shutdown); the write still happened.
                    let _ = reply.send(result);
                }
            }
        }
    }
}
