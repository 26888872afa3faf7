//! The report's scope sections: each source's scope as of the export
//! (every certification × service pair the newest scope statement holds,
//! with when the bundle's captures first and last stated it, and the pairs
//! no longer stated), and every scope change with its complete added,
//! removed and renamed lists, severity and dates.

use std::collections::{BTreeMap, HashMap};

use super::{Report, escape, severity, when};
use crate::detect::EventKind;
use crate::scope::{ScopeDiff, ScopeRename, ScopeSet};
use crate::store::{RecordOutcome, RecordRow};
use crate::wording::counted;

/// When the bundle's captures first and last stated a pair.
struct Seen<'a> {
    first: &'a str,
    last: &'a str,
}

/// A source's pairs with when each was stated, and its newest statement
/// with the time of the capture that made it.
struct History<'a> {
    seen: BTreeMap<(&'a str, &'a str), Seen<'a>>,
    newest: Option<(&'a str, &'a ScopeSet)>,
}

/// Walks a source's captures once, a run of captures stating the same set
/// at a time, so each set's pairs are visited once per run, not per capture.
fn history<'a>(rows: &[&'a RecordRow], sets: &'a HashMap<String, ScopeSet>) -> History<'a> {
    let mut seen: BTreeMap<(&str, &str), Seen> = BTreeMap::new();
    let mut runs: Vec<(&ScopeSet, &str, &str)> = Vec::new();
    let mut current: Option<(&str, &ScopeSet, &str, &str)> = None;
    for row in rows.iter().filter(|r| r.outcome == RecordOutcome::Ok) {
        let Some((hash, set)) = row
            .scope_hash
            .as_deref()
            .and_then(|hash| sets.get(hash).map(|set| (hash, set)))
        else {
            continue;
        };
        match &mut current {
            Some((run_hash, _, _, last)) if *run_hash == hash => *last = &row.started_at,
            _ => {
                if let Some((_, set, first, last)) = current.take() {
                    runs.push((set, first, last));
                }
                current = Some((hash, set, &row.started_at, &row.started_at));
            }
        }
    }
    if let Some((_, set, first, last)) = current {
        runs.push((set, first, last));
    }
    for &(set, first, last) in &runs {
        for entry in set.entries() {
            seen.entry((&entry.certification, &entry.service))
                .and_modify(|s| s.last = last)
                .or_insert(Seen { first, last });
        }
    }
    History {
        seen,
        newest: runs.last().map(|(set, _, last)| (*last, *set)),
    }
}

/// "In scope as of the export": per source, the newest statement's pairs.
pub(super) fn scope_now(
    out: &mut String,
    by_source: &BTreeMap<&str, Vec<&RecordRow>>,
    sets: &HashMap<String, ScopeSet>,
) {
    out.push_str(
        "<h2 id=\"scope\">Scope as of export</h2>\n<p class=\"note\">Per source, the certification × service pairs its newest capture with a scope statement states, with when this bundle's captures first and last stated each; then the pairs stated earlier in the period and no longer.</p>\n",
    );
    for (source, rows) in by_source {
        out.push_str(&format!("<h3>{}</h3>\n", escape(source)));
        let history = history(rows, sets);
        let Some((as_of, newest)) = history.newest else {
            out.push_str("<p>No scope statement was extracted from this source's captures in this period.</p>\n");
            continue;
        };
        let current: std::collections::BTreeSet<(&str, &str)> = newest
            .entries()
            .iter()
            .map(|e| (e.certification.as_str(), e.service.as_str()))
            .collect();
        out.push_str(&format!(
            "<p>In scope as of {}: {}.</p>\n",
            escape(&when(as_of)),
            counted(current.len(), "pair", "pairs")
        ));
        pair_table(
            out,
            history
                .seen
                .iter()
                .filter(|(pair, _)| current.contains(*pair)),
        );
        let gone: Vec<_> = history
            .seen
            .iter()
            .filter(|(pair, _)| !current.contains(*pair))
            .collect();
        if !gone.is_empty() {
            out.push_str(&format!(
                "<p>No longer in scope: {} stated earlier in the period.</p>\n",
                counted(gone.len(), "pair", "pairs")
            ));
            pair_table(out, gone.into_iter());
        }
    }
}

fn pair_table<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = (&'a (&'a str, &'a str), &'a Seen<'a>)>,
) {
    out.push_str("<table>\n<tr><th>certification</th><th>service</th><th>first seen</th><th>last seen</th></tr>\n");
    for ((certification, service), seen) in pairs {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(certification),
            escape(service),
            escape(&when(seen.first)),
            escape(&when(seen.last)),
        ));
    }
    out.push_str("</table>\n");
}

/// Every scope event, with its lists in full.
pub(super) fn scope_changes(out: &mut String, report: &Report<'_>) {
    out.push_str("<h2 id=\"scope-changes\">Scope changes</h2>\n");
    let events: Vec<_> = report
        .events
        .iter()
        .map(|(event, _)| event)
        .filter(|e| e.kind == EventKind::Scope)
        .collect();
    if events.is_empty() {
        out.push_str("<p>No scope change in this period.</p>\n");
        return;
    }
    out.push_str(&format!(
        "<p>{} in this period, oldest first, each with its complete lists.</p>\n",
        counted(events.len(), "scope change", "scope changes")
    ));
    for event in events {
        let diff: ScopeDiff =
            serde_json::from_value(serde_json::Value::Object(event.details.clone()))
                .unwrap_or_default();
        out.push_str(&format!(
            "<section class=\"change\"><h3>{} · {} · severity {}</h3>\n<p>{}</p>\n<p>Between the capture of {} and that of {}.</p>\n",
            escape(&when(&event.detected_at)),
            escape(&event.source),
            severity(event.severity.as_deref()),
            escape(&event.summary),
            escape(
                &event
                    .from_snapshot
                    .map_or_else(|| "no earlier capture".into(), |id| report.capture(id))
            ),
            escape(&report.capture(event.to_snapshot)),
        ));
        for (title, entries) in [("Added", &diff.added), ("Removed", &diff.removed)] {
            out.push_str(&format!("<h4>{title} ({})</h4>\n", entries.len()));
            if entries.is_empty() {
                continue;
            }
            out.push_str("<table>\n<tr><th>certification</th><th>service</th></tr>\n");
            for entry in entries {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>\n",
                    escape(&entry.certification),
                    escape(&entry.service)
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str(&format!("<h4>Renamed ({})</h4>\n", diff.renamed.len()));
        if !diff.renamed.is_empty() {
            out.push_str("<table>\n<tr><th>from</th><th>to</th></tr>\n");
            for rename in &diff.renamed {
                let (from, to) = match rename {
                    ScopeRename::Certification { from, to } => (
                        format!("certification {}", from.certification),
                        format!("certification {}", to.certification),
                    ),
                    ScopeRename::Entry { from, to } => (
                        format!("{} / {}", from.certification, from.service),
                        format!("{} / {}", to.certification, to.service),
                    ),
                };
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>\n",
                    escape(&from),
                    escape(&to)
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }
}
