//! The Service Trust Portal's public JSON API, for one document: which
//! document a portal URL names, the two calls that resolve and download it,
//! the typed metadata, and the pure decisions made on it (download again?
//! a new version?).
//!
//! The portal is a single-page application; a plain GET of a document's
//! page returns its script shell. Its documents are served unauthenticated
//! by two calls (the shapes public code that downloads them relies on):
//!
//! 1. `GET {api}/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{docGuid}/`
//!    answers JSON naming the series' live document: its `id` and
//!    `whenLastModified` (required here), its `title` (read when present)
//!    and more (kept as it came).
//! 2. `GET {api}/api/v2/downloadDocuments/{docGuid}/{id}` with
//!    `Accept: application/pdf` answers the PDF.
//!
//! Both go through the [`Fetcher`], so the address policy, retries, the
//! timeout and the body cap apply to them as to any page. A document
//! behind sign-in (401/403, or a redirect to a login host) is a
//! [`PortalOutcome::SignIn`], never a failure to retry.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::{Capture, ErrorClass, FetchOutcome, FetchRequest, Fetcher};

/// Where the portal's API lives.
pub const DEFAULT_API_BASE: &str = "https://api.servicetrust.microsoft.com/";

/// The host of the portal's pages.
const PORTAL_HOST: &str = "servicetrust.microsoft.com";
/// The host of the portal's API.
const API_HOST: &str = "api.servicetrust.microsoft.com";

/// Hosts a document behind sign-in redirects to.
const LOGIN_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.live.com",
    "login.windows.net",
];

/// A portal document's id: the GUID of its series, lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocumentGuid(String);

impl DocumentGuid {
    /// `text` as a GUID (`8-4-4-4-12` hex digits, any case), or `None`.
    pub fn parse(text: &str) -> Option<DocumentGuid> {
        let groups: Vec<&str> = text.split('-').collect();
        let shape_ok = groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()));
        shape_ok.then(|| DocumentGuid(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a URL names no portal document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalUrlError {
    #[error(
        "{0} is not a Service Trust Portal address (servicetrust.microsoft.com or api.servicetrust.microsoft.com)"
    )]
    NotThePortal(String),
    #[error(
        "{0} names no portal document: use https://servicetrust.microsoft.com/DocumentPage/<guid>, a ViewPage link with downloadId=<guid>, or https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/<guid>"
    )]
    NoDocument(String),
}

/// The document a portal URL names, in any of the forms Microsoft's
/// documentation links to:
///
/// - `https://servicetrust.microsoft.com/DocumentPage/<guid>`
/// - `https://servicetrust.microsoft.com/ViewPage/<page>?command=Download&downloadType=Document&downloadId=<guid>&…`
/// - `https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/<guid>` (with or without a
///   trailing `/<id>` of one version)
pub fn document_in(url: &Url) -> Result<DocumentGuid, PortalUrlError> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let segment_is = |i: usize, name: &str| {
        segments
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case(name))
    };
    let found = match host.as_str() {
        PORTAL_HOST | "www.servicetrust.microsoft.com" => {
            if segment_is(0, "DocumentPage") {
                segments.get(1).and_then(|s| DocumentGuid::parse(s))
            } else if segment_is(0, "ViewPage") {
                url.query_pairs()
                    .find(|(key, _)| key.eq_ignore_ascii_case("downloadId"))
                    .and_then(|(_, value)| DocumentGuid::parse(&value))
            } else {
                None
            }
        }
        API_HOST => {
            let download = segment_is(0, "api") && segment_is(2, "downloadDocuments");
            let live =
                segment_is(0, "api") && segment_is(2, "GetLiveDocumentIncludingOldSeriesDoc");
            (download || live)
                .then(|| segments.get(3).and_then(|s| DocumentGuid::parse(s)))
                .flatten()
        }
        _ => return Err(PortalUrlError::NotThePortal(url.to_string())),
    };
    found.ok_or_else(|| PortalUrlError::NoDocument(url.to_string()))
}

