//! The bundle's report for an auditor: `report.html` and `report.csv`.
//!
//! `report.html` reads in the order an auditor works: a summary (period,
//! sources, what `verify` found when the bundle was written, the signing
//! key, the newest checkpoint and its RFC 3161 time), the versions of the
//! portal documents watched ([`portal`]), each source's scope as of the
//! export ([`scope`]), every scope change in full, the content
//! changes as dated side-by-side diffs ([`diff`]), the other events, the
//! attempt timeline with quiet days folded ([`timeline`]), and a glossary.
//! It is one self-contained file: no scripts (its Content-Security-Policy
//! forbids them), inline styles with a print style sheet, and every string
//! that came from a page, a server or the configuration HTML-escaped.
//! It grows with the changes and failures of the period, not with its
//! sweeps: scope lists are complete (a page's scope is bounded by the
//! extraction limits), diffs are cut and their total capped, and the
//! timeline has one row per day with a change or a failure, quiet days
//! folded into ranges. The export feeds it ([`Parts`]) an event and a
//! source at a time, and each section goes to a scratch file until the
//! report is assembled, so making it holds one source's folded state, not
//! the period's captures.
//!
//! `report.csv` lists every attempt (RFC 4180 quoting; cells that a
//! spreadsheet would run as a formula are prefixed with `'`).

mod diff;
mod portal;
mod scope;
mod timeline;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::DateTime;

use super::Finding;
use super::checkpoint::Checkpoint;
use super::manifest::Selection;
use crate::detect::EventKind;
use crate::escape::html as escape;
use crate::scope::ScopeSet;
use crate::store::{EventRow, RecordOutcome, RecordRow};
use crate::wording::counted;

/// What `verify` (without re-extraction) found in the database when the
/// bundle was written.
#[derive(Debug, Clone, Default)]
pub struct ExportCheck {
    /// Findings that count: neither info lines nor bodies pruned by policy.
    pub problems: Vec<Finding>,
    /// Bodies pruned by `[retention]`, reported but not problems.
    pub pruned: usize,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
}

/// The newest RFC 3161 token among the bundle's checkpoints, as it states
/// itself (its signature is checked by `verify` with `tsa_ca_file`).
#[derive(Debug, Clone)]
pub struct StampNote {
    pub checkpoint_id: i64,
    pub gen_time: String,
    pub tsa: Option<String>,
}

/// What the report states of the bundle as a whole.
pub struct Report<'a> {
    pub selection: &'a Selection,
    /// The checkpoint the bundle is signed against.
    pub latest: &'a Checkpoint,
    pub stamp: Option<StampNote>,
    pub check: &'a ExportCheck,
}

/// One capture (record `id`, made at `at`).
#[derive(Debug, Clone)]
struct Capture {
    id: i64,
    at: String,
}

/// A source's line of the summary table.
struct SourceLine {
    source: String,
    url: String,
    attempts: usize,
    failed: usize,
    first: String,
    last: String,
}

/// One section of the report written to a scratch file as the export
/// goes, so the report's size is not held in memory.
struct Scratch {
    path: PathBuf,
    out: BufWriter<File>,
    written: bool,
}

impl Scratch {
    fn create(path: PathBuf) -> io::Result<Scratch> {
        Ok(Scratch {
            out: BufWriter::new(File::create(&path)?),
            path,
            written: false,
        })
    }

    fn push(&mut self, text: &str) -> io::Result<()> {
        self.written |= !text.is_empty();
        self.out.write_all(text.as_bytes())
    }

    /// Copies what was written so far to `out`.
    fn copy_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.out.flush()?;
        io::copy(&mut File::open(&self.path)?, out)?;
        Ok(())
    }
}

/// The report's parts, fed as the export reads the store: the events of
/// the bundle's captures (oldest first), then each source's captures (a
/// source at a time, in source order, each source's in the order they
/// were made); [`Parts::write_html`] assembles `report.html` from them.
pub struct Parts {
    sources: Vec<SourceLine>,
    /// The bundle's first and last capture, by record id.
    first: Option<Capture>,
    last: Option<Capture>,
    attempts: usize,
    portal: Scratch,
    scope_now: Scratch,
    timeline: Scratch,
    scope_changes: Scratch,
    scope_change_count: usize,
    content: Scratch,
    content_changes: diff::ContentChanges,
    others: Scratch,
}

