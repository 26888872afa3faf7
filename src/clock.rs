//! The one place that reads the wall clock, so tests can drive time; and
//! how async code waits for a moment on the runtime's timer.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, in UTC.
#[allow(clippy::disallowed_methods)] // the one sanctioned clock read
pub fn now() -> DateTime<Utc> {
    Utc::now()
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
