//! `scopewatch run`: the daemon (see `crate::daemon`). Exit 0 after a stop
//! signal; exit 2 when it cannot start as configured, or when the database
//! file is found damaged.

use super::{Env, Status, UsageError};
use crate::daemon::{self, DaemonError};

pub fn run(env: &Env) -> anyhow::Result<Status> {
    let config = env.config()?;
    daemon::refuse_without_sources(&config).map_err(exit_error)?;
    let database = env.database_path(Some(&config))?;
    daemon::run(config, &database).map_err(exit_error)?;
    Ok(Status::Success)
}

/// A daemon that would not start is a usage error (exit 2); one that
/// failed running is a runtime error.
fn exit_error(error: DaemonError) -> anyhow::Error {
    match error {
        DaemonError::Refused(message) => UsageError(message).into(),
        DaemonError::Failed(e) => e,
    }
}
