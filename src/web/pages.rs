//! The HTML pages: sources, a source's timeline, a snapshot (by id or as
//! it was at a date) with its raw body served inert, a diff between two
//! dates or snapshots, the scope matrix and a service's history, changes,
//! evidence and alerts. Each page runs the shared queries
//! ([`crate::query`]) or a bounded store read, and renders with
//! [`super::render`], which escapes every stored value.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::{changes_query, diff_query, scope_query};
use super::params::Params;
use super::render::{
    Section, badge, cell, esc, inline, page, severity, side_by_side, table, time, url_part,
};
use super::{AppState, WebError};
use crate::clock;
use crate::query::{self, QueryError, SnapshotRef, words};
use crate::store::{RecordSummary, Store};

/// Sources listed on one page of the sources list.
const SOURCES_PER_PAGE: usize = 1000;

/// Records one timeline page shows; an "older" link pages back by date.
const TIMELINE_RECORDS: usize = 500;

/// Events the changes page lists by default, and at most.
const CHANGES_DEFAULT: usize = 200;

/// The most of a stored page shown as escaped source in a snapshot page;
/// the raw view serves it whole.
const SOURCE_PREVIEW: usize = 256 * 1024;

/// The largest texts the diff page compares (each side): beyond, the
/// page says to use `scopewatch diff`.
const MAX_DIFF_TEXT: usize = 4 * 1024 * 1024;

/// The most services and certifications the scope matrix draws; a filter
/// narrows it.
const MATRIX_SERVICES: usize = 2000;

/// Deliveries the alerts page lists; checkpoints the evidence page lists.
const DELIVERIES: usize = 200;
const CHECKPOINTS: usize = 50;

/// An HTML answer.
pub fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn respond(result: Result<String, WebError>) -> Response {
    match result {
        Ok(body) => html(body),
        Err(e) => e.into_page(),
    }
}

pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        super::render::STYLE,
    )
        .into_response()
}

fn source_link(id: &str) -> String {
    format!("<a href=\"/source/{}\">{}</a>", url_part(id), esc(id))
}

fn snapshot_link(id: i64) -> String {
    format!("<a href=\"/snapshot/{id}\">{id}</a>")
}

/// How long ago `at` was, in the largest whole unit.
fn age(at: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(then) = chrono::DateTime::parse_from_rfc3339(at) else {
        return "–".into();
    };
    let seconds = (now - then.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match seconds {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86400),
    }
}

pub async fn sources(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = Params::parse(raw.as_deref());
    let page_number = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let config = state.config();
    let read = state
        .readers
        .read(move |store| {
            let summaries = query::sources(Some(store), config.as_deref())?;
            let scope_changes: HashMap<String, String> = store
                .last_event_times(crate::detect::EventKind::Scope)?
                .into_iter()
                .collect();
            // Evidence age: how long ago the last confirmed fetch started,
            // the fetch the stale badge is judged on.
            let last_confirmed = store.last_confirmed_times()?;
            Ok((summaries, scope_changes, last_confirmed, config))
        })
        .await;
    respond(
        read.map(|(summaries, scope_changes, last_confirmed, config)| {
            let now = clock::now();
            let total = summaries.len();
            let rows: Vec<Vec<String>> = summaries
            .iter()
            .skip((page_number - 1) * SOURCES_PER_PAGE)
            .take(SOURCES_PER_PAGE)
            .map(|s| {
                let mut badges = badge(&s.state);
                if let Some(since) = &s.stale_since {
                    let _ = write!(
                        badges,
                        " <span class=\"badge warn\" title=\"since {}\">stale</span>",
                        esc(since)
                    );
                }
                if let Some(since) = &s.scope_unreadable_since {
                    let _ = write!(
                        badges,
                        " <span class=\"badge warn\" title=\"since {}\">scope unreadable</span>",
                        esc(since)
                    );
                }
                let next_due = config.as_deref().and_then(|c| {
                    let source = c.source(&s.id)?;
                    let schedule = source.schedule.as_deref().unwrap_or(&c.daemon.schedule);
                    schedule.next_after(now).map(clock::format)
                });
                let url = if s.url.starts_with("https://") || s.url.starts_with("http://") {
                    format!(
                        "<a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a>",
                        esc(&s.url)
                    )
                } else {
                    esc(&s.url)
                };
                vec![
                    source_link(&s.id),
                    badges,
                    time(s.last_checked.as_deref()),
                    time(s.last_changed.as_deref()),
                    time(scope_changes.get(&s.id).map(String::as_str)),
                    last_confirmed
                        .get(&s.id)
                        .map_or_else(|| "–".to_string(), |at| age(at, now)),
                    time(next_due.as_deref()),
                    s.snapshots.to_string(),
                    url,
                ]
            })
            .collect();
            let mut body = format!(
                "<p>{} · <a href=\"/api/v1/sources\">JSON</a></p>\n",
                crate::wording::counted(total, "source", "sources")
            );
            body.push_str(&table(
                &[
                    "Source",
                    "State",
                    "Last fetch",
                    "Last change",
                    "Last scope change",
                    "Evidence age",
                    "Next due",
                    "OK fetches",
                    "URL",
                ],
                &rows,
            ));
            if total > page_number * SOURCES_PER_PAGE {
                let _ = write!(
                    body,
                    "<p><a href=\"/?page={}\">Next {SOURCES_PER_PAGE}</a></p>",
                    page_number + 1
                );
            }
            page("Sources", Section::Sources, &body)
        }),
    )
}

