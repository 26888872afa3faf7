//! What alert messages say: the versioned webhook JSON (schema
//! `scopewatch.alert/v1`, documented in docs/alerts.md), the Slack and
//! Teams incoming-webhook payloads within their size limits, and the
//! plain-text and HTML mail bodies. Long diffs are cut between lines,
//! never inside one, and the rest is counted. Pure.

use serde_json::{Value, json};

use crate::escape::html as escape_html;
use crate::store::AlertData;

/// The webhook schema version; a breaking change gets a new one.
pub const SCHEMA: &str = "scopewatch.alert/v1";
/// The diff excerpt in a webhook, file or command message.
pub const DIFF_EXCERPT_BYTES: usize = 16 * 1024;
/// Slack: a section block's text is at most 3,000 characters.
const SLACK_SECTION_CHARS: usize = 3_000;
/// Slack: at most 50 blocks per message.
const SLACK_MAX_ALERTS: usize = 20;
/// Teams: a card payload is at most about 28 KB.
const TEAMS_DIFF_BYTES: usize = 12 * 1024;
const TEAMS_MAX_ALERTS: usize = 10;

/// One alert of a message, with the delivery it belongs to.
#[derive(Debug, Clone)]
pub struct Item {
    pub delivery_id: String,
    pub alert: AlertData,
}

/// Whole lines of a diff up to a size, and how many lines were left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    pub text: String,
    pub omitted_lines: usize,
}

/// The leading whole lines of `diff` that fit in `max_bytes`.
pub fn excerpt(diff: &str, max_bytes: usize) -> Excerpt {
    let mut text = String::new();
    let mut lines = diff.split_inclusive('\n');
    for line in lines.by_ref() {
        if text.len() + line.len() > max_bytes {
            let omitted = 1 + lines.count();
            return Excerpt {
                text,
                omitted_lines: omitted,
            };
        }
        text.push_str(line);
    }
    Excerpt {
        text,
        omitted_lines: 0,
    }
}

fn headline(alert: &AlertData) -> String {
    format!(
        "[scopewatch] {} {}: {}",
        alert.kind, alert.source, alert.summary
    )
}

/// The documented JSON of one alert.
pub fn alert_json(item: &Item) -> Value {
    let a = &item.alert;
    let diff = a.diff.as_deref().map(|d| {
        let e = excerpt(d, DIFF_EXCERPT_BYTES);
        json!({"excerpt": e.text, "truncated": e.omitted_lines > 0, "omitted_lines": e.omitted_lines})
    });
    json!({
        "schema": SCHEMA,
        "delivery_id": item.delivery_id,
        "event_id": a.event_id,
        "kind": a.kind,
        "severity": a.severity,
        "summary": a.summary,
        "detected_at": a.detected_at,
        "source": {"id": a.source, "url": a.source_url},
        "scope": a.scope,
        "diff": diff,
        "snapshots": {"from": a.from_snapshot, "to": a.to_snapshot},
    })
}

/// The webhook, file and command body: one alert, or a digest of several.
pub fn body(items: &[Item]) -> Value {
    match items {
        [one] => alert_json(one),
        many => json!({
            "schema": SCHEMA,
            "digest": true,
            "alerts": many.iter().map(alert_json).collect::<Vec<_>>(),
        }),
    }
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped in page-derived text.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A Slack incoming-webhook payload.
pub fn slack(items: &[Item]) -> Value {
    let mut blocks = Vec::new();
    for item in items.iter().take(SLACK_MAX_ALERTS) {
        let a = &item.alert;
        let head = format!(
            "*{}* `{}` <{}|{}>\n{}",
            a.kind,
            a.severity.as_str(),
            slack_escape(&a.source_url),
            slack_escape(&a.source),
            slack_escape(&a.summary)
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&head, SLACK_SECTION_CHARS)}}));
        if let Some(diff) = &a.diff {
            let budget = SLACK_SECTION_CHARS - 200;
            let e = excerpt(&slack_escape(diff), budget);
            let mut text = format!("```{}```", e.text);
            if e.omitted_lines > 0 {
                text.push_str(&format!("\n…and {} more diff lines", e.omitted_lines));
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
        }
    }
    if items.len() > SLACK_MAX_ALERTS {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("…and {} more alerts: `scopewatch changes`", items.len() - SLACK_MAX_ALERTS)}]}));
    }
    let text = match items {
        [one] => headline(&one.alert),
        many => format!("[scopewatch] {} alerts", many.len()),
    };
    json!({"text": truncate_chars(&text, SLACK_SECTION_CHARS), "blocks": blocks})
}

