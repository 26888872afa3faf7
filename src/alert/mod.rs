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
}
