//! The structured form of a fetched page: headings, paragraphs, list items
//! and tables, in reading order. Every extractor produces a [`Document`];
//! the normalised text (what is hashed, stored and diffed) is rendered from
//! it, and scope extraction reads it directly.

use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// One block of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A heading; `level` is 1 (`<h1>`, `#`) to 6.
    Heading { level: u8, text: String },
    /// Running text.
    Paragraph(String),
    /// A list item; `depth` is 1 for a top-level list.
    ListItem { depth: u8, text: String },
    /// A table, row by row; `header` marks rows made of header cells.
    Table(Vec<TableRow>),
    /// Start of a page of a paged document (PDF); `1` is the first page.
    Page(u32),
}

/// One row of a [`Block::Table`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub header: bool,
    pub cells: Vec<String>,
}

/// A page reduced to its structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub blocks: Vec<Block>,
    /// HTML pages read with a scope `table` CSS selector: the ordinals
    /// (1-based, in document order) of the [`Block::Table`]s it matched.
    pub selected_tables: Option<Vec<usize>>,
    /// JSON documents: the part that counts (after the source's
    /// `json_pointer`), which scope extraction reads (`kind = "json"`).
    pub json: Option<serde_json::Value>,
}

impl Document {
    /// Renders the normalised text: one line per heading, paragraph, list
    /// item and table row, so that diffs read well and tables survive.
    ///
    /// - headings: `#`×level, a space, the text, after a blank line;
    /// - list items: two spaces per nesting level, `- `, the text;
    /// - table rows: `| a | b |` (header rows too), the table after a blank line;
    /// - pages: `--- page N ---`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Heading { level, text } => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    for _ in 0..*level {
                        out.push('#');
                    }
                    out.push(' ');
                    out.push_str(text);
                }
                Block::Paragraph(text) => out.push_str(text),
                Block::ListItem { depth, text } => {
                    for _ in 1..*depth {
                        out.push_str("  ");
                    }
                    out.push_str("- ");
                    out.push_str(text);
                }
                Block::Table(rows) => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    for (i, row) in rows.iter().enumerate() {
                        if i > 0 {
                            out.push('\n');
                        }
                        out.push('|');
                        for cell in &row.cells {
                            out.push(' ');
                            out.push_str(cell);
                            out.push_str(" |");
                        }
                    }
                }
                Block::Page(n) => {
                    out.push_str("--- page ");
                    out.push_str(&n.to_string());
                    out.push_str(" ---");
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Collects a document block by block, cleaning text as it goes: whitespace
/// runs become one space, ends are trimmed, text is put in Unicode NFC, and
/// blocks left empty are dropped.
#[derive(Debug, Default)]
pub(crate) struct DocumentBuilder {
    blocks: Vec<Block>,
    /// Tables added so far: the next one's ordinal less one.
    tables: usize,
}

impl DocumentBuilder {
    pub(crate) fn heading(&mut self, level: u8, raw: &str) {
        let text = clean_text(raw);
        if !text.is_empty() {
            self.blocks.push(Block::Heading {
                level: level.clamp(1, 6),
                text,
            });
        }
    }

    pub(crate) fn paragraph(&mut self, raw: &str) {
        let text = clean_text(raw);
        if !text.is_empty() {
            self.blocks.push(Block::Paragraph(text));
        }
    }

    pub(crate) fn list_item(&mut self, depth: u8, raw: &str) {
        let text = clean_text(raw);
        if !text.is_empty() {
            self.blocks.push(Block::ListItem {
                depth: depth.max(1),
                text,
            });
        }
    }

    /// Adds a table; cells are cleaned, rows with no text are dropped.
    /// Returns the table's ordinal (1-based), or `None` when it was empty.
    pub(crate) fn table(&mut self, rows: Vec<TableRow>) -> Option<usize> {
        let rows: Vec<TableRow> = rows
            .into_iter()
            .map(|row| TableRow {
                header: row.header,
                cells: row.cells.iter().map(|c| clean_text(c)).collect(),
            })
            .filter(|row| row.cells.iter().any(|c| !c.is_empty()))
            .collect();
        if rows.is_empty() {
            return None;
        }
        self.blocks.push(Block::Table(rows));
        self.tables += 1;
        Some(self.tables)
    }

    pub(crate) fn page(&mut self, number: u32) {
        self.blocks.push(Block::Page(number));
    }

    pub(crate) fn finish(self) -> Document {
        Document {
            blocks: self.blocks,
            selected_tables: None,
            json: None,
        }
    }
}

/// Collapses whitespace (including non-breaking spaces) to single spaces,
/// trims, drops control and zero-width characters, and applies Unicode NFC.
pub fn clean_text(raw: &str) -> String {
    // Most text is already NFC (ASCII always is), and the quick check costs
    // a fraction of composing it again.
    if is_nfc_quick(raw.chars()) == IsNormalized::Yes {
        collapse(raw.chars(), raw.len())
    } else {
        collapse(raw.nfc(), raw.len())
    }
}

fn collapse(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    let mut pending_space = false;
    for ch in chars {
        if ch.is_whitespace() {
            pending_space = true;
        } else if ch.is_control() || matches!(ch, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}')
        {
            continue;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_collapses_and_normalises() {
        assert_eq!(clean_text("  a\u{a0}\n\t b  "), "a b");
        // "e" + combining acute becomes the precomposed "é".
        assert_eq!(clean_text("Caf\u{65}\u{301}"), "Caf\u{e9}");
        // Text already in NFC (the quick path) is only collapsed.
        assert_eq!(clean_text(" Caf\u{e9}\n \u{2705} "), "Caf\u{e9} \u{2705}");
        assert_eq!(clean_text("zero\u{200B}width"), "zerowidth");
    }

    #[test]
    fn renders_structure_line_by_line() {
        let mut b = DocumentBuilder::default();
        b.heading(1, "Title");
        b.paragraph("Some text.");
        b.list_item(1, "one");
        b.list_item(2, "nested");
        b.table(vec![
            TableRow {
                header: true,
                cells: vec!["A".into(), "B".into()],
            },
            TableRow {
                header: false,
                cells: vec!["1".into(), " 2 ".into()],
            },
        ]);
        b.heading(2, "Next");
        assert_eq!(
            b.finish().to_text(),
            "# Title\nSome text.\n- one\n  - nested\n\n| A | B |\n| 1 | 2 |\n\n## Next\n"
        );
    }
}
