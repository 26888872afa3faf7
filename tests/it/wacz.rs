//! `scopewatch export --format wacz`: the WACZ package next to the bundle,
//! opened with the `zip` crate and checked entry by entry (datapackage
//! hashes and sizes, CDXJ offsets into the stored WARC files, pages), and
//! with `wacz validate` from py-wacz when it is available.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, scopewatch};
use scopewatch::hash::Digest;
use serde_json::Value;

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", Digest::of(bytes).to_hex())
}

/// Two sources, three sweeps: `iso` is unchanged on the second (a revisit)
/// and changes on the third; `soc` is a page with a query string.
fn exported(format: &[&str]) -> (Harness, Server, std::path::PathBuf) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Server::start(move |req| match req.path.as_str() {
        "/iso" if counter.fetch_add(1, Ordering::SeqCst) >= 2 => Reply::html(
            "<html><head><title>ISO 27001 scope</title></head><main><p>ISO 27001</p><p>Azure</p></main></html>",
        ),
        "/iso" => Reply::html(
            "<html><head><title>ISO 27001 scope</title></head><main><p>ISO 27001</p></main></html>",
        ),
        _ => Reply::html("<html><head><title>SOC 2</title></head><main><p>SOC 2</p></main></html>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"iso\"\nurl = \"{}\"\n[[source]]\nid = \"soc\"\nurl = \"{}\"\n",
        server.url("/iso"),
        server.url("/soc?b=2&a=1")
    ));
    for _ in 0..3 {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    }
    let bundle = h.dir.path().join("bundle");
    let mut args = vec!["export", "--out", bundle.to_str().unwrap()];
    args.extend_from_slice(format);
    let out = scopewatch(&h.config_path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    (h, server, bundle)
}

/// Every entry of the package: name to (bytes, stored uncompressed).
fn entries(wacz: &[u8]) -> BTreeMap<String, (Vec<u8>, bool)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wacz)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let stored = file.compression() == zip::CompressionMethod::Stored;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        out.insert(file.name().unwrap().to_string(), (bytes, stored));
    }
    out
}

/// The headers of one uncompressed WARC record, lowercased names.
fn warc_headers(record: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(record);
    let head = text.split("\r\n\r\n").next().unwrap();
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect()
}

