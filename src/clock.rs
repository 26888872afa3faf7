//! The one place that reads the wall clock, so tests can drive time; the
//! demo's replayed clock; how async code waits for a moment on the
//! runtime's timer; and the daemon's heartbeat, a monotonic mark of its
//! last progress.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, SecondsFormat, TimeZone, Utc};

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

/// When the daemon's scheduler loop last made progress, on the monotonic
/// clock (a wall clock step must not look like a stall): the watchdog
/// pings systemd, and `/readyz` answers ready, only while it is recent.
#[derive(Debug)]
pub struct Heartbeat(Mutex<Instant>);

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat(Mutex::new(Instant::now()))
    }
}

impl Heartbeat {
    pub fn beat(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    pub fn age(&self) -> Duration {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
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
/// A time outside the years 0000-9999 is refused: stored timestamps are
/// compared as text, which holds only for four-digit years (and a duration
/// that reaches back further than chrono can count would overflow).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let out_of_range = || {
        format!(
            "{text:?} is outside the years 0000-9999 that scopewatch stores: write a later date (2026-11-28) or a shorter duration (7d, 12h)"
        )
    };
    let time = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    } else if let Ok(ago) = humantime::parse_duration(text) {
        chrono::Duration::from_std(ago)
            .ok()
            .and_then(|ago| now.checked_sub_signed(ago))
            .ok_or_else(out_of_range)?
    } else if let Err(humantime::DurationError::NumberOverflow) = humantime::parse_duration(text) {
        return Err(out_of_range());
    } else {
        return Err(format!(
            "{text:?} is not a time: write RFC 3339 (2026-11-28T06:00:00Z), a date (2026-11-28) or a duration ago (7d, 12h)"
        ));
    };
    if (0..=9999).contains(&time.year()) {
        Ok(time)
    } else {
        Err(out_of_range())
    }
}

/// `at` plus `delay`, or the latest time there is when that overflows
/// (a delay comes from the configuration, bounded, or from a peer).
pub fn after(at: DateTime<Utc>, delay: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| at.checked_add_signed(delay))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
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

    /// Durations and dates at and past every limit (chrono's range, the
    /// four-digit years, u64 seconds) are refused with a message, never a
    /// panic; then random numbers with every unit, from a printed seed
    /// (`SCOPEWATCH_TEST_SEED` replays one).
    #[test]
    fn extreme_times_are_refused_not_a_panic() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        for text in [
            "300000000d",
            "3000000d",
            "18446744073709551615s",
            "18446744073709551615ms",
            "584542046090y",
            "9999999999999999999999d",
            "-0001-01-01",
            "10000-01-01",
            "+262143-12-31",
            "-262144-01-01",
            "262144-01-01T00:00:00Z",
        ] {
            for at in [now, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                let parsed = parse_time(text, at);
                assert!(
                    parsed
                        .as_ref()
                        .map_or(true, |t| (0..=9999).contains(&t.year())),
                    "{text} at {at}: {parsed:?}"
                );
            }
            assert!(parse_time(text, now).is_err(), "{text}");
        }
        assert_eq!(
            parse_time("3000000d", now).unwrap_err(),
            r#""3000000d" is outside the years 0000-9999 that scopewatch stores: write a later date (2026-11-28) or a shorter duration (7d, 12h)"#
        );
        assert!(parse_time("0000-01-01", now).is_ok());
        assert!(parse_time("9999-12-31T23:59:59Z", now).is_ok());

        let seed = std::env::var("SCOPEWATCH_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fastrand::u64(..));
        println!("seed {seed} (SCOPEWATCH_TEST_SEED={seed} replays it)");
        let mut rng = fastrand::Rng::with_seed(seed);
        let units = [
            "ns", "us", "ms", "s", "m", "h", "d", "w", "M", "y", "min", "days",
        ];
        for _ in 0..20_000 {
            let digits = rng.usize(1..=22);
            let number: String = (0..digits)
                .map(|_| char::from(b'0' + rng.u8(..10)))
                .collect();
            let text = format!("{number}{}", units[rng.usize(..units.len())]);
            let at = [now, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC][rng.usize(..3)];
            if let Ok(t) = parse_time(&text, at) {
                assert!((0..=9999).contains(&t.year()), "{text}: {t}");
            }
        }
        assert_eq!(
            after(DateTime::<Utc>::MAX_UTC, std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
