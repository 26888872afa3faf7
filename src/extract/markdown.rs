//! Markdown (CommonMark with GitHub tables) to [`Document`], block for block
//! as the HTML extractor would see the rendered page. YAML front matter is
//! metadata, not text, and is left out; raw HTML is dropped (superscript
//! footnote markers with their text, see [`Superscript`]).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::document::{Document, DocumentBuilder, TableRow};
use super::superscript::Superscript;

/// Extracts the structured content of a Markdown document.
pub fn extract_markdown(source: &str) -> Document {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut builder = DocumentBuilder::default();
    let mut text = String::new();
    let mut heading: Option<u8> = None;
    let mut list_depth: u8 = 0;
    let mut items: Vec<u8> = Vec::new();
    let mut table: Option<Vec<TableRow>> = None;
    let mut in_head = false;
    let mut in_metadata = false;
    let mut sup = Superscript::default();

    // Each block's text is its own: a `<sup>` left open does not reach
    // into the next one.
    let flush = |builder: &mut DocumentBuilder,
                 text: &mut String,
                 sup: &mut Superscript,
                 heading: Option<u8>,
                 items: &[u8]| {
        *sup = Superscript::default();
        if text.is_empty() {
            return;
        }
        let taken = std::mem::take(text);
        if let Some(level) = heading {
            builder.heading(level, &taken);
        } else if let Some(&depth) = items.last() {
            builder.list_item(depth, &taken);
        } else {
            builder.paragraph(&taken);
        }
    };

    for event in Parser::new_ext(source, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_metadata = false,
            Event::Text(t) | Event::Code(t) if !in_metadata => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::InlineHtml(html) if html.trim_start().starts_with("<br") => text.push(' '),
            Event::InlineHtml(html) if is_tag(&html, "<sup") => sup.open(&text),
            Event::InlineHtml(html) if is_tag(&html, "</sup") => sup.close(&mut text),
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                heading = Some(level as u8);
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                heading = None;
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                list_depth = list_depth.saturating_add(1);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                list_depth = list_depth.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                items.push(list_depth.max(1));
            }
            Event::End(TagEnd::Item) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                items.pop();
            }
            Event::Start(Tag::Table(_)) => {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
                table = Some(Vec::new());
            }
            Event::End(TagEnd::Table) => {
                builder.table(table.take().unwrap_or_default());
            }
            Event::Start(Tag::TableHead) => {
                in_head = true;
                start_row(&mut table, true);
            }
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => start_row(&mut table, in_head),
            Event::End(TagEnd::TableCell) => {
                sup = Superscript::default();
                if let Some(row) = table.as_mut().and_then(|rows| rows.last_mut()) {
                    row.cells.push(std::mem::take(&mut text));
                }
            }
            Event::Start(Tag::Paragraph | Tag::BlockQuote(_) | Tag::CodeBlock(_))
            | Event::End(TagEnd::Paragraph | TagEnd::BlockQuote(_) | TagEnd::CodeBlock)
                if table.is_none() =>
            {
                flush(&mut builder, &mut text, &mut sup, heading, &items);
            }
            _ => {}
        }
    }
    flush(&mut builder, &mut text, &mut sup, heading, &items);
    builder.finish()
}

/// Whether inline HTML is the tag `open` ("<sup", "</sup"), any case.
fn is_tag(html: &str, open: &str) -> bool {
    let html = html.trim_start();
    html.get(..open.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(open))
        && html[open.len()..].starts_with(['>', ' '])
}

fn start_row(table: &mut Option<Vec<TableRow>>, header: bool) {
    if let Some(rows) = table.as_mut() {
        rows.push(TableRow {
            header,
            cells: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_dropped_and_structure_kept() {
        let md = "---\ntitle: x\nms.date: 1/1/2020\n---\n\n# Title\n\nSome *text*\nwrapped.\n\n- one\n- two\n  - nested\n\n| A | B |\n|---|---|\n| [1](x) | 2 |\n";
        assert_eq!(
            extract_markdown(md).to_text(),
            "# Title\nSome text wrapped.\n- one\n- two\n  - nested\n\n| A | B |\n| 1 | 2 |\n"
        );
    }

    #[test]
    fn superscript_footnote_markers_are_dropped() {
        let md = "- Azure Maps<sup>1</sup>\n- Intune<SUP>a </SUP>\n- Area m<sup>10 or more</sup>\n\n| A | B |\n|---|---|\n| Files | ✅<sup>2</sup> |\n";
        assert_eq!(
            extract_markdown(md).to_text(),
            "- Azure Maps\n- Intune\n- Area m10 or more\n\n| A | B |\n| Files | \u{2705} |\n"
        );
    }

    #[test]
    fn a_superscript_left_open_ends_with_its_block() {
        let md = "- Azure Maps<sup>1\n- Azure Files<sup>2</sup>\n- Intune</sup>\n";
        assert_eq!(
            extract_markdown(md).to_text(),
            "- Azure Maps1\n- Azure Files\n- Intune\n"
        );
    }
}
