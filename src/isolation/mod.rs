//! Extraction in separate processes, so that a page which makes a parser
//! blow up costs a worker process, never the daemon. [`Extractor`] keeps a
//! small pool of long-lived workers (this executable re-run as
//! `scopewatch extract-worker`, see [`worker`]), each under a memory
//! ceiling and a CPU-time limit it sets itself, and gives each extraction a
//! wall-time budget: past it, the worker is killed. A worker that dies is
//! replaced at the next extraction. The sweep, `verify` and the demo all
//! extract through it, under the same limits.
//!
//! A worker serves one page after another over pipes ([`frame`]) for as
//! long as it is kept (the sweep ends the idle ones when it is done, so
//! the memory its largest page took is not held between sweeps): starting
//! a process per page would cost more than most pages take to extract.

mod frame;
pub mod worker;

use std::borrow::Cow;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::extract::{ContentKind, ExtractError, ExtractLimits, ExtractRules, Extracted};
use crate::scope::{ScopeOutcome, ScopeSettings, ScopeSpec};

/// The hidden subcommand a worker runs.
pub const WORKER_COMMAND: &str = "extract-worker";

/// What one extraction may use: the caps of [`ExtractLimits`], and the
/// memory and time of the process that runs it (`[limits]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractionBudget {
    pub limits: ExtractLimits,
    /// The worker process's data-segment ceiling, in bytes.
    pub memory: u64,
    /// Wall time one extraction may take.
    pub time: Duration,
}

/// The defaults, used by the configuration, the docs and the tests.
pub mod defaults {
    use std::time::Duration;

    /// 256 MiB.
    pub const MEMORY: u64 = 256 << 20;
    pub const TIME: Duration = Duration::from_secs(30);
}

impl Default for ExtractionBudget {
    fn default() -> Self {
        ExtractionBudget {
            limits: ExtractLimits::default(),
            memory: defaults::MEMORY,
            time: defaults::TIME,
        }
    }
}

/// The executable that serves as a worker when none is named: this one, as
/// the kernel knows it (`/proc/self/exe` still starts the running version
/// after a package upgrade replaced the file).
pub fn this_executable() -> PathBuf {
    let proc_self = Path::new("/proc/self/exe");
    if proc_self.exists() {
        proc_self.to_path_buf()
    } else {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("scopewatch"))
    }
}

/// A pool of extraction processes (see the module docs).
pub struct Extractor {
    program: PathBuf,
    budget: ExtractionBudget,
    size: usize,
    pool: Mutex<Pool>,
    freed: Condvar,
}

struct Pool {
    idle: Vec<Worker>,
    /// Workers lent out (running an extraction, or being started).
    busy: usize,
}

