//! Followed pages of a parent whose links change on every fetch: at most
//! `follow.max` are active at a time, a page no longer linked is retired
//! after three fetches of its parent (its history kept, no longer fetched,
//! listed as `retired`), and one linked again is followed again.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, json, scopewatch};

#[tokio::test(flavor = "multi_thread")]
async fn links_that_change_on_every_fetch_do_not_pile_up() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&fetches);
    // Fetch n links to /stable and to five pages seen in no other fetch.
    let server = Server::start(move |req| match req.path.as_str() {
        "/hub" => {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let links: String = (0..5)
                .map(|i| format!(r#"<a href="/p/{n}-{i}">page</a> "#))
                .collect();
            Reply::html(format!(
                r#"<main><a href="/stable">stable</a> {links}</main>"#
            ))
        }
        path => Reply::html(format!("<main><p>page {path}</p></main>")),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"hub\"\nurl = \"{}\"\nallow_private = true\nfollow = {{ max = 3 }}\n",
        server.url("/hub")
    ));
    let followed = |h: &Harness| -> Vec<(String, String)> {
        h.store()
            .source_summaries()
            .unwrap()
            .into_iter()
            .filter(|s| s.parent.is_some())
            .map(|s| (s.url, s.state))
            .collect()
    };
    for sweep in 0..9 {
        h.sweep().await;
        let active = followed(&h)
            .iter()
            .filter(|(_, state)| state != "retired")
            .count();
        assert!(
            active <= 3,
            "sweep {sweep}: {active} active: {:?}",
            followed(&h)
        );
        assert_eq!(server.hits("/stable"), sweep + 1, "the stable link is kept");
    }
    // Without the cap, 9 fetches × 3 new pages; with it, two new pages a
    // time once the last two retire, every three fetches.
    let all = followed(&h);
    assert!(
        all.len() <= 1 + 2 * 3,
        "{} followed pages: {all:?}",
        all.len()
    );
    let retired: Vec<&String> = all
        .iter()
        .filter(|(_, state)| state == "retired")
        .map(|(url, _)| url)
        .collect();
    assert!(!retired.is_empty(), "{all:?}");

    // Retired pages keep their history and are not fetched again.
    let hits_before: Vec<usize> = retired
        .iter()
        .map(|url| server.hits(url.trim_start_matches(&server.url(""))))
        .collect();
    h.sweep().await;
    for (url, before) in retired.iter().zip(hits_before) {
        let path = url.trim_start_matches(&server.url(""));
        assert_eq!(server.hits(path), before, "{url} was fetched again");
        assert_eq!(before, 1);
    }
    let listed = scopewatch(&h.config_path(), &["sources", "--json"]);
    let listed = json(&listed);
    for url in &retired {
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["url"] == url.as_str())
            .unwrap();
        assert_eq!(row["state"], "retired");
        assert_eq!(row["snapshots"], 1, "its history is kept");
    }
}
