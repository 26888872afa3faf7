//! The single writer: one thread owns the write connection and runs jobs
//! sent from async tasks, so blocking SQLite work never runs on the async
//! workers and writes are serialised without lock contention.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::Store;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A cloneable handle to the writer thread. The thread ends, after running
/// every job already sent, when the last handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
}

impl StoreHandle {
    /// Moves `store` to a new writer thread.
    pub fn spawn(mut store: Store) -> (StoreHandle, JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                for job in queue {
                    job(&mut store);
                }
            })
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
        let sent = self.jobs.send(Box::new(move |store: &mut Store| {
            // The caller may have gone away (shutdown); the write still happened.
            let _ = reply.send(job(store));
        }));
        assert!(sent.is_ok(), "the store writer thread ended early");
        result.await.expect("the store writer thread ran the job")
    }
}
