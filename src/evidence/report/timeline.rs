//! The report's attempt timeline, last: per source, one row per day with
//! counts of unchanged, noise, not-modified and failed attempts (failures
//! by error class) and each attempt that changed something (baseline,
//! content, moved) by its time and record. Consecutive days with nothing
//! but unchanged, noise and not-modified attempts fold into one row for
//! the range, so the table grows with the changes and failures of the
//! period, not with the number of sweeps.

use std::collections::BTreeMap;

use super::{day, escape, when};
use crate::detect::Change;
use crate::store::{RecordOutcome, RecordRow};

/// One row: a day, or a range of quiet days.
#[derive(Default)]
struct Span<'a> {
    first: &'a str,
    last: &'a str,
    attempts: usize,
    unchanged: usize,
    noise: usize,
    not_modified: usize,
    /// Failures by error class.
    failed: BTreeMap<&'a str, usize>,
    /// Attempts that changed something.
    notable: Vec<&'a RecordRow>,
}

impl<'a> Span<'a> {
    fn quiet(&self) -> bool {
        self.failed.is_empty() && self.notable.is_empty()
    }

    fn add(&mut self, row: &'a RecordRow) {
        self.attempts += 1;
        match (row.outcome, row.change) {
            (RecordOutcome::Failed, _) => {
                *self
                    .failed
                    .entry(row.error_class.as_deref().unwrap_or("failed"))
                    .or_default() += 1
            }
            (RecordOutcome::NotModified, _) => self.not_modified += 1,
            (_, Some(Change::Unchanged)) => self.unchanged += 1,
            (_, Some(Change::Noise)) => self.noise += 1,
            _ => self.notable.push(row),
        }
    }

    /// Folds `next` (a quiet day) into this quiet span.
    fn absorb(&mut self, next: Span<'a>) {
        self.last = next.last;
        self.attempts += next.attempts;
        self.unchanged += next.unchanged;
        self.noise += next.noise;
        self.not_modified += next.not_modified;
    }
}

/// The days of one source's attempts, quiet runs folded.
fn spans<'a>(rows: &[&'a RecordRow]) -> Vec<Span<'a>> {
    let mut days: Vec<Span<'a>> = Vec::new();
    for row in rows {
        let today = day(&row.started_at);
        match days.last_mut() {
            Some(span) if span.first == today => span.add(row),
            _ => {
                let mut span = Span {
                    first: today,
                    last: today,
                    ..Span::default()
                };
                span.add(row);
                days.push(span);
            }
        }
    }
    let mut folded: Vec<Span<'a>> = Vec::new();
    for span in days {
        match folded.last_mut() {
            Some(previous) if previous.quiet() && span.quiet() => previous.absorb(span),
            _ => folded.push(span),
        }
    }
    folded
}

pub(super) fn timeline(out: &mut String, by_source: &BTreeMap<&str, Vec<&RecordRow>>) {
    out.push_str(
        "<h2 id=\"timeline\">Attempt timeline</h2>\n<p class=\"note\">Every fetch attempt of the period, per source and day: unchanged, noise and not-modified attempts as counts, failures by error class, and each attempt that changed something by its time. Days with nothing else are folded into one row. <code>report.csv</code> lists every attempt on its own line.</p>\n",
    );
    for (source, rows) in by_source {
        out.push_str(&format!(
            "<h3>{}</h3>\n<table>\n<tr><th>day(s)</th><th>attempts</th><th>unchanged</th><th>noise</th><th>not modified</th><th>failed</th><th>changes</th></tr>\n",
            escape(source)
        ));
        for span in spans(rows) {
            let days = if span.first == span.last {
                span.first.to_string()
            } else {
                format!("{} to {}", span.first, span.last)
            };
            let failed: usize = span.failed.values().sum();
            let failed = if failed == 0 {
                "0".to_string()
            } else {
                let classes: Vec<String> = span
                    .failed
                    .iter()
                    .map(|(class, n)| format!("{} ×{n}", escape(class)))
                    .collect();
                format!("{failed}: {}", classes.join(", "))
            };
            let notable: Vec<String> = span
                .notable
                .iter()
                .map(|row| {
                    format!(
                        "{} {} (record {})",
                        escape(when(&row.started_at).get(11..19).unwrap_or("")),
                        escape(row.change.map_or(row.outcome.as_str(), Change::as_str)),
                        row.id
                    )
                })
                .collect();
            out.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{failed}</td><td>{}</td></tr>\n",
                escape(&days),
                span.attempts,
                span.unchanged,
                span.noise,
                span.not_modified,
                notable.join("<br>"),
            ));
        }
        out.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, at: &str, outcome: &str, change: Option<&str>) -> RecordRow {
        RecordRow {
            id,
            source: "s".into(),
            url: "https://example.com/".into(),
            started_at: at.into(),
            finished_at: at.into(),
            outcome: RecordOutcome::ALL
                .into_iter()
                .find(|o| o.as_str() == outcome)
                .unwrap(),
            change: change.map(|word| {
                Change::ALL
                    .into_iter()
                    .find(|c| c.as_str() == word)
                    .unwrap()
            }),
            error_class: (outcome == "failed").then(|| "timeout".into()),
            error_message: None,
            attempts: 1,
            status: None,
            final_url: None,
            redirects: "[]".into(),
            request_headers: "[]".into(),
            response_headers: "[]".into(),
            remote_ip: None,
            tls_cert_sha256: None,
            tls_version: None,
            content_type: None,
            content_kind: None,
            raw_hash: None,
            text_hash: None,
            scope_hash: None,
            fetch_details: None,
            prev_hash: String::new(),
        }
    }

    #[test]
    fn quiet_days_fold_and_changes_and_failures_keep_their_day() {
        let mut rows = vec![row(1, "2026-01-01T00:00:00.000Z", "ok", Some("baseline"))];
        // A year of hourly unchanged sweeps, one content change and one failure.
        let mut id = 2;
        for d in 0..365 {
            let date =
                chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap() + chrono::Duration::days(d);
            for hour in 0..24 {
                let at = format!("{date}T{hour:02}:00:00.000Z");
                let (outcome, change) = match (d, hour) {
                    (100, 6) => ("ok", Some("content")),
                    (200, 7) => ("failed", None),
                    (_, 12) => ("ok", Some("noise")),
                    _ => ("ok", Some("unchanged")),
                };
                rows.push(row(id, &at, outcome, change));
                id += 1;
            }
        }
        let refs: Vec<&RecordRow> = rows.iter().collect();
        let spans = spans(&refs);
        let days: Vec<(&str, &str)> = spans.iter().map(|s| (s.first, s.last)).collect();
        assert_eq!(
            days,
            [
                ("2026-01-01", "2026-01-01"),
                ("2026-01-02", "2026-04-11"),
                ("2026-04-12", "2026-04-12"),
                ("2026-04-13", "2026-07-20"),
                ("2026-07-21", "2026-07-21"),
                ("2026-07-22", "2027-01-01"),
            ]
        );
        assert_eq!(spans[1].attempts, 100 * 24);
        assert_eq!(spans[1].noise, 100);
        assert_eq!(spans[2].notable.len(), 1);
        assert_eq!(spans[4].failed.get("timeout"), Some(&1));
        let mut out = String::new();
        timeline(&mut out, &BTreeMap::from([("s", refs)]));
        assert!(out.len() < 4096, "{}", out.len());
        assert!(out.contains("06:00:00 content (record"), "{out}");
    }
}
