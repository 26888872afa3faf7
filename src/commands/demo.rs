//! `scopewatch demo`: the offline tour (see `crate::demo`).

use super::Status;
use crate::demo;

/// Runs the demo into a new directory under the system's temporary
/// directory, which is kept so the database can be explored afterwards
/// with the configuration written next to it.
pub fn run() -> anyhow::Result<Status> {
    let dir = std::env::temp_dir().join(format!(
        "scopewatch-demo-{}-{}",
        std::process::id(),
        crate::clock::wall_now().timestamp()
    ));
    std::fs::create_dir_all(&dir)?;
    let runtime = crate::app::runtime()?;
    let mut stdout = std::io::stdout();
    let summary = runtime.block_on(demo::run(&dir, &mut stdout))?;
    let config = shell_word(&summary.config.display().to_string());
    say!(
        "\nThe database is {}, its configuration {config}.\n\
         Times are the dates the pages were published (a replayed clock). Look around:",
        summary.database.display()
    );
    for command in [
        "changes --kind scope",
        "scope --service \"Azure Bot Service\"",
        "scope --at 2021-01-01",
        "scope history --service \"Windows 365\"",
        "history bot-service-compliance --limit 5",
        "diff bot-service-compliance",
        "verify",
    ] {
        say!("  scopewatch --config {config} {command}");
    }
    Ok(Status::Success)
}

/// `text` as one word for a POSIX shell: as it is when it is made of
/// characters no shell treats specially, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '+'));
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_a_shell_would_split_them() {
        assert_eq!(
            shell_word("/tmp/scopewatch-demo-1/scopewatch.toml"),
            "/tmp/scopewatch-demo-1/scopewatch.toml"
        );
        assert_eq!(shell_word("/tmp/my demo/a.toml"), "'/tmp/my demo/a.toml'");
        assert_eq!(shell_word("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}