/// Whether a record is routine: a fetch that changed nothing.
fn is_routine(record: &RecordSummary) -> bool {
    record.outcome == "not-modified"
        || (record.outcome == "ok"
            && matches!(record.change.as_deref(), Some("unchanged" | "noise") | None))
}

pub async fn source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = Params::parse(raw.as_deref());
    let until = match params
        .get("until")
        .map(|t| query::parse_time("until", t, clock::now()))
        .transpose()
    {
        Ok(until) => until.unwrap_or_else(|| "9999-12-31T23:59:59.999Z".to_string()),
        Err(e) => return WebError::from(e).into_page(),
    };
    let source = id.clone();
    let read = state
        .readers
        .read(move |store| {
            let records = store.records_between(&source, "", &until, TIMELINE_RECORDS)?;
            if records.is_empty() && !store.has_source(&source)? {
                return Err(QueryError::NotFound(format!(
                    "no source {source:?} in the database"
                )));
            }
            Ok(records)
        })
        .await;
    respond(read.map(|records| timeline(&id, &records)))
}

/// A source's records by day, newest first: changes and failures each on
/// a line, routine fetches folded into a count.
fn timeline(id: &str, records: &[RecordSummary]) -> String {
    let mut body = format!(
        "<p><a href=\"/source/{0}/diff\">Latest change</a> · \
         <a href=\"/api/v1/history/{0}\">JSON</a></p>\n\
         <form method=\"get\" action=\"/source/{0}/diff\"><label>From <input type=\"date\" name=\"from\" required></label>\
         <label>To <input type=\"date\" name=\"to\" required></label><button>Compare</button></form>\n",
        url_part(id)
    );
    let mut days: BTreeMap<&str, Vec<&RecordSummary>> = BTreeMap::new();
    for record in records {
        days.entry(record.started_at.get(..10).unwrap_or(&record.started_at))
            .or_default()
            .push(record);
    }
    if days.is_empty() {
        body.push_str("<p>No records yet.</p>");
    }
    for (day, records) in days.iter().rev() {
        let _ = write!(
            body,
            "<h2><a href=\"/source/{}/at/{}\">{}</a></h2>\n<ul>\n",
            url_part(id),
            url_part(day),
            esc(day)
        );
        let routine = records.iter().filter(|r| is_routine(r)).count();
        for record in records.iter().filter(|r| !is_routine(r)) {
            let what = match (record.outcome.as_str(), record.change.as_deref()) {
                ("failed", _) => format!(
                    "{} {}",
                    badge("failed"),
                    esc(&format!(
                        "{}: {}",
                        record.error_class.as_deref().unwrap_or("error"),
                        record.error_message.as_deref().unwrap_or("")
                    ))
                ),
                (_, Some(change)) => {
                    let diff = if change == "baseline" {
                        String::new()
                    } else {
                        format!(
                            " · <a href=\"/source/{}/diff?to={}\">diff</a>",
                            url_part(id),
                            record.id
                        )
                    };
                    format!("<strong>{}</strong>{diff}", esc(change))
                }
                (outcome, None) => esc(outcome),
            };
            let _ = writeln!(
                body,
                "<li>{} snapshot {} · {what}</li>",
                time(Some(&record.started_at)),
                snapshot_link(record.id)
            );
        }
        if routine > 0 {
            let _ = writeln!(
                body,
                "<li class=\"muted\">{} without change</li>",
                crate::wording::counted(routine, "fetch", "fetches")
            );
        }
        body.push_str("</ul>\n");
    }
    if records.len() == TIMELINE_RECORDS
        && let Some(oldest) = records.last()
    {
        let _ = write!(
            body,
            "<p><a href=\"/source/{}?until={}\">Older</a></p>",
            url_part(id),
            url_part(&oldest.started_at)
        );
    }
    page(&format!("Source {id}"), Section::Sources, &body)
}

