//! One attempt's unit of work, and the other writes that raise events:
//! read the source's state through the store, decide with `detect` (pure),
//! and write the record, its events, their deliveries (routed by
//! [`crate::routing`]) and their ledger leaves in one transaction
//! ([`record_attempts`]; through the writer thread, [`submit`]). The only
//! module that both decides and writes; the store decides nothing.
//! Delivery results ([`deliveries`]) and events no fetch raised
//! ([`raised`]) are written here for the same reason.

pub mod deliveries;
mod events;
pub mod raised;

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::clock;
use crate::detect::{self, Attempt, Change, SourceState, Texts};
use crate::fetch::Capture;
use crate::follow;
use crate::routing::AttemptAlerts;
use crate::scope::{ScopeOutcome, ScopeSet, ScopeSettings};
use crate::store::{
    BatchedWrite, CRASHED, EventRow, FetchedVia, PackedBlob, PackedScope, RecordOutcome, RecordRow,
    Result, StateUpdate, Store, StoreHandle, Writes,
};

pub use events::{FiledAgainst, file_event};

/// What an attempt produced, as it is recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The source's id and the URL it is configured with.
    pub source: String,
    pub source_url: String,
    /// For a followed link: the id of the source that linked to it.
    pub parent: Option<String>,
    pub capture: Capture,
    pub result: AttemptResult,
    pub fail_after: u32,
    /// `[scope]` settings: aliases and watched services for the scope diff.
    pub scope_settings: Arc<ScopeSettings>,
    /// Where the events go (channel names and filters), reminders, attestation.
    pub alerts: AttemptAlerts,
    /// For a page extracted from a source that follows links: the links
    /// found, to decide which to follow (see [`crate::follow`]).
    pub follow: Option<crate::follow::Followed>,
    /// How the page was fetched when not by one GET: recorded with it.
    pub via: Option<FetchedVia>,
}

/// The outcome of fetching and extracting one page. Bodies, texts and
/// scope sets arrive packed ([`PackedBlob`], [`PackedScope`]): hashed and
/// compressed on the extraction threads, not on the writer.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per attempt, moved a few times: boxing would buy nothing"
)]
pub enum AttemptResult {
    Extracted {
        body: PackedBlob,
        content_kind: String,
        text: String,
        packed_text: PackedBlob,
        sign_in: bool,
        scope: ScopeOutcome,
        /// The extracted scope set, packed; `None` when `scope` is broken.
        packed_scope: Option<PackedScope>,
    },
    NotModified,
    /// The fetch or the extraction failed; `body` is kept when there was one.
    Failed {
        body: Option<PackedBlob>,
        class: String,
        message: String,
    },
}

impl AttemptResult {
    /// A fetched and extracted page, its body, text and scope set packed
    /// (hashed and compressed) here, on the calling thread.
    pub fn extracted(
        body: &[u8],
        extracted: crate::extract::Extracted,
        scope: ScopeOutcome,
    ) -> std::io::Result<AttemptResult> {
        let packed_scope = match &scope {
            ScopeOutcome::Extracted(set) => Some(PackedScope::pack(set)?),
            ScopeOutcome::Broken { .. } => None,
        };
        Ok(AttemptResult::Extracted {
            body: PackedBlob::pack(body)?,
            content_kind: extracted.kind.as_str().to_string(),
            packed_text: PackedBlob::pack(extracted.text.as_bytes())?,
            text: extracted.text,
            sign_in: extracted.sign_in,
            scope,
            packed_scope,
        })
    }
}

/// What recording an attempt led to.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record_id: i64,
    pub change: Option<Change>,
    pub events: Vec<EventRow>,
    /// The linked pages to fetch now (see [`AttemptRecord::follow`]).
    pub follow: Vec<crate::follow::Link>,
    /// What the page read is (`html`, `script-shell`, …): this attempt's,
    /// or for a 304 the page it confirms; `None` for a failure.
    pub content_kind: Option<String>,
}

/// Records attempts in one transaction (see [`Store::write_each`]): an
/// attempt's blobs, row (linked into the hash chain), events, deliveries,
/// ledger leaves and source state are written whole or not at all, and an
/// attempt that fails to record is rolled back without the others.
/// Returns one result per attempt, in order; when the transaction cannot
/// be committed at all, every attempt fails with its error.
pub fn record_attempts(store: &mut Store, attempts: &[&AttemptRecord]) -> Vec<Result<Recorded>> {
    let mut attempts = attempts.to_vec();
    store.write_each(&mut attempts, |w, attempt| record_in(w, attempt))
}

