//! HTML for the web view: escaping (every value from the database goes
//! through [`esc`]; stored pages are hostile), the page frame with its
//! navigation, badges, links and the diff tables. Pages are plain HTML
//! and one stylesheet: they work without JavaScript and in a text browser.

use std::fmt::Write as _;

use crate::query::words::{Hunk, Line, Row};

/// The stylesheet, compiled into the binary.
pub const STYLE: &str = include_str!("style.css");

/// `text` safe inside an element or a quoted attribute value.
pub use crate::escape::html as esc;

/// `text` as one path segment or query value of a URL (every byte but
/// letters, digits and `-._*` percent-encoded).
pub fn url_part(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The sections of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Sources,
    Scope,
    Changes,
    Evidence,
    Alerts,
}

const SECTIONS: [(Section, &str, &str); 5] = [
    (Section::Sources, "/", "Sources"),
    (Section::Scope, "/scope", "Scope"),
    (Section::Changes, "/changes", "Changes"),
    (Section::Evidence, "/evidence", "Evidence"),
    (Section::Alerts, "/alerts", "Alerts"),
];

/// A whole page: `title` (plain text, escaped here) and `body` (HTML
/// built with [`esc`]).
pub fn page(title: &str, section: Section, body: &str) -> String {
    let mut nav = String::new();
    for (each, href, label) in SECTIONS {
        let current = if each == section {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{href}\"{current}>{label}</a> ");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · scopewatch</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n\
         <body>\n<header><nav><strong>scopewatch</strong> {nav}</nav></header>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n\
         <footer>scopewatch {version} · read-only · <a href=\"/api/v1/openapi.json\">API</a> · <a href=\"/metrics\">metrics</a></footer>\n\
         </body>\n</html>\n",
        title = esc(title),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// A state as a badge: a source's (`ok`, `failing`, `failed`, `never`,
/// `retired`) or a delivery's (`pending`, `done`, `failed`).
pub fn badge(state: &str) -> String {
    let class = match state {
        "ok" | "done" | "verified" => "ok",
        "failing" | "failed" | "findings" => "bad",
        _ => "muted",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(state))
}

/// A severity as a badge.
pub fn severity(level: &str) -> String {
    format!("<span class=\"sev {0}\">{0}</span>", esc(level))
}

/// An optional value for a table cell.
pub fn cell(value: Option<&str>) -> String {
    value.map_or_else(|| "–".to_string(), esc)
}

/// A time as stored, shortened for a table to its date and minutes, with
/// the whole value as a tooltip.
pub fn time(value: Option<&str>) -> String {
    match value {
        Some(at) => {
            let short: String = at.chars().take(16).collect::<String>().replace('T', " ");
            format!("<time datetime=\"{}\">{}</time>", esc(at), esc(&short))
        }
        None => "–".to_string(),
    }
}

/// A table: headers and rows of cells already HTML.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for header in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn segments(line: &Line, mark: &str) -> String {
    let mut out = String::new();
    for segment in &line.segments {
        if segment.changed {
            let _ = write!(out, "<{mark}>{}</{mark}>", esc(&segment.text));
        } else {
            out.push_str(&esc(&segment.text));
        }
    }
    out
}

/// The hunks side by side: removed lines on the left, added on the right,
/// changed words marked `<del>` and `<ins>`.
pub fn side_by_side(hunks: &[Hunk], from: &str, to: &str) -> String {
    let mut out = format!(
        "<table class=\"diff side\">\n<colgroup><col class=\"n\"><col><col class=\"n\"><col></colgroup>\n<thead><tr><th colspan=\"2\" scope=\"col\">{}</th><th colspan=\"2\" scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
        esc(from),
        esc(to)
    );
    for hunk in hunks {
        let _ = writeln!(
            out,
            "<tr class=\"hunk\"><td colspan=\"4\">{}</td></tr>",
            esc(&hunk.header)
        );
        for row in &hunk.rows {
            match row {
                Row::Same { old, new, text } => {
                    let text = esc(text);
                    let _ = writeln!(
                        out,
                        "<tr><td class=\"n\">{old}</td><td>{text}</td><td class=\"n\">{new}</td><td>{text}</td></tr>"
                    );
                }
                Row::Changed { removed, added } => {
                    // One side's number and text cells, `mark` its changes;
                    // empty where that side has no line here.
                    let cells = |line: Option<&Line>, mark: &str| {
                        line.map_or(
                            "<td class=\"n\"></td><td class=\"empty\"></td>".to_string(),
                            |l| {
                                format!(
                                    "<td class=\"n\">{}</td><td class=\"{mark}\">{}</td>",
                                    l.number,
                                    segments(l, mark)
                                )
                            },
                        )
                    };
                    for i in 0..removed.len().max(added.len()) {
                        let left = cells(removed.get(i), "del");
                        let right = cells(added.get(i), "ins");
                        let _ = writeln!(out, "<tr>{left}{right}</tr>");
                    }
                }
            }
        }
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The hunks one above the other, each line marked `-` or `+`.
pub fn inline(hunks: &[Hunk]) -> String {
    let mut out = String::from(
        "<table class=\"diff inline\">\n<colgroup><col class=\"n\"><col class=\"n\"><col></colgroup>\n<tbody>\n",
    );
    for hunk in hunks {
        let _ = writeln!(
            out,
            "<tr class=\"hunk\"><td colspan=\"3\">{}</td></tr>",
            esc(&hunk.header)
        );
        for row in &hunk.rows {
            match row {
                Row::Same { old, new, text } => {
                    let _ = writeln!(
                        out,
                        "<tr><td class=\"n\">{old}</td><td class=\"n\">{new}</td><td>&nbsp; {}</td></tr>",
                        esc(text)
                    );
                }
                Row::Changed { removed, added } => {
                    for line in removed {
                        let _ = writeln!(
                            out,
                            "<tr><td class=\"n\">{}</td><td class=\"n\"></td><td class=\"del\">- {}</td></tr>",
                            line.number,
                            segments(line, "del")
                        );
                    }
                    for line in added {
                        let _ = writeln!(
                            out,
                            "<tr><td class=\"n\"></td><td class=\"n\">{}</td><td class=\"ins\">+ {}</td></tr>",
                            line.number,
                            segments(line, "ins")
                        );
                    }
                }
            }
        }
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)> & 'x'"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;x&#39;"
        );
        assert_eq!(url_part("a b/c?d"), "a%20b%2Fc%3Fd");
    }

    #[test]
    fn changed_words_are_marked_in_both_layouts() {
        let hunks = crate::query::words::hunks("a\n<b> old\n", "a\n<b> new\n");
        let side = side_by_side(&hunks, "snapshot 1 (2024-05-01)", "snapshot 2");
        assert!(side.contains("<del>old</del>"), "{side}");
        assert!(side.contains("<ins>new</ins>"), "{side}");
        assert!(side.contains("&lt;b&gt;"), "{side}");
        assert!(!side.contains("<b>"), "{side}");
        let inline = inline(&hunks);
        assert!(inline.contains("- &lt;b&gt; <del>old</del>"), "{inline}");
    }
}
