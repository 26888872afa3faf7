//! `scopewatch export --format wacz`: the bundle's WARC files packaged as
//! a WACZ 1.1.1 file (<https://specs.webrecorder.net/wacz/1.1.1/>), so the
//! captures replay in ReplayWeb.page or pywb.
//!
//! The package holds `archive/*.warc.gz` byte for byte as in the bundle
//! (ZIP "stored", no recompression, so an index offset is an offset into
//! the same bytes `SHA256SUMS` lists); `indexes/index.cdx`, a CDXJ line per
//! `response` and `revisit` record, sorted, with the record's gzip member
//! offset and length, file name, status, MIME type and payload digest,
//! taken from each record as it is written (and sorted in bounded memory
//! by the export); `pages/pages.jsonl`, one page per source URL (its
//! latest capture with a body, and the HTML title or the title a portal
//! document's metadata gives); the index lists a portal attempt's metadata
//! call response beside its download; `datapackage.json` listing every
//! other entry with its SHA-256 and size (under a Frictionless name: a
//! followed page's `~` would fail `wacz validate`); and
//! `datapackage-digest.json` with the SHA-256 of the `datapackage.json`.
//! Text entries are deflated.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::warc::{self, WarcRecord};
use crate::hash::Digest;

/// The WACZ version written.
pub const WACZ_VERSION: &str = "1.1.1";

/// One entry of `pages/pages.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The WARC-Target-URI of the capture, so a replay finds it.
    pub url: String,
    /// The capture's WARC-Date (RFC 3339).
    pub ts: String,
    pub title: String,
}

impl Page {
    /// The page for a capture of `url` at `ts`: the `<title>` of an HTML
    /// body, else `fallback` (a portal document's title, or the source id).
    pub fn of_capture(url: &str, ts: &str, html: Option<&[u8]>, fallback: &str) -> Page {
        let title = html
            .and_then(|body| {
                let document = scraper::Html::parse_document(&String::from_utf8_lossy(body));
                let selector = scraper::Selector::parse("title").expect("a valid selector");
                document
                    .select(&selector)
                    .next()
                    .map(|t| t.text().collect::<String>().trim().to_string())
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| fallback.to_string());
        Page {
            url: url.to_string(),
            ts: ts.to_string(),
            title,
        }
    }
}

/// A file the package holds byte for byte: its path in the package (e.g.
/// `archive/iso.warc.gz`), where it is on disk, its SHA-256 (hex) and length.
pub struct Packaged<'a> {
    pub path: &'a str,
    pub file: &'a Path,
    pub sha256: &'a str,
    pub len: u64,
}