impl Parts {
    /// Parts whose scratch files go into `dir`.
    pub fn new(dir: &Path) -> io::Result<Parts> {
        let scratch = |name: &str| Scratch::create(dir.join(format!("report-{name}.html")));
        Ok(Parts {
            sources: Vec::new(),
            first: None,
            last: None,
            attempts: 0,
            portal: scratch("portal")?,
            scope_now: scratch("scope-now")?,
            timeline: scratch("timeline")?,
            scope_changes: scratch("scope-changes")?,
            scope_change_count: 0,
            content: scratch("content")?,
            content_changes: diff::ContentChanges::default(),
            others: scratch("others")?,
        })
    }

    /// An event of the bundle's captures, with its diff; `capture` gives
    /// when a record was captured, for headings.
    pub fn add_event(
        &mut self,
        event: &EventRow,
        diff: Option<&str>,
        capture: &dyn Fn(i64) -> Option<String>,
    ) -> io::Result<()> {
        let mut out = String::new();
        let named = |id: i64| capture_name(id, capture(id).as_deref());
        match event.kind {
            EventKind::Scope => {
                scope::scope_change(&mut out, event, &named);
                self.scope_change_count += 1;
                self.scope_changes.push(&out)
            }
            EventKind::Content => {
                self.content_changes.add(&mut out, event, diff, &named);
                self.content.push(&out)
            }
            _ => {
                other_event(&mut out, event, &named);
                self.others.push(&out)
            }
        }
    }

