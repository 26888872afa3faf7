//! Parsers for the value types the configuration uses: cron schedules,
//! durations and byte sizes. Each returns a message that says what to write.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A cron schedule as written, and its parsed form.
#[derive(Debug, Clone)]
pub struct Schedule {
    written: String,
    /// One schedule; two when both day fields are restricted, since
    /// crontab fires on a day matching either and the cron crate needs
    /// both: one per day field, the other field left as `*`.
    crons: Vec<cron::Schedule>,
}

impl Schedule {
    /// Accepts the standard 5-field crontab form (`min hour dom month dow`)
    /// and the 6/7-field forms with seconds (and years) first, with
    /// crontab's meaning in every form: day-of-week 0 or 7 is Sunday, 1
    /// Monday; when day-of-month and day-of-week are both restricted, a day
    /// matching either fires.
    pub fn parse(written: &str) -> Result<Self, String> {
        Self::parse_located(written).map_err(|e| e.message)
    }

    /// [`Schedule::parse`], with where in `written` the problem is.
    pub fn parse_located(written: &str) -> Result<Self, ScheduleError> {
        let whole = |message: String| ScheduleError { message, at: None };
        check_fields(written)?;
        let fields: Vec<&str> = written.split_whitespace().collect();
        let mut full: Vec<String> = match fields.len() {
            5 => std::iter::once("0")
                .chain(fields.iter().copied())
                .map(String::from)
                .collect(),
            6 | 7 => fields.iter().map(|f| f.to_string()).collect(),
            n => {
                return Err(whole(format!(
                    "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), \
                     or 6-7 with seconds first; {written:?} has {n}. Example: \"0 */6 * * *\""
                )));
            }
        };
        full[5] = crontab_weekdays(&full[5]);
        let restricted = |field: &str| !field.starts_with(['*', '?']);
        let variants = if restricted(&full[3]) && restricted(&full[5]) {
            let mut by_month_day = full.clone();
            by_month_day[5] = "*".into();
            let mut by_weekday = full;
            by_weekday[3] = "*".into();
            vec![by_month_day, by_weekday]
        } else {
            vec![full]
        };
        let crons = variants
            .iter()
            .map(|fields| {
                // The crate's message quotes its own form of the schedule
                // (seconds first): only its last line is about what was written.
                cron::Schedule::from_str(&fields.join(" ")).map_err(|e| {
                    let text = e.to_string();
                    let reason = text.lines().last().unwrap_or(&text).trim();
                    whole(format!(
                        "invalid cron schedule {written:?}: {reason}. Example: \"0 */6 * * *\" (every 6 hours)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schedule = Schedule {
            written: written.to_string(),
            crons,
        };
        if schedule.next_after(crate::clock::now()).is_none() {
            return Err(whole(format!("cron schedule {written:?} never fires")));
        }
        Ok(schedule)
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.crons
            .iter()
            .filter_map(|cron| cron.after(&after).next())
            .min()
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }
}

/// Why a schedule was refused, and where in what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub message: String,
    /// The byte offset of the field at fault, when one is.
    pub at: Option<usize>,
}

/// Checks each field's numbers against its range, naming the field as
/// crontab does ("hour 25 is out of range 0-23"), before the cron crate
/// reads it in its own form. Forms other than numbers, names, `*`, `?`,
/// ranges, lists and steps are left to the crate.
fn check_fields(written: &str) -> Result<(), ScheduleError> {
    const FIVE: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day-of-month", 1, 31),
        ("month", 1, 12),
        ("day-of-week", 0, 7),
    ];
    let fields = field_offsets(written);
    let names: Vec<(&str, u32, u32)> = match fields.len() {
        5 => FIVE.to_vec(),
        6 | 7 => std::iter::once(("second", 0, 59))
            .chain(FIVE)
            .chain(std::iter::once(("year", 1970, 2099)))
            .take(fields.len())
            .collect(),
        _ => return Ok(()),
    };
    for ((at, field), (name, low, high)) in fields.into_iter().zip(names) {
        let fault = |message: String| ScheduleError {
            message: format!("{message} in {written:?}. Example: \"0 */6 * * *\" (every 6 hours)"),
            at: Some(at),
        };
        let named = matches!(name, "month" | "day-of-week");
        for part in field.split(',') {
            // A step (after '/') is a count, not a value of the field.
            let range = part.split_once('/').map_or(part, |(range, _)| range);
            for value in range.split('-').filter(|v| !matches!(*v, "" | "*" | "?")) {
                match value.parse::<u64>() {
                    Ok(n) if n < u64::from(low) || n > u64::from(high) => {
                        return Err(fault(format!("{name} {n} is out of range {low}-{high}")));
                    }
                    Ok(_) => {}
                    Err(_) if named && value.chars().all(|c| c.is_ascii_alphabetic()) => {}
                    Err(_) => {
                        let or_name = if named { " or a name" } else { "" };
                        return Err(fault(format!("{name} {value:?} is not a number{or_name}")));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The whitespace-separated fields of `text` with their byte offsets.
fn field_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                fields.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        fields.push((s, &text[s..]));
    }
    fields
}

/// Rewrites crontab day-of-week numbers (0-7, Sunday = 0 or 7) as the
/// list of day names they select, which the cron crate reads without
/// ambiguity: `1-5` is `Mon,Tue,Wed,Thu,Fri`, `6-7` `Sat,Sun`, `1-7/2`
/// `Mon,Wed,Fri,Sun`. Parts with names or `*` are kept as written, and
/// anything else is left for the crate to refuse.
fn crontab_weekdays(field: &str) -> String {
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    field
        .split(',')
        .map(|part| match weekday_numbers(part) {
            Some(days) => days
                .into_iter()
                .map(|day| NAMES[day % 7])
                .collect::<Vec<_>>()
                .join(","),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The day numbers (0-7) a numeric crontab day-of-week part selects:
/// `N`, `N-M`, `N-M/S` or `N/S` (N to 7); `None` for any other form.
fn weekday_numbers(part: &str) -> Option<Vec<usize>> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, step.parse::<usize>().ok().filter(|s| *s > 0)?),
        None => (part, 1),
    };
    let day = |text: &str| text.parse::<usize>().ok().filter(|d| *d <= 7);
    let (first, last) = match range.split_once('-') {
        Some((first, last)) => (day(first)?, day(last)?),
        None if part.contains('/') => (day(range)?, 7),
        None => (day(range)?, day(range)?),
    };
    (first <= last).then(|| (first..=last).step_by(step).collect())
}

/// Parses a duration such as `30s`, `5m`, `1h 30m`, `250ms`.
pub fn parse_duration(written: &str) -> Result<Duration, String> {
    humantime::parse_duration(written.trim()).map_err(|e| {
        format!("invalid duration {written:?}: {e}. Write a number and a unit, e.g. \"30s\", \"5m\", \"250ms\"")
    })
}

/// A day: the longest a delay or a timeout may be.
const DAY: Duration = Duration::from_secs(86_400);

/// Delays (jitter, backoff, host_delay): none up to a day.
pub const DELAYS: RangeInclusive<Duration> = Duration::ZERO..=DAY;

/// Timeouts: a second up to a day; a shorter one fails every request.
pub const TIMEOUTS: RangeInclusive<Duration> = Duration::from_secs(1)..=DAY;

/// `[evidence] tsa_timeout`: a second up to a minute. The daemon asks the
/// TSA after each sweep, inside its loop, and the shipped unit's watchdog
/// (`WatchdogSec=5min`) restarts a loop that makes no progress for its
/// interval. The loop beats at the end of a sweep, so signing the
/// checkpoint and a stamp of at most a minute keep it silent for well under
/// half the interval; TSAs answer in under a second.
pub const TSA_TIMEOUTS: RangeInclusive<Duration> = Duration::from_secs(1)..=Duration::from_secs(60);

/// Periods (reminders, retention): up to a century (of 365.25-day years),
/// which dates still hold.
pub const PERIODS: RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(100 * 31_557_600);

/// Parses a duration that must lie in `range`; `example` is what to write
/// instead when it does not.
pub fn parse_duration_in(
    written: &str,
    range: &RangeInclusive<Duration>,
    example: &str,
) -> Result<Duration, String> {
    let duration = parse_duration(written)?;
    let (bound, limit) = if duration < *range.start() {
        ("at least", range.start())
    } else if duration > *range.end() {
        ("at most", range.end())
    } else {
        return Ok(duration);
    };
    Err(format!(
        "must be {bound} {} (not {written:?}): write e.g. {example:?}",
        humantime::format_duration(*limit)
    ))
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
    fn crontab_weekday_ranges_may_end_at_seven() {
        assert_eq!(crontab_weekdays("6-7"), "Sat,Sun");
        assert_eq!(crontab_weekdays("1-7/2"), "Mon,Wed,Fri,Sun");
        assert_eq!(crontab_weekdays("0,3"), "Sun,Wed");
        assert_eq!(crontab_weekdays("*"), "*");
        assert_eq!(crontab_weekdays("mon-fri"), "mon-fri");
        let weekend = Schedule::parse("0 6 * * 6-7").unwrap();
        let friday = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let days: Vec<Weekday> =
            std::iter::successors(weekend.next_after(friday), |t| weekend.next_after(*t))
                .take(3)
                .map(|t| t.weekday())
                .collect();
        assert_eq!(days, [Weekday::Sat, Weekday::Sun, Weekday::Sat]);
        // A range the wrong way round is still refused, by the crate.
        assert!(Schedule::parse("0 6 * * 5-2").is_err());
    }

    #[test]
    fn both_day_fields_restricted_fire_on_either_as_in_crontab() {
        // The 1st and 15th of the month, and every Monday.
        let s = Schedule::parse("0 6 1,15 * 1").unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let fires: Vec<(u32, Weekday)> =
            std::iter::successors(s.next_after(start), |t| s.next_after(*t))
                .take(4)
                .map(|t| (t.day(), t.weekday()))
                .collect();
        assert_eq!(
            fires,
            [
                (30, Weekday::Mon),
                (1, Weekday::Tue),
                (7, Weekday::Mon),
                (14, Weekday::Mon)
            ]
        );
        // One restricted day field: just that one.
        let s = Schedule::parse("0 6 1 * *").unwrap();
        assert_eq!(s.next_after(start).unwrap().day(), 1);
    }

    #[test]
    fn a_value_out_of_range_is_named_by_its_field_where_it_was_written() {
        let err = Schedule::parse_located("0 25 * * *").unwrap_err();
        assert!(
            err.message
                .starts_with("hour 25 is out of range 0-23 in \"0 25 * * *\""),
            "{}",
            err.message
        );
        assert_eq!(err.at, Some(2));
        let err = Schedule::parse_located("*/5  3 32 * *").unwrap_err();
        assert!(
            err.message
                .starts_with("day-of-month 32 is out of range 1-31")
        );
        assert_eq!(err.at, Some(7));
        let err = Schedule::parse_located("0 0 0 1 1-13 *").unwrap_err();
        assert!(err.message.starts_with("month 13 is out of range 1-12"));
        let err = Schedule::parse_located("x * * * *").unwrap_err();
        assert!(err.message.starts_with("minute \"x\" is not a number in"));
        assert_eq!(err.at, Some(0));
        assert!(Schedule::parse("0 1-23/2 * * *").is_ok());
        assert!(Schedule::parse("0 6 * jan-mar mon-fri").is_ok());
        assert!(Schedule::parse("0 6 * * 7").is_ok());
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
        assert_eq!(
            parse_duration_in("0s", &TIMEOUTS, "30s").unwrap_err(),
            r#"must be at least 1s (not "0s"): write e.g. "30s""#
        );
        assert_eq!(
            parse_duration_in("300000000000y", &DELAYS, "100ms").unwrap_err(),
            r#"must be at most 1day (not "300000000000y"): write e.g. "100ms""#
        );
        assert_eq!(
            parse_duration_in("1d", &DELAYS, "5m"),
            Ok(Duration::from_secs(86_400))
        );
        assert_eq!(parse_size("20MiB").unwrap(), 20 << 20);
        assert_eq!(parse_size("512 KB").unwrap(), 512_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }
}