/// The document a portal source names, and the API that serves it: the
/// portal's own for its page and API addresses ([`document_in`]), and for
/// an API address on another host (a mirror, a test's mock), the API under
/// that address (`http://127.0.0.1:8080/stp/api/v2/downloadDocuments/<guid>`
/// is served by `http://127.0.0.1:8080/stp/`).
pub fn source_document(url: &Url) -> Result<(DocumentGuid, PortalApi), PortalUrlError> {
    match document_in(url) {
        Err(PortalUrlError::NotThePortal(_)) => {}
        found => return found.map(|document| (document, PortalApi::default())),
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let at = segments.windows(3).position(|w| {
        w[0].eq_ignore_ascii_case("api")
            && w[1].eq_ignore_ascii_case("v2")
            && (w[2].eq_ignore_ascii_case("downloadDocuments")
                || w[2].eq_ignore_ascii_case("GetLiveDocumentIncludingOldSeriesDoc"))
    });
    let Some(at) = at else {
        return Err(PortalUrlError::NotThePortal(url.to_string()));
    };
    let document = segments
        .get(at + 3)
        .and_then(|s| DocumentGuid::parse(s))
        .ok_or_else(|| PortalUrlError::NoDocument(url.to_string()))?;
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    base.set_path(&format!("{}/", segments[..at].join("/")));
    Ok((document, PortalApi::at(base)))
}

/// The portal's API at a base URL: the real one, or a test's mock.
#[derive(Debug, Clone)]
pub struct PortalApi {
    base: Url,
}

impl Default for PortalApi {
    fn default() -> Self {
        PortalApi {
            base: Url::parse(DEFAULT_API_BASE).expect("the default API base is a valid URL"),
        }
    }
}

impl PortalApi {
    /// The API under `base` (its path is kept: `http://127.0.0.1:8080/stp/`
    /// serves `/stp/api/v2/…`).
    pub fn at(mut base: Url) -> PortalApi {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        PortalApi { base }
    }

    /// Call 1: the live document of `document`'s series.
    pub fn metadata_url(&self, document: &DocumentGuid) -> Url {
        self.join(&format!(
            "api/v2/GetLiveDocumentIncludingOldSeriesDoc/{document}/"
        ))
    }

    /// Call 2: the PDF of version `live_id` of `document`.
    pub fn download_url(&self, document: &DocumentGuid, live_id: &str) -> Url {
        let mut url = self.join(&format!("api/v2/downloadDocuments/{document}/"));
        // A path segment, escaped: an id is whatever the API said.
        url.path_segments_mut()
            .expect("an http(s) base has path segments")
            .pop_if_empty()
            .push(live_id);
        url
    }

    fn join(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("a relative path of GUID characters joins any base")
    }
}

/// The live document of a series, as call 1 describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDocument {
    /// The id of the live version: the second half of its download URL.
    pub id: String,
    /// When the live version last changed, as the API wrote it.
    pub when_last_modified: String,
    /// The document's title, when the API gives one.
    pub title: Option<String>,
    /// Every other field, as it came.
    pub other: Map<String, Value>,
}

/// Why call 1's answer is not a usable description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("the portal's metadata is not JSON: {0}")]
    NotJson(String),
    #[error("the portal's metadata is not a JSON object")]
    NotAnObject,
    #[error("the portal's metadata has no `{0}` field")]
    Missing(&'static str),
    #[error("the portal's metadata field `{0}` is not a non-empty string")]
    NotAString(&'static str),
}

impl LiveDocument {
    /// Reads call 1's answer: `id` and `whenLastModified` are required
    /// strings, `title` an optional one; everything else is kept in
    /// [`LiveDocument::other`].
    pub fn parse(body: &[u8]) -> Result<LiveDocument, MetadataError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| MetadataError::NotJson(e.to_string()))?;
        let Value::Object(mut fields) = value else {
            return Err(MetadataError::NotAnObject);
        };
        let mut required = |name: &'static str| match fields.remove(name) {
            None | Some(Value::Null) => Err(MetadataError::Missing(name)),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(MetadataError::NotAString(name)),
        };
        let id = required("id")?;
        let when_last_modified = required("whenLastModified")?;
        // A title that is not a string stays among the other fields.
        let title = match fields.remove("title") {
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                fields.insert("title".to_string(), other);
                None
            }
            None => None,
        };
        Ok(LiveDocument {
            id,
            when_last_modified,
            title,
            other: fields,
        })
    }

    /// The version this describes, to remember for the next check.
    pub fn version(&self) -> DocumentVersion {
        DocumentVersion {
            id: self.id.clone(),
            when_last_modified: self.when_last_modified.clone(),
        }
    }
}

/// What identifies one version of a portal document: what is compared
/// from one check to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentVersion {
    pub id: String,
    pub when_last_modified: String,
}

/// Whether to download the PDF: on the first check, or when the live `id`
/// or `whenLastModified` differs from the version last downloaded.
pub fn needs_download(previous: Option<&DocumentVersion>, live: &LiveDocument) -> bool {
    previous.is_none_or(|p| *p != live.version())
}

pub use crate::detect::NewVersion;

