//! PDF to [`Document`]: the text of each page in order, a page marker
//! before each. Lines that start with a bullet become list items, so a
//! statement printed as a bulleted list reads as one.

use super::ExtractError;
use super::document::{Document, DocumentBuilder};

const BULLETS: &[char] = &[
    '\u{2022}', '\u{25e6}', '\u{25aa}', '\u{2023}', '\u{2043}', '-', '*',
];

pub fn extract_pdf(body: &[u8]) -> Result<Document, ExtractError> {
    let pdf = lopdf::Document::load_mem(body).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    let mut builder = DocumentBuilder::default();
    for page in pdf.get_pages().into_keys() {
        let text = pdf
            .extract_text(&[page])
            .map_err(|e| ExtractError::Pdf(format!("page {page}: {e}")))?;
        builder.page(page);
        for line in text.lines() {
            let trimmed = line.trim();
            match trimmed.strip_prefix(BULLETS) {
                Some(item) if item.starts_with(char::is_whitespace) => builder.list_item(1, item),
                _ => builder.paragraph(trimmed),
            }
        }
    }
    Ok(builder.finish())
}
