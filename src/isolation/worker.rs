//! The extraction process: `scopewatch extract-worker`, started by
//! [`super::Extractor`], never by hand. Before it reads anything it caps
//! its own memory (`RLIMIT_DATA`), turns off core dumps and offers itself
//! first to the kernel's out-of-memory killer; then it answers requests
//! until its input ends, which it does when its parent dies. (No
//! parent-death signal: Linux sends it when the parent *thread* ends, and
//! the threads that start workers come and go.) Before each
//! extraction it sets its CPU-time limit to what it has used plus the
//! request's budget, so a runaway page is stopped by the kernel even if the
//! parent is not watching.

use std::io::{self, Write};

use rustix::process::{Resource, Rlimit};

use super::frame::{self, Request};
use crate::extract;

/// The largest request header accepted: selectors and a URL.
const MAX_HEADER: u64 = 1 << 20;

/// Serves extraction requests on standard input and output until the
/// input ends. `memory`: the data-segment limit, in bytes.
pub fn serve(memory: u64) -> anyhow::Result<()> {
    confine(memory)?;
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    while let Some(header) = frame::read_frame(&mut input, MAX_HEADER)? {
        let request: Request<'_> = serde_json::from_slice(&header)?;
        let Some(body) = frame::read_frame(&mut input, memory)? else {
            anyhow::bail!("the input ended between a request and its body");
        };
        limit_cpu(request.cpu_seconds)?;
        let result = extract::extract(
            &body,
            request.content_type.as_deref(),
            &request.url,
            &request.rules,
            &request.limits,
        );
        drop(body);
        frame::write_frame(&mut output, &serde_json::to_vec(&result)?)?;
        output.flush()?;
    }
    Ok(())
}

/// The limits set once, before any input is read: a data-segment ceiling
/// of `memory` bytes, no core dumps, first in line for the out-of-memory
/// killer. Also what the web view's bundle process sets.
pub fn confine(memory: u64) -> anyhow::Result<()> {
    // RLIMIT_DATA counts the heap (brk and private anonymous mappings)
    // but not the executable's own mappings, so the ceiling is what
    // extraction itself may use; RLIMIT_AS would also charge the binary,
    // its libraries and the stack reservation (docs/reliability.md).
    rustix::process::setrlimit(
        Resource::Data,
        Rlimit {
            current: Some(memory),
            maximum: Some(memory),
        },
    )?;
    // SIGXCPU and an abort after a failed allocation would dump core.
    rustix::process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    // If the machine runs out of memory anyway, this process goes first.
    // (Raising one's own score needs no privilege; where /proc is not
    // writable the kernel's default choice stands.)
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    Ok(())
}

/// Lets the next extraction use `seconds` of CPU time (rounded up, plus
/// one) beyond what this process has used so far.
fn limit_cpu(seconds: u64) -> anyhow::Result<()> {
    let used = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let used = u64::try_from(used.tv_sec).unwrap_or(0);
    let hard = rustix::process::getrlimit(Resource::Cpu).maximum;
    let soft = used.saturating_add(seconds).saturating_add(1);
    rustix::process::setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(hard.map_or(soft, |hard| soft.min(hard))),
            maximum: hard,
        },
    )?;
    Ok(())
}
