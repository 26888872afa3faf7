//! scopewatch's integration tests, one binary (one link of the dependency
//! tree instead of one per file). Each module is one area; `common` holds
//! the shared support: loopback servers, the corpus pages rendered as the
//! live site serves them, a harness that sweeps into a temporary database,
//! and helpers that run the binary as a user would.

mod common;

mod address_policy;
mod alerts;
#[cfg(feature = "browser")]
mod browser;
mod budget;
mod bundle_findings;
mod cli;
mod cli_input;
mod config_corpus;
mod content_encoding;
mod crash;
mod credentials;
mod daemon;
mod database_state;
mod delivery_claims;
mod disk;
mod evidence;
mod export_memory;
mod faults;
mod first_hour;
mod follow_cap;
mod fuzz_replay;
mod last_checkpoint;
mod ledger_script;
mod pipeline;
mod portal;
mod recheck;
mod report;
mod scope_corpus;
mod scope_matrix;
mod scope_pipeline;
mod scope_restructure;
mod script_shell;
mod security;
mod tamper;
mod timestamp;
mod timestamp_verify;
mod wacz;
mod web;
