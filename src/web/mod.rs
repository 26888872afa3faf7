//! The read-only web view, JSON API, `/metrics` and health checks, served
//! by `scopewatch serve` and, with a `[web]` table, inside `run` on the
//! daemon's runtime. This module binds the address (refusing one off
//! loopback without a token), holds what handlers share ([`AppState`]:
//! read-only database connections, the configuration, readiness, the
//! token) and turns errors into responses. Routes and request budgets are
//! in [`router`], the token in [`auth`], pages in [`pages`], the API in
//! [`api`], metrics in [`metrics`], HTML helpers in [`render`], the
//! evidence bundle download in [`export`].

mod api;
mod auth;
mod export;
mod metrics;
mod pages;
mod params;
mod render;
mod router;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::{Semaphore, watch};

use crate::clock::Heartbeat;
use crate::config::Config;
use crate::config::web::{Listen, WebSettings, exposed_without_token};
use crate::query::QueryError;
use crate::store::Store;
pub use auth::Token;
pub use export::worker as bundle_worker;

/// Read-only database connections kept open. Reads run on the blocking
/// threads, never the async workers; two keep both cores busy, and more
/// requests wait their turn (bounded by the router's in-flight limit).
const READERS: usize = 2;

/// Inside `run`, `/readyz` wants the scheduler loop to have beaten within
/// this: it beats at least every minute while sources finish, so three
/// minutes leave room for a slow source without hiding a stuck loop.
pub const HEARTBEAT_WITHIN: Duration = Duration::from_secs(180);

/// For `serve`, the daemon's heartbeat in the database: it is written
/// between sweeps (at least every minute) but not during one, and a sweep
/// of many sources can run for minutes.
pub const DATABASE_HEARTBEAT_WITHIN: Duration = Duration::from_secs(15 * 60);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings refuse to serve: an exposed address without a token,
    /// an unreadable or short token.
    #[error("{0}")]
    Refused(String),
    #[error("cannot listen on {listen}: {error}")]
    Bind {
        listen: String,
        error: std::io::Error,
    },
    #[error("cannot read the database: {0}")]
    Database(crate::store::StoreError),
}

/// What `/readyz` asks.
pub enum Readiness {
    /// Inside `run`: the scheduler loop's own heartbeat must be younger
    /// than this.
    Heartbeat(Arc<Heartbeat>, Duration),
    /// `serve` beside a daemon: a daemon must hold the database's lock and
    /// have written its heartbeat within this.
    Database(Duration),
}

/// What the handlers share.
pub struct Shared {
    readers: Readers,
    database: PathBuf,
    config: Option<watch::Receiver<Arc<Config>>>,
    readiness: Readiness,
    token: Option<Token>,
    /// One evidence bundle made at a time (see [`export`]).
    exports: Arc<Semaphore>,
}

/// The handlers' state: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Shared {
    /// The configuration in force, if there is one.
    pub fn config(&self) -> Option<Arc<Config>> {
        self.config.as_ref().map(|c| c.borrow().clone())
    }
}

/// A bound listener, ready to serve.
pub struct Bound {
    listener: Listener,
    /// Where it listens, as `http://IP:PORT` or `unix:/path`.
    pub address: String,
    state: AppState,
}

enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

/// Checks the settings, opens the database for reading, reads the token
/// and binds the address. `config` follows reloads inside `run`.
pub async fn bind(
    settings: &WebSettings,
    database: &Path,
    config: Option<watch::Receiver<Arc<Config>>>,
    readiness: Readiness,
) -> Result<Bound, StartError> {
    if settings.listen.is_exposed() && settings.token_file.is_none() {
        return Err(StartError::Refused(exposed_without_token(&settings.listen)));
    }
    let token = settings
        .read_token()
        .map(|text| text.and_then(|text| Token::new(&text)))
        .transpose()
        .map_err(StartError::Refused)?;
    let readers = Readers::open(database).map_err(StartError::Database)?;
    let state = AppState(Arc::new(Shared {
        readers,
        database: database.to_path_buf(),
        config,
        readiness,
        token,
        exports: Arc::new(Semaphore::new(1)),
    }));
    let bind_error = |error| StartError::Bind {
        listen: settings.listen.to_string(),
        error,
    };
    let (listener, address) = match &settings.listen {
        Listen::Tcp(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(bind_error)?;
            let address = format!("http://{}", listener.local_addr().map_err(bind_error)?);
            (Listener::Tcp(listener), address)
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path).map_err(bind_error)?;
            (Listener::Unix(listener), format!("unix:{}", path.display()))
        }
    };
    Ok(Bound {
        listener,
        address,
        state,
    })
}

/// Binds a Unix socket at `path`, replacing a socket a previous run left
/// (never another kind of file), readable and writable by the owner and
/// group only: the reverse proxy's user joins the group.
fn bind_unix(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_socket()
    {
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}

impl Bound {
    /// Serves until `stop` resolves; requests in flight then finish.
    pub async fn serve(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router::routes(self.state);
        match self.listener {
            Listener::Tcp(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            }
            Listener::Unix(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            }
        }
    }
}

/// Read-only connections to the database (see [`READERS`]).
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    slots: Semaphore,
}

impl Readers {
    /// Opens one connection now, so a database that cannot be read is
    /// refused at start-up rather than at the first request.
    fn open(path: &Path) -> Result<Readers, crate::store::StoreError> {
        let first = Store::open_reader(path)?;
        Ok(Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
            slots: Semaphore::new(READERS),
        })
    }

    /// Runs `job` with a connection on a blocking thread.
    pub async fn read<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Store) -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, WebError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| WebError::Internal("the connection pool is closed".into()))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let path = self.path.clone();
        let (store, result) = tokio::task::spawn_blocking(move || {
            let store = match idle {
                Some(store) => store,
                None => Store::open_reader(&path).map_err(QueryError::Store)?,
            };
            let result = job(&store);
            Ok::<_, QueryError>((store, result))
        })
        .await
        .map_err(|e| WebError::Internal(format!("a read failed: {e}")))??;
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(store);
        Ok(result?)
    }
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Something failed that the client cannot mend: logged, and answered
    /// 500 without the detail.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    /// The status and the message a client may see: a database error's
    /// detail (which may name files) stays in the log.
    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            WebError::Query(QueryError::Invalid(_) | QueryError::InvalidField { .. }) => {
                (StatusCode::BAD_REQUEST, self.to_string())
            }
            WebError::Query(QueryError::NotFound(_)) => (StatusCode::NOT_FOUND, self.to_string()),
            WebError::Query(QueryError::Store(_)) | WebError::Internal(_) => {
                tracing::error!("web request failed: {self}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the database could not be read; the server's log says why".into(),
                )
            }
        }
    }

    /// The error as a JSON body `{"error": "..."}`.
    pub fn into_json(self) -> Response {
        let (status, message) = self.status_and_message();
        api::json_response(status, &serde_json::json!({ "error": message }))
    }

    /// The error as an HTML page.
    pub fn into_page(self) -> Response {
        let (status, message) = self.status_and_message();
        let body = format!("<p>{}</p>", render::esc(&message));
        let title = status.canonical_reason().unwrap_or("Error");
        (
            status,
            pages::html(render::page(title, render::Section::Sources, &body)),
        )
            .into_response()
    }
}