impl Extractor {
    /// A pool of up to one worker per CPU, started as they are needed,
    /// running `program extract-worker`.
    pub fn new(program: PathBuf, budget: ExtractionBudget) -> Extractor {
        let size = std::thread::available_parallelism().map_or(2, |n| n.get());
        Extractor {
            program,
            budget,
            size,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                busy: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// A pool of the same executable under another budget.
    pub fn with_budget(&self, budget: ExtractionBudget) -> Extractor {
        Extractor::new(self.program.clone(), budget)
    }

    /// How many extractions run at once (more wait for a worker).
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn budget(&self) -> &ExtractionBudget {
        &self.budget
    }

    /// The extraction a sweep runs on a fetched body: the page reduced to
    /// what counts under the source's `rules` (in a worker, within its
    /// budget, as [`Extractor::extract`]), and its scope read by `spec`.
    /// `verify` re-runs it on stored bodies (see `evidence::recheck`), so
    /// both always agree.
    pub fn extract_page(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        final_url: &str,
        rules: &ExtractRules,
        spec: &ScopeSpec,
        scope_settings: &ScopeSettings,
    ) -> Result<(Extracted, ScopeOutcome), ExtractError> {
        let extracted = self.extract(body, content_type, final_url, rules)?;
        // A script shell's recorded text describes the shell: no scope to read.
        let scope = if extracted.kind == ContentKind::ScriptShell {
            ScopeOutcome::Broken {
                reason: "the page is a script shell: its content renders in a browser".to_string(),
            }
        } else {
            crate::scope::extract_scope(&extracted.document, spec, scope_settings)
        };
        Ok((extracted, scope))
    }

    /// Extracts a body in a worker process, waiting for a free one. Over
    /// budget (a cap, the memory ceiling, the time) is
    /// [`ExtractError::Limit`]; a worker that cannot start or dies of
    /// something else is [`ExtractError::Extractor`].
    pub fn extract(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        url: &str,
        rules: &ExtractRules,
    ) -> Result<Extracted, ExtractError> {
        let worker = self.lend()?;
        let request = frame::Request {
            content_type: content_type.map(Cow::Borrowed),
            url: Cow::Borrowed(url),
            rules: Cow::Borrowed(rules),
            limits: self.budget.limits,
            cpu_seconds: self.budget.time.as_secs().max(1),
        };
        let header = serde_json::to_vec(&request)
            .map_err(|e| ExtractError::Extractor(format!("cannot encode the request: {e}")))?;
        let mut worker = worker;
        let outcome = worker.run(&header, body, &self.budget);
        self.give_back(match &outcome {
            Ok(_) => Some(worker),
            Err(_) => None,
        });
        match outcome {
            Ok(answer) => answer,
            Err(failure) => Err(failure.into_error(&self.budget)),
        }
    }

    /// Ends the idle workers (a new one starts at the next extraction): a
    /// worker keeps the memory its largest page made it take, which the
    /// daemon need not hold between sweeps.
    pub fn retire_idle(&self) {
        let idle = std::mem::take(&mut self.pool.lock().unwrap_or_else(|e| e.into_inner()).idle);
        drop(idle);
    }

    /// An idle worker, or a new one when the pool has room; waits while
    /// every worker is busy.
    fn lend(&self) -> Result<Worker, ExtractError> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(mut worker) = pool.idle.pop() {
                // One that died while idle (killed from outside) is replaced.
                if !matches!(worker.child.try_wait(), Ok(None)) {
                    continue;
                }
                pool.busy += 1;
                return Ok(worker);
            }
            if pool.busy < self.size {
                pool.busy += 1;
                break;
            }
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
        drop(pool);
        Worker::start(&self.program, self.budget.memory).inspect_err(|_| self.give_back(None))
    }

    /// Returns a worker to the pool (`None`: it was lost, a new one will be
    /// started in its place).
    fn give_back(&self, worker: Option<Worker>) {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.busy -= 1;
        pool.idle.extend(worker);
        drop(pool);
        self.freed.notify_one();
    }
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    input: ChildStdin,
    output: ChildStdout,
}

/// How an extraction in a worker went wrong.
enum Failure {
    /// It did not answer within the budget's time; it was killed.
    TimedOut,
    /// It died (or broke the protocol) with this status and last words;
    /// `killed`: it was alive and had to be killed.
    Died {
        status: Option<ExitStatus>,
        killed: bool,
        stderr: String,
        detail: String,
    },
}

impl Worker {
    fn start(program: &Path, memory: u64) -> Result<Worker, ExtractError> {
        let mut child = Command::new(program)
            .arg(WORKER_COMMAND)
            .arg("--memory")
            .arg(memory.to_string())
            // Nothing from the environment (secrets of alert channels may be
            // there) reaches a process that parses hostile pages.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ExtractError::Extractor(format!(
                    "cannot start the extraction process {}: {e}",
                    program.display()
                ))
            })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("both pipes were asked for above");
        };
        for pipe in [input.as_fd(), output.as_fd()] {
            rustix::io::ioctl_fionbio(pipe, true).map_err(|e| {
                ExtractError::Extractor(format!("cannot make the pipes non-blocking: {e}"))
            })?;
        }
        Ok(Worker {
            child,
            input,
            output,
        })
    }

    /// Sends one request and waits for the answer until the budget's time
    /// is up (writing too: a worker that stops reading is not waited for).
    fn run(
        &mut self,
        header: &[u8],
        body: &[u8],
        budget: &ExtractionBudget,
    ) -> Result<Result<Extracted, ExtractError>, Failure> {
        let deadline = Instant::now() + budget.time;
        let mut head = Vec::with_capacity(header.len() + 16);
        frame::write_frame(&mut head, header).expect("writing to a Vec does not fail");
        head.extend_from_slice(&(body.len() as u64).to_le_bytes());
        self.write_until(&head, deadline)?;
        self.write_until(body, deadline)?;
        let mut length = [0u8; 8];
        self.read_until(&mut length, deadline)?;
        let answer =
            frame::frame_length(length, budget.memory).map_err(|e| self.died(e.to_string()))?;
        let mut answer = vec![0; answer];
        self.read_until(&mut answer, deadline)?;
        serde_json::from_slice(&answer).map_err(|e| self.died(format!("an unreadable answer: {e}")))
    }

    /// Writes all of `bytes` to the worker's input (non-blocking), waiting
    /// no later than `deadline`.
    fn write_until(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<(), Failure> {
        while !bytes.is_empty() {
            self.wait_for(PollFlags::OUT, deadline)?;
            match self.input.write(bytes) {
                Ok(0) => return Err(self.died("it stopped reading its request".to_string())),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(self.died(format!("it stopped reading its request: {e}"))),
            }
        }
        Ok(())
    }

    /// Fills `buffer` from the worker's output, waiting no later than
    /// `deadline`.
    fn read_until(&mut self, buffer: &mut [u8], deadline: Instant) -> Result<(), Failure> {
        let mut filled = 0;
        while filled < buffer.len() {
            self.wait_for(PollFlags::IN, deadline)?;
            match self.output.read(&mut buffer[filled..]) {
                Ok(0) => return Err(self.died("it ended without answering".to_string())),
                Ok(n) => filled += n,
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(self.died(format!("cannot read its answer: {e}"))),
            }
        }
        Ok(())
    }

    /// Waits until the input (`OUT`) or output (`IN`) pipe is ready, or an
    /// error or hang-up is pending on it; at `deadline`, kills the worker.
    fn wait_for(&mut self, ready: PollFlags, deadline: Instant) -> Result<(), Failure> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.kill();
                return Err(Failure::TimedOut);
            }
            let timeout = Timespec {
                tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: left.subsec_nanos().into(),
            };
            let polled = if ready == PollFlags::OUT {
                rustix::event::poll(&mut [PollFd::new(&self.input, ready)], Some(&timeout))
            } else {
                rustix::event::poll(&mut [PollFd::new(&self.output, ready)], Some(&timeout))
            };
            match polled {
                Ok(0) | Err(rustix::io::Errno::INTR) => {}
                Ok(_) => return Ok(()),
                Err(e) => return Err(self.died(format!("cannot wait for it: {e}"))),
            }
        }
    }

    /// The worker has failed: it is killed (if still alive) and reaped, and
    /// what it wrote to standard error is kept for the message.
    fn died(&mut self, detail: String) -> Failure {
        let killed = matches!(self.child.try_wait(), Ok(None));
        let status = self.kill();
        let mut stderr = String::new();
        if let Some(pipe) = self.child.stderr.take() {
            // Dead, so the pipe ends; a few lines at most were written.
            let _ = pipe.take(64 << 10).read_to_string(&mut stderr);
        }
        Failure::Died {
            status,
            killed,
            stderr,
            detail,
        }
    }

    fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

