//! The alert outbox: deliveries enqueued in the same transaction as the
//! events they are about, the marks of attestation reminders raised, the
//! reads reminders are decided on, and the dispatcher's reads and state
//! changes: a claim with a lease before each send (one sender per
//! delivery, across processes), then done, retry, or failed. What to
//! enqueue and raise is `record`'s to decide.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store, Writes};
use crate::clock;
use crate::detect::EventKind;
use crate::hash::Digest;
use crate::scope::Severity;

/// A delivery whose result was recorded, and the event it carried.
#[derive(Debug, Clone)]
pub struct FinishedDelivery {
    pub state: DeliveryState,
    pub channel: String,
    pub attempts: i64,
    pub event_id: i64,
    pub record_id: i64,
    pub source: String,
    pub kind: EventKind,
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

impl Finish {
    /// Why the attempt failed; `None` when it was delivered.
    pub fn error(&self) -> Option<&str> {
        match self {
            Finish::Done => None,
            Finish::Retry { error, .. } | Finish::Failed { error } => Some(error),
        }
    }
}

impl Writes<'_> {
    /// When `source`'s newest event of one of `kinds` was detected.
    pub fn last_event_at(&mut self, source: &str, kinds: [EventKind; 2]) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT MAX(detected_at) FROM events WHERE source = ?1 AND kind IN (?2, ?3)",
            )?
            .query_row(params![source, kinds[0], kinds[1]], |row| row.get(0))
            .optional()?
            .flatten())
    }

    /// The HTTP status of `source`'s record before `record_id`: `None` when
    /// there is none, `Some(None)` when that attempt got no answer.
    pub fn status_before(&mut self, source: &str, record_id: i64) -> Result<Option<Option<i64>>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT status FROM records WHERE source = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![source, record_id], |row| row.get(0))
            .optional()?)
    }

    /// Whether the attestation reminder at `days` before `expires` was
    /// raised for `source`.
    pub fn attestation_reminded(
        &mut self,
        source: &str,
        expires: NaiveDate,
        days: u32,
    ) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM attestation_reminders WHERE source = ?1 AND expires = ?2 AND days = ?3",
            )?
            .query_row(params![source, expires.to_string(), days], |_| Ok(true))
            .optional()?
            .unwrap_or(false))
    }

    /// Marks the attestation reminders at each of `days` before `expires`
    /// as raised by `event_id`.
    pub fn mark_attestation_reminded(
        &mut self,
        source: &str,
        expires: NaiveDate,
        days: &[u32],
        event_id: i64,
    ) -> Result<()> {
        let mut mark = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO attestation_reminders (source, expires, days, event_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for days in days {
            mark.execute(params![source, expires.to_string(), days, event_id])?;
        }
        Ok(())
    }

    /// Enqueues a delivery of event `event_id` to `channel` (once).
    pub fn enqueue(&mut self, event_id: i64, channel: &str, now: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO outbox (id, event_id, channel, created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![delivery_id(), event_id, channel, now])?;
        Ok(())
    }

    /// Records the result of one attempt to send delivery `id`, while the
    /// delivery is still `claimer`'s (or unclaimed) and pending; returns the
    /// delivery, and its event, when the result was recorded. A retry
    /// leaves it pending until `Finish::Retry`'s time.
    pub fn finish_delivery(
        &mut self,
        id: &str,
        finish: &Finish,
        claimer: &str,
        now: &str,
    ) -> Result<Option<FinishedDelivery>> {
        let (state, next) = match finish {
            Finish::Done => (DeliveryState::Done, None),
            Finish::Retry { at, .. } => (DeliveryState::Pending, Some(clock::format(*at))),
            Finish::Failed { .. } => (DeliveryState::Failed, None),
        };
        let error = finish.error();
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_attempt_at = ?3,
                    last_error = ?4, next_attempt_at = COALESCE(?5, next_attempt_at),
                    claimed_by = NULL, lease_until = NULL
             WHERE id = ?1 AND state = 'pending' AND (claimed_by IS NULL OR claimed_by = ?6)",
            )?
            .execute(params![id, state, now, error, next, claimer])?;
        if changed == 0 {
            return Ok(None);
        }
        Ok(Some(
            self.conn
                .prepare_cached(
                    "SELECT o.channel, o.attempts, e.id, e.record_id, e.source, e.kind
                     FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.id = ?1",
                )?
                .query_row([id], |row| {
                    Ok(FinishedDelivery {
                        state,
                        channel: row.get(0)?,
                        attempts: row.get(1)?,
                        event_id: row.get(2)?,
                        record_id: row.get(3)?,
                        source: row.get(4)?,
                        kind: row.get(5)?,
                    })
                })?,
        ))
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
    let millis = clock::now().timestamp_millis().max(0) as u64 & ((1 << 48) - 1);
    format!("{millis:012x}{:020x}", fastrand::u128(..1 << 80))
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
        let severity = kind.severity(severity.as_deref());
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
        let now = clock::format(later);
        let finish = |store: &mut Store, claimer: &str| {
            store
                .write(|w| w.finish_delivery("d1", &Finish::Done, claimer, &now))
                .unwrap()
                .is_some()
        };
        assert!(!finish(&mut store, "a"), "a's late result is not recorded");
        assert_eq!(
            state_and_holder(&store),
            ("pending".into(), Some("b".into()))
        );

        assert!(finish(&mut store, "b"));
        assert_eq!(state_and_holder(&store), ("done".into(), None));
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
