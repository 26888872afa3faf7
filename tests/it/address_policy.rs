//! The address policy against IPv6 forms that carry an IPv4 address and
//! the special-purpose ranges: a page on loopback redirects to each, and
//! every fetch is refused before any connection (`address-refused`), not
//! tried.

use crate::common;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness};

/// Each a redirect target a public-only fetch must refuse, and what it is.
const REFUSED: &[(&str, &str)] = &[
    ("[::127.0.0.1]", "IPv4-compatible loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped loopback"),
    ("[64:ff9b::7f00:1]", "NAT64 of loopback"),
    ("[64:ff9b:1::a00:1]", "local-use NAT64"),
    ("[2002:7f00:1::1]", "6to4 of loopback"),
    (
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
        "Teredo, client 127.0.0.1",
    ),
    (
        "[2001:0:a00:1:8000:63bf:eb41:7ffe]",
        "Teredo, server 10.0.0.1",
    ),
    ("[fec0::1]", "site-local"),
    ("[5f00::1]", "SRv6 SID"),
    ("192.0.0.170", "NAT64 discovery"),
    ("192.88.99.1", "6to4 relay anycast"),
];

#[tokio::test(flavor = "multi_thread")]
async fn redirects_to_embedded_and_special_addresses_are_refused_before_connecting() {
    let server = Server::start(|req| {
        let index: usize = req.path.trim_start_matches('/').parse().unwrap();
        Reply::redirect(302, &format!("http://{}:8080/page", REFUSED[index].0))
    });
    let sources: String = (0..REFUSED.len())
        .map(|i| {
            format!(
                "[[source]]\nid = \"r{i}\"\nurl = \"{}\"\n",
                server.url(&format!("/{i}"))
            )
        })
        .collect();
    let h = Harness::new(&format!("{FAST_HTTP}{sources}"));
    h.sweep().await;
    let store = h.store();
    for (i, (host, what)) in REFUSED.iter().enumerate() {
        let record = &store.history(&format!("r{i}"), 1).unwrap()[0];
        assert_eq!(
            record.error_class.as_deref(),
            Some("address-refused"),
            "{what} ({host}): {:?}",
            record.error_message
        );
        assert!(
            record
                .error_message
                .as_deref()
                .is_some_and(|m| m.contains("is not a public address")),
            "{what}: {:?}",
            record.error_message
        );
    }
}
