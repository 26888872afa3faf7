//! The alert outbox: deliveries enqueued in the same transaction as the
//! events they are about (one per matching channel), the reminders that
//! recording an attempt raises (`failing-reminder`,
//! `extraction-broken-reminder`, `attestation-expiry`), and the
//! dispatcher's reads and state changes: a claim with a lease before each
//! send (one sender per delivery, across processes), then done, retry, or
//! failed with an `alert-failed` event for the other channels.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{AttemptRecord, AttemptResult, EventRow, Result, Store, insert_event};
use crate::alert::{self, Route, Severity, Subject};
use crate::clock;
use crate::detect::{EventDraft, EventKind, SourceState};
use crate::hash::Digest;

/// The delivery a finished attempt concerns, and the event it carried.
struct FinishedDelivery {
    channel: String,
    attempts: i64,
    event_id: i64,
    record_id: i64,
    source: String,
    kind: EventKind,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Done,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Done,
        DeliveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Done => "done",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One row of `scopewatch alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub id: String,
    pub channel: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub event_id: i64,
    pub event_kind: EventKind,
    pub source: String,
    pub summary: String,
    pub created_at: String,
    pub next_attempt_at: String,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

/// Everything an alert message says about its event.
#[derive(Debug, Clone, Serialize)]
pub struct AlertData {
    pub event_id: i64,
    pub kind: EventKind,
    pub source: String,
    pub source_url: String,
    pub summary: String,
    pub detected_at: String,
    pub from_snapshot: Option<Snapshot>,
    pub to_snapshot: Option<Snapshot>,
    /// The unified diff of a `content` event.
    pub diff: Option<String>,
    pub severity: Severity,
    /// `{added, removed, renamed}` of a scope event (empty lists otherwise).
    pub scope: serde_json::Value,
}

/// A snapshot an alert points to, with its hashes.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: i64,
    pub raw_sha256: Option<String>,
    pub text_sha256: Option<String>,
    pub record_sha256: String,
}

/// A delivery due now, with its alert.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub channel: String,
    pub attempts: u32,
    pub alert: AlertData,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone)]
pub enum Finish {
    Done,
    Retry { at: DateTime<Utc>, error: String },
    Failed { error: String },
}

/// The hook in `Store::record_attempt`: raises the reminders the attempt
/// calls for, then enqueues one delivery per event and matching channel.
/// `scope_unreadable`: the source's scope extraction stays broken after
/// this attempt.
pub(super) fn on_recorded(
    conn: &Connection,
    attempt: &AttemptRecord,
    record_id: i64,
    next: &SourceState,
    scope_unreadable: bool,
    events: &mut Vec<EventRow>,
) -> Result<()> {
    let at = attempt.capture.finished_at;
    let now = clock::format(at);
    let from_record = next.last_good.as_ref().map(|g| g.record_id);
    let mut drafts = Vec::new();
    if let Some(draft) = gone(conn, attempt, record_id, from_record)? {
        drafts.push(draft);
    }
    // While a source stays failing, or its scope unreadable, a reminder
    // every `remind_every` after the event that said so (or the last
    // reminder).
    let reminders = [
        (
            next.failing,
            EventKind::Failing,
            EventKind::FailingReminder,
            format!(
                "still failing: {} consecutive failed fetches",
                next.consecutive_failures
            ),
        ),
        (
            scope_unreadable,
            EventKind::ExtractionBroken,
            EventKind::ExtractionBrokenReminder,
            "scope still unreadable: the last readable scope is the reference, and changes \
             to the page's scope are not seen"
                .to_string(),
        ),
    ];
    for (lasting, raised, reminder, summary) in reminders {
        let Some(every) = attempt.alerts.remind_every.filter(|_| lasting) else {
            continue;
        };
        let just_raised = events.iter().any(|e| e.kind == raised);
        if !just_raised && reminder_due(conn, &attempt.source, [raised, reminder], every, at)? {
            drafts.push(EventDraft {
                kind: reminder,
                summary,
                from_record,
                severity: None,
                details: None,
                diff: None,
            });
        }
    }
    let mut reached = None;
    if let (Some(attestation), AttemptResult::Extracted { text, .. }) =
        (&attempt.alerts.attestation, &attempt.result)
        && let Some(expires) = alert::expiry_date(attestation, text)
    {
        let days_left = (expires - at.date_naive()).num_days();
        let thresholds: Vec<u32> = attestation
            .days
            .iter()
            .copied()
            .filter(|d| days_left <= i64::from(*d))
            .collect();
        if let Some(draft) = attestation_reminder(
            conn,
            &attempt.source,
            expires,
            days_left,
            &thresholds,
            from_record,
        )? {
            reached = Some((drafts.len(), expires, thresholds));
            drafts.push(draft);
        }
    }
    for (index, draft) in drafts.iter().enumerate() {
        let row = insert_event(conn, record_id, &attempt.source, &now, draft)?;
        if let Some((_, expires, thresholds)) = reached.as_ref().filter(|r| r.0 == index) {
            // Every threshold reached is marked, so a larger one is not raised later.
            for days in thresholds {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO attestation_reminders (source, expires, days, event_id)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    attempt.source,
                    expires.to_string(),
                    days,
                    row.id
                ])?;
            }
        }
        events.push(row);
    }
    for event in events.iter() {
        enqueue(conn, &attempt.alerts.routes, event, None, &now)?;
    }
    Ok(())
}

/// Whether the newest of `source`'s events of `kinds` is at least `every`
/// old at `at` (false when there is none).
fn reminder_due(
    conn: &Connection,
    source: &str,
    kinds: [EventKind; 2],
    every: std::time::Duration,
    at: DateTime<Utc>,
) -> Result<bool> {
    let last: Option<String> = conn
        .prepare_cached(
            "SELECT MAX(detected_at) FROM events WHERE source = ?1 AND kind IN (?2, ?3)",
        )?
        .query_row(params![source, kinds[0], kinds[1]], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(last
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .and_then(|t| chrono::Duration::from_std(every).ok().map(|e| t + e))
        .is_some_and(|due| due <= at))
}

/// `gone` when the page answers 404 or 410 and the previous attempt did not.
fn gone(
    conn: &Connection,
    attempt: &AttemptRecord,
    record_id: i64,
    from_record: Option<i64>,
) -> Result<Option<EventDraft>> {
    let is_gone = |status: Option<i64>| matches!(status, Some(404 | 410));
    let status = attempt.capture.status.map(i64::from);
    if !matches!(attempt.result, AttemptResult::Failed { .. }) || !is_gone(status) {
        return Ok(None);
    }
    let previous: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT status FROM records WHERE source = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![attempt.source, record_id], |row| row.get(0))
        .optional()?;
    if previous.is_some_and(is_gone) {
        return Ok(None);
    }
    Ok(Some(EventDraft {
        kind: EventKind::Gone,
        summary: format!(
            "the page answers HTTP {} at {}",
            status.unwrap_or_default(),
            attempt.capture.url
        ),
        from_record,
        severity: None,
        details: None,
        diff: None,
    }))
}

/// The reminder for the tightest threshold reached (`reached`: the
/// thresholds at or above the days left), unless already raised.
fn attestation_reminder(
    conn: &Connection,
    source: &str,
    expires: NaiveDate,
    days_left: i64,
    reached: &[u32],
    from_record: Option<i64>,
) -> Result<Option<EventDraft>> {
    let Some(reached) = reached.iter().min() else {
        return Ok(None);
    };
    let raised: bool = conn
        .prepare_cached(
            "SELECT 1 FROM attestation_reminders WHERE source = ?1 AND expires = ?2 AND days = ?3",
        )?
        .query_row(params![source, expires.to_string(), reached], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    if raised {
        return Ok(None);
    }
    let when = if days_left < 0 { "expired" } else { "expires" };
    Ok(Some(EventDraft {
        kind: EventKind::AttestationExpiry,
        summary: format!(
            "attestation {when}: {days_left} days left (reminder at {reached} days), expires {expires}"
        ),
        from_record,
        severity: None,
        details: None,
        diff: None,
    }))
}

/// The services a scope event's `added`, `removed` and `renamed` entries name.
fn scope_services(details: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let entries = ["added", "removed"]
        .iter()
        .flat_map(|field| {
            details
                .get(*field)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
        })
        .chain(
            details
                .get("renamed")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .flat_map(|r| [&r["from"], &r["to"]]),
        );
    let mut services: Vec<String> = entries
        .filter_map(|e| e["service"].as_str().map(str::to_string))
        .collect();
    services.sort();
    services.dedup();
    services
}

/// Enqueues one delivery of `event` per matching channel, skipping `except`.
pub(super) fn enqueue(
    conn: &Connection,
    routes: &[Route],
    event: &EventRow,
    except: Option<&str>,
    now: &str,
) -> Result<()> {
    let services = scope_services(&event.details);
    let severity = alert::event_severity(event.severity.as_deref(), event.kind);
    let subject = Subject {
        kind: event.kind,
        source: &event.source,
        services: &services,
        severity,
    };
    for channel in alert::channels_for(routes, &subject, except) {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox (id, event_id, channel, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![alert::delivery_id(), event.id, channel, now])?;
    }
    Ok(())
}

const DELIVERY_ROW: &str = "SELECT o.id, o.channel, o.state, o.attempts, e.id, e.kind, e.source,
    e.summary, o.created_at, o.next_attempt_at, o.last_attempt_at, o.last_error
    FROM outbox o JOIN events e ON e.id = o.event_id";

impl Store {
    /// Pending deliveries due at `now` and not claimed by a sender whose
    /// lease still runs, oldest first, except those in `skip`.
    pub fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        skip: &HashSet<String>,
    ) -> Result<Vec<Delivery>> {
        let cutoff = clock::format(now);
        let mut statement = self.conn().prepare(
            "SELECT id, channel, attempts, event_id FROM outbox
             WHERE state = 'pending' AND next_attempt_at <= ?1
               AND (lease_until IS NULL OR lease_until <= ?1)
             ORDER BY created_at, id",
        )?;
        let rows: Vec<(String, String, i64, i64)> = statement
            .query_map([cutoff], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .filter(|(id, ..)| !skip.contains(id))
            .map(|(id, channel, attempts, event_id)| {
                Ok(Delivery {
                    id,
                    channel,
                    attempts: attempts.max(0) as u32,
                    alert: self.alert_data(event_id)?,
                })
            })
            .collect()
    }

    fn alert_data(&self, event_id: i64) -> Result<AlertData> {
        type Row = (
            EventKind,
            String,
            String,
            String,
            String,
            Option<i64>,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (kind, source, url, summary, detected_at, from, to, diff_hash, severity, details): Row =
            self.conn()
                .prepare_cached(
                    "SELECT e.kind, e.source, s.url, e.summary, e.detected_at, e.from_record,
                        e.record_id, e.diff_hash, e.severity, e.details
                 FROM events e JOIN sources s ON s.id = e.source WHERE e.id = ?1",
                )?
                .query_row([event_id], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                        row.get(8)?,
                        row.get(9)?,
                    ))
                })?;
        let details = super::queries::details_map(details.as_deref());
        let severity = alert::event_severity(severity.as_deref(), kind);
        let scope_field = |name: &str| {
            details
                .get(name)
                .cloned()
                .unwrap_or_else(|| serde_json::json!([]))
        };
        let scope = serde_json::json!({
            "added": scope_field("added"),
            "removed": scope_field("removed"),
            "renamed": scope_field("renamed"),
        });
        let diff = diff_hash
            .as_deref()
            .and_then(Digest::from_hex)
            .map(|h| self.blob(&h))
            .transpose()?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        Ok(AlertData {
            event_id,
            kind,
            source,
            source_url: url,
            summary,
            detected_at,
            from_snapshot: from.map(|id| self.snapshot(id)).transpose()?,
            to_snapshot: Some(self.snapshot(to)?),
            diff,
            severity,
            scope,
        })
    }

    fn snapshot(&self, id: i64) -> Result<Snapshot> {
        Ok(self
            .conn()
            .prepare_cached("SELECT raw_hash, text_hash, record_hash FROM records WHERE id = ?1")?
            .query_row([id], |row| {
                Ok(Snapshot {
                    id,
                    raw_sha256: row.get(0)?,
                    text_sha256: row.get(1)?,
                    record_sha256: row.get(2)?,
                })
            })?)
    }

    /// Claims, for `claimer` until `lease_until`, those of the deliveries
    /// `ids` still pending and not claimed by a lease running at `now`;
    /// returns the ids claimed. Only a claimed delivery is sent, so two
    /// processes (a `check` beside the daemon) never send the same one; a
    /// sender that dies leaves its claim to expire, and the delivery is
    /// sent again after `lease_until`.
    pub fn claim_deliveries(
        &mut self,
        ids: &[String],
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        if let Some(damage) = self.damage() {
            return Err(super::StoreError::FileDamaged(damage.into()));
        }
        let (now, until) = (clock::format(now), clock::format(lease_until));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut claimed = Vec::with_capacity(ids.len());
        {
            let mut claim = tx.prepare_cached(
                "UPDATE outbox SET claimed_by = ?2, lease_until = ?3
                 WHERE id = ?1 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= ?4)",
            )?;
            for id in ids {
                match claim.execute(params![id, claimer, until, now]) {
                    Ok(1) => claimed.push(id.clone()),
                    Ok(_) => {}
                    // SQLite rolled the whole claim back (a full disk): none is claimed.
                    Err(e) if tx.is_autocommit() => return Err(e.into()),
                    // This row alone refused: it is not sent, the others are.
                    Err(e) => tracing::error!(delivery = %id, "cannot claim the delivery: {e}"),
                }
            }
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Records the results of delivery attempts in one transaction, each
    /// rolled back alone if it fails (see [`super::each_atomically`]): one
    /// result per delivery, in order. A delivery whose result is not recorded stays
    /// pending and is sent again. A delivery that fails for good raises an
    /// `alert-failed` event, enqueued on the other channels by `routes`
    /// (unless it was itself about a failed delivery). `claimer` is the
    /// sender that claimed them: a result is recorded only while the
    /// delivery is still its own (no other sender took it over after its
    /// lease ran out) or unclaimed.
    pub fn finish_deliveries(
        &mut self,
        finishes: &[(String, Finish)],
        claimer: &str,
        routes: &[Route],
    ) -> Vec<Result<()>> {
        if let Some(damage) = self.damage() {
            return super::fail_all(
                finishes.len(),
                super::StoreError::FileDamaged(damage.into()),
            );
        }
        let now = clock::format(clock::now());
        super::each_atomically(
            &mut self.conn,
            finishes,
            &mut (),
            |conn, (), (id, finish)| finish_in(conn, id, finish, claimer, routes, &now),
            |()| {},
        )
    }

    /// Deliveries in `state` (every state with `None`), newest first.
    pub fn deliveries(&self, state: Option<DeliveryState>) -> Result<Vec<DeliveryRow>> {
        self.recent_deliveries(state, usize::MAX)
    }

    /// The latest `limit` deliveries in `state` (every state with `None`),
    /// newest first.
    pub fn recent_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>> {
        let mut statement = self.conn().prepare(&format!(
            "{DELIVERY_ROW} WHERE ?1 IS NULL OR o.state = ?1 ORDER BY o.created_at DESC, o.rowid DESC
             LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![state, limit], |row| {
            Ok(DeliveryRow {
                id: row.get(0)?,
                channel: row.get(1)?,
                state: row.get(2)?,
                attempts: row.get(3)?,
                event_id: row.get(4)?,
                event_kind: row.get(5)?,
                source: row.get(6)?,
                summary: row.get(7)?,
                created_at: row.get(8)?,
                next_attempt_at: row.get(9)?,
                last_attempt_at: row.get(10)?,
                last_error: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Records the result of one delivery attempt (see [`Store::finish_deliveries`]).
fn finish_in(
    conn: &Connection,
    id: &str,
    finish: &Finish,
    claimer: &str,
    routes: &[Route],
    now: &str,
) -> Result<()> {
    let (state, next, error) = match finish {
        Finish::Done => (DeliveryState::Done, None, None),
        Finish::Retry { at, error } => (
            DeliveryState::Pending,
            Some(clock::format(*at)),
            Some(error),
        ),
        Finish::Failed { error } => (DeliveryState::Failed, None, Some(error)),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_attempt_at = ?3,
                last_error = ?4, next_attempt_at = COALESCE(?5, next_attempt_at),
                claimed_by = NULL, lease_until = NULL
         WHERE id = ?1 AND state = 'pending' AND (claimed_by IS NULL OR claimed_by = ?6)",
        )?
        .execute(params![id, state, now, error, next, claimer])?;
    if changed == 0 {
        tracing::warn!(
            delivery = %id,
            "the delivery is no longer this sender's to finish (another sender claimed it after the lease ran out, or it is already finished): its result is not recorded"
        );
    }
    // A retry is not an outcome; a delivery done or given up is one,
    // and a leaf of the ledger.
    if changed == 1 && state != DeliveryState::Pending {
        let delivery = conn
            .prepare_cached(
                "SELECT o.channel, o.attempts, e.id, e.record_id, e.source, e.kind
                 FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.id = ?1",
            )?
            .query_row([id], |row| {
                Ok(FinishedDelivery {
                    channel: row.get(0)?,
                    attempts: row.get(1)?,
                    event_id: row.get(2)?,
                    record_id: row.get(3)?,
                    source: row.get(4)?,
                    kind: row.get(5)?,
                })
            })?;
        let leaf = crate::evidence::ledger::delivery_leaf(
            &crate::evidence::ledger::DeliveryLeaf {
                delivery_id: id,
                channel: &delivery.channel,
                state: state.as_str(),
                attempts: delivery.attempts,
                event_id: delivery.event_id,
                record_id: delivery.record_id,
                source: &delivery.source,
                error: error.map(String::as_str),
            },
            now,
        );
        super::ledger::append(conn, leaf)?;
        if let Finish::Failed { error } = finish
            && delivery.kind != EventKind::AlertFailed
        {
            let FinishedDelivery {
                channel,
                attempts,
                event_id,
                kind,
                ..
            } = &delivery;
            let draft = EventDraft {
                kind: EventKind::AlertFailed,
                summary: format!(
                    "delivery {id} of the {kind} event {event_id} to channel {channel} failed after {attempts} attempts: {error}"
                ),
                from_record: None,
                severity: None,
                details: None,
                diff: None,
            };
            let event = insert_event(conn, delivery.record_id, &delivery.source, now, &draft)?;
            let leaf = crate::evidence::ledger::event_leaf(&event, Default::default(), |id| {
                super::derived_hashes(conn, id)
            })?;
            super::ledger::append(conn, leaf)?;
            enqueue(conn, routes, &event, Some(channel), now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_and_holder(store: &Store) -> (String, Option<String>) {
        store
            .conn()
            .query_row("SELECT state, claimed_by FROM outbox", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap()
    }

    /// A sender whose lease ran out, and whose delivery another sender
    /// claimed meanwhile, does not record its late result over the new
    /// holder's claim: the delivery stays the new holder's to finish.
    #[test]
    fn a_late_result_does_not_overwrite_the_next_holders_claim() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO events (id, record_id, source, kind, detected_at, summary)
                     VALUES (1, 1, 'a', 'content', '2026-11-29T00:00:00.000Z', 'changed');
                 INSERT INTO outbox (id, event_id, channel, created_at, next_attempt_at)
                     VALUES ('d1', 1, 'hook', 't', 't');",
            )
            .unwrap();
        let ids = ["d1".to_string()];
        let t0 = "2026-11-29T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let minute = chrono::Duration::minutes(1);
        assert_eq!(
            store.claim_deliveries(&ids, "a", t0, t0 + minute).unwrap(),
            ids
        );
        // a's lease runs out before it answers; b claims the delivery.
        let later = t0 + minute * 2;
        assert_eq!(
            store
                .claim_deliveries(&ids, "b", later, later + minute)
                .unwrap(),
            ids
        );
        let finished = [("d1".to_string(), Finish::Done)];
        let results = store.finish_deliveries(&finished, "a", &[]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(
            state_and_holder(&store),
            ("pending".into(), Some("b".into()))
        );

        let results = store.finish_deliveries(&finished, "b", &[]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(state_and_holder(&store), ("done".into(), None));
    }
}
