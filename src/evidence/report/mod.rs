//! The bundle's human-readable report: `report.html` (self-contained, no
//! scripts, every string that came from a page or a server HTML-escaped)
//! and `report.csv` (RFC 4180 quoting; cells that a spreadsheet would run
//! as a formula are prefixed with `'`).

use std::collections::BTreeMap;

use super::checkpoint::Checkpoint;
use crate::html::escape;
use crate::store::{EventRow, RecordRow};

/// One capture as the report lists it.
pub struct ReportRow {
    pub row: RecordRow,
    pub record_hash: String,
    pub ledger_seq: Option<i64>,
}

fn cell(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".into(), |v| escape(&v.to_string()))
}

pub fn html(
    rows: &[ReportRow],
    changes: &[(EventRow, Option<String>)],
    latest: &Checkpoint,
) -> String {
    let mut sources: BTreeMap<&str, (usize, usize, &str)> = BTreeMap::new();
    for r in rows {
        let entry = sources.entry(&r.row.source).or_insert((0, 0, ""));
        entry.0 += 1;
        if r.row.outcome == "failed" {
            entry.1 += 1;
        }
        entry.2 = &r.row.url;
    }
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>scopewatch evidence report</title><style>\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
         pre{background:#f6f6f6;padding:.5em;overflow:auto}.add{color:#060}.del{color:#a00}\
         </style></head><body>\n<h1>scopewatch evidence report</h1>\n",
    );
    out.push_str(&format!(
        "<p>Ledger checkpoint: {} entries, root <code>{}</code>, signed {} by key <code>{}</code>. \
         README.txt says how to verify this bundle.</p>\n",
        latest.tree_size,
        escape(&latest.root),
        escape(&latest.at),
        escape(&latest.key_id)
    ));
    out.push_str("<h2>Sources</h2>\n<table><tr><th>source</th><th>url</th><th>attempts</th><th>failed</th></tr>\n");
    for (source, (attempts, failed, url)) in &sources {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{attempts}</td><td>{failed}</td></tr>\n",
            escape(source),
            escape(url)
        ));
    }
    out.push_str("</table>\n<h2>Timeline</h2>\n<table><tr><th>record</th><th>time</th><th>source</th>\
                  <th>outcome</th><th>change</th><th>status</th><th>error</th><th>body sha256</th><th>ledger</th></tr>\n");
    for r in rows {
        let row = &r.row;
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
            row.id,
            escape(&row.started_at),
            escape(&row.source),
            escape(&row.outcome),
            cell(row.change.as_ref()),
            cell(row.status),
            cell(row.error_message.as_ref()),
            cell(row.raw_hash.as_ref()),
            cell(r.ledger_seq),
        ));
    }
    out.push_str("</table>\n<h2>Changes</h2>\n");
    if changes.is_empty() {
        out.push_str("<p>No events in this period.</p>\n");
    }
    for (event, diff) in changes {
        out.push_str(&format!(
            "<h3>{} {}: {}</h3>\n<p>{} (record {})</p>\n",
            escape(&event.source),
            escape(&event.kind),
            escape(&event.summary),
            escape(&event.detected_at),
            event.to_snapshot
        ));
        if let Some(diff) = diff {
            out.push_str("<pre>");
            for line in diff.lines() {
                let class = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => " class=\"add\"",
                    Some('-') if !line.starts_with("---") => " class=\"del\"",
                    _ => "",
                };
                out.push_str(&format!("<span{class}>{}</span>\n", escape(line)));
            }
            out.push_str("</pre>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

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

pub fn csv(rows: &[ReportRow]) -> String {
    let mut out = String::from(
        "record_id,source,url,started_at,finished_at,outcome,change,status,error_class,error_message,raw_hash,text_hash,record_hash,ledger_seq\r\n",
    );
    for r in rows {
        let row = &r.row;
        let fields = [
            row.id.to_string(),
            row.source.clone(),
            row.final_url.clone().unwrap_or_else(|| row.url.clone()),
            row.started_at.clone(),
            row.finished_at.clone(),
            row.outcome.clone(),
            row.change.clone().unwrap_or_default(),
            row.status.map(|s| s.to_string()).unwrap_or_default(),
            row.error_class.clone().unwrap_or_default(),
            row.error_message.clone().unwrap_or_default(),
            row.raw_hash.clone().unwrap_or_default(),
            row.text_hash.clone().unwrap_or_default(),
            r.record_hash.clone(),
            r.ledger_seq.map(|s| s.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
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
}