/// Records one attempt in its own transaction (see [`record_attempts`]).
pub fn record_attempt(store: &mut Store, attempt: &AttemptRecord) -> Result<Recorded> {
    record_attempts(store, &[attempt])
        .pop()
        .expect("one result per attempt")
}

/// Sends an attempt to the writer thread to be recorded (see
/// [`record_attempts`]), committed together with the other writes waiting
/// at the same time; the returned future resolves once it is committed
/// (or failed).
pub fn submit(
    store: &StoreHandle,
    attempt: AttemptRecord,
) -> impl Future<Output = Result<Recorded>> + Send + 'static {
    let (reply, recorded) = oneshot::channel();
    store.write(Box::new(AttemptWrite {
        attempt,
        recorded: None,
        reply,
    }));
    async move {
        recorded
            .await
            .expect("the store writer thread settles every write")
    }
}

/// An attempt queued on the writer thread.
struct AttemptWrite {
    attempt: AttemptRecord,
    /// What the last run of [`BatchedWrite::write`] recorded.
    recorded: Option<Recorded>,
    reply: oneshot::Sender<Result<Recorded>>,
}

impl BatchedWrite for AttemptWrite {
    fn write(&mut self, w: &mut Writes<'_>) -> Result<()> {
        self.recorded = None;
        self.recorded = Some(record_in(w, &self.attempt)?);
        Ok(())
    }

    fn settle(self: Box<Self>, written: Result<()>) {
        let AttemptWrite {
            recorded, reply, ..
        } = *self;
        let recorded =
            written.map(|()| recorded.expect("a write that succeeded recorded its attempt"));
        // The caller may have gone away (shutdown); the write still happened.
        let _ = reply.send(recorded);
    }
}

