//! Arguments to exit code; everything else is in the library.
//!
//! Exit codes: 0 success; 1 `check` finished but a source failed (or
//! `verify` found problems, or a runtime error); 2 usage or configuration error.

use std::process::ExitCode;

use clap::Parser;
use scopewatch::cli::{Cli, Command, LogFormat};
use scopewatch::commands::{self, Status, UsageError};
use scopewatch::logging::{self, LogStyle};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(&cli);
    match commands::dispatch(cli) {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::Findings) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scopewatch: {e:#}");
            ExitCode::from(if e.is::<UsageError>() { 2 } else { 1 })
        }
    }
}

/// Logs go to standard error: `info` for the daemon, `warn` otherwise.
fn init_logging(cli: &Cli) {
    let default = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    logging::init(LogStyle::detect(cli.log_format == LogFormat::Json), default);
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
