//! Events no fetch raised, filed like any other (row, ledger leaf,
//! deliveries): `stale`, against the stale source's newest record once per
//! stale spell, and any other event against the newest record
//! (`timestamp-failed`).

use serde_json::{Map, Value};

use super::{FiledAgainst, file_event};
use crate::detect::EventDraft;
use crate::routing::Route;
use crate::store::{EventRow, Result, Store, Writes};

/// A `stale` event to raise for `source` unless its last confirmed record
/// is no longer `last_confirmed_record` (a fetch confirmed it since) or its
/// current stale spell (since that record) already has one.
#[derive(Debug, Clone)]
pub struct StaleDraft {
    pub source: String,
    pub last_confirmed_record: i64,
    pub draft: EventDraft,
}

/// Raises each of `stale` whose source has no `stale` event since its
/// last confirmed record (one per stale spell: a confirmed fetch ends
/// the spell), filed against the source's newest record, with its
/// ledger leaf and its deliveries. The candidates were read before this
/// transaction (another process may have recorded a fetch meanwhile):
/// one whose last confirmed record has changed is skipped, or its event
/// would fall in the new spell and silence it. One transaction; returns
/// the events raised.
pub fn file_stale(
    store: &mut Store,
    stale: &[StaleDraft],
    routes: &[Route],
    now: &str,
) -> Result<Vec<EventRow>> {
    store.write(|w| {
        let mut raised = Vec::new();
        for candidate in stale {
            let source = candidate.source.as_str();
            if w.last_confirmed_record(source)? != Some(candidate.last_confirmed_record)
                || w.stale_since(source, candidate.last_confirmed_record)?
            {
                continue;
            }
            let newest = w
                .newest_record_of(source)?
                .unwrap_or(candidate.last_confirmed_record);
            let against = FiledAgainst {
                record_id: newest,
                source,
                at: now,
            };
            raised.push(file_event(
                w,
                against,
                &candidate.draft,
                Map::new(),
                routes,
                None,
            )?);
        }
        Ok(raised)
    })
}

/// Files `draft` against the newest record, with its ledger leaf (`extra`
/// members join the event's own) and its deliveries; `None` when there is
/// no record yet to attach it to.
pub fn raise_event(
    w: &mut Writes<'_>,
    draft: &EventDraft,
    extra: Map<String, Value>,
    routes: &[Route],
    now: &str,
) -> Result<Option<EventRow>> {
    let Some((record_id, source)) = w.newest_record()? else {
        return Ok(None);
    };
    let against = FiledAgainst {
        record_id,
        source: &source,
        at: now,
    };
    file_event(w, against, draft, extra, routes, None).map(Some)
}