/// The `new-version` event for `live` after `previous`: `None` on the first
/// check (a baseline) and while the version is unchanged.
pub fn new_version(
    document: &DocumentGuid,
    previous: Option<&DocumentVersion>,
    live: &LiveDocument,
) -> Option<NewVersion> {
    let previous = previous?;
    if *previous == live.version() {
        return None;
    }
    Some(NewVersion {
        title: live
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| document.to_string()),
        old_id: previous.id.clone(),
        new_id: live.id.clone(),
        old_modified: previous.when_last_modified.clone(),
        new_modified: live.when_last_modified.clone(),
    })
}

/// One check of a portal document.
#[derive(Debug)]
pub struct PortalCheck {
    /// Call 1, always made: its bytes are evidence (title, version, dates).
    pub metadata: Capture,
    /// Call 2, made when [`needs_download`] said so.
    pub download: Option<Capture>,
    pub outcome: PortalOutcome,
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PortalOutcome {
    /// The live version is the one last downloaded: nothing downloaded.
    Unchanged(LiveDocument),
    /// The PDF of the live version was downloaded ([`PortalCheck::download`]
    /// holds it); `new_version` is `None` on the first check.
    Downloaded {
        live: LiveDocument,
        new_version: Option<NewVersion>,
    },
    /// The portal asks for sign-in (401/403, or a redirect to a login
    /// host): the existing `sign-in` outcome.
    SignIn(String),
    /// A failed call or an unusable answer; the version last downloaded
    /// stays the reference.
    Failed { class: String, message: String },
}

/// Checks portal documents through a [`Fetcher`].
pub struct PortalClient<'a> {
    fetcher: &'a Fetcher,
    api: PortalApi,
    allow_private: bool,
}

impl<'a> PortalClient<'a> {
    /// A client of `api` (its base URL is trusted as configured), with
    /// redirects allowed to private addresses only when `allow_private`.
    pub fn new(fetcher: &'a Fetcher, api: PortalApi, allow_private: bool) -> Self {
        PortalClient {
            fetcher,
            api,
            allow_private,
        }
    }

    /// Resolves `document`'s live version and downloads its PDF when
    /// [`needs_download`] after `previous` (the version last downloaded).
    pub async fn check(
        &self,
        document: &DocumentGuid,
        previous: Option<&DocumentVersion>,
    ) -> PortalCheck {
        let metadata = self
            .fetch(self.api.metadata_url(document), Accept::Json)
            .await;
        let live = match read(&metadata, "metadata") {
            Err(failed) => return finished(metadata, None, failed.into()),
            Ok(body) => match LiveDocument::parse(body) {
                Ok(live) => live,
                Err(e) => {
                    let outcome = PortalOutcome::Failed {
                        class: "invalid-metadata".to_string(),
                        message: e.to_string(),
                    };
                    return finished(metadata, None, outcome);
                }
            },
        };
        if !needs_download(previous, &live) {
            return finished(metadata, None, PortalOutcome::Unchanged(live));
        }
        let download = self
            .fetch(self.api.download_url(document, &live.id), Accept::Pdf)
            .await;
        let outcome = match read(&download, "download") {
            Err(failed) => failed.into(),
            Ok(body) if !body.starts_with(b"%PDF-") => PortalOutcome::Failed {
                class: "not-a-pdf".to_string(),
                message: format!(
                    "the portal's download of version {} is not a PDF (content type {})",
                    live.id,
                    download.content_type.as_deref().unwrap_or("(none)")
                ),
            },
            Ok(_) => PortalOutcome::Downloaded {
                new_version: new_version(document, previous, &live),
                live,
            },
        };
        finished(metadata, Some(download), outcome)
    }

    async fn fetch(&self, url: Url, accept: Accept) -> Capture {
        self.fetcher
            .fetch(&FetchRequest {
                url,
                configured: true,
                allow_private: self.allow_private,
                conditional: None,
                accept: Some(accept.media_type()),
                headers: Default::default(),
            })
            .await
    }
}

/// What a call asks for.
#[derive(Debug, Clone, Copy)]
enum Accept {
    Json,
    Pdf,
}

impl Accept {
    fn media_type(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::Pdf => "application/pdf",
        }
    }
}

fn finished(metadata: Capture, download: Option<Capture>, outcome: PortalOutcome) -> PortalCheck {
    PortalCheck {
        metadata,
        download,
        outcome,
    }
}

/// How a call that gave no body ended.
enum CallFailed {
    SignIn(String),
    Failed { class: String, message: String },
}

impl From<CallFailed> for PortalOutcome {
    fn from(failed: CallFailed) -> Self {
        match failed {
            CallFailed::SignIn(message) => PortalOutcome::SignIn(message),
            CallFailed::Failed { class, message } => PortalOutcome::Failed { class, message },
        }
    }
}