    /// One source's report, its captures all added.
    pub fn add_source(&mut self, source: SourceReport) -> io::Result<()> {
        let SourceReport {
            source,
            url,
            attempts,
            failed,
            first,
            last,
            portal,
            scope,
            timeline,
        } = source;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(());
        };
        let mut out = String::new();
        portal.write(&mut out, &source);
        self.portal.push(&out)?;
        out.clear();
        scope.write(&mut out, &source);
        self.scope_now.push(&out)?;
        out.clear();
        timeline.write(&mut out, &source);
        self.timeline.push(&out)?;
        self.attempts += attempts;
        if self.first.as_ref().is_none_or(|f| first.id < f.id) {
            self.first = Some(first.clone());
        }
        if self.last.as_ref().is_none_or(|l| last.id > l.id) {
            self.last = Some(last.clone());
        }
        self.sources.push(SourceLine {
            source,
            url,
            attempts,
            failed,
            first: first.at,
            last: last.at,
        });
        Ok(())
    }

    /// `report.html`.
    pub fn write_html(&mut self, report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
        let mut head = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>scopewatch evidence report</title><style>{STYLE}</style></head><body>\n\
             <h1>scopewatch evidence report</h1>\n\
             <nav><p>Summary · <a href=\"#scope\">Scope as of export</a> · <a href=\"#scope-changes\">Scope changes</a> · \
             <a href=\"#content-changes\">Content changes</a> · <a href=\"#events\">Other events</a> · \
             <a href=\"#timeline\">Attempt timeline</a> · <a href=\"#glossary\">Glossary</a></p></nav>\n"
        );
        self.summary(&mut head, report);
        out.write_all(head.as_bytes())?;
        if self.portal.written {
            out.write_all(portal::HEAD.as_bytes())?;
            self.portal.copy_to(out)?;
            out.write_all(b"</table>\n")?;
        }
        out.write_all(scope::NOW_HEAD.as_bytes())?;
        self.scope_now.copy_to(out)?;
        out.write_all(scope::changes_head(self.scope_change_count).as_bytes())?;
        self.scope_changes.copy_to(out)?;
        out.write_all(self.content_changes.head().as_bytes())?;
        self.content.copy_to(out)?;
        out.write_all(b"<h2 id=\"events\">Other events</h2>\n")?;
        if self.others.written {
            out.write_all(OTHERS_HEAD.as_bytes())?;
            self.others.copy_to(out)?;
            out.write_all(b"</table>\n")?;
        } else {
            out.write_all(b"<p>None in this period.</p>\n")?;
        }
        out.write_all(timeline::HEAD.as_bytes())?;
        self.timeline.copy_to(out)?;
        out.write_all(GLOSSARY.as_bytes())?;
        out.write_all(b"</body></html>\n")
    }

    fn summary(&self, out: &mut String, report: &Report<'_>) {
        let latest = report.latest;
        let first = self.first.as_ref().map(|c| c.at.as_str());
        let last = self.last.as_ref().map(|c| c.at.as_str());
        let bound = |chosen: Option<String>, seen: Option<&str>, none: &str| {
            chosen
                .or_else(|| seen.map(when))
                .unwrap_or_else(|| none.into())
        };
        let since = report.selection.since.map(|t| when(&t.to_rfc3339()));
        let until = report.selection.until.map(|t| when(&t.to_rfc3339()));
        out.push_str("<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\">\n");
        let mut row = |name: &str, value: String| {
            out.push_str(&format!("<tr><th>{name}</th><td>{value}</td></tr>\n"));
        };
        row(
            "Period",
            format!(
                "{} to {}{}",
                escape(&bound(since.clone(), first, "the first capture")),
                escape(&bound(until.clone(), last, "the last capture")),
                match (first, last) {
                    (Some(first), Some(last)) if since.is_some() || until.is_some() => format!(
                        " (captures from {} to {})",
                        escape(&when(first)),
                        escape(&when(last))
                    ),
                    (None, _) | (_, None) => " (no capture in this period)".into(),
                    _ => String::new(),
                }
            ),
        );
        row(
            "Sources",
            format!(
                "{}, {}{}",
                counted(self.sources.len(), "source", "sources"),
                counted(self.attempts, "fetch attempt", "fetch attempts"),
                if report.selection.sources.is_empty() {
                    String::new()
                } else {
                    " (selected with --source)".into()
                }
            ),
        );
        row("Verification at export", verification(report.check));
        row(
            "Signing key",
            format!(
                "key id <code>{}</code> (public-key.pem; compare it with the key you pinned: <code>scopewatch key show</code> prints the operator's)",
                escape(&latest.key_id)
            ),
        );
        row(
            "Newest checkpoint",
            format!(
                "checkpoint {}, signed {}: {} with root <code>{}</code>",
                latest.id,
                escape(&when(&latest.at)),
                counted(
                    usize::try_from(latest.tree_size).unwrap_or(0),
                    "ledger entry",
                    "ledger entries"
                ),
                escape(&latest.root)
            ),
        );
        row(
            "RFC 3161 time",
            match &report.stamp {
                Some(stamp) => format!(
                    "checkpoint {} was timestamped at {}{} (as the token states; <code>scopewatch verify</code> with <code>[evidence] tsa_ca_file</code>, or <code>openssl ts -verify</code>, checks its signature)",
                    stamp.checkpoint_id,
                    escape(&when(&stamp.gen_time)),
                    stamp
                        .tsa
                        .as_deref()
                        .map(|tsa| format!(" by {}", escape(tsa)))
                        .unwrap_or_default()
                ),
                None => {
                    "none: no checkpoint in this bundle has a trusted timestamp ([evidence] tsa_url)"
                        .into()
                }
            },
        );
        out.push_str("</table>\n");
        out.push_str("<table>\n<tr><th>source</th><th>URL</th><th>attempts</th><th>failed</th><th>first</th><th>last</th></tr>\n");
        for line in &self.sources {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&line.source),
                escape(&line.url),
                line.attempts,
                line.failed,
                escape(&when(&line.first)),
                escape(&when(&line.last)),
            ));
        }
        out.push_str("</table>\n<p class=\"note\">README.txt says how to check this bundle without scopewatch; <code>scopewatch verify THIS_DIRECTORY --key PINNED.pem</code> checks it in one go.</p>\n");
    }
}

