//! A linear pass over an HTML page before it is parsed: counts start tags,
//! the attributes of each and their bytes, and estimates the nesting depth,
//! so a page over the extraction budget is refused at the cost of reading
//! it once. The HTML parser's costs grow faster than the page on these
//! (nesting, attributes of one element) or its memory does (elements), so
//! they are checked here, before it runs.
//!
//! The lexing follows the HTML tokenizer closely enough to count what the
//! parser will see: comments, doctypes and processing instructions are
//! skipped, quoted attribute values may hold `>`, and the content of raw
//! text elements (`script`, `style`, `textarea`, ...) is not markup. Every
//! byte is looked at a bounded number of times, whatever the input.

use super::html_error::HtmlError;
use super::limits::{ExtractLimits, MAX_ATTRIBUTES_PER_ELEMENT, MAX_NESTING};

/// Elements that never have content or are usually left unclosed, and so
/// say nothing about nesting depth.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "td", "th", "tr", "option", "dt", "dd",
];

/// Elements whose content is text up to their end tag, not markup.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// What the pass counted (up to the first cap exceeded).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub elements: usize,
    pub attribute_bytes: usize,
    pub deepest: usize,
}

/// Checks `html` against the caps of `limits` (and [`MAX_NESTING`]),
/// stopping at the first one exceeded.
pub(super) fn check(html: &str, limits: &ExtractLimits) -> Result<Counts, HtmlError> {
    let bytes = html.as_bytes();
    let mut counts = Counts::default();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = find_byte(&bytes[i..], b'<') {
        let open = i + offset;
        i = open + 1;
        match bytes.get(i) {
            Some(b'!') => i = skip_markup_declaration(bytes, i + 1),
            Some(b'?') => i = after(bytes, i, b'>'),
            Some(b'/') => {
                let name_start = i + 1;
                if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                    // `</` and no letter: a bogus comment up to `>`.
                    i = after(bytes, name_start, b'>');
                    continue;
                }
                let name_end = name_end(bytes, name_start);
                if !NOT_NESTING.contains(&lowercase(&html[name_start..name_end]).as_str()) {
                    depth = depth.saturating_sub(1);
                }
                i = after(bytes, name_end, b'>');
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let name_end = name_end(bytes, i);
                let name = lowercase(&html[i..name_end]);
                let tag = read_attributes(bytes, name_end)?;
                i = tag.end;
                counts.elements += 1;
                counts.attribute_bytes = counts.attribute_bytes.saturating_add(tag.bytes);
                if counts.elements > limits.html_elements {
                    return Err(HtmlError::TooManyElements(limits.html_elements));
                }
                if counts.attribute_bytes > limits.html_attribute_bytes {
                    return Err(HtmlError::AttributeBytes(limits.html_attribute_bytes));
                }
                if !tag.self_closing && !NOT_NESTING.contains(&name.as_str()) {
                    depth += 1;
                    counts.deepest = counts.deepest.max(depth);
                    if depth > MAX_NESTING {
                        return Err(HtmlError::TooDeep);
                    }
                }
                if name == "plaintext" {
                    break;
                }
                if RAW_TEXT.contains(&name.as_str()) {
                    i = end_of_raw_text(bytes, i, &name);
                }
            }
            _ => {}
        }
    }
    Ok(counts)
}

/// A start tag's attributes, read up to its `>`.
struct Tag {
    /// Just past the tag (the input's end when it is not closed).
    end: usize,
    /// Bytes of attribute names and values.
    bytes: usize,
    self_closing: bool,
}

/// Reads the attributes of a start tag whose name ends at `at`.
fn read_attributes(bytes: &[u8], mut at: usize) -> Result<Tag, HtmlError> {
    let mut count = 0usize;
    let mut total = 0usize;
    let mut self_closing = false;
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            self_closing = bytes[at] == b'/';
            at += 1;
        }
        match bytes.get(at) {
            None => break,
            Some(b'>') => {
                at += 1;
                break;
            }
            Some(_) => {}
        }
        self_closing = false;
        // The name: anything up to white space, `/`, `>` or `=` (a leading
        // `=` belongs to the name, as in the tokenizer).
        let name_start = at;
        at += 1;
        while at < bytes.len() && !matches!(bytes[at], b'/' | b'>' | b'=') {
            if bytes[at].is_ascii_whitespace() {
                break;
            }
            at += 1;
        }
        let mut length = at - name_start;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let value_start = at;
            match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let close =
                        find_byte(&bytes[at + 1..], quote).map_or(bytes.len(), |p| at + 1 + p);
                    length += close - (value_start + 1);
                    at = (close + 1).min(bytes.len());
                }
                _ => {
                    while at < bytes.len() && !bytes[at].is_ascii_whitespace() && bytes[at] != b'>'
                    {
                        at += 1;
                    }
                    length += at - value_start;
                }
            }
        }
        count += 1;
        total = total.saturating_add(length);
        if count > MAX_ATTRIBUTES_PER_ELEMENT {
            return Err(HtmlError::TooManyAttributes(MAX_ATTRIBUTES_PER_ELEMENT));
        }
    }
    Ok(Tag {
        end: at,
        bytes: total,
        self_closing,
    })
}

