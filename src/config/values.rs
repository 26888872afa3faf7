//! Parsers for the value types the configuration uses: cron schedules,
//! durations and byte sizes. Each returns a message that says what to write.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A cron schedule as written, and its parsed form.
#[derive(Debug, Clone)]
pub struct Schedule {
    written: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Accepts the standard 5-field crontab form (`min hour dom month dow`)
    /// and the 6/7-field forms with seconds (and years) first. Day-of-week
    /// numbers follow crontab in every form: 0 or 7 is Sunday, 1 Monday.
    pub fn parse(written: &str) -> Result<Self, String> {
        let fields: Vec<&str> = written.split_whitespace().collect();
        let mut full: Vec<String> = match fields.len() {
            5 => std::iter::once("0")
                .chain(fields.iter().copied())
                .map(String::from)
                .collect(),
            6 | 7 => fields.iter().map(|f| f.to_string()).collect(),
            n => {
                return Err(format!(
                    "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), \
                     or 6-7 with seconds first; {written:?} has {n}. Example: \"0 */6 * * *\""
                ));
            }
        };
        full[5] = crontab_weekdays(&full[5]);
        let cron = cron::Schedule::from_str(&full.join(" ")).map_err(|e| {
            format!(
                "invalid cron schedule {written:?}: {e}. Example: \"0 */6 * * *\" (every 6 hours)"
            )
        })?;
        if cron.upcoming(Utc).next().is_none() {
            return Err(format!("cron schedule {written:?} never fires"));
        }
        Ok(Schedule {
            written: written.to_string(),
            cron,
        })
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&after).next()
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }
}

/// Rewrites crontab day-of-week numbers (0-7, Sunday = 0 or 7) as names,
/// which the cron crate reads without ambiguity. Steps (`*/2`) are kept.
fn crontab_weekdays(field: &str) -> String {
    const NAMES: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    field
        .split(',')
        .map(|part| {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            let range = range
                .split('-')
                .map(|bound| match bound.parse::<usize>() {
                    Ok(n) if n < NAMES.len() => NAMES[n].to_string(),
                    _ => bound.to_string(),
                })
                .collect::<Vec<_>>()
                .join("-");
            match step {
                Some(step) => format!("{range}/{step}"),
                None => range,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a duration such as `30s`, `5m`, `1h 30m`, `250ms`.
pub fn parse_duration(written: &str) -> Result<Duration, String> {
    humantime::parse_duration(written.trim()).map_err(|e| {
        format!("invalid duration {written:?}: {e}. Write a number and a unit, e.g. \"30s\", \"5m\", \"250ms\"")
    })
}

/// Parses a byte size such as `20MiB`, `512 KiB`, `1000000` (bytes).
pub fn parse_size(written: &str) -> Result<u64, String> {
    let trimmed = written.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size {written:?}: use a number and one of B, KB, KiB, MB, MiB, GB, GiB, e.g. \"20MiB\""
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!("invalid size {written:?}: expected a positive number, e.g. \"20MiB\"")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Weekday};

    #[test]
    fn five_field_crontab_with_sunday_zero() {
        let s = Schedule::parse("30 6 * * 0").unwrap();
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let next = s.next_after(saturday).unwrap();
        assert_eq!(next.weekday(), Weekday::Sun);
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 29, 6, 30, 0).unwrap());
        let weekdays = Schedule::parse("0 9 * * 1-5").unwrap();
        assert_eq!(
            weekdays.next_after(saturday).unwrap().weekday(),
            Weekday::Mon
        );
    }

    #[test]
    fn seconds_forms_and_errors() {
        assert!(Schedule::parse("0 0 */6 * * *").is_ok());
        assert!(Schedule::parse("0 0 */6 * * * *").is_ok());
        assert!(Schedule::parse("* * *").unwrap_err().contains("5 fields"));
        assert!(Schedule::parse("61 * * * *").is_err());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_size("20MiB").unwrap(), 20 << 20);
        assert_eq!(parse_size("512 KB").unwrap(), 512_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }
}
