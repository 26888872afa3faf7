//! scopewatch's integration tests, one binary (one link of the dependency
//! tree instead of one per file). Each module is one area; `common` holds
//! the shared support: loopback servers, the corpus pages rendered as the
//! live site serves them, a harness that sweeps into a temporary database,
//! and helpers that run the binary as a user would.

mod common;

mod alerts;
mod budget;
mod cli;
mod config_corpus;
mod crash;
mod daemon;
mod disk;
mod evidence;
mod faults;
mod fuzz_replay;
mod pipeline;
mod recheck;
mod scope_corpus;
mod scope_matrix;
mod scope_pipeline;
mod security;
mod timestamp;
mod wacz;
