//! Plain text to [`Document`]: one paragraph per non-empty line.

use super::document::{Document, DocumentBuilder};

pub fn extract_text(source: &str) -> Document {
    let mut builder = DocumentBuilder::default();
    for line in source.lines() {
        builder.paragraph(line);
    }
    builder.finish()
}
