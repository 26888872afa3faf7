//! The web view, JSON API, metrics and health checks, as a user meets
//! them: `scopewatch serve` started on 127.0.0.1 (or a Unix socket in a
//! temporary directory) against the demo's database or a harness's, and
//! asked over HTTP. The API is compared with the CLI's `--json` for the
//! same query; a stored page full of markup must render inert.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, json, scopewatch, scopewatch_command, stderr};

/// A `scopewatch serve` process, stopped when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        common::signal(&self.child, libc::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Starts `scopewatch --config config serve ARGS` and waits for the
/// address it prints once bound.
fn serve(config: &Path, args: &[&str]) -> Served {
    serve_command(scopewatch_command(config), args)
}

/// [`serve`] of a command already set up.
fn serve_command(mut command: std::process::Command, args: &[&str]) -> Served {
    let mut child = command
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_string();
    Served { child, base }
}

fn serve_loopback(config: &Path) -> Served {
    serve(config, &["--listen", "127.0.0.1:0"])
}

/// Runs the demo into `tmp`; returns its configuration file.
fn demo(tmp: &Path) -> PathBuf {
    let out = common::scopewatch_bare()
        .arg("demo")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("  scopewatch --config "))
        .expect("the demo prints its commands");
    PathBuf::from(line.split(' ').next().unwrap())
}

/// `text` as the pages escape it.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A client as scopewatch builds them (its TLS configuration; the tests
/// speak plain HTTP to loopback).
fn client(redirects: bool) -> reqwest::Client {
    let policy = if redirects {
        reqwest::redirect::Policy::default()
    } else {
        reqwest::redirect::Policy::none()
    };
    scopewatch::fetch::tls::client_builder(&Default::default())
        .unwrap()
        .redirect(policy)
        .build()
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    client(true).get(url).send().await.unwrap()
}