/// A read or write to try again: interrupted, or a non-blocking pipe not
/// ready after all.
fn is_retry(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
    )
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Idle workers exit at the end of their input too; killing them
        // saves waiting for that.
        self.kill();
    }
}

impl Failure {
    /// The error an extraction that failed this way is recorded with.
    fn into_error(self, budget: &ExtractionBudget) -> ExtractError {
        let time = humantime::format_duration(budget.time);
        let memory = format!("{} MiB", budget.memory >> 20);
        match self {
            Failure::TimedOut => ExtractError::Limit(format!(
                "extraction took longer than {time} ([limits] extract_time)"
            )),
            Failure::Died {
                status,
                killed,
                stderr,
                detail,
            } => {
                let signal = status.and_then(|s| s.signal());
                let last_words = stderr.lines().rev().find(|l| !l.trim().is_empty());
                if stderr.contains("memory allocation of") {
                    ExtractError::Limit(format!(
                        "extraction needed more than {memory} of memory ([limits] extract_memory)"
                    ))
                } else if signal == Some(rustix::process::Signal::XCPU.as_raw()) {
                    ExtractError::Limit(format!(
                        "extraction used more than {time} of CPU time ([limits] extract_time)"
                    ))
                } else if signal == Some(rustix::process::Signal::KILL.as_raw()) && !killed {
                    ExtractError::Limit(
                        "the extraction process was killed (SIGKILL), most likely by the kernel for lack of memory"
                            .to_string(),
                    )
                } else {
                    let status =
                        status.map_or_else(|| "unknown status".to_string(), |s| s.to_string());
                    ExtractError::Extractor(match last_words {
                        Some(words) => {
                            format!("the extraction process died ({status}; {detail}): {words}")
                        }
                        None => format!("the extraction process died ({status}; {detail})"),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An extractor whose "worker" is a shell script, to play the ways a
    /// worker can fail.
    fn scripted(script: &str, time: Duration) -> (tempfile::TempDir, Extractor) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("worker");
        std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let budget = ExtractionBudget {
            time,
            ..ExtractionBudget::default()
        };
        (dir, Extractor::new(program, budget))
    }

    fn failure(script: &str, time: Duration) -> ExtractError {
        let (_dir, extractor) = scripted(script, time);
        extractor
            .extract(
                b"<p>x</p>",
                Some("text/html"),
                "http://x/",
                &ExtractRules::default(),
            )
            .unwrap_err()
    }

    #[test]
    fn a_worker_past_its_time_is_killed_and_replaced() {
        let (_dir, extractor) = scripted("exec sleep 60", Duration::from_millis(200));
        let rules = ExtractRules::default();
        for _ in 0..2 {
            let error = extractor
                .extract(b"<p>x</p>", Some("text/html"), "http://x/", &rules)
                .unwrap_err();
            assert_eq!(error.class(), "extraction-limit");
            assert!(error.to_string().contains("longer than 200ms"), "{error}");
        }
        let pool = extractor.pool.lock().unwrap();
        assert_eq!((pool.busy, pool.idle.len()), (0, 0), "both were lost");
    }

    #[test]
    fn how_a_worker_died_says_which_limit_it_met() {
        let memory = failure(
            "echo 'memory allocation of 1073741824 bytes failed' >&2; kill -ABRT $$",
            Duration::from_secs(10),
        );
        assert_eq!(memory.class(), "extraction-limit");
        assert!(memory.to_string().contains("256 MiB of memory"), "{memory}");
        let cpu = failure("kill -XCPU $$", Duration::from_secs(10));
        assert!(cpu.to_string().contains("of CPU time"), "{cpu}");
        let killed = failure("kill -KILL $$", Duration::from_secs(10));
        assert!(killed.to_string().contains("SIGKILL"), "{killed}");
        let crashed = failure(
            "head -c 8 > /dev/null; echo 'panicked at boom' >&2; exit 3",
            Duration::from_secs(10),
        );
        assert_eq!(crashed.class(), "extractor-failed");
        assert!(
            crashed.to_string().contains("panicked at boom"),
            "{crashed}"
        );
        let missing = Extractor::new("/nonexistent/scopewatch".into(), Default::default())
            .extract(b"x", None, "http://x/", &ExtractRules::default())
            .unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("cannot start the extraction process"),
            "{missing}"
        );
    }
}
