//! The report's portal documents: per source watched through a portal's
//! API, each version of the document its metadata calls named, in the
//! order they were live (title, version id, the portal's last-modified
//! date, and the attempts that saw it first and last), so an auditor reads
//! which version was published when without opening the WARC files. Read
//! from each record's `fetch_details`, which its record hash covers.

use super::{Capture, escape, when};
use crate::store::{PortalVersion, RecordRow};

/// One version as the attempts saw it.
struct Seen {
    version: PortalVersion,
    first: Capture,
    last: Capture,
}

/// The versions one portal source's metadata named, in order, fed its
/// captures; a version seen again after another starts a new row.
#[derive(Default)]
pub(super) struct Versions {
    seen: Vec<Seen>,
}

/// The section's heading and table head, before the first source's rows.
pub(super) const HEAD: &str = "<h2 id=\"portal-documents\">Portal documents</h2>\n\
<p class=\"note\">Each version of a document the portal's metadata named, as recorded with every attempt (the metadata response is in <code>archive/</code> beside the download).</p>\n\
<table>\n<tr><th>source</th><th>title</th><th>version</th><th>last modified (portal)</th><th>first seen</th><th>last seen</th></tr>\n";

impl Versions {
    pub(super) fn add(&mut self, row: &RecordRow) {
        let Some(version) = row.portal_call().and_then(|call| call.live) else {
            return;
        };
        let capture = Capture {
            id: row.id,
            at: row.started_at.clone(),
        };
        match self.seen.last_mut() {
            Some(current) if current.version == version => current.last = capture,
            _ => self.seen.push(Seen {
                version,
                first: capture.clone(),
                last: capture,
            }),
        }
    }

    /// The source's rows of the "Portal documents" table (none when it is
    /// not a portal document; the section is left out when no source is).
    pub(super) fn write(&self, out: &mut String, source: &str) {
        for Seen {
            version,
            first,
            last,
        } in &self.seen
        {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} (record {})</td><td>{} (record {})</td></tr>\n",
                escape(source),
                escape(version.title.as_deref().unwrap_or("(untitled)")),
                escape(&version.id),
                escape(&version.when_last_modified),
                escape(&when(&first.at)),
                first.id,
                escape(&when(&last.at)),
                last.id,
            ));
        }
    }
}
