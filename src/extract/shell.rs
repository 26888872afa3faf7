//! Script shells: HTML pages that only become content in a browser. A
//! single-page application answers a plain GET with an empty application
//! root, a few bundle `<script src>`s and at most a loading placeholder;
//! its bytes change with every front-end build while what it says stays
//! the same. [`detect`] recognises such a page from its parsed HTML and its
//! readable text (after `content`/`ignore`), and gives the text to record
//! for it: a description of the shell that leaves out bundle names and
//! hashes, so that a new build is noise, not a content change.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{Html, Selector};

use super::document::{Block, Document};

/// The `content_kind` recorded for a script shell.
pub const CONTENT_KIND: &str = "script-shell";

/// The longest readable text (in characters) a shell may carry: a splash
/// screen's app name and a loading line, never a page of content. Real
/// placeholders are under 80 characters; a paragraph of content is more.
const MAX_PLACEHOLDER_CHARS: usize = 300;

/// Ids that single-page frameworks mount their application on (React's
/// `root`, Vue's `app`, Next.js, Nuxt, Gatsby, SvelteKit), and elements
/// and attributes that only an application root carries (Angular).
const ROOT_SELECTORS: &[(&str, &str)] = &[
    ("div#root", "#root"),
    ("div#app", "#app"),
    ("div#__next", "#__next"),
    ("div#__nuxt", "#__nuxt"),
    ("div#___gatsby", "#___gatsby"),
    ("div#svelte", "#svelte"),
    ("app-root", "app-root"),
    ("[ng-app]", "[ng-app]"),
    ("[ng-version]", "[ng-version]"),
    ("[data-reactroot]", "[data-reactroot]"),
];

/// What marks a page as an application that renders in the browser.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShellMarker {
    /// An element an application mounts on, named as in
    /// [`ROOT_SELECTORS`] (`div#root`, `app-root`).
    ApplicationRoot(&'static str),
    /// A `<noscript>` that asks for JavaScript.
    NoscriptAsksForJavaScript,
    /// At least one external `<script src>` (a bundle).
    BundleScript,
}

impl ShellMarker {
    fn describe(&self) -> String {
        match self {
            ShellMarker::ApplicationRoot(name) => format!("application root: {name}"),
            ShellMarker::NoscriptAsksForJavaScript => {
                "noscript: the page asks for JavaScript".to_string()
            }
            ShellMarker::BundleScript => "scripts: loaded from bundles".to_string(),
        }
    }
}

/// A page recognised as a script shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptShell {
    /// Why it is an application, in a fixed order.
    pub markers: Vec<ShellMarker>,
    /// The readable text's placeholder lines ("Loading…"), if any.
    pub placeholder: Vec<String>,
    /// What to record as the page's text: the same for every build of the
    /// same shell, whatever its bundles are called.
    pub text: String,
}

impl ScriptShell {
    /// What a user should do about a shell at `host`: the Service Trust
    /// Portal's documents have an API; any other shell needs a browser.
    pub fn advice(host: Option<&str>) -> &'static str {
        let portal = host.is_some_and(|h| {
            h.eq_ignore_ascii_case("servicetrust.microsoft.com")
                || h.eq_ignore_ascii_case("api.servicetrust.microsoft.com")
        });
        if portal {
            "the Service Trust Portal renders in a browser: watch its documents through the \
             portal's API (a source with the document's URL and `portal = \"service-trust\"`)"
        } else {
            "the page renders in a browser: fetch it with `fetch = \"browser\"`, or watch a \
             document or API the page loads"
        }
    }
}

/// Whether `document` (a page's readable part) is short enough to be a
/// placeholder: no table, at most [`MAX_PLACEHOLDER_CHARS`] characters of
/// text. Cheaper than rendering its text, which [`detect`] needs.
pub fn short_enough(document: &Document) -> bool {
    let mut chars = 0;
    document.blocks.iter().all(|block| {
        let text = match block {
            Block::Heading { text, .. } | Block::ListItem { text, .. } => text,
            Block::Paragraph(text) => text,
            Block::Table(_) => return false,
            Block::Page(_) => return true,
        };
        chars += text.chars().count();
        chars <= MAX_PLACEHOLDER_CHARS
    })
}