/// Records one attempt in the unit of work `w`: see [`record_attempts`].
fn record_in(w: &mut Writes<'_>, attempt: &AttemptRecord) -> Result<Recorded> {
    let now = clock::format(attempt.capture.finished_at);
    w.upsert_source(
        &attempt.source,
        &attempt.source_url,
        attempt.parent.as_deref(),
        &now,
    )?;
    let state = w.source_state(&attempt.source)?;
    let link = w.next_link()?;
    let record_id = link.id;

    let (raw_hash, text_hash, detect_attempt, content_kind) = match &attempt.result {
        AttemptResult::Extracted {
            body,
            content_kind,
            packed_text,
            sign_in,
            ..
        } => {
            let raw_hash = w.put_blob(body)?;
            let text_hash = w.put_blob(packed_text)?;
            let detect_attempt = Attempt::Fetched {
                raw_hash,
                text_hash,
                final_url: attempt
                    .via
                    .as_ref()
                    .and_then(FetchedVia::location)
                    .or_else(|| attempt.capture.final_url.clone())
                    .unwrap_or_else(|| attempt.capture.url.clone()),
                content_kind: content_kind.clone(),
                sign_in: *sign_in,
            };
            (
                Some(raw_hash),
                Some(text_hash),
                detect_attempt,
                Some(content_kind.clone()),
            )
        }
        AttemptResult::NotModified => {
            let good = state.last_good.as_ref();
            (
                good.map(|g| g.raw_hash),
                good.map(|g| g.text_hash),
                Attempt::NotModified,
                good.map(|g| g.content_kind.clone()),
            )
        }
        AttemptResult::Failed { body, .. } => {
            let raw_hash = body.as_ref().map(|b| w.put_blob(b)).transpose()?;
            (raw_hash, None, Attempt::Failed, None)
        }
    };

    let previous_text = match (&state.last_good, text_hash) {
        (Some(good), Some(current)) if good.text_hash != current => {
            Some(String::from_utf8_lossy(&w.blob(&good.text_hash)?).into_owned())
        }
        _ => None,
    };
    let texts = match (&previous_text, &attempt.result) {
        (Some(previous), AttemptResult::Extracted { text, .. }) => Some(Texts {
            previous,
            current: text,
        }),
        _ => None,
    };
    let detection = detect::detect(
        &state,
        &detect_attempt,
        record_id,
        texts,
        attempt.fail_after,
    );
    let (scope_hash, scope_detection) = scope_for_record(
        w,
        &attempt.source,
        &state,
        &attempt.result,
        &attempt.scope_settings,
    )?;

    let (outcome, error_class, error_message) = match &attempt.result {
        AttemptResult::Extracted { .. } => (RecordOutcome::Ok, None, None),
        AttemptResult::NotModified => (RecordOutcome::NotModified, None, None),
        AttemptResult::Failed { class, message, .. } => (
            RecordOutcome::Failed,
            Some(class.clone()),
            Some(message.clone()),
        ),
    };
    let fetch_details = attempt
        .via
        .as_ref()
        .map(|via| w.fetch_details(via))
        .transpose()?;
    // A new version is news once its PDF is read: a download or an
    // extraction that failed leaves the version before as the reference.
    let new_version = match (&attempt.via, &attempt.result) {
        (Some(FetchedVia::Portal(call)), AttemptResult::Extracted { .. }) => call
            .new_version
            .as_ref()
            .map(|v| detect::new_version_event(v, state.last_good.as_ref().map(|g| g.record_id))),
        _ => None,
    };
    let capture = &attempt.capture;
    let row = RecordRow {
        id: record_id,
        source: attempt.source.clone(),
        url: capture.url.clone(),
        started_at: clock::format(capture.started_at),
        finished_at: clock::format(capture.finished_at),
        outcome,
        change: detection.change,
        error_class,
        error_message,
        attempts: i64::from(capture.attempts),
        status: capture.status.map(i64::from),
        final_url: capture.final_url.clone(),
        redirects: serde_json::to_string(&capture.hops).expect("hops serialise"),
        request_headers: serde_json::to_string(&capture.request_headers)
            .expect("headers serialise"),
        response_headers: serde_json::to_string(&capture.response_headers)
            .expect("headers serialise"),
        remote_ip: capture.remote_ip.clone(),
        tls_cert_sha256: capture.tls_cert_sha256.clone(),
        tls_version: capture.tls_version.map(str::to_string),
        content_type: capture.content_type.clone(),
        content_kind,
        raw_hash: raw_hash.map(|h| h.to_hex()),
        text_hash: text_hash.map(|h| h.to_hex()),
        scope_hash: scope_hash.clone(),
        prev_hash: link.prev_hash.clone(),
        fetch_details,
    };
    let record_hash = row.hash();
    w.insert_record(&row, &link, &record_hash)?;
    if let Some(wall_clock) = capture.wall_clock_start {
        w.mark_replayed(record_id, &clock::format(wall_clock))?;
    }

    let mut events = Vec::new();
    let scope_event = scope_detection.as_ref().and_then(|d| d.event.as_ref());
    for draft in detection
        .events
        .iter()
        .chain(new_version.as_ref())
        .chain(scope_event)
    {
        events.push(w.insert_event(record_id, &attempt.source, &now, draft)?);
    }
    // Whether the source's scope is unreadable after this attempt: what
    // this extraction found, else (a failure, a 304) as it was.
    let scope_unreadable = match &scope_detection {
        Some(scope) => scope.broken,
        None => w.scope_unreadable(&attempt.source)?,
    };
    events::on_recorded(
        w,
        attempt,
        record_id,
        &detection.next,
        scope_unreadable,
        &mut events,
    )?;
    let crashed =
        matches!(&attempt.result, AttemptResult::Failed { class, .. } if class == CRASHED);
    w.after_attempt(&attempt.source, crashed, &now)?;
    let leaves =
        crate::ledger::attempt_leaves(&row, &record_hash, &events, |id| w.derived_hashes(id))?;
    for leaf in leaves {
        w.append_leaf(leaf)?;
    }
    w.save_state(
        &attempt.source,
        &state_update(record_id, &detection, capture, &attempt.result),
    )?;
    if let Some(scope) = &scope_detection {
        w.save_scope_state(&attempt.source, scope.broken, record_id)?;
    }
    let follow = match &attempt.follow {
        Some(followed) => {
            let decision = follow::decide(&w.followed_by(&attempt.source)?, followed);
            w.apply_follow(&decision, &now)?;
            decision.fetch
        }
        None => Vec::new(),
    };
    // The sweep's report holds these until the sweep ends: a first pass
    // over 10,000 sources kept ~5 MB of spare capacity (one event, room
    // for four).
    events.shrink_to_fit();
    Ok(Recorded {
        record_id,
        change: detection.change,
        events,
        follow,
        content_kind: row.content_kind,
    })
}