/// Past a `<!` declaration starting at `at`: a comment ends at `-->`,
/// anything else (a doctype, CDATA, a bogus comment) at the next `>`.
fn skip_markup_declaration(bytes: &[u8], at: usize) -> usize {
    if bytes[at..].starts_with(b"--") {
        let body = at + 2;
        return find(&bytes[body..], b"-->").map_or(bytes.len(), |p| body + p + 3);
    }
    after(bytes, at, b'>')
}

/// Past the end tag `</name` that closes raw text starting at `at` (the
/// input's end when there is none).
fn end_of_raw_text(bytes: &[u8], mut at: usize, name: &str) -> usize {
    while let Some(offset) = find(&bytes[at..], b"</") {
        let name_start = at + offset + 2;
        let name_end = name_start + name.len();
        if bytes
            .get(name_start..name_end)
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.as_bytes()))
            && !bytes.get(name_end).is_some_and(u8::is_ascii_alphanumeric)
        {
            return name_start - 2;
        }
        at = name_start;
    }
    bytes.len()
}

/// Where a tag name starting at `at` ends.
fn name_end(bytes: &[u8], at: usize) -> usize {
    at + bytes[at..]
        .iter()
        .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'/' | b'>'))
        .count()
}

/// Just past the first `byte` at or after `at` (the input's end when none).
fn after(bytes: &[u8], at: usize, byte: u8) -> usize {
    find_byte(&bytes[at.min(bytes.len())..], byte).map_or(bytes.len(), |p| at + p + 1)
}

fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    bytes.iter().position(|b| *b == byte)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn lowercase(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(html: &str) -> Counts {
        check(html, &ExtractLimits::default()).unwrap()
    }

    #[test]
    fn counts_elements_attributes_and_depth() {
        let c = counts("<!doctype html><html><body><div class=a id='b>c'><br/><div>x</div></div>");
        assert_eq!(c.elements, 5);
        assert_eq!(c.attribute_bytes, "classa".len() + "idb>c".len());
        assert_eq!(c.deepest, 4);
        // Tags inside comments and raw text are not markup.
        let c = counts("<!-- <div><div> --><script>if (a<b) { x = '<div>'; }</script><p>");
        assert_eq!(c.elements, 2);
        assert_eq!(counts("<SCRIPT>'</scriptx>'</Script ><b>").elements, 2);
    }

    #[test]
    fn nesting_counts_only_elements_that_nest() {
        assert_eq!(counts("<div><div>x</div></div>").deepest, 2);
        assert_eq!(counts("<div><br/><div>").deepest, 2);
        assert_eq!(counts("<a<b<c").deepest, 1);
        assert_eq!(counts("<ul><li><p>a<li><p>b</ul>").deepest, 1);
    }

    #[test]
    fn each_cap_is_checked() {
        let limits = ExtractLimits::default().with_html_elements(10);
        assert_eq!(
            check(&"<p>x".repeat(11), &limits),
            Err(HtmlError::TooManyElements(10))
        );
        assert!(check(&"<p>x".repeat(10), &limits).is_ok());
        let many = format!("<div {}>", "a ".repeat(MAX_ATTRIBUTES_PER_ELEMENT + 1));
        assert_eq!(
            check(&many, &limits),
            Err(HtmlError::TooManyAttributes(MAX_ATTRIBUTES_PER_ELEMENT))
        );
        let limits = ExtractLimits {
            html_attribute_bytes: 100,
            ..ExtractLimits::default()
        };
        let long = format!("<div title=\"{}\">", "x".repeat(100));
        assert_eq!(check(&long, &limits), Err(HtmlError::AttributeBytes(100)));
        let deep = "<div>".repeat(MAX_NESTING + 1);
        assert_eq!(
            check(&deep, &ExtractLimits::default()),
            Err(HtmlError::TooDeep)
        );
    }

    #[test]
    fn unclosed_constructs_are_read_in_one_pass() {
        // Each of these once searched the rest of the input again per tag.
        for hostile in [
            "<a</a".repeat(200_000),
            "<!--".repeat(200_000),
            "<div title=\"".repeat(200_000),
            "<script>".repeat(200_000),
            "</".repeat(200_000),
        ] {
            let limits = ExtractLimits::default().with_html_elements(usize::MAX);
            let _ = check(&hostile, &limits);
        }
    }
}
