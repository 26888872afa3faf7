//! `scopewatch serve`: the web view, JSON API and metrics (see
//! `crate::web`) on their own, beside a daemon or without one, until
//! SIGTERM or SIGINT. The address it listens on is printed once bound.

use std::io::Write as _;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::{Env, Status, UsageError};
use crate::config::web::{Listen, WebSettings};
use crate::web::{self, Readiness};

pub fn run(env: &Env, args: crate::cli::ServeArgs) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let database = env.database_path(config.as_ref())?;
    let mut settings: WebSettings = config
        .as_ref()
        .and_then(|c| c.web.clone())
        .unwrap_or_default();
    if let Some(listen) = &args.listen {
        settings.listen =
            Listen::parse(listen).map_err(|e| UsageError(format!("--listen: {e}")))?;
    }
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let configs = config.map(|c| tokio::sync::watch::channel(Arc::new(c)).1);
        let bound = web::bind(
            &settings,
            &database,
            configs,
            Readiness::Database(web::DATABASE_HEARTBEAT_WITHIN),
        )
        .await
        .map_err(|e| UsageError(e.to_string()))?;
        tracing::info!("serving on {}", bound.address);
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", bound.address)?;
            out.flush()?;
        }
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        bound
            .serve(async move {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            })
            .await?;
        anyhow::Ok(())
    })?;
    Ok(Status::Success)
}