#[test]
fn export_format_wacz_writes_a_package_whose_index_and_manifest_hold() {
    let (h, _server, bundle) = exported(&["--format", "wacz"]);
    let wacz = std::fs::read(bundle.join("archive.wacz")).unwrap();
    std::fs::write("/tmp/probe.wacz", &wacz).unwrap();
    let sums = std::fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&format!("{}  archive.wacz\n", Digest::of(&wacz).to_hex())),
        "the signed checksums cover the package: {sums}"
    );
    let out = scopewatch(&h.config_path(), &["verify", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    assert!(readme.contains("wacz validate -f archive.wacz"), "{readme}");

    let entries = entries(&wacz);
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "archive/iso.warc.gz",
            "archive/soc.warc.gz",
            "datapackage-digest.json",
            "datapackage.json",
            "indexes/index.cdx",
            "pages/pages.jsonl",
        ]
    );
    // The WARC files are the bundle's, byte for byte, and not recompressed.
    for name in ["archive/iso.warc.gz", "archive/soc.warc.gz"] {
        let (bytes, stored) = &entries[name];
        assert!(stored, "{name} is stored");
        assert_eq!(bytes, &std::fs::read(bundle.join(name)).unwrap(), "{name}");
    }

    // datapackage.json lists every other entry with its hash and size.
    let (package_bytes, _) = &entries["datapackage.json"];
    let package: Value = serde_json::from_slice(package_bytes).unwrap();
    assert_eq!(package["profile"], "data-package");
    assert_eq!(package["wacz_version"], "1.1.1");
    assert!(package["created"].as_str().unwrap().ends_with('Z'));
    assert!(
        package["software"]
            .as_str()
            .unwrap()
            .starts_with("scopewatch ")
    );
    let resources = package["resources"].as_array().unwrap();
    assert_eq!(resources.len(), entries.len() - 2);
    for resource in resources {
        let path = resource["path"].as_str().unwrap();
        let (bytes, _) = &entries[path];
        assert_eq!(resource["hash"], sha256(bytes), "{path}");
        assert_eq!(resource["bytes"], bytes.len(), "{path}");
    }
    let digest: Value = serde_json::from_slice(&entries["datapackage-digest.json"].0).unwrap();
    assert_eq!(digest["path"], "datapackage.json");
    assert_eq!(digest["hash"], sha256(package_bytes));

    // The index: sorted, one line per response and revisit, each offset
    // and length one gzip member holding that record.
    let index = String::from_utf8(entries["indexes/index.cdx"].0.clone()).unwrap();
    let lines: Vec<&str> = index.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "the index is sorted");
    // Per source: 3 attempts, each a response or a revisit.
    assert_eq!(lines.len(), 6, "{index}");
    let mut kinds = Vec::new();
    for line in &lines {
        let mut parts = line.splitn(3, ' ');
        let (key, ts, json) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let fields: Value = serde_json::from_str(json).unwrap();
        let file = format!("archive/{}", fields["filename"].as_str().unwrap());
        let archive = &entries[&file].0;
        let number = |name: &str| fields[name].as_str().unwrap().parse::<usize>().unwrap();
        let (offset, length) = (number("offset"), number("length"));
        let member = &archive[offset..offset + length];
        let mut decoder = flate2::bufread::GzDecoder::new(member);
        let mut record = Vec::new();
        decoder.read_to_end(&mut record).unwrap();
        assert!(
            decoder.into_inner().is_empty(),
            "exactly one member: {line}"
        );
        let headers = warc_headers(&record);
        let kind = headers["warc-type"].as_str();
        assert!(matches!(kind, "response" | "revisit"), "{line}");
        kinds.push(kind.to_string());
        assert_eq!(fields["url"], headers["warc-target-uri"].as_str(), "{line}");
        assert_eq!(fields["digest"], headers["warc-payload-digest"].as_str());
        assert_eq!(
            ts,
            headers["warc-date"]
                .chars()
                .filter(char::is_ascii_digit)
                .take(14)
                .collect::<String>()
        );
        assert_eq!(fields["status"], "200");
        let mime = if kind == "revisit" {
            "warc/revisit"
        } else {
            "text/html"
        };
        assert_eq!(fields["mime"], mime, "{line}");
        if file.ends_with("soc.warc.gz") {
            assert!(key.ends_with(")/soc?a=1&b=2"), "{key}");
        } else {
            assert!(
                key.starts_with("1,0,0,127:") && key.ends_with(")/iso"),
                "{key}"
            );
        }
    }
    assert!(kinds.iter().any(|k| k == "revisit"), "{kinds:?}");

    // pages.jsonl: a header, then one page per source, titled and indexed.
    let pages = String::from_utf8(entries["pages/pages.jsonl"].0.clone()).unwrap();
    let pages: Vec<Value> = pages
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pages[0]["format"], "json-pages-1.0");
    let titles: Vec<&str> = pages[1..]
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["ISO 27001 scope", "SOC 2"]);
    for page in &pages[1..] {
        let url = page["url"].as_str().unwrap();
        assert!(index.contains(&format!("\"url\":\"{url}\"")), "{url}");
        assert!(page["ts"].as_str().unwrap().ends_with('Z'), "{page}");
    }

    // py-wacz's validator, when installed.
    let validator = std::env::var("SCOPEWATCH_WACZ").unwrap_or_else(|_| "wacz".into());
    let path = bundle.join("archive.wacz");
    match Command::new(&validator)
        .args(["validate", "-f", path.to_str().unwrap()])
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "wacz validate: {}",
                common::output_text(&out)
            );
            assert!(
                common::output_text(&out).contains("the passed WACZ is valid"),
                "{}",
                common::output_text(&out)
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => eprintln!(
            "SKIPPED: wacz (py-wacz) is not available ({validator}); .ci/run installs it into a venv and sets SCOPEWATCH_WACZ"
        ),
        Err(e) => panic!("{validator}: {e}"),
    }
}

#[test]
fn the_default_format_writes_no_package() {
    let (_h, _server, bundle) = exported(&[]);
    assert!(bundle.join("SHA256SUMS").is_file());
    assert!(!bundle.join("archive.wacz").exists());
    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    assert!(!readme.contains("archive.wacz"), "{readme}");
    let (_h, _server, bundle) = exported(&["--format", "bundle"]);
    assert!(!bundle.join("archive.wacz").exists());
}
