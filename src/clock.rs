//! The one place that reads the wall clock, so tests can drive time; the
//! demo's replayed clock; and how async code waits for a moment on the
//! runtime's timer.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// The replayed time [`now`] reads, as Unix milliseconds; [`NOT_REPLAYED`]:
/// the wall clock.
static REPLAYED_MS: AtomicI64 = AtomicI64::new(NOT_REPLAYED);
const NOT_REPLAYED: i64 = i64::MIN;

/// Now, in UTC: the wall clock, or while `scopewatch demo` replays its
/// bundled page versions, the date it is replaying (see [`replay`]).
pub fn now() -> DateTime<Utc> {
    replayed().unwrap_or_else(wall_now)
}

/// The wall clock, whatever is replayed.
#[allow(clippy::disallowed_methods)] // the one sanctioned clock read
pub fn wall_now() -> DateTime<Utc> {
    Utc::now()
}

/// Sets the clock [`now`] reads to `at`, until [`stop_replay`]. Only
/// `scopewatch demo` replays: it fetches from its own loopback server the
/// page versions published by `at`, so their records, events and scope
/// carry the dates the versions were published (`scope --at` answers for
/// those dates), and each record made meanwhile is marked replayed in the
/// store (`history` shows it). Never set for real fetches.
pub fn replay(at: DateTime<Utc>) {
    REPLAYED_MS.store(at.timestamp_millis(), Ordering::Relaxed);
}

/// Back to the wall clock.
pub fn stop_replay() {
    REPLAYED_MS.store(NOT_REPLAYED, Ordering::Relaxed);
}

/// The replayed time, while the demo replays.
pub fn replayed() -> Option<DateTime<Utc>> {
    match REPLAYED_MS.load(Ordering::Relaxed) {
        NOT_REPLAYED => None,
        ms => Utc.timestamp_millis_opt(ms).single(),
    }
}

/// Waits until `deadline`, or not at all when it is already due: tokio's
/// timer rounds a deadline up to its next millisecond tick, so sleeping
/// until "now" would idle for up to 1 ms (once per request, in a sweep).
pub async fn sleep_until_due(deadline: tokio::time::Instant) {
    if deadline > tokio::time::Instant::now() {
        tokio::time::sleep_until(deadline).await;
    }
}

/// The timestamp format stored and printed everywhere: RFC 3339, UTC,
/// milliseconds (`2026-11-28T23:30:00.123Z`); it sorts as text.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time, a date (`2026-11-28`, midnight UTC) or a
/// duration back from now (`7d`, `12h`), as accepted by `--since`/`--at`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        let ago = chrono::Duration::from_std(ago).map_err(|e| e.to_string())?;
        return Ok(now - ago);
    }
    Err(format!(
        "{text:?} is not a time: write RFC 3339 (2026-11-28T06:00:00Z), a date (2026-11-28) or a duration ago (7d, 12h)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_the_three_forms() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert_eq!(
            parse_time("2026-11-27", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("12h", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("2026-11-28T06:00:00+01:00", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 5, 0, 0).unwrap()
        );
        assert!(parse_time("yesterday-ish", now).is_err());
        assert_eq!(format(now), "2026-11-28T12:00:00.000Z");
    }
}
