//! Security properties a user relies on without looking: the state
//! directory and every file scopewatch creates in it are private (0700 /
//! 0600) even under a permissive umask, secrets from the environment
//! never reach the logs, even at debug level, and a server whose
//! certificate no trusted CA issued is not captured.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::FAST_HTTP;
use common::server::{Reply, Server};

/// scopewatch with `args`, under the permissive umask 022.
fn permissive(config: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = common::scopewatch_command(config);
    command.args(args).envs(envs.iter().copied());
    // SAFETY: umask(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    command
}

fn scopewatch(config: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    permissive(config, args, envs).output().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_state_directory_and_its_files_are_private() {
    let server = Server::start(|_| Reply::html("<main><p>ISO 27001: Azure</p></main>"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndatabase = \"state/nested/scopewatch.db\"\n{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n[[alert]]\nname = \"siem\"\nkind = \"file\"\npath = \"state/nested/alerts.jsonl\"\nevents = [\"baseline\"]\n",
            server.url("/s")
        ),
    )
    .unwrap();
    let out = scopewatch(&config, &["check"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = dir.path().join("state/nested");
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&state), 0o700);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), expected, "{}", path.display());
        files.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    files.sort();
    for name in ["alerts.jsonl", "scopewatch.db"] {
        assert!(files.iter().any(|f| f == name), "{name} not in {files:?}");
    }
}

#[test]
fn the_daemon_creates_its_state_directory_private_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopewatch.toml");
    // The source is never fetched: the test stops the daemon first.
    std::fs::write(
        &config,
        "[storage]\ndatabase = \"state/scopewatch.db\"\n[daemon]\nschedule = \"0 0 1 1 *\"\n\
         [[source]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let mut daemon = permissive(&config, &["run"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.path().join("state");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !state.join("scopewatch.db").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon made no database"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert_eq!(mode(&state), 0o700);
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn secrets_never_reach_the_logs() {
    const SECRET: &str = "s3cr3t-hmac-4f1d2a";
    const TOKEN: &str = "t0ken-9b8c7d";
    let server = Server::start(|req| match req.path.as_str() {
        "/hook" => Reply::status(500),
        _ => Reply::html("<main><p>ISO 27001: Azure</p></main>"),
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndatabase = \"scopewatch.db\"\n{FAST_HTTP}[[source]]\nid = \"s\"\nurl = \"{}\"\n[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"${{SW_TEST_SECRET}}\"\nheaders = {{ Authorization = \"Bearer ${{SW_TEST_TOKEN}}\" }}\nevents = [\"baseline\"]\nmax_attempts = 1\n",
            server.url("/s"),
            server.url("/hook")
        ),
    )
    .unwrap();
    let envs = [
        ("SW_TEST_SECRET", SECRET),
        ("SW_TEST_TOKEN", TOKEN),
        ("SCOPEWATCH_LOG", "trace"),
    ];
    let mut logged = String::new();
    for args in [&["config", "check"][..], &["check"], &["alerts", "--json"]] {
        let out = scopewatch(&config, args, &envs);
        logged.push_str(&String::from_utf8_lossy(&out.stdout));
        logged.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        server.requests().iter().any(|r| r.path == "/hook"),
        "the webhook was tried, so its secrets were in use"
    );
    assert!(
        !logged.contains(SECRET),
        "the HMAC secret was logged:\n{logged}"
    );
    assert!(
        !logged.contains(TOKEN),
        "the header token was logged:\n{logged}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_from_an_untrusted_ca_is_a_connect_failure_not_a_capture() {
    let server = Server::start_https(&[&rustls::version::TLS13], |_| {
        Reply::html("<main><p>ISO 27001: Azure</p></main>")
    });
    let h = common::Harness::new(&format!(
        "{}[[source]]\nid = \"iso\"\nurl = \"{}\"\n",
        FAST_HTTP.replace("retries = 2", "retries = 0"),
        server.url("/iso")
    ));
    h.sweep().await;
    let record = &h.store().history("iso", 1).unwrap()[0];
    assert_eq!(record.error_class.as_deref(), Some("connect"), "{record:?}");
    let message = record.error_message.as_deref().unwrap_or_default();
    assert!(message.contains("certificate"), "{message}");
    assert!(record.raw_hash.is_none(), "{record:?}");
    assert_eq!(server.hits("/iso"), 0);
}