async fn get_text(url: &str) -> (u16, String) {
    let response = get(url).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn get_json(url: &str) -> serde_json::Value {
    let response = get(url).await;
    assert_eq!(response.status().as_u16(), 200, "{url}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{url}"
    );
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

const BOT: &str = "bot-service-compliance";

#[tokio::test]
async fn every_page_and_api_route_answers_and_the_api_equals_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    let served = serve_loopback(&config);
    let base = &served.base;
    for path in [
        "/".to_string(),
        "/style.css".into(),
        format!("/source/{BOT}"),
        format!("/source/{BOT}/at/2023-01-01"),
        format!("/source/{BOT}/diff"),
        format!("/source/{BOT}/diff?from=2021-01-01&to=2024-01-01&view=inline"),
        "/snapshot/1".into(),
        "/snapshot/1/raw".into(),
        "/scope".into(),
        "/scope?at=2021-01-01&service=bot+service".into(),
        "/scope/history?service=Azure+Bot+Service".into(),
        "/changes".into(),
        "/changes?kind=scope&severity=medium&since=2021-01-01&until=2024-01-01".into(),
        "/evidence".into(),
        "/alerts".into(),
        "/healthz".into(),
        "/metrics".into(),
        "/api/v1/openapi.json".into(),
    ] {
        let response = get(&format!("{base}{path}")).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    for (path, status) in [
        ("/source/no-such-source", 404),
        ("/source/no-such-source/at/2023-01-01", 404),
        ("/snapshot/999999", 404),
        ("/scope?at=yesterday-ish", 400),
        ("/changes?kind=contnet", 400),
        ("/api/v1/history/no-such-source", 404),
        ("/api/v1/changes?limit=0", 400),
        ("/api/v1/show/not-a-number", 400),
        ("/no-such-page", 404),
    ] {
        let response = get(&format!("{base}{path}")).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    // The demo's pages were fetched on their publication dates, years
    // ago: every one is stale, a day's fetches (three periods of the
    // default schedule) after its last.
    let sources = json(&scopewatch(&config, &["sources", "--json"]));
    for source in sources.as_array().unwrap() {
        let last = source["last_checked"].as_str().unwrap();
        let since = source["stale_since"]
            .as_str()
            .unwrap_or_else(|| panic!("{source}"));
        let hours = (chrono::DateTime::parse_from_rfc3339(since).unwrap()
            - chrono::DateTime::parse_from_rfc3339(last).unwrap())
        .num_hours();
        assert_eq!(hours, 18, "{source}");
    }
    let (_, page) = get_text(&format!("{base}/")).await;
    assert_eq!(
        page.matches(">stale</span>").count(),
        sources.as_array().unwrap().len()
    );
    let table = common::stdout(&scopewatch(&config, &["sources"]));
    assert!(table.contains("ok, stale since 20"), "{table}");
    let changes_error = get_text(&format!("{base}/api/v1/changes?kind=contnet")).await;
    assert!(
        changes_error.1.contains("did you mean `content`"),
        "{}",
        changes_error.1
    );

    // Each API route answers what the CLI's --json prints for the same query.
    let cli = |args: &[&str]| json(&scopewatch(&config, args));
    let pairs: Vec<(String, Vec<&str>)> = vec![
        ("sources".into(), vec!["sources", "--json"]),
        (format!("history/{BOT}"), vec!["history", BOT, "--json"]),
        (
            format!("history/{BOT}?limit=3"),
            vec!["history", BOT, "--limit", "3", "--json"],
        ),
        ("changes".into(), vec!["changes", "--json"]),
        (
            format!("changes?kind=scope&source={BOT}&since=2021-06-01"),
            vec![
                "changes",
                "--kind",
                "scope",
                "--source",
                BOT,
                "--since",
                "2021-06-01",
                "--json",
            ],
        ),
        (
            "changes?severity=high".into(),
            vec!["changes", "--severity", "high", "--json"],
        ),
        ("scope".into(), vec!["scope", "--json"]),
        (
            "scope?at=2021-01-01&certification=iso+27001".into(),
            vec![
                "scope",
                "--at",
                "2021-01-01",
                "--certification",
                "iso 27001",
                "--json",
            ],
        ),
        ("scope/history".into(), vec!["scope", "history", "--json"]),
        (
            "scope/history?service=Windows+365".into(),
            vec!["scope", "history", "--service", "Windows 365", "--json"],
        ),
        (format!("diff/{BOT}"), vec!["diff", BOT, "--json"]),
        (
            format!("diff/{BOT}?from=2021-01-01&to=2024-01-01&word=true"),
            vec![
                "diff",
                BOT,
                "--from",
                "2021-01-01",
                "--to",
                "2024-01-01",
                "--word",
                "--json",
            ],
        ),
        (
            format!("show/{BOT}?at=2022-06-01"),
            vec!["show", BOT, "--at", "2022-06-01", "--json"],
        ),
        ("show/3".into(), vec!["show", "3", "--json"]),
    ];
    for (path, args) in pairs {
        let api = get_json(&format!("{base}/api/v1/{path}")).await;
        assert_eq!(api, cli(&args), "/api/v1/{path} against {args:?}");
    }
    // Every route the OpenAPI document names exists, and it names them all.
    let openapi = get_json(&format!("{base}/api/v1/openapi.json")).await;
    let paths: Vec<&String> = openapi["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        [
            "/changes",
            "/diff/{source}",
            "/history/{source}",
            "/openapi.json",
            "/scope",
            "/scope/history",
            "/show/{snapshot}",
            "/sources",
        ]
    );
    // The fields each answer has are those the document requires.
    let record = get_json(&format!("{base}/api/v1/history/{BOT}?limit=1")).await;
    let schemas = &openapi["components"]["schemas"];
    for (schema, value) in [
        ("Record", &record[0]),
        (
            "Source",
            &get_json(&format!("{base}/api/v1/sources")).await[0],
        ),
        (
            "Event",
            &get_json(&format!("{base}/api/v1/changes?limit=1")).await[0],
        ),
        (
            "ScopeRow",
            &get_json(&format!("{base}/api/v1/scope")).await[0],
        ),
        (
            "Diff",
            &get_json(&format!("{base}/api/v1/diff/{BOT}")).await,
        ),
        ("Shown", &get_json(&format!("{base}/api/v1/show/1")).await),
    ] {
        for field in schemas[schema]["required"].as_array().unwrap() {
            let field = field.as_str().unwrap();
            assert!(
                value.get(field).is_some(),
                "{schema}: no {field} in {value}"
            );
        }
        for field in value.as_object().unwrap().keys() {
            assert!(
                schemas[schema]["properties"].get(field).is_some()
                    || schemas[schema]["additionalProperties"] == true,
                "{schema}: {field} is not documented"
            );
        }
    }
}

#[tokio::test]
async fn a_date_finds_the_version_of_that_day_and_diffs_name_their_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    let served = serve_loopback(&config);
    let base = &served.base;
    let history = json(&scopewatch(
        &config,
        &["history", BOT, "--limit", "500", "--json"],
    ));
    let oks: Vec<&serde_json::Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "ok")
        .collect();
    // The oldest and a middle version, by the date each was fetched.
    let first = oks.last().unwrap();
    let first_day = &first["started_at"].as_str().unwrap()[..10];
    let (status, page) = get_text(&format!("{base}/source/{BOT}/at/{first_day}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("Snapshot {}", first["id"])),
        "{page}"
    );
    let shown = scopewatch(&config, &["show", BOT, "--at", first_day]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let text = String::from_utf8_lossy(&shown.stdout);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        page.contains(&escape(first_line)),
        "the page shows the text `show --at` prints"
    );
    // The day before the first version: nothing to show.
    let (status, _) = get_text(&format!("{base}/source/{BOT}/at/2000-01-01")).await;
    assert_eq!(status, 404);
    let none = scopewatch(&config, &["show", BOT, "--at", "2000-01-01"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("no snapshot at or before"),
        "{}",
        stderr(&none)
    );

    // A diff between two dates: both dates in the header, side by side,
    // changed words marked.
    let (status, page) = get_text(&format!(
        "{base}/source/{BOT}/diff?from=2021-01-01&to=2024-01-01"
    ))
    .await;
    assert_eq!(status, 200);
    let api = get_json(&format!(
        "{base}/api/v1/diff/{BOT}?from=2021-01-01&to=2024-01-01"
    ))
    .await;
    let (from, to) = (
        api["from"]["started_at"].as_str().unwrap(),
        api["to"]["started_at"].as_str().unwrap(),
    );
    assert!(from < "2021-01-01T00:00:00.001Z" && to < "2024-01-01T00:00:00.001Z");
    assert_ne!(from, to);
    assert!(page.contains("<table class=\"diff side\">"), "{page}");
    assert!(
        page.contains(from) && page.contains(to),
        "dates in the header"
    );
    assert!(
        page.contains("<del>") && page.contains("<ins>"),
        "word-level marks"
    );
    let cli = scopewatch(
        &config,
        &["diff", BOT, "--from", "2021-01-01", "--to", "2024-01-01"],
    );
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        text.starts_with(&format!(
            "--- snapshot {} ({from}, replayed)\n",
            api["from"]["id"]
        )),
        "{text}"
    );
    let word = scopewatch(
        &config,
        &[
            "diff",
            BOT,
            "--from",
            "2021-01-01",
            "--to",
            "2024-01-01",
            "--word",
        ],
    );
    let word = String::from_utf8_lossy(&word.stdout);
    assert!(word.contains("[-") && word.contains("{+"), "{word}");
    // Snapshot ids still work, and a date and an id do not mix.
    let by_id = scopewatch(
        &config,
        &[
            "diff",
            BOT,
            &api["from"]["id"].to_string(),
            &api["to"]["id"].to_string(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&by_id.stdout), text);
    let mixed = scopewatch(
        &config,
        &[
            "diff",
            BOT,
            "3",
            "--from",
            "2021-01-01",
            "--to",
            "2024-01-01",
        ],
    );
    assert_eq!(mixed.status.code(), Some(2));
}

/// A page whose text and markup try to run script.
const HOSTILE: &str = "<html><head><title>x</title><script>fetch('/steal')</script></head><body><main>\
    <h1>Scope \"><img src=x onerror=alert(1)></h1>\
    <p>Azure Bot Service &lt;script&gt;alert(2)&lt;/script&gt; is in scope.</p>\
    <p><a href=\"javascript:alert(3)\">more</a></p></main></body></html>";

#[tokio::test]
async fn a_hostile_page_renders_inert_everywhere() {
    let changed = std::sync::atomic::AtomicBool::new(false);
    let server = Server::start(move |_| {
        if changed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Reply::html(HOSTILE)
        } else {
            Reply::html("<main><h1>Scope</h1><p>Azure Bot Service is in scope.</p></main>")
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"hostile\"\nurl = \"{}\"\ncontent = [\"main\"]\n",
        server.url("/page")
    ));
    h.sweep().await;
    h.sweep().await;
    let served = serve_loopback(&h.config_path());
    let base = &served.base;
    let history = get_json(&format!("{base}/api/v1/history/hostile")).await;
    let latest = history[0]["id"].as_i64().unwrap();
    for path in [
        format!("/snapshot/{latest}"),
        "/source/hostile/at/9999-01-01".to_string(),
        "/source/hostile".into(),
        "/source/hostile/diff".into(),
        "/source/hostile/diff?view=inline".into(),
        "/changes".into(),
        "/scope".into(),
    ] {
        let response = get(&format!("{base}{path}")).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            policy.contains("default-src 'none'") && !policy.contains("script-src"),
            "{path}: {policy}"
        );
        let page = response.text().await.unwrap();
        for live in ["<script", "<img", "href=\"javascript:"] {
            assert!(!page.contains(live), "{path}: live {live:?} in\n{page}");
        }
    }
    let snapshot = get_text(&format!("{base}/snapshot/{latest}")).await.1;
    assert!(
        snapshot.contains("&lt;script&gt;fetch("),
        "the source, escaped"
    );
    assert!(
        snapshot.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{snapshot}"
    );
    // The raw page is served as received, but sandboxed: no scripts run,
    // nothing loads.
    let raw = get(&format!("{base}/snapshot/{latest}/raw")).await;
    assert_eq!(
        raw.headers()["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    assert_eq!(raw.headers()["x-content-type-options"], "nosniff");
    assert_eq!(raw.text().await.unwrap(), HOSTILE);
}

#[test]
fn a_listen_address_off_loopback_needs_a_token() {
    let h = Harness::new("[[source]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/\"\n");
    let out = scopewatch(&h.config_path(), &["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("token_file"), "{}", stderr(&out));
    // In the configuration, `config check` says so.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopewatch.toml");
    std::fs::write(
        &config,
        "[web]\nlisten = \"0.0.0.0:8719\"\n[[source]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let out = scopewatch(&config, &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("web.listen"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_token_is_required_when_one_is_set() {
    let (h, _server) = common::history();
    let token = "correct-horse-battery-staple-1234";
    std::fs::write(h.dir.path().join("web.token"), format!("{token}\n")).unwrap();
    let mut text = std::fs::read_to_string(h.config_path()).unwrap();
    text.push_str("[web]\ntoken_file = \"web.token\"\n");
    std::fs::write(h.config_path(), text).unwrap();
    let served = serve_loopback(&h.config_path());
    let base = &served.base;
    let client = client(false);
    for path in ["/", "/api/v1/sources", "/metrics", "/source/iso"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"scopewatch\""
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains(token));
        let wrong = client
            .get(format!("{base}{path}"))
            .bearer_auth("correct-horse-battery-staple-1235")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 401, "{path}");
        let right = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(right.status().as_u16(), 200, "{path}");
    }
    // ?token= once: a cookie, and the address without the token.
    let response = client
        .get(format!("{base}/source/iso?token={token}&until=2999-01-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        "/source/iso?until=2999-01-01"
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let with_cookie = client
        .get(format!("{base}/source/iso"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status().as_u16(), 200);
    let wrong_cookie = client
        .get(format!("{base}/"))
        .header("cookie", "scopewatch_token=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_cookie.status().as_u16(), 401);
    // Health checks answer without it.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn metrics_parse_and_match_the_database() {
    let (h, _server) = common::history();
    let served = serve_loopback(&h.config_path());
    let response = get(&format!("{}/metrics", served.base)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    let samples = parse_openmetrics(&text);
    let sum = |name: &str| -> f64 {
        samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, _, v)| v)
            .sum()
    };
    let records: usize = ["iso", "flaky"]
        .iter()
        .map(|id| {
            json(&scopewatch(&h.config_path(), &["history", id, "--json"]))
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(sum("scopewatch_attempts_total"), records as f64);
    let failed = samples
        .iter()
        .find(|(n, labels, _)| {
            n == "scopewatch_attempts_total" && labels.contains("outcome=\"failed\"")
        })
        .expect("the failed attempt");
    assert_eq!(failed.2, 1.0);
    let events = json(&scopewatch(&h.config_path(), &["changes", "--json"]));
    assert_eq!(
        sum("scopewatch_events_total"),
        events.as_array().unwrap().len() as f64
    );
    // The attempts were made just now: all of them within the last day.
    assert_eq!(
        sum("scopewatch_fetch_duration_seconds_count"),
        records as f64
    );
    assert!(samples.iter().any(|(n, l, _)| n == "scopewatch_evidence_age_seconds" && l.contains("source=\"iso\"")));
    assert!(samples.iter().any(|(n, _, _)| n == "scopewatch_build_info"));
    // Fetched just now: fresh.
    assert!(
        samples
            .iter()
            .any(|(n, l, v)| n == "scopewatch_stale" && l.contains("source=\"iso\"") && *v == 0.0)
    );
    assert!(sum("scopewatch_database_bytes") > 0.0);
}

/// Samples of OpenMetrics text: (name, labels, value). Panics on a line
/// that is neither a sample nor a `#` comment, and without `# EOF` last.
fn parse_openmetrics(text: &str) -> Vec<(String, String, f64)> {
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$"#,
    )
    .unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with("# ") {
            continue;
        }
        let captures = sample
            .captures(line)
            .unwrap_or_else(|| panic!("not an OpenMetrics sample: {line:?}"));
        let value: f64 = match &captures[3] {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        samples.push((
            captures[1].to_string(),
            captures
                .get(2)
                .map_or(String::new(), |m| m.as_str().to_string()),
            value,
        ));
    }
    samples
}

#[tokio::test]
async fn readyz_needs_a_live_daemon_and_healthz_a_readable_database() {
    let (h, _server) = common::history();
    let served = serve_loopback(&h.config_path());
    let (status, body) = get_text(&format!("{}/readyz", served.base)).await;
    assert_eq!(status, 503);
    assert!(body.contains("no daemon"), "{body}");
    assert_eq!(get_text(&format!("{}/healthz", served.base)).await.0, 200);
    drop(served);

    // Inside the daemon: ready once its scheduler beats.
    let mut text = std::fs::read_to_string(h.config_path()).unwrap();
    text.push_str("[web]\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(h.config_path(), text).unwrap();
    let (mut daemon, base) = daemon_with_web(&h.config_path());
    ready(&base).await;
    let (_, body) = get_text(&format!("{base}/readyz")).await;
    assert!(body.contains("scheduler beat"), "{body}");
    common::signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
}

#[tokio::test]
async fn a_unix_socket_serves_the_same() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (h, _server) = common::history();
    let socket = h.dir.path().join("web.sock");
    let served = serve(
        &h.config_path(),
        &["--listen", &format!("unix:{}", socket.display())],
    );
    assert_eq!(served.base, format!("unix:{}", socket.display()));
    let mut stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    stream
        .write_all(b"GET /api/v1/sources HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"id\":\"flaky\""), "{answer}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

/// Debian's chromium on PATH, or `None` (the test is skipped, saying so)
/// unless `SCOPEWATCH_REQUIRE_BROWSER` is set, as CI sets it after
/// installing the browser.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SCOPEWATCH_REQUIRE_BROWSER").is_none(),
            "SCOPEWATCH_REQUIRE_BROWSER is set and no `chromium` is on PATH"
        );
        eprintln!("SKIPPED: no `chromium` on PATH (apt-get install chromium)");
    }
    found
}

/// The DOM a headless chromium builds for `url`, and what it logged.
fn browse(chromium: &Path, profile: &Path, url: &str) -> (String, String) {
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

#[test]
fn a_real_browser_draws_the_scope_matrix_and_a_side_by_side_diff() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    let served = serve_loopback(&config);
    let profile = tmp.path().join("profile");
    let (dom, log) = browse(
        &chromium,
        &profile,
        &format!("{}/scope?at=2022-01-01&service=bot+service", served.base),
    );
    assert!(dom.contains("<table class=\"matrix\">"), "{dom}");
    assert!(dom.contains(">Azure Bot Service</a></th>"), "{dom}");
    assert!(dom.contains("class=\"in\""), "a pair in scope: {dom}");
    let (diff, diff_log) = browse(
        &chromium,
        &profile,
        &format!(
            "{}/source/{BOT}/diff?from=2021-01-01&to=2024-01-01",
            served.base
        ),
    );
    assert!(diff.contains("<table class=\"diff side\">"), "{diff}");
    assert!(diff.contains("<del>") && diff.contains("<ins>"), "{diff}");
    // No console message: nothing the page's policy refused (the
    // stylesheet), no script error.
    for log in [log, diff_log] {
        let console: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Refused to"))
            .collect();
        assert!(console.is_empty(), "{console:#?}");
    }
}

/// Starts `scopewatch run` on `config` (which has a `[web] listen`) and
/// waits for the address of its web view.
fn daemon_with_web(config: &Path) -> (Child, String) {
    let mut daemon = scopewatch_command(config)
        .arg("run")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the daemon logs its web address")
            .unwrap();
        if let Some(at) = line.find("web view on ") {
            break line[at + "web view on ".len()..].trim().to_string();
        }
    };
    // The rest of the log is not read: drain it so the daemon never blocks.
    std::thread::spawn(move || lines.for_each(drop));
    (daemon, base)
}

/// Waits until the daemon's scheduler has gone round its loop once (its
/// heartbeat, written after the freshness check, makes `/readyz` 200).
async fn ready(base: &str) {
    let mut ready = (0, String::new());
    for _ in 0..300 {
        ready = get_text(&format!("{base}/readyz")).await;
        if ready.0 == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the daemon's scheduler never beat: {ready:?}");
}

#[tokio::test]
async fn the_daemon_raises_stale_once_per_source_through_the_alert_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    let alerts = tmp.path().join("stale.jsonl");
    // Freshness is judged after the start's catch-up sweep: no jitter.
    let mut text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[daemon]\n", "[daemon]\njitter = \"0s\"\n");
    text.push_str(&format!(
        "[web]\nlisten = \"127.0.0.1:0\"\n\
         [[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"{}\"\nevents = [\"stale\"]\n",
        alerts.display()
    ));
    std::fs::write(&config, text).unwrap();
    let sources = json(&scopewatch(&config, &["sources", "--json"]));
    let count = sources.as_array().unwrap().len();
    assert!(count > 1);

    // The demo's pages were last fetched years ago: its catch-up sweep (of
    // a server long gone) fails, and each source is stale after it, once.
    let (mut daemon, base) = daemon_with_web(&config);
    ready(&base).await;
    let mut delivered = Vec::new();
    for _ in 0..300 {
        delivered = std::fs::read_to_string(&alerts)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect();
        if delivered.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(delivered.len(), count, "{delivered:?}");
    assert!(
        delivered
            .iter()
            .all(|a| a["kind"] == "stale" && a["severity"] == "medium")
    );
    let api = get_json(&format!("{base}/api/v1/changes?kind=stale")).await;
    assert_eq!(api.as_array().unwrap().len(), count, "{api}");
    let (status, page) = get_text(&format!("{base}/changes?kind=stale")).await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("older than its max_age").count(),
        count,
        "{page}"
    );
    let (_, metrics) = get_text(&format!("{base}/metrics")).await;
    assert!(
        metrics.contains(&format!(
            "scopewatch_events_total{{kind=\"stale\"}} {count}"
        )),
        "{metrics}"
    );
    common::signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());

    // Once per stale spell: a second start raises none.
    let (mut daemon, base) = daemon_with_web(&config);
    ready(&base).await;
    common::signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    let stale = json(&scopewatch(
        &config,
        &["changes", "--kind", "stale", "--json"],
    ));
    assert_eq!(stale, api);
    for event in stale.as_array().unwrap() {
        assert!(event["stale_since"].is_string(), "{event}");
        assert!(event["last_good_at"].is_string(), "{event}");
    }
}

#[tokio::test]
async fn the_evidence_page_shows_the_last_verify_and_downloads_a_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    let server_tmp = tmp.path().join("server-tmp");
    std::fs::create_dir(&server_tmp).unwrap();
    let mut command = scopewatch_command(&config);
    command.env("TMPDIR", &server_tmp);
    let served = serve_command(command, &["--listen", "127.0.0.1:0"]);
    let base = &served.base;

    let (_, page) = get_text(&format!("{base}/evidence")).await;
    assert!(
        page.contains("has not been run on this database yet"),
        "{page}"
    );
    let verify = scopewatch(&config, &["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    let (_, page) = get_text(&format!("{base}/evidence")).await;
    assert!(
        page.contains("<span class=\"badge ok\">verified</span>, 0 checkpoints checked"),
        "{page}"
    );
    assert!(page.contains("an operator's note, not evidence"), "{page}");
    // A verify that cannot finish (here, its pinned key is missing) is
    // shown as such, not hidden behind the last green run.
    let missing = tmp.path().join("missing.pem");
    let failed = scopewatch(&config, &["verify", "--key", missing.to_str().unwrap()]);
    assert_ne!(failed.status.code(), Some(0));
    let (_, page) = get_text(&format!("{base}/evidence")).await;
    assert!(
        page.contains("<span class=\"badge bad\">failed</span>, it could not finish"),
        "{page}"
    );
    assert!(page.contains("missing.pem"), "{page}");
    // A plain link, no form or button.
    assert!(
        page.contains("<a href=\"/evidence/bundle.zip\" download>"),
        "{page}"
    );
    assert!(
        !page.contains("<button") && !page.contains("<form"),
        "{page}"
    );

    // The demo signs no checkpoint: there is nothing to export against yet.
    let (status, text) = get_text(&format!("{base}/evidence/bundle.zip")).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("no signing key yet"), "{text}");
    // `check` (of the demo's server, long gone) signs the first checkpoint.
    scopewatch(&config, &["check"]);
    let response = get(&format!("{base}/evidence/bundle.zip")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"scopewatch-evidence-"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    // Nothing is left behind: the bundle's directory and zip are gone.
    assert_eq!(std::fs::read_dir(&server_tmp).unwrap().count(), 0);
    let unzipped = tmp.path().join("unzipped");
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .unwrap()
        .extract(&unzipped)
        .unwrap();
    let bundle = unzipped.join("scopewatch-evidence");
    let checked = scopewatch(&config, &["verify", bundle.to_str().unwrap()]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&checked),
        stderr(&checked)
    );
    assert!(
        common::stdout(&checked).contains("bundle verified"),
        "{}",
        common::stdout(&checked)
    );
}

/// Under systemd the signing key may be a credential
/// (`$CREDENTIALS_DIRECTORY/scopewatch-signing-key`), which only the
/// server's environment names: the bundle is still signed with it.
#[tokio::test]
async fn the_bundle_download_finds_a_signing_key_given_as_a_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    // `check` signs the first checkpoint with a key made beside the
    // database; it then becomes the credential.
    scopewatch(&config, &["check"]);
    let database = config.parent().unwrap().join("scopewatch.db");
    let beside = database.with_file_name("scopewatch-signing-key.pem");
    assert!(beside.exists(), "{}", beside.display());
    let credentials = tmp.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::rename(&beside, credentials.join("scopewatch-signing-key")).unwrap();
    let mut command = scopewatch_command(&config);
    command.env("CREDENTIALS_DIRECTORY", &credentials);
    let served = serve_command(command, &["--listen", "127.0.0.1:0"]);

    let response = get(&format!("{}/evidence/bundle.zip", served.base)).await;
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.unwrap();
    let unzipped = tmp.path().join("unzipped");
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .unwrap()
        .extract(&unzipped)
        .unwrap();
    let checked = scopewatch(
        &config,
        &[
            "verify",
            unzipped.join("scopewatch-evidence").to_str().unwrap(),
        ],
    );
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
}

/// Prints every sample of the metrics text on standard input as JSON
/// `[name, labels, value]`, as read by the Prometheus text parser and by
/// the strict OpenMetrics one (which also insists on `# EOF`).
const PROMETHEUS_PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as prometheus
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
text = sys.stdin.read()
def samples(parse):
    return sorted(([s.name, s.labels, float(s.value)] for f in parse(text) for s in f.samples), key=json.dumps)
print(json.dumps({"prometheus": samples(prometheus), "openmetrics": samples(openmetrics)}))
"#;

/// A Python 3 that has `prometheus_client` (Debian's
/// python3-prometheus-client is in /usr/bin's), or `None`: the test is
/// skipped, saying so, unless `SCOPEWATCH_REQUIRE_PROMETHEUS` is set, as CI
/// sets it after installing the package.
fn python_with_prometheus_client() -> Option<&'static str> {
    let found = ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import prometheus_client"])
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SCOPEWATCH_REQUIRE_PROMETHEUS").is_none(),
            "SCOPEWATCH_REQUIRE_PROMETHEUS is set and no python3 has prometheus_client"
        );
        eprintln!(
            "SKIPPED: no python3 with prometheus_client (apt-get install python3-prometheus-client)"
        );
    }
    found
}

