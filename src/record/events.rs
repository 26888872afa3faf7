//! Events filed in a unit of work and where they go: an event's row, its
//! ledger leaf and one delivery per channel its routes match
//! ([`file_event`], [`enqueue`]), and the notices recording an attempt
//! raises beside its change (`gone`, `failing-reminder`,
//! `extraction-broken-reminder`, `attestation-expiry`), decided by
//! [`crate::detect::notices`] on what the store holds.

use serde_json::{Map, Value};

use super::{AttemptRecord, AttemptResult};
use crate::clock;
use crate::detect::notices::{self, Lasting};
use crate::detect::{EventDraft, SourceState};
use crate::routing::{self, Route, Subject};
use crate::store::{EventRow, Result, Writes};

/// Where an event is filed: the record it is against (every event names
/// one), that record's source, and when.
#[derive(Debug, Clone, Copy)]
pub struct FiledAgainst<'a> {
    pub record_id: i64,
    pub source: &'a str,
    pub at: &'a str,
}

/// Files `draft` with its ledger leaf (`extra` members join the event's
/// own) and enqueues its deliveries by `routes`, skipping the channel
/// `except`.
pub fn file_event(
    w: &mut Writes<'_>,
    against: FiledAgainst<'_>,
    draft: &EventDraft,
    extra: Map<String, Value>,
    routes: &[Route],
    except: Option<&str>,
) -> Result<EventRow> {
    let event = w.insert_event(against.record_id, against.source, against.at, draft)?;
    let leaf = crate::ledger::event_leaf(&event, extra, |id| w.derived_hashes(id))?;
    w.append_leaf(leaf)?;
    enqueue(w, routes, &event, except, against.at)?;
    Ok(event)
}

/// Raises the reminders an attempt calls for (inserting them into
/// `events`), then enqueues one delivery per event in `events` and
/// matching channel. `next`: the source's state after the attempt;
/// `scope_unreadable`: its scope extraction stays broken after it.
pub(super) fn on_recorded(
    w: &mut Writes<'_>,
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
    if matches!(attempt.result, AttemptResult::Failed { .. }) {
        let status = attempt.capture.status.map(i64::from);
        if matches!(status, Some(404 | 410)) {
            let previous = w.status_before(&attempt.source, record_id)?;
            drafts.extend(notices::gone(
                status,
                previous,
                &attempt.capture.url,
                from_record,
            ));
        }
    }
    let lasting: [(bool, Lasting); 2] = [
        (next.failing, notices::FAILING),
        (scope_unreadable, notices::SCOPE_UNREADABLE),
    ];
    for (lasts, problem) in lasting {
        let Some(every) = attempt.alerts.remind_every.filter(|_| lasts) else {
            continue;
        };
        let just_raised = events.iter().any(|e| e.kind == problem.raised);
        if just_raised {
            continue;
        }
        let last = w.last_event_at(&attempt.source, [problem.raised, problem.reminder])?;
        if notices::reminder_due(last.as_deref(), every, at) {
            drafts.push(notices::reminder(
                problem,
                next.consecutive_failures,
                from_record,
            ));
        }
    }
    let mut reached = None;
    if let (Some(attestation), AttemptResult::Extracted { text, .. }) =
        (&attempt.alerts.attestation, &attempt.result)
        && let Some(expires) = routing::expiry_date(attestation, text)
    {
        let days_left = (expires - at.date_naive()).num_days();
        let thresholds = notices::attestation_thresholds_reached(&attestation.days, days_left);
        let tightest = thresholds.iter().min().copied();
        let raised = match tightest {
            Some(days) => w.attestation_reminded(&attempt.source, expires, days)?,
            None => true,
        };
        if !raised
            && let Some(draft) =
                notices::attestation_reminder(expires, days_left, &thresholds, from_record)
        {
            reached = Some((drafts.len(), expires, thresholds));
            drafts.push(draft);
        }
    }
    for (index, draft) in drafts.iter().enumerate() {
        let row = w.insert_event(record_id, &attempt.source, &now, draft)?;
        if let Some((_, expires, thresholds)) = reached.as_ref().filter(|r| r.0 == index) {
            // Every threshold reached is marked, so a larger one is not raised later.
            w.mark_attestation_reminded(&attempt.source, *expires, thresholds, row.id)?;
        }
        events.push(row);
    }
    for event in events.iter() {
        enqueue(w, &attempt.alerts.routes, event, None, &now)?;
    }
    Ok(())
}

/// Enqueues one delivery of `event` per channel `routes` send it to,
/// skipping `except`.
pub(super) fn enqueue(
    w: &mut Writes<'_>,
    routes: &[Route],
    event: &EventRow,
    except: Option<&str>,
    now: &str,
) -> Result<()> {
    let services = scope_services(&event.details);
    let subject = Subject {
        kind: event.kind,
        source: &event.source,
        services: &services,
        severity: event.kind.severity(event.severity.as_deref()),
    };
    for channel in routing::channels_for(routes, &subject, except) {
        w.enqueue(event.id, channel, now)?;
    }
    Ok(())
}

/// The services a scope event's `added`, `removed` and `renamed` entries name.
fn scope_services(details: &Map<String, Value>) -> Vec<String> {
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
