//! The report's content changes: each `content` event's stored unified
//! diff shown side by side, the earlier capture's text on the left and the
//! later one's on the right, each column headed by the date and time of
//! its capture.
//!
//! Bounded, since a year of changes to a long page must not make a report
//! of hundreds of megabytes: a diff shows at most [`MAX_ROWS`] rows, each
//! line cut at [`MAX_LINE_CHARS`] characters, and once the diffs shown take
//! [`BUDGET`] bytes of HTML, later events are listed without theirs. Every
//! diff is whole in `changes.jsonl`, which the report names.

use super::{escape, when};
use crate::store::EventRow;

/// Rows of one diff shown: a page of text either side, enough to read
/// what changed in all but a rewrite.
const MAX_ROWS: usize = 500;
/// Characters of a line shown: a long paragraph; a longer line (a minified
/// script kept as text, a hostile page) is cut.
const MAX_LINE_CHARS: usize = 500;
/// HTML bytes of diffs in one report: a few megabytes opens at once in a
/// browser and prints; beyond it the report would grow with the history.
const BUDGET: usize = 4 * 1024 * 1024;

/// The content changes, fed oldest first, with the diff bytes shown so far.
#[derive(Default)]
pub(super) struct ContentChanges {
    count: usize,
    used: usize,
}

impl ContentChanges {
    /// The section's heading, and its note when there are changes.
    pub(super) fn head(&self) -> String {
        let mut out = String::from("<h2 id=\"content-changes\">Content changes</h2>\n");
        if self.count == 0 {
            out.push_str("<p>No content change in this period.</p>\n");
        } else {
            out.push_str(&format!(
                "<p class=\"note\">Oldest first. Each diff shows at most {MAX_ROWS} rows, lines cut at {MAX_LINE_CHARS} characters, and the report's diffs at most {} MB; every diff is whole in <code>changes.jsonl</code>.</p>\n",
                BUDGET / (1024 * 1024)
            ));
        }
        out
    }

    /// A `content` event's section, with its diff while the budget lasts;
    /// `capture` names a record for a heading.
    pub(super) fn add(
        &mut self,
        out: &mut String,
        event: &EventRow,
        diff: Option<&str>,
        capture: &dyn Fn(i64) -> String,
    ) {
        self.count += 1;
        out.push_str(&format!(
            "<section class=\"change\"><h3>{} · {}</h3>\n<p>{}</p>\n",
            escape(&when(&event.detected_at)),
            escape(&event.source),
            escape(&event.summary),
        ));
        let before = event
            .from_snapshot
            .map_or_else(|| "no earlier capture".into(), capture);
        let after = capture(event.to_snapshot);
        match diff {
            None => out.push_str(&format!(
                "<p>No diff is stored for this change (from {} to {}).</p>\n",
                escape(&before),
                escape(&after)
            )),
            Some(_) if self.used >= BUDGET => out.push_str(&format!(
                "<p class=\"note\">The diff from {} to {} is not shown: this report's diffs reached {} MB. It is whole in <code>changes.jsonl</code> (event {}).</p>\n",
                escape(&before),
                escape(&after),
                BUDGET / (1024 * 1024),
                event.id
            )),
            Some(diff) => {
                let start = out.len();
                side_by_side(out, diff, &before, &after, event.id);
                self.used += out.len() - start;
            }
        }
        out.push_str("</section>\n");
    }
}

/// The rows of a side-by-side table, counting what is not shown.
struct Rows<'o> {
    out: &'o mut String,
    shown: usize,
    hidden: usize,
}

impl Rows<'_> {
    fn row(&mut self, class: &str, left: Option<&str>, right: Option<&str>) {
        if self.shown >= MAX_ROWS {
            self.hidden += 1;
            return;
        }
        self.shown += 1;
        let cell = |side: Option<&str>, changed: &str| match side {
            Some(text) => format!("<td{changed}>{}</td>", escape(&cut(text))),
            None => "<td></td>".into(),
        };
        let (left_class, right_class) = match class {
            "change" => (" class=\"del\"", " class=\"add\""),
            _ => ("", ""),
        };
        self.out.push_str(&format!(
            "<tr>{}{}</tr>\n",
            cell(left, left_class),
            cell(right, right_class)
        ));
    }

    fn hunk(&mut self, header: &str) {
        if self.shown >= MAX_ROWS {
            return;
        }
        self.shown += 1;
        let mut parts = header.split_whitespace().skip(1);
        let start = |part: Option<&str>| {
            part.and_then(|p| p.get(1..))
                .and_then(|p| p.split(',').next())
                .map(|line| format!("line {line}"))
                .unwrap_or_default()
        };
        let (old, new) = (start(parts.next()), start(parts.next()));
        self.out.push_str(&format!(
            "<tr class=\"hunk\"><td>{}</td><td>{}</td></tr>\n",
            escape(&old),
            escape(&new)
        ));
    }

    /// Removed lines beside the added lines that replace them.
    fn flush(&mut self, removed: &mut Vec<&str>, added: &mut Vec<&str>) {
        for i in 0..removed.len().max(added.len()) {
            self.row("change", removed.get(i).copied(), added.get(i).copied());
        }
        removed.clear();
        added.clear();
    }
}

