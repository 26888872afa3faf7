//! Test support: an HTTP server on 127.0.0.1 that the tests start and
//! script themselves, the real corpus pages rendered as the live site
//! would serve them (with chrome that changes on every request), and a
//! harness that runs sweeps into a temporary database. No test reaches
//! any address outside 127.0.0.0/8.

pub mod bundle;
pub mod matrix;
pub mod scope_changes;
pub mod server;
pub mod smtp;
pub mod tsa;

use std::path::{Path, PathBuf};
use std::time::Duration;

use scopewatch::app::{App, SweepRequest};
use scopewatch::config::{self, Config};
use scopewatch::isolation::Extractor;
use scopewatch::store::Store;
use scopewatch::sweep::SweepReport;

/// A configuration and a database in a temporary directory, swept as
/// `check` sweeps.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

impl Harness {
    /// Parses `config` (TOML); `[storage]` is pointed at a temporary database.
    pub fn new(config_text: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scopewatch.toml");
        let text = format!("[storage]\ndatabase = \"scopewatch.db\"\n{config_text}");
        std::fs::write(&path, &text).unwrap();
        let config = config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        Harness { dir, config }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("scopewatch.db")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("scopewatch.toml")
    }

    /// The machinery `check` builds, over the harness's database.
    pub fn app(&self) -> App {
        App::open_with_extractor(
            self.config.clone(),
            Store::open(&self.db_path()).unwrap(),
            env!("CARGO_BIN_EXE_scopewatch").into(),
        )
        .unwrap()
    }

    /// One sweep over every configured source, as `check` makes it.
    pub async fn sweep(&self) -> SweepReport {
        let app = self.app();
        let report = app.sweep(SweepRequest::quiet(&self.config.sources)).await;
        app.close().unwrap();
        report
    }

    /// One round of alert deliveries, as `check` runs before it exits.
    pub async fn dispatch(&self) -> scopewatch::alert::RoundReport {
        let app = self.app();
        let report = app.dispatcher().round().await;
        app.close().unwrap();
        report
    }

    /// A read connection to the database.
    pub fn store(&self) -> Store {
        Store::open(&self.db_path()).unwrap()
    }
}

/// Extraction processes under `config`'s `[limits]`: the scopewatch binary
/// (this test binary cannot serve as one).
pub fn extractor(config: &Config) -> Extractor {
    Extractor::new(
        env!("CARGO_BIN_EXE_scopewatch").into(),
        config.limits.clone(),
    )
}

/// The scopewatch binary with `--config config`, cut off from the
/// environment variables that would point it elsewhere (another config,
/// a systemd state or credentials directory, a notify socket).
pub fn scopewatch_command(config: &Path) -> std::process::Command {
    let mut command = scopewatch_bare();
    command.arg("--config").arg(config);
    command
}

