//! Read-only queries behind the CLI listings. Field names of these structs
//! are the stable `--json` contract documented in docs/cli.md and docs/scope.md.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::scope_pairs::{self, ScopeFilter, ScopePairs, ScopeRow};
use super::scope_sets::SetCache;
use super::{Result, Store, StoreError};
use crate::detect::EventKind;
use crate::hash::Digest;
use crate::scope::{ScopeDiff, ScopeEntry, ScopeRename, claims};

/// One row of `scopewatch sources`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub id: String,
    pub url: String,
    /// The source that linked to this one, for followed pages.
    pub parent: Option<String>,
    /// `ok`, `failing`, `failed` (below the failing threshold), `never`
    /// checked, or `retired` (a followed page its parent no longer links
    /// to: kept, not fetched).
    pub state: String,
    pub last_checked: Option<String>,
    pub last_changed: Option<String>,
    /// Fetches whose outcome is `ok`: a page received and read (not 304s,
    /// not failures); the table heads it OK FETCHES.
    pub snapshots: i64,
    pub consecutive_failures: i64,
    /// When the source's scope extraction broke, if it still is: its last
    /// readable scope stands in for the page's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_unreadable_since: Option<String>,
    /// What the last page read was (`html`, `pdf`, `script-shell`, …).
    pub content_kind: Option<String>,
    /// When its evidence went stale, if it is: its last good fetch is
    /// older than its `max_age` (set by `query::sources`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<String>,
}

/// One row of `scopewatch history`.
#[derive(Debug, Clone, Serialize)]
pub struct RecordSummary {
    pub id: i64,
    pub source: String,
    pub started_at: String,
    pub outcome: String,
    pub change: Option<String>,
    pub status: Option<i64>,
    pub final_url: Option<String>,
    pub content_kind: Option<String>,
    pub raw_hash: Option<String>,
    pub text_hash: Option<String>,
    pub raw_size: Option<i64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub record_hash: String,
    /// `wall`, or `replayed` for a record `scopewatch demo` made: its
    /// `started_at` is the date the replayed page version was published.
    pub clock: &'static str,
}

/// One event, as `scopewatch changes --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub source: String,
    pub kind: EventKind,
    pub detected_at: String,
    pub from_snapshot: Option<i64>,
    pub to_snapshot: i64,
    pub summary: String,
    pub diff_hash: Option<String>,
    /// `low`, `medium` or `high` (scope and extraction events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Kind-specific fields, flattened into the JSON object: scope events
    /// carry `added`, `removed` and `renamed`.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Parses an event's stored `details` into the fields it adds.
pub(super) fn details_map(details: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
    details
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub since: Option<String>,
    /// Only events detected before this time.
    pub until: Option<String>,
    pub sources: Vec<String>,
    pub kinds: Vec<EventKind>,
    /// At most this many, the newest (`None`: every one).
    pub limit: Option<usize>,
}

/// The `events` columns [`event_row`] reads, in its order.
pub(super) const EVENT_COLUMNS: &str =
    "id, source, kind, detected_at, from_record, record_id, summary, diff_hash, severity, details";

/// An event selected as [`EVENT_COLUMNS`].
pub(super) fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: row.get(0)?,
        source: row.get(1)?,
        kind: row.get(2)?,
        detected_at: row.get(3)?,
        from_snapshot: row.get(4)?,
        to_snapshot: row.get(5)?,
        summary: row.get(6)?,
        diff_hash: row.get(7)?,
        severity: row.get(8)?,
        details: details_map(row.get::<_, Option<String>>(9)?.as_deref()),
    })
}

pub(super) const RECORD_SUMMARY: &str =
    "SELECT r.id, r.source, r.started_at, r.outcome, r.change, r.status,
    r.final_url, r.content_kind, r.raw_hash, r.text_hash, b.size, r.error_class, r.error_message,
    r.record_hash, rr.record_id IS NOT NULL
    FROM records r LEFT JOIN blobs b ON b.hash = r.raw_hash
    LEFT JOIN replayed_records rr ON rr.record_id = r.id";

pub(super) fn record_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordSummary> {
    Ok(RecordSummary {
        id: row.get(0)?,
        source: row.get(1)?,
        started_at: row.get(2)?,
        outcome: row.get(3)?,
        change: row.get(4)?,
        status: row.get(5)?,
        final_url: row.get(6)?,
        content_kind: row.get(7)?,
        raw_hash: row.get(8)?,
        text_hash: row.get(9)?,
        raw_size: row.get(10)?,
        error_class: row.get(11)?,
        error_message: row.get(12)?,
        record_hash: row.get(13)?,
        clock: if row.get(14)? { "replayed" } else { "wall" },
    })
}

