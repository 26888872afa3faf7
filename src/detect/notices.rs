//! The notices recording raises beside a page's change: `gone` when a page
//! starts answering 404 or 410, a reminder while a source stays failing or
//! its scope unreadable, an attestation's expiry reminders, and
//! `alert-failed` when a delivery is given up. Pure: `record` reads what
//! they are decided on and writes what they say.

use chrono::{DateTime, NaiveDate, Utc};

use super::{EventDraft, EventKind};

/// `gone` when an attempt that failed with HTTP `status` answers 404 or 410
/// and the source's previous attempt did not (`previous`: that attempt's
/// status, `None` without one).
pub fn gone(
    status: Option<i64>,
    previous: Option<Option<i64>>,
    url: &str,
    from_record: Option<i64>,
) -> Option<EventDraft> {
    let is_gone = |status: Option<i64>| matches!(status, Some(404 | 410));
    if !is_gone(status) || previous.is_some_and(is_gone) {
        return None;
    }
    Some(EventDraft::new(
        EventKind::Gone,
        format!(
            "the page answers HTTP {} at {url}",
            status.unwrap_or_default()
        ),
        from_record,
    ))
}

/// A lasting problem a reminder may be due for: while it lasts, a reminder
/// every `remind_every` after the event that raised it (or the last
/// reminder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lasting {
    /// The event that says it started.
    pub raised: EventKind,
    /// The reminder of it.
    pub reminder: EventKind,
}

/// A failing source.
pub const FAILING: Lasting = Lasting {
    raised: EventKind::Failing,
    reminder: EventKind::FailingReminder,
};

/// A source whose scope stays unreadable.
pub const SCOPE_UNREADABLE: Lasting = Lasting {
    raised: EventKind::ExtractionBroken,
    reminder: EventKind::ExtractionBrokenReminder,
};

/// Whether a reminder is due at `at`: the newest of the problem's events
/// (`last`, an RFC 3339 time) is at least `every` old. Never without one.
pub fn reminder_due(last: Option<&str>, every: std::time::Duration, at: DateTime<Utc>) -> bool {
    last.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| chrono::Duration::from_std(every).ok().map(|e| t + e))
        .is_some_and(|due| due <= at)
}

/// The reminder's summary: `consecutive_failures` for a failing source.
pub fn reminder(
    lasting: Lasting,
    consecutive_failures: u32,
    from_record: Option<i64>,
) -> EventDraft {
    let summary = if lasting == FAILING {
        format!("still failing: {consecutive_failures} consecutive failed fetches")
    } else {
        "scope still unreadable: the last readable scope is the reference, and changes \
         to the page's scope are not seen"
            .to_string()
    };
    EventDraft::new(lasting.reminder, summary, from_record)
}

/// The thresholds of `days` (reminders this many days before expiry) that
/// `days_left` has reached.
pub fn attestation_thresholds_reached(days: &[u32], days_left: i64) -> Vec<u32> {
    days.iter()
        .copied()
        .filter(|d| days_left <= i64::from(*d))
        .collect()
}

/// The `attestation-expiry` reminder for the tightest of the thresholds
/// `reached`; `None` when none is reached.
pub fn attestation_reminder(
    expires: NaiveDate,
    days_left: i64,
    reached: &[u32],
    from_record: Option<i64>,
) -> Option<EventDraft> {
    let reached = reached.iter().min()?;
    let when = if days_left < 0 { "expired" } else { "expires" };
    Some(EventDraft::new(
        EventKind::AttestationExpiry,
        format!(
            "attestation {when}: {days_left} days left (reminder at {reached} days), expires {expires}"
        ),
        from_record,
    ))
}

/// `alert-failed` for delivery `id` of event `event_id` (of `kind`) to
/// `channel`, given up after `attempts` with `error`; `None` for a delivery
/// that was itself about a failed delivery.
pub fn alert_failed(
    id: &str,
    kind: EventKind,
    event_id: i64,
    channel: &str,
    attempts: i64,
    error: &str,
) -> Option<EventDraft> {
    (kind != EventKind::AlertFailed).then(|| {
        EventDraft::new(
            EventKind::AlertFailed,
            format!(
                "delivery {id} of the {kind} event {event_id} to channel {channel} failed after {attempts} attempts: {error}"
            ),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_once_when_the_page_starts_answering_404_or_410() {
        assert!(gone(Some(404), None, "u", None).is_some());
        assert!(gone(Some(410), Some(Some(200)), "u", None).is_some());
        assert!(gone(Some(410), Some(None), "u", None).is_some());
        assert!(gone(Some(404), Some(Some(410)), "u", None).is_none());
        assert!(gone(Some(500), Some(Some(200)), "u", None).is_none());
        assert!(gone(None, None, "u", None).is_none());
    }

    #[test]
    fn a_reminder_is_due_every_period_after_the_last() {
        let at: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let hour = std::time::Duration::from_secs(3600);
        assert!(reminder_due(Some("2026-11-29T11:00:00Z"), hour, at));
        assert!(!reminder_due(Some("2026-11-29T11:00:01Z"), hour, at));
        assert!(!reminder_due(None, hour, at));
        assert!(!reminder_due(Some("not a time"), hour, at));
    }

    #[test]
    fn the_tightest_attestation_threshold_reached_is_reminded() {
        let days = [90, 30, 7, 0];
        assert_eq!(attestation_thresholds_reached(&days, 20), [90, 30]);
        assert!(attestation_thresholds_reached(&days, 91).is_empty());
        let expires = NaiveDate::from_ymd_opt(2027, 3, 3).unwrap();
        let draft = attestation_reminder(expires, 20, &[90, 30], None).unwrap();
        assert!(
            draft.summary.contains("reminder at 30 days"),
            "{}",
            draft.summary
        );
        assert!(
            attestation_reminder(expires, -1, &[0], None)
                .unwrap()
                .summary
                .starts_with("attestation expired")
        );
        assert!(attestation_reminder(expires, 100, &[], None).is_none());
    }

    #[test]
    fn a_failed_alert_about_a_failed_alert_raises_nothing() {
        assert!(alert_failed("d", EventKind::AlertFailed, 1, "hook", 8, "e").is_none());
        let draft = alert_failed("d", EventKind::Content, 1, "hook", 8, "timed out").unwrap();
        assert_eq!(draft.kind, EventKind::AlertFailed);
        assert!(draft.summary.contains("timed out"));
    }
}
