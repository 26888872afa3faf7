//! `scopewatch config check`: validate the configuration and summarise it.

use super::{Env, Status};

pub fn run(env: &Env) -> anyhow::Result<Status> {
    let config = env.config()?;
    let followed = config.sources.iter().filter(|s| s.follow.is_some()).count();
    say!(
        "{}: valid; {} ({followed} follow links), schedule \"{}\", concurrency {}",
        config.path.display(),
        crate::wording::counted(config.sources.len(), "source", "sources"),
        config.daemon.schedule.as_str(),
        config.daemon.concurrency
    );
    let channels: Vec<String> = config
        .alerts
        .iter()
        .map(|c| format!("{} ({})", c.name, c.kind.as_str()))
        .collect();
    say!("alert channels: {}", channels.join(", "));
    Ok(Status::Success)
}
