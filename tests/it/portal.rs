//! The Service Trust Portal's API client against a loopback mock of its two
//! calls, answering in the shapes public code that downloads the portal's
//! documents relies on. No test looks a name up: the fetcher's resolver
//! answers 127.0.0.1 for every name, which the address policy refuses for
//! a host name, so a redirect to a login host ends before connecting.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::bundle::{
    copy_dir, export, forge_warc, redo_digests, resign, run_script, verify_bundle,
};
use crate::common::server::{Reply, Server};
use crate::common::{Harness, output_text, scopewatch};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use scopewatch::evidence::warc;
use scopewatch::extract::{ContentKind, ExtractLimits, ExtractRules, extract};
use scopewatch::fetch::Fetcher;
use scopewatch::fetch::HttpSettings;
use scopewatch::fetch::portal::{
    DocumentGuid, NewVersion, PortalApi, PortalClient, PortalOutcome, document_in,
};
use scopewatch::hash::Digest;
use serde_json::Value;

const GUID: &str = "7adf2d9e-d7b5-4e71-bad8-713e6a183cf3";
const DOCUMENT_PAGE: &str =
    "https://servicetrust.microsoft.com/DocumentPage/7adf2d9e-d7b5-4e71-bad8-713e6a183cf3";
const PDF: &[u8] = include_bytes!("../fixtures/statement.pdf");
/// The statement's next version: Intune left the scope.
const PDF_V2: &[u8] = include_bytes!("../fixtures/statement-v2.pdf");

/// A resolver for tests that must never look a name up.
struct LoopbackDns;

impl Resolve for LoopbackDns {
    fn resolve(&self, _: Name) -> Resolving {
        let addrs: Addrs = Box::new(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))));
        Box::pin(async move { Ok(addrs) })
    }
}

fn fetcher() -> Fetcher {
    let settings = HttpSettings {
        timeout: Duration::from_secs(5),
        retries: 1,
        backoff: Duration::from_millis(10),
        backoff_max: Duration::from_millis(20),
        host_delay: Duration::ZERO,
        ..HttpSettings::default()
    };
    Fetcher::with_resolver(&settings, Arc::new(LoopbackDns)).unwrap()
}

fn metadata(id: &str, modified: &str) -> String {
    format!(
        r#"{{"id":"{id}","title":"Azure - Compliance Offerings","whenLastModified":"{modified}","whenCreated":"2019-05-20T17:10:41.44Z","documentType":"Compliance Guides","language":"en-US","fileName":"Azure-Compliance-Offerings.pdf"}}"#
    )
}

/// The portal's two calls, with the live version settable.
struct MockPortal {
    server: Server,
    live: Arc<Mutex<String>>,
    downloads: Arc<AtomicUsize>,
}

impl MockPortal {
    fn start(first: String) -> MockPortal {
        let live = Arc::new(Mutex::new(first));
        let downloads = Arc::new(AtomicUsize::new(0));
        let (live2, downloads2) = (live.clone(), downloads.clone());
        let server = Server::start(move |request| {
            let metadata_path = format!("/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{GUID}/");
            if request.path == metadata_path {
                return Reply::ok(
                    "application/json; charset=utf-8",
                    live2.lock().unwrap().clone(),
                );
            }
            if request
                .path
                .starts_with(&format!("/api/v2/downloadDocuments/{GUID}/"))
            {
                downloads2.fetch_add(1, Ordering::SeqCst);
                if request.header("accept") != Some("application/pdf") {
                    return Reply::status(406);
                }
                // The first version the tests publish is the statement;
                // any later one, its next version.
                let first = request.path.ends_with("/d8a2");
                return Reply::ok("application/pdf", if first { PDF } else { PDF_V2 });
            }
            Reply::status(404)
        });
        MockPortal {
            server,
            live,
            downloads,
        }
    }

    fn api(&self) -> PortalApi {
        PortalApi::at(self.server.url("/").parse().unwrap())
    }

