//! Stacked `Content-Encoding`: every layer is decoded (within the body
//! cap), in one header or several; a coding not known, too many layers, or
//! bytes that are not what the header says fail clearly (`body-encoding`),
//! and undecoded bytes are never stored as the page.

use crate::common;

use std::io::Write;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};

const PAGE: &str = "<main><h1>ISO/IEC 27001</h1><p>Azure Bot Service is in scope.</p></main>";

/// The page with enough repeated text that compression changes every
/// byte of it: a short one is stored verbatim inside the gzip member,
/// where an HTML parser finds it even in the undecoded bytes.
fn page() -> Vec<u8> {
    let filler = "<p>Scope statements are reviewed every quarter.</p>".repeat(40);
    PAGE.replace("</main>", &format!("{filler}</main>"))
        .into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        writer.write_all(bytes).unwrap();
    }
    out
}

fn encoded(body: Vec<u8>, codings: &[&str]) -> Reply {
    codings.iter().fold(Reply::html(body), |reply, coding| {
        reply.with_header("Content-Encoding", coding)
    })
}

fn reply(path: &str) -> Reply {
    let page = &page()[..];
    match path {
        "/gzip-gzip" => encoded(gzip(&gzip(page)), &["gzip, gzip"]),
        "/two-headers" => encoded(gzip(&gzip(page)), &["gzip", "gzip"]),
        "/gzip-br" => encoded(brotli(&gzip(page)), &["gzip, br"]),
        "/identity-gzip" => encoded(gzip(page), &["identity, gzip"]),
        "/listed-twice-applied-once" => encoded(gzip(page), &["gzip, gzip"]),
        "/zstd" => encoded(page.to_vec(), &["zstd"]),
        "/five-layers" => {
            let body = (0..5).fold(page.to_vec(), |body, _| gzip(&body));
            encoded(body, &["gzip, gzip, gzip, gzip, gzip"])
        }
        // 64 MiB of zeros, gzipped twice: a few hundred bytes on the wire.
        "/stacked-bomb" => encoded(gzip(&gzip(&vec![0u8; 64 << 20])), &["gzip, gzip"]),
        _ => Reply::status(404),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_layer_is_decoded_or_the_fetch_fails_clearly() {
    let server = Server::start(|req| reply(&req.path));
    let cases = [
        ("gzip-gzip", Ok(())),
        ("two-headers", Ok(())),
        ("gzip-br", Ok(())),
        ("identity-gzip", Ok(())),
        ("listed-twice-applied-once", Err("body-encoding")),
        ("zstd", Err("body-encoding")),
        ("five-layers", Err("body-encoding")),
        ("stacked-bomb", Err("body-too-large")),
    ];
    let sources: String = cases
        .iter()
        .map(|(id, _)| {
            format!(
                "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n",
                server.url(&format!("/{id}"))
            )
        })
        .collect();
    let h = Harness::new(&format!("{FAST_HTTP}max_body = \"1MiB\"\n{sources}"));
    h.sweep().await;
    let store = h.store();
    for (id, expected) in cases {
        let record = &store.history(id, 1).unwrap()[0];
        match expected {
            Ok(()) => {
                assert_eq!(record.outcome, "ok", "{id}: {:?}", record.error_message);
                // The page is stored as the page, not as the bytes received.
                assert!(
                    store.snapshot_bytes(record.id, true).unwrap() == page(),
                    "{id}: the stored body is not the decoded page"
                );
                let text =
                    String::from_utf8(store.snapshot_bytes(record.id, false).unwrap()).unwrap();
                assert!(
                    text.contains("Azure Bot Service is in scope."),
                    "{id}: {text}"
                );
            }
            Err(class) => {
                assert_eq!(
                    record.error_class.as_deref(),
                    Some(class),
                    "{id}: {:?}",
                    record.error_message
                );
            }
        }
    }
    let message = |id: &str| {
        store.history(id, 1).unwrap()[0]
            .error_message
            .clone()
            .unwrap()
    };
    assert!(message("zstd").contains("\"zstd\""), "{}", message("zstd"));
    assert!(
        message("listed-twice-applied-once").starts_with("layer 2 of 2 (gzip)"),
        "{}",
        message("listed-twice-applied-once")
    );
}
