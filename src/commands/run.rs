//! `scopewatch run`: the daemon (see `crate::daemon`). Exit 0 after a stop
//! signal; exit 2 when it cannot start as configured, or when the database
//! file is found damaged.

use super::{Env, Status, UsageError};
use crate::daemon::{self, DaemonError};

pub fn run(env: &Env) -> anyhow::Result<Status> {
    let config = env.config()?;
    let database = env.database_path(Some(&config))?;
    match daemon::run(config, &database) {
        Ok(()) => Ok(Status::Success),
        Err(DaemonError::Refused(message)) => Err(UsageError(message).into()),
        Err(DaemonError::Failed(e)) => Err(e),
    }
}