#[tokio::test]
async fn metrics_parse_with_prometheus_client_and_match_the_database_after_a_demo() {
    let Some(python) = python_with_prometheus_client() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    // One sweep by the daemon (of the demo's server, long gone): its
    // duration and counts, and a stale event per source.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[daemon]\n", "[daemon]\njitter = \"0s\"\n")
        + "[web]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(&config, text).unwrap();
    let (mut daemon, _) = daemon_with_web(&config);
    let mut status = serde_json::Value::Null;
    for _ in 0..300 {
        status = json(&scopewatch(&config, &["status", "--json"]));
        if !status["last_sweep"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    common::signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    let last_sweep = &status["last_sweep"];
    assert!(last_sweep["duration_ms"].is_u64(), "{status}");

    // `serve` alone: everything from the database.
    let served = serve_loopback(&config);
    let metrics = get_text(&format!("{}/metrics", served.base)).await.1;
    let mut parse = std::process::Command::new(python)
        .args(["-c", PROMETHEUS_PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    parse
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = parse.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n{metrics}", stderr(&out));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let samples = parsed["openmetrics"].as_array().unwrap();
    // Both parsers read the same samples.
    assert_eq!(parsed["prometheus"], parsed["openmetrics"], "{metrics}");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        samples
            .iter()
            .filter(|s| s[0] == name)
            .filter(|s| label.is_none_or(|(k, v)| s[1][k] == v))
            .map(|s| s[2].as_f64().unwrap())
            .sum()
    };

    let sources = json(&scopewatch(&config, &["sources", "--json"]));
    let sources = sources.as_array().unwrap();
    let mut outcomes = std::collections::BTreeMap::<String, f64>::new();
    for source in sources {
        let id = source["id"].as_str().unwrap();
        let history = json(&scopewatch(
            &config,
            &["history", id, "--json", "--limit", "10000"],
        ));
        for record in history.as_array().unwrap() {
            *outcomes
                .entry(record["outcome"].as_str().unwrap().to_string())
                .or_default() += 1.0;
        }
        assert_eq!(value("scopewatch_stale", Some(("source", id))), 1.0, "{id}");
    }
    assert!(outcomes["failed"] >= sources.len() as f64, "{outcomes:?}");
    for (outcome, count) in &outcomes {
        assert_eq!(
            value("scopewatch_attempts_total", Some(("outcome", outcome))),
            *count,
            "{outcome}"
        );
    }
    let events = json(&scopewatch(&config, &["changes", "--json"]));
    let mut kinds = std::collections::BTreeMap::<String, f64>::new();
    for event in events.as_array().unwrap() {
        *kinds
            .entry(event["kind"].as_str().unwrap().to_string())
            .or_default() += 1.0;
    }
    assert_eq!(kinds["stale"], sources.len() as f64);
    for (kind, count) in &kinds {
        assert_eq!(
            value("scopewatch_events_total", Some(("kind", kind))),
            *count,
            "{kind}"
        );
    }
    assert_eq!(
        value("scopewatch_events_total", None),
        events.as_array().unwrap().len() as f64
    );
    let deliveries = json(&scopewatch(&config, &["alerts", "--json"]));
    for state in ["pending", "failed"] {
        let count = deliveries
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["state"] == state)
            .count();
        assert_eq!(
            value("scopewatch_outbox_deliveries", Some(("state", state))),
            count as f64,
            "{state}"
        );
    }
    let store =
        scopewatch::store::Store::open_reader(&config.parent().unwrap().join("scopewatch.db"))
            .unwrap();
    assert_eq!(
        value("scopewatch_ledger_entries", None),
        store.ledger_entries().unwrap() as f64
    );
    assert_eq!(
        value("scopewatch_last_sweep_duration_seconds", None),
        last_sweep["duration_ms"].as_f64().unwrap() / 1000.0
    );
    assert_eq!(
        value("scopewatch_last_sweep_sources", Some(("result", "checked"))),
        last_sweep["checked"].as_f64().unwrap()
    );
    assert_eq!(value("scopewatch_build_info", None), 1.0);
    assert!(value("scopewatch_database_bytes", None) > 0.0);
}

#[tokio::test]
async fn a_daemon_back_from_an_outage_sweeps_before_it_judges_freshness() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(tmp.path());
    // The demo's pages, last fetched years ago (longer than any max_age),
    // are served again: the daemon's catch-up sweep renews every source.
    let server =
        Server::start(|_| Reply::html("<html><body><main><p>Back again.</p></main></body></html>"));
    let text = std::fs::read_to_string(&config).unwrap();
    let demo_base = text
        .lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .and_then(|url| url.rfind('/').map(|slash| url[..=slash].to_string()))
        .expect("the demo's sources have URLs");
    let mut text = text
        .replace(&demo_base, &server.url("/"))
        .replace("[daemon]\n", "[daemon]\njitter = \"0s\"\n");
    text.push_str("[web]\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(&config, text).unwrap();
    let count = json(&scopewatch(&config, &["sources", "--json"]))
        .as_array()
        .unwrap()
        .len();

    let (mut daemon, base) = daemon_with_web(&config);
    // The heartbeat after the sweep (and its freshness check) carries the
    // sweep's duration.
    let mut metrics = String::new();
    for _ in 0..300 {
        metrics = get_text(&format!("{base}/metrics")).await.1;
        if metrics.contains("scopewatch_last_sweep_duration_seconds") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    common::signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(
        metrics.contains("scopewatch_last_sweep_duration_seconds"),
        "{metrics}"
    );
    assert!(server.requests().len() >= count, "{count} sources");
    let stale = json(&scopewatch(
        &config,
        &["changes", "--kind", "stale", "--json"],
    ));
    assert_eq!(stale, serde_json::json!([]), "{stale}");
}
