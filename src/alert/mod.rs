//! Alerts: what the messages say ([`payload`]), how each channel kind
//! sends them ([`channel`]), and the dispatcher that drains the outbox with
//! capped exponential backoff ([`dispatch`]); what a channel is, as the
//! configuration builds it ([`settings`]). Which channels an event goes to
//! is [`crate::routing`]'s; deliveries are enqueued by `record` in the same
//! transaction as their events, so a crash neither loses nor invents one.

pub mod channel;
pub mod dispatch;
pub mod payload;
pub mod settings;

use std::time::Duration;

pub use dispatch::{Dispatcher, RoundReport};
pub use settings::{Channel, ChannelKind, EmailSettings, Secret, Tls, routes};

use crate::routing::{AttemptAlerts, Attestation};

/// The alert rules of a source's attempts: routes to `channels`, and the
/// source's `remind_every` and `attestation` (only for a configured page).
pub fn attempt_alerts(
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