/// A Teams incoming-webhook payload: an Adaptive Card in a message.
pub fn teams(items: &[Item]) -> Value {
    let mut body = Vec::new();
    for item in items.iter().take(TEAMS_MAX_ALERTS) {
        let a = &item.alert;
        body.push(
            json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
            "text": format!("{} {} ({})", a.kind, a.source, a.severity.as_str())}),
        );
        body.push(json!({"type": "TextBlock", "wrap": true, "text": a.summary}));
        body.push(
            json!({"type": "TextBlock", "wrap": true, "isSubtle": true, "text": a.source_url}),
        );
        if let Some(diff) = &a.diff {
            let e = excerpt(
                diff,
                TEAMS_DIFF_BYTES / items.len().clamp(1, TEAMS_MAX_ALERTS),
            );
            let mut text = e.text;
            if e.omitted_lines > 0 {
                text.push_str(&format!("…and {} more diff lines\n", e.omitted_lines));
            }
            body.push(
                json!({"type": "TextBlock", "wrap": true, "fontType": "Monospace", "text": text}),
            );
        }
    }
    if items.len() > TEAMS_MAX_ALERTS {
        body.push(json!({"type": "TextBlock", "wrap": true, "text": format!("…and {} more alerts", items.len() - TEAMS_MAX_ALERTS)}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// The mail subject.
pub fn subject(items: &[Item]) -> String {
    let line = match items {
        [one] => headline(&one.alert),
        many => format!("[scopewatch] {} alerts", many.len()),
    };
    truncate_chars(&line.replace(['\r', '\n'], " "), 200)
}

/// The plain-text mail body.
pub fn mail_text(items: &[Item]) -> String {
    let mut out = String::new();
    for item in items {
        let a = &item.alert;
        out.push_str(&format!(
            "{}\nSource: {} <{}>\nDetected: {}\nDelivery: {}\n",
            headline(a),
            a.source,
            a.source_url,
            a.detected_at,
            item.delivery_id
        ));
        if let Some(diff) = &a.diff {
            let e = excerpt(diff, DIFF_EXCERPT_BYTES);
            out.push('\n');
            out.push_str(&e.text);
            if e.omitted_lines > 0 {
                out.push_str(&format!("…and {} more diff lines\n", e.omitted_lines));
            }
        }
        out.push('\n');
    }
    out
}

/// The HTML mail body: every page-derived string escaped, the diff coloured.
pub fn mail_html(items: &[Item]) -> String {
    let mut out = String::from("<!DOCTYPE html><html><body>");
    for item in items {
        let a = &item.alert;
        out.push_str(&format!(
            "<h2>{} {}</h2><p>{}</p><p><a href=\"{}\">{}</a> &middot; {} &middot; delivery {}</p>",
            escape_html(a.kind.as_str()),
            escape_html(&a.source),
            escape_html(&a.summary),
            escape_html(&a.source_url),
            escape_html(&a.source_url),
            escape_html(&a.detected_at),
            escape_html(&item.delivery_id)
        ));
        if let Some(diff) = &a.diff {
            let e = excerpt(diff, DIFF_EXCERPT_BYTES);
            out.push_str("<pre style=\"font-family:monospace\">");
            for line in e.text.lines() {
                let colour = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => "#1a7f37",
                    Some('-') if !line.starts_with("---") => "#cf222e",
                    _ => "inherit",
                };
                out.push_str(&format!(
                    "<span style=\"color:{colour}\">{}</span>\n",
                    escape_html(line)
                ));
            }
            out.push_str("</pre>");
            if e.omitted_lines > 0 {
                out.push_str(&format!("<p>…and {} more diff lines</p>", e.omitted_lines));
            }
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Snapshot;

    fn item(diff: Option<String>) -> Item {
        Item {
            delivery_id: "d1".into(),
            alert: AlertData {
                event_id: 7,
                kind: crate::detect::EventKind::Content,
                source: "bot".into(),
                source_url: "https://example.com/bot?a=1&b=<2>".into(),
                summary: "content changed: <script>alert(1)</script>".into(),
                detected_at: "2026-11-28T12:00:00.000Z".into(),
                from_snapshot: None,
                to_snapshot: Some(Snapshot {
                    id: 2,
                    raw_sha256: Some("aa".into()),
                    text_sha256: Some("bb".into()),
                    record_sha256: "cc".into(),
                }),
                diff,
                severity: crate::routing::Severity::Medium,
                scope: json!({"added": [], "removed": [], "renamed": []}),
            },
        }
    }

    fn long_diff(lines: usize) -> String {
        (0..lines)
            .map(|i| format!("+| Service {i} | ISO 27001 | SOC 2 |\n"))
            .collect()
    }

    #[test]
    fn excerpts_end_on_a_line_boundary_and_count_the_rest() {
        let diff = long_diff(1000);
        let e = excerpt(&diff, 1000);
        assert!(e.text.len() <= 1000 && e.text.ends_with('\n'));
        let kept = e.text.lines().count();
        assert_eq!(kept + e.omitted_lines, 1000);
        assert_eq!(excerpt("a\nb\n", 100).omitted_lines, 0);
    }

    #[test]
    fn webhook_json_has_the_documented_fields() {
        let v = alert_json(&item(Some(long_diff(2000))));
        for field in [
            "schema",
            "delivery_id",
            "kind",
            "severity",
            "summary",
            "detected_at",
            "source",
            "scope",
            "diff",
            "snapshots",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
        assert_eq!(v["severity"], "medium");
        assert_eq!(v["diff"]["truncated"], true);
        assert!(v["diff"]["excerpt"].as_str().unwrap().len() <= DIFF_EXCERPT_BYTES);
        assert_eq!(v["snapshots"]["to"]["text_sha256"], "bb");
        assert!(v["scope"]["added"].is_array());
    }

    #[test]
    fn chat_payloads_stay_within_limits() {
        let s = slack(&[item(Some(long_diff(5000)))]);
        for block in s["blocks"].as_array().unwrap() {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(
                    text.chars().count() <= SLACK_SECTION_CHARS,
                    "{}",
                    text.len()
                );
            }
        }
        assert!(
            s["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("&lt;script&gt;")
        );
        let many: Vec<Item> = (0..30).map(|_| item(Some(long_diff(500)))).collect();
        assert!(serde_json::to_string(&teams(&many)).unwrap().len() < 28_000);
        assert!(serde_json::to_string(&slack(&many)).unwrap().len() < 100_000);
        assert!(slack(&many)["blocks"].as_array().unwrap().len() <= 50);
    }

    #[test]
    fn mail_html_escapes_page_text() {
        let html = mail_html(&[item(Some("-<b>old</b>\n+<i>new</i>\n".into()))]);
        assert!(!html.contains("<script>") && !html.contains("<b>old"));
        assert!(html.contains("&lt;script&gt;") && html.contains("&lt;i&gt;new"));
        assert!(html.contains("a=1&amp;b=&lt;2&gt;"));
        assert!(!subject(&[item(None)]).contains('\n'));
    }
}