pub async fn source_at(
    State(state): State<AppState>,
    Path((id, date)): Path<(String, String)>,
) -> Response {
    let at = match query::parse_time("date", &date, clock::now()) {
        Ok(at) => at,
        Err(e) => return WebError::from(e).into_page(),
    };
    let reference = SnapshotRef::At {
        source: id,
        at: at.clone(),
    };
    snapshot_page(state, reference, Some(at)).await
}

pub async fn snapshot(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    snapshot_page(state, SnapshotRef::Id(id), None).await
}

/// A snapshot: its record, its normalised text, and its body as escaped
/// source with a link to the sandboxed raw view.
async fn snapshot_page(state: AppState, reference: SnapshotRef, at: Option<String>) -> Response {
    let read = state
        .readers
        .read(move |store| {
            let shown = query::show(store, &reference)?;
            let body = store.snapshot_bytes(shown.snapshot.id, true).ok();
            Ok((shown, body))
        })
        .await;
    respond(read.map(|(shown, raw)| {
        let record = &shown.snapshot;
        let mut body = String::new();
        if let Some(at) = &at {
            let _ = writeln!(
                body,
                "<p>As it was at {}: the last successful fetch then.</p>",
                esc(at)
            );
        }
        body.push_str(&table(
            &["Snapshot", "Source", "Fetched", "Status", "Kind", "Text SHA-256", "Record hash"],
            &[vec![
                record.id.to_string(),
                source_link(&record.source),
                format!(
                    "{}{}",
                    time(Some(&record.started_at)),
                    if record.clock == "replayed" {
                        " (replayed)"
                    } else {
                        ""
                    }
                ),
                cell(record.status.map(|s| s.to_string()).as_deref()),
                cell(record.content_kind.as_deref()),
                cell(record.text_hash.as_deref()),
                esc(&record.record_hash),
            ]],
        ));
        let _ = writeln!(
            body,
            "<p><a href=\"/source/{0}/diff?to={1}\">Diff with the version before</a> · \
             <a href=\"/snapshot/{1}/raw\">Raw page (sandboxed, no scripts)</a> · \
             <a href=\"/api/v1/show/{1}\">JSON</a></p>",
            url_part(&record.source),
            record.id
        );
        let _ = writeln!(body, "<h2>Normalised text</h2>\n<pre>{}</pre>", esc(&shown.text));
        if let Some(raw) = raw {
            let text = String::from_utf8_lossy(&raw[..raw.len().min(SOURCE_PREVIEW)]);
            let cut = if raw.len() > SOURCE_PREVIEW {
                format!(
                    " (the first {SOURCE_PREVIEW} of {} bytes)",
                    raw.len()
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                body,
                "<details><summary>Page source as received{cut}</summary>\n<pre>{}</pre>\n</details>",
                esc(&text)
            );
        }
        page(&format!("Snapshot {}", record.id), Section::Sources, &body)
    }))
}

/// The body as received, under a policy that makes it inert: sandboxed (a
/// unique origin, no scripts, no forms, no plugins) and allowed to load
/// nothing, so a stored page can neither run code nor call home.
pub async fn raw(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let read = state
        .readers
        .read(move |store: &Store| {
            let record = store.record(id)?;
            let body = store.snapshot_bytes(id, true)?;
            Ok((record.content_kind, body))
        })
        .await;
    match read {
        Ok((kind, body)) => {
            let content_type = match kind.as_deref() {
                Some("html") => "text/html; charset=utf-8",
                Some("pdf") => "application/pdf",
                Some("json") => "application/json",
                _ => "text/plain; charset=utf-8",
            };
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            response
        }
        Err(e) => e.into_page(),
    }
}

pub async fn diff(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = Params::parse(raw.as_deref());
    let side_by_side_view = params.get("view") != Some("inline");
    let query = match diff_query(source, &params) {
        Ok(query) => query,
        Err(e) => return WebError::from(e).into_page(),
    };
    let source = query.source.clone();
    let read = state
        .readers
        .read(move |store| {
            let diff = query::diff(store, &query)?;
            if diff.old_text.len().max(diff.new_text.len()) > MAX_DIFF_TEXT {
                return Err(QueryError::Invalid(format!(
                    "these snapshots are too large to compare here (over {MAX_DIFF_TEXT} bytes of text); use `scopewatch diff {} {} {}`",
                    diff.source, diff.from.id, diff.to.id
                )));
            }
            let hunks = words::hunks(&diff.old_text, &diff.new_text);
            Ok((diff, hunks))
        })
        .await;
    respond(read.map(|(diff, hunks)| {
        let (from, to) = (query::side_label(&diff.from), query::side_label(&diff.to));
        let other = if side_by_side_view {
            "inline"
        } else {
            "side"
        };
        let mut body = format!(
            "<p>{} → {} · {} added, {} removed · \
             <a href=\"/source/{}/diff?from={}&amp;to={}&amp;view={other}\">{other} view</a> · \
             <a href=\"/api/v1/diff/{}?from={}&amp;to={}\">JSON</a></p>\n",
            esc(&from),
            esc(&to),
            diff.added,
            diff.removed,
            url_part(&source),
            diff.from.id,
            diff.to.id,
            url_part(&source),
            diff.from.id,
            diff.to.id,
        );
        let _ = writeln!(
            body,
            "<form method=\"get\"><label>From <input type=\"date\" name=\"from\" value=\"{}\"></label>\
             <label>To <input type=\"date\" name=\"to\" value=\"{}\"></label>\
             <input type=\"hidden\" name=\"view\" value=\"{}\"><button>Compare</button></form>",
            esc(diff.from.started_at.get(..10).unwrap_or("")),
            esc(diff.to.started_at.get(..10).unwrap_or("")),
            if side_by_side_view { "side" } else { "inline" }
        );
        if hunks.is_empty() {
            body.push_str("<p>The two texts are the same.</p>");
        } else if side_by_side_view {
            body.push_str(&side_by_side(&hunks, &from, &to));
        } else {
            body.push_str(&inline(&hunks));
        }
        page(&format!("Diff of {source}"), Section::Sources, &body)
    }))
}

pub async fn scope(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = Params::parse(raw.as_deref());
    let (at, filter) = match scope_query(&params) {
        Ok(query) => query,
        Err(e) => return WebError::from(e).into_page(),
    };
    let form_values = (
        params.get("at").unwrap_or("").to_string(),
        filter.service.clone().unwrap_or_default(),
        filter.certification.clone().unwrap_or_default(),
    );
    let config = state.config();
    let when = at.clone();
    let read = state
        .readers
        .read(move |store| query::scope(store, config.as_deref(), at.as_deref(), &filter))
        .await;
    respond(read.map(|rows| {
        let (at_value, service, certification) = form_values;
        let mut body = format!(
            "<form method=\"get\"><label>Date <input type=\"date\" name=\"at\" value=\"{}\"></label>\
             <label>Service <input name=\"service\" value=\"{}\"></label>\
             <label>Certification <input name=\"certification\" value=\"{}\"></label>\
             <button>Show</button></form>\n<p>{} at {} · <a href=\"/api/v1/scope?{}\">JSON</a></p>\n",
            esc(&at_value),
            esc(&service),
            esc(&certification),
            crate::wording::counted(rows.len(), "pair", "pairs"),
            esc(when.as_deref().unwrap_or("the latest fetch")),
            esc(&raw.unwrap_or_default()),
        );
        let certifications: BTreeSet<&str> = rows.iter().map(|r| r.certification).collect();
        let mut services: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for row in rows.iter() {
            services
                .entry(row.service)
                .or_default()
                .entry(row.certification)
                .or_default()
                .push(row.source);
        }
        if services.len() > MATRIX_SERVICES {
            let _ = write!(
                body,
                "<p>{} services: the first {MATRIX_SERVICES} are drawn; filter by service or certification for the rest.</p>",
                services.len()
            );
        }
        body.push_str("<table class=\"matrix\">\n<thead><tr><th scope=\"col\">Service</th>");
        for certification in &certifications {
            let _ = write!(body, "<th scope=\"col\">{}</th>", esc(certification));
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        for (service, in_scope) in services.iter().take(MATRIX_SERVICES) {
            let _ = write!(
                body,
                "<tr><th scope=\"row\"><a href=\"/scope/history?service={}\">{}</a></th>",
                url_part(service),
                esc(service)
            );
            for certification in &certifications {
                match in_scope.get(certification) {
                    Some(sources) => {
                        let _ = write!(
                            body,
                            "<td class=\"in\" title=\"{}\">✓<span class=\"sr\"> in scope</span></td>",
                            esc(&sources.join(", "))
                        );
                    }
                    None => body.push_str("<td></td>"),
                }
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody>\n</table>\n");
        page("Scope", Section::Scope, &body)
    }))
}

pub async fn scope_history(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let service = Params::parse(raw.as_deref())
        .get("service")
        .map(str::to_string);
    let wanted = service.clone();
    let read = state
        .readers
        .read(move |store| query::scope_history(store, wanted.as_deref()))
        .await;
    respond(read.map(|transitions| {
        let mut body = format!(
            "<form method=\"get\"><label>Service <input name=\"service\" value=\"{}\"></label><button>Show</button></form>\n",
            esc(service.as_deref().unwrap_or(""))
        );
        let rows: Vec<Vec<String>> = transitions
            .iter()
            .map(|t| {
                let renamed = |from: &str, to: &str| {
                    if from == to {
                        esc(to)
                    } else {
                        format!("{} → {}", esc(from), esc(to))
                    }
                };
                let (certification, service) = match &t.from {
                    Some(from) => (
                        renamed(&from.certification, &t.certification),
                        renamed(&from.service, &t.service),
                    ),
                    None => (esc(&t.certification), esc(&t.service)),
                };
                vec![
                    time(Some(&t.at)),
                    esc(&t.change),
                    certification,
                    service,
                    source_link(&t.source),
                    snapshot_link(t.snapshot),
                ]
            })
            .collect();
        body.push_str(&table(
            &["At", "Change", "Certification", "Service", "Source", "Snapshot"],
            &rows,
        ));
        let title = match &service {
            Some(service) => format!("Scope history of {service}"),
            None => "Scope history".to_string(),
        };
        page(&title, Section::Scope, &body)
    }))
}

pub async fn changes(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let mut params = Params::parse(raw.as_deref());
    if params.get("limit").is_none() {
        params = Params::parse(Some(&format!(
            "{}&limit={CHANGES_DEFAULT}",
            raw.as_deref().unwrap_or("")
        )));
    }
    let query = match changes_query(&params) {
        Ok(query) => query,
        Err(e) => return WebError::from(e).into_page(),
    };
    let form = format!(
        "<form method=\"get\"><label>Kind <input name=\"kind\" value=\"{}\"></label>\
         <label>Severity <select name=\"severity\"><option value=\"\">any</option>{}</select></label>\
         <label>Source <input name=\"source\" value=\"{}\"></label>\
         <label>Since <input type=\"date\" name=\"since\" value=\"{}\"></label>\
         <label>Until <input type=\"date\" name=\"until\" value=\"{}\"></label><button>Filter</button></form>\n",
        esc(params.get("kind").unwrap_or("")),
        ["low", "medium", "high"]
            .iter()
            .map(|level| {
                let selected = if params.get("severity") == Some(level) {
                    " selected"
                } else {
                    ""
                };
                format!("<option{selected}>{level}</option>")
            })
            .collect::<String>(),
        esc(params.get("source").unwrap_or("")),
        esc(params.get("since").unwrap_or("")),
        esc(params.get("until").unwrap_or("")),
    );
    let config = state.config();
    let read = state
        .readers
        .read(move |store| query::changes(store, config.as_deref(), &query))
        .await;
    respond(read.map(|events| {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                let snapshots = match e.from_snapshot {
                    Some(from) => format!(
                        "<a href=\"/source/{}/diff?from={from}&amp;to={}\">{from}→{}</a>",
                        url_part(&e.source),
                        e.to_snapshot,
                        e.to_snapshot
                    ),
                    None => snapshot_link(e.to_snapshot),
                };
                vec![
                    time(Some(&e.detected_at)),
                    source_link(&e.source),
                    esc(e.kind.as_str()),
                    severity(e.severity.as_deref().unwrap_or("low")),
                    snapshots,
                    esc(&e.summary),
                ]
            })
            .collect();
        let body = format!(
            "{form}<p>{} (newest first)</p>\n{}",
            crate::wording::counted(events.len(), "event", "events"),
            table(
                &[
                    "Detected",
                    "Source",
                    "Kind",
                    "Severity",
                    "Snapshots",
                    "Summary"
                ],
                &rows
            )
        );
        page("Changes", Section::Changes, &body)
    }))
}

pub async fn evidence(State(state): State<AppState>) -> Response {
    let read = state
        .readers
        .read(|store| {
            let checkpoints = store.recent_checkpoints(CHECKPOINTS)?;
            Ok((
                checkpoints,
                store.ledger_entries()?,
                store.last_verify_run()?,
            ))
        })
        .await;
    respond(read.map(|(checkpoints, ledger_entries, last_verify)| {
        let rows: Vec<Vec<String>> = checkpoints
            .iter()
            .map(|c| {
                vec![
                    c.id.to_string(),
                    time(Some(&c.at)),
                    c.tree_size.to_string(),
                    format!("<code>{}</code>", esc(&c.root)),
                    esc(&c.key_id),
                    match (&c.timestamped_at, &c.tsa_url) {
                        (Some(at), Some(tsa)) => format!("{} by {}", time(Some(at)), esc(tsa)),
                        _ => "–".to_string(),
                    },
                ]
            })
            .collect();
        let verified = match &last_verify {
            None => "<code>scopewatch verify</code> has not been run on this database yet".to_string(),
            Some(crate::store::VerifyRun {
                finished_at,
                error: Some(error),
                ..
            }) => format!(
                "The last <code>scopewatch verify</code>, {}: {}, it could not finish: {}",
                time(Some(finished_at)),
                badge("failed"),
                esc(error)
            ),
            Some(run) => format!(
                "The last <code>scopewatch verify</code>, {}: {}, {} checked, {} re-extracted{}",
                time(Some(&run.finished_at)),
                if run.findings == 0 {
                    badge("verified")
                } else {
                    format!(
                        "{} {}",
                        badge("findings"),
                        crate::wording::counted(run.findings as usize, "finding", "findings")
                    )
                },
                crate::wording::counted(run.checkpoints as usize, "checkpoint", "checkpoints"),
                crate::wording::counted(run.re_extracted as usize, "capture", "captures"),
                match run.notes {
                    0 => String::new(),
                    n => format!(
                        " ({} reported but not counted: pruned by policy, or not checkable)",
                        crate::wording::counted(n as usize, "note", "notes")
                    ),
                }
            ),
        };
        let body = format!(
            "<p>The ledger holds {}. <code>scopewatch verify</code> recomputes every hash and checks every signature; \
             an evidence bundle holds every capture, the ledger and its checkpoints, for an auditor to check with standard tools.</p>\n\
             <h2>Verification</h2>\n<p>{verified}.</p>\n\
             <p>This is what the last <code>scopewatch verify</code> run on this machine recorded in the database: \
             an operator's note, not evidence. Whoever relies on the evidence checks it themselves, \
             with <code>scopewatch verify</code> on an exported bundle or with standard tools.</p>\n\
             <h2>Export</h2>\n<p><a href=\"{}\" download>Download an evidence bundle</a> of the whole database \
             (a zip of what <code>scopewatch export</code> writes, against the newest signed checkpoint; \
             made when asked, which takes a while on a large database).</p>\n<h2>Signed checkpoints</h2>\n{}",
            crate::wording::counted(ledger_entries as usize, "entry", "entries"),
            super::export::PATH,
            table(
                &["Checkpoint", "Signed", "Tree size", "Root", "Key", "RFC 3161 timestamp"],
                &rows
            )
        );
        page("Evidence", Section::Evidence, &body)
    }))
}

pub async fn alerts(State(state): State<AppState>) -> Response {
    let read = state
        .readers
        .read(|store| Ok(store.recent_deliveries(None, DELIVERIES)?))
        .await;
    respond(read.map(|deliveries| {
        let rows: Vec<Vec<String>> = deliveries
            .iter()
            .map(|d| {
                vec![
                    time(Some(&d.created_at)),
                    esc(&d.channel),
                    badge(d.state.as_str()),
                    d.attempts.to_string(),
                    format!(
                        "{} · {}",
                        source_link(&d.source),
                        esc(d.event_kind.as_str())
                    ),
                    esc(&d.summary),
                    cell(d.last_error.as_deref()),
                ]
            })
            .collect();
        let body = format!(
            "<p>The latest {} deliveries, newest first.</p>\n{}",
            deliveries.len(),
            table(
                &[
                    "Created",
                    "Channel",
                    "State",
                    "Attempts",
                    "Event",
                    "Summary",
                    "Last error"
                ],
                &rows
            )
        );
        page("Alerts", Section::Alerts, &body)
    }))
}
