//! What an HTML element means to the readers of a page (the walker and the
//! table reader): never text, or the end of a run of text.

use std::collections::HashSet;

use ego_tree::NodeId;

/// Elements whose content is never page text.
const SKIPPED_ELEMENTS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed",
    "canvas", "button", "select",
];

/// Elements that end a run of text (the rest are inline).
pub(super) const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "nav",
    "aside",
    "blockquote",
    "pre",
    "dl",
    "dt",
    "dd",
    "form",
    "fieldset",
    "figure",
    "figcaption",
    "hr",
    "address",
    "details",
    "summary",
    "body",
    "caption",
];

pub(super) fn is_skipped(
    element: &scraper::node::Element,
    id: NodeId,
    ignored: &HashSet<NodeId>,
) -> bool {
    ignored.contains(&id) || SKIPPED_ELEMENTS.contains(&element.name())
}
