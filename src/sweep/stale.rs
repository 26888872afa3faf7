//! Evidence freshness as an alert: every source whose last confirmed
//! fetch (a page, or a 304) is older than its `max_age` (see
//! [`crate::config::freshness`]) gets one `stale` event per stale spell,
//! routed like any other event; a confirmed fetch ends the spell. Checked
//! for every source, due or not, after each sweep and while the daemon
//! waits between sweeps, so a source whose schedule is longer than its
//! `max_age`, or that the daemon stopped fetching, still raises it.

use chrono::{DateTime, Utc};

use crate::clock;
use crate::config::Config;
use crate::config::freshness::Freshness;
use crate::detect::{EventDraft, EventKind};
use crate::record::raised::{StaleDraft, file_stale};
use crate::store::{EventRow, LastConfirmed, StoreHandle};

/// The `stale` events `last_confirmed` calls for at `now`: one per source
/// that `config` watches (configured, or followed from a configured page)
/// and whose last confirmed fetch is older than its `max_age`. Whether its
/// spell already has one is the store's to say.
pub fn stale_drafts(
    config: &Config,
    last_confirmed: &[LastConfirmed],
    now: DateTime<Utc>,
) -> Vec<StaleDraft> {
    let judge = Freshness::new(Some(config));
    last_confirmed
        .iter()
        .filter_map(|good| {
            let stale_at = judge.stale_since(&good.source, &good.started_at, now)?;
            let max_age = judge.max_age(&good.source, now);
            Some(StaleDraft {
                source: good.source.clone(),
                last_confirmed_record: good.record_id,
                draft: EventDraft {
                    kind: EventKind::Stale,
                    summary: format!(
                        "no page or 304 since {} (snapshot {}): older than its max_age of {}, stale since {}",
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
    let routes = crate::alert::routes(&config.alerts);
    let candidates = {
        let last_confirmed = match store.call(|store| store.last_confirmed_fetches()).await {
            Ok(last_confirmed) => last_confirmed,
            Err(e) => {
                tracing::warn!("cannot read the last confirmed fetches to find stale sources: {e}");
                return Vec::new();
            }
        };
        stale_drafts(config, &last_confirmed, clock::now())
    };
    if candidates.is_empty() {
        return Vec::new();
    }
    let now = clock::format(clock::now());
    match store
        .call(move |store| file_stale(store, &candidates, &routes, &now))
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
    use crate::record::AttemptResult;
    use crate::store::Store;
    use std::path::Path;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn good(source: &str, record_id: i64, started_at: &str) -> LastConfirmed {
        LastConfirmed {
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
                // A followed page of `a`: its parent's hour.
                good("a~example.com-x", 3, "2024-05-01T10:30:00.000Z"),
                // No longer configured.
                good("gone", 4, "2020-01-01T00:00:00.000Z"),
            ],
            now,
        );
        let stale: Vec<(&str, i64)> = drafts
            .iter()
            .map(|d| (d.source.as_str(), d.last_confirmed_record))
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

    #[test]
    fn a_followed_page_has_its_parents_max_age() {
        // The daemon's schedule is every 6 hours (18 hours' max_age); the
        // parent, and so the pages it follows, weekly (three weeks').
        let config = crate::config::parse(
            "[daemon]\nschedule = \"0 */6 * * *\"\n\
             [[source]]\nid = \"weekly\"\nurl = \"https://example.com/w\"\n\
             schedule = \"0 6 * * 1\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        let now = at("2024-05-01T12:00:00Z");
        let last_confirmed = [
            good("weekly~example.com-fresh", 1, "2024-04-24T12:00:00.000Z"),
            good("weekly~example.com-old", 2, "2024-04-01T12:00:00.000Z"),
        ];
        let drafts = stale_drafts(&config, &last_confirmed, now);
        let stale: Vec<&str> = drafts.iter().map(|d| d.source.as_str()).collect();
        assert_eq!(stale, ["weekly~example.com-old"]);
        let details = drafts[0].draft.details.as_ref().unwrap();
        assert_eq!(details["max_age_seconds"], 21 * 86_400);
        // `sources` says the same.
        let judge = Freshness::new(Some(&config));
        assert!(
            judge
                .stale_since(
                    "weekly~example.com-fresh",
                    &last_confirmed[0].started_at,
                    now
                )
                .is_none()
        );
    }

    #[test]
    fn a_source_answering_304_stays_fresh_and_an_outage_raises_one_event() {
        let config = crate::config::parse(
            "[[source]]\nid = \"a\"\nurl = \"https://example.com/a\"\nmax_age = \"1h\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let start = at("2024-05-01T00:00:00Z");
        let minutes = |m: i64| start + chrono::Duration::minutes(m);
        let fetch = |store: &mut Store, status: u16, m: i64| {
            let mut attempt = crate::record::tests::attempt("a", b"the page");
            attempt.capture.started_at = minutes(m);
            attempt.capture.finished_at = minutes(m);
            attempt.capture.status = Some(status);
            attempt.capture.response_headers = vec![("etag".into(), "\"v1\"".into())];
            match status {
                304 => {
                    attempt.capture.request_headers =
                        vec![("if-none-match".into(), "\"v1\"".into())];
                    attempt.result = AttemptResult::NotModified;
                }
                200 => {}
                _ => {
                    attempt.result = AttemptResult::Failed {
                        body: None,
                        class: "http-status".into(),
                        message: format!("HTTP {status}"),
                    };
                }
            }
            crate::record::record_attempt(store, &attempt).unwrap();
        };
        let check = |store: &mut Store, m: i64| -> usize {
            let now = minutes(m);
            let drafts = stale_drafts(&config, &store.last_confirmed_fetches().unwrap(), now);
            crate::record::raised::file_stale(store, &drafts, &[], &clock::format(now))
                .unwrap()
                .len()
        };
        fetch(&mut store, 200, 0);
        // A 304 every 40 minutes, for more than three max_ages: fresh.
        for m in (40..=200).step_by(40) {
            fetch(&mut store, 304, m);
            assert_eq!(check(&mut store, m + 5), 0, "stale at minute {}", m + 5);
        }
        // Then it fails: stale an hour after the last 304, once.
        for m in [240, 280, 320, 360] {
            fetch(&mut store, 503, m);
        }
        assert_eq!(check(&mut store, 250), 0);
        assert_eq!(check(&mut store, 290), 1);
        assert_eq!(check(&mut store, 330), 0);
        assert_eq!(check(&mut store, 370), 0);
    }
}