impl Store {
    /// Whether the database has ever recorded the source `id`.
    pub fn has_source(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM sources WHERE id = ?1")?
            .exists([id])?)
    }

    /// Every source the database has records for, by id. The fetches that
    /// gave a page are counted on the packed rows (outcome 0, or `ok` as
    /// written before packing): through the `records` view each row was
    /// decoded whole first, twice the time at 100,000 records.
    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        let mut unreadable = self.scope_unreadable_since(None)?;
        let mut statement = self.conn().prepare(
            "SELECT s.id, s.url, s.parent, st.failing, st.consecutive_failures,
                    last.started_at, changed.started_at,
                    (SELECT COUNT(*) FROM record_rows r
                     WHERE r.source = s.id AND r.outcome IN (0, 'ok')),
                    last.outcome, s.retired_at IS NOT NULL, good.content_kind
             FROM sources s
             LEFT JOIN source_state st ON st.source = s.id
             LEFT JOIN records last ON last.id = st.last_record
             LEFT JOIN record_rows good ON good.id = st.last_good_record
             LEFT JOIN records changed ON changed.id = st.last_change_record
             ORDER BY s.id",
        )?;
        let rows = statement.query_map([], |row| {
            let id: String = row.get(0)?;
            let failing: Option<bool> = row.get(3)?;
            let last_outcome: Option<String> = row.get(8)?;
            let retired: bool = row.get(9)?;
            let state = match (failing, last_outcome.as_deref()) {
                // A followed page its parent no longer links to: not fetched.
                _ if retired => "retired",
                (Some(true), _) => "failing",
                (_, Some("failed")) => "failed",
                (_, Some(_)) => "ok",
                (_, None) => "never",
            };
            Ok(SourceSummary {
                scope_unreadable_since: unreadable.remove(&id),
                id,
                url: row.get(1)?,
                parent: row.get(2)?,
                state: state.to_string(),
                last_checked: row.get(5)?,
                last_changed: row.get(6)?,
                snapshots: row.get(7)?,
                consecutive_failures: row.get::<_, Option<i64>>(4)?.unwrap_or(0),
                content_kind: row.get(10)?,
                stale_since: None,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Per source whose scope extraction is broken at `at` (RFC 3339,
    /// default now): since when, the time the first record after its last
    /// stored scope whose extraction broke was made (its `extraction-broken`
    /// event's time). Such a record is a successful fetch without a scope
    /// set.
    pub fn scope_unreadable_since(
        &self,
        at: Option<&str>,
    ) -> Result<std::collections::HashMap<String, String>> {
        let sql: &str = match at {
            None => {
                "SELECT st.source,
                        (SELECT r.finished_at FROM records r
                         WHERE r.source = st.source AND r.id > COALESCE(st.last_scope_record, 0)
                           AND r.outcome = 'ok' AND r.scope_hash IS NULL
                         ORDER BY r.id LIMIT 1)
                 FROM source_state st WHERE st.scope_broken = 1"
            }
            // After each source's last scope record at `at`, its first
            // successful record without one, made by then: a walk from
            // that record on through the source's records in id order.
            Some(_) => &format!(
                "SELECT r.source, r.finished_at FROM records r
                     WHERE r.id IN (
                         SELECT (SELECT b.id FROM record_rows b
                                 WHERE b.source = s.id AND b.id > COALESCE(({LAST_SCOPE_AT}), 0)
                                   AND b.outcome IN (0, 'ok') AND b.scope_hash IS NULL
                                   AND CASE typeof(b.started_at) WHEN 'integer'
                                       THEN b.started_at <= ?2 ELSE b.started_at <= ?1 END
                                 ORDER BY b.id LIMIT 1)
                         FROM sources s)"
            ),
        };
        let mut statement = self.conn().prepare(sql)?;
        let read = |row: &rusqlite::Row<'_>| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        };
        let rows = match at {
            None => statement.query_map([], read)?,
            Some(at) => statement.query_map(params![at, packed_ms(at)?], read)?,
        };
        let mut since = std::collections::HashMap::new();
        for row in rows {
            if let (source, Some(at)) = row? {
                since.insert(source, at);
            }
        }
        Ok(since)
    }

    /// Records of one source, newest (last made) first.
    pub fn history(&self, source: &str, limit: usize) -> Result<Vec<RecordSummary>> {
        let mut statement = self.conn().prepare(&format!(
            "{RECORD_SUMMARY} WHERE r.source = ?1 ORDER BY r.id DESC LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![source, limit as i64], record_summary)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One record.
    pub fn record(&self, id: i64) -> Result<RecordSummary> {
        self.conn()
            .query_row(
                &format!("{RECORD_SUMMARY} WHERE r.id = ?1"),
                [id],
                record_summary,
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no snapshot {id}; `scopewatch history SOURCE` lists them"
                ))
            })
    }

    /// The ids of the last two successful records of `source` whose
    /// normalised texts differ, older first.
    pub fn last_two_versions(&self, source: &str) -> Result<Option<(i64, i64)>> {
        let mut statement = self.conn().prepare(
            "SELECT id, text_hash FROM records
             WHERE source = ?1 AND outcome = 'ok' ORDER BY id DESC",
        )?;
        let mut rows = statement.query([source])?;
        let mut newest: Option<(i64, String)> = None;
        while let Some(row) = rows.next()? {
            let (id, hash): (i64, String) = (row.get(0)?, row.get(1)?);
            match &newest {
                None => newest = Some((id, hash)),
                Some((newest_id, newest_hash)) if *newest_hash != hash => {
                    return Ok(Some((id, *newest_id)));
                }
                Some(_) => {}
            }
        }
        Ok(None)
    }

    /// The normalised text (or with `raw`, the body) a record points to.
    pub fn snapshot_bytes(&self, id: i64, raw: bool) -> Result<Vec<u8>> {
        let record = self.record(id)?;
        let hash = if raw {
            record.raw_hash
        } else {
            record.text_hash
        };
        let hex = hash.ok_or_else(|| {
            StoreError::NotFound(format!(
                "snapshot {id} has no {} ({}{})",
                if raw { "body" } else { "text" },
                record.outcome,
                record
                    .error_class
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            ))
        })?;
        let digest = Digest::from_hex(&hex)
            .ok_or_else(|| StoreError::Corrupt(format!("record {id} has a malformed hash")))?;
        self.blob(&digest)
    }

    /// Events, newest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE 1 = 1");
        let mut values: Vec<String> = Vec::new();
        if let Some(since) = &filter.since {
            values.push(since.clone());
            sql.push_str(&format!(" AND detected_at >= ?{}", values.len()));
        }
        if let Some(until) = &filter.until {
            values.push(until.clone());
            sql.push_str(&format!(" AND detected_at < ?{}", values.len()));
        }
        let kinds: Vec<String> = filter.kinds.iter().map(|k| k.to_string()).collect();
        for (column, list) in [("source", &filter.sources), ("kind", &kinds)] {
            if list.is_empty() {
                continue;
            }
            let start = values.len();
            values.extend(list.iter().cloned());
            let marks: Vec<String> = (start + 1..=values.len())
                .map(|i| format!("?{i}"))
                .collect();
            sql.push_str(&format!(" AND {column} IN ({})", marks.join(", ")));
        }
        sql.push_str(" ORDER BY detected_at DESC, id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut statement = self.conn().prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Feeds every event to `each`, oldest first (the reverse of
    /// [`Store::events`]' order), one row at a time.
    pub fn for_each_event<E: From<StoreError>>(
        &self,
        mut each: impl FnMut(EventRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events ORDER BY detected_at, id"
            ))
            .map_err(StoreError::from)?;
        let mut rows = statement.query([]).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            each(event_row(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// When each source was last checked, for catching up missed schedules.
    pub fn last_checked(&self, source: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT r.started_at FROM source_state s JOIN records r ON r.id = s.last_record
                 WHERE s.source = ?1",
                [source],
                |row| row.get(0),
            )
            .optional()?)
    }
}

/// When a service entered, left or was renamed in a certification's scope
/// on a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeTransition {
    pub source: String,
    pub certification: String,
    pub service: String,
    /// `entered`, `left` or `renamed`.
    pub change: String,
    /// A rename's former certification and service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<ScopeEntry>,
    pub at: String,
    pub snapshot: i64,
}

/// Whether `name` answers the service filter `wanted`
/// ([`claims::service_filter_matches`]).
pub fn service_matches(name: &str, wanted: &str) -> bool {
    claims::service_filter_matches(name, wanted)
}

/// SQL: the id of source `s.id`'s last scope record made by `?1` (RFC
/// 3339, as `clock::format` writes it) or, the same time packed, `?2`
/// (Unix ms), by the time it was made: one seek each in
/// `record_scopes_by_time` among packed rows (whose times are integers,
/// sorting before any text) and among rows whose time is kept as written
/// (text: rows from before packing, and the rare time packing cannot
/// hold); of the two, the one made last (the higher id).
const LAST_SCOPE_AT: &str = "SELECT NULLIF(MAX(
        COALESCE((SELECT g.id FROM record_rows g
                  WHERE g.source = s.id AND g.scope_hash IS NOT NULL AND g.started_at <= ?2
                  ORDER BY g.started_at DESC, g.id DESC LIMIT 1), 0),
        COALESCE((SELECT g.id FROM record_rows g
                  WHERE g.source = s.id AND g.scope_hash IS NOT NULL
                    AND g.started_at >= '' AND g.started_at <= ?1
                  ORDER BY g.started_at DESC, g.id DESC LIMIT 1), 0)), 0)";

/// `at` (RFC 3339) as a packed row's time, Unix milliseconds.
fn packed_ms(at: &str) -> Result<i64> {
    super::packed::unix_ms(at)
        .ok_or_else(|| StoreError::NotFound(format!("{at:?} is not an RFC 3339 time")))
}

impl Store {
    /// The pairs in scope at `at` (RFC 3339, default now): per source, those
    /// of its latest stored scope at that time. A source whose extraction
    /// broke or whose fetches fail keeps its last known scope; one whose
    /// extraction was broken then has its rows marked `stale_since`.
    pub fn scope_at(&self, at: Option<&str>, filter: &ScopeFilter) -> Result<Vec<ScopeRow>> {
        Ok(self.scope_pairs_at(at, filter)?.to_rows())
    }

    /// [`Store::scope_at`], held compactly for long listings.
    pub fn scope_pairs_at(&self, at: Option<&str>, filter: &ScopeFilter) -> Result<ScopePairs> {
        let stale = self.scope_unreadable_since(at)?;
        // Now: the latest (by id, as `source_state` keeps it); at a time:
        // the latest made by then, by time (index `record_scopes_by_time`).
        // The two agree unless the clock stepped back between records.
        let latest_at = format!(
            "SELECT r.id, r.source, (SELECT hex FROM digests WHERE id = r.scope_hash)
             FROM sources s JOIN record_rows r ON r.id = ({LAST_SCOPE_AT})
             ORDER BY s.id"
        );
        let latest_now = "SELECT r.id, r.source, (SELECT hex FROM digests WHERE id = r.scope_hash)
             FROM sources s JOIN record_rows r ON r.id = (
                 SELECT MAX(g.id) FROM record_rows g
                 WHERE g.source = s.id AND g.scope_hash IS NOT NULL)
             ORDER BY s.id";
        let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, String, String)> {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        };
        let latest = match at {
            None => self
                .conn()
                .prepare(latest_now)?
                .query_map([], read)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
            Some(at) => self
                .conn()
                .prepare(&latest_at)?
                .query_map(params![at, packed_ms(at)?], read)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        };
        scope_pairs::read(self.conn(), latest, filter, stale)
    }

    /// When services entered, left or were renamed in each
    /// certification's scope, oldest first (in the order the records were
    /// made), with the record that showed it: a source's first stored
    /// scope enters its pairs, and after that each `scope` event's
    /// `added`, `removed` and `renamed`, so the history says what `changes`
    /// says. `service`: only services answering that filter (either name,
    /// for a rename).
    pub fn scope_history(&self, service: Option<&str>) -> Result<Vec<ScopeTransition>> {
        let keep = |name: &str| service.is_none_or(|s| claims::service_filter_matches(name, s));
        let mut transitions = Vec::new();
        let transition =
            |change: &str, to: &ScopeEntry, from, source: &str, at: &str, id| ScopeTransition {
                source: source.to_string(),
                certification: to.certification.clone(),
                service: to.service.clone(),
                change: change.to_string(),
                from,
                at: at.to_string(),
                snapshot: id,
            };
        let mut first_scopes = self.conn().prepare(
            "SELECT id, source, started_at, scope_hash FROM records
             WHERE id IN (SELECT MIN(id) FROM records WHERE scope_hash IS NOT NULL GROUP BY source)",
        )?;
        let mut rows = first_scopes.query([])?;
        let mut sets = SetCache::new(self.conn());
        while let Some(row) = rows.next()? {
            let (id, source, at, hash): (i64, String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            for entry in sets.get(&hash, id)?.entries() {
                if keep(&entry.service) {
                    transitions.push(transition("entered", entry, None, &source, &at, id));
                }
            }
        }
        // Scope events, and the layout changes that replaced the reference
        // without one (`extraction-broken` with `reference: replaced`).
        let mut scope_events = self.conn().prepare(
            "SELECT e.record_id, e.source, r.started_at, e.details, e.kind, r.scope_hash,
                    e.from_record, p.scope_hash
             FROM events e JOIN records r ON r.id = e.record_id
             LEFT JOIN records p ON p.id = e.from_record
             WHERE e.kind = ?1
                OR (e.kind = ?2 AND e.details LIKE '%\"reference\":\"replaced\"%')
             ORDER BY e.id",
        )?;
        let mut rows =
            scope_events.query(params![EventKind::Scope, EventKind::ExtractionBroken])?;
        while let Some(row) = rows.next()? {
            let (id, source, at, details): (i64, String, String, Option<String>) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let (kind, hash, from_record, from_hash): (
                EventKind,
                Option<String>,
                Option<i64>,
                Option<String>,
            ) = (row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?);
            if kind != EventKind::Scope {
                // The new layout replaced the reference: what the old scope
                // had and the new one has not left, and the reverse entered.
                let (Some(hash), Some(from), Some(from_hash)) = (hash, from_record, from_hash)
                else {
                    continue;
                };
                let (now, before) = (sets.get(&hash, id)?, sets.get(&from_hash, from)?);
                for (change, set, other) in [("left", &before, &now), ("entered", &now, &before)] {
                    for entry in set.entries() {
                        if keep(&entry.service) && !other.contains(entry) {
                            transitions.push(transition(change, entry, None, &source, &at, id));
                        }
                    }
                }
                continue;
            }
            let diff: ScopeDiff = serde_json::from_str(details.as_deref().unwrap_or("{}"))
                .map_err(|e| {
                    StoreError::Corrupt(format!(
                        "the details of the scope event of record {id}: {e}"
                    ))
                })?;
            for (change, entries) in [("entered", &diff.added), ("left", &diff.removed)] {
                for entry in entries.iter().filter(|e| keep(&e.service)) {
                    transitions.push(transition(change, entry, None, &source, &at, id));
                }
            }
            for rename in &diff.renamed {
                match rename {
                    ScopeRename::Entry { from, to } => {
                        if keep(&from.service) || keep(&to.service) {
                            let from = Some(from.clone());
                            transitions.push(transition("renamed", to, from, &source, &at, id));
                        }
                    }
                    // A certification renamed: each service it kept, renamed.
                    ScopeRename::Certification { from, to } => {
                        let Some(hash) = &hash else { continue };
                        for entry in sets.get(hash, id)?.entries() {
                            if entry.certification != to.certification
                                || !keep(&entry.service)
                                || diff.added.contains(entry)
                            {
                                continue;
                            }
                            let old = ScopeEntry::new(&from.certification, &entry.service);
                            transitions.push(transition(
                                "renamed",
                                entry,
                                Some(old),
                                &source,
                                &at,
                                id,
                            ));
                        }
                    }
                }
            }
        }
        // Stable: a record's transitions keep the order above.
        transitions.sort_by_key(|t| t.snapshot);
        Ok(transitions)
    }
}

impl Store {
    /// The stored JSON of a scope set (an array of `{certification, service}`).
    pub fn scope_set_json(&self, hash: &str) -> Result<Option<String>> {
        super::scope_sets::json(self.conn(), hash)
    }

    /// The text and scope hashes (hex) of record `id`; `None` when there
    /// is no such record. What an event's ledger leaf binds it to.
    pub fn derived_hashes(&self, id: i64) -> Result<Option<DerivedHashes>> {
        derived_hashes(self.conn(), id)
    }
}

/// A record's text and scope hashes (hex), when it has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DerivedHashes {
    pub text_hash: Option<String>,
    pub scope_hash: Option<String>,
}

/// [`Store::derived_hashes`] on a connection (inside a write transaction).
pub(crate) fn derived_hashes(conn: &Connection, id: i64) -> Result<Option<DerivedHashes>> {
    Ok(conn
        .prepare_cached("SELECT text_hash, scope_hash FROM records WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(DerivedHashes {
                text_hash: row.get(0)?,
                scope_hash: row.get(1)?,
            })
        })
        .optional()?)
}