/// Writes the WACZ of the bundle's `archives` (stored) and the CDXJ
/// `index` (deflated), both read from their files, to `out`. `created` is
/// an RFC 3339 time (the export's checkpoint), used for `created` and the
/// ZIP entry times.
pub fn package<W: Write + std::io::Seek>(
    out: W,
    archives: &[Packaged<'_>],
    index: &Packaged<'_>,
    pages: &[Page],
    created: &str,
) -> zip::result::ZipResult<W> {
    let pages_file = pages_jsonl(pages).into_bytes();
    let mut resources: Vec<(&str, String, u64)> = archives
        .iter()
        .chain([index])
        .map(|file| (file.path, format!("sha256:{}", file.sha256), file.len))
        .collect();
    resources.push((
        "pages/pages.jsonl",
        warc::digest(&pages_file),
        pages_file.len() as u64,
    ));
    let names = resource_names(resources.iter().map(|(path, _, _)| *path));
    let resources: Vec<Value> = resources
        .iter()
        .zip(names)
        .map(|((path, hash, bytes), name)| {
            json!({
                "name": name,
                "path": path,
                "hash": hash,
                "bytes": bytes,
            })
        })
        .collect();
    let mut datapackage = json!({
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": "scopewatch captures",
        "description": "Captures of vendor compliance pages made by scopewatch. The enclosing evidence bundle's README.txt says how to verify them.",
        "created": created,
        "software": format!("scopewatch {}", env!("CARGO_PKG_VERSION")),
        "resources": resources,
    });
    if let Some(main) = pages.first() {
        datapackage["mainPageUrl"] = json!(main.url);
        datapackage["mainPageDate"] = json!(main.ts);
    }
    let datapackage = serde_json::to_vec_pretty(&datapackage).expect("a JSON value serialises");
    let digest = json!({ "path": "datapackage.json", "hash": warc::digest(&datapackage) });
    let digest = serde_json::to_vec_pretty(&digest).expect("a JSON value serialises");

    let time = zip_time(created);
    let options = |method, len: u64| {
        SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(time)
            .large_file(len >= u64::from(u32::MAX))
    };
    let mut zip = ZipWriter::new(out);
    for (file, method) in archives
        .iter()
        .map(|file| (file, CompressionMethod::Stored))
        .chain([(index, CompressionMethod::Deflated)])
    {
        zip.start_file(file.path, options(method, file.len))?;
        std::io::copy(&mut std::fs::File::open(file.file)?, &mut zip)?;
    }
    for (path, bytes) in [
        ("pages/pages.jsonl", &pages_file),
        ("datapackage.json", &datapackage),
        ("datapackage-digest.json", &digest),
    ] {
        zip.start_file(
            path,
            options(CompressionMethod::Deflated, bytes.len() as u64),
        )?;
        zip.write_all(bytes)?;
    }
    zip.finish()
}

/// A Frictionless resource name for each path (`^[-a-z0-9._/]+$`, unique
/// in the package): its file name lowercased, every other character
/// (a followed page's `~`, say) as `-`, and `-2`, `-3`... after a name
/// already taken (ids that differ only in case).
fn resource_names<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    paths
        .map(|path| {
            let file = path.rsplit('/').next().unwrap_or(path).to_lowercase();
            let name: String = file
                .chars()
                .map(|c| match c {
                    'a'..='z' | '0'..='9' | '-' | '.' | '_' => c,
                    _ => '-',
                })
                .collect();
            let unique = (1..)
                .map(|n| match n {
                    1 => name.clone(),
                    n => format!("{name}-{n}"),
                })
                .find(|candidate| !taken.contains(candidate))
                .expect("some suffix is free");
            taken.insert(unique.clone());
            unique
        })
        .collect()
}

/// The ZIP (DOS) time of an RFC 3339 time; the ZIP epoch when unreadable.
fn zip_time(rfc3339: &str) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .and_then(|t| {
            let t = t.naive_utc();
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// The `indexes/index.cdx` line (CDXJ) of `record`, a `response` or
/// `revisit`, written as the gzip member of `length` bytes at `offset` of
/// the WARC file `filename`; `None` for another record. The index is these
/// lines of every archive, sorted (SURT key, then timestamp).
pub fn cdxj_line(filename: &str, offset: u64, length: u64, record: &WarcRecord) -> Option<String> {
    let kind = record.header("WARC-Type");
    if !matches!(kind, Some("response" | "revisit")) {
        return None;
    }
    let uri = record.header("WARC-Target-URI")?;
    let date = record.header("WARC-Date")?;
    let (status, mime) = http_status_and_type(&record.block);
    let mut fields = json!({
        "url": uri,
        "mime": if kind == Some("revisit") { "warc/revisit".to_string() } else { mime },
        // Strings, as the reference indexer (cdxj-indexer) writes them.
        "offset": offset.to_string(),
        "length": length.to_string(),
        "filename": filename,
    });
    if let Some(status) = status {
        fields["status"] = json!(status.to_string());
    }
    if let Some(digest) = record.header("WARC-Payload-Digest") {
        fields["digest"] = json!(digest);
    }
    Some(format!("{} {} {fields}", surt(uri), timestamp(date)))
}

/// The status code and MIME type (without parameters) of an HTTP
/// response block.
fn http_status_and_type(block: &[u8]) -> (Option<u16>, String) {
    let head_len = block.len() - warc::http_payload(block).len();
    let head = String::from_utf8_lossy(&block[..head_len]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let mime = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.split(';').next().unwrap_or("").trim().to_lowercase())
        .unwrap_or_else(|| "unk".into());
    (status, mime)
}

/// The 14-digit CDX timestamp of a WARC-Date (`YYYYMMDDhhmmss`).
fn timestamp(date: &str) -> String {
    date.chars().filter(char::is_ascii_digit).take(14).collect()
}

/// The SURT form of a URL, as the Python `surt` package writes it for the
/// URLs scopewatch fetches: lowercased, scheme and `www.` dropped, host
/// labels reversed and comma-separated, a non-default port kept, a
/// trailing slash dropped, query parameters sorted, no fragment.
pub fn surt(uri: &str) -> String {
    let Ok(url) = url::Url::parse(&uri.to_lowercase()) else {
        return uri.to_lowercase();
    };
    let host = url.host_str().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut key = host.split('.').rev().collect::<Vec<_>>().join(",");
    if let Some(port) = url.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    let path = url.path();
    key.push_str(if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        "/"
    });
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        let mut params: Vec<&str> = query.split('&').collect();
        params.sort_unstable();
        key.push('?');
        key.push_str(&params.join("&"));
    }
    key
}

