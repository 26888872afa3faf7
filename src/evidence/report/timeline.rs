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

/// An attempt that changed something: its time, what it changed, its record.
struct Notable {
    at: String,
    change: &'static str,
    id: i64,
}

/// One row: a day, or a range of quiet days.
#[derive(Default)]
struct Span {
    first: String,
    last: String,
    attempts: usize,
    unchanged: usize,
    noise: usize,
    not_modified: usize,
    /// Failures by error class.
    failed: BTreeMap<String, usize>,
    /// Attempts that changed something.
    notable: Vec<Notable>,
}

impl Span {
    fn quiet(&self) -> bool {
        self.failed.is_empty() && self.notable.is_empty()
    }

    fn add(&mut self, row: &RecordRow) {
        self.attempts += 1;
        match (row.outcome, row.change) {
            (RecordOutcome::Failed, _) => {
                *self
                    .failed
                    .entry(row.error_class.as_deref().unwrap_or("failed").to_string())
                    .or_default() += 1
            }
            (RecordOutcome::NotModified, _) => self.not_modified += 1,
            (_, Some(Change::Unchanged)) => self.unchanged += 1,
            (_, Some(Change::Noise)) => self.noise += 1,
            _ => self.notable.push(Notable {
                at: row.started_at.clone(),
                change: row
                    .change
                    .map_or_else(|| row.outcome.as_str(), |c| c.as_str()),
                id: row.id,
            }),
        }
    }

    /// Folds `next` (a quiet day) into this quiet span.
    fn absorb(&mut self, next: Span) {
        self.last = next.last;
        self.attempts += next.attempts;
        self.unchanged += next.unchanged;
        self.noise += next.noise;
        self.not_modified += next.not_modified;
    }
}

/// The days of one source's attempts, fed in order, quiet runs folded as
/// each day ends.
#[derive(Default)]
pub(super) struct Days {
    folded: Vec<Span>,
    today: Option<Span>,
}

/// The section's heading.
pub(super) const HEAD: &str = "<h2 id=\"timeline\">Attempt timeline</h2>\n<p class=\"note\">Every fetch attempt of the period, per source and day: unchanged, noise and not-modified attempts as counts, failures by error class, and each attempt that changed something by its time. Days with nothing else are folded into one row. <code>report.csv</code> lists every attempt on its own line.</p>\n";

impl Days {
    pub(super) fn add(&mut self, row: &RecordRow) {
        let today = day(&row.started_at);
        match &mut self.today {
            Some(span) if span.first == today => span.add(row),
            _ => {
                self.end_day();
                let mut span = Span {
                    first: today.to_string(),
                    last: today.to_string(),
                    ..Span::default()
                };
                span.add(row);
                self.today = Some(span);
            }
        }
    }

    fn end_day(&mut self) {
        let Some(span) = self.today.take() else {
            return;
        };
        match self.folded.last_mut() {
            Some(previous) if previous.quiet() && span.quiet() => previous.absorb(span),
            _ => self.folded.push(span),
        }
    }

    /// The source's table.
    pub(super) fn write(mut self, out: &mut String, source: &str) {
        self.end_day();
        out.push_str(&format!(
            "<h3>{}</h3>\n<table>\n<tr><th>day(s)</th><th>attempts</th><th>unchanged</th><th>noise</th><th>not modified</th><th>failed</th><th>changes</th></tr>\n",
            escape(source)
        ));
        for span in &self.folded {
            let days = if span.first == span.last {
                span.first.clone()
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
                        escape(when(&row.at).get(11..19).unwrap_or("")),
                        escape(row.change),
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
        let mut days = Days::default();
        rows.iter().for_each(|row| days.add(row));
        days.end_day();
        let spans = &days.folded;
        let ranges: Vec<(&str, &str)> = spans
            .iter()
            .map(|s| (s.first.as_str(), s.last.as_str()))
            .collect();
        assert_eq!(
            ranges,
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
        days.write(&mut out, "s");
        assert!(out.len() < 4096, "{}", out.len());
        assert!(out.contains("06:00:00 content (record"), "{out}");
    }
}
