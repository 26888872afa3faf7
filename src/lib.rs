//! scopewatch: an audit-evidence collector for vendor compliance pages.
//!
//! The pure core (`extract`, `scope`, `hash`, `detect`, `follow`, `routing`,
//! `textdiff`) turns bytes into values; `record` decides one attempt with it
//! and writes it through `store`, with its `ledger` leaves; the edges
//! (`fetch`, `store`, `sweep`, `app`, `daemon`, `commands`) do I/O. The
//! module map: docs/architecture.md.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alert;
pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod detect;
pub mod escape;
pub mod evidence;
pub mod extract;
pub mod fetch;
pub mod follow;
pub mod hash;
pub mod isolation;
pub mod ledger;
pub mod logging;
pub mod query;
pub mod record;
pub mod routing;
pub mod scope;
pub mod store;
pub mod sweep;
pub mod textdiff;
pub mod web;
pub mod wording;
