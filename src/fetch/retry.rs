//! When a failed request is tried again, and after how long: capped
//! exponential backoff with jitter, and `Retry-After` honoured up to a bound.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ErrorClass;
use super::HttpSettings;

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(Duration),
    GiveUp,
}

/// Whether a failure of this class may succeed if tried again.
pub fn is_retryable(class: &ErrorClass) -> bool {
    match class {
        ErrorClass::Connect | ErrorClass::Timeout | ErrorClass::BodyRead => true,
        ErrorClass::HttpStatus(status) => *status == 429 || (500..600).contains(status),
        _ => false,
    }
}

/// Decides whether try number `tries` (1-based) that failed with `class`
/// is followed by another. `retry_after`: the server's `Retry-After`.
pub fn decide(
    class: &ErrorClass,
    tries: u32,
    retry_after: Option<Duration>,
    settings: &HttpSettings,
) -> RetryDecision {
    if !is_retryable(class) || tries > settings.retries {
        return RetryDecision::GiveUp;
    }
    let exponential = settings
        .backoff
        .saturating_mul(1u32 << (tries - 1).min(16))
        .min(settings.backoff_max);
    // Full jitter between half and all of the step spreads retries out.
    let jittered = exponential.mul_f64(0.5 + fastrand::f64() / 2.0);
    match retry_after {
        Some(wait) if wait > settings.retry_after_max => RetryDecision::GiveUp,
        Some(wait) => RetryDecision::RetryAfter(wait.max(jittered)),
        None => RetryDecision::RetryAfter(jittered),
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings() -> HttpSettings {
        HttpSettings {
            retries: 3,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(4),
            retry_after_max: Duration::from_secs(60),
            ..HttpSettings::default()
        }
    }

    #[test]
    fn backs_off_exponentially_with_a_cap() {
        let s = settings();
        for (tries, max) in [(1, 1), (2, 2), (3, 4)] {
            let RetryDecision::RetryAfter(d) = decide(&ErrorClass::Timeout, tries, None, &s) else {
                panic!("try {tries} should be retried")
            };
            assert!(
                d <= Duration::from_secs(max) && d >= Duration::from_secs(max) / 2,
                "{d:?}"
            );
        }
        assert_eq!(
            decide(&ErrorClass::Timeout, 4, None, &s),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let s = settings();
        assert!(matches!(
            decide(&ErrorClass::HttpStatus(503), 1, None, &s),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&ErrorClass::HttpStatus(404), 1, None, &s),
            RetryDecision::GiveUp
        );
        assert_eq!(
            decide(&ErrorClass::BodyTooLarge, 1, None, &s),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_bound() {
        let s = settings();
        let wait = |secs| {
            decide(
                &ErrorClass::HttpStatus(429),
                1,
                Some(Duration::from_secs(secs)),
                &s,
            )
        };
        assert_eq!(wait(30), RetryDecision::RetryAfter(Duration::from_secs(30)));
        assert_eq!(wait(3600), RetryDecision::GiveUp);
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 12:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
