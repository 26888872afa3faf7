//! `max_age`: how old a source's last confirmed fetch (a page, or a 304)
//! may be before its evidence is stale, the TTL auditors' tools put on
//! every piece of evidence. Per source, else `[daemon] max_age`, else three
//! periods of the source's schedule: a source checked every 6 hours is
//! stale after 18 hours without a good fetch, two missed checks and most
//! of a third. A followed page is fetched on its parent's schedule and has
//! its parent's `max_age`. Only the sources a configuration watches are
//! judged: the same rule for the `stale` event, `sources`, the web view
//! and `/metrics`.

use std::collections::HashMap;
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

/// Judges the freshness of many sources against one configuration (or
/// none): which source watches each, and so its `max_age`. Sources are
/// looked up by id in a map, as [`Config::source`] scans the list.
pub struct Freshness<'c> {
    config: Option<&'c Config>,
    configured: HashMap<&'c str, &'c Source>,
}

impl<'c> Freshness<'c> {
    pub fn new(config: Option<&'c Config>) -> Freshness<'c> {
        let configured = config
            .iter()
            .flat_map(|c| &c.sources)
            .map(|s| (s.id.as_str(), s))
            .collect();
        Freshness { config, configured }
    }

    /// The configured source that has `id` fetched: `id` itself, or for a
    /// followed page `PARENT~...` its parent, whose sweep fetches it.
    /// `None`: no longer watched (or no configuration).
    pub fn watching(&self, id: &str) -> Option<&'c Source> {
        self.configured.get(id).copied().or_else(|| {
            let (parent, _) = id.split_once('~')?;
            self.configured.get(parent).copied()
        })
    }

    /// Whether the source `id` is judged at all: watched by the
    /// configuration, or there is no configuration to say.
    pub fn is_judged(&self, id: &str) -> bool {
        self.config.is_none() || self.watching(id).is_some()
    }

    /// The `max_age` of the source `id`: that of the source watching it,
    /// its own or `[daemon] max_age`, else [`DEFAULT_PERIODS`] of its
    /// schedule; without a configuration, three periods of the default
    /// schedule.
    pub fn max_age(&self, id: &str, now: DateTime<Utc>) -> Duration {
        match self.config {
            Some(config) => config.max_age_of(self.watching(id), now),
            None => {
                let schedule = Schedule::parse(super::defaults::SCHEDULE)
                    .expect("the default schedule parses");
                default_max_age(&schedule, now)
            }
        }
    }

    /// When the evidence of the source `id`, whose last confirmed fetch
    /// started at `last_confirmed` (RFC 3339), went stale, if it has by
    /// `now`: that fetch plus its [`Freshness::max_age`]. Never for a
    /// source not judged ([`Freshness::is_judged`]).
    pub fn stale_since(
        &self,
        id: &str,
        last_confirmed: &str,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if !self.is_judged(id) {
            return None;
        }
        let last = DateTime::parse_from_rfc3339(last_confirmed).ok()?;
        let stale_at = crate::clock::after(last.with_timezone(&Utc), self.max_age(id, now));
        (stale_at < now).then_some(stale_at)
    }
}

impl Config {
    /// The `max_age` of the pages `source` watches (`None`: a page no
    /// configured source watches): its own or `[daemon] max_age`, else
    /// [`DEFAULT_PERIODS`] of its schedule.
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
        let judge = Freshness::new(Some(&config));
        assert_eq!(judge.max_age("a", now), Duration::from_secs(7 * 86_400));
        assert_eq!(judge.max_age("b", now), Duration::from_secs(18 * 3600));
        assert_eq!(judge.max_age("c", now), Duration::from_secs(3 * 86_400));
        // A followed page has its parent's, whose sweep fetches it.
        assert_eq!(
            judge.max_age("a~followed", now),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            judge.max_age("c~followed", now),
            Duration::from_secs(3 * 86_400)
        );
        // One no longer watched has the daemon's.
        assert_eq!(judge.max_age("gone", now), Duration::from_secs(18 * 3600));
        assert!(judge.watching("gone~followed").is_none());
        assert!(!judge.is_judged("gone") && judge.is_judged("c~followed"));
        let with_daemon = super::super::parse(
            "[daemon]\nmax_age = \"2d\"\n[[source]]\nid = \"b\"\nurl = \"https://example.com/b\"\n",
            Path::new("/etc/scopewatch/s.toml"),
        )
        .unwrap();
        assert_eq!(
            Freshness::new(Some(&with_daemon)).max_age("b", now),
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