/// `diff` (a unified diff as `similar` writes it) as a two-column table
/// headed by the dates of `before` and `after`.
fn side_by_side(out: &mut String, diff: &str, before: &str, after: &str, event_id: i64) {
    out.push_str(&format!(
        "<table class=\"diff\"><thead><tr><th>Before: {}</th><th>After: {}</th></tr></thead><tbody>\n",
        escape(before),
        escape(after)
    ));
    let mut rows = Rows {
        out,
        shown: 0,
        hidden: 0,
    };
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let mut in_header = true;
    for line in diff.lines() {
        if in_header && (line.starts_with("--- ") || line.starts_with("+++ ")) {
            continue;
        }
        match line.as_bytes().first() {
            Some(b'@') => {
                in_header = false;
                rows.flush(&mut removed, &mut added);
                rows.hunk(line);
            }
            Some(b'-') => removed.push(&line[1..]),
            Some(b'+') => added.push(&line[1..]),
            Some(b'\\') => {}
            _ => {
                rows.flush(&mut removed, &mut added);
                let text = line.strip_prefix(' ').unwrap_or(line);
                rows.row("same", Some(text), Some(text));
            }
        }
    }
    rows.flush(&mut removed, &mut added);
    let hidden = rows.hidden;
    if hidden > 0 {
        out.push_str(&format!(
            "<tr class=\"hunk\"><td colspan=\"2\">{hidden} more rows not shown: the whole diff is in changes.jsonl (event {event_id})</td></tr>\n"
        ));
    }
    out.push_str("</tbody></table>\n");
}

/// At most [`MAX_LINE_CHARS`] characters of `line`, marked when cut.
fn cut(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unified_diff_reads_side_by_side_under_dated_headers() {
        let (_, _, diff) =
            crate::textdiff::unified_diff("a\nb\nc\n<x>\n", "a\nB\nc\n<x>\nnew\n", 3, 7);
        let mut out = String::new();
        side_by_side(
            &mut out,
            &diff,
            "2026-01-02 00:00:00 UTC (record 3)",
            "2026-02-03 00:00:00 UTC (record 7)",
            9,
        );
        assert!(out.contains("<th>Before: 2026-01-02 00:00:00 UTC (record 3)</th><th>After: 2026-02-03 00:00:00 UTC (record 7)</th>"), "{out}");
        assert!(!out.contains("snapshot"), "{out}");
        assert!(
            out.contains("<tr><td class=\"del\">b</td><td class=\"add\">B</td></tr>"),
            "{out}"
        );
        assert!(
            out.contains("<tr><td>&lt;x&gt;</td><td>&lt;x&gt;</td></tr>"),
            "{out}"
        );
        assert!(
            out.contains("<tr><td></td><td class=\"add\">new</td></tr>"),
            "{out}"
        );
        assert!(out.contains("<td>line 1</td><td>line 1</td>"), "{out}");
    }

    #[test]
    fn a_long_diff_is_cut_and_says_where_the_rest_is() {
        let old: String = (0..2000).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..2000)
            .map(|i| format!("new {i} {}\n", "x".repeat(900)))
            .collect();
        let (_, _, diff) = crate::textdiff::unified_diff(&old, &new, 1, 2);
        let mut out = String::new();
        side_by_side(&mut out, &diff, "a", "b", 5);
        assert_eq!(
            out.matches("<tr><td").count(),
            MAX_ROWS - 1,
            "one row is the hunk's"
        );
        assert!(
            out.contains("1501 more rows not shown: the whole diff is in changes.jsonl (event 5)"),
            "{out:.200}"
        );
        assert!(out.contains(&format!("{}…", "x".repeat(MAX_LINE_CHARS - 9))));
        assert!(out.len() < 600 * 1024, "{}", out.len());
    }
}
