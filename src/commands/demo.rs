//! `scopewatch demo`: the offline tour (see `crate::demo`).

use super::Status;
use crate::demo;

/// Runs the demo into a new directory under the system's temporary
/// directory, which is kept so the database can be explored afterwards.
pub fn run() -> anyhow::Result<Status> {
    let dir = std::env::temp_dir().join(format!(
        "scopewatch-demo-{}-{}",
        std::process::id(),
        crate::clock::now().timestamp()
    ));
    std::fs::create_dir_all(&dir)?;
    let runtime = super::runtime()?;
    let mut stdout = std::io::stdout();
    let summary = runtime.block_on(demo::run(&dir, &mut stdout))?;
    let db = summary.database.display();
    say!("\nThe database is {db}. Look around:");
    say!("  scopewatch --db {db} changes --kind scope");
    say!("  scopewatch --db {db} scope --service \"Azure Bot Service\"");
    say!("  scopewatch --db {db} scope history --service \"Windows 365\"");
    say!("  scopewatch --db {db} diff bot-service-compliance");
    say!("  scopewatch --db {db} verify");
    Ok(Status::Success)
}
