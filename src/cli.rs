//! Command-line definitions (clap). The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::scope::Severity;

/// Audit-evidence collector: snapshots the compliance pages your audits rely
/// on, keeps a hash-chained history in SQLite, and reports what changed.
#[derive(Debug, Parser)]
#[command(name = "scopewatch", version, about, max_term_width = 100)]
pub struct Cli {
    /// Configuration file [default: $SCOPEWATCH_CONFIG, then /etc/scopewatch/scopewatch.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database file [default: [storage] database, then $STATE_DIRECTORY/scopewatch.db, then the platform data directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Log line format on standard error
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One sweep now (fetch, store, detect), then exit; exit 1 if a source failed
    Check(CheckArgs),
    /// The daemon: scheduled sweeps until SIGTERM or SIGINT; SIGHUP reloads the configuration
    Run,
    /// Whether a daemon is running on the database, its heartbeat, next sweep and failing sources
    Status(JsonArg),
    /// Watched sources: id, url, state, last checked, last changed, fetches that gave a page
    Sources(JsonArg),
    /// Records of one source (every attempt, failures too), newest first
    History(HistoryArgs),
    /// The normalised text (or the raw body) of a snapshot
    Show(ShowArgs),
    /// Unified diff of normalised text [default: the last two distinct versions]
    Diff(DiffArgs),
    /// Events (baseline, content, scope, failing, gone, ...) with their severity, newest first
    Changes(ChangesArgs),
    /// Scope statements: which services are in scope of which certification
    Scope(ScopeArgs),
    /// Recompute every record hash, chain link, blob hash, ledger entry and
    /// signed checkpoint, or check an exported bundle; exit 1 on findings
    Verify(VerifyArgs),
    /// Write an evidence bundle an auditor can check with standard tools
    Export(ExportArgs),
    /// The checkpoint signing key
    #[command(subcommand)]
    Key(KeyCommand),
    /// Alert deliveries [default: all, newest first]; `alerts test` sends a test alert
    Alerts(AlertsArgs),
    /// Configuration commands
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Serve the read-only web view, JSON API and metrics [default: [web] listen, then 127.0.0.1:8719]
    Serve(ServeArgs),
    /// Offline tour: replays bundled real versions of Microsoft compliance pages through the real pipeline
    Demo,
    /// An extraction process, started by scopewatch itself: reads pages on
    /// standard input and writes what they yield on standard output
    #[command(hide = true, name = "extract-worker")]
    ExtractWorker(ExtractWorkerArgs),
    /// A bundle process, started by the web view for its download: writes
    /// the evidence bundle of the whole database (`--db`) into a directory,
    /// under a memory ceiling
    #[command(hide = true, name = "bundle-worker")]
    BundleWorker(BundleWorkerArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen instead of [web] listen: IP:PORT, or unix:/path for a reverse proxy; off loopback, [web] token_file is required
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct BundleWorkerArgs {
    /// The directory to write the bundle into (it must not exist)
    #[arg(long)]
    pub out: PathBuf,
    /// The signing key file ([evidence] key_file), if the configuration names one
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// The process's memory ceiling (RLIMIT_DATA), in bytes
    #[arg(long)]
    pub memory: u64,
}

#[derive(Debug, Args)]
pub struct ExtractWorkerArgs {
    /// The process's memory ceiling (RLIMIT_DATA), in bytes
    #[arg(long)]
    pub memory: u64,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// Only deliveries still to be sent
    #[arg(long, conflicts_with = "failed")]
    pub pending: bool,
    /// Only deliveries that failed for good (after max_attempts)
    #[arg(long)]
    pub failed: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert through each channel; print whether each accepted it
    Test {
        /// Only this channel
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these sources (repeatable)
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// Only list sources with an event of at least this severity (low, medium, high)
    #[arg(long, value_name = "LEVEL", value_parser = Severity::parse)]
    pub severity: Option<Severity>,
    /// Print the outcome of each source as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Source id
    pub source: String,
    /// At most this many records
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Snapshot id: a record id from `history` (column RECORD); with --at, a source id
    pub snapshot: String,
    /// The source's snapshot as it was at this time: its last successful fetch then (RFC 3339, a date meaning 00:00 UTC, or a duration ago)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The body exactly as received instead of the normalised text
    #[arg(long)]
    pub raw: bool,
    /// Print the snapshot's record and its normalised text as JSON
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Source id
    pub source: String,
    /// Older snapshot id
    #[arg(conflicts_with_all = ["from_time", "to_time"])]
    pub from: Option<i64>,
    /// Newer snapshot id [default: the source's latest snapshot]
    pub to: Option<i64>,
    /// The older side: the source's snapshot at this time (RFC 3339, a date meaning 00:00 UTC, or a duration ago)
    #[arg(long = "from", value_name = "TIME", requires = "to_time")]
    pub from_time: Option<String>,
    /// The newer side: the source's snapshot at this time
    #[arg(long = "to", value_name = "TIME")]
    pub to_time: Option<String>,
    /// Mark the changed words within changed lines: [-removed-] and {+added+}
    #[arg(long)]
    pub word: bool,
    /// Print both snapshots' records and the diff as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Only events at or after this time (RFC 3339, a date, or a duration ago such as 7d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only these sources (repeatable)
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// Only these kinds of event (repeatable)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only events of at least this severity (low, medium, high)
    #[arg(long, value_name = "LEVEL", value_parser = Severity::parse)]
    pub severity: Option<Severity>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScopeArgs {
    #[command(subcommand)]
    pub command: Option<ScopeCommand>,
    /// Only these sources (repeatable)
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// Only services whose name holds these words ("bot service" finds "Azure Bot Service", "Exchange Online" also "Exchange Online (GCC)")
    #[arg(long)]
    pub service: Option<String>,
    /// Only certifications whose name holds these words, ignoring case, punctuation, "/IEC" and a year ("ISO 27001" finds "ISO/IEC 27001:2013")
    #[arg(long)]
    pub certification: Option<String>,
    /// The scope as known at this time (RFC 3339, a date, or a duration ago) [default: now]
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Cross-check claim sources (kind certifications/pattern) against statement sources; exit 1 when a claim is unsupported
    #[arg(long, conflicts_with_all = ["service", "certification", "at", "sources"])]
    pub check_claims: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// When services entered, left or were renamed in which certification's scope, oldest first
    History(ScopeHistoryArgs),
}

#[derive(Debug, Args)]
pub struct ScopeHistoryArgs {
    /// Only this service (matched as `scope --service` is) [default: every service]
    #[arg(long)]
    pub service: Option<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An exported bundle directory [default: the live database]; with --config its WARC bodies are re-extracted
    pub bundle: Option<PathBuf>,
    /// The public key (PEM) signatures must verify with [default: the bundle's public-key.pem, or the store's signing key]
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A checkpoint from an earlier bundle (ledger/checkpoints/NNNNNN.json or .txt): prove BUNDLE's log extends it
    #[arg(long, value_name = "OLD_CHECKPOINT_FILE", requires = "bundle")]
    pub since_checkpoint: Option<PathBuf>,
    /// Check only the newest checkpoint interval, in time that grows with it, not the history: its ledger entries and the records, blobs and events they log (hashes, links, re-extraction, as the full verify), both checkpoints' signatures and timestamps, and that the newest extends the previous (the previous one's saved Merkle edge, used only if it recombines to its signed root, extended by the entries since, gives the newest signed root). Earlier entries and records are not read again: only the full verify recomputes them
    #[arg(long, conflicts_with_all = ["bundle", "since_checkpoint"])]
    pub last_checkpoint: bool,
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to write the bundle to (created; must be empty if it exists)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only captures that finished at or after this time (RFC 3339, a date, or a duration ago such as 30d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only captures that finished before this time
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only these sources (repeatable)
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// `wacz` also writes DIR/archive.wacz (WACZ 1.1.1, for replay)
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::evidence::export::Format,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the public key (PEM) to pin; creates the key when there is none
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration; exit 0 when valid, 2 when not
    Check,
}
