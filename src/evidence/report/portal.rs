//! The report's portal documents: per source watched through a portal's
//! API, each version of the document its metadata calls named, in the
//! order they were live (title, version id, the portal's last-modified
//! date, and the attempts that saw it first and last), so an auditor reads
//! which version was published when without opening the WARC files. Read
//! from each record's `fetch_details`, which its record hash covers.

use std::collections::BTreeMap;

use super::{escape, when};
use crate::store::{PortalVersion, RecordRow};

/// One version as the attempts saw it.
struct Seen<'a> {
    version: PortalVersion,
    first: &'a RecordRow,
    last: &'a RecordRow,
}

/// The versions each portal source's metadata named, in order; a version
/// seen again after another starts a new row.
fn versions<'a>(by_source: &BTreeMap<&str, Vec<&'a RecordRow>>) -> Vec<(String, Vec<Seen<'a>>)> {
    let mut out = Vec::new();
    for (source, rows) in by_source {
        let mut seen: Vec<Seen<'a>> = Vec::new();
        for row in rows {
            let Some(version) = row.portal_call().and_then(|call| call.live) else {
                continue;
            };
            match seen.last_mut() {
                Some(current) if current.version == version => current.last = row,
                _ => seen.push(Seen {
                    version,
                    first: row,
                    last: row,
                }),
            }
        }
        if !seen.is_empty() {
            out.push((source.to_string(), seen));
        }
    }
    out
}

/// The "Portal documents" section, when a source is a portal document.
pub(super) fn portal_documents(out: &mut String, by_source: &BTreeMap<&str, Vec<&RecordRow>>) {
    let versions = versions(by_source);
    if versions.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"portal-documents\">Portal documents</h2>\n");
    out.push_str("<p class=\"note\">Each version of a document the portal's metadata named, as recorded with every attempt (the metadata response is in <code>archive/</code> beside the download).</p>\n");
    out.push_str("<table>\n<tr><th>source</th><th>title</th><th>version</th><th>last modified (portal)</th><th>first seen</th><th>last seen</th></tr>\n");
    for (source, seen) in &versions {
        for Seen {
            version,
            first,
            last,
        } in seen
        {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} (record {})</td><td>{} (record {})</td></tr>\n",
                escape(source),
                escape(version.title.as_deref().unwrap_or("(untitled)")),
                escape(&version.id),
                escape(&version.when_last_modified),
                escape(&when(&first.started_at)),
                first.id,
                escape(&when(&last.started_at)),
                last.id,
            ));
        }
    }
    out.push_str("</table>\n");
}
