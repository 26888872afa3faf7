//! PDF to [`Document`]: the text of each page in order, a page marker
//! before each. PDF text carries no structure, so two rules recover what a
//! printed statement needs: a line that starts with a bullet is a list
//! item, and a short line without final punctuation directly followed by a
//! bullet line is a heading (the title of that list).

use super::ExtractError;
use super::document::{Document, DocumentBuilder};

const BULLETS: &[char] = &[
    '\u{2022}', '\u{25e6}', '\u{25aa}', '\u{2023}', '\u{2043}', '-', '*',
];

/// The text of a bulleted line, without its bullet.
fn bullet_item(line: &str) -> Option<&str> {
    line.strip_prefix(BULLETS)
        .filter(|rest| rest.starts_with(char::is_whitespace))
}

pub fn extract_pdf(body: &[u8]) -> Result<Document, ExtractError> {
    let pdf = lopdf::Document::load_mem(body).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    let mut builder = DocumentBuilder::default();
    for page in pdf.get_pages().into_keys() {
        let text = pdf
            .extract_text(&[page])
            .map_err(|e| ExtractError::Pdf(format!("page {page}: {e}")))?;
        builder.page(page);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(item) = bullet_item(line) {
                builder.list_item(1, item);
            } else if lines
                .get(i + 1)
                .is_some_and(|next| bullet_item(next).is_some())
                && line.chars().count() <= 120
                && !line.ends_with(['.', ',', ';', ':'])
            {
                builder.heading(2, line);
            } else {
                builder.paragraph(line);
            }
        }
    }
    Ok(builder.finish())
}
