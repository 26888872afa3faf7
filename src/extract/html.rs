//! HTML and XHTML to [`Document`]: picks the part of the page that counts
//! (`content` selectors), drops what does not (`ignore` selectors and
//! non-content elements), and keeps headings, lists and tables as blocks.
//!
//! The walk is iterative (ego-tree's `traverse`), so hostile nesting depth
//! cannot overflow the stack.

use std::collections::HashSet;
use std::sync::LazyLock;

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};

use super::document::{Document, DocumentBuilder};
use super::elements::{BLOCK_ELEMENTS, is_skipped};
pub use super::html_error::HtmlError;
use super::limits::ExtractLimits;
use super::superscript::Superscript;
use super::table::{MAX_SPAN_BYTES, collect_table};

/// Default content roots, tried in order; the first that matches wins.
pub const DEFAULT_CONTENT: &[&str] = &["main", "[role=main]", "article", "body"];

/// What an HTML page yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlExtract {
    pub document: Document,
    /// The page asks for a password: a sign-in page, not the content.
    pub sign_in: bool,
    /// The `href`s of the elements the `links` selector matched, in
    /// document order (see [`resolve_links`]).
    pub links: Vec<String>,
    /// The page is a script shell (see [`super::shell`]): `document` is
    /// its readable text, which is no content.
    pub shell: Option<super::shell::ScriptShell>,
}

/// Extracts the structured content of an HTML page.
///
/// `content`: selectors of the part that counts; every match is taken, in
/// document order (empty: the first of [`DEFAULT_CONTENT`] that matches).
/// `ignore`: selectors of elements removed before normalising.
/// `tables`: a scope `table` selector; the tables it matches are listed in
/// [`Document::selected_tables`].
/// `links`: a source's `follow` selector; the `href`s of the elements it
/// matches are listed in [`HtmlExtract::links`], so a page is parsed once.
/// `limits`: a page over them is refused before (or while) it is parsed.
pub fn extract_html(
    html: &str,
    content: &[Selector],
    ignore: &[Selector],
    tables: Option<&Selector>,
    links: Option<&Selector>,
    limits: &ExtractLimits,
) -> Result<HtmlExtract, HtmlError> {
    static PASSWORD: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("input[type=password]").expect("a valid selector"));
    let page = parse(html, limits)?;
    let sign_in = page.select(&PASSWORD).next().is_some();
    let links = links.map_or_else(Vec::new, |select| {
        page.select(select)
            .filter_map(|el| el.value().attr("href"))
            .map(str::to_string)
            .collect()
    });
    let mut ignored: HashSet<NodeId> = ignore
        .iter()
        .flat_map(|sel| page.select(sel).map(|el| el.id()))
        .collect();
    ignored.extend(
        page.root_element()
            .descendent_elements()
            .filter(|el| el.value().attr("hidden").is_some())
            .map(|el| el.id()),
    );

    let roots = match content_roots(&page, content) {
        Ok(roots) => roots,
        // A shell has none of the parts a source's `content` names: it is
        // a shell all the same, and saying so is what helps.
        Err(not_found) => match super::shell::detect(&page, "") {
            Some(shell) => {
                return Ok(HtmlExtract {
                    document: Document::default(),
                    sign_in,
                    links,
                    shell: Some(shell),
                });
            }
            None => return Err(not_found),
        },
    };
    let mut walker = Walker::new(&ignored);
    walker.wanted_tables = tables.map(|sel| page.select(sel).map(|el| el.id()).collect());
    for root in roots {
        walker.walk(root);
    }
    let mut document = walker.builder.finish();
    if walker.wanted_tables.is_some() {
        document.selected_tables = Some(walker.selected_tables);
    }
    // Most pages are far longer than any placeholder: their text is not
    // rendered twice to find out.
    let shell = super::shell::short_enough(&document)
        .then(|| super::shell::detect(&page, &document.to_text()))
        .flatten();
    Ok(HtmlExtract {
        document,
        sign_in,
        links,
        shell,
    })
}

/// Parses a page within `limits`: the linear pre-scan first, then the
/// parser under a node budget.
fn parse(html: &str, limits: &ExtractLimits) -> Result<Html, HtmlError> {
    super::prescan::check(html, limits)?;
    super::dom_budget::parse_document(html, limits.html_nodes)
        .ok_or(HtmlError::TooManyNodes(limits.html_nodes))
}

