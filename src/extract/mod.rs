//! Bytes and a content type to a structured [`Document`] and its normalised
//! text, within an [`ExtractLimits`] budget. Pure functions: no I/O, no
//! clock, the same bytes always give the same text. (The sweep and `verify`
//! run them in a separate process, see `crate::isolation`.)

pub mod document;
mod dom_budget;
mod elements;
pub mod html;
mod html_error;
mod json;
pub mod limits;
pub mod markdown;
mod pdf;
mod prescan;
pub mod shell;
mod superscript;
mod table;
mod text;

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use scraper::Selector;
use serde::{Deserialize, Serialize};

pub use document::{Block, Document, TableRow, clean_text};
pub use limits::ExtractLimits;

/// The formats scopewatch can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentKind {
    Html,
    Markdown,
    Json,
    Pdf,
    Text,
    /// An HTML page that only becomes content in a browser (see
    /// [`shell`]): what is recorded is a description of the shell.
    ScriptShell,
}

impl ContentKind {
    /// Picks the format from the `Content-Type` header, then the URL (a
    /// `.md` file served as plain text), then the bytes (a PDF served as
    /// `application/octet-stream`). `None`: a format scopewatch does not read.
    pub fn detect(content_type: Option<&str>, url: &str, body: &[u8]) -> Option<Self> {
        let mime = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or(url)
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/html" | "application/xhtml+xml" => Some(Self::Html),
            "text/markdown" | "text/x-markdown" => Some(Self::Markdown),
            "application/json" => Some(Self::Json),
            m if m.ends_with("+json") => Some(Self::Json),
            "application/pdf" => Some(Self::Pdf),
            "text/plain" if path.ends_with(".md") || path.ends_with(".markdown") => {
                Some(Self::Markdown)
            }
            "text/plain" => Some(Self::Text),
            "" | "application/octet-stream" if body.starts_with(b"%PDF-") => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The name used in the database and in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Markdown => "markdown",
            Self::Json => "json",
            Self::Pdf => "pdf",
            Self::Text => "text",
            Self::ScriptShell => shell::CONTENT_KIND,
        }
    }
}

/// A source's rules for what part of a page counts. (Serialised for the
/// extraction process: selectors as CSS text.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtractRules {
    /// HTML: selectors of the part that counts (empty: the default roots).
    pub content: Vec<Selector>,
    /// HTML: selectors removed before normalising.
    pub ignore: Vec<Selector>,
    /// JSON: an RFC 6901 pointer to the part that counts.
    pub json_pointer: Option<String>,
    /// HTML: the scope `table` selector (see [`Document::selected_tables`]).
    pub scope_tables: Option<Selector>,
    /// HTML: the `follow` selector; the `href`s it matches are listed in
    /// [`Extracted::links`].
    pub links: Option<Selector>,
}

/// A page reduced to what counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extracted {
    pub kind: ContentKind,
    pub document: Document,
    /// The normalised text: `document.to_text()`.
    pub text: String,
    /// An HTML page that asks for a password.
    pub sign_in: bool,
    /// HTML: the `href`s the `links` rule matched, in document order.
    pub links: Vec<String>,
}

/// Why a fetched body yielded no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ExtractError {
    #[error(
        "unsupported content type {0:?} (scopewatch reads HTML, Markdown, JSON, PDF and plain text)"
    )]
    UnsupportedContentType(String),
    #[error(transparent)]
    Html(#[from] html::HtmlError),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("JSON pointer {0:?} selects nothing in the document")]
    JsonPointer(String),
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    #[error("the page has no text in the part that counts")]
    Empty,
    /// Over the extraction budget: a cap of [`ExtractLimits`], or the
    /// memory or time of the extraction process.
    #[error("{0}")]
    Limit(String),
    /// The extraction process failed for another reason (it could not
    /// start, or died on something other than a limit).
    #[error("the extractor failed: {0}")]
    Extractor(String),
}

impl ExtractError {
    /// A short, stable name for the kind of failure, stored with the record.
    pub fn class(&self) -> &'static str {
        match self {
            Self::UnsupportedContentType(_) => "unsupported-content-type",
            Self::Html(html::HtmlError::ContentNotFound(_)) => "content-not-found",
            Self::Html(html::HtmlError::TooDeep) => "too-deeply-nested",
            Self::Html(
                html::HtmlError::TooManyElements(_)
                | html::HtmlError::TooManyAttributes(_)
                | html::HtmlError::AttributeBytes(_)
                | html::HtmlError::TooManyNodes(_),
            )
            | Self::Limit(_) => "extraction-limit",
            Self::Json(_) | Self::JsonPointer(_) => "invalid-json",
            Self::Pdf(_) => "invalid-pdf",
            Self::Empty => "empty-content",
            Self::Extractor(_) => "extractor-failed",
        }
    }
}

