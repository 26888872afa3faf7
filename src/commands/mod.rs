//! One file per subcommand: each loads what it needs (configuration,
//! database), calls the library, and prints. Shared here: locating the
//! configuration and database, the exit status; output helpers are in
//! [`listing`].

/// `println!` for command output: a closed pipe (`scopewatch status | head`)
/// becomes an error the caller turns into exit 0, instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod alerts;
mod changes;
mod check;
mod config_check;
mod demo;
mod diff;
mod evidence;
mod history;
mod listing;
mod run;
mod scope;
mod serve;
mod show;
mod sources;
mod status;
mod verify;

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, ConfigCommand, KeyCommand};
use crate::config::{self, Config, defaults};
use crate::query::QueryError;
use crate::store::Store;
pub use listing::{cell, print_json, print_table, print_table_with_severity};

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Success,
    /// Exit 1: `check` finished but a source failed; `verify` found problems.
    Findings,
}

/// A mistake in how scopewatch was called or configured: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    let env = Env {
        config: cli.config.clone(),
        db: cli.db.clone(),
    };
    match cli.command {
        Command::Check(args) => check::run(&env, args),
        Command::Run => run::run(&env),
        Command::Sources(args) => sources::run(&env, args.json),
        Command::Status(args) => status::run(&env, args.json),
        Command::History(args) => history::run(&env, args),
        Command::Show(args) => show::run(&env, args),
        Command::Diff(args) => diff::run(&env, args),
        Command::Changes(args) => changes::run(&env, args),
        Command::Scope(args) => scope::run(&env, args),
        Command::Verify(args) => verify::run(&env, args),
        Command::Export(args) => evidence::export(&env, args),
        Command::Key(KeyCommand::Show) => evidence::key_show(&env),
        Command::Alerts(args) => alerts::run(&env, args),
        Command::Config(ConfigCommand::Check) => config_check::run(&env),
        Command::Serve(args) => serve::run(&env, args),
        Command::Demo => demo::run(),
        Command::ExtractWorker(args) => {
            crate::isolation::worker::serve(args.memory)?;
            Ok(Status::Success)
        }
        Command::BundleWorker(args) => {
            let database = env.database_path(None)?;
            crate::web::bundle_worker(&database, &args.out, args.key_file.as_deref(), args.memory)?;
            Ok(Status::Success)
        }
    }
}

/// Where the configuration and database are, from the command line.
pub struct Env {
    config: Option<PathBuf>,
    db: Option<PathBuf>,
}

impl Env {
    /// The configuration; an error (exit 2) when it is missing or invalid.
    pub fn config(&self) -> anyhow::Result<Config> {
        let path = config::locate(self.config.as_deref());
        config::load(&path).map_err(|e| UsageError(e.to_string()).into())
    }

    /// The configuration when one was named or exists at the default place,
    /// without its alert channels: commands that only read the database work
    /// without one, and outside the service, where secrets such as
    /// `${CREDENTIALS_DIRECTORY}` files cannot be read.
    pub fn optional_config(&self) -> anyhow::Result<Option<Config>> {
        let path = config::locate(self.config.as_deref());
        let named = self.config.is_some() || std::env::var_os("SCOPEWATCH_CONFIG").is_some();
        if named || path.exists() {
            config::load_with(&path, config::AlertChannels::Skip)
                .map(Some)
                .map_err(|e| UsageError(e.to_string()).into())
        } else {
            Ok(None)
        }
    }

