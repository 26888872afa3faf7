//! The JSON API under `/api/v1/`: each route runs the same query as the
//! CLI command it is named after ([`crate::query`]) and answers with what
//! that command's `--json` prints. The filters are the CLI's flags as URL
//! parameters (`source` and `kind` may repeat). The routes and shapes are
//! described by the OpenAPI document served at `/api/v1/openapi.json`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::params::Params;
use super::{AppState, WebError};
use crate::clock;
use crate::query::{self, ChangesQuery, DiffQuery, QueryError, SnapshotRef};
use crate::scope::Severity;
use crate::store::{ScopeFilter, Store};

/// The OpenAPI 3.1 description of these routes.
const OPENAPI: &str = include_str!("openapi.json");

/// `history`'s default and largest `limit` (the CLI's default is 50 too).
const HISTORY_DEFAULT: usize = 50;
const HISTORY_MAX: usize = 1000;

/// `changes`' default and largest `limit`: one answer stays a few MB at
/// most; `until` pages further back.
pub const CHANGES_DEFAULT: usize = 1000;
pub const CHANGES_MAX: usize = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sources", get(sources))
        .route("/history/{source}", get(history))
        .route("/changes", get(changes))
        .route("/scope", get(scope))
        .route("/scope/history", get(scope_history))
        .route("/diff/{source}", get(diff))
        .route("/show/{snapshot}", get(show))
        .route("/openapi.json", get(openapi))
}

/// `value` as a JSON answer.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => WebError::Internal(format!("cannot serialise an answer: {e}")).into_json(),
    }
}

/// Parses a route's arguments, runs `job` with them on a read-only
/// connection, and answers its rows as JSON (or the error as JSON).
async fn answer<A, T>(
    state: &AppState,
    arguments: Result<A, QueryError>,
    job: impl FnOnce(&Store, A) -> Result<T, QueryError> + Send + 'static,
) -> Response
where
    A: Send + 'static,
    T: Serialize + Send + 'static,
{
    let arguments = match arguments {
        Ok(arguments) => arguments,
        Err(e) => return WebError::from(e).into_json(),
    };
    match state.readers.read(move |store| job(store, arguments)).await {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => e.into_json(),
    }
}

async fn sources(State(state): State<AppState>) -> Response {
    let config = state.config();
    answer(&state, Ok(config), |store, config| {
        query::sources(Some(store), config.as_deref())
    })
    .await
}

async fn history(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let limit = Params::parse(raw.as_deref()).limit("limit", HISTORY_DEFAULT, HISTORY_MAX);
    answer(&state, limit, move |store, limit| {
        query::history(store, &source, limit)
    })
    .await
}

/// `changes`' filters from a URL: `since`, `until`, `source`, `kind`,
/// `severity`, `limit`.
pub fn changes_query(params: &Params) -> Result<ChangesQuery, QueryError> {
    let now = clock::now();
    let time = |field: &'static str| {
        params
            .get(field)
            .map(|t| query::parse_time(field, t, now))
            .transpose()
    };
    Ok(ChangesQuery {
        since: time("since")?,
        until: time("until")?,
        sources: params.all("source"),
        kinds: params.all("kind"),
        severity: params
            .get("severity")
            .map(|s| {
                Severity::parse(s).map_err(|message| QueryError::InvalidField {
                    field: "severity",
                    message,
                })
            })
            .transpose()?,
        limit: Some(params.limit("limit", CHANGES_DEFAULT, CHANGES_MAX)?),
    })
}

async fn changes(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let config = state.config();
    let query = changes_query(&Params::parse(raw.as_deref()));
    answer(&state, query, move |store, query| {
        query::changes(store, config.as_deref(), &query)
    })
    .await
}

/// `scope`'s filters from a URL: `at`, `source`, `service`, `certification`.
pub fn scope_query(params: &Params) -> Result<(Option<String>, ScopeFilter), QueryError> {
    let at = params
        .get("at")
        .map(|t| query::parse_time("at", t, clock::now()))
        .transpose()?;
    Ok((
        at,
        ScopeFilter {
            sources: params.all("source"),
            service: params.get("service").map(str::to_string),
            certification: params.get("certification").map(str::to_string),
        },
    ))
}

async fn scope(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let config = state.config();
    let query = scope_query(&Params::parse(raw.as_deref()));
    answer(&state, query, move |store, (at, filter)| {
        query::scope(store, config.as_deref(), at.as_deref(), &filter)
    })
    .await
}

async fn scope_history(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let service = Params::parse(raw.as_deref())
        .get("service")
        .map(str::to_string);
    answer(&state, Ok(service), |store, service| {
        query::scope_history(store, service.as_deref())
    })
    .await
}

/// One side of a diff from a URL: a snapshot id (digits only), else a time.
pub fn side(
    params: &Params,
    field: &'static str,
    source: &str,
) -> Result<Option<SnapshotRef>, QueryError> {
    let Some(value) = params.get(field) else {
        return Ok(None);
    };
    if let Ok(id) = value.parse::<i64>() {
        return Ok(Some(SnapshotRef::Id(id)));
    }
    Ok(Some(SnapshotRef::At {
        source: source.to_string(),
        at: query::parse_time(field, value, clock::now())?,
    }))
}

/// `diff`'s arguments from a URL: `from`, `to` (ids or times), `word`.
pub fn diff_query(source: String, params: &Params) -> Result<DiffQuery, QueryError> {
    Ok(DiffQuery {
        from: side(params, "from", &source)?,
        to: side(params, "to", &source)?,
        word: matches!(params.get("word"), Some("true" | "1" | "on")),
        source,
    })
}

async fn diff(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = diff_query(source, &Params::parse(raw.as_deref()));
    answer(&state, query, |store, query| query::diff(store, &query)).await
}

/// `show SNAPSHOT`, or with `at`, `show SOURCE --at TIME`.
pub fn snapshot_ref(path: &str, params: &Params) -> Result<SnapshotRef, QueryError> {
    match params.get("at") {
        Some(at) => Ok(SnapshotRef::At {
            source: path.to_string(),
            at: query::parse_time("at", at, clock::now())?,
        }),
        None => path.parse().map(SnapshotRef::Id).map_err(|_| {
            QueryError::Invalid(format!(
                "{path:?} is not a snapshot id; to show a source at a time, add ?at=TIME"
            ))
        }),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(snapshot): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let reference = snapshot_ref(&snapshot, &Params::parse(raw.as_deref()));
    answer(&state, reference, |store, reference| {
        query::show(store, &reference)
    })
    .await
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
