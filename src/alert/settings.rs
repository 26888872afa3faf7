//! What an alert channel is, as validated from `[[alert]]` (the
//! configuration builds these): how it delivers, with its secrets held in a
//! [`Secret`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::routing::{Filter, Route};

/// A secret value; Debug shows `<redacted>`, and there is no Display.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One `[[alert]]` channel.
#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub filter: Filter,
    /// One message per dispatch round instead of one per event.
    pub digest: bool,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub timeout: Duration,
}

/// How a channel delivers. Every URL a channel posts to is a [`Secret`]:
/// chat webhook URLs carry their token in the path.
#[derive(Debug, Clone)]
pub enum ChannelKind {
    Webhook {
        url: Secret,
        secret: Option<Secret>,
        headers: Vec<(String, Secret)>,
    },
    Slack {
        url: Secret,
    },
    Teams {
        url: Secret,
    },
    Command {
        argv: Vec<String>,
        /// Variables of the daemon's environment the program also gets.
        env: Vec<String>,
    },
    File {
        path: PathBuf,
    },
    Log,
    Email(Box<EmailSettings>),
}

impl ChannelKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::Command { .. } => "command",
            ChannelKind::File { .. } => "file",
            ChannelKind::Log => "log",
            ChannelKind::Email(_) => "email",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// STARTTLS required (port 587 by default).
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Implicit,
    /// Plain SMTP: only for a relay on this machine.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
}

/// The routes (names and filters) `record` enqueues deliveries by.
pub fn routes(channels: &[Channel]) -> Vec<Route> {
    channels
        .iter()
        .map(|c| Route {
            channel: c.name.clone(),
            filter: c.filter.clone(),
        })
        .collect()
}