    fn set_live(&self, body: String) {
        *self.live.lock().unwrap() = body;
    }
}

fn document() -> DocumentGuid {
    document_in(&DOCUMENT_PAGE.parse().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn baseline_then_nothing_then_a_new_version() {
    let portal = MockPortal::start(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    let fetcher = fetcher();
    let client = PortalClient::new(&fetcher, portal.api(), false);

    // First check: the metadata and the PDF, no event (a baseline).
    let first = client.check(&document(), None).await;
    let PortalOutcome::Downloaded { live, new_version } = &first.outcome else {
        panic!("first check: {:?}", first.outcome);
    };
    assert_eq!(new_version, &None);
    assert_eq!(live.id, "d8a2");
    assert_eq!(live.other["documentType"], "Compliance Guides");
    let pdf = first.download.as_ref().expect("the PDF was downloaded");
    assert!(
        pdf.url
            .ends_with(&format!("/api/v2/downloadDocuments/{GUID}/d8a2"))
    );
    let scopewatch::fetch::FetchOutcome::Body(body) = &pdf.outcome else {
        panic!("{:?}", pdf.outcome)
    };
    // The PDF goes down the existing extraction path.
    let extracted = extract(
        body,
        pdf.content_type.as_deref(),
        &pdf.url,
        &ExtractRules::default(),
        &ExtractLimits::default(),
    )
    .unwrap();
    assert_eq!(extracted.kind, ContentKind::Pdf);
    assert!(!extracted.text.is_empty());
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 1);

    // Unchanged metadata: no download.
    let reference = live.version();
    let second = client.check(&document(), Some(&reference)).await;
    assert!(matches!(second.outcome, PortalOutcome::Unchanged(_)));
    assert!(second.download.is_none());
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 1);

    // A new live version: downloaded, with the event's data.
    portal.set_live(metadata("e91f", "2026-11-30T09:00:00Z"));
    let third = client.check(&document(), Some(&reference)).await;
    let PortalOutcome::Downloaded { new_version, .. } = &third.outcome else {
        panic!("third check: {:?}", third.outcome);
    };
    assert_eq!(
        new_version.as_ref().unwrap(),
        &NewVersion {
            title: "Azure - Compliance Offerings".into(),
            old_id: "d8a2".into(),
            new_id: "e91f".into(),
            old_modified: "2026-08-31T18:32:10.627083Z".into(),
            new_modified: "2026-11-30T09:00:00Z".into(),
        }
    );
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 2);
    assert_eq!(
        portal.server.hits(&format!(
            "/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{GUID}/"
        )),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_metadata_is_a_clear_failure_without_a_download() {
    let portal = MockPortal::start(r#"{"title":"Azure - Compliance Offerings"}"#.to_string());
    let fetcher = fetcher();
    let client = PortalClient::new(&fetcher, portal.api(), false);
    let check = client.check(&document(), None).await;
    let PortalOutcome::Failed { class, message } = &check.outcome else {
        panic!("{:?}", check.outcome)
    };
    assert_eq!(class, "invalid-metadata");
    assert!(message.contains("`id`"), "{message}");
    portal.set_live("<html><body>Service unavailable</body></html>".to_string());
    let check = client.check(&document(), None).await;
    assert!(
        matches!(&check.outcome, PortalOutcome::Failed { class, .. } if class == "invalid-metadata")
    );
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_answers_are_the_sign_in_outcome() {
    for (name, reply) in [
        ("401", (|| Reply::status(401)) as fn() -> Reply),
        ("403", || Reply::status(403)),
        ("login redirect", || {
            Reply::redirect(
                302,
                "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=stp",
            )
        }),
    ] {
        let server = Server::start(move |_| reply());
        let fetcher = fetcher();
        let api = PortalApi::at(server.url("/").parse().unwrap());
        let check = PortalClient::new(&fetcher, api, false)
            .check(&document(), None)
            .await;
        let PortalOutcome::SignIn(message) = &check.outcome else {
            panic!("{name}: {:?}", check.outcome)
        };
        assert!(message.contains("signed-in"), "{name}: {message}");
        assert!(name != "login redirect" || message.contains("login.microsoftonline.com"));
        assert_eq!(server.requests().len(), 1, "{name}: not retried");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_that_is_not_a_pdf_fails_and_names_its_type() {
    let server = Server::start(|request| {
        if request.path.contains("GetLiveDocument") {
            Reply::ok("application/json", metadata("d8a2", "2026-08-31"))
        } else {
            Reply::html("<html><body>Something went wrong</body></html>")
        }
    });
    let fetcher = fetcher();
    let api = PortalApi::at(server.url("/").parse().unwrap());
    let check = PortalClient::new(&fetcher, api, false)
        .check(&document(), None)
        .await;
    let PortalOutcome::Failed { class, message } = &check.outcome else {
        panic!("{:?}", check.outcome)
    };
    assert_eq!(class, "not-a-pdf");
    assert!(message.contains("text/html"), "{message}");
}

/// `scopewatch check --json` on `harness`: each source's outcome.
fn check(harness: &Harness) -> Vec<Value> {
    let out = scopewatch(&harness.config_path(), &["check", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn kinds(outcome: &Value) -> Vec<&str> {
    outcome["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

/// A source naming the mock's document by its API address, which names the
/// mock as the API to ask.
fn portal_source(portal: &MockPortal) -> Harness {
    let url = portal
        .server
        .url(&format!("/api/v2/downloadDocuments/{GUID}"));
    Harness::new(&format!(
        "[http]\nretries = 0\n[[source]]\nid = \"stp-azure\"\nurl = \"{url}\"\nportal = \"service-trust\"\n"
    ))
}

#[test]
fn a_portal_document_through_check_downloads_only_new_versions() {
    let portal = MockPortal::start(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    let harness = portal_source(&portal);
    let metadata_path = format!("/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{GUID}/");

    // First check: the metadata, then the PDF: a baseline with its scope.
    let first = check(&harness);
    assert_eq!(first[0]["result"], "ok", "{first:?}");
    assert_eq!(first[0]["change"], "baseline");
    assert_eq!(first[0]["content_kind"], "pdf");
    assert_eq!(kinds(&first[0]), ["baseline"]);
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 1);

    // Unchanged metadata: recorded, and no download.
    let second = check(&harness);
    assert_eq!(second[0]["result"], "not-modified", "{second:?}");
    assert_eq!(kinds(&second[0]), Vec::<&str>::new());
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 1);
    assert_eq!(portal.server.hits(&metadata_path), 2);

    // A new version: downloaded, `new-version` with its data, and the
    // scope diff of the PDF (Intune left).
    portal.set_live(metadata("e91f", "2026-11-30T09:00:00Z"));
    let third = check(&harness);
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 2);
    let events = third[0]["events"].as_array().unwrap();
    let new_version = events
        .iter()
        .find(|e| e["kind"] == "new-version")
        .unwrap_or_else(|| panic!("{third:?}"));
    for (field, value) in [
        ("title", "Azure - Compliance Offerings"),
        ("old_id", "d8a2"),
        ("new_id", "e91f"),
        ("old_modified", "2026-08-31T18:32:10.627083Z"),
        ("new_modified", "2026-11-30T09:00:00Z"),
    ] {
        assert_eq!(new_version[field], value, "{field}: {new_version}");
    }
    let scope = events
        .iter()
        .find(|e| e["kind"] == "scope")
        .unwrap_or_else(|| panic!("{third:?}"));
    assert!(scope["removed"].to_string().contains("Intune"), "{scope}");
    assert!(kinds(&third[0]).contains(&"content"), "{third:?}");
    // Each version has its own download URL: the document did not move.
    assert!(!kinds(&third[0]).contains(&"moved"), "{third:?}");

    // Each record names its metadata call, whose body is kept and whose
    // details are under the record's hash.
    let store = harness.store();
    let records = store.all_records().unwrap();
    assert_eq!(records.len(), 3);
    for (row, _) in &records {
        let details: Value = serde_json::from_str(row.fetch_details.as_deref().unwrap()).unwrap();
        let metadata = &details["portal"]["metadata"];
        assert!(metadata["url"].as_str().unwrap().ends_with(&metadata_path));
        let body = store
            .blob(
                &scopewatch::hash::Digest::from_hex(metadata["raw_hash"].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap();
        let live: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(live["documentType"], "Compliance Guides");
        assert_eq!(details["portal"]["live"]["id"], live["id"]);
    }
    assert_eq!(store.verify_chain().unwrap(), []);
    let out = scopewatch(&harness.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));

    // A metadata body altered in the database is named by `verify`.
    let details = records[1].0.fetch_details.clone().unwrap();
    let hash = serde_json::from_str::<Value>(&details).unwrap()["portal"]["metadata"]["raw_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let conn = rusqlite::Connection::open(harness.db_path()).unwrap();
    crate::common::flip_blob_byte(&conn, &hash);
    let out = scopewatch(&harness.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("the blob named by the portal metadata's raw_hash"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_broken_answer_keeps_the_version_last_downloaded() {
    let portal = MockPortal::start(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    let harness = portal_source(&portal);
    assert_eq!(check(&harness)[0]["change"], "baseline");
    portal.set_live("<html><body>Service unavailable</body></html>".to_string());
    let broken = check(&harness);
    assert_eq!(broken[0]["result"], "failed");
    let error = broken[0]["error"].as_str().unwrap();
    assert!(error.starts_with("invalid-metadata: "), "{error}");
    portal.set_live(r#"{"id":"d8a2"}"#.to_string());
    let error = check(&harness)[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("`whenLastModified`"), "{error}");
    // The version downloaded before is still the reference: no download.
    portal.set_live(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    assert_eq!(check(&harness)[0]["result"], "not-modified");
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 1);
}

#[test]
fn a_document_behind_sign_in_is_recorded_as_such_through_check() {
    let server = Server::start(|_| Reply::status(403));
    let url = server.url(&format!("/api/v2/downloadDocuments/{GUID}"));
    let harness = Harness::new(&format!(
        "[[source]]\nid = \"stp-private\"\nurl = \"{url}\"\nportal = \"service-trust\"\n"
    ));
    let outcome = &check(&harness)[0];
    assert_eq!(outcome["result"], "failed");
    let error = outcome["error"].as_str().unwrap();
    assert!(error.starts_with("sign-in: "), "{error}");
    assert!(error.contains("signed-in customers"), "{error}");
    assert_eq!(server.requests().len(), 1, "not retried");
}

/// The bundle of a portal source checked three times (a baseline, an
/// unchanged version, a new version): every metadata call is a capture of
/// its own beside the two downloads, the bundle verifies, and a metadata
/// body altered (digests redone, sums signed again) or removed is named.
#[test]
fn a_bundle_holds_each_metadata_call_as_a_capture_and_names_it_altered() {
    let portal = MockPortal::start(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    let harness = portal_source(&portal);
    let metadata_path = format!("/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{GUID}/");
    assert_eq!(check(&harness)[0]["change"], "baseline");
    assert_eq!(check(&harness)[0]["result"], "not-modified");
    portal.set_live(metadata("e91f", "2026-11-30T09:00:00Z"));
    assert_eq!(check(&harness)[0]["result"], "ok");
    assert_eq!(portal.downloads.load(Ordering::SeqCst), 2);
    let bundle = export(&harness, "bundle", &["--format", "wacz"]);

    let store = harness.store();
    let blob = |hex: &str| store.blob(&Digest::from_hex(hex).unwrap()).unwrap();
    let warc_path = bundle.join("archive/stp-azure.warc.gz");
    let records = warc_records(&warc_path);
    let responses_of = |suffix: &str| -> Vec<&warc::WarcRecord> {
        records
            .iter()
            .filter(|r| r.header("WARC-Type") == Some("response"))
            .filter(|r| r.header("WARC-Target-URI").unwrap().contains(suffix))
            .collect()
    };
    // One metadata response per attempt, the unchanged one's too, each the
    // body its record's fetch_details names; one PDF response per download.
    let metadata_responses = responses_of(&metadata_path);
    assert_eq!(metadata_responses.len(), 3, "{records:#?}");
    let pdf_responses = responses_of("/api/v2/downloadDocuments/");
    assert_eq!(pdf_responses.len(), 2);
    for (response, pdf) in pdf_responses.iter().zip([PDF, PDF_V2]) {
        assert_eq!(warc::http_payload(&response.block), pdf);
    }
    let metas: Vec<Value> = records
        .iter()
        .filter(|r| r.header("WARC-Type") == Some("metadata"))
        .map(|r| serde_json::from_slice(&r.block).unwrap())
        .collect();
    assert_eq!(metas.len(), 3);
    let rows = store.all_records().unwrap();
    let mut live_ids = Vec::new();
    for ((row, _), (response, meta)) in rows.iter().zip(metadata_responses.iter().zip(&metas)) {
        let call = row.portal_call().unwrap();
        let raw_hash = call.metadata.raw_hash.as_deref().unwrap();
        let payload = warc::http_payload(&response.block);
        assert_eq!(payload, blob(raw_hash));
        assert_eq!(
            response.header("WARC-Payload-Digest").unwrap(),
            format!("sha256:{raw_hash}")
        );
        assert!(String::from_utf8_lossy(&response.block).starts_with("HTTP/1.1 200 OK\r\n"));
        assert_eq!(meta["record_id"], row.id);
        assert_eq!(
            meta["portal_metadata_response"].as_str(),
            response.header("WARC-Record-ID")
        );
        live_ids.push(meta["fetch_details"]["portal"]["live"]["id"].clone());
        // The download, when there was one, is the record's own body.
        if let Some(raw) = &row.raw_hash {
            assert!(
                pdf_responses
                    .iter()
                    .any(|r| warc::http_payload(&r.block) == blob(raw))
            );
        }
    }
    assert_eq!(live_ids, ["d8a2", "d8a2", "e91f"]);
    // Each metadata record is concurrent to its metadata call's response.
    for (record, meta) in records
        .iter()
        .filter(|r| r.header("WARC-Type") == Some("metadata"))
        .zip(&metas)
    {
        assert!(
            record
                .headers
                .iter()
                .any(|(name, value)| name == "WARC-Concurrent-To"
                    && Some(value.as_str()) == meta["portal_metadata_response"].as_str())
        );
    }

    // The WACZ index lists the metadata calls beside the downloads; its
    // page is titled as the metadata names the document.
    let wacz = std::fs::read(bundle.join("archive.wacz")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wacz)).unwrap();
    let mut index = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("indexes/index.cdx").unwrap(), &mut index)
        .unwrap();
    assert_eq!(
        index
            .matches("getlivedocumentincludingoldseriesdoc")
            .count(),
        3,
        "{index}"
    );
    assert_eq!(index.matches("downloaddocuments").count(), 2, "{index}");
    let mut pages = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("pages/pages.jsonl").unwrap(), &mut pages)
        .unwrap();
    assert!(
        pages.contains("\"title\":\"Azure - Compliance Offerings\""),
        "{pages}"
    );

    // The auditor's report names each version of the document.
    let report = std::fs::read_to_string(bundle.join("report.html")).unwrap();
    assert!(report.contains("Portal documents"), "{report}");
    for version in [
        "d8a2",
        "e91f",
        "2026-11-30T09:00:00Z",
        "Azure - Compliance Offerings",
    ] {
        assert!(report.contains(version), "{version}");
    }

    let (code, findings) = verify_bundle(&harness, &bundle, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 0, "{out}");
    }

    // The unchanged attempt's metadata body altered (a new title), with
    // the WARC digests redone and SHA256SUMS signed again.
    let altered = bundle.with_file_name("altered");
    copy_dir(&bundle, &altered);
    let target = metadata_responses[1]
        .header("WARC-Record-ID")
        .unwrap()
        .to_string();
    let forged = forge_warc(&altered.join("archive/stp-azure.warc.gz"), |record| {
        if record.header("WARC-Record-ID") != Some(target.as_str()) {
            return false;
        }
        let text = String::from_utf8(record.block.clone()).unwrap();
        record.block = text
            .replace(
                "Azure - Compliance Offerings",
                "Azure - Offerings Withdrawn",
            )
            .into_bytes();
        true
    });
    assert_eq!(forged, 1);
    std::fs::remove_file(altered.join("archive.wacz")).unwrap();
    resign(&harness, &altered);
    named_by_verify(
        &harness,
        &altered,
        &[
            "archive/stp-azure.warc.gz",
            "the portal's metadata response payload is not the body the record hashed",
        ],
    );

    // The metadata response removed altogether.
    let removed = bundle.with_file_name("removed");
    copy_dir(&bundle, &removed);
    let path = removed.join("archive/stp-azure.warc.gz");
    let kept: Vec<u8> = warc_records(&path)
        .into_iter()
        .filter(|record| record.header("WARC-Record-ID") != Some(target.as_str()))
        .flat_map(|record| record.to_gzip().unwrap())
        .collect();
    std::fs::write(&path, kept).unwrap();
    std::fs::remove_file(removed.join("archive.wacz")).unwrap();
    resign(&harness, &removed);
    named_by_verify(
        &harness,
        &removed,
        &["the portal's metadata response", "is not in the archive"],
    );
    if let Some((code, out)) = run_script(&removed) {
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("is missing from archive/stp-azure.warc.gz"),
            "{out}"
        );
    }
}

/// The records of a WARC file, none damaged.
fn warc_records(path: &std::path::Path) -> Vec<warc::WarcRecord> {
    warc::read_all(&std::fs::read(path).unwrap())
        .into_iter()
        .map(|read| match read {
            warc::ReadRecord::Ok { record, .. } => record,
            damaged => panic!("{damaged:?}"),
        })
        .collect()
}

/// Asserts that `verify BUNDLE` fails with a finding holding all of `words`.
fn named_by_verify(harness: &Harness, bundle: &std::path::Path, words: &[&str]) {
    let (code, findings) = verify_bundle(harness, bundle, &[]);
    assert_eq!(code, 1, "{findings:#?}");
    assert!(
        findings.iter().any(|f| words.iter().all(|w| f.contains(w))),
        "no finding with {words:?} in {findings:#?}"
    );
}

/// A portal source whose metadata call answers `metadata_reply` and whose
/// download answers `download_reply`, checked once and exported; the
/// harness, the server (kept alive) and the bundle.
fn exported_attempt(
    metadata_reply: fn() -> Reply,
    download_reply: fn() -> Reply,
) -> (Harness, Server, std::path::PathBuf) {
    let server = Server::start(move |request| {
        if request.path.contains("GetLiveDocument") {
            metadata_reply()
        } else {
            download_reply()
        }
    });
    let url = server.url(&format!("/api/v2/downloadDocuments/{GUID}"));
    let harness = Harness::new(&format!(
        "[http]\nretries = 0\n[[source]]\nid = \"stp\"\nurl = \"{url}\"\nportal = \"service-trust\"\n"
    ));
    assert_eq!(check(&harness)[0]["result"], "failed");
    let bundle = export(&harness, "bundle", &[]);
    let (code, findings) = verify_bundle(&harness, &bundle, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    if let Some((code, out)) = run_script(&bundle) {
        assert_eq!(code, 0, "{out}");
    }
    (harness, server, bundle)
}

/// A copy of `bundle` named `name` whose WARC file `rewrite` replaced
/// (given its records), with the WACZ left out and the sums signed again.
fn rewritten(
    harness: &Harness,
    bundle: &std::path::Path,
    name: &str,
    rewrite: impl FnOnce(Vec<warc::WarcRecord>) -> Vec<warc::WarcRecord>,
) -> std::path::PathBuf {
    let copy = bundle.with_file_name(name);
    copy_dir(bundle, &copy);
    let path = copy.join("archive/stp.warc.gz");
    let records = rewrite(warc_records(&path));
    let bytes: Vec<u8> = records.iter().flat_map(|r| r.to_gzip().unwrap()).collect();
    std::fs::write(&path, bytes).unwrap();
    let _ = std::fs::remove_file(copy.join("archive.wacz"));
    resign(harness, &copy);
    copy
}

fn id_of(record: &warc::WarcRecord) -> String {
    record.header("WARC-Record-ID").unwrap().to_string()
}

/// A download that was not a PDF keeps its body but extracts nothing: its
/// response, removed with the header naming it, or replaced with the
/// headers swapped, is still named, by verify and by the script; a record
/// repeated or added is named too.
#[test]
fn a_failed_download_cannot_be_dropped_or_replaced_unnoticed() {
    let (harness, _server, bundle) = exported_attempt(
        || Reply::ok("application/json", metadata("d8a2", "2026-08-31")),
        || Reply::html("<html><body>Something went wrong</body></html>"),
    );
    let records = warc_records(&bundle.join("archive/stp.warc.gz"));
    let download = records
        .iter()
        .find(|r| {
            r.header("WARC-Type") == Some("response")
                && r.header("WARC-Target-URI")
                    .unwrap()
                    .contains("downloadDocuments")
        })
        .map(id_of)
        .unwrap_or_else(|| panic!("{records:#?}"));

    // The download's response and the header naming it, both removed.
    let dropped = rewritten(&harness, &bundle, "dropped", |records| {
        records
            .into_iter()
            .filter(|r| id_of(r) != download)
            .map(|mut r| {
                r.headers.retain(|(_, value)| *value != download);
                r
            })
            .collect()
    });
    named_by_verify(
        &harness,
        &dropped,
        &[
            "WARC-Concurrent-To",
            "a record was removed, added or swapped",
        ],
    );
    named_by_verify(&harness, &dropped, &["response record", "it was removed"]);
    if let Some((code, out)) = run_script(&dropped) {
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("a record was removed, added or swapped"),
            "{out}"
        );
    }

    // The headers swapped (the metadata call's response first) and the
    // download's body replaced, its digests redone.
    let swapped = rewritten(&harness, &bundle, "swapped", |records| {
        records
            .into_iter()
            .map(|mut r| {
                if r.header("WARC-Type") == Some("metadata") {
                    let (mut concurrent, rest): (Vec<_>, Vec<_>) = r
                        .headers
                        .into_iter()
                        .partition(|(name, _)| name == "WARC-Concurrent-To");
                    concurrent.reverse();
                    r.headers = rest;
                    r.headers.extend(concurrent);
                }
                if id_of(&r) == download {
                    let text = String::from_utf8(r.block.clone()).unwrap();
                    r.block = text.replace("went wrong", "went right").into_bytes();
                    redo_digests(&mut r);
                }
                r
            })
            .collect()
    });
    named_by_verify(
        &harness,
        &swapped,
        &[
            "WARC-Concurrent-To",
            "a record was removed, added or swapped",
        ],
    );
    named_by_verify(
        &harness,
        &swapped,
        &["the response payload is not the body the record hashed"],
    );
    if let Some((code, out)) = run_script(&swapped) {
        assert_eq!(code, 1, "{out}");
    }

    // A record repeated, and a response no capture derives.
    let repeated = rewritten(&harness, &bundle, "repeated", |mut records| {
        let copy = records
            .iter()
            .find(|r| id_of(r) == download)
            .unwrap()
            .clone();
        let mut stranger = copy.clone();
        for (name, value) in &mut stranger.headers {
            if name == "WARC-Record-ID" {
                *value = "<urn:uuid:00000000-0000-8000-a000-000000000000>".into();
            }
        }
        records.insert(1, copy);
        records.insert(1, stranger);
        records
    });
    named_by_verify(
        &harness,
        &repeated,
        &[&format!("a second WARC record has the id {download}")],
    );
    named_by_verify(
        &harness,
        &repeated,
        &[
            "<urn:uuid:00000000-0000-8000-a000-000000000000>",
            "belongs to no capture of the bundle",
        ],
    );
}

/// A metadata call answered 403 holds no body: its exported response
/// (status line, headers, empty body) replaced by a 200 with the
/// document's JSON is named, and so is a response added to a call that
/// got none.
#[test]
fn a_bodiless_metadata_call_is_checked_as_recorded() {
    let (harness, _server, bundle) = exported_attempt(|| Reply::status(403), || Reply::status(500));
    let records = warc_records(&bundle.join("archive/stp.warc.gz"));
    let call = records
        .iter()
        .find(|r| r.header("WARC-Type") == Some("response"))
        .map(id_of)
        .unwrap_or_else(|| panic!("{records:#?}"));
    let forged = rewritten(&harness, &bundle, "forged", |records| {
        records
            .into_iter()
            .map(|mut r| {
                if id_of(&r) == call {
                    let body = metadata("d8a2", "2026-08-31");
                    r.block = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes();
                    redo_digests(&mut r);
                }
                r
            })
            .collect()
    });
    named_by_verify(
        &harness,
        &forged,
        &[
            "the portal's metadata response",
            "is not the call the record states",
        ],
    );
}

/// `[retention]` never empties a portal metadata body, though another
/// record whose body has the same bytes (a plain source watching the
/// metadata call's URL) gets old: the metadata call is evidence of its
/// attempt, checked by verify and in the bundle against the hash its
/// record states.
#[test]
fn retention_keeps_the_portal_metadata_bodies() {
    let portal = MockPortal::start(metadata("d8a2", "2026-08-31T18:32:10.627083Z"));
    let document = portal
        .server
        .url(&format!("/api/v2/downloadDocuments/{GUID}"));
    let plain = portal.server.url(&format!(
        "/api/v2/GetLiveDocumentIncludingOldSeriesDoc/{GUID}/"
    ));
    let harness = Harness::new(&format!(
        "[http]\nretries = 0\n[retention]\nraw_bodies = \"1ms\"\n\
         [[source]]\nid = \"stp-azure\"\nurl = \"{document}\"\nportal = \"service-trust\"\n\
         [[source]]\nid = \"plain\"\nurl = \"{plain}\"\n"
    ));
    check(&harness);
    let store = harness.store();
    let rows = store.all_records().unwrap();
    let portal_row = &rows
        .iter()
        .find(|(r, _)| r.source == "stp-azure")
        .unwrap()
        .0;
    let raw_hash = portal_row.portal_call().unwrap().metadata.raw_hash.unwrap();
    let plain_row = &rows.iter().find(|(r, _)| r.source == "plain").unwrap().0;
    assert_eq!(plain_row.raw_hash.as_deref(), Some(raw_hash.as_str()));
    // The plain source moves on, so its first body is prunable.
    portal.set_live(metadata("e91f", "2026-11-30T09:00:00Z"));
    check(&harness);
    check(&harness);

    let conn = rusqlite::Connection::open(harness.db_path()).unwrap();
    let pruned: Option<String> = conn
        .query_row(
            "SELECT pruned_at FROM blobs WHERE hash = ?1",
            [&raw_hash],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pruned, None);
    let out = scopewatch(&harness.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let bundle = export(&harness, "bundle", &[]);
    let (code, findings) = verify_bundle(&harness, &bundle, &[]);
    assert_eq!(code, 0, "{findings:#?}");
}
