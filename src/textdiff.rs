//! Text diffs and how events sum a change up: the unified diff of two
//! normalised texts with its line counts, and the one-line summaries of a
//! content and a scope change. Pure: `detect` writes them into events,
//! `verify` recomputes them from the stored texts, `diff` prints them.

use crate::scope::{ScopeDiff, ScopeEntry, ScopeRename};

/// A `content` event's summary and unified diff for two normalised texts
/// of records `from` and `to`: what the sweep stored, and what `verify`
/// recomputes from the two stored texts.
pub fn content_change(previous: &str, current: &str, from: i64, to: i64) -> (String, String) {
    let (added, removed, diff) = unified_diff(previous, current, from, to);
    (content_summary(added, removed), diff)
}

/// "content changed: 3 lines added, 1 removed".
pub fn content_summary(added: usize, removed: usize) -> String {
    format!(
        "content changed: {} added, {removed} removed",
        crate::wording::counted(added, "line", "lines")
    )
}

/// The lines a unified diff adds and removes (those inside its hunks).
pub fn diff_line_counts(diff: &str) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    let hunks = diff.lines().skip_while(|line| !line.starts_with("@@"));
    for line in hunks {
        if line.starts_with('+') {
            added += 1;
        } else if line.starts_with('-') {
            removed += 1;
        }
    }
    (added, removed)
}

/// "scope changed: 2 certifications renamed, 3 added, 1 removed (…)".
pub fn scope_summary(diff: &ScopeDiff) -> String {
    let certifications: Vec<(&str, &str)> = diff.certification_renames().collect();
    let entries: Vec<(&ScopeEntry, &ScopeEntry)> = diff
        .renamed
        .iter()
        .filter_map(ScopeRename::entries)
        .collect();
    let mut parts = Vec::new();
    for (count, what) in [
        (certifications.len(), "certifications renamed"),
        (diff.added.len(), "added"),
        (diff.removed.len(), "removed"),
        (entries.len(), "renamed"),
    ] {
        if count == 1 && what == "certifications renamed" {
            parts.push("1 certification renamed".to_string());
        } else if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    let examples: Vec<String> = certifications
        .iter()
        .map(|(from, to)| format!("{from} → {to}"))
        .chain(diff.added.iter().map(|e| format!("+ {e}")))
        .chain(diff.removed.iter().map(|e| format!("- {e}")))
        .chain(entries.iter().map(|(from, to)| format!("{from} → {to}")))
        .take(3)
        .collect();
    let skipped = match &diff.renames_skipped {
        Some(why) => format!("; certification renames not looked for: {why}"),
        None => String::new(),
    };
    format!(
        "scope changed: {} ({}){skipped}",
        parts.join(", "),
        examples.join("; ")
    )
}

/// A unified diff (3 lines of context) of two normalised texts, with the
/// counts of added and removed lines.
pub fn unified_diff(old: &str, new: &str, from: i64, to: i64) -> (usize, usize, String) {
    unified_diff_labelled(
        old,
        new,
        &format!("snapshot {from}"),
        &format!("snapshot {to}"),
    )
}

/// [`unified_diff`] with the `---` and `+++` lines naming the sides as given.
pub fn unified_diff_labelled(old: &str, new: &str, from: &str, to: &str) -> (usize, usize, String) {
    let diff = similar::TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string();
    (added, removed, text)
}
