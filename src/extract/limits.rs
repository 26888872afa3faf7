//! The extraction budget: how much structure a page may have before
//! extraction refuses it. Each cap is checked before or while the costly
//! part runs (a linear pre-scan before the HTML parser, a node count inside
//! the tree builder, byte and operator counts before a PDF's content is
//! decoded), so a page over budget costs little. The memory and time of an
//! extraction as a whole are bounded by the process that runs it (see
//! `crate::isolation`). Why each default is what it is: docs/reliability.md.

use serde::{Deserialize, Serialize};

/// Attributes one HTML element may carry. Real pages use fewer than 50; the
/// parser's cost grows with the square of this number (each attribute is
/// compared with those before it), so 400,000 took 44 s.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 1_000;

/// Deepest element nesting accepted. Real pages stay under 100; the HTML
/// parser's cost grows with depth × size, so a hostile page nested 100,000
/// levels deep would take minutes.
pub const MAX_NESTING: usize = 2_000;

/// Content operators one PDF page may hold. Text extraction parses a page's
/// content into a list of every operation and keeps it while it reads the
/// page: about 500 bytes an operation (measured on lopdf 0.47), so this cap
/// holds that list near 50 MB, a fifth of an extraction process's memory
/// ceiling. Real documents stay under 1,000 a page (the densest page of
/// two real manuals: 876), so this leaves a hundredfold margin.
pub const MAX_OPERATORS_PER_PAGE: usize = 100_000;

/// The caps of one extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractLimits {
    /// HTML: start tags in the page (`[limits] html_elements`).
    pub html_elements: usize,
    /// HTML: nodes the parser may create (elements, text, comments). The
    /// parser re-opens unclosed formatting elements (`<b>`, `<i>`, ...) in
    /// every new block, so a page with few tags can build millions of
    /// nodes: this caps what is built, not what is written.
    pub html_nodes: usize,
    /// HTML: bytes of attribute names and values in the page
    /// (`[limits] html_attribute_bytes`).
    pub html_attribute_bytes: usize,
    /// PDF: bytes the document's streams may decompress to, all together
    /// (`[limits] pdf_stream_bytes`).
    pub pdf_stream_bytes: usize,
    /// PDF: content-stream operators over all pages (`[limits] pdf_operators`).
    pub pdf_operators: usize,
}

/// The defaults, used by the configuration, the docs and the tests.
pub mod defaults {
    pub const HTML_ELEMENTS: usize = 100_000;
    /// Nodes built per element allowed: text nodes and re-opened formatting
    /// elements come on top of the elements written.
    pub const HTML_NODES_PER_ELEMENT: usize = 3;
    pub const HTML_ATTRIBUTE_BYTES: usize = 4 << 20;
    pub const PDF_STREAM_BYTES: usize = 32 << 20;
    pub const PDF_OPERATORS: usize = 1_000_000;
}

impl ExtractLimits {
    /// The limits for a cap on HTML elements, with the node cap that goes
    /// with it ([`defaults::HTML_NODES_PER_ELEMENT`] per element).
    pub fn with_html_elements(mut self, elements: usize) -> Self {
        self.html_elements = elements;
        self.html_nodes = elements.saturating_mul(defaults::HTML_NODES_PER_ELEMENT);
        self
    }
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            html_elements: 0,
            html_nodes: 0,
            html_attribute_bytes: defaults::HTML_ATTRIBUTE_BYTES,
            pdf_stream_bytes: defaults::PDF_STREAM_BYTES,
            pdf_operators: defaults::PDF_OPERATORS,
        }
        .with_html_elements(defaults::HTML_ELEMENTS)
    }
}
