//! The single writer: one thread owns the write connection and runs jobs
//! sent from async tasks, so blocking SQLite work never runs on the async
//! workers and writes are serialised without lock contention.
//!
//! Writes ([`BatchedWrite`]: an attempt's record, a delivery's result) are
//! group-committed: those waiting in the queue when the writer gets to them
//! are written in one transaction; one that fails rolls back alone (see
//! [`Store::write_each`]), and none is told it is written before the
//! transaction holding it has committed. When the writer keeps up, a batch
//! is one write; when it falls behind, one commit (and one write of the
//! pages every write touches) serves many. A batch that cannot be
//! committed at all fails every write in it.
//!
//! Once any job meets a damaged file (`SQLITE_CORRUPT`, `SQLITE_NOTADB`),
//! the writer refuses every write after it and says so to every handle
//! ([`StoreHandle::damage`]): `check` and `run` stop and exit 2.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use super::{Result, Store, Writes};

/// The most writes committed together.
const MAX_BATCH: usize = 128;

/// One unit of work the writer commits in a batch with the others queued
/// behind it. What it writes is its own (see `record`); the store only
/// runs it in the batch's transaction.
pub trait BatchedWrite: Send {
    /// Writes this unit in the batch's transaction. When the batch is
    /// written again item by item (an item or the commit failed), it runs
    /// again in its own savepoint: it must keep nothing of an earlier run.
    fn write(&mut self, writes: &mut Writes<'_>) -> Result<()>;
    /// Told once what became of it: `Ok` once its transaction committed.
    fn settle(self: Box<Self>, written: Result<()>);
}

enum Job {
    Run(Box<dyn FnOnce(&mut Store) + Send>),
    Write(Box<dyn BatchedWrite>),
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

    /// Queues `write`, to be committed with the other writes waiting at
    /// the same time; it is settled once committed (or failed).
    pub fn write(&self, write: Box<dyn BatchedWrite>) {
        self.send(Job::Write(write));
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
            Job::Write(first) => {
                let mut batch = gather(first, queue, &mut next, |job| match job {
                    Job::Write(write) => Ok(write),
                    other => Err(other),
                });
                let results = store.write_each(&mut batch, |writes, write| write.write(writes));
                for (write, written) in batch.into_iter().zip(results) {
                    write.settle(written);
                }
            }
        }
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

    /// A write that notes it was settled, and how.
    struct Noted(std::sync::mpsc::Sender<bool>);

    impl BatchedWrite for Noted {
        fn write(&mut self, _: &mut Writes<'_>) -> Result<()> {
            Ok(())
        }
        fn settle(self: Box<Self>, written: Result<()>) {
            self.0.send(written.is_ok()).unwrap();
        }
    }

    /// A batch takes the writes queued right behind the first, and stops
    /// at the first job that is not one: a `Run` job may read what the
    /// batch writes. That job is kept in `next`, not lost.
    #[test]
    fn a_batch_of_writes_stops_at_another_job() {
        let (jobs, queue) = mpsc::channel();
        let (noted, _) = std::sync::mpsc::channel();
        for _ in 0..2 {
            jobs.send(Job::Write(Box::new(Noted(noted.clone()))))
                .unwrap();
        }
        jobs.send(Job::Run(Box::new(|_| {}))).unwrap();
        jobs.send(Job::Write(Box::new(Noted(noted)))).unwrap();
        let mut next = None;
        let batch = gather(0, &queue, &mut next, |job| match job {
            Job::Write(_) => Ok(1),
            other => Err(other),
        });
        assert_eq!(batch, [0, 1, 1]);
        assert!(matches!(next, Some(Job::Run(_))));
        assert!(
            matches!(queue.try_recv(), Ok(Job::Write(_))),
            "the write behind stays queued"
        );
    }
}
