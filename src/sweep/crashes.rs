//! What a sweep does about processes that died extracting a page. Before a
//! page is extracted, its source is marked with this process (see
//! `store::crash_guard`); the attempt's record removes the mark. A mark
//! whose process is gone means that process died on the page (the kernel's
//! out-of-memory killer, the watchdog's SIGKILL, an abort): the next sweep,
//! by whichever process, records a `crashed` attempt for it instead of
//! trying the page again at once (the daemon tries it next at its next
//! scheduled time). After [`QUARANTINE_AFTER`] crashes in a row the source
//! is `failing` (an alert goes out) and quarantined: no sweep fetches it
//! before its next scheduled time after the last crash.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};

use super::{SourceOutcome, Sweeper};
use crate::clock;
use crate::config::Source;
use crate::fetch::Capture;
use crate::record::{AttemptRecord, AttemptResult};
use crate::store::{CRASHED, CrashMark};

/// Crashes in a row after which a source is `failing` and quarantined.
/// One crash can be bad luck (the machine ran out of memory for another
/// reason); the same page twice is the page.
pub const QUARANTINE_AFTER: u32 = 2;

/// This process, as marks name it: its pid and its start time, so that a
/// pid the system has given to a new process is not taken for this one.
pub(super) static THIS_PROCESS: LazyLock<String> = LazyLock::new(|| {
    let pid = std::process::id();
    format!("{pid} {}", start_time(pid).unwrap_or(0))
});

/// Removes the marks this process left without a record (attempts
/// abandoned at a stop): they are not crashes. Run at the end of each sweep,
/// and by the daemon when it stops (its scheduler may have been abandoned
/// in the middle of one).
pub async fn release_own_marks(store: &crate::store::StoreHandle) {
    if let Err(e) = store.call(|store| store.release_marks(&THIS_PROCESS)).await {
        tracing::warn!("cannot remove the marks of abandoned attempts: {e}");
    }
}

/// When process `pid` started (clock ticks after boot: field 22 of
/// `/proc/PID/stat`), if it exists and can be seen.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields from the last `)`. Field 3 is the first after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Whether the process a mark names still runs. A process this one cannot
/// see (another user's, under `ProtectProc=invisible`) counts as gone.
fn alive(owner: &str) -> bool {
    if owner == THIS_PROCESS.as_str() {
        return true;
    }
    let mut parts = owner.split(' ');
    let (Some(pid), Some(started)) = (parts.next(), parts.next()) else {
        return false;
    };
    match (pid.parse(), started.parse::<u64>()) {
        (Ok(pid), Ok(started)) => start_time(pid) == Some(started),
        _ => false,
    }
}

/// The configured source whose settings a page follows: its own, or for a
/// followed page (`PARENT~page`) its parent's.
fn configured_id(source: &str) -> &str {
    source.split_once('~').map_or(source, |(parent, _)| parent)
}

