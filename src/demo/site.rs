//! Real page versions as learn.microsoft.com serves them, for the demo and
//! the tests: the Markdown rendered to HTML (front matter and DocFX include
//! lines removed), inside site chrome that changes on every request: a
//! request id and timestamp, a rotating "recommended" block outside the
//! content, and a feedback widget and `<time>` stamp inside `<main>` (the
//! shipped configuration ignores `.feedback` and `time`).

use std::sync::atomic::{AtomicUsize, Ordering};

use pulldown_cmark::{Options, Parser, html};

static REQUESTS: AtomicUsize = AtomicUsize::new(0);

const RECOMMENDED: &[&str] = &[
    "Azure compliance documentation",
    "Microsoft Purview compliance",
    "Azure security baseline for Bot Service",
    "Trust Center overview",
];

/// Renders a corpus Markdown file as a live page with fresh chrome.
pub fn render(markdown: &str) -> String {
    render_as_request(markdown, REQUESTS.fetch_add(1, Ordering::Relaxed))
}

/// Renders a corpus Markdown file with the chrome of the `n`th request, for
/// output that must not depend on what else this process rendered before.
pub fn render_as_request(markdown: &str, n: usize) -> String {
    let body = markdown_to_html(markdown);
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("Microsoft Learn")
        .trim();
    format!(
        r#"<!DOCTYPE html>
<html lang="en-us"><head><meta charset="utf-8"><title>{title} | Microsoft Learn</title>
<meta name="ms.requestid" content="req-{n:08x}-{nonce}">
<script>window.msDocs = {{ nonce: "{nonce}", n: {n} }};</script>
<style>.x{n} {{ color: red }}</style></head>
<body><header><nav><a href="/en-us/">Learn</a> <a href="/en-us/azure/">Azure</a></nav></header>
<aside class="recommended"><h3>Recommended</h3><ul><li>{recommended}</li></ul></aside>
<main id="main" role="main"><div class="content">
{body}
</div>
<div class="feedback">Was this page helpful? <span>session {nonce}</span></div>
<time datetime="2026-11-28T12:{min:02}:00Z">{n} minutes ago</time>
</main>
<footer>&copy; Microsoft 2026 &middot; request {n}</footer></body></html>"#,
        nonce = nonce(n),
        recommended = RECOMMENDED[n % RECOMMENDED.len()],
        min = n % 60,
    )
}

fn nonce(n: usize) -> String {
    format!(
        "{:016x}",
        (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

/// Markdown to the HTML fragment the site renders: front matter and
/// `[!INCLUDE]` lines (server-side includes) removed.
pub fn markdown_to_html(markdown: &str) -> String {
    let without_includes: String = markdown
        .lines()
        .filter(|l| !l.trim_start().starts_with("[!INCLUDE"))
        .collect::<Vec<_>>()
        .join("\n");
    let options = Options::ENABLE_TABLES | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&without_includes, options));
    out
}