/// The scope side of an attempt: the scope hash to store with the record,
/// and (for a fresh extraction) what it means against the previous scope.
fn scope_for_record(
    w: &mut Writes<'_>,
    source: &str,
    state: &SourceState,
    result: &AttemptResult,
    settings: &ScopeSettings,
) -> Result<(Option<String>, Option<detect::ScopeDetection>)> {
    match result {
        AttemptResult::Failed { .. } => Ok((None, None)),
        AttemptResult::NotModified => {
            // A 304 confirms the scope of the content it confirms.
            let Some(good) = &state.last_good else {
                return Ok((None, None));
            };
            Ok((w.scope_hash_of(good.record_id)?, None))
        }
        // A script shell says nothing of the scope: the previous scope
        // stays the reference, and its one event says why.
        AttemptResult::Extracted { content_kind, .. }
            if content_kind == crate::extract::shell::CONTENT_KIND =>
        {
            Ok((None, None))
        }
        AttemptResult::Extracted {
            scope,
            packed_scope,
            ..
        } => {
            let (previous, was_broken) = w.previous_scope(source)?;
            let previous = previous.as_ref().map(|(record, set)| (*record, set));
            let detection = judge_scope(previous, was_broken, scope, settings);
            // The extracted set is stored (packed) unless extraction broke.
            let hash = match packed_scope {
                Some(packed) if !detection.broken => Some(w.put_scope_set(packed)?),
                _ => None,
            };
            Ok((hash, Some(detection)))
        }
    }
}

/// What recording makes of a fresh extraction's `scope` against the
/// source's `previous` stored scope (its record and set) and whether the
/// last extraction was broken: the scope event, if any, and whether the
/// set is stored (not when extraction broke). `verify` replays it through
/// here to check a record's scope hash.
pub fn judge_scope(
    previous: Option<(i64, &ScopeSet)>,
    was_broken: bool,
    scope: &ScopeOutcome,
    settings: &ScopeSettings,
) -> detect::ScopeDetection {
    detect::detect_scope(
        previous.map(|(_, set)| set),
        previous.map(|(record, _)| record),
        was_broken,
        scope,
        settings,
    )
}

