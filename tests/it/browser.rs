//! The browser fetcher against pages served on 127.0.0.1, rendered by the
//! `chromium` on PATH (CI installs Debian's). One browser test runs at a
//! time: each starts Chromiums of its own. The proxy's resolver refuses
//! every name, so neither a page nor Chromium's own traffic looks one up.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::server::{Reply, Server};
use crate::common::{Harness, scopewatch_command};
use reqwest::dns::{Name, Resolve, Resolving};
use scopewatch::extract::{ExtractLimits, ExtractRules, extract, shell};
use scopewatch::fetch::HttpSettings;
use scopewatch::fetch::browser::{BrowserFetcher, BrowserRequest, BrowserSettings, Rendered};
use scopewatch::fetch::{ErrorClass, FetchOutcome, FetchRequest, Fetcher};
use scraper::{Html, Selector};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for the browser, or skips the test (`None`) on a machine without
/// `chromium`, saying so, unless `SCOPEWATCH_REQUIRE_BROWSER` is set (CI
/// sets it after installing Debian's chromium): then a missing browser
/// fails the test.
async fn the_browser() -> Option<tokio::sync::MutexGuard<'static, ()>> {
    let installed = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    if !installed {
        assert!(
            std::env::var_os("SCOPEWATCH_REQUIRE_BROWSER").is_none(),
            "SCOPEWATCH_REQUIRE_BROWSER is set and no `chromium` is on PATH"
        );
        eprintln!("SKIPPED: no `chromium` on PATH (apt-get install chromium)");
        return None;
    }
    Some(ONE_AT_A_TIME.lock().await)
}

/// A resolver that looks nothing up.
struct NoDns;

impl Resolve for NoDns {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move { Err(format!("no DNS in tests ({name})").into()) })
    }
}

fn browser_fetcher(settings: BrowserSettings) -> BrowserFetcher {
    BrowserFetcher::with_resolver(settings, Arc::new(NoDns))
}

fn settings(profiles: &Path, timeout: Duration) -> BrowserSettings {
    BrowserSettings {
        timeout,
        profile_root: Some(profiles.to_path_buf()),
        ..BrowserSettings::from_http(&HttpSettings::default())
    }
}

fn request(url: String) -> BrowserRequest {
    BrowserRequest {
        url: url.parse().unwrap(),
        configured: true,
        allow_private: false,
        wait_for: None,
    }
}

fn html(rendered: &Rendered) -> String {
    match &rendered.capture.outcome {
        FetchOutcome::Body(body) => String::from_utf8(body.clone()).unwrap(),
        other => panic!("not rendered: {other:?} (refused: {:?})", rendered.refused),
    }
}

fn failure(rendered: &Rendered) -> (ErrorClass, String) {
    match &rendered.capture.outcome {
        FetchOutcome::Failed { class, message } => (class.clone(), message.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The processes whose command line mentions `root` (the profiles of a
/// test live there), as `pid: command line`.
fn processes_mentioning(root: &Path) -> Vec<String> {
    let root = root.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&root) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

/// Browsers running with a profile under `root`: processes of the
/// `chromium` binary without `--type=` (renderers, GPU and utility
/// processes have one). Debian's `/usr/bin/chromium` is a shell script
/// whose subshells carry the same command line until it execs the binary:
/// they are not browsers.
fn browser_pids(root: &Path) -> Vec<i32> {
    processes_mentioning(root)
        .iter()
        .filter(|p| !p.contains("--type="))
        .filter_map(|p| p.split_once(':').unwrap().0.parse().ok())
        .filter(|pid: &i32| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "chromium"))
        })
        .collect()
}

/// Browsers running with a profile under `root`: processes of the
/// `chromium` binary whose parent is this process (what a browser forks,
/// even before it execs, has the browser as parent).
fn browsers_started(root: &Path) -> usize {
    let me = std::process::id().to_string();
    processes_mentioning(root)
        .iter()
        .filter(|process| {
            let pid = process.split_once(':').unwrap().0;
            let is_chromium = std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "chromium"));
            let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // After "(comm)": state, ppid.
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1).map(str::to_string)
                });
            is_chromium && parent.as_deref() == Some(me.as_str())
        })
        .count()
}

/// This process's children that are zombies (exited, never reaped).
fn zombie_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str()) {
            zombies.push(stat);
        }
    }
    zombies
}

/// The data [`spa`] builds its content from, and its later version.
const SCOPE: &str =
    r#"{"title":"ISO/IEC 27001 scope","services":["Azure Bot Service","Azure Cosmos DB"]}"#;