/// The body of a successful call, or how it failed.
fn read<'c>(capture: &'c Capture, call: &str) -> Result<&'c [u8], CallFailed> {
    if let Some(message) = sign_in(capture) {
        return Err(CallFailed::SignIn(message));
    }
    match &capture.outcome {
        FetchOutcome::Body(body) => Ok(body),
        FetchOutcome::NotModified => Err(CallFailed::Failed {
            class: ErrorClass::HttpStatus(304).to_string(),
            message: format!(
                "the portal's {call} call answered 304 to a request without validators"
            ),
        }),
        FetchOutcome::Failed { class, message } => Err(CallFailed::Failed {
            class: class.to_string(),
            message: format!("the portal's {call} call failed: {message}"),
        }),
    }
}

/// Whether a call was turned away to sign in: a 401 or 403, or a redirect
/// to a login host (whatever came of following it).
fn sign_in(capture: &Capture) -> Option<String> {
    let url = capture.final_url.as_deref().unwrap_or(&capture.url);
    if let FetchOutcome::Failed {
        class: ErrorClass::HttpStatus(status @ (401 | 403)),
        ..
    } = &capture.outcome
    {
        return Some(format!(
            "the portal answered HTTP {status} for {url}: the document is only for signed-in customers"
        ));
    }
    let login = capture.hops.iter().find_map(|hop| {
        let target = Url::parse(&hop.url).ok()?.join(&hop.location).ok()?;
        let host = target.host_str()?.to_ascii_lowercase();
        LOGIN_HOSTS.contains(&host.as_str()).then_some(host)
    })?;
    Some(format!(
        "the portal redirected {} to sign in at {login}: the document is only for signed-in customers",
        capture.url
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const GUID: &str = "19b08fd4-d276-43e8-9461-715981d0ea20";

    #[test]
    fn the_three_url_forms_name_the_same_document() {
        for form in [
            "https://servicetrust.microsoft.com/DocumentPage/19b08fd4-d276-43e8-9461-715981d0ea20",
            "https://servicetrust.microsoft.com/ViewPage/MSComplianceGuide?command=Download&downloadType=Document&downloadId=19b08fd4-d276-43e8-9461-715981d0ea20&docTab=4ce99610-c9c0-11e7-8c2c-f908a777fa4d_GRC_Assessment_Reports",
            "https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/19B08FD4-D276-43E8-9461-715981D0EA20",
            "https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/19b08fd4-d276-43e8-9461-715981d0ea20/5f0e7c7a-1111-4b7e-9c3a-7a0b8e2f3d4c",
        ] {
            assert_eq!(document_in(&url(form)).unwrap().as_str(), GUID, "{form}");
        }
    }

    #[test]
    fn other_urls_name_no_document() {
        assert!(matches!(
            document_in(&url(
                "https://learn.microsoft.com/DocumentPage/19b08fd4-d276-43e8-9461-715981d0ea20"
            )),
            Err(PortalUrlError::NotThePortal(_))
        ));
        for no_document in [
            "https://servicetrust.microsoft.com/",
            "https://servicetrust.microsoft.com/ViewPage/GDPRGetStarted",
            "https://servicetrust.microsoft.com/DocumentPage/not-a-guid",
            "https://servicetrust.microsoft.com/ViewPage/TrustDocuments?downloadId=19b08fd4-d276",
            "https://api.servicetrust.microsoft.com/api/v2/somethingElse/19b08fd4-d276-43e8-9461-715981d0ea20",
        ] {
            assert!(
                matches!(
                    document_in(&url(no_document)),
                    Err(PortalUrlError::NoDocument(_))
                ),
                "{no_document}"
            );
        }
    }

    #[test]
    fn an_api_address_elsewhere_names_its_own_api() {
        let (document, api) = source_document(&url(
            "https://servicetrust.microsoft.com/DocumentPage/19b08fd4-d276-43e8-9461-715981d0ea20",
        ))
        .unwrap();
        assert_eq!(document.as_str(), GUID);
        assert!(
            api.metadata_url(&document)
                .as_str()
                .starts_with(DEFAULT_API_BASE)
        );
        let (document, api) = source_document(&url(
            "http://127.0.0.1:8080/stp/api/v2/downloadDocuments/19b08fd4-d276-43e8-9461-715981d0ea20?x=1",
        ))
        .unwrap();
        assert_eq!(
            api.metadata_url(&document).as_str(),
            "http://127.0.0.1:8080/stp/api/v2/GetLiveDocumentIncludingOldSeriesDoc/19b08fd4-d276-43e8-9461-715981d0ea20/"
        );
        assert!(matches!(
            source_document(&url(
                "http://127.0.0.1:8080/DocumentPage/19b08fd4-d276-43e8-9461-715981d0ea20"
            )),
            Err(PortalUrlError::NotThePortal(_))
        ));
        assert!(matches!(
            source_document(&url("http://127.0.0.1:8080/api/v2/downloadDocuments/nope")),
            Err(PortalUrlError::NoDocument(_))
        ));
    }

    #[test]
    fn builds_the_two_calls() {
        let document = DocumentGuid::parse(GUID).unwrap();
        let api = PortalApi::default();
        assert_eq!(
            api.metadata_url(&document).as_str(),
            "https://api.servicetrust.microsoft.com/api/v2/GetLiveDocumentIncludingOldSeriesDoc/19b08fd4-d276-43e8-9461-715981d0ea20/"
        );
        assert_eq!(
            api.download_url(&document, "a1b2").as_str(),
            "https://api.servicetrust.microsoft.com/api/v2/downloadDocuments/19b08fd4-d276-43e8-9461-715981d0ea20/a1b2"
        );
        // A mock under a path prefix; an id that is not a plain segment
        // stays one segment.
        let mock = PortalApi::at(url("http://127.0.0.1:9/stp"));
        assert_eq!(
            mock.download_url(&document, "../x y").as_str(),
            "http://127.0.0.1:9/stp/api/v2/downloadDocuments/19b08fd4-d276-43e8-9461-715981d0ea20/..%2Fx%20y"
        );
    }

    #[test]
    fn parses_metadata_keeping_unknown_fields() {
        let live = LiveDocument::parse(
            br#"{"id":"a1b2","whenLastModified":"2026-08-31T18:32:10.627083Z","title":"Azure - Compliance Offerings","language":"en-US","series":{"n":3}}"#,
        )
        .unwrap();
        assert_eq!(live.id, "a1b2");
        assert_eq!(live.when_last_modified, "2026-08-31T18:32:10.627083Z");
        assert_eq!(live.title.as_deref(), Some("Azure - Compliance Offerings"));
        assert_eq!(live.other["language"], "en-US");
        assert_eq!(live.other["series"]["n"], 3);
        assert!(!live.other.contains_key("id"));
    }

    #[test]
    fn metadata_errors_name_the_field() {
        let err = |body: &[u8]| LiveDocument::parse(body).unwrap_err();
        assert_eq!(
            err(br#"{"whenLastModified":"2026-01-01"}"#),
            MetadataError::Missing("id")
        );
        assert_eq!(
            err(br#"{"id":"a"}"#),
            MetadataError::Missing("whenLastModified")
        );
        assert_eq!(
            err(br#"{"id":7,"whenLastModified":"x"}"#),
            MetadataError::NotAString("id")
        );
        assert_eq!(err(b"[1]"), MetadataError::NotAnObject);
        assert!(matches!(err(b"<html>"), MetadataError::NotJson(_)));
        assert!(
            err(br#"{"id":"a"}"#)
                .to_string()
                .contains("`whenLastModified`")
        );
    }

    #[test]
    fn downloads_on_the_first_check_and_on_a_change_only() {
        let document = DocumentGuid::parse(GUID).unwrap();
        let live = |id: &str, modified: &str| LiveDocument {
            id: id.into(),
            when_last_modified: modified.into(),
            title: Some("Azure - Compliance Offerings".into()),
            other: Map::new(),
        };
        let now = live("v1", "2026-08-31");
        assert!(needs_download(None, &now));
        assert_eq!(new_version(&document, None, &now), None);
        let previous = now.version();
        assert!(!needs_download(Some(&previous), &now));
        assert_eq!(new_version(&document, Some(&previous), &now), None);
        for changed in [live("v2", "2026-08-31"), live("v1", "2026-09-30")] {
            assert!(needs_download(Some(&previous), &changed));
        }
        let event = new_version(&document, Some(&previous), &live("v2", "2026-09-30")).unwrap();
        assert_eq!(
            event,
            NewVersion {
                title: "Azure - Compliance Offerings".into(),
                old_id: "v1".into(),
                new_id: "v2".into(),
                old_modified: "2026-08-31".into(),
                new_modified: "2026-09-30".into(),
            }
        );
        let untitled = LiveDocument {
            title: None,
            ..live("v3", "2026-10-31")
        };
        assert_eq!(
            new_version(&document, Some(&previous), &untitled)
                .unwrap()
                .title,
            GUID
        );
    }
}