/// Extracts the document and normalised text of a fetched body, within
/// `limits`.
pub fn extract(
    body: &[u8],
    content_type: Option<&str>,
    url: &str,
    rules: &ExtractRules,
    limits: &ExtractLimits,
) -> Result<Extracted, ExtractError> {
    let mut kind = ContentKind::detect(content_type, url, body).ok_or_else(|| {
        ExtractError::UnsupportedContentType(content_type.unwrap_or("(none)").to_string())
    })?;
    let mut sign_in = false;
    let mut links = Vec::new();
    let document = match kind {
        // `detect` names HTML; a shell is what reading it may find.
        ContentKind::Html | ContentKind::ScriptShell => {
            let page = html::extract_html(
                &decode(body, content_type, true),
                &rules.content,
                &rules.ignore,
                rules.scope_tables.as_ref(),
                rules.links.as_ref(),
                limits,
            )?;
            sign_in = page.sign_in;
            links = page.links;
            match page.shell {
                // Recorded as what it is, in words that stay the same
                // from one front-end build to the next.
                Some(shell) => {
                    kind = ContentKind::ScriptShell;
                    text::extract_text(&shell.text)
                }
                None => page.document,
            }
        }
        ContentKind::Markdown => markdown::extract_markdown(&decode(body, content_type, false)),
        ContentKind::Json => json::extract_json(
            &decode(body, content_type, false),
            rules.json_pointer.as_deref(),
        )?,
        ContentKind::Pdf => pdf::extract_pdf(body, limits)?,
        ContentKind::Text => text::extract_text(&decode(body, content_type, false)),
    };
    // A sign-in page without text is still a page (detection calls it a
    // move); any other page without text is a failed fetch.
    if document.blocks.is_empty() && !sign_in {
        return Err(ExtractError::Empty);
    }
    let text = document.to_text();
    Ok(Extracted {
        kind,
        document,
        text,
        sign_in,
        links,
    })
}

/// Decodes a body to text: a byte-order mark wins, then the `charset` of
/// the content type, then (HTML) a `<meta charset>` in the first 1024
/// bytes, then UTF-8. Bytes invalid in the encoding become U+FFFD. Valid
/// UTF-8 is borrowed, not copied.
pub fn decode<'b>(body: &'b [u8], content_type: Option<&str>, html: bool) -> Cow<'b, str> {
    let declared = content_type
        .and_then(charset_param)
        .or_else(|| html.then(|| meta_charset(body)).flatten())
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .unwrap_or(UTF_8);
    let (text, _, _) = declared.decode(body);
    text
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

fn meta_charset(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds() {
        let d = |ct: Option<&str>, url: &str, body: &[u8]| ContentKind::detect(ct, url, body);
        assert_eq!(
            d(Some("text/html; charset=utf-8"), "http://x/", b""),
            Some(ContentKind::Html)
        );
        assert_eq!(
            d(Some("text/plain"), "http://x/a.md?x=1", b""),
            Some(ContentKind::Markdown)
        );
        assert_eq!(
            d(Some("application/ld+json"), "http://x/", b""),
            Some(ContentKind::Json)
        );
        assert_eq!(
            d(Some("application/octet-stream"), "http://x/", b"%PDF-1.4"),
            Some(ContentKind::Pdf)
        );
        assert_eq!(
            d(Some("application/octet-stream"), "http://x/", b"<html>"),
            None
        );
        assert_eq!(d(Some("image/png"), "http://x/", b""), None);
    }

    #[test]
    fn decodes_declared_and_meta_charsets() {
        let latin1 = b"<meta charset=\"iso-8859-1\"><p>caf\xe9</p>";
        assert!(decode(latin1, Some("text/html"), true).contains("caf\u{e9}"));
        assert!(
            decode(b"caf\xe9", Some("text/plain; charset=windows-1252"), false).contains('\u{e9}')
        );
        // Invalid UTF-8 is replaced, deterministically.
        assert_eq!(decode(b"a\xffb", None, false), "a\u{fffd}b");
    }

    #[test]
    fn same_bytes_same_text() {
        let body = b"<main><h2>In scope</h2><ul><li>Azure</li></ul></main>";
        let rules = ExtractRules::default();
        let limits = ExtractLimits::default();
        let run = || extract(body, Some("text/html"), "http://x/", &rules, &limits).unwrap();
        let (a, b) = (run(), run());
        assert_eq!(a.text, b.text);
        assert_eq!(a.text, "## In scope\n- Azure\n");
    }

    #[test]
    fn a_script_shell_is_recorded_as_one_whatever_its_build() {
        let stp = include_str!("../../tests/fixtures/shells/service-trust-portal.html");
        let rebuilt = stp.replace("main.3f9a1c2e", "main.77b0d4aa");
        let limits = ExtractLimits::default();
        let run = |page: &str, rules: &ExtractRules| {
            extract(
                page.as_bytes(),
                Some("text/html"),
                "http://x/",
                rules,
                &limits,
            )
            .unwrap()
        };
        let first = run(stp, &ExtractRules::default());
        assert_eq!(first.kind, ContentKind::ScriptShell);
        assert_eq!(first.kind.as_str(), "script-shell");
        assert!(first.text.starts_with("script shell:"), "{}", first.text);
        assert_eq!(run(&rebuilt, &ExtractRules::default()).text, first.text);
        // A `content` selector the shell lacks finds the shell, not a
        // missing part.
        let main = ExtractRules {
            content: vec![Selector::parse("main").unwrap()],
            ..ExtractRules::default()
        };
        assert_eq!(run(stp, &main).kind, ContentKind::ScriptShell);
        let plain = b"<html><body><p>Loading</p></body></html>";
        let err = extract(plain, Some("text/html"), "http://x/", &main, &limits).unwrap_err();
        assert_eq!(err.class(), "content-not-found");
    }

    #[test]
    fn empty_page_is_an_error() {
        let err = extract(
            b"",
            Some("text/html"),
            "http://x/",
            &ExtractRules::default(),
            &ExtractLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err, ExtractError::Empty);
    }
}
