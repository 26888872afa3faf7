//! Credentials and headers in the configuration: a source URL with
//! `user:password@` is refused; a secret header (`headers` with a
//! `secret_file`) is sent to its own origin only and stored redacted, in
//! the database, the WARC records and the export alike; header names and
//! values that cannot be sent are refused by `config check`, for sources
//! and webhooks, instead of failing every request later.

use crate::common;

use std::io::Read;
use std::path::Path;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, output_text, scopewatch};

const TOKEN: &str = "Bearer s3cret-token-4711";

fn config_check(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopewatch.toml");
    std::fs::write(&path, text).unwrap();
    let out = scopewatch(&path, &["config", "check"]);
    (out.status.code(), output_text(&out))
}

#[test]
fn credentials_in_a_source_url_are_refused_and_never_echoed() {
    for url in [
        "https://auditor:hunter2-pw@trust.example/page",
        "http://auditor@127.0.0.1:9/page",
    ] {
        let (code, out) = config_check(&format!("[[source]]\nid = \"a\"\nurl = \"{url}\"\n"));
        assert_eq!(code, Some(2), "{url}: {out}");
        assert!(out.contains("source[0].url"), "{out}");
        assert!(out.contains("carries credentials"), "{out}");
        assert!(
            out.contains("headers = { Authorization = { secret_file"),
            "{out}"
        );
        assert!(!out.contains("hunter2"), "the password is echoed: {out}");
    }
}

#[test]
fn headers_that_cannot_be_sent_are_refused_by_config_check() {
    // A webhook header with a line break: every send failed later with
    // "builder error".
    let (code, out) = config_check(
        "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\n\
         [[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\n\
         headers = { X-Team = \"grc\\r\\nX-Injected: 1\" }\n",
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("alert[0].headers"), "{out}");
    assert!(out.contains("line break"), "{out}");

    for (header, expected) in [
        (r#"{ "X-Team" = "grc\nX-Injected: 1" }"#, "line break"),
        (r#"{ "X-Team" = "a\u0000b" }"#, "another control character"),
        (r#"{ "Bad Name" = "x" }"#, "not a valid header name"),
        (r#"{ Host = "evil.example" }"#, "cannot be set here"),
        (r#"{ Accept-Encoding = "zstd" }"#, "cannot be set here"),
        (r#"{ Authorization = 42 }"#, "secret_file"),
        (
            r#"{ Authorization = { secret_file = "/nonexistent/token" } }"#,
            "cannot read the secret file",
        ),
    ] {
        let (code, out) = config_check(&format!(
            "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\nheaders = {header}\n"
        ));
        assert_eq!(code, Some(2), "{header}: {out}");
        assert!(out.contains("source[0].headers"), "{header}: {out}");
        assert!(out.contains(expected), "{header}: {out}");
    }
}

/// Every file under `dir`, gzip members decoded.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "gz") {
            let mut decoded = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut decoded)
                .unwrap();
            bytes = decoded;
        }
        files.push((path.display().to_string(), bytes));
    }
    files
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn a_secret_header_goes_to_its_origin_only_and_is_stored_redacted() {
    let elsewhere = Server::start(|_| Reply::html("<main><p>ISO 27001 elsewhere</p></main>"));
    let moved_to = elsewhere.url("/landing");
    let site = Server::start(move |req| match req.path.as_str() {
        "/moved" => Reply::redirect(302, &moved_to),
        _ if req.header("authorization") == Some(TOKEN) => {
            Reply::html("<main><p>ISO 27001: in scope</p></main>")
        }
        _ => Reply::status(401),
    });
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("portal.auth");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // `allow_private`: the redirect goes to another port of 127.0.0.1.
    let headers = format!(
        "allow_private = true\nheaders = {{ Authorization = {{ secret_file = \"{}\" }}, Accept-Language = \"en-US\", X-Api-Key = \"inline-k3y-0815\" }}\n",
        token_file.display()
    );
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"portal\"\nurl = \"{}\"\n{headers}\
         [[source]]\nid = \"moved\"\nurl = \"{}\"\n{headers}",
        site.url("/page"),
        site.url("/moved"),
    ));
    for _ in 0..2 {
        let out = scopewatch(&h.config_path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    }
    let page = site
        .requests()
        .into_iter()
        .find(|r| r.path == "/page")
        .unwrap();
    assert_eq!(page.header("authorization"), Some(TOKEN));
    assert_eq!(page.header("accept-language"), Some("en-US"));
    // The redirect leaves the origin: the credential stays behind.
    let landing = elsewhere.requests();
    assert_eq!(landing.len(), 2);
    assert!(landing.iter().all(|r| r.header("authorization").is_none()));

    // The record says an Authorization header was sent, not what it was.
    let records = h.store().all_records().unwrap();
    let portal = records.iter().find(|(r, _)| r.source == "portal").unwrap();
    let sent: Vec<(String, String)> = serde_json::from_str(&portal.0.request_headers).unwrap();
    assert!(
        sent.contains(&("authorization".into(), "[redacted]".into())),
        "{sent:?}"
    );
    assert!(sent.contains(&("accept-language".into(), "en-US".into())));
    // A key written inline is a credential too, by its name.
    assert_eq!(page.header("x-api-key"), Some("inline-k3y-0815"));
    assert!(
        sent.contains(&("x-api-key".into(), "[redacted]".into())),
        "{sent:?}"
    );

    let bundle = h.dir.path().join("bundle");
    let out = scopewatch(
        &h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let warc: Vec<u8> = files_under(&bundle)
        .into_iter()
        .filter(|(name, _)| name.ends_with("portal.warc.gz"))
        .flat_map(|(_, bytes)| bytes)
        .collect();
    assert!(holds(&warc, "authorization: [redacted]\r\n"));

    let mut everything = files_under(&bundle);
    everything.extend(
        ["scopewatch.db", "scopewatch.db-wal"]
            .iter()
            .map(|name| h.dir.path().join(name))
            .filter(|path| path.exists())
            .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap())),
    );
    for (name, bytes) in &everything {
        assert!(!holds(bytes, "s3cret-token-4711"), "the token is in {name}");
        assert!(
            !holds(bytes, "inline-k3y-0815"),
            "the inline key is in {name}"
        );
    }
}