/// The scopewatch binary without arguments, cut off from the environment
/// variables that would point it elsewhere or change how it prints (the
/// terminal width, colour).
pub fn scopewatch_bare() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scopewatch"));
    for var in [
        "SCOPEWATCH_CONFIG",
        "STATE_DIRECTORY",
        "CREDENTIALS_DIRECTORY",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "COLUMNS",
        "NO_COLOR",
        "CLICOLOR_FORCE",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs `scopewatch --config config ARGS...` to completion.
pub fn scopewatch(config: &Path, args: &[&str]) -> std::process::Output {
    scopewatch_command(config).args(args).output().unwrap()
}

/// What [`check_measured`] saw.
pub struct Measured {
    pub code: i32,
    /// The peak resident set of `check` and of every process it started
    /// (its extraction processes), added up, in KiB.
    pub peak_kib: u64,
    pub took: Duration,
}

/// Runs `scopewatch check` on `config` and measures its memory: VmHWM of
/// /proc/PID/status of the process and of each of its descendants, read
/// every 2 ms while it runs, each process's highest value added up (an
/// upper bound of their peak together). wait4's ru_maxrss would not do:
/// Linux carries the parent's high-water mark across fork and exec into the
/// child's, and keeps the largest child's only.
pub fn check_measured(config: &Path) -> Measured {
    let started = std::time::Instant::now();
    let mut child = scopewatch_command(config)
        .arg("check")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut peaks: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    loop {
        // Read before reaping: the pids are ours until wait returns.
        for pid in process_tree(child.id()) {
            let peak = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                });
            if let Some(kib) = peak {
                let seen = peaks.entry(pid).or_default();
                *seen = (*seen).max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return Measured {
                code: status.code().expect("check exits, it is not killed"),
                peak_kib: peaks.values().sum(),
                took: started.elapsed(),
            };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `pid` and its descendants, as /proc lists them now.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                tree.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    tree
}

/// A command's standard output, lossily decoded.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A command's standard error, lossily decoded.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output then standard error, for assertions on either.
pub fn output_text(output: &std::process::Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// Standard output parsed as JSON; the output is shown when it is not.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// Waits for `child` to exit, at most `limit`; a child still running then
/// is killed and the test fails with `what` and its output.
pub fn exit_within(
    mut child: std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("{what}: {}", output_text(&out));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    child.wait_with_output().unwrap()
}

/// Sends `signal` to a child process.
pub fn signal(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) with our child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Two sources swept four times with `check`: `iso` unchanged, `flaky`
/// failing on its second fetch. Returns the harness and the server.
pub fn history() -> (Harness, server::Server) {
    use server::{Reply, Server};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = AtomicUsize::new(0);
    let server = Server::start(move |req| match req.path.as_str() {
        "/flaky" if hits.fetch_add(1, Ordering::SeqCst) == 1 => Reply::status(500),
        "/flaky" => Reply::html("<main><p>SOC 2 Type 2: Azure Bot Service</p></main>"),
        _ => Reply::html("<main><h1>ISO/IEC 27001</h1><p>In scope</p></main>"),
    });
    let h = Harness::new(&format!(
        "{}[[source]]\nid = \"iso\"\nurl = \"{}\"\n[[source]]\nid = \"flaky\"\nurl = \"{}\"\n",
        FAST_HTTP.replace("retries = 2", "retries = 0"),
        server.url("/iso"),
        server.url("/flaky")
    ));
    for _ in 0..4 {
        scopewatch(&h.config_path(), &["check"]);
    }
    (h, server)
}

/// `export --out bundle` in the harness directory, which must succeed;
/// returns the bundle.
pub fn export_bundle(h: &Harness) -> PathBuf {
    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    bundle
}

/// Signs a bundle's checkpoint 1 again with `other`, as someone holding
/// another key would: its JSON, signed text and signature agree.
pub fn re_sign_bundle_checkpoint(bundle: &Path, other: &scopewatch::evidence::Signer) {
    let stem = bundle.join("ledger/checkpoints/000001");
    let json_path = stem.with_extension("json");
    let mut checkpoint: scopewatch::evidence::Checkpoint =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    checkpoint.key_id = other.key_id();
    let signature = other.sign(checkpoint.text().as_bytes());
    checkpoint.signature = hex::encode(signature);
    std::fs::write(&json_path, serde_json::to_vec(&checkpoint).unwrap()).unwrap();
    std::fs::write(stem.with_extension("txt"), checkpoint.text()).unwrap();
    std::fs::write(stem.with_extension("sig"), signature).unwrap();
}

/// HTTP settings that keep retries fast in tests.
pub const FAST_HTTP: &str = "[http]\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\nbackoff = \"10ms\"\nbackoff_max = \"50ms\"\nhost_delay = \"0s\"\nretries = 2\n";

/// A `[[source]]` block for the live-site chrome the test pages carry.
pub fn html_source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{url}\"\ncontent = [\"main\"]\nignore = [\".feedback\", \"time\"]\n{extra}\n"
    )
}

/// The directory of a corpus source copied into the fixtures.
pub fn corpus_dir(source: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(source)
}

/// The dated versions of a corpus source, in date order (file names sort so).
pub fn corpus_versions(source: &str) -> Vec<(String, String)> {
    markdown_files(&corpus_dir(source))
}

/// The Markdown files of a directory, in file-name order: (name, text).
pub fn markdown_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Flips one byte near the end of the stored blob `hash`, as someone
/// editing the database file would.
pub fn flip_blob_byte(conn: &rusqlite::Connection, hash: &str) {
    let mut data: Vec<u8> = conn
        .query_row("SELECT data FROM blobs WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .unwrap();
    let last = data.len() - 5;
    data[last] ^= 0x01;
    conn.execute(
        "UPDATE blobs SET data = ?1 WHERE hash = ?2",
        rusqlite::params![data, hash],
    )
    .unwrap();
}