/// Whether `page`, whose readable text after `content`/`ignore` is
/// `readable_text`, is a script shell: that text is empty or only a
/// loading placeholder (lines repeating the page's `<title>` allowed),
/// and the page carries an application root, a `<noscript>` asking for
/// JavaScript or a bundle `<script src>`.
pub fn detect(page: &Html, readable_text: &str) -> Option<ScriptShell> {
    if readable_text.chars().count() > MAX_PLACEHOLDER_CHARS {
        return None;
    }
    let title = title(page);
    let mut placeholder = Vec::new();
    for line in readable_text.lines().map(plain_line) {
        if line.is_empty()
            || title
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(&line))
        {
            continue;
        }
        if !is_placeholder(&line) {
            return None;
        }
        placeholder.push(line);
    }
    let markers = markers(page);
    if markers.is_empty() {
        return None;
    }
    let mut text = String::from("script shell: the content renders in a browser\n");
    for marker in &markers {
        text.push_str(&marker.describe());
        text.push('\n');
    }
    for line in &placeholder {
        text.push_str("placeholder: ");
        text.push_str(line);
        text.push('\n');
    }
    Some(ScriptShell {
        markers,
        placeholder,
        text,
    })
}

/// Whether one line of readable text is a loading or "enable JavaScript"
/// placeholder rather than content.
fn is_placeholder(line: &str) -> bool {
    static LOADING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^(loading|please wait|just a moment|one moment|initiali[sz]ing|starting|redirecting)\b[\w\s]{0,30}[.…]*$",
        )
        .expect("a valid regex")
    });
    static JAVASCRIPT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\bjava\s?script\b.{0,60}\b(enable|enabled|required|requires|turn(ed)? on|disabled|needs?|supported)\b|\b(enable|requires?|needs?|turn on)\b.{0,40}\bjava\s?script\b",
        )
        .expect("a valid regex")
    });
    LOADING.is_match(line) || (line.len() <= 160 && JAVASCRIPT.is_match(line))
}

/// A line of normalised text without the markers `Document::to_text`
/// adds (`## `, `- `, table bars).
fn plain_line(line: &str) -> String {
    line.trim()
        .trim_start_matches(['#', '-', '|', '>', '*'])
        .trim_end_matches('|')
        .trim()
        .to_string()
}

/// The page's `<title>`, whitespace collapsed.
fn title(page: &Html) -> Option<String> {
    static TITLE: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("title").expect("a valid selector"));
    let title = page.select(&TITLE).next()?;
    let text = title.text().collect::<String>();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

