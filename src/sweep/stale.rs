//! Evidence freshness as an alert: every source whose last good fetch is
//! older than its `max_age` (see [`crate::config::freshness`]) gets one
//! `stale` event per stale spell, routed like any other event; a good
//! fetch ends the spell. Checked for every source, due or not, after each
//! sweep and while the daemon waits between sweeps, so a source whose
//! schedule is longer than its `max_age`, or that the daemon stopped
//! fetching, still raises it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::clock;
use crate::config::{Config, Source};
use crate::detect::{EventDraft, EventKind};
use crate::store::{EventRow, LastGoodRecord, StaleDraft, StoreHandle};

/// The `stale` events `last_good` calls for at `now`: one per source that
/// is configured (or followed from a configured page) and whose last good
/// fetch is older than its `max_age`. Whether its spell already has one is
/// the store's to say.
pub fn stale_drafts(
    config: &Config,
    last_good: &[LastGoodRecord],
    now: DateTime<Utc>,
) -> Vec<StaleDraft> {
    // One lookup per source: `Config::source` is a scan of the list.
    let configured: HashMap<&str, &Source> =
        config.sources.iter().map(|s| (s.id.as_str(), s)).collect();
    last_good
        .iter()
        .filter_map(|good| {
            let source = configured.get(good.source.as_str()).copied();
            // A followed page `PARENT~...` is watched while its parent is.
            let parent = good.source.split_once('~').map(|(parent, _)| parent);
            if source.is_none() && !parent.is_some_and(|p| configured.contains_key(p)) {
                return None;
            }
            let last = DateTime::parse_from_rfc3339(&good.started_at)
                .ok()?
                .with_timezone(&Utc);
            let max_age = config.max_age_of(source, now);
            let stale_at = clock::after(last, max_age);
            (stale_at < now).then(|| StaleDraft {
                source: good.source.clone(),
                last_good_record: good.record_id,
                draft: EventDraft {
                    kind: EventKind::Stale,
                    summary: format!(
                        "no good fetch since {} (snapshot {}): older than its max_age of {}, stale since {}",
                        good.started_at,
                        good.record_id,
                        humantime::format_duration(max_age),
                        clock::format(stale_at),
                    ),
                    from_record: Some(good.record_id),
                    diff: None,
                    severity: None,
                    details: Some(serde_json::json!({
                        "last_good_at": good.started_at,
                        "stale_since": clock::format(stale_at),
                        "max_age_seconds": max_age.as_secs(),
                    })),
                },
            })
        })
        .collect()
}

/// Raises the `stale` events due at the time of the clock for every
/// source of `config`; a store error is logged, never fatal.
pub async fn raise_stale(store: &StoreHandle, config: &Config) -> Vec<EventRow> {
    let routes = crate::config::alerts::routes(&config.alerts);
    let candidates = {
        let last_good = match store.call(|store| store.last_good_records()).await {
            Ok(last_good) => last_good,
            Err(e) => {
                tracing::warn!("cannot read the last good fetches to find stale sources: {e}");
                return Vec::new();
            }
        };
        stale_drafts(config, &last_good, clock::now())
    };
    if candidates.is_empty() {
        return Vec::new();
    }
    let now = clock::format(clock::now());
    match store
        .call(move |store| store.raise_stale(&candidates, &routes, &now))
        .await
    {
        Ok(raised) => {
            for event in &raised {
                tracing::warn!(source = %event.source, kind = %event.kind, "{}", event.summary);
            }
            raised
        }
        Err(e) => {
            tracing::warn!("cannot raise the stale events: {e}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn good(source: &str, record_id: i64, started_at: &str) -> LastGoodRecord {
        LastGoodRecord {
            source: source.into(),
            record_id,
            started_at: started_at.into(),
        }
    }

    #[test]
    fn configured_and_followed_sources_older_than_their_max_age_are_stale() {
        let config = crate::config::parse(
            "[[source]]\nid = \"a\"\nurl = \"https://example.com/a\"\nmax_age = \"1h\"\n\
             [[source]]\nid = \"b\"\nurl = \"https://example.com/b\"\nmax_age = \"7d\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let drafts = stale_drafts(
            &config,
            &[
                good("a", 1, "2024-05-01T10:00:00.000Z"),
                // Within its week.
                good("b", 2, "2024-04-30T10:00:00.000Z"),
                // A followed page of `a`: the daemon's default, a day's
                // three periods of the default schedule.
                good("a~example.com-x", 3, "2024-04-20T10:00:00.000Z"),
                // No longer configured.
                good("gone", 4, "2020-01-01T00:00:00.000Z"),
            ],
            now,
        );
        let stale: Vec<(&str, i64)> = drafts
            .iter()
            .map(|d| (d.source.as_str(), d.last_good_record))
            .collect();
        assert_eq!(stale, [("a", 1), ("a~example.com-x", 3)]);
        let first = &drafts[0].draft;
        assert_eq!(first.kind, EventKind::Stale);
        assert_eq!(first.from_record, Some(1));
        let details = first.details.as_ref().unwrap();
        assert_eq!(details["stale_since"], "2024-05-01T11:00:00.000Z");
        assert_eq!(details["max_age_seconds"], 3600);
        assert!(first.summary.contains("max_age of 1h"), "{}", first.summary);
    }
}
