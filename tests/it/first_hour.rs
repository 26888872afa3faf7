//! The first hour of a new user, as they meet it: the demo and every
//! command it suggests, the listings (width, severity, filters, history,
//! column names, plurals), the errors (selectors, unknown keys, schedules,
//! fetch failures) and a JSON scope source from `check` to `scope --json`.
//! Each test runs the binary as a user would and reads its output and exit
//! code.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, json, scopewatch, scopewatch_bare, stderr, stdout};

/// `scopewatch demo` run with its temporary directory under `tmp`: its
/// output and the "look around" commands it printed, split into words.
fn demo(tmp: &Path) -> (String, Vec<Vec<String>>) {
    let out = scopewatch_bare()
        .arg("demo")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let commands = text
        .lines()
        .filter_map(|line| line.strip_prefix("  scopewatch "))
        .map(shell_words)
        .collect();
    (text, commands)
}

/// The words of a command line as a POSIX shell splits them (quotes only).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, ' ') => words.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// How the demo's commands name its database: `--config FILE` (or
/// `--db FILE`), as the first one it printed does.
fn demo_target(commands: &[Vec<String>]) -> [String; 2] {
    let words = commands.first().expect("the demo prints commands");
    let at = words
        .iter()
        .position(|w| w == "--config" || w == "--db")
        .expect("--config or --db");
    [words[at].clone(), words[at + 1].clone()]
}

/// `scopewatch` on the demo's database.
fn on_demo(target: &[String; 2], args: &[&str]) -> std::process::Output {
    scopewatch_bare().args(target).args(args).output().unwrap()
}

/// Every `YYYY-MM-DD` in `text`.
fn dates(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\b(\d{4}-\d{2}-\d{2})").unwrap();
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

#[test]
fn the_demo_counts_each_change_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, commands) = demo(tmp.path());
    let summary = text
        .lines()
        .find(|l| l.contains(" fetches: "))
        .expect("a summary line");
    let target = demo_target(&commands);
    for (kind, what) in [("content", "content change"), ("scope", "scope change")] {
        let listed = json(&on_demo(&target, &["changes", "--kind", kind, "--json"]));
        let count = listed.as_array().unwrap().len();
        assert!(
            summary.contains(&format!(" {count} {what}")),
            "{kind}: `changes` lists {count}; the demo said: {summary}"
        );
    }
}

#[test]
fn the_demo_records_the_dates_it_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, commands) = demo(tmp.path());
    let target = demo_target(&commands);
    let events = json(&on_demo(&target, &["changes", "--json"]));
    let events = events.as_array().unwrap();
    // Newest first: the last is the first page's baseline.
    assert_eq!(
        events.last().unwrap()["detected_at"],
        "2020-07-21T00:00:00.000Z"
    );
    assert!(
        events
            .iter()
            .all(|e| e["detected_at"].as_str().unwrap() <= "2024-08-02T23:59:59.999Z"),
        "every event is dated by the version it saw"
    );
    // Each record says it was made under the replayed clock.
    let records = json(&on_demo(&target, &["history", "offering-soc-2", "--json"]));
    assert!(
        records
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["clock"] == "replayed"),
        "{records}"
    );
    // What a page said on a given date.
    let at = |date: &str| {
        json(&on_demo(
            &target,
            &[
                "scope",
                "--at",
                date,
                "--service",
                "Windows 365",
                "--certification",
                "HIPAA/HITECH",
                "--json",
            ],
        ))
        .as_array()
        .unwrap()
        .len()
    };
    assert_eq!(at("2021-11-29"), 0);
    assert_eq!(at("2021-11-30"), 1, "the demo's 2021-11-30 scope change");
    let early = json(&on_demo(
        &target,
        &["scope", "--at", "2021-01-01", "--json"],
    ));
    assert!(
        early.as_array().unwrap().len() > 50,
        "the scope of 2021-01-01: {early}"
    );
}

