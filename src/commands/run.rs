//! `scopewatch run`: the daemon. Stops on SIGTERM or SIGINT: no new
//! fetches start, writes in flight finish, exit 0.

use std::sync::Arc;

use super::{Env, Status};
use crate::daemon;
use crate::fetch::Fetcher;
use crate::store::StoreHandle;
use crate::sweep::Sweeper;

pub fn run(env: &Env) -> anyhow::Result<Status> {
    let config = env.config()?;
    let store = env.open_store(Some(&config))?;
    let fetcher = Fetcher::new(&config.http)?;
    let (store, writer) = StoreHandle::spawn(store);
    let sweeper = Sweeper {
        config: Arc::new(config),
        fetcher: Arc::new(fetcher),
        store,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let dispatcher =
            crate::alert::Dispatcher::new(&sweeper.config.alerts, sweeper.store.clone())?;
        let (sweeping_tx, sweeping) = tokio::sync::watch::channel(false);
        let dispatcher = tokio::spawn(dispatcher.run(stop.clone(), sweeping));
        let scheduler = tokio::spawn(daemon::run(sweeper, stop, sweeping_tx));
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        }
        let _ = stop_tx.send(true);
        scheduler.await?;
        dispatcher.await?;
        anyhow::Ok(())
    })?;
    drop(runtime);
    writer.join().expect("the store writer finished its jobs");
    tracing::info!("stopped");
    Ok(Status::Success)
}
