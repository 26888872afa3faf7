//! The evidence bundle the evidence page links to: made on request from
//! the whole database by `export`'s own code path (against the newest
//! signed checkpoint, which the daemon signs after each sweep), in a
//! process of its own (`scopewatch bundle-worker`) under a memory ceiling,
//! into a temporary directory, then zipped into an anonymous temporary
//! file (one with no name, so nothing is left behind whatever becomes of
//! the request) and streamed from it. Making a bundle takes bounded memory
//! whatever the history (`evidence::export`); the ceiling is a guard, and
//! in its own process a bundle that fails (out of memory, out of time)
//! fails that request with a message, never the daemon. One bundle is
//! made, or streamed, at a time; a request meanwhile is answered 503.

use std::io::{Seek, Write};
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::AppState;
use crate::clock;
use crate::evidence::export::{Format, Selection, write_signed};
use crate::evidence::{EvidenceError, Signer};
use crate::store::Store;

/// Where the bundle is downloaded from.
pub const PATH: &str = "/evidence/bundle.zip";

/// The longest the request may take to be answered (the router's limit
/// for this path): `export` of a database of 100,000 captures takes
/// minutes on two cores.
pub const TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The longest the bundle process may run before it is killed: within
/// [`TIMEOUT`], with a minute left to zip what it wrote.
const WORKER_TIME: Duration = Duration::from_secs(14 * 60);

/// The longest the one bundle slot is held while a bundle is sent: a
/// client that stops reading keeps its own connection, not the slot.
const SEND_TIME: Duration = Duration::from_secs(30 * 60);

/// The bundle process's memory ceiling (RLIMIT_DATA). `export` holds no
/// capture or ledger leaf beyond the one it writes, so a bundle of a year
/// of 1,000 sources peaks near 110 MB resident (docs/performance.md),
/// within this with room to spare for larger pages and more sources; it
/// keeps the process, the daemon and two extraction processes inside the
/// unit's `MemoryMax=1G`. What bounds the download of a long history now
/// is [`WORKER_TIME`] and the temporary directory's disk space.
pub const MEMORY: u64 = 512 << 20;

/// The most of the bundle process's output read back.
const MAX_REPORT: u64 = 64 << 10;

/// What the bundle process reports on its standard output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
enum Report {
    Written,
    NoKey,
    Damaged { message: String },
    Failed { message: String },
}

/// `GET /evidence/bundle.zip`.
pub async fn bundle(State(state): State<AppState>) -> Response {
    let Ok(permit) = state.exports.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "a bundle is being made or sent for another request; try again once it is done\n",
        )
            .into_response();
    };
    let key_file = state.config().and_then(|c| c.key_file.clone());
    let (file, permit) = match make(&state.database, key_file.as_deref(), permit).await {
        Ok(made) => made,
        Err(response) => return response,
    };
    let name = format!(
        "scopewatch-evidence-{}.zip",
        clock::now().format("%Y%m%dT%H%M%SZ")
    );
    let length = file.metadata().map(|m| m.len()).ok();
    // The slot is held until the last byte is sent, the client goes, or
    // [`SEND_TIME`] has passed.
    let (sent, sending) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _one_at_a_time = permit;
        let _ = tokio::time::timeout(SEND_TIME, sending).await;
    });
    let reader = Holding {
        file: tokio::fs::File::from_std(file),
        _sent: sent,
    };
    let stream = tokio_util::io::ReaderStream::new(reader);
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, length.into());
    }
    response
}

/// The zipped bundle's file; dropped (the body sent or abandoned), it frees
/// the one bundle slot.
struct Holding {
    file: tokio::fs::File,
    _sent: tokio::sync::oneshot::Sender<()>,
}

impl AsyncRead for Holding {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().file).poll_read(cx, buf)
    }
}

/// Logs why no bundle was made (`what` failed with `e`) and answers 500:
/// the reason may name paths of the server, which the client is not shown.
fn failed(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!("web: no evidence bundle: {what}: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "no bundle could be made; the server's log says why\n",
    )
        .into_response()
}