#[test]
fn every_command_the_demo_suggests_exits_0_and_shows_the_replayed_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, commands) = demo(tmp.path());
    assert!(commands.len() >= 5, "{commands:?}");
    let target = demo_target(&commands);
    assert_eq!(
        target[0], "--config",
        "the commands name the demo's configuration"
    );
    assert!(
        Path::new(&target[1]).is_file(),
        "the configuration is written"
    );
    for words in &commands {
        let out = scopewatch_bare().args(words).output().unwrap();
        let printed = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{words:?}: {printed}");
        for date in dates(&stdout(&out)) {
            assert!(
                ("2020-07-21".."2024-08-03").contains(&date.as_str()),
                "{words:?} shows {date}, not a date of the bundled versions: {printed}"
            );
        }
    }
    let shows_dates = commands
        .iter()
        .filter(|words| {
            let out = scopewatch_bare().args(*words).output().unwrap();
            !dates(&stdout(&out)).is_empty()
        })
        .count();
    assert!(shows_dates >= 4, "{commands:?}");
}

#[test]
fn verify_on_a_new_demo_database_says_there_are_no_checkpoints_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, commands) = demo(tmp.path());
    let out = on_demo(&demo_target(&commands), &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("no signed checkpoints yet"), "{text}");
    assert!(!text.contains("signed checkpoint matches"), "{text}");
    assert!(
        text.contains("(230 captures)"),
        "the demo's configuration re-extracts every page: {text}"
    );
}

#[test]
fn the_demo_configuration_serves_the_claims_check() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, commands) = demo(tmp.path());
    let out = on_demo(&demo_target(&commands), &["scope", "--check-claims"]);
    // 1: some of the bot service's claims have no statement among the demo's pages.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("supported by a statement"),
        "{}",
        stdout(&out)
    );
}

/// A page listing services in scope of SOC 2; `services` is a list of
/// `<li>` items, the heading makes `auto` read them.
fn soc2_page(services: &[&str]) -> String {
    let items: String = services.iter().map(|s| format!("<li>{s}</li>")).collect();
    format!("<main><h1>SOC 2</h1><h2>In scope</h2><ul>{items}</ul></main>")
}

/// A server whose page is `versions[n]` on the n-th request (the last one
/// after that), and a harness with that page as source `id`; `extra`
/// comes before the source, `source_extra` in it.
fn changing_page(
    id: &str,
    versions: Vec<String>,
    extra: &str,
    source_extra: &str,
) -> (Server, Harness) {
    let served = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |_| {
        let n = served
            .fetch_add(1, Ordering::SeqCst)
            .min(versions.len() - 1);
        Reply::html(versions[n].clone())
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}{extra}[[source]]\nid = \"{id}\"\nurl = \"{}\"\n{source_extra}",
        server.url("/page")
    ));
    (server, h)
}

#[test]
fn long_cells_wrap_to_the_terminal_width_and_json_keeps_them_whole() {
    let long =
        "Contoso Extraordinarily Long Service Name That Goes On And On (Sovereign Cloud Edition)";
    let (_server, h) = changing_page(
        "soc2",
        vec![
            soc2_page(&["Intune"]),
            soc2_page(&["Intune", long, "Azure Bot Service"]),
        ],
        "",
        "",
    );
    for _ in 0..2 {
        assert_eq!(
            scopewatch(&h.config_path(), &["check"]).status.code(),
            Some(0)
        );
    }
    for command in [&["scope"][..], &["changes"], &["sources"]] {
        let out = common::scopewatch_command(&h.config_path())
            .args(command)
            .env("COLUMNS", "80")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{command:?}: {line:?} in\n{text}"
            );
        }
        if command == ["scope"] {
            assert!(text.contains("Contoso Extraordinarily"), "{text}");
        }
    }
    let rows = json(&scopewatch(&h.config_path(), &["scope", "--json"]));
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["service"] == long),
        "{rows}"
    );
    // Piped without $COLUMNS, a table keeps its width.
    let wide = stdout(&scopewatch(&h.config_path(), &["scope"]));
    assert!(wide.contains(long), "{wide}");
}

