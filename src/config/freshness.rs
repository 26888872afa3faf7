//! `max_age`: how old a source's last good fetch may be before its
//! evidence is stale, the TTL auditors' tools put on every piece of
//! evidence. Per source, else `[daemon] max_age`, else three periods of
//! the source's schedule: a source checked every 6 hours is stale after 18
//! hours without a good fetch, two missed checks and most of a third.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};
use toml::Spanned;

use super::{Config, Schedule, Source, values};

/// Schedule periods a source may go without a good fetch by default.
pub const DEFAULT_PERIODS: u32 = 3;

/// A `max_age` from a minute to ten years.
const RANGE: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(10 * 31_557_600);

impl super::Validator<'_> {
    pub(super) fn max_age(
        &mut self,
        value: Option<&Spanned<String>>,
        key: &str,
    ) -> Option<Duration> {
        self.value(value, key, |s| values::parse_duration_in(s, &RANGE, "7d"))
    }
}

/// Three periods of `schedule` after `now` (the time between its next two
/// firings); a day's when it fires less than twice more.
pub fn default_max_age(schedule: &Schedule, now: DateTime<Utc>) -> Duration {
    let period = schedule
        .next_after(now)
        .and_then(|first| Some((first, schedule.next_after(first)?)))
        .and_then(|(first, second)| (second - first).to_std().ok())
        .unwrap_or(Duration::from_secs(86_400));
    period * DEFAULT_PERIODS
}

impl Config {
    /// The `max_age` of the source `id`: its own or `[daemon] max_age`,
    /// else [`DEFAULT_PERIODS`] of its schedule. A followed page (not
    /// configured itself) has the daemon's.
    pub fn max_age(&self, id: &str, now: DateTime<Utc>) -> Duration {
        self.max_age_of(self.source(id), now)
    }

    /// [`Config::max_age`] of a source already looked up (`None`: a
    /// followed page, or one no longer configured).
    pub fn max_age_of(&self, source: Option<&Source>, now: DateTime<Utc>) -> Duration {
        source
            .and_then(|s| s.max_age)
            .or(self.daemon.max_age)
            .unwrap_or_else(|| {
                let schedule = source
                    .and_then(|s| s.schedule.as_deref())
                    .unwrap_or(&self.daemon.schedule);
                default_max_age(schedule, now)
            })
    }
}

/// When the evidence of the source `id`, whose last good fetch started at
/// `last_good` (RFC 3339), went stale, if it has by `now`: that fetch
/// plus its `max_age` ([`Config::max_age`]; without a configuration,
/// three periods of the default schedule).
pub fn stale_since(
    config: Option<&Config>,
    id: &str,
    last_good: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last = DateTime::parse_from_rfc3339(last_good).ok()?;
    let max_age = match config {
        Some(config) => config.max_age(id, now),
        None => {
            let schedule =
                Schedule::parse(super::defaults::SCHEDULE).expect("the default schedule parses");
            default_max_age(&schedule, now)
        }
    };
    let stale_at = crate::clock::after(last.with_timezone(&Utc), max_age);
    (stale_at < now).then_some(stale_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn max_age_is_the_sources_the_daemons_or_three_periods() {
        let config = super::super::parse(
            "[daemon]\nschedule = \"0 */6 * * *\"\n\
             [[source]]\nid = \"a\"\nurl = \"https://example.com/a\"\nmax_age = \"7d\"\n\
             [[source]]\nid = \"b\"\nurl = \"https://example.com/b\"\n\
             [[source]]\nid = \"c\"\nurl = \"https://example.com/c\"\nschedule = \"0 6 * * *\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        let now = at("2024-05-01T01:00:00Z");
        assert_eq!(config.max_age("a", now), Duration::from_secs(7 * 86_400));
        assert_eq!(config.max_age("b", now), Duration::from_secs(18 * 3600));
        assert_eq!(config.max_age("c", now), Duration::from_secs(3 * 86_400));
        assert_eq!(
            config.max_age("a~followed", now),
            Duration::from_secs(18 * 3600)
        );
        let with_daemon = super::super::parse(
            "[daemon]\nmax_age = \"2d\"\n[[source]]\nid = \"b\"\nurl = \"https://example.com/b\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        assert_eq!(
            with_daemon.max_age("b", now),
            Duration::from_secs(2 * 86_400)
        );
        let error = super::super::parse(
            "[[source]]\nid = \"b\"\nurl = \"https://example.com/b\"\nmax_age = \"5s\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("source[0].max_age"), "{error}");
    }
}
