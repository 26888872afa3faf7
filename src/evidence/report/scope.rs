//! The report's scope sections: each source's scope as of the export
//! (every certification × service pair the newest scope statement holds,
//! with when the bundle's captures first and last stated it, and the pairs
//! no longer stated), and every scope change with its complete added,
//! removed and renamed lists, severity and dates.

use std::collections::{BTreeMap, BTreeSet};

use super::{escape, severity, when};
use crate::scope::{ScopeDiff, ScopeRename, ScopeSet};
use crate::store::{EventRow, RecordOutcome, RecordRow};
use crate::wording::counted;

/// When the bundle's captures first and last stated a pair.
struct Seen {
    first: String,
    last: String,
}

/// A run of captures stating the same scope set.
struct Run {
    hash: String,
    set: ScopeSet,
    first: String,
    last: String,
}

/// A source's pairs with when each was stated, and its newest statement
/// with the time of the capture that made it, fed the source's captures
/// a run of captures stating the same set at a time, so each set's pairs
/// are visited once per run, not per capture.
#[derive(Default)]
pub(super) struct History {
    seen: BTreeMap<(String, String), Seen>,
    current: Option<Run>,
    /// The newest run, once it ended.
    newest: Option<Run>,
}

/// The section's heading.
pub(super) const NOW_HEAD: &str = "<h2 id=\"scope\">Scope as of export</h2>\n<p class=\"note\">Per source, the certification × service pairs its newest capture with a scope statement states, with when this bundle's captures first and last stated each; then the pairs stated earlier in the period and no longer.</p>\n";

impl History {
    /// The next capture, with the set its scope hash names (`None`: no
    /// scope stated, or a set that does not read).
    pub(super) fn add(&mut self, row: &RecordRow, set: Option<&ScopeSet>) {
        let (Some(hash), Some(set)) = (row.scope_hash.as_deref(), set) else {
            return;
        };
        if row.outcome != RecordOutcome::Ok {
            return;
        }
        match &mut self.current {
            Some(run) if run.hash == hash => run.last.clone_from(&row.started_at),
            _ => {
                self.end_run();
                self.current = Some(Run {
                    hash: hash.to_string(),
                    set: set.clone(),
                    first: row.started_at.clone(),
                    last: row.started_at.clone(),
                });
            }
        }
    }

    fn end_run(&mut self) {
        let Some(run) = self.current.take() else {
            return;
        };
        for entry in run.set.entries() {
            self.seen
                .entry((entry.certification.clone(), entry.service.clone()))
                .and_modify(|s| s.last.clone_from(&run.last))
                .or_insert(Seen {
                    first: run.first.clone(),
                    last: run.last.clone(),
                });
        }
        self.newest = Some(run);
    }

    /// "In scope as of the export" for the source: its newest statement's
    /// pairs, then those no longer stated.
    pub(super) fn write(mut self, out: &mut String, source: &str) {
        self.end_run();
        out.push_str(&format!("<h3>{}</h3>\n", escape(source)));
        let Some(newest) = &self.newest else {
            out.push_str("<p>No scope statement was extracted from this source's captures in this period.</p>\n");
            return;
        };
        let current: BTreeSet<(&str, &str)> = newest
            .set
            .entries()
            .iter()
            .map(|e| (e.certification.as_str(), e.service.as_str()))
            .collect();
        out.push_str(&format!(
            "<p>In scope as of {}: {}.</p>\n",
            escape(&when(&newest.last)),
            counted(current.len(), "pair", "pairs")
        ));
        let is_current = |(certification, service): &(String, String)| {
            current.contains(&(certification.as_str(), service.as_str()))
        };
        pair_table(out, self.seen.iter().filter(|(pair, _)| is_current(pair)));
        let gone: Vec<_> = self
            .seen
            .iter()
            .filter(|(pair, _)| !is_current(pair))
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

fn pair_table<'a>(out: &mut String, pairs: impl Iterator<Item = (&'a (String, String), &'a Seen)>) {
    out.push_str("<table>\n<tr><th>certification</th><th>service</th><th>first seen</th><th>last seen</th></tr>\n");
    for ((certification, service), seen) in pairs {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(certification),
            escape(service),
            escape(&when(&seen.first)),
            escape(&when(&seen.last)),
        ));
    }
    out.push_str("</table>\n");
}

/// The "Scope changes" heading, and the count of the changes listed
/// below it.
pub(super) fn changes_head(count: usize) -> String {
    let mut out = String::from("<h2 id=\"scope-changes\">Scope changes</h2>\n");
    if count == 0 {
        out.push_str("<p>No scope change in this period.</p>\n");
    } else {
        out.push_str(&format!(
            "<p>{} in this period, oldest first, each with its complete lists.</p>\n",
            counted(count, "scope change", "scope changes")
        ));
    }
    out
}

/// A scope event, with its lists in full; `capture` names a record for
/// a heading.
pub(super) fn scope_change(out: &mut String, event: &EventRow, capture: &dyn Fn(i64) -> String) {
    let diff: ScopeDiff = serde_json::from_value(serde_json::Value::Object(event.details.clone()))
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
                .map_or_else(|| "no earlier capture".into(), capture)
        ),
        escape(&capture(event.to_snapshot)),
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
