//! PDF to [`Document`]: the text of each page in order, a page marker
//! before each. PDF text carries no structure, so two rules recover what a
//! printed statement needs: a line that starts with a bullet is a list
//! item, and a short line without final punctuation directly followed by a
//! bullet line is a heading (the title of that list). A running header or
//! footer (a line that opens or closes several pages) is kept where it
//! first appears only, so a page break does not end a list.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use lopdf::{DecompressError, LoadOptions};
use regex::Regex;

use super::ExtractError;
use super::document::{Document, DocumentBuilder};
use super::limits::{ExtractLimits, MAX_OPERATORS_PER_PAGE};

const BULLETS: &[char] = &[
    '\u{2022}', '\u{25e6}', '\u{25aa}', '\u{2023}', '\u{2043}', '-', '*',
];

/// The text of a bulleted line, without its bullet.
fn bullet_item(line: &str) -> Option<&str> {
    line.strip_prefix(BULLETS)
        .filter(|rest| rest.starts_with(char::is_whitespace))
}

/// Extracts the text of every page within `limits`: no stream may
/// decompress past [`ExtractLimits::pdf_stream_bytes`] while the document
/// loads, the pages' content streams together may not either, and their
/// operators are counted (by a linear scan, nothing kept) before a page's
/// text is extracted, which parses and keeps them all: at most
/// [`MAX_OPERATORS_PER_PAGE`] on one page (what that parse holds at once),
/// [`ExtractLimits::pdf_operators`] over all pages (the time it takes).
pub fn extract_pdf(body: &[u8], limits: &ExtractLimits) -> Result<Document, ExtractError> {
    let options = LoadOptions {
        max_decompressed_size: Some(limits.pdf_stream_bytes),
        ..LoadOptions::default()
    };
    let pdf = lopdf::Document::load_mem_with_options(body, options)
        .map_err(|e| pdf_error(e, limits, None))?;
    let mut bytes_left = limits.pdf_stream_bytes;
    let mut operators_left = limits.pdf_operators;
    let mut pages = Vec::new();
    for (page, id) in pdf.get_pages() {
        let content = pdf
            .get_page_content_with_limit(id, bytes_left)
            .map_err(|e| pdf_error(e, limits, Some(page)))?;
        bytes_left = bytes_left.saturating_sub(content.len());
        let operators = count_operators(
            &content,
            operators_left.min(MAX_OPERATORS_PER_PAGE).saturating_add(1),
        );
        if operators > MAX_OPERATORS_PER_PAGE {
            return Err(ExtractError::Limit(format!(
                "page {page} of the PDF holds more than {MAX_OPERATORS_PER_PAGE} content operators"
            )));
        }
        operators_left = operators_left.checked_sub(operators).ok_or_else(|| {
            ExtractError::Limit(format!(
                "the PDF's pages hold more than {} content operators ([limits] pdf_operators)",
                limits.pdf_operators
            ))
        })?;
        drop(content);
        let text = pdf
            .extract_text_with_limit(&[page], limits.pdf_stream_bytes)
            .map_err(|e| pdf_error(e, limits, Some(page)))?;
        pages.push((page, text));
    }
    Ok(build(&pages))
}

