//! The corpus of broken configurations in tests/fixtures/bad-configs/:
//! `scopewatch config check` on each exits 2, never panics, and names the
//! file, the line (and column) and the key, with what to change. Each
//! fixture's expected location and advice are in `EXPECTED` below.

use std::path::Path;
use std::process::Command;

/// (fixture, "line:column: key" the message must name, words of the advice).
#[rustfmt::skip]
const EXPECTED: &[(&str, &str, &str)] = &[
    ("bad-alert-event", "4:11: alert[0].events", "use one of baseline"),
    ("bad-alert-kind", "3:8: alert[0].kind", "use webhook, slack"),
    ("bad-alert-severity", "4:12: alert[0].severity", "write \"low\""),
    ("bad-backoff", "2:11: http.backoff", "Write a number and a unit"),
    ("bad-content-selector", "4:12: source[0].content", "e.g. \"main\""),
    ("bad-cron-range", "2:15: daemon.schedule", "hour 25 is out of range 0-23 in \"0 25 * * *\""),
    ("bad-cron-words", "2:12: daemon.schedule", "Example: \"0 */6 * * *\""),
    ("bad-duration-unit", "2:10: daemon.jitter", "Write a number and a unit"),
    ("bad-duration-word", "2:11: http.timeout", "Write a number and a unit"),
    ("bad-follow-selector", "4:21: source[0].follow.select", "e.g. \"main\""),
    ("bad-ignore-selector", "4:11: source[0].ignore", "e.g. \"main\""),
    ("bad-json-pointer", "4:16: source[0].json_pointer", "starts with '/'"),
    ("bad-scope-kind", "4:9: source[0].scope.kind", "write one of \"matrix\""),
    ("bad-scope-regex", "4:9: source[0].scope.regex", "write a Rust regex"),
    ("bad-scope-section-regex", "4:9: source[0].scope.section", "write a Rust regex"),
    ("bad-size", "2:12: http.max_body", "use a number and one of"),
    ("bad-source-cron", "4:12: source[0].schedule", "Example: \"0 */6 * * *\""),
    ("bad-source-id", "2:6: source[0].id", "use 1-100 letters"),
    ("bad-toml-bare-word", "2:14: user_agent", "must be quoted"),
    ("bad-toml-duplicate-key", "3:1: jitter", "remove or rename one of them"),
    ("bad-toml-missing-value", "2:10: timeout", "must be quoted"),
    ("bad-toml-unclosed-string", "2:22: schedule", "close it on the same line"),
    ("bad-toml-unclosed-table", "1:10: [[source]", "close it on the same line"),
    ("bad-url-scheme", "3:7: source[0].url", "only http:// and https://"),
    ("bad-url", "3:7: source[0].url", "write an absolute http(s) URL"),
    ("duplicate-alert-names", "6:8: alert[1].name", "give each channel its own name"),
    ("duplicate-source-ids", "6:6: source[1].id", "give each source its own id"),
    ("file-url", "3:7: source[0].url", "only http:// and https://"),
    ("missing-env-header", "5:11: alert[0].headers", "set it, or use secret_file"),
    ("missing-env-secret", "5:10: alert[0].secret", "set it, or use secret_file"),
    ("missing-url", "1:1: [[source]]", "add it to this table"),
    ("negative-retries", "2:11: http.retries", "write a whole number from 0 to 10"),
    ("secret-file-is-a-directory", "5:15: alert[0].secret_file", "check the path"),
    ("unknown-alert-key", "4:1: alert[0].channel", "the keys here are `name`, `kind`"),
    ("unknown-daemon-key", "2:1: daemon.schedulle", "did you mean `schedule`?"),
    ("unknown-source-key", "4:1: source[0].selector", "the keys here are `id`, `url`"),
    ("unknown-top-level-table", "1:2: deamon", "did you mean `daemon`?"),
    ("unreadable-secret-file", "4:15: alert[0].secret_file", "check the path"),
    ("webhook-without-url", "3:8: alert[0].url", "needs alert[0].url"),
    ("wrong-type-bool", "4:17: allow_private", "write true or false"),
    ("wrong-type-retries", "2:11: retries", "write a whole number without quotes"),
    ("wrong-type-string", "2:12: key_file", "write the value in double quotes"),
    ("zero-concurrency", "2:15: daemon.concurrency", "write a whole number from 1 to 1024"),
];

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-configs")
}

#[test]
fn every_broken_configuration_exits_2_naming_file_line_and_fix() {
    let mut fixtures: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    fixtures.sort();
    let mut listed: Vec<String> = EXPECTED
        .iter()
        .map(|(f, _, _)| format!("{f}.toml"))
        .collect();
    listed.sort();
    assert_eq!(
        fixtures, listed,
        "every fixture has its expectation, and only those"
    );
    assert!(fixtures.len() >= 30);

    println!("FIGURE bad-configs {}", EXPECTED.len());
    for (fixture, location, advice) in EXPECTED {
        let path = corpus_dir().join(format!("{fixture}.toml"));
        let out = Command::new(env!("CARGO_BIN_EXE_scopewatch"))
            .arg("--config")
            .arg(&path)
            .args(["config", "check"])
            .env_remove("SCOPEWATCH_CONFIG")
            .env_remove("SCOPEWATCH_TEST_UNSET_SECRET")
            .env_remove("SCOPEWATCH_TEST_UNSET_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fixture}: {stderr}");
        assert!(!stderr.contains("panicked"), "{fixture}: {stderr}");
        let named = format!("{}:{location}", path.display());
        assert!(
            stderr.contains(&named),
            "{fixture}: expected {named:?} in:\n{stderr}"
        );
        assert!(
            stderr.contains(advice),
            "{fixture}: expected the advice {advice:?} in:\n{stderr}"
        );
    }
}
