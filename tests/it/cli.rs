//! The command line as a user runs it: exit codes, listings and their JSON
//! fields, configuration errors, and the daemon stopping cleanly.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, json, scopewatch, stderr, stdout};

#[test]
fn the_shipped_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scopewatch.toml");
    let config = scopewatch::config::load(&path).unwrap();
    assert!(config.sources.len() >= 15);
    for id in [
        "bot-service-compliance",
        "azure-compliance-overview",
        "service-trust-portal",
        "azure-fedramp-audit-scope",
    ] {
        assert!(config.source(id).is_some(), "{id}");
    }
    assert!(
        config
            .source("bot-service-compliance")
            .unwrap()
            .follow
            .is_some()
    );
    // The portal's document through its API; no source needs the browser.
    assert!(matches!(
        config
            .source("stp-azure-compliance-offerings")
            .unwrap()
            .method,
        scopewatch::config::FetchMethod::ServiceTrust { .. }
    ));
    assert!(
        !config
            .sources
            .iter()
            .any(|s| matches!(s.method, scopewatch::config::FetchMethod::Browser { .. }))
    );
    let out = scopewatch(&path, &["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"));
}

#[test]
fn configuration_errors_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[daemon]\nschedule = \"every day\"\n",
            ":2:12: daemon.schedule:",
        ),
        (
            "[daemon]\nbogus = 1\n",
            ":2:1: daemon.bogus: unknown key `bogus`",
        ),
        ("[http]\ntimeout = \"soon\"\n", ":2:11: http.timeout:"),
        (
            "[[source]]\nid = \"a\"\nurl = \"not a url\"\n",
            ":3:7: source[0].url:",
        ),
        (
            "[[source]]\nid = \"a\"\nurl = \"https://x/\"\nignore = [\"<<\"]\n",
            ":4:11: source[0].ignore:",
        ),
        (
            "[[source]]\nid = \"a\"\nurl = \"https://x/\"\n[[source]]\nid = \"a\"\nurl = \"https://y/\"\n",
            ":5:6: source[1].id: duplicate",
        ),
        ("[[source]\n", ":1:"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = scopewatch(&path, &["config", "check"]);
        assert_eq!(out.status.code(), Some(2), "case {i}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("bad{i}.toml{expected}")),
            "case {i}: {err}"
        );
        assert!(!err.contains("panicked"), "case {i}: {err}");
    }
    let out = scopewatch(&dir.path().join("missing.toml"), &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the configuration file"));
}

