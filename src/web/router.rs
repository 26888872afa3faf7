//! The routes, the request budgets every route is under, the headers every
//! answer carries, and the health checks.
//!
//! Budgets: at most [`MAX_IN_FLIGHT`] requests at once (more are answered
//! 503 at once rather than queued without bound), each answered within
//! [`REQUEST_TIMEOUT`] (an evidence bundle within [`export::TIMEOUT`]) or
//! given up with 503, and no request body (every
//! route is a read; a body is refused with 413 before it is read).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use super::{AppState, Readiness, api, auth, export, metrics, pages};
use crate::clock;
use crate::query::QueryError;
use crate::store::lock::DaemonLock;

/// Requests served at once. Reads share two database connections, so
/// more in flight would only wait longer; a browser opens about six.
pub const MAX_IN_FLIGHT: usize = 32;

/// The longest a request may take. A page over 100,000 records answers in
/// milliseconds; past this something is wrong, and the client is told so
/// instead of held.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The policy of every page: its own stylesheet, nothing else; no scripts
/// at all. The raw view of a stored page has a stricter one (see pages).
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(state: AppState) -> Router {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    Router::new()
        .route("/", get(pages::sources))
        .route("/style.css", get(pages::style))
        .route("/source/{id}", get(pages::source))
        .route("/source/{id}/at/{date}", get(pages::source_at))
        .route("/source/{id}/diff", get(pages::diff))
        .route("/snapshot/{id}", get(pages::snapshot))
        .route("/snapshot/{id}/raw", get(pages::raw))
        .route("/scope", get(pages::scope))
        .route("/scope/history", get(pages::scope_history))
        .route("/changes", get(pages::changes))
        .route("/evidence", get(pages::evidence))
        .route(export::PATH, get(export::bundle))
        .route("/alerts", get(pages::alerts))
        .nest("/api/v1", api::routes())
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn(move |request, next| {
            budget(in_flight.clone(), request, next)
        }))
        .with_state(state)
}

/// The in-flight limit, the time limit, no body; then the headers every
/// answer carries.
async fn budget(in_flight: Arc<Semaphore>, request: Request, next: Next) -> Response {
    let Ok(_permit) = in_flight.try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many requests at once; try again\n",
        )
            .into_response();
    };
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length != "0");
    if has_body {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "this server is read-only: requests carry no body\n",
        )
            .into_response();
    }
    // Making an evidence bundle reads the whole database: it has its own limit.
    let limit = if request.uri().path() == export::PATH {
        export::TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    let mut response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no answer within {limit:?}; try a narrower query\n"),
        )
            .into_response(),
    };
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(PAGE_POLICY));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Process up and database readable.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.readers.read(|store| Ok(store.readable()?)).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!("healthz: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database not readable\n").into_response()
        }
    }
}

/// The daemon's scheduler alive, from its heartbeat.
async fn readyz(State(state): State<AppState>) -> Response {
    let verdict = match &state.readiness {
        Readiness::Heartbeat(heartbeat, within) => {
            let age = heartbeat.age();
            if age < *within {
                Ok(format!("scheduler beat {}s ago", age.as_secs()))
            } else {
                Err(format!(
                    "the scheduler has not beaten for {}s (limit {}s)",
                    age.as_secs(),
                    within.as_secs()
                ))
            }
        }
        Readiness::Database(within) => {
            let within = *within;
            let database = state.database.clone();
            state
                .readers
                .read(move |store| {
                    let Some(pid) = DaemonLock::holder(&database) else {
                        return Ok(Err("no daemon runs on this database".to_string()));
                    };
                    let status = store.daemon_status().map_err(QueryError::from)?;
                    let age = status
                        .as_ref()
                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s.heartbeat_at).ok())
                        .map(|at| clock::now().signed_duration_since(at))
                        .and_then(|age| age.to_std().ok());
                    Ok(match age {
                        Some(age) if age < within => {
                            Ok(format!("daemon (pid {pid}) beat {}s ago", age.as_secs()))
                        }
                        _ => Err(format!(
                            "the daemon (pid {pid}) has written no heartbeat within {}s",
                            within.as_secs()
                        )),
                    })
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        }
    };
    match verdict {
        Ok(message) => (StatusCode::OK, format!("ready: {message}\n")).into_response(),
        Err(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {message}\n"),
        )
            .into_response(),
    }
}