/// `pages/pages.jsonl`: the header line, then one page per line.
fn pages_jsonl(pages: &[Page]) -> String {
    let mut out =
        json!({ "format": "json-pages-1.0", "id": "pages", "title": "Sources" }).to_string();
    out.push('\n');
    for page in pages {
        let id = &Digest::of(format!("{}\n{}", page.url, page.ts).as_bytes()).to_hex()[..16];
        out.push_str(
            &json!({ "id": id, "url": page.url, "ts": page.ts, "title": page.title }).to_string(),
        );
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surt_keys_match_the_python_surt_package() {
        // Expected values printed by `surt.surt()` (Python surt 0.3).
        for (url, key) in [
            (
                "http://127.0.0.1:8080/iso?b=2&a=1",
                "1,0,0,127:8080)/iso?a=1&b=2",
            ),
            (
                "https://www.Example.com/A/b?Z=1&a=2#frag",
                "com,example)/a/b?a=2&z=1",
            ),
            (
                "https://learn.microsoft.com:443/en-us/compliance/",
                "com,microsoft,learn)/en-us/compliance",
            ),
            ("http://example.com", "com,example)/"),
        ] {
            assert_eq!(surt(url), key, "{url}");
        }
        assert_eq!(timestamp("2026-11-28T12:00:01.250Z"), "20261128120001");
    }

    #[test]
    fn resource_names_are_frictionless_names_and_unique() {
        let names = resource_names(
            [
                "archive/ISO.warc.gz",
                "archive/iso.warc.gz",
                "archive/bot~www.example.com-trust.warc.gz",
                "archive/iso.warc.gz-2",
                "indexes/index.cdx",
            ]
            .into_iter(),
        );
        assert_eq!(
            names,
            [
                "iso.warc.gz",
                "iso.warc.gz-2",
                "bot-www.example.com-trust.warc.gz",
                "iso.warc.gz-2-2",
                "index.cdx",
            ]
        );
    }

    #[test]
    fn a_page_is_titled_by_its_html_title_else_the_source() {
        let page = Page::of_capture(
            "https://e.com/",
            "2026-11-28T12:00:00Z",
            Some(b"<html><head><title> ISO 27001 </title></head></html>"),
            "iso",
        );
        assert_eq!(page.title, "ISO 27001");
        let page = Page::of_capture("https://e.com/", "t", Some(b"%PDF-1.7"), "iso");
        assert_eq!(page.title, "iso");
    }
}
