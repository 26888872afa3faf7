//! Line diffs with the changed words within changed lines marked: as text
//! for `diff --word` (`[-removed-]`, `{+added+}`, the marks `git diff
//! --word-diff=plain` uses), and as hunks of rows for the web view's side
//! by side and inline renderings. Both come from one pass of `similar`,
//! under a deadline so that two large, very different texts cannot hold a
//! request: past it the diff is coarser (whole lines), never wrong.

use std::time::Duration;

use similar::udiff::UnifiedHunkHeader;
use similar::{ChangeTag, TextDiff};

/// The longest the diff may search for a minimal answer (see the module
/// doc). A page of ~10,000 lines diffs in well under this.
const DEADLINE: Duration = Duration::from_secs(2);

/// Lines of unchanged text kept around each change.
pub const CONTEXT: usize = 3;

/// A piece of a line: changed (emphasised) or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub changed: bool,
}

/// One line of one side, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub segments: Vec<Segment>,
}

/// A row of a hunk: an unchanged line, or a block of lines changed
/// together (removed lines, added lines, or both for a replacement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Same {
        old: usize,
        new: usize,
        text: String,
    },
    Changed {
        removed: Vec<Line>,
        added: Vec<Line>,
    },
}

/// Changes near each other, with their context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// `@@ -a,b +c,d @@`.
    pub header: String,
    pub rows: Vec<Row>,
}

/// The hunks between `old` and `new`.
pub fn hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = TextDiff::configure().timeout(DEADLINE).diff_lines(old, new);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let header = UnifiedHunkHeader::new(&group).to_string();
        let mut rows: Vec<Row> = Vec::new();
        for op in &group {
            let mut block: Option<(Vec<Line>, Vec<Line>)> = None;
            for change in diff.iter_inline_changes(op) {
                let segments: Vec<Segment> = change
                    .iter_strings_lossy()
                    .map(|(changed, text)| Segment {
                        text: text.trim_end_matches(['\n', '\r']).to_string(),
                        changed,
                    })
                    .filter(|s| !s.text.is_empty())
                    .collect();
                let segments = joined(segments);
                match change.tag() {
                    ChangeTag::Equal => rows.push(Row::Same {
                        old: change.old_index().map_or(0, |i| i + 1),
                        new: change.new_index().map_or(0, |i| i + 1),
                        text: segments.into_iter().map(|s| s.text).collect(),
                    }),
                    ChangeTag::Delete => block.get_or_insert_default().0.push(Line {
                        number: change.old_index().map_or(0, |i| i + 1),
                        segments,
                    }),
                    ChangeTag::Insert => block.get_or_insert_default().1.push(Line {
                        number: change.new_index().map_or(0, |i| i + 1),
                        segments,
                    }),
                }
            }
            if let Some((removed, added)) = block {
                rows.push(Row::Changed { removed, added });
            }
        }
        hunks.push(Hunk { header, rows });
    }
    hunks
}

/// The segments with changed runs joined: a space between two changed
/// words is part of the change (`[-ISO 27001-]`, not `[-ISO-] [-27001-]`).
fn joined(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for (index, mut segment) in segments.iter().cloned().enumerate() {
        let between_changes = !segment.changed
            && segment.text.trim().is_empty()
            && index > 0
            && segments[index - 1].changed
            && segments.get(index + 1).is_some_and(|next| next.changed);
        segment.changed |= between_changes;
        match out.last_mut() {
            Some(last) if last.changed == segment.changed => last.text.push_str(&segment.text),
            _ => out.push(segment),
        }
    }
    out
}

/// A unified diff of `old` and `new` whose changed words are marked, with
/// `---`/`+++` lines naming the sides; also the lines added and removed.
pub fn unified(old: &str, new: &str, from: &str, to: &str) -> (usize, usize, String) {
    let hunks = hunks(old, new);
    let (mut added, mut removed) = (0, 0);
    let mut out = String::new();
    if hunks.is_empty() {
        return (0, 0, out);
    }
    out.push_str(&format!("--- {from}\n+++ {to}\n"));
    for hunk in &hunks {
        out.push_str(&hunk.header);
        out.push('\n');
        for row in &hunk.rows {
            match row {
                Row::Same { text, .. } => {
                    out.push(' ');
                    out.push_str(text);
                    out.push('\n');
                }
                Row::Changed {
                    removed: old_lines,
                    added: new_lines,
                } => {
                    removed += old_lines.len();
                    added += new_lines.len();
                    for (sign, lines, open, close) in
                        [('-', old_lines, "[-", "-]"), ('+', new_lines, "{+", "+}")]
                    {
                        for line in lines {
                            out.push(sign);
                            for segment in &line.segments {
                                if segment.changed {
                                    out.push_str(open);
                                    out.push_str(&segment.text);
                                    out.push_str(close);
                                } else {
                                    out.push_str(&segment.text);
                                }
                            }
                            out.push('\n');
                        }
                    }
                }
            }
        }
    }
    (added, removed, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_marked_within_changed_lines() {
        let old = "Scope\nAzure Bot Service is in scope of ISO 27001\nend\n";
        let new = "Scope\nAzure Bot Service is in scope of SOC 2\nend\n";
        let (added, removed, text) = unified(old, new, "a", "b");
        assert_eq!((added, removed), (1, 1));
        assert!(
            text.starts_with("--- a\n+++ b\n@@ -1,3 +1,3 @@\n Scope\n"),
            "{text}"
        );
        assert!(
            text.contains("-Azure Bot Service is in scope of [-ISO 27001-]\n"),
            "{text}"
        );
        assert!(
            text.contains("+Azure Bot Service is in scope of {+SOC 2+}\n"),
            "{text}"
        );
    }

    #[test]
    fn equal_texts_have_no_hunks() {
        assert!(hunks("a\nb\n", "a\nb\n").is_empty());
        assert_eq!(unified("a\n", "a\n", "x", "y").2, "");
    }

    #[test]
    fn a_replacement_keeps_both_sides_in_one_block() {
        let hunks = hunks("a\nb\nc\n", "a\nB\nc\nd\n");
        let rows = &hunks[0].rows;
        assert!(
            matches!(&rows[1], Row::Changed { removed, added } if removed.len() == 1 && added.len() == 1 && added[0].number == 2)
        );
        assert!(
            matches!(&rows[3], Row::Changed { removed, added } if removed.is_empty() && added[0].number == 4)
        );
    }
}