    /// The database path: `--db`, `[storage] database`, `$STATE_DIRECTORY`,
    /// the service's database when the configuration is the service's,
    /// then the platform data directory.
    pub fn database_path(&self, config: Option<&Config>) -> anyhow::Result<PathBuf> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        if let Some(db) = config.and_then(|c| c.database.clone()) {
            return Ok(db);
        }
        let state_directory = std::env::var_os("STATE_DIRECTORY");
        default_database(
            config.map(|c| c.path.as_path()),
            state_directory.as_deref(),
            dirs::data_dir(),
        )
        .ok_or_else(|| {
            UsageError("no database path: pass --db FILE or set [storage] database".into()).into()
        })
    }

    /// Opens the database (creating it when new).
    pub fn open_store(&self, config: Option<&Config>) -> anyhow::Result<Store> {
        let path = self.database_path(config)?;
        Store::open(&path).map_err(|e| UsageError(e.to_string()).into())
    }

    /// Opens an existing database for reading; a missing one is a usage error.
    pub fn open_existing_store(&self) -> anyhow::Result<(Option<Config>, Store)> {
        let config = self.optional_config()?;
        let path = self.database_path(config.as_ref())?;
        if !path.exists() {
            return Err(UsageError(format!(
                "no database at {}: run `scopewatch check` first, or pass --db FILE",
                path.display()
            ))
            .into());
        }
        let store = Store::open(&path).map_err(|e| UsageError(e.to_string()))?;
        Ok((config, store))
    }
}

/// Refuses (exit 2) a `--source` that names no source the database has
/// recorded or the configuration lists (see
/// [`crate::query::require_known_sources`]).
pub fn require_known_sources(
    store: &Store,
    config: Option<&Config>,
    ids: &[String],
) -> anyhow::Result<()> {
    crate::query::require_known_sources(store, config, ids).map_err(query_error)
}

/// A query's error as the CLI reports it: a bad argument or a name that
/// matches nothing is a usage error (exit 2); a database error is a runtime error (exit 1).
fn query_error(e: QueryError) -> anyhow::Error {
    match e {
        QueryError::Invalid(message) | QueryError::NotFound(message) => UsageError(message).into(),
        QueryError::InvalidField { field, message } => {
            UsageError(format!("--{field}: {message}")).into()
        }
        QueryError::Store(e) => e.into(),
    }
}

/// The database when neither `--db` nor `[storage] database` names one:
/// under `$STATE_DIRECTORY` inside the service; from a shell, the service's
/// own database when the configuration is the service's
/// (`/etc/scopewatch/scopewatch.toml`), so `sudo scopewatch status` reads
/// what the daemon writes instead of starting a second evidence trail;
/// else under the platform data directory.
fn default_database(
    config: Option<&Path>,
    state_directory: Option<&std::ffi::OsStr>,
    data_dir: Option<PathBuf>,
) -> Option<PathBuf> {
    // systemd may list several directories, separated by ':'.
    let first_state_dir = state_directory
        .map(|dirs| {
            dirs.to_string_lossy()
                .split(':')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|first| !first.is_empty());
    if let Some(dir) = first_state_dir {
        return Some(Path::new(&dir).join(defaults::DATABASE_FILE));
    }
    if config == Some(Path::new(defaults::SYSTEM_CONFIG)) {
        return Some(Path::new(defaults::SERVICE_STATE_DIR).join(defaults::DATABASE_FILE));
    }
    data_dir.map(|dir| dir.join("scopewatch").join(defaults::DATABASE_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_configuration_finds_the_service_database_from_a_shell() {
        let data = Some(PathBuf::from("/home/u/.local/share"));
        let system = Some(Path::new(defaults::SYSTEM_CONFIG));
        assert_eq!(
            default_database(system, None, data.clone()),
            Some(PathBuf::from("/var/lib/scopewatch/scopewatch.db"))
        );
        // Inside the service, its state directory.
        assert_eq!(
            default_database(system, Some("/srv/a:/srv/b".as_ref()), data.clone()),
            Some(PathBuf::from("/srv/a/scopewatch.db"))
        );
        // Any other configuration: the user's own database.
        assert_eq!(
            default_database(
                Some(Path::new("config/scopewatch.toml")),
                None,
                data.clone()
            ),
            Some(PathBuf::from(
                "/home/u/.local/share/scopewatch/scopewatch.db"
            ))
        );
        assert_eq!(
            default_database(None, Some("".as_ref()), data),
            Some(PathBuf::from(
                "/home/u/.local/share/scopewatch/scopewatch.db"
            ))
        );
        assert_eq!(default_database(None, None, None), None);
    }
}