/// Runs the bundle process into a temporary directory, zips what it wrote
/// into an anonymous temporary file, removes the directory, and returns
/// the file, read from its start, with the bundle slot `permit` (held
/// until the zip is done even if the request is given up meanwhile); or
/// the response that says why not.
async fn make(
    database: &Path,
    key_file: Option<&Path>,
    permit: OwnedSemaphorePermit,
) -> Result<(std::fs::File, OwnedSemaphorePermit), Response> {
    let dir = tempfile::Builder::new()
        .prefix("scopewatch-bundle-")
        .tempdir()
        .map_err(|e| failed("a temporary directory", &e))?;
    let out = dir.path().join("bundle");
    // The key as this process finds it (its environment may name the
    // systemd credential; the bundle process's environment is empty).
    let report = match crate::evidence::checkpoint::existing_key_path(key_file, database) {
        Some(key) => run_worker(database, &key, &out).await?,
        None => Report::NoKey,
    };
    match report {
        Report::Written => {}
        Report::NoKey => {
            return Err((
                StatusCode::CONFLICT,
                "no signing key yet: `scopewatch check` or the daemon creates it with the first checkpoint\n",
            )
                .into_response());
        }
        Report::Damaged { message } => {
            return Err((StatusCode::CONFLICT, format!("no bundle: {message}\n")).into_response());
        }
        Report::Failed { message } => return Err(failed("the bundle process", &message)),
    }
    tokio::task::spawn_blocking(move || -> Result<_, String> {
        let mut zip = ZipWriter::new(tempfile::tempfile().map_err(|e| e.to_string())?);
        add_dir(&mut zip, &out, "scopewatch-evidence").map_err(|e| e.to_string())?;
        let mut file = zip.finish().map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        // The directory goes now; the zip has no name to leave behind.
        dir.close().map_err(|e| e.to_string())?;
        Ok((file, permit))
    })
    .await
    .map_err(|e| failed("zipping", &e))?
    .map_err(|e| failed("zipping", &e))
}

/// Starts `scopewatch bundle-worker` (this executable) on `database` and
/// waits for its report, killing it past [`WORKER_TIME`] (or when the
/// request is dropped).
async fn run_worker(database: &Path, key_file: &Path, out: &Path) -> Result<Report, Response> {
    // The running executable, even when an upgrade replaced the file.
    let mut command = tokio::process::Command::new(crate::isolation::this_executable());
    command
        .arg("--db")
        .arg(database)
        .arg("bundle-worker")
        .arg("--out")
        .arg(out)
        .arg("--memory")
        .arg(MEMORY.to_string())
        .arg("--key-file")
        .arg(key_file);
    // No secrets of the daemon's environment; a private temporary
    // directory is the caller's concern.
    command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| failed("starting the bundle process", &e))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let waited = tokio::time::timeout(WORKER_TIME, async {
        // All of it is read, so the process never blocks on a full pipe;
        // only the first MAX_REPORT bytes are kept.
        let mut report = Vec::new();
        let mut chunk = [0u8; 8192];
        let read = loop {
            match tokio::io::AsyncReadExt::read(&mut stdout, &mut chunk).await {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    let room = (MAX_REPORT as usize).saturating_sub(report.len());
                    report.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) => break Err(e),
            }
        };
        (read, child.wait().await, report)
    })
    .await;
    let Ok((read, status, report)) = waited else {
        return Err(failed(
            "the bundle process",
            &format!(
                "it took longer than {}",
                humantime::format_duration(WORKER_TIME)
            ),
        ));
    };
    read.map_err(|e| failed("the bundle process's report", &e))?;
    let status = status.map_err(|e| failed("the bundle process", &e))?;
    match serde_json::from_slice::<Report>(&report) {
        Ok(report) => Ok(report),
        Err(_) => Err(failed(
            "the bundle process",
            &format!(
                "it ended ({status}) without a report: it may have run out of its {} MiB of memory; make the bundle with `scopewatch export` where there is the memory for it",
                MEMORY >> 20
            ),
        )),
    }
}

/// `scopewatch bundle-worker`: writes the bundle of the whole database
/// into `out` under a data-segment ceiling of `memory` bytes, and reports
/// on standard output.
pub fn worker(
    database: &Path,
    out: &Path,
    key_file: Option<&Path>,
    memory: u64,
) -> anyhow::Result<()> {
    crate::isolation::worker::confine(memory)?;
    let report = match write_bundle(database, key_file, out) {
        Ok(true) => Report::Written,
        Ok(false) => Report::NoKey,
        Err(EvidenceError::Damaged(message)) => Report::Damaged { message },
        Err(e) => Report::Failed {
            message: e.to_string(),
        },
    };
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &report)?;
    stdout.flush()?;
    Ok(())
}

/// The bundle of the whole database, read-only, against its newest
/// checkpoint; `false` without a signing key.
fn write_bundle(
    database: &Path,
    key_file: Option<&Path>,
    out: &Path,
) -> Result<bool, EvidenceError> {
    let Some(signer) = Signer::existing(key_file, database)? else {
        return Ok(false);
    };
    let store = Store::open_reader(database)?;
    write_signed(&store, &signer, &Selection::default(), Format::Bundle, out)?;
    Ok(true)
}

/// Adds every file under `dir` to `zip` under `prefix`, in name order.
/// Already compressed files (`.gz`) are stored, the rest deflated.
fn add_dir(
    zip: &mut ZipWriter<std::fs::File>,
    dir: &Path,
    prefix: &str,
) -> Result<(), zip::result::ZipError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            add_dir(zip, &entry.path(), &name)?;
        } else if kind.is_file() {
            let method = if name.ends_with(".gz") {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            zip.start_file(
                name,
                SimpleFileOptions::default()
                    .compression_method(method)
                    .large_file(entry.metadata()?.len() >= u32::MAX as u64),
            )?;
            std::io::copy(&mut std::fs::File::open(entry.path())?, zip)?;
        }
    }
    zip.flush()?;
    Ok(())
}
