//! scopewatch: an audit-evidence collector for vendor compliance pages.
//!
//! The pure core (`extract`, `scope`, `hash`, `detect`) turns bytes into
//! values; the edges (`fetch`, `store`, `sweep`, `daemon`, `commands`) do I/O.

pub mod extract;
pub mod scope;
