//! Alerts: which channels an event goes to ([`route`]), what the messages
//! say ([`payload`]), how each channel kind sends them ([`channel`]), and
//! the dispatcher that drains the outbox with capped exponential backoff
//! ([`dispatch`]); what a channel is, as the configuration builds it
//! ([`settings`]). Deliveries are enqueued by the store in the same
//! transaction as their events, so a crash neither loses nor invents one.

pub mod channel;
pub mod dispatch;
pub mod payload;
pub mod route;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

pub use dispatch::{Dispatcher, RoundReport};
pub use route::{Filter, Route, Severity, Subject, channels_for, event_severity};
pub use settings::{Attestation, Channel, ChannelKind, EmailSettings, Expiry, Secret, Tls, routes};

/// What the store needs, with an attempt, to raise and route alerts.
#[derive(Debug, Clone, Default)]
pub struct AttemptAlerts {
    pub routes: Arc<[Route]>,
    pub remind_every: Option<Duration>,
    /// Only for a configured page, not for the pages it links to.
    pub attestation: Option<Attestation>,
}

impl AttemptAlerts {
    /// `remind_every` and `attestation`: the source's; `attestation` only
    /// for a configured page.
    pub fn new(
        channels: &[Channel],
        remind_every: Option<Duration>,
        attestation: Option<&Attestation>,
    ) -> AttemptAlerts {
        AttemptAlerts {
            routes: routes(channels).into(),
            remind_every,
            attestation: attestation.cloned(),
        }
    }
}

/// A new delivery id, stored with the delivery so that it is the same on
/// every retry: 48 bits of Unix milliseconds, then 80 random bits, as 32
/// hex digits (a millisecond prefix as in a UUIDv7, but not a UUID). Ids
/// sort by when they were made, to the millisecond, so new ones sit
/// together in the outbox's key index (at its end, or under the current
/// prefix among older random ids): with 128 random bits each landed on a
/// random leaf of it, a page read and a page written per alert once the
/// outbox held a few thousand deliveries.
pub fn delivery_id() -> String {
    let millis = crate::clock::now().timestamp_millis().max(0) as u64 & ((1 << 48) - 1);
    format!("{millis:012x}{:020x}", fastrand::u128(..1 << 80))
}

/// The delay before retry number `attempts` (1 after the first failure):
/// `base`, doubling each time, at most `max`.
pub fn backoff_delay(base: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(max)
}

/// When the attestation expires: the configured date, or the first date the
/// pattern finds in the page text plus `valid_for`.
pub fn expiry_date(attestation: &Attestation, text: &str) -> Option<NaiveDate> {
    match &attestation.expiry {
        Expiry::Date(date) => Some(*date),
        Expiry::Pattern {
            regex,
            valid_for_days,
        } => {
            let captures = regex.captures(text)?;
            let found = captures
                .name("date")
                .or_else(|| captures.get(1))
                .or_else(|| captures.get(0))?
                .as_str()
                .trim();
            let date = parse_date(found)?;
            date.checked_add_days(chrono::Days::new(u64::from(*valid_for_days)))
        }
    }
}

/// Dates as compliance pages write them.
fn parse_date(text: &str) -> Option<NaiveDate> {
    const FORMATS: &[&str] = &[
        "%Y-%m-%d",
        "%B %d, %Y",
        "%d %B %Y",
        "%b %d, %Y",
        "%d %b %Y",
        "%m/%d/%Y",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(300));
        let delays: Vec<u64> = (1..=6)
            .map(|n| backoff_delay(base, max, n).as_secs())
            .collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff_delay(base, max, 1000), max);
    }

    #[test]
    fn expiry_from_a_date_on_the_page() {
        let attestation = Attestation {
            expiry: Expiry::Pattern {
                regex: regex::Regex::new(r"signed on (?P<date>[A-Z][a-z]+ \d{1,2}, \d{4})")
                    .unwrap(),
                valid_for_days: 365,
            },
            days: vec![90, 30, 7, 0],
        };
        let text = "The PCI DSS AOC was signed on March 3, 2026 by the QSA.";
        assert_eq!(
            expiry_date(&attestation, text),
            NaiveDate::from_ymd_opt(2027, 3, 3)
        );
        assert_eq!(expiry_date(&attestation, "no date here"), None);
    }

    #[test]
    fn delivery_ids_are_distinct_and_sort_by_time() {
        assert_ne!(delivery_id(), delivery_id());
        let before = crate::clock::now().timestamp_millis();
        let id = delivery_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        let millis = i64::from_str_radix(&id[..12], 16).unwrap();
        assert!(millis >= before && millis <= crate::clock::now().timestamp_millis());
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(delivery_id() > id, "a later id sorts after an earlier one");
    }
}