#[test]
fn changes_and_check_show_a_severity_coloured_on_request_and_filter_by_it() {
    let (_server, h) = changing_page(
        "soc2",
        vec![
            soc2_page(&["Azure Bot Service", "Intune"]),
            soc2_page(&["Intune", "Windows 365"]),
        ],
        "[scope]\nwatch = [\"Azure Bot Service\"]\n",
        "",
    );
    assert_eq!(
        scopewatch(&h.config_path(), &["check"]).status.code(),
        Some(0)
    );
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = stdout(&out);
    assert!(
        check.lines().next().unwrap().contains("SEVERITY"),
        "{check}"
    );
    assert!(
        check
            .lines()
            .any(|l| l.starts_with("soc2") && l.contains(" high ")),
        "{check}"
    );

    let changes = stdout(&scopewatch(&h.config_path(), &["changes"]));
    let header = changes.lines().next().unwrap();
    assert!(header.contains("SEVERITY"), "{changes}");
    assert!(
        !changes.contains('\u{1b}'),
        "no colour into a pipe: {changes:?}"
    );
    let row = |kind: &str| {
        changes
            .lines()
            .find(|l| l.split_whitespace().nth(3) == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} row in {changes}"))
            .to_string()
    };
    assert!(row("scope").contains(" high "), "{changes}");
    assert!(row("baseline").contains(" low "), "{changes}");

    let coloured = common::scopewatch_command(&h.config_path())
        .arg("changes")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let coloured = stdout(&coloured);
    assert!(coloured.contains("31mhigh\u{1b}["), "{coloured:?}");
    let plain = common::scopewatch_command(&h.config_path())
        .arg("changes")
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&plain).contains('\u{1b}'), "NO_COLOR wins");

    let high = json(&scopewatch(
        &h.config_path(),
        &["changes", "--severity", "high", "--json"],
    ));
    let kinds: Vec<&str> = high
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["scope"], "{high}");
    assert_eq!(high[0]["severity"], "high");
    let medium = json(&scopewatch(
        &h.config_path(),
        &["changes", "--severity", "medium", "--json"],
    ));
    assert_eq!(
        medium.as_array().unwrap().len(),
        2,
        "scope and content: {medium}"
    );
    let out = scopewatch(&h.config_path(), &["changes", "--severity", "urgent"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unknown_change_kind_exits_2_listing_the_kinds() {
    let (_server, h) = changing_page("soc2", vec![soc2_page(&["Intune"])], "", "");
    scopewatch(&h.config_path(), &["check"]);
    let out = scopewatch(&h.config_path(), &["changes", "--kind", "scopes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("did you mean `scope`?"), "{err}");
    for kind in ["baseline", "content", "scope", "gone", "extraction-broken"] {
        assert!(err.contains(kind), "{kind}: {err}");
    }
    let out = scopewatch(&h.config_path(), &["changes", "--kind", "baseline"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_json_section_of_the_cli_docs_lists_every_event_kind() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md")).unwrap();
    let json_section = docs.split("## JSON output").nth(1).unwrap();
    for kind in scopewatch::detect::EventKind::recorded() {
        assert!(
            json_section.contains(&format!("`{kind}`")),
            "docs/cli.md's JSON section does not name the event kind `{kind}`"
        );
    }
}

#[test]
fn scope_filters_match_names_loosely_and_hint_when_nothing_matches() {
    let page = "<main><h1>ISO/IEC 27001</h1><h2>In scope</h2><ul>\
        <li>Azure Bot Service</li><li>Intune</li></ul></main>";
    let (_server, h) = changing_page("iso", vec![page.to_string()], "", "");
    assert_eq!(
        scopewatch(&h.config_path(), &["check"]).status.code(),
        Some(0)
    );
    let pairs = |args: &[&str]| {
        let out = scopewatch(&h.config_path(), &[&["scope", "--json"], args].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json(&out).as_array().unwrap().len()
    };
    assert_eq!(pairs(&["--certification", "ISO 27001"]), 2);
    assert_eq!(pairs(&["--service", "bot service"]), 1);
    assert_eq!(
        pairs(&["--service", "bot service", "--certification", "iso 27001"]),
        1
    );

    let out = scopewatch(&h.config_path(), &["scope", "--service", "bot servce"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no match; did you mean \"Azure Bot Service\"?"),
        "{}",
        stderr(&out)
    );
    let out = scopewatch(&h.config_path(), &["scope", "--certification", "ISO 2700"]);
    assert!(
        stderr(&out).contains("did you mean \"ISO/IEC 27001\"?"),
        "{}",
        stderr(&out)
    );
    let out = scopewatch(
        &h.config_path(),
        &["scope", "history", "--service", "Intnue"],
    );
    assert!(
        stderr(&out).contains("did you mean \"Intune\"?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn scope_history_says_renamed_as_changes_does_oldest_first_for_every_service() {
    let served = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |request| {
        // zeta never changes; alpha renames a service on its second fetch.
        if request.path == "/zeta" {
            return Reply::html(soc2_page(&["Intune"]));
        }
        match served.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::html(soc2_page(&["Azure Search", "Intune"])),
            _ => Reply::html(soc2_page(&[
                "Azure AI Search (formerly Azure Search)",
                "Intune",
            ])),
        }
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"zeta\"\nurl = \"{}\"\n[[source]]\nid = \"alpha\"\nurl = \"{}\"\n",
        server.url("/zeta"),
        server.url("/alpha")
    ));
    for _ in 0..2 {
        assert_eq!(
            scopewatch(&h.config_path(), &["check"]).status.code(),
            Some(0)
        );
    }
    let changes = json(&scopewatch(
        &h.config_path(),
        &["changes", "--kind", "scope", "--json"],
    ));
    assert_eq!(changes[0]["renamed"][0]["to"]["service"], "Azure AI Search");

    let history = json(&scopewatch(
        &h.config_path(),
        &["scope", "history", "--service", "Azure AI Search", "--json"],
    ));
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["change"], "renamed");
    assert_eq!(history[0]["from"]["service"], "Azure Search");
    let table = stdout(&scopewatch(
        &h.config_path(),
        &["scope", "history", "--service", "Azure Search"],
    ));
    assert!(table.contains("renamed"), "{table}");
    assert!(table.contains("Azure Search → Azure AI Search"), "{table}");
    assert!(!table.contains("left"), "{table}");

    // Without --service: every service, oldest first across sources.
    let out = scopewatch(&h.config_path(), &["scope", "history", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = json(&out);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 4, "3 entered, 1 renamed: {all:?}");
    let snapshots: Vec<i64> = all
        .iter()
        .map(|t| t["snapshot"].as_i64().unwrap())
        .collect();
    assert!(snapshots.is_sorted(), "{snapshots:?}");
    assert_eq!(all[3]["change"], "renamed");
}

#[test]
fn history_and_sources_name_their_columns_for_what_they_count() {
    let (_server, h) = changing_page("soc2", vec![soc2_page(&["Intune"])], "", "");
    scopewatch(&h.config_path(), &["check"]);
    let history = stdout(&scopewatch(&h.config_path(), &["history", "soc2"]));
    let header = history.lines().next().unwrap();
    assert!(header.starts_with("RECORD "), "{header}");
    assert!(!header.contains("SNAPSHOT"), "{header}");
    let sources = stdout(&scopewatch(&h.config_path(), &["sources"]));
    let header = sources.lines().next().unwrap();
    assert!(header.contains("OK FETCHES"), "{header}");
    assert!(!header.contains("SNAPSHOTS"), "{header}");
}

#[test]
fn counts_of_one_read_in_the_singular() {
    let (_server, h) = changing_page(
        "soc2",
        vec![
            soc2_page(&["Intune"]),
            soc2_page(&["Intune", "Windows 365"]),
        ],
        "",
        "",
    );
    let first = stdout(&scopewatch(&h.config_path(), &["check"]));
    assert!(first.contains("\n1 source: 0 failed"), "{first}");
    scopewatch(&h.config_path(), &["check"]);
    let changes = json(&scopewatch(
        &h.config_path(),
        &["changes", "--kind", "content", "--json"],
    ));
    assert_eq!(
        changes[0]["summary"], "content changed: 1 line added, 0 removed",
        "{changes}"
    );
    // One tampered checkpoint: one finding.
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.execute_batch(
        "DROP TRIGGER checkpoints_no_update;
         UPDATE checkpoints SET signature = '00' WHERE id = 1;",
    )
    .unwrap();
    let out = scopewatch(&h.config_path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).ends_with("\n1 finding\n"), "{}", stdout(&out));
}

#[test]
fn a_content_selector_that_matches_nothing_is_named_as_written() {
    let (_server, h) = changing_page(
        "a",
        vec!["<main><p>text</p></main>".into()],
        "",
        "content = [\"article.nope\", \"main > .gone\"]\n",
    );
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "none of the content selectors (article.nope, main > .gone) matched the page"
        ),
        "{text}"
    );
    assert!(!text.contains("Selector"), "{text}");
}

#[test]
fn config_check_reports_unknown_keys_with_every_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopewatch.toml");
    std::fs::write(
        &path,
        "[deamon]\nschedule = \"0 * * * *\"\n\
         [daemon]\nconcurency = 4\njitter = \"soon\"\n\
         [[source]]\nid = \"a\"\nurl = \"ftp://x/\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = scopewatch(&path, &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let file = path.display();
    for expected in [
        format!("{file}:1:2: deamon: unknown key `deamon`; did you mean `daemon`?"),
        format!(
            "{file}:4:1: daemon.concurency: unknown key `concurency`; did you mean `concurrency`?"
        ),
        format!("{file}:9:1: source[0].colour: unknown key `colour`;"),
        format!("{file}:5:10: daemon.jitter: invalid duration"),
        format!("{file}:8:7: source[0].url:"),
    ] {
        assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
    }
}

#[test]
fn a_schedule_out_of_range_names_the_field_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopewatch.toml");
    std::fs::write(&path, "[daemon]\nschedule = \"0 25 * * *\"\n").unwrap();
    let out = scopewatch(&path, &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:2:15: daemon.schedule: hour 25 is out of range 0-23 in \"0 25 * * *\"",
            path.display()
        )),
        "{err}"
    );
    assert!(!err.contains("0 0 25"), "not the internal form: {err}");
}

#[test]
fn a_failed_fetch_leads_with_the_host_and_what_happened_and_json_keeps_the_chain() {
    let port = common::server::closed_port();
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"closed\"\nurl = \"http://127.0.0.1:{port}/page\"\n"
    ));
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let row = text.lines().find(|l| l.starts_with("closed")).unwrap();
    assert!(row.ends_with("127.0.0.1: connection refused"), "{text}");
    let outcomes = json(&scopewatch(&h.config_path(), &["check", "--json"]));
    let error = outcomes[0]["error"].as_str().unwrap();
    assert!(error.starts_with("connect: "), "{error}");
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
    assert!(
        error.contains("error sending request"),
        "the whole chain: {error}"
    );
}

