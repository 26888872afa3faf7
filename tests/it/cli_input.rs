//! What a user types, at its limits: times and durations too far back or
//! out of range are refused with exit 2 and a message (never a panic), and
//! a configuration without sources is warned about by `config check` and
//! refused by `run`.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::server::{Reply, Server};
use common::{FAST_HTTP, Harness, exit_within, output_text, scopewatch, scopewatch_command};

#[tokio::test(flavor = "multi_thread")]
async fn times_out_of_range_are_usage_errors_not_panics() {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001</p></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"a\"\nurl = \"{}\"\n",
        server.url("/a")
    ));
    h.sweep().await;
    let bundle = h.dir.path().join("bundle");
    let bundle = bundle.to_str().unwrap();
    const OUTSIDE: &str = "outside the years 0000-9999";
    for (flag, value, why) in [
        ("--since", "300000000d", OUTSIDE),
        ("--since", "3000000d", OUTSIDE),
        ("--since", "18446744073709551615ms", OUTSIDE),
        ("--since", "-0001-01-01", OUTSIDE),
        ("--since", "10000-01-01", "is not a time"),
        ("--since", "+262143-12-31", "is not a time"),
        ("--at", "300000000d", OUTSIDE),
        ("--until", "300000000d", OUTSIDE),
    ] {
        // `--flag=value`: a value may start with '-'.
        let arg = format!("{flag}={value}");
        let args: Vec<&str> = match flag {
            "--at" => vec!["scope", &arg],
            "--until" => vec!["export", "--out", bundle, &arg],
            _ => vec!["changes", &arg],
        };
        let out = scopewatch(&h.config_path(), &args);
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(&format!("{flag}: ")), "{args:?}: {text}");
        assert!(text.contains(why), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
    // In range, far back: fine.
    let out = scopewatch(&h.config_path(), &["changes", "--since", "0000-01-01"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
}

#[test]
fn a_config_duration_out_of_range_is_refused_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopewatch.toml");
    std::fs::write(
        &path,
        "[[source]]\nid = \"a\"\nurl = \"https://trust.example/\"\n\
         [source.attestation]\npattern = \"valid until (?P<date>.+)\"\nvalid_for = \"100000000000y\"\n",
    )
    .unwrap();
    let out = scopewatch(&path, &["config", "check"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("source[0].attestation.valid_for"), "{text}");
    assert!(text.contains("must be at most 100years"), "{text}");
}

#[test]
fn no_sources_is_a_warning_for_config_check_and_refused_by_run() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.toml", ""),
        ("settings-only.toml", "[daemon]\nschedule = \"0 6 * * *\"\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = scopewatch(&path, &["config", "check"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", output_text(&out));
        assert!(
            common::stderr(&out).contains("warning:")
                && common::stderr(&out).contains("no [[source]]"),
            "{name}: {}",
            output_text(&out)
        );

        let daemon = scopewatch_command(&path)
            .args([
                "--db",
                dir.path().join("scopewatch.db").to_str().unwrap(),
                "run",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = exit_within(
            daemon,
            Duration::from_secs(20),
            &format!("{name}: `run` started without sources"),
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {}", output_text(&out));
        assert!(
            common::stderr(&out).contains("no [[source]] to watch"),
            "{name}: {}",
            output_text(&out)
        );
    }
}
