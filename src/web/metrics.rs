//! `/metrics` in the OpenMetrics text format (the `prometheus-client`
//! crate's encoder). Every value is read from the database at scrape
//! time, so `serve` beside a daemon reports the same as the daemon's own
//! server, and a restart loses nothing: the counters are the database's
//! totals, the fetch durations those of the attempts of the last
//! [`DURATION_WINDOW`] (at most [`MAX_DURATIONS`] of them).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::clock;
use crate::config::Config;
use crate::query::{self, QueryError};
use crate::store::{DaemonStatus, MetricCounts};

/// The attempts whose durations the histogram holds: a day's, which at
/// the default schedule is four per source.
const DURATION_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// At most this many attempts are read for the histogram (100,000 sources
/// swept once); the scrape stays bounded whatever the schedule.
const MAX_DURATIONS: usize = 100_000;

/// Histogram buckets in seconds: 50 ms doubling to ~51 s, past the default
/// 30 s timeout.
const BUCKETS: [f64; 11] = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2];

type Labels = Vec<(&'static str, String)>;

pub async fn metrics(State(state): State<AppState>) -> Response {
    let now = clock::now();
    let config = state.config();
    let since = clock::format(now - DURATION_WINDOW);
    let read = state
        .readers
        .read(move |store| {
            let counts = store
                .metric_counts(&since, MAX_DURATIONS)
                .map_err(QueryError::from)?;
            let daemon = store.daemon_status().map_err(QueryError::from)?;
            Ok((counts, daemon))
        })
        .await;
    let (counts, daemon) = match read {
        Ok(read) => read,
        Err(e) => return e.into_json(),
    };
    match render(&counts, daemon.as_ref(), config.as_deref(), now) {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => super::WebError::Internal(format!("cannot encode the metrics: {e}")).into_json(),
    }
}

fn seconds_since_epoch(at: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
}

/// The metrics as OpenMetrics text.
pub fn render(
    counts: &MetricCounts,
    daemon: Option<&DaemonStatus>,
    config: Option<&Config>,
    now: DateTime<Utc>,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("scopewatch");
    registry.register(
        "build",
        "The running scopewatch",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION").to_string())]),
    );

    let durations = Family::<Labels, Histogram>::new_with_constructor(|| {
        Histogram::new(BUCKETS.iter().copied())
    });
    for (source, seconds) in &counts.durations {
        durations
            .get_or_create(&vec![("source", source.clone())])
            .observe(*seconds);
    }
    registry.register(
        "fetch_duration_seconds",
        "How long each fetch attempt of the last 24 hours took, by source",
        durations,
    );

    let attempts = Family::<Labels, Counter>::default();
    for ((outcome, class), count) in &counts.attempts {
        attempts
            .get_or_create(&vec![
                ("outcome", outcome.clone()),
                ("error_class", class.clone()),
            ])
            .inc_by(u64::try_from(*count).unwrap_or(0));
    }
    registry.register(
        "attempts",
        "Fetch attempts recorded, by outcome and error class",
        attempts,
    );

    let last_success = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let evidence_age = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let stale = Family::<Labels, Gauge>::default();
    let now_seconds = now.timestamp_millis() as f64 / 1000.0;
    let judge = query::Freshness::new(config);
    for (source, at) in &counts.last_confirmed {
        if let Some(seconds) = seconds_since_epoch(at) {
            let labels = vec![("source", source.clone())];
            last_success.get_or_create(&labels).set(seconds);
            evidence_age
                .get_or_create(&labels)
                .set((now_seconds - seconds).max(0.0));
            // The sources a `stale` event can be raised for, no others.
            if judge.is_judged(source) {
                let is_stale = judge.stale_since(source, at, now).is_some();
                stale.get_or_create(&labels).set(i64::from(is_stale));
            }
        }
    }
    registry.register(
        "stale",
        "1 when the last confirmed fetch (a page, or a 304) is older than the source's max_age, else 0; for each source the configuration watches",
        stale,
    );
    registry.register(
        "last_success_timestamp_seconds",
        "When the last fetch that gave a page (or a 304) started, by source",
        last_success,
    );
    registry.register(
        "evidence_age_seconds",
        "How long ago the last fetch that gave a page (or a 304) started, by source",
        evidence_age,
    );

    let events = Family::<Labels, Counter>::default();
    for (kind, count) in &counts.events {
        events
            .get_or_create(&vec![("kind", kind.clone())])
            .inc_by(u64::try_from(*count).unwrap_or(0));
    }
    registry.register("events", "Events recorded, by kind", events);

    let outbox = Family::<Labels, Gauge>::default();
    for state in ["pending", "failed"] {
        let count = counts
            .outbox
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n);
        outbox
            .get_or_create(&vec![("state", state.to_string())])
            .set(count);
    }
    registry.register(
        "outbox_deliveries",
        "Alert deliveries still to send (pending) or given up (failed)",
        outbox,
    );

    if let Some(last) = daemon.and_then(|d| d.last_sweep.as_ref()) {
        let finished = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        finished.set(seconds_since_epoch(&last.finished_at).unwrap_or(0.0));
        registry.register(
            "last_sweep_finished_timestamp_seconds",
            "When the daemon's last sweep finished",
            finished,
        );
        if let Some(ms) = last.duration_ms {
            let duration = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
            duration.set(ms as f64 / 1000.0);
            registry.register(
                "last_sweep_duration_seconds",
                "How long the daemon's last sweep took, from its first fetch to its checkpoint",
                duration,
            );
        }
        let sources = Family::<Labels, Gauge>::default();
        for (result, count) in [
            ("checked", last.checked),
            ("failed", last.failed),
            ("changed", last.changed),
        ] {
            sources
                .get_or_create(&vec![("result", result.to_string())])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        registry.register(
            "last_sweep_sources",
            "Sources of the daemon's last sweep: checked, failed, changed",
            sources,
        );
    }

    let database = Gauge::<i64>::default();
    database.set(counts.database_bytes);
    registry.register("database_bytes", "Size of the database file", database);
    let ledger = Gauge::<i64>::default();
    ledger.set(counts.ledger_entries);
    registry.register("ledger_entries", "Entries in the evidence ledger", ledger);

    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_database_become_metrics() {
        let counts = MetricCounts {
            attempts: vec![(("failed".into(), "timeout".into()), 3)],
            events: vec![("scope".into(), 2)],
            outbox: vec![("pending".into(), 4)],
            last_confirmed: vec![
                ("bot".into(), "2024-05-01T00:00:00.000Z".into()),
                ("gone".into(), "2024-05-01T00:00:00.000Z".into()),
            ],
            durations: vec![("bot".into(), 0.3)],
            database_bytes: 4096,
            ledger_entries: 9,
        };
        let now = DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let daemon = DaemonStatus {
            pid: 1,
            started_at: "2024-05-01T23:00:00.000Z".into(),
            heartbeat_at: "2024-05-01T23:59:00.000Z".into(),
            next_sweep: None,
            last_sweep: Some(crate::store::SweepSummary {
                finished_at: "2024-05-01T23:30:00.000Z".into(),
                checked: 5,
                failed: 1,
                changed: 2,
                duration_ms: Some(2500),
            }),
        };
        let text = render(&counts, Some(&daemon), None, now).unwrap();
        for line in [
            "scopewatch_attempts_total{outcome=\"failed\",error_class=\"timeout\"} 3",
            "scopewatch_events_total{kind=\"scope\"} 2",
            "scopewatch_outbox_deliveries{state=\"pending\"} 4",
            "scopewatch_outbox_deliveries{state=\"failed\"} 0",
            "scopewatch_evidence_age_seconds{source=\"bot\"} 86400.0",
            "scopewatch_stale{source=\"bot\"} 1",
            "scopewatch_fetch_duration_seconds_bucket{le=\"0.4\",source=\"bot\"} 1",
            "scopewatch_database_bytes 4096",
            "scopewatch_ledger_entries 9",
            "scopewatch_last_sweep_duration_seconds 2.5",
            "scopewatch_last_sweep_sources{result=\"failed\"} 1",
            "scopewatch_build_info{version=",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");

        // With a configuration, `stale` is said of the sources it watches
        // (as the `stale` event is raised), not of one no longer there.
        let config = crate::config::parse(
            "[[source]]\nid = \"bot\"\nurl = \"https://example.com/bot\"\n",
            std::path::Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        let text = render(&counts, None, Some(&config), now).unwrap();
        assert!(
            text.contains("scopewatch_stale{source=\"bot\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("scopewatch_stale{source=\"gone\"}"),
            "{text}"
        );
    }
}
