//! Why an HTML page yielded no document: the error the HTML extractor and
//! its linear pre-scan share.

use serde::{Deserialize, Serialize};

use super::limits::MAX_NESTING;

/// Why an HTML page yielded no document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum HtmlError {
    #[error("none of the content selectors ({0}) matched the page")]
    ContentNotFound(String),
    #[error("elements nested more than {MAX_NESTING} levels deep")]
    TooDeep,
    #[error("the page has more than {0} elements ([limits] html_elements)")]
    TooManyElements(usize),
    #[error("an element has more than {0} attributes")]
    TooManyAttributes(usize),
    #[error("the page's attributes hold more than {0} bytes ([limits] html_attribute_bytes)")]
    AttributeBytes(usize),
    #[error(
        "parsing the page would build more than {0} nodes (unclosed formatting elements are re-opened in every block; [limits] html_elements raises this with it)"
    )]
    TooManyNodes(usize),
}