/// The absolute http(s) URLs of `hrefs`, resolved against `base`, without
/// fragments, deduplicated, in their order.
pub fn resolve_links(hrefs: &[String], base: &url::Url) -> Vec<url::Url> {
    let mut seen = HashSet::new();
    hrefs
        .iter()
        .filter_map(|href| base.join(href.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// The elements whose text counts, outermost only, in document order.
fn content_roots<'a>(
    page: &'a Html,
    content: &[Selector],
) -> Result<Vec<ElementRef<'a>>, HtmlError> {
    if content.is_empty() {
        for css in DEFAULT_CONTENT {
            let sel = Selector::parse(css).expect("default content selectors are valid");
            if let Some(root) = page.select(&sel).next() {
                return Ok(vec![root]);
            }
        }
        return Ok(vec![page.root_element()]);
    }
    let matched: HashSet<NodeId> = content
        .iter()
        .flat_map(|sel| page.select(sel).map(|el| el.id()))
        .collect();
    if matched.is_empty() {
        return Err(HtmlError::ContentNotFound(
            // As CSS, the way they were written in the configuration.
            content
                .iter()
                .map(scraper::selector::ToCss::to_css_string)
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    // Document order, skipping matches nested in an earlier match.
    let mut roots = Vec::new();
    let mut inside: Option<NodeId> = None;
    for edge in page.tree.root().traverse() {
        match edge {
            Edge::Open(node) if inside.is_none() && matched.contains(&node.id()) => {
                inside = Some(node.id());
                roots.extend(ElementRef::wrap(node));
            }
            Edge::Close(node) if inside == Some(node.id()) => inside = None,
            _ => {}
        }
    }
    Ok(roots)
}

fn heading_level(tag: &str) -> Option<u8> {
    match tag {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Walks a content root and emits blocks.
struct Walker<'i> {
    ignored: &'i HashSet<NodeId>,
    builder: DocumentBuilder,
    text: String,
    heading: Option<u8>,
    list_depth: u8,
    /// Depth of each open `<li>`, innermost last.
    items: Vec<u8>,
    /// Tables a scope `table` selector matched, and the ordinals they got.
    wanted_tables: Option<HashSet<NodeId>>,
    selected_tables: Vec<usize>,
    /// What table spans may still copy (see [`MAX_SPAN_BYTES`]).
    span_budget: usize,
    sup: Superscript,
}

impl<'i> Walker<'i> {
    fn new(ignored: &'i HashSet<NodeId>) -> Self {
        Walker {
            ignored,
            builder: DocumentBuilder::default(),
            text: String::new(),
            heading: None,
            list_depth: 0,
            items: Vec::new(),
            wanted_tables: None,
            selected_tables: Vec::new(),
            span_budget: MAX_SPAN_BYTES,
            sup: Superscript::default(),
        }
    }

    fn walk(&mut self, root: ElementRef<'_>) {
        let mut skip_until: Option<NodeId> = None;
        for edge in root.traverse() {
            match edge {
                Edge::Open(node) => {
                    if skip_until.is_some() {
                        continue;
                    }
                    match node.value() {
                        Node::Text(text) => self.text.push_str(text),
                        Node::Element(el) => {
                            if is_skipped(el, node.id(), self.ignored) {
                                skip_until = Some(node.id());
                                continue;
                            }
                            let tag = el.name();
                            if tag == "table" {
                                self.flush();
                                let rows = collect_table(node, self.ignored, &mut self.span_budget);
                                let ordinal = self.builder.table(rows);
                                let wanted = self
                                    .wanted_tables
                                    .as_ref()
                                    .is_some_and(|w| w.contains(&node.id()));
                                if let (Some(ordinal), true) = (ordinal, wanted) {
                                    self.selected_tables.push(ordinal);
                                }
                                skip_until = Some(node.id());
                            } else if let Some(level) = heading_level(tag) {
                                self.flush();
                                self.heading = Some(level);
                            } else if tag == "ul" || tag == "ol" {
                                self.flush();
                                self.list_depth = self.list_depth.saturating_add(1);
                            } else if tag == "li" {
                                self.flush();
                                self.items.push(self.list_depth.max(1));
                            } else if tag == "br" {
                                self.text.push(' ');
                            } else if tag == "sup" {
                                self.sup.open(&self.text);
                            } else if BLOCK_ELEMENTS.contains(&tag) {
                                self.flush();
                            }
                        }
                        _ => {}
                    }
                }
                Edge::Close(node) => {
                    if let Some(id) = skip_until {
                        if id == node.id() {
                            skip_until = None;
                        }
                        continue;
                    }
                    let Node::Element(el) = node.value() else {
                        continue;
                    };
                    let tag = el.name();
                    if tag == "sup" {
                        self.sup.close(&mut self.text);
                    } else if heading_level(tag).is_some() {
                        self.flush();
                        self.heading = None;
                    } else if tag == "ul" || tag == "ol" {
                        self.flush();
                        self.list_depth = self.list_depth.saturating_sub(1);
                    } else if tag == "li" {
                        self.flush();
                        self.items.pop();
                    } else if BLOCK_ELEMENTS.contains(&tag) {
                        self.flush();
                    }
                }
            }
        }
        self.flush();
    }

    /// Emits the text gathered so far as the block it belongs to.
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        self.sup = Superscript::default();
        if let Some(level) = self.heading {
            self.builder.heading(level, &text);
        } else if let Some(&depth) = self.items.last() {
            self.builder.list_item(depth, &text);
        } else {
            self.builder.paragraph(&text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::document::Block;
    use crate::extract::table::MAX_COLSPAN;

    /// The page with the default roots and limits.
    fn plain(html: &str) -> Result<HtmlExtract, HtmlError> {
        extract_html(html, &[], &[], None, None, &ExtractLimits::default())
    }

    fn sel(css: &str) -> Selector {
        Selector::parse(css).unwrap()
    }

    #[test]
    fn default_root_is_main_and_chrome_is_dropped() {
        let html = r#"<html><head><title>t</title><script>var x=1</script></head>
            <body><nav>Menu</nav><main><h1>Title</h1><p>Hello <b>world</b>.</p>
            <div class="feedback">Was this helpful?</div>
            <ul><li>One</li><li>Two<ul><li>Two-a</li></ul></li></ul></main>
            <footer>nonce 123</footer></body></html>"#;
        let doc = extract_html(
            html,
            &[],
            &[sel(".feedback")],
            None,
            None,
            &ExtractLimits::default(),
        )
        .unwrap()
        .document;
        assert_eq!(
            doc.to_text(),
            "# Title\nHello world.\n- One\n- Two\n  - Two-a\n"
        );
    }

    #[test]
    fn tables_keep_rows_and_header_flags() {
        let html = "<main><table><thead><tr><th>Service</th><th>ISO</th></tr></thead>
            <tbody><tr><td><a href=x>Bot</a> *</td><td>&#x2705;</td></tr>
            <tr><td>Nested<table><tr><td>inner</td></tr></table></td><td></td></tr></tbody></table></main>";
        let doc = plain(html).unwrap().document;
        let Block::Table(rows) = &doc.blocks[0] else {
            panic!("expected a table: {doc:?}")
        };
        assert_eq!(rows.len(), 3);
        assert!(rows[0].header);
        assert_eq!(rows[1].cells, vec!["Bot *", "\u{2705}"]);
        assert_eq!(rows[2].cells, vec!["Nested inner", ""]);
    }

    fn table_cells(html: &str) -> Vec<Vec<String>> {
        let doc = plain(html).unwrap().document;
        let Some(Block::Table(rows)) = doc.blocks.first() else {
            panic!("expected a table: {doc:?}")
        };
        rows.iter().map(|r| r.cells.clone()).collect()
    }

    #[test]
    fn spans_are_laid_out_on_a_grid() {
        let cells = table_cells(
            "<table><thead><tr><th rowspan=2>Service</th><th colspan=2>FedRAMP</th></tr>\
             <tr><th>Moderate</th><th>High</th></tr></thead>\
             <tbody><tr><td rowspan=0>Files</td><td colspan=2>✅</td><td colspan=0>x</td></tr><tr><td>a</td></tr></tbody>\
             <tbody><tr><td>b</td><td>c</td></tr></tbody></table>",
        );
        assert_eq!(
            cells,
            [
                vec!["Service", "FedRAMP", "FedRAMP"],
                vec!["Service", "Moderate", "High"],
                vec!["Files", "\u{2705}", "\u{2705}", "x"],
                vec!["Files", "a"],
                vec!["b", "c"],
            ],
            "a rowspan ends with its row group"
        );
        // Hostile spans are capped, and the copies a page's spans make are bounded.
        let cells = table_cells("<table><tr><td colspan=99999>x</td></tr></table>");
        assert_eq!(cells[0].len(), MAX_COLSPAN);
        let long = "y".repeat(1 << 16);
        let html = format!(
            "<table>{}</table>",
            format!("<tr><td colspan=100>{long}</td></tr>").repeat(80)
        );
        let copied =
            |html: &str| -> usize { table_cells(html).iter().flatten().map(String::len).sum() };
        assert!(copied(&html) <= MAX_SPAN_BYTES + 80 * long.len());
        let html = format!(
            "<table><tr><td rowspan=1000>{long}</td></tr>{}</table>",
            "<tr><td>z</td></tr>".repeat(999)
        );
        assert!(copied(&html) <= MAX_SPAN_BYTES + long.len() + 999);
        // Empty positions left of a span from above are paid for too: 31 KB
        // of wide empty cells and one tall one once padded 999 rows to
        // 100,001 cells each (2.4 GB), rescanning the row for every one.
        let html = format!(
            "<table><tr>{}<td rowspan=1000>x</td></tr>{}</table>",
            "<td colspan=100></td>".repeat(1000),
            "<tr></tr>".repeat(999)
        );
        let slots: usize = table_cells(&html).iter().map(Vec::len).sum();
        assert!(
            slots <= 1_001 + MAX_SPAN_BYTES / std::mem::size_of::<String>(),
            "{slots}"
        );
    }

    #[test]
    fn an_image_alone_in_a_cell_gives_its_text() {
        let cells = table_cells(
            "<table><tr><td><img src=logo.png alt=\"logo\"> Azure Files</td>\
             <td><img src=y.png alt=\"Yes\"></td><td><img alt=\"\" title=\"In scope\"></td>\
             <td><span role=img aria-label=\"no\"></span><img aria-label=\"✔\"></td><td><img></td></tr></table>",
        );
        assert_eq!(cells, [["Azure Files", "Yes", "In scope", "✔", ""]]);
    }

    #[test]
    fn superscript_footnote_markers_are_dropped() {
        let html = "<main><ul><li>Azure Maps<sup>1</sup></li><li>Intune<sup><a href=#n>a,b</a></sup></li>\
            <li>Area m<sup>2 or more</sup></li><li>Azure Monitor<sup>4, 5</sup></li></ul>\
            <table><tr><td>Azure Files<sup>*</sup></td><td>✅<sup>2</sup></td></tr></table></main>";
        let doc = plain(html).unwrap().document;
        assert_eq!(
            doc.to_text(),
            "- Azure Maps\n- Intune\n- Area m2 or more\n- Azure Monitor\n\n| Azure Files | \u{2705} |\n"
        );
        // A trademark sign goes too; an ordinal's ending stays.
        let html =
            "<main><p>Azure Stack HCI<sup>TM</sup> since the 21<sup>st</sup> release</p></main>";
        let doc = plain(html).unwrap().document;
        assert_eq!(doc.to_text(), "Azure Stack HCI since the 21st release\n");
    }

    #[test]
    fn configured_content_takes_every_match_in_order() {
        let html =
            "<div class=a>first<div class=a>inner</div></div><p>skip</p><div class=a>second</div>";
        let doc = extract_html(
            html,
            &[sel(".a")],
            &[],
            None,
            None,
            &ExtractLimits::default(),
        )
        .unwrap()
        .document;
        assert_eq!(doc.to_text(), "first\ninner\nsecond\n");
        assert_eq!(
            extract_html(
                html,
                &[sel("#missing"), sel("article.nope > p")],
                &[],
                None,
                None,
                &ExtractLimits::default()
            )
            .unwrap_err()
            .to_string(),
            "none of the content selectors (#missing, article.nope > p) matched the page"
        );
    }

    #[test]
    fn a_table_selector_marks_the_tables_it_matches() {
        let html = "<main><table><tr><td>a</td></tr></table><table></table>\
            <table class=scope><tr><td>b</td></tr></table></main>";
        let doc = extract_html(
            html,
            &[],
            &[],
            Some(&sel("table.scope")),
            None,
            &ExtractLimits::default(),
        )
        .unwrap()
        .document;
        assert_eq!(
            doc.selected_tables,
            Some(vec![2]),
            "empty tables are not counted"
        );
    }

    #[test]
    fn sign_in_pages_and_links() {
        let html = r#"<main><a href="/a#x">A</a><a href="https://other/b">B</a><a href="/a">again</a>
            <a href="mailto:x@y">mail</a><form><input type="password"></form></main>"#;
        let base = url::Url::parse("https://learn.microsoft.com/en-us/page").unwrap();
        let page = extract_html(
            html,
            &[],
            &[],
            None,
            Some(&sel("main a[href]")),
            &ExtractLimits::default(),
        )
        .unwrap();
        assert!(page.sign_in);
        assert_eq!(page.links, ["/a#x", "https://other/b", "/a", "mailto:x@y"]);
        let urls: Vec<String> = resolve_links(&page.links, &base)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(urls, ["https://learn.microsoft.com/a", "https://other/b"]);
        assert!(plain(html).unwrap().links.is_empty());
    }

    #[test]
    fn hostile_nesting_is_refused_and_deep_pages_still_read() {
        let nest =
            |depth: usize| format!("{}deep{}", "<div>".repeat(depth), "</div>".repeat(depth));
        assert_eq!(plain(&nest(100_000)), Err(HtmlError::TooDeep));
        let doc = plain(&nest(1_500)).unwrap().document;
        assert!(doc.to_text().contains("deep"));
        // Unclosed list items and paragraphs do not count as nesting.
        let sloppy = format!("<ul>{}</ul>", "<li><p>item".repeat(5_000));
        assert!(plain(&sloppy).is_ok());
    }
}