const SCOPE_LATER: &str = r#"{"title":"ISO/IEC 27001 scope","services":["Azure Bot Service","Azure Cosmos DB","Azure Maps"]}"#;

/// A single-page application: an empty root, a bundle that fetches the
/// data and builds the content from it.
fn spa(data: Arc<Mutex<&'static str>>) -> Server {
    Server::start(move |request| match request.path.as_str() {
        "/" => Reply::html(
            r#"<!doctype html><html><head><title>Contoso Trust Center</title>
<script defer src="/static/main.4f1e.js"></script></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body></html>"#,
        ),
        "/static/main.4f1e.js" => Reply::ok(
            "text/javascript",
            r#"document.getElementById('root').textContent = 'Loading…';
fetch('/api/scope.json').then(r => r.json()).then(scope => {
  const main = document.createElement('main');
  const h = document.createElement('h1');
  h.textContent = scope.title;
  main.appendChild(h);
  const ul = document.createElement('ul');
  for (const s of scope.services) { const li = document.createElement('li'); li.textContent = s; ul.appendChild(li); }
  main.appendChild(ul);
  const root = document.getElementById('root');
  root.textContent = '';
  root.appendChild(main);
});"#,
        ),
        "/api/scope.json" => Reply::ok("application/json", *data.lock().unwrap()),
        _ => Reply::status(404),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn renders_what_a_script_builds_and_its_later_change() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let data = Arc::new(Mutex::new(SCOPE));
    let server = spa(data.clone());
    let rules = ExtractRules {
        content: vec![Selector::parse("#root").unwrap()],
        ..ExtractRules::default()
    };

    // A plain fetch gets the shell, and the shell is recognised as one.
    let fetcher = Fetcher::new(&HttpSettings::default()).unwrap();
    let plain = fetcher
        .fetch(&FetchRequest {
            url: server.url("/").parse().unwrap(),
            configured: true,
            allow_private: false,
            conditional: None,
            accept: None,
            headers: Default::default(),
        })
        .await;
    let FetchOutcome::Body(shell_bytes) = &plain.outcome else {
        panic!("{:?}", plain.outcome)
    };
    let shell_html = String::from_utf8_lossy(shell_bytes);
    assert!(shell::detect(&Html::parse_document(&shell_html), "").is_some());

    let browser = browser_fetcher(settings(profiles.path(), Duration::from_secs(20)));
    // What the sweep reads of a rendered page: its normalised text.
    let text = |rendered: &Rendered| {
        extract(
            html(rendered).as_bytes(),
            Some("text/html"),
            &server.url("/"),
            &rules,
            &ExtractLimits::default(),
        )
        .unwrap()
        .text
    };
    let first = browser.fetch(&request(server.url("/"))).await;
    let first_text = text(&first);
    assert_eq!(
        first_text,
        "# ISO/IEC 27001 scope\n- Azure Bot Service\n- Azure Cosmos DB\n"
    );
    assert!(
        first
            .chromium
            .as_deref()
            .is_some_and(|v| v.starts_with("Chromium ")),
        "{:?}",
        first.chromium
    );
    assert_eq!(first.capture.status, Some(200));
    assert_eq!(
        first.capture.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );

    *data.lock().unwrap() = SCOPE_LATER;
    let second = browser.fetch(&request(server.url("/"))).await;
    let second_text = text(&second);
    assert_eq!(second_text, format!("{first_text}- Azure Maps\n"));
    assert!(processes_mentioning(profiles.path()).is_empty());
}

/// A page that polls its server forever: its network never goes idle.
fn restless() -> Server {
    Server::start(|request| match request.path.as_str() {
        "/" => Reply::html(
            r#"<html><body><main><p id="status">starting</p></main><script>
setInterval(() => fetch('/poll?' + Date.now()).catch(() => {}), 50);
setTimeout(() => { const p = document.createElement('p'); p.id = 'ready'; p.textContent = 'Scope table loaded'; document.querySelector('main').appendChild(p); }, 300);
</script></body></html>"#,
        ),
        _ => Reply::Delayed(
            Duration::from_millis(200),
            Box::new(Reply::ok("text/plain", "x")),
        ),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_never_settles_times_out() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let server = restless();
    // Long enough for Chromium to start on a busy machine: the step that
    // runs out must be the wait for the network to go idle.
    let browser = browser_fetcher(settings(profiles.path(), Duration::from_secs(10)));
    let rendered = browser.fetch(&request(server.url("/"))).await;
    let (class, message) = failure(&rendered);
    assert_eq!(class, ErrorClass::Timeout, "{message}");
    assert!(message.contains("network to go idle"), "{message}");
    assert!(processes_mentioning(profiles.path()).is_empty());
    assert_eq!(std::fs::read_dir(profiles.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_for_selector_is_content_ready() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let server = restless();
    let browser = browser_fetcher(settings(profiles.path(), Duration::from_secs(20)));
    let rendered = browser
        .fetch(&BrowserRequest {
            wait_for: Some("#ready".to_string()),
            ..request(server.url("/"))
        })
        .await;
    assert!(html(&rendered).contains("Scope table loaded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_to_private_addresses_do_not_reach_them() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    // Another loopback port stands for an internal service.
    let internal = Server::start(|_| Reply::ok("text/plain", "secret"));
    let internal_url = internal.url("");
    let page = Server::start(move |request| match request.path.as_str() {
        "/" => Reply::html(format!(
            r#"<html><body><main><p>Trust page</p><img src="{internal_url}/pixel.png">
<script src="http://169.254.169.254/latest/meta-data/"></script>
<script>
fetch('{internal_url}/api').catch(() => {{}});
fetch('http://10.0.0.1/admin').catch(() => {{}});
try {{ new WebSocket('{ws}/socket'); }} catch (e) {{}}
</script></main></body></html>"#,
            ws = internal_url.replace("http://", "ws://"),
        )),
        // Only the loopback request: a source allowing private addresses
        // would really try the others.
        "/loopback-only" => Reply::html(format!(
            r#"<html><body><main><p>Trust page</p><img src="{internal_url}/pixel.png"></main></body></html>"#
        )),
        _ => Reply::status(404),
    });
    let browser = browser_fetcher(settings(profiles.path(), Duration::from_secs(20)));
    let rendered = browser.fetch(&request(page.url("/"))).await;
    assert!(html(&rendered).contains("Trust page"));
    assert_eq!(
        internal.requests().len(),
        0,
        "the internal service was reached"
    );
    let refused = rendered.refused.join("\n");
    for address in [
        internal.addr.to_string().as_str(),
        "169.254.169.254",
        "10.0.0.1",
    ] {
        assert!(
            refused.contains(address),
            "{address} not refused:\n{refused}"
        );
    }

    // The same page from a source that allows private addresses does
    // reach it: what stopped it above was the policy.
    let allowed = browser
        .fetch(&BrowserRequest {
            allow_private: true,
            ..request(page.url("/loopback-only"))
        })
        .await;
    assert!(html(&allowed).contains("Trust page"));
    assert!(!internal.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_crash_is_one_failed_fetch() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let root = profiles.path().to_path_buf();
    let server = Server::start(move |request| match request.path.as_str() {
        "/" => Reply::html(r#"<html><body><main>x</main><img src="/slow.png"></body></html>"#),
        _ => {
            // While the page waits for this image, its browser dies.
            for pid in browser_pids(&root) {
                // SAFETY: kill(2) with a pid read from /proc and SIGKILL.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            Reply::Delayed(Duration::from_secs(5), Box::new(Reply::status(404)))
        }
    });
    let browser = browser_fetcher(settings(profiles.path(), Duration::from_secs(20)));
    let rendered = browser.fetch(&request(server.url("/"))).await;
    let (class, message) = failure(&rendered);
    assert_eq!(class, ErrorClass::BrowserCrashed, "{message}");
    assert!(processes_mentioning(profiles.path()).is_empty());
    // The next fetch has a browser of its own.
    let server = Server::start(|_| Reply::html("<html><body><main>after</main></body></html>"));
    assert!(html(&browser.fetch(&request(server.url("/"))).await).contains("after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_fetches_leave_no_process_and_run_two_at_a_time() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let server = Server::start(|_| {
        Reply::html(
            r#"<html><body><main><p>In scope</p></main><script>fetch('/ping')</script></body></html>"#,
        )
    });
    // Browsers running at once, sampled while the fetches run.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = std::thread::spawn({
        let (sampling, root) = (sampling.clone(), profiles.path().to_path_buf());
        move || {
            let mut most = 0;
            while sampling.load(Ordering::SeqCst) {
                most = most.max(browsers_started(&root));
                std::thread::sleep(Duration::from_millis(20));
            }
            most
        }
    });
    let browser = Arc::new(browser_fetcher(BrowserSettings {
        pages: 2,
        ..settings(profiles.path(), Duration::from_secs(30))
    }));
    let mut fetches = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (browser, url) = (browser.clone(), server.url("/"));
        fetches.spawn(async move { browser.fetch(&request(url)).await });
    }
    while let Some(rendered) = fetches.join_next().await {
        assert!(html(&rendered.unwrap()).contains("In scope"));
    }
    sampling.store(false, Ordering::SeqCst);
    let most = sampler.join().unwrap();
    assert!((1..=2).contains(&most), "{most} browsers at once");
    assert_eq!(processes_mentioning(profiles.path()), Vec::<String>::new());
    assert_eq!(zombie_children(), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(profiles.path()).unwrap().count(), 0);
}

/// A `fetch = "browser"` source through `scopewatch check`, as a user runs
/// it: the plain fetch would be a shell; the rendered page is recorded with
/// the Chromium that rendered it, its later change is a `content` event,
/// and no browser outlives the command.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_source_through_check() {
    let Some(_one) = the_browser().await else {
        return;
    };
    let profiles = tempfile::tempdir().unwrap();
    let data = Arc::new(Mutex::new(SCOPE));
    let server = spa(data.clone());
    let harness = Harness::new(&format!(
        "[[source]]\nid = \"contoso-trust\"\nurl = \"{}\"\nfetch = \"browser\"\nwait_for = \"#root main\"\n",
        server.url("/")
    ));
    let check = |harness: &Harness| {
        let out = scopewatch_command(&harness.config_path())
            .args(["check", "--json"])
            .env("TMPDIR", profiles.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let outcomes: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
        outcomes[0].clone()
    };
    let first = tokio::task::block_in_place(|| check(&harness));
    assert_eq!(first["result"], "ok", "{first}");
    assert_eq!(first["content_kind"], "html", "{first}");
    assert_eq!(first["events"][0]["kind"], "baseline");

    *data.lock().unwrap() = SCOPE_LATER;
    let second = tokio::task::block_in_place(|| check(&harness));
    assert_eq!(second["change"], "content", "{second}");
    let content = &second["events"][0];
    assert_eq!(content["kind"], "content");

    let store = harness.store();
    let records = store.all_records().unwrap();
    assert_eq!(records.len(), 2);
    for (row, _) in &records {
        let details: serde_json::Value =
            serde_json::from_str(row.fetch_details.as_deref().expect("browser-rendered")).unwrap();
        let chromium = details["browser"]["chromium"].as_str().unwrap_or_default();
        assert!(chromium.starts_with("Chromium "), "{details}");
        assert_eq!(
            row.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
    }
    let text = String::from_utf8(
        store
            .blob(
                &scopewatch::hash::Digest::from_hex(records[1].0.text_hash.as_deref().unwrap())
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert!(text.contains("- Azure Maps"), "{text}");
    assert_eq!(processes_mentioning(profiles.path()), Vec::<String>::new());
    // Nothing left in the command's temporary directory: no profile, and
    // no directory of Chromium's own (its singleton socket's).
    let left: Vec<_> = std::fs::read_dir(profiles.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Without `chromium` on PATH, a browser source fails saying what to
/// install, and the sweep goes on: the plain source beside it is recorded.
/// Needs no browser: PATH is a directory with none in it.
#[test]
fn without_chromium_a_browser_source_fails_and_the_rest_of_the_sweep_runs() {
    let server = Server::start(|request| match request.path.as_str() {
        "/plain" => Reply::html("<html><body><main><p>SOC 2: in scope</p></main></body></html>"),
        _ => Reply::html("<html><body><div id=\"root\"></div></body></html>"),
    });
    let harness = Harness::new(&format!(
        "[[source]]\nid = \"rendered\"\nurl = \"{}\"\nfetch = \"browser\"\n\
         [[source]]\nid = \"plain\"\nurl = \"{}\"\n",
        server.url("/rendered"),
        server.url("/plain")
    ));
    let no_chromium = tempfile::tempdir().unwrap();
    let out = scopewatch_command(&harness.config_path())
        .args(["check", "--json"])
        .env("PATH", no_chromium.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcomes: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    let outcome = |id: &str| {
        outcomes
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["source"] == id)
            .unwrap_or_else(|| panic!("no {id} in {outcomes}"))
            .clone()
    };
    let rendered = outcome("rendered");
    assert_eq!(rendered["result"], "failed", "{rendered}");
    let error = rendered["error"].as_str().unwrap();
    assert!(error.starts_with("browser-missing: "), "{error}");
    assert!(
        error.contains("install Debian's chromium package"),
        "{error}"
    );
    assert_eq!(server.hits("/rendered"), 0, "nothing fetched it instead");
    let plain = outcome("plain");
    assert_eq!(plain["result"], "ok", "{plain}");
    assert_eq!(plain["change"], "baseline", "{plain}");
}