impl Sweeper {
    /// Records a `crashed` attempt for every mark left by a process that
    /// is gone, and returns their outcomes. Every sweep begins with it; the
    /// daemon also runs it at its start, before it computes when each
    /// source is due.
    pub async fn recover_crashes(&self) -> Vec<SourceOutcome> {
        let marks = match self.store.call(|store| store.crash_marks()).await {
            Ok(marks) => marks,
            Err(e) => {
                tracing::warn!("cannot read the crash marks: {e}");
                return Vec::new();
            }
        };
        let mut outcomes = Vec::new();
        for mark in marks.into_iter().filter(|m| !alive(&m.owner)) {
            let claimed = mark.clone();
            let taken = self
                .store
                .call(move |store| store.take_over_mark(&claimed, &THIS_PROCESS))
                .await;
            match taken {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(source = %mark.source, "cannot take over the crash mark: {e}");
                    continue;
                }
            }
            let Some(source) = self.config.source(configured_id(&mark.source)) else {
                let id = mark.source.clone();
                if let Err(e) = self.store.call(move |store| store.forget_mark(&id)).await {
                    tracing::warn!(source = %mark.source, "cannot remove the crash mark: {e}");
                }
                continue;
            };
            tracing::warn!(
                source = %mark.source,
                "a scopewatch process ({}) died while extracting this page; recording it as crashed",
                mark.owner
            );
            let attempt = self.crashed_attempt(&mark, source);
            let recorded = crate::record::submit(&self.store, attempt).await;
            outcomes.push(super::recorded_outcome(
                &mark.source,
                &mark.url,
                "failed",
                Some(format!("{CRASHED}: {}", crash_message(&mark))),
                recorded,
            ));
        }
        outcomes
    }

    /// The attempt recorded for a page a process died on.
    fn crashed_attempt(&self, mark: &CrashMark, source: &Source) -> AttemptRecord {
        let parent = (configured_id(&mark.source) != mark.source).then(|| source.id.clone());
        let mut capture = Capture::begun(mark.url.clone());
        if let Ok(since) = DateTime::parse_from_rfc3339(&mark.since) {
            capture.started_at = since.with_timezone(&Utc);
        }
        let crashes = mark.crashes.saturating_add(1);
        // The second crash in a row makes the source failing whatever its
        // `fail_after`: the alert says the page takes scopewatch down.
        let fail_after = if crashes >= QUARANTINE_AFTER {
            source.fail_after.min(QUARANTINE_AFTER)
        } else {
            source.fail_after
        };
        AttemptRecord {
            source: mark.source.clone(),
            source_url: mark.url.clone(),
            parent: parent.clone(),
            capture,
            result: AttemptResult::Failed {
                body: None,
                class: CRASHED.to_string(),
                message: crash_message(mark),
            },
            fail_after,
            scope_settings: Arc::clone(&self.config.scope),
            alerts: crate::alert::attempt_alerts(
                &self.config.alerts,
                source.remind_every,
                source.attestation.as_deref().filter(|_| parent.is_none()),
            ),
            follow: None,
            via: None,
        }
    }

    /// The sources quarantined now, each with the time it may be fetched
    /// again: [`QUARANTINE_AFTER`] crashes in a row, and its next scheduled
    /// time after the last one still to come.
    pub(super) async fn quarantined(&self) -> HashMap<String, DateTime<Utc>> {
        let counts = match self.store.call(|store| store.crash_counts()).await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!("cannot read the crash counts: {e}");
                return HashMap::new();
            }
        };
        let now = clock::now();
        counts
            .into_iter()
            .filter(|(_, count)| count.crashes >= QUARANTINE_AFTER)
            .filter_map(|(id, count)| {
                let source = self.config.source(configured_id(&id))?;
                let schedule = source
                    .schedule
                    .as_deref()
                    .unwrap_or(&self.config.daemon.schedule);
                let crashed_at = DateTime::parse_from_rfc3339(&count.crashed_at).ok()?;
                let until = schedule.next_after(crashed_at.with_timezone(&Utc))?;
                (until > now).then_some((id, until))
            })
            .collect()
    }
}

fn crash_message(mark: &CrashMark) -> String {
    let crashes = mark.crashes.saturating_add(1);
    let quarantine = if crashes >= QUARANTINE_AFTER {
        format!("; {crashes} crashes in a row: quarantined until its next scheduled time")
    } else {
        String::new()
    };
    format!(
        "the scopewatch process extracting this page (pid {}) died (out of memory, killed or aborted) since {}; not fetched again before its next scheduled time{quarantine}",
        mark.owner.split(' ').next().unwrap_or("?"),
        mark.since
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not() {
        assert!(alive(&THIS_PROCESS));
        let pid = std::process::id();
        let started = start_time(pid).unwrap();
        assert!(alive(&format!("{pid} {started}")));
        assert!(!alive(&format!("{pid} {}", started + 1)));
        assert!(!alive("4194305 1"), "above the kernel's largest pid");
        assert!(!alive("garbage"));
    }

    #[test]
    fn followed_pages_take_their_parents_settings() {
        assert_eq!(configured_id("bot~h.example-a"), "bot");
        assert_eq!(configured_id("bot"), "bot");
    }
}