/// The vendor-shaped JSON fixture, served as `application/json`.
fn json_server() -> Server {
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scope-services.json"),
    )
    .unwrap();
    Server::start(move |_| Reply::ok("application/json", body.clone()))
}

fn scope_pairs(config: &Path) -> Vec<(String, String)> {
    let rows = json(&scopewatch(config, &["scope", "--json"]));
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["certification"].as_str().unwrap().to_string(),
                r["service"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What tests/fixtures/scope-services.json states, sorted.
const CONTOSO_PAIRS: [(&str, &str); 5] = [
    ("ISO/IEC 27001", "Contoso Files"),
    ("ISO/IEC 27001", "Contoso Queue"),
    ("PCI DSS", "Contoso Queue"),
    ("SOC 2", "Contoso Bot Service"),
    ("SOC 2", "Contoso Queue"),
];

#[test]
fn a_json_scope_source_works_from_check_to_scope_json() {
    let server = json_server();
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"contoso\"\nurl = \"{}\"\n[source.scope]\nkind = \"json\"\n\
         json_pointer = \"/services\"\nservice_field = \"name\"\ncertification_field = \"certifications\"\n",
        server.url("/compliance/services.json")
    ));
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let expected: Vec<(String, String)> = CONTOSO_PAIRS
        .iter()
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    let mut pairs = scope_pairs(&h.config_path());
    pairs.sort();
    assert_eq!(pairs, expected);
}

#[test]
fn auto_reads_a_json_document_of_services_and_their_certifications() {
    let server = json_server();
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"contoso\"\nurl = \"{}\"\n",
        server.url("/compliance/services.json")
    ));
    assert_eq!(
        scopewatch(&h.config_path(), &["check"]).status.code(),
        Some(0)
    );
    let mut pairs = scope_pairs(&h.config_path());
    pairs.sort();
    let expected: Vec<(String, String)> = CONTOSO_PAIRS
        .iter()
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    assert_eq!(pairs, expected);
}