/// `source_state` after the attempt `detection` judged.
fn state_update(
    record_id: i64,
    detection: &detect::Detection,
    capture: &Capture,
    result: &AttemptResult,
) -> StateUpdate {
    let header = |name: &str| {
        capture
            .response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let next = &detection.next;
    StateUpdate {
        record_id,
        last_good_record: next.last_good.as_ref().map(|g| g.record_id),
        changed: matches!(
            detection.change,
            Some(Change::Baseline | Change::Content | Change::Moved)
        ),
        consecutive_failures: next.consecutive_failures,
        failing: next.failing,
        sign_in: next.last_good.as_ref().is_some_and(|g| g.sign_in),
        etag: header("etag"),
        last_modified: header("last-modified"),
        // Validators come from a full 200 response; a 304 keeps the old ones.
        fresh_validators: matches!(result, AttemptResult::Extracted { .. }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::EventDraft;
    use crate::hash::Digest;
    use crate::record::raised::StaleDraft;
    use crate::scope::ScopeSet;
    use crate::store::StoreError;

    /// Raises the stale events `candidates` reads from `store`.
    fn raise_stale_now(
        store: &mut Store,
        candidates: impl Fn(&Store) -> Vec<StaleDraft>,
        routes: &[crate::routing::Route],
        now: &str,
    ) -> Vec<EventRow> {
        let drafts = candidates(store);
        raised::file_stale(store, &drafts, routes, now).unwrap()
    }

    /// A fetch of `source` that gave `body` as a plain-text page.
    pub(crate) fn attempt(source: &str, body: &[u8]) -> AttemptRecord {
        let url = format!("http://127.0.0.1/{source}");
        let extracted = crate::extract::extract(
            body,
            Some("text/plain"),
            &url,
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let scope = ScopeOutcome::Extracted(ScopeSet::default());
        AttemptRecord {
            source: source.to_string(),
            source_url: url.clone(),
            parent: None,
            capture: Capture {
                status: Some(200),
                content_type: Some("text/plain".into()),
                ..Capture::begun(url)
            },
            result: AttemptResult::extracted(body, extracted, scope).unwrap(),
            fail_after: 3,
            scope_settings: Arc::default(),
            alerts: Default::default(),
            follow: None,
            via: None,
        }
    }

    fn records_of(store: &Store, source: &str) -> i64 {
        store
            .test_conn()
            .query_row(
                "SELECT COUNT(*) FROM records WHERE source = ?1",
                [source],
                |row| row.get(0),
            )
            .unwrap()
    }

    /// A `stale` event for every source with a confirmed fetch.
    fn stale_candidates(store: &Store) -> Vec<StaleDraft> {
        store
            .last_confirmed_fetches()
            .unwrap()
            .into_iter()
            .map(|good| StaleDraft {
                source: good.source,
                last_confirmed_record: good.record_id,
                draft: EventDraft {
                    kind: crate::detect::EventKind::Stale,
                    summary: "old".into(),
                    from_record: Some(good.record_id),
                    diff: None,
                    severity: None,
                    details: None,
                },
            })
            .collect()
    }

    #[test]
    fn a_stale_event_is_raised_once_per_stale_spell_and_routed() {
        let mut store = Store::open_in_memory().unwrap();
        let first = record_attempt(&mut store, &attempt("a", b"one")).unwrap();
        let stale = stale_candidates;
        let routes = [crate::routing::Route {
            channel: "hook".into(),
            filter: crate::routing::Filter {
                kinds: vec![crate::detect::EventKind::Stale],
                ..Default::default()
            },
        }];
        let now = "2030-01-01T00:00:00.000Z";
        let raised = raise_stale_now(&mut store, stale, &routes, now);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].to_snapshot, first.record_id);
        assert_eq!(raised[0].from_snapshot, Some(first.record_id));
        // Once per spell: neither the next check nor a failed fetch raises another.
        assert!(raise_stale_now(&mut store, stale, &routes, now).is_empty());
        let mut failed = attempt("a", b"gone");
        failed.result = AttemptResult::Failed {
            body: None,
            class: "connect".into(),
            message: "refused".into(),
        };
        let failure = record_attempt(&mut store, &failed).unwrap();
        assert!(raise_stale_now(&mut store, stale, &routes, now).is_empty());
        // A good fetch ends the spell; the next one is filed against the newest record.
        let second = record_attempt(&mut store, &attempt("a", b"two")).unwrap();
        assert!(second.record_id > failure.record_id);
        let again = raise_stale_now(&mut store, stale, &routes, now);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].to_snapshot, second.record_id);
        let (deliveries, leaves): (i64, i64) = store
            .test_conn()
            .query_row(
                "SELECT (SELECT COUNT(*) FROM outbox o JOIN events e ON e.id = o.event_id
                         WHERE e.kind = 'stale' AND o.channel = 'hook'),
                        (SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%\"kind\":\"stale\"%')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((deliveries, leaves), (2, 2));
    }

    #[test]
    fn a_stale_candidate_read_before_a_confirmed_fetch_raises_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        record_attempt(&mut store, &attempt("a", b"one")).unwrap();
        let candidates = stale_candidates;
        // Read by `check`; meanwhile the daemon records a 304 of `a`.
        let read_before = candidates(&store);
        let mut not_modified = attempt("a", b"one");
        not_modified.result = AttemptResult::NotModified;
        let confirmed = record_attempt(&mut store, &not_modified).unwrap();
        let now = "2030-01-01T00:00:00.000Z";
        assert!(
            raised::file_stale(&mut store, &read_before, &[], now)
                .unwrap()
                .is_empty()
        );
        // Nothing filed against the new spell: when it is stale in its
        // turn, its event is raised.
        let raised = raise_stale_now(&mut store, candidates, &[], now);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].from_snapshot, Some(confirmed.record_id));
    }

    #[test]
    fn retired_sources_have_no_last_confirmed_fetch() {
        let mut store = Store::open_in_memory().unwrap();
        record_attempt(&mut store, &attempt("a", b"one")).unwrap();
        record_attempt(&mut store, &attempt("a~b", b"two")).unwrap();
        store
            .test_conn()
            .execute(
                "UPDATE sources SET retired_at = '2030-01-01T00:00:00.000Z' WHERE id = 'a~b'",
                [],
            )
            .unwrap();
        let sources: Vec<String> = store
            .last_confirmed_fetches()
            .unwrap()
            .into_iter()
            .map(|c| c.source)
            .collect();
        assert_eq!(sources, ["a"]);
    }

    #[test]
    fn request_headers_are_stored_once_and_an_edited_set_is_named_per_record() {
        let mut store = Store::open_in_memory().unwrap();
        let headers = vec![("accept".to_string(), "text/html".to_string())];
        for (source, body) in [("a", &b"one"[..]), ("b", b"two"), ("a", b"one")] {
            let mut attempt = attempt(source, body);
            attempt.capture.request_headers = headers.clone();
            record_attempt(&mut store, &attempt).unwrap();
        }
        let count =
            |sql: &str| -> i64 { store.test_conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        // One request set and one response set (`[]`), each stored once.
        assert_eq!(count("SELECT COUNT(*) FROM header_sets"), 2);
        assert_eq!(
            count("SELECT COUNT(DISTINCT request_headers) FROM record_rows"),
            1
        );
        let records = store.all_records().unwrap();
        assert!(
            records
                .iter()
                .all(|(row, _)| row.request_headers == r#"[["accept","text/html"]]"#)
        );
        assert!(store.verify_chain().unwrap().is_empty());

        store
            .test_conn()
            .execute_batch(
                "DROP TRIGGER header_sets_no_update;
                 UPDATE header_sets SET json = '[[\"accept\",\"*/*\"]]' WHERE id = 1;",
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        let altered: Vec<i64> = findings.iter().map(|f| f.record_id).collect();
        assert_eq!(altered, [1, 1, 2, 2, 3, 3], "{findings:?}");
        assert!(
            findings[0]
                .problem
                .contains("request header set 1 does not hash to its name")
        );
        // A genuine record with the same headers is refused, not pointed at
        // the forged set.
        let mut next = attempt("a", b"one");
        next.capture.request_headers = headers;
        let err = record_attempt(&mut store, &next).unwrap_err().to_string();
        assert!(err.contains("run `scopewatch verify`"), "{err}");

        store
            .test_conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 DROP TRIGGER header_sets_no_delete;
                 DELETE FROM header_sets WHERE id = 2;",
            )
            .unwrap();
        let findings = store.verify_chain().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f.problem.contains("response header set 2 is missing")),
            "{findings:?}"
        );
    }

    #[test]
    fn a_pruned_body_that_comes_back_is_stored_again() {
        let mut store = Store::open_in_memory().unwrap();
        let body = b"version A of the page";
        record_attempt(&mut store, &attempt("a", body)).unwrap();
        let hash = Digest::of(body);
        store
            .test_conn()
            .execute(
                "UPDATE blobs SET data = X'', pruned_at = '2026-01-01T00:00:00Z' WHERE hash = ?1",
                [hash.to_hex()],
            )
            .unwrap();
        assert!(store.blob(&hash).is_err(), "pruned");
        // The page reverts to version A: the new record has its body.
        record_attempt(&mut store, &attempt("a", body)).unwrap();
        assert_eq!(store.blob(&hash).unwrap(), body);
        let pruned: Option<String> = store
            .test_conn()
            .query_row(
                "SELECT pruned_at FROM blobs WHERE hash = ?1",
                [hash.to_hex()],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pruned, None);
    }

    #[test]
    fn a_tampered_length_is_an_error_not_an_allocation() {
        let mut store = Store::open_in_memory().unwrap();
        record_attempt(&mut store, &attempt("a", b"some page")).unwrap();
        let hash = Digest::of(b"some page");
        store
            .test_conn()
            .execute(
                "UPDATE blobs SET size = 1000000000000000 WHERE hash = ?1",
                [hash.to_hex()],
            )
            .unwrap();
        let error = store.blob(&hash).unwrap_err().to_string();
        assert!(error.contains("does not match"), "{error}");
    }

    #[test]
    fn ids_added_by_a_rolled_back_attempt_are_not_reused() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .test_conn()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse_b BEFORE INSERT ON main.record_rows
                 WHEN NEW.source = 'b' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        // The batch is tried whole and rolled back at b, taking the ids
        // a's URL and digests were given; then b's are added and rolled back
        // with its savepoint, and c, in the same transaction, names the same
        // digests. Ids remembered from either would point at no row.
        let batch = [
            attempt("a", b"page a"),
            attempt("b", b"page b"),
            attempt("c", b"page b"),
        ];
        let results = record_attempts(&mut store, &batch.iter().collect::<Vec<_>>());
        assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
        assert!(results[2].is_ok(), "{results:?}");
        store
            .test_conn()
            .execute_batch("DROP TRIGGER refuse_b")
            .unwrap();
        record_attempt(&mut store, &attempt("b", b"page b")).unwrap();
        let url: String = store
            .test_conn()
            .query_row("SELECT url FROM records WHERE source = 'b'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(url, "http://127.0.0.1/b");
        assert!(store.verify_chain().unwrap().is_empty());
    }

    #[test]
    fn a_batch_whose_commit_fails_reports_every_attempt_failed() {
        let mut store = Store::open_in_memory().unwrap();
        // b's record leaves a dangling foreign key that is checked only at
        // COMMIT: the batch's commit fails, and so does its commit when it
        // is written again attempt by attempt.
        store
            .test_conn()
            .execute_batch(
                "CREATE TABLE test_dangling (
                     source TEXT REFERENCES sources(id) DEFERRABLE INITIALLY DEFERRED
                 );
                 CREATE TEMP TRIGGER dangle_b AFTER INSERT ON main.record_rows
                 WHEN NEW.source = 'b'
                 BEGIN INSERT INTO test_dangling VALUES ('no such source'); END;",
            )
            .unwrap();
        let batch = [
            attempt("a", b"page a"),
            attempt("b", b"page b"),
            attempt("c", b"page c"),
        ];
        let results = record_attempts(&mut store, &batch.iter().collect::<Vec<_>>());
        assert!(results.iter().all(Result::is_err), "{results:?}");
        for source in ["a", "b", "c"] {
            assert_eq!(records_of(&store, source), 0, "{source}");
        }
        // Nothing was kept of the rolled-back writes, ids included.
        store
            .test_conn()
            .execute_batch("DROP TRIGGER dangle_b")
            .unwrap();
        let again = record_attempts(&mut store, &batch.iter().collect::<Vec<_>>());
        assert!(again.iter().all(Result::is_ok), "{again:?}");
        assert!(store.verify_chain().unwrap().is_empty());
    }

    #[test]
    fn a_batch_reports_exactly_what_it_committed_when_the_disk_fills() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("scopewatch.db")).unwrap();
        record_attempt(&mut store, &attempt("a", b"first page")).unwrap();
        // The database may grow by 10 pages: a 300 kB incompressible-ish
        // page cannot be written, small ones can.
        let pages: i64 = store
            .test_conn()
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .unwrap();
        store
            .test_conn()
            .pragma_update(None, "max_page_count", pages + 10)
            .unwrap();
        let big: String = (0..150_000)
            .map(|_| format!("{:02x}", fastrand::u8(..)))
            .collect();
        let batch = [
            attempt("b", b"a small page"),
            attempt("c", big.as_bytes()),
            attempt("d", b"another small page"),
        ];
        let results = record_attempts(&mut store, &batch.iter().collect::<Vec<_>>());
        assert!(
            matches!(results[1], Err(StoreError::Full(_))),
            "{:?}",
            results[1]
        );
        store
            .test_conn()
            .pragma_update(None, "max_page_count", 1_000_000_000)
            .unwrap();
        // Whether SQLite rolled back the savepoint or the whole transaction,
        // every attempt reported recorded is stored, and no other.
        for (attempt, result) in batch.iter().zip(&results) {
            assert_eq!(
                records_of(&store, &attempt.source),
                i64::from(result.is_ok()),
                "{}: {result:?}",
                attempt.source
            );
        }
        assert!(store.verify_chain().unwrap().is_empty());
        record_attempt(&mut store, &attempt("e", b"space is back")).unwrap();
        assert!(store.verify_chain().unwrap().is_empty());
    }
}