fn when(at: &str) -> String {
    DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_string(),
        |t| t.to_utc().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// The day (`YYYY-MM-DD`) of a stored time.
fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#111;line-height:1.4}\
h1{font-size:1.6em}h2{border-bottom:2px solid #444;margin-top:2em}h3{margin-top:1.5em}\
table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}\
th{background:#eee}code{font-size:.9em;word-break:break-all}\
.summary th{width:14em}.ok{color:#060;font-weight:bold}.bad{color:#a00;font-weight:bold}\
.sev-high{color:#a00;font-weight:bold}.sev-medium{color:#a60;font-weight:bold}\
table.diff{width:100%;table-layout:fixed;font-family:monospace;font-size:.85em}\
table.diff td{white-space:pre-wrap;word-break:break-all;border-color:#ddd}\
table.diff td.del{background:#fdd}table.diff td.add{background:#dfd}\
table.diff tr.hunk td{background:#eef;color:#555}\
.note{color:#555}.num{text-align:right}\
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-before:page}\
tr,.change h3{break-inside:avoid}th{background:none}a{color:inherit;text-decoration:none}\
table.diff td.del{background:none;text-decoration:line-through}table.diff td.add{background:none;font-weight:bold}\
nav{display:none}}";

/// The "verification at export" cell.
fn verification(check: &ExportCheck) -> String {
    let pruned = if check.pruned > 0 {
        format!(
            "; {} pruned by the retention policy, as the ledger records",
            counted(check.pruned, "raw body was", "raw bodies were")
        )
    } else {
        String::new()
    };
    if check.problems.is_empty() {
        return format!(
            "<span class=\"ok\">passed</span>: the record chain, blobs, ledger and {} matched when this bundle was written (<code>scopewatch verify</code>, without re-extraction){pruned}",
            counted(check.checkpoints, "signed checkpoint", "signed checkpoints")
        );
    }
    const SHOWN: usize = 20;
    let mut cell = format!(
        "<span class=\"bad\">{}</span> when this bundle was written (<code>scopewatch verify</code>, without re-extraction){pruned}:<ul>",
        counted(check.problems.len(), "finding", "findings")
    );
    for finding in check.problems.iter().take(SHOWN) {
        cell.push_str(&format!(
            "<li>{}: {}</li>",
            escape(&finding.concerns),
            escape(&finding.problem)
        ));
    }
    if check.problems.len() > SHOWN {
        cell.push_str(&format!(
            "<li>and {} more: run <code>scopewatch verify</code> on the database</li>",
            check.problems.len() - SHOWN
        ));
    }
    cell.push_str("</ul>");
    cell
}

/// A severity, coloured.
fn severity(severity: Option<&str>) -> String {
    match severity {
        Some(level) => format!("<span class=\"sev-{0}\">{0}</span>", escape(level)),
        None => "-".into(),
    }
}

/// The table head of the events that are neither scope nor content changes.
const OTHERS_HEAD: &str = "<table>\n<tr><th>detected</th><th>source</th><th>kind</th><th>severity</th><th>what</th><th>capture</th></tr>\n";

/// An event that is neither a scope nor a content change: its row.
fn other_event(out: &mut String, event: &EventRow, capture: &dyn Fn(i64) -> String) {
    out.push_str(&format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(&when(&event.detected_at)),
        escape(&event.source),
        escape(event.kind.as_str()),
        severity(event.severity.as_deref()),
        escape(&event.summary),
        escape(&capture(event.to_snapshot)),
    ));
}

/// Record `id` for a heading, captured `at`: the date and time, and the
/// record number only beside it.
fn capture_name(id: i64, at: Option<&str>) -> String {
    match at {
        Some(at) => format!("{} (record {id})", when(at)),
        None => format!("an earlier capture (record {id})"),
    }
}

/// One source's part of the report, fed its captures in the order they
/// were made: its summary line, portal versions, scope and timeline, each
/// kept as it folds (a row per version, scope statement or day with a
/// change or failure), not as the captures.
pub struct SourceReport {
    source: String,
    url: String,
    attempts: usize,
    failed: usize,
    first: Option<Capture>,
    last: Option<Capture>,
    portal: portal::Versions,
    scope: scope::History,
    timeline: timeline::Days,
}

impl SourceReport {
    pub fn new(source: &str) -> SourceReport {
        SourceReport {
            source: source.to_string(),
            url: String::new(),
            attempts: 0,
            failed: 0,
            first: None,
            last: None,
            portal: portal::Versions::default(),
            scope: scope::History::default(),
            timeline: timeline::Days::default(),
        }
    }

    /// The next capture; `scope` is the scope set it stated, if any.
    pub fn add(&mut self, row: &RecordRow, scope: Option<&ScopeSet>) {
        self.attempts += 1;
        self.failed += usize::from(row.outcome == RecordOutcome::Failed);
        self.url.clone_from(&row.url);
        let capture = Capture {
            id: row.id,
            at: row.started_at.clone(),
        };
        if self.first.is_none() {
            self.first = Some(capture.clone());
        }
        self.portal.add(row);
        self.scope.add(row, scope);
        self.timeline.add(row);
        self.last = Some(capture);
    }
}

const GLOSSARY: &str = "<h2 id=\"glossary\">Glossary</h2>\n<dl>\n\
<dt>Record</dt><dd>One fetch attempt of one page, successful or not, numbered in scopewatch's database (\"record 12\"). Its WARC records in <code>archive/</code> end with a metadata record whose <code>record_id</code> is that number.</dd>\n\
<dt>Baseline</dt><dd>A source's first successful capture: the text and scope later captures are compared with.</dd>\n\
<dt>Unchanged</dt><dd>A capture whose page text is the same as the previous capture's; <dfn>not modified</dfn>: the server answered 304, the page had not changed since the previous capture.</dd>\n\
<dt>Noise</dt><dd>A capture whose bytes differ from the previous capture's but whose normalised text does not (page chrome, timestamps, tokens): recorded, never a change.</dd>\n\
<dt>Content change</dt><dd>The normalised text differs from the previous successful capture's; the diff shows the two texts.</dd>\n\
<dt>Scope change</dt><dd>The set of (certification, service) pairs the page states differs from the previous one: pairs added, removed or renamed. Severity: <em>high</em> when a watched service is touched, <em>medium</em> when anything was removed, else <em>low</em>.</dd>\n\
<dt>Ledger</dt><dd>The append-only log of every fetch attempt, event and configuration change, hashed into a Merkle tree (RFC 6962): an entry cannot be altered, removed or reordered without changing every later root.</dd>\n\
<dt>Checkpoint</dt><dd>The ledger's size and Merkle root at a moment, signed with the operator's key (key id above). Each checkpoint's log must extend the previous one's.</dd>\n\
<dt>RFC 3161 timestamp</dt><dd>A token from an outside time-stamping authority over a checkpoint: it proves the checkpoint, and every entry it covers, existed by the token's time. It is the one piece the operator cannot make.</dd>\n\
</dl>\n";

fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The first line of `report.csv`.
pub const CSV_HEAD: &str = "record_id,source,url,started_at,finished_at,outcome,change,status,error_class,error_message,raw_hash,text_hash,record_hash,ledger_seq\r\n";

/// The line of `report.csv` for a capture, its record hash and ledger leaf.
pub fn csv_line(row: &RecordRow, record_hash: &str, ledger_seq: Option<i64>) -> String {
    let fields = [
        row.id.to_string(),
        row.source.clone(),
        row.final_url.clone().unwrap_or_else(|| row.url.clone()),
        row.started_at.clone(),
        row.finished_at.clone(),
        row.outcome.to_string(),
        row.change
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        row.status.map(|s| s.to_string()).unwrap_or_default(),
        row.error_class.clone().unwrap_or_default(),
        row.error_message.clone().unwrap_or_default(),
        row.raw_hash.clone().unwrap_or_default(),
        row.text_hash.clone().unwrap_or_default(),
        record_hash.to_string(),
        ledger_seq.map(|s| s.to_string()).unwrap_or_default(),
    ];
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    let mut line = line.join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_text_is_escaped_and_formulas_are_defused() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(csv_field(r#"=HYPERLINK("x")"#), r#""'=HYPERLINK(""x"")""#);
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn times_read_as_dates_and_odd_ones_stay_as_written() {
        assert_eq!(when("2026-11-28T23:30:00.123Z"), "2026-11-28 23:30:00 UTC");
        assert_eq!(when("yesterday"), "yesterday");
        assert_eq!(day("2026-11-28T23:30:00.123Z"), "2026-11-28");
    }
}