/// The operators in a content stream, counting up to `max`: the tokens
/// that are neither operands (numbers, names, strings, arrays,
/// dictionaries) nor comments, with an inline image's data skipped. A
/// scan of the bytes, nothing allocated: lopdf's parser, which builds
/// every operation, took a second for 2 million.
fn count_operators(content: &[u8], max: usize) -> usize {
    let delimiter = |b: u8| b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b);
    let mut count = 0;
    let mut i = 0;
    while i < content.len() && count < max {
        let b = content[i];
        match b {
            b'%' => {
                while i < content.len() && !matches!(content[i], b'\r' | b'\n') {
                    i += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, `\` escapes.
                let mut depth = 0usize;
                while i < content.len() {
                    match content[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            b'<' if content.get(i + 1) == Some(&b'<') => i += 2,
            b'<' => {
                // A hex string.
                i += content[i..]
                    .iter()
                    .position(|b| *b == b'>')
                    .unwrap_or(content.len() - i)
                    + 1;
            }
            _ if b.is_ascii_whitespace() || b"<>[]{}".contains(&b) => i += 1,
            _ => {
                let start = i;
                i += 1;
                while i < content.len() && !delimiter(content[i]) {
                    i += 1;
                }
                let token = &content[start..i];
                let operand = b == b'/'
                    || b.is_ascii_digit()
                    || matches!(b, b'+' | b'-' | b'.')
                    || matches!(token, b"true" | b"false" | b"null");
                if !operand {
                    count += 1;
                    if token == b"ID" {
                        // Inline image data runs to `EI` after white space.
                        i = content[i..]
                            .windows(3)
                            .position(|w| w[0].is_ascii_whitespace() && &w[1..] == b"EI")
                            .map_or(content.len(), |p| i + p + 3);
                    }
                }
            }
        }
    }
    count
}

/// A lopdf error (on `page`, or loading the document) as an extraction
/// error: a stream over the budget is an extraction limit, anything else an
/// unreadable PDF.
fn pdf_error(error: lopdf::Error, limits: &ExtractLimits, page: Option<u32>) -> ExtractError {
    let on_page = page.map_or_else(String::new, |page| format!("page {page}: "));
    match error {
        lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. }) => {
            ExtractError::Limit(format!(
                "{on_page}the PDF's streams decompress to more than {} bytes ([limits] pdf_stream_bytes)",
                limits.pdf_stream_bytes
            ))
        }
        other => ExtractError::Pdf(format!("{on_page}{other}")),
    }
}

/// The document of pages of text, each with its number.
fn build(pages: &[(u32, String)]) -> Document {
    let lines: Vec<Vec<&str>> = pages
        .iter()
        .map(|(_, text)| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .collect();
    let running = running_lines(&lines);
    let mut seen_running = HashSet::new();
    let mut builder = DocumentBuilder::default();
    for ((number, _), lines) in pages.iter().zip(&lines) {
        builder.page(*number);
        // A running title or page number, again: it would end the list the
        // page break cut, as the heading of what follows.
        let mut again = |line: &str| {
            let key = running_key(line);
            running.contains(&key) && !seen_running.insert(key)
        };
        let mut lines: &[&str] = lines;
        while let [first, rest @ ..] = lines
            && again(first)
        {
            lines = rest;
        }
        while let [rest @ .., last] = lines
            && again(last)
        {
            lines = rest;
        }
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
    builder.finish()
}

/// Lines a PDF repeats as running headers or footers: the same line first
/// or last on at least two pages and half of them, compared as written
/// ("SOC 1" and "SOC 2" are two headings) but for page numbers ("2",
/// "Page 2 of 5", "2/5"), which are one line. A list item never is one.
fn running_lines(pages: &[Vec<&str>]) -> HashSet<String> {
    let mut pages_with: HashMap<String, usize> = HashMap::new();
    for lines in pages {
        let ends: HashSet<String> = [lines.first(), lines.last()]
            .into_iter()
            .flatten()
            .filter(|line| bullet_item(line).is_none())
            .map(|line| running_key(line))
            .collect();
        for line in ends {
            *pages_with.entry(line).or_default() += 1;
        }
    }
    pages_with
        .into_iter()
        .filter(|(_, count)| *count >= 2 && *count * 2 >= pages.len())
        .map(|(line, _)| line)
        .collect()
}

/// What a line is compared as, to find running lines: a page number as
/// one key, any other line as written.
fn running_key(line: &str) -> String {
    static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?$").expect("a valid regex")
    });
    if PAGE_NUMBER.is_match(line) {
        "page N".to_string()
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pages: &[&str]) -> String {
        let pages: Vec<(u32, String)> = (1..)
            .zip(pages)
            .map(|(n, text)| (n, (*text).to_string()))
            .collect();
        build(&pages).to_text()
    }

    #[test]
    fn a_running_title_and_page_numbers_do_not_end_the_list_a_page_break_cuts() {
        let out = text(&[
            "HIPAA scope statement\nMicrosoft in-scope cloud services\n- Azure\n- Dynamics 365\nPage 1 of 3",
            "HIPAA scope statement\n- Intune\n- Power BI\nPage 2 of 3",
            "HIPAA scope statement\n- Windows 365\nPage 3 of 3",
        ]);
        assert_eq!(out.matches("HIPAA scope statement").count(), 1, "{out}");
        assert_eq!(out.matches("Page").count(), 1, "{out}");
        assert_eq!(out.matches("## ").count(), 1, "one heading: {out}");
        for item in ["- Intune", "- Power BI", "- Windows 365"] {
            assert!(out.contains(item), "{item}: {out}");
        }
    }

    #[test]
    fn operators_are_counted_and_operands_are_not() {
        let content = b"BT /F1 12 Tf 72 720 Td (Hello (nested) \\) Tj) Tj [(a) -250 (b)] TJ ET\n\
            % a comment Tj Tj\nq 1 0 0 1 0 0 cm <414243> Tj Q T* 0 g true false\n\
            BI /W 1 /H 1 ID \x00Tj\xff EI Q";
        // BT Tf Td Tj TJ ET q cm Tj Q T* g BI ID Q
        assert_eq!(count_operators(content, usize::MAX), 15);
        assert_eq!(count_operators(content, 4), 4);
        assert_eq!(count_operators(&b"q\n".repeat(1000), usize::MAX), 1000);
    }

    /// A PDF of one page per content stream given, with no fonts.
    fn pdf_of_pages(contents: &[Vec<u8>]) -> Vec<u8> {
        use lopdf::{Object, Stream, dictionary};
        let mut pdf = lopdf::Document::with_version("1.4");
        let pages_id = pdf.new_object_id();
        let kids: Vec<Object> = contents
            .iter()
            .map(|content| {
                let content = pdf.add_object(Stream::new(dictionary! {}, content.clone()));
                pdf.add_object(dictionary! {
                    "Type" => "Page",
                    "Parent" => pages_id,
                    "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                    "Contents" => content,
                })
                .into()
            })
            .collect();
        let count = kids.len() as i64;
        pdf.objects.insert(
            pages_id,
            dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into(),
        );
        let catalog = pdf.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        pdf.trailer.set("Root", catalog);
        let mut bytes = Vec::new();
        pdf.save_to(&mut bytes).expect("writes to memory");
        bytes
    }

    #[test]
    fn operators_are_capped_on_one_page_and_over_the_document() {
        let limits = ExtractLimits {
            pdf_operators: 1_000,
            ..ExtractLimits::default()
        };
        let page = |operators: usize| b"q\n".repeat(operators);
        assert!(extract_pdf(&pdf_of_pages(&[page(600), page(400)]), &limits).is_ok());
        let over_document = extract_pdf(&pdf_of_pages(&[page(600), page(401)]), &limits);
        assert!(
            matches!(&over_document, Err(ExtractError::Limit(m)) if m.contains("pages hold more than 1000")),
            "{over_document:?}"
        );
        let unlimited = ExtractLimits {
            pdf_operators: usize::MAX,
            ..ExtractLimits::default()
        };
        let pages = [page(10), page(MAX_OPERATORS_PER_PAGE + 1)];
        let over_page = extract_pdf(&pdf_of_pages(&pages), &unlimited);
        assert!(
            matches!(&over_page, Err(ExtractError::Limit(m)) if m.starts_with("page 2 of the PDF holds more than")),
            "{over_page:?}"
        );
    }

    #[test]
    fn headings_that_differ_only_in_a_number_are_two_headings() {
        let out = text(&["SOC 1\n- Azure\n- Intune", "SOC 2\n- Azure\n- Power BI"]);
        assert!(
            out.contains("## SOC 1") && out.contains("## SOC 2"),
            "{out}"
        );
    }

    #[test]
    fn a_line_on_one_page_only_stays_and_list_items_always_do() {
        let out = text(&["Title\nIn scope\n- A", "Other\nIn scope too\n- A"]);
        assert!(out.contains("## In scope too"), "{out}");
        assert!(out.contains("Other"), "{out}");
        assert_eq!(out.matches("- A").count(), 2, "{out}");
    }
}
