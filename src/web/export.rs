//! The evidence bundle the evidence page links to: made on request from
//! the whole database by `export`'s own code path (against the newest
//! signed checkpoint, which the daemon signs after each sweep), in a
//! temporary directory, zipped into an anonymous temporary file (one with
//! no name, so nothing is left behind whatever becomes of the request)
//! and streamed from it. One bundle is made at a time; a request meanwhile
//! is answered 503.

use std::io::{Seek, Write};
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::AppState;
use crate::clock;
use crate::evidence::export::{Format, Selection, write_signed};
use crate::evidence::{EvidenceError, Signer};
use crate::store::Store;

/// Where the bundle is downloaded from.
pub const PATH: &str = "/evidence/bundle.zip";

/// The longest making a bundle may take before the request is given up
/// (instead of the ten seconds of every other request): `export` of a
/// database of 100,000 captures takes minutes on two cores. The bundle
/// being made still holds the one slot until it is done.
pub const TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Why no bundle was made.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(
        "no signing key yet: `scopewatch check` or the daemon creates it with the first checkpoint"
    )]
    NoKey,
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("cannot write the bundle's temporary files: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot zip the bundle: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// `GET /evidence/bundle.zip`.
pub async fn bundle(State(state): State<AppState>) -> Response {
    let Ok(permit) = state.exports.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "a bundle is being made for another request; try again once it is done\n",
        )
            .into_response();
    };
    let database = state.database.clone();
    let key_file = state.config().and_then(|c| c.key_file.clone());
    let made = tokio::task::spawn_blocking(move || {
        let _one_at_a_time = permit;
        make(&database, key_file.as_deref())
    })
    .await;
    let file = match made {
        Ok(Ok(file)) => file,
        Ok(Err(ExportError::NoKey)) => {
            return (StatusCode::CONFLICT, format!("{}\n", ExportError::NoKey)).into_response();
        }
        Ok(Err(ExportError::Evidence(EvidenceError::Damaged(message)))) => {
            return (StatusCode::CONFLICT, format!("no bundle: {message}\n")).into_response();
        }
        Ok(Err(e)) => {
            tracing::error!("web: no evidence bundle: {e}");
            return internal();
        }
        Err(e) => {
            tracing::error!("web: making the evidence bundle failed: {e}");
            return internal();
        }
    };
    let name = format!(
        "scopewatch-evidence-{}.zip",
        clock::now().format("%Y%m%dT%H%M%SZ")
    );
    let length = file.metadata().map(|m| m.len()).ok();
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
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

fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "no bundle could be made; the server's log says why\n",
    )
        .into_response()
}

/// Writes the bundle of the whole database into a temporary directory,
/// zips it into an anonymous temporary file, removes the directory, and
/// returns the file, read from its start.
fn make(database: &Path, key_file: Option<&Path>) -> Result<std::fs::File, ExportError> {
    let signer = Signer::existing(key_file, database)?.ok_or(ExportError::NoKey)?;
    let store = Store::open_reader(database).map_err(EvidenceError::from)?;
    let dir = tempfile::Builder::new()
        .prefix("scopewatch-bundle-")
        .tempdir()?;
    let out = dir.path().join("bundle");
    write_signed(&store, &signer, &Selection::default(), Format::Bundle, &out)?;
    let mut zip = ZipWriter::new(tempfile::tempfile()?);
    add_dir(&mut zip, &out, "scopewatch-evidence")?;
    let mut file = zip.finish()?;
    file.rewind()?;
    // The directory goes now; the zip has no name to leave behind.
    dir.close()?;
    Ok(file)
}

/// Adds every file under `dir` to `zip` under `prefix`, in name order.
/// Already compressed files (`.gz`) are stored, the rest deflated.
fn add_dir(
    zip: &mut ZipWriter<std::fs::File>,
    dir: &Path,
    prefix: &str,
) -> Result<(), ExportError> {
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