#[test]
fn check_then_the_listings() {
    let server = Server::start(|req| match req.path.as_str() {
        "/gone" => Reply::status(410),
        _ => Reply::html("<main><h1>ISO/IEC 27001</h1><ul><li>Azure Bot Service</li></ul></main>"),
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"iso\"\nurl = \"{}\"\n[[source]]\nid = \"gone\"\nurl = \"{}\"\n",
        server.url("/iso"),
        server.url("/gone")
    ));
    let config = h.config_path();

    let out = scopewatch(&config, &["check", "--source", "iso"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("iso"), "{}", stdout(&out));

    let out = scopewatch(&config, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed source makes check exit 1"
    );

    let out = scopewatch(&config, &["check", "--source", "nope"]);
    assert_eq!(out.status.code(), Some(2));

    let sources = json(&scopewatch(&config, &["sources", "--json"]));
    let by_id = |id: &str| {
        sources
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("iso")["state"], "ok");
    assert_eq!(by_id("iso")["snapshots"], 2);
    assert_eq!(by_id("gone")["state"], "failed");
    for field in [
        "id",
        "url",
        "state",
        "last_checked",
        "last_changed",
        "snapshots",
    ] {
        assert!(
            by_id("iso").get(field).is_some(),
            "sources --json lacks {field}"
        );
    }

    let history = json(&scopewatch(&config, &["history", "iso", "--json"]));
    let newest = &history[0];
    assert_eq!(newest["change"], "unchanged");
    let id = newest["id"].as_i64().unwrap().to_string();

    let out = scopewatch(&config, &["show", &id]);
    assert_eq!(stdout(&out), "# ISO/IEC 27001\n- Azure Bot Service\n");
    let out = scopewatch(&config, &["show", &id, "--raw"]);
    assert!(stdout(&out).starts_with("<main>"));

    let changes = json(&scopewatch(&config, &["changes", "--json"]));
    let event = &changes[0];
    for field in [
        "id",
        "source",
        "kind",
        "detected_at",
        "from_snapshot",
        "to_snapshot",
        "summary",
    ] {
        assert!(event.get(field).is_some(), "changes --json lacks {field}");
    }
    // Newest first: the 410 of `gone` on the second check, then the baselines.
    assert_eq!(event["kind"], "gone");
    assert_eq!(changes[1]["kind"], "baseline");
    assert!(event["detected_at"].as_str().unwrap().ends_with('Z'));
    let filtered = json(&scopewatch(
        &config,
        &["changes", "--json", "--source", "iso", "--kind", "gone"],
    ));
    assert_eq!(filtered.as_array().unwrap().len(), 0);

    let out = scopewatch(&config, &["diff", "iso"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one version only: nothing to diff"
    );

    let out = scopewatch(&config, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A one-source configuration (`soc2`) checked once, and its server.
fn one_source_checked() -> (Server, Harness) {
    let server =
        Server::start(|_| Reply::html("<main><h1>SOC 2</h1><ul><li>Azure</li></ul></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"soc2\"\nurl = \"{}\"\n",
        server.url("/soc2")
    ));
    assert_eq!(
        scopewatch(&h.config_path(), &["check"]).status.code(),
        Some(0)
    );
    (server, h)
}

#[test]
fn reading_commands_work_outside_the_service_that_holds_the_alert_secrets() {
    let (_server, h) = one_source_checked();
    let config = h.config_path();

    // The secret as the shipped unit hands it over: readable by the service
    // alone, under a directory systemd names only for the service.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\n\
         secret_file = \"${CREDENTIALS_DIRECTORY}/scopewatch_webhook-secret\"\n",
    );
    std::fs::write(&config, text).unwrap();

    for args in [
        &["sources"][..],
        &["status"],
        &["history", "soc2"],
        &["changes"],
        &["verify"],
    ] {
        let out = scopewatch(&config, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    // What delivers or checks alerts still needs the secret, and says how to
    // check it as the service would.
    for args in [&["config", "check"][..], &["check"]] {
        let out = scopewatch(&config, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("systemd-run"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_source_that_is_neither_recorded_nor_configured_exits_2() {
    let (_server, h) = one_source_checked();
    let config = h.config_path();
    let out_dir = h.dir.path().join("bundle");
    let out = out_dir.to_str().unwrap();
    for (command, known) in [
        (&["changes", "--source"][..], true),
        (&["scope", "--source"], true),
        (&["export", "--out", out, "--source"], false),
    ] {
        let typo = scopewatch(&config, &[command, &["soc"]].concat());
        assert_eq!(typo.status.code(), Some(2), "{command:?}");
        assert!(
            stderr(&typo).contains("no source \"soc\""),
            "{}",
            stderr(&typo)
        );
        if known {
            let out = scopewatch(&config, &[command, &["soc2"]].concat());
            assert_eq!(out.status.code(), Some(0), "{command:?}: {}", stderr(&out));
        }
    }
    assert!(
        !out_dir.exists(),
        "no bundle for a source that does not exist"
    );
}

#[test]
fn diff_shows_the_last_change() {
    let count = std::sync::atomic::AtomicUsize::new(0);
    let server = Server::start(move |_| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let services = if n == 0 {
            "<li>Azure</li><li>Microsoft Graph</li>"
        } else {
            "<li>Azure</li>"
        };
        Reply::html(format!("<main><h2>In scope</h2><ul>{services}</ul></main>"))
    });
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"soc2\"\nurl = \"{}\"\n",
        server.url("/soc2")
    ));
    for _ in 0..2 {
        assert_eq!(
            scopewatch(&h.config_path(), &["check"]).status.code(),
            Some(0)
        );
    }
    let out = scopewatch(&h.config_path(), &["diff", "soc2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The sides are named with the time each snapshot was taken.
    let text = stdout(&out);
    let (header, body) = text.split_at(text.find("@@").unwrap());
    assert!(
        header.starts_with("--- snapshot 1 (20") && header.contains(")\n+++ snapshot 2 (20"),
        "{header}"
    );
    assert_eq!(
        body,
        "@@ -1,3 +1,2 @@\n ## In scope\n - Azure\n-- Microsoft Graph\n"
    );
}

#[test]
fn the_daemon_sweeps_and_stops_cleanly_on_sigterm() {
    let server = Server::start(|_| Reply::html("<main><p>statement</p></main>"));
    let h = Harness::new(&format!(
        "[daemon]\nschedule = \"* * * * * *\"\njitter = \"0s\"\n{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n",
        server.url("/s")
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_scopewatch"))
        .arg("--config")
        .arg(h.config_path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.hits("/s") < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.hits("/s") >= 3, "the daemon sweeps on schedule");
    let stopping = Instant::now();
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(stopping.elapsed() < Duration::from_secs(10));
    let store = h.store();
    assert!(store.history("s", 100).unwrap().len() >= 3);
    assert!(store.verify_chain().unwrap().is_empty());
}

#[test]
fn the_demo_runs_offline_and_reports_the_real_scope_changes() {
    let out = Command::new(env!("CARGO_BIN_EXE_scopewatch"))
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2021-08-09  bot-service-compliance   SCOPE CHANGE [high]"),
        "{text}"
    );
    assert!(text.contains("+ Chapter 508 / Azure Bot Service"), "{text}");
    assert!(text.contains("- WCAG 2.0 / Azure Bot Service"), "{text}");
    assert!(text.contains("+ HIPAA/HITECH / Windows 365"), "{text}");
    // The demo's aliases make the Defender ATP → Defender for Endpoint rename a non-event.
    assert!(!text.contains("Microsoft Defender ATP"), "{text}");
    let db = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("The database is ")?
                .split_once(", its configuration ")
                .map(|(db, _)| db)
        })
        .unwrap();
    let store = scopewatch::store::Store::open(Path::new(db)).unwrap();
    assert!(store.verify_chain().unwrap().is_empty());
    std::fs::remove_dir_all(Path::new(db).parent().unwrap()).unwrap();
}

#[test]
fn the_man_page_documents_every_command() {
    use clap::CommandFactory;
    let man = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/man/scopewatch.1"
    ))
    .unwrap();
    // Hidden commands are scopewatch's own (its extraction processes).
    for command in scopewatch::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
    {
        let name = command.get_name();
        assert!(
            man.contains(&format!(".B {name}"))
                || man.contains(&format!(".BR {name} "))
                || man.contains(&format!(".BI {name} ")),
            "docs/man/scopewatch.1 does not document `{name}`"
        );
    }
}
