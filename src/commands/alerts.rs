//! `scopewatch alerts`: list deliveries (all, `--pending`, `--failed`);
//! `scopewatch alerts test`: send a test alert through each channel and
//! say whether each accepted it.

use super::{Env, Status, UsageError, cell, print_json, print_table};
use crate::alert::channel;
use crate::alert::payload::Item;
use crate::cli::{AlertsArgs, AlertsCommand};
use crate::clock;
use crate::detect::EventKind;
use crate::store::{AlertData, DeliveryState};

pub fn run(env: &Env, args: AlertsArgs) -> anyhow::Result<Status> {
    if let Some(AlertsCommand::Test { channel }) = args.command {
        return test(env, channel.as_deref());
    }
    let (_, store) = env.open_existing_store()?;
    let state = if args.pending {
        Some(DeliveryState::Pending)
    } else if args.failed {
        Some(DeliveryState::Failed)
    } else {
        None
    };
    let rows = store.deliveries(state)?;
    if args.json {
        print_json(&rows)?;
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.channel.clone(),
                    d.state.as_str().to_string(),
                    d.attempts.to_string(),
                    format!("{} {}", d.source, d.event_kind),
                    d.created_at.clone(),
                    cell(d.last_error.as_deref()),
                ]
            })
            .collect();
        print_table(
            &[
                "DELIVERY",
                "CHANNEL",
                "STATE",
                "ATTEMPTS",
                "EVENT",
                "CREATED",
                "LAST ERROR",
            ],
            &table,
        )?;
    }
    Ok(Status::Success)
}

fn test(env: &Env, only: Option<&str>) -> anyhow::Result<Status> {
    let config = env.config()?;
    let channels: Vec<_> = config
        .alerts
        .iter()
        .filter(|c| only.is_none_or(|name| c.name == name))
        .collect();
    if channels.is_empty() {
        return Err(UsageError(format!(
            "no alert channel {:?} in {}; `scopewatch config check` lists them",
            only.unwrap_or(""),
            config.path.display()
        ))
        .into());
    }
    let http = crate::alert::dispatch::http_client(&config.http.extra_roots)?;
    let runtime = crate::app::runtime()?;
    let mut failed = 0;
    for channel in channels {
        let item = Item {
            delivery_id: crate::store::delivery_id(),
            alert: AlertData {
                event_id: 0,
                kind: EventKind::AlertTest,
                source: "scopewatch".into(),
                source_url: config.path.display().to_string(),
                summary: format!("test alert for channel {}", channel.name),
                detected_at: clock::format(clock::now()),
                from_snapshot: None,
                to_snapshot: None,
                diff: None,
                severity: EventKind::AlertTest.default_severity(),
                scope: serde_json::json!({"added": [], "removed": [], "renamed": []}),
            },
        };
        let id = item.delivery_id.clone();
        match runtime.block_on(channel::send(channel, &http, &id, &[item])) {
            Ok(()) => say!("{} ({}): accepted", channel.name, channel.kind.as_str()),
            Err(e) => {
                failed += 1;
                say!(
                    "{} ({}): not accepted: {e}",
                    channel.name,
                    channel.kind.as_str()
                );
            }
        }
    }
    Ok(if failed > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}