fn markers(page: &Html) -> Vec<ShellMarker> {
    static ROOTS: LazyLock<Vec<(&'static str, Selector)>> = LazyLock::new(|| {
        ROOT_SELECTORS
            .iter()
            .map(|(name, css)| (*name, Selector::parse(css).expect("a valid selector")))
            .collect()
    });
    static NOSCRIPT: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("noscript").expect("a valid selector"));
    static BUNDLE: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("script[src]").expect("a valid selector"));
    let mut found = BTreeSet::new();
    for (name, selector) in ROOTS.iter() {
        if page.select(selector).next().is_some() {
            found.insert(ShellMarker::ApplicationRoot(name));
        }
    }
    let asks_for_javascript = page.select(&NOSCRIPT).any(|noscript| {
        // Parsed with scripting on, a <noscript>'s content is raw text,
        // markup included: look at its words only.
        let inner = noscript.text().collect::<String>();
        let words = Html::parse_fragment(&inner)
            .root_element()
            .text()
            .collect::<Vec<_>>()
            .join(" ");
        is_placeholder(&words.split_whitespace().collect::<Vec<_>>().join(" "))
    });
    if asks_for_javascript {
        found.insert(ShellMarker::NoscriptAsksForJavaScript);
    }
    let has_bundle = page.select(&BUNDLE).any(|script| {
        script
            .value()
            .attr("src")
            .is_some_and(|s| !s.trim().is_empty())
    });
    if has_bundle {
        found.insert(ShellMarker::BundleScript);
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{ExtractLimits, ExtractRules, html};

    /// The readable text of a page (empty when it has none), as the
    /// pipeline hands it to [`detect`].
    fn readable(page: &str, rules: &ExtractRules) -> String {
        html::extract_html(
            page,
            &rules.content,
            &rules.ignore,
            None,
            None,
            &ExtractLimits::default(),
        )
        .map(|e| e.document.to_text())
        .unwrap_or_default()
    }

    fn shell(html: &str) -> Option<ScriptShell> {
        let text = readable(html, &ExtractRules::default());
        detect(&Html::parse_document(html), &text)
    }

    const STP: &str = include_str!("../../tests/fixtures/shells/service-trust-portal.html");
    const ANGULAR: &str = include_str!("../../tests/fixtures/shells/angular-trust-center.html");
    const NEXT: &str = include_str!("../../tests/fixtures/shells/hosted-trust-center.html");

    #[test]
    fn recognises_hand_written_shells_of_real_shapes() {
        let stp = shell(STP).expect("the portal's shell");
        assert!(
            stp.markers
                .contains(&ShellMarker::ApplicationRoot("div#root"))
        );
        assert!(
            stp.markers
                .contains(&ShellMarker::NoscriptAsksForJavaScript)
        );
        assert!(stp.markers.contains(&ShellMarker::BundleScript));
        let angular = shell(ANGULAR).expect("an Angular shell");
        assert!(
            angular
                .markers
                .contains(&ShellMarker::ApplicationRoot("app-root"))
        );
        assert_eq!(angular.placeholder, vec!["Loading…".to_string()]);
        let next = shell(NEXT).expect("a Next.js trust center");
        assert!(
            next.markers
                .contains(&ShellMarker::ApplicationRoot("div#__next"))
        );
        assert_eq!(next.placeholder, vec!["Please wait...".to_string()]);
    }

    #[test]
    fn a_new_build_gives_the_same_text() {
        let rebuilt = STP
            .replace("main.3f9a1c2e", "main.77b0d4aa")
            .replace("vendors.8d2e", "vendors.1c0f.chunk")
            .replace(
                "</body>",
                "<script src=\"/static/js/extra.5e5e.js\"></script></body>",
            );
        assert_ne!(rebuilt, STP);
        assert_eq!(shell(STP).unwrap().text, shell(&rebuilt).unwrap().text);
        assert!(!shell(STP).unwrap().text.contains("3f9a1c2e"));
    }

    #[test]
    fn placeholders_and_content() {
        for placeholder in [
            "Loading",
            "Loading…",
            "Loading...",
            "loading the portal",
            "Please wait",
            "Please enable JavaScript to continue.",
            "You need to enable JavaScript to run this app.",
            "JavaScript is required to view this site.",
            "This site requires JavaScript.",
        ] {
            assert!(is_placeholder(placeholder), "{placeholder:?}");
        }
        for content in [
            "ISO/IEC 27001",
            "Azure Bot Service is in scope.",
            "Loading docks are in scope of the physical security audit for all datacenters.",
            "We use JavaScript frameworks in the portal; all systems operational.",
        ] {
            assert!(!is_placeholder(content), "{content:?}");
        }
    }

    #[test]
    fn little_text_but_real_content_is_not_a_shell() {
        let page = r#"<!DOCTYPE html><html><head><title>Status</title>
            <script src="/assets/status.js"></script></head>
            <body><div id="root"><main><h1>Status</h1><p>All systems operational.</p></main></div></body></html>"#;
        assert_eq!(shell(page), None);
        let one_line = r#"<html><body><div id="app"><p>SOC 2 Type II: in scope</p></div>
            <script src="/app.js"></script></body></html>"#;
        assert_eq!(shell(one_line), None);
    }

    #[test]
    fn an_empty_page_without_an_application_is_not_a_shell() {
        assert_eq!(shell("<html><body><p>Loading…</p></body></html>"), None);
        assert_eq!(shell(""), None);
    }

    #[test]
    fn the_title_repeated_in_a_splash_screen_is_allowed() {
        let page = r#"<html><head><title>Service Trust Portal</title></head><body>
            <app-root><div class="splash"><h1>Service Trust Portal</h1><p>Loading…</p></div></app-root>
            </body></html>"#;
        let found = shell(page).expect("a splash screen is still a shell");
        assert_eq!(found.placeholder, vec!["Loading…".to_string()]);
    }

    #[test]
    fn content_selectors_decide_what_is_readable() {
        // The content selector picks an empty mount point: a shell, even
        // though the page's chrome has words.
        let page = r#"<html><body><header><a href="/">Contoso Trust</a> <a href="/faq">FAQ</a></header>
            <div id="root"></div><script type="module" src="/assets/index-4f1e.js"></script></body></html>"#;
        let rules = ExtractRules {
            content: vec![Selector::parse("#root").unwrap()],
            ..ExtractRules::default()
        };
        let text = readable(page, &rules);
        assert!(detect(&Html::parse_document(page), &text).is_some());
        let all = readable(page, &ExtractRules::default());
        assert_eq!(detect(&Html::parse_document(page), &all), None);
    }

    #[test]
    fn advice_names_the_portal_api_for_the_portal() {
        assert!(ScriptShell::advice(Some("servicetrust.microsoft.com")).contains("portal"));
        assert!(ScriptShell::advice(Some("trust.contoso.com")).contains("fetch = \"browser\""));
    }
}
