//! Scope changes as sets of text lines, to compare what a transition
//! reported with what its fixture's `expected-scope.txt` says it changed,
//! and to score a series of transitions (transitions right, pair recall
//! and precision).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use scopewatch::scope::ScopeDiff;

/// One change of a transition, as text: `+ CERT | SERVICE` added, `- CERT |
/// SERVICE` removed, `~ CERT | SERVICE -> CERT | SERVICE` an entry renamed,
/// `~ CERT -> CERT` a certification renamed (its services compared under
/// the new name).
pub type Change = String;

/// The changes a diff reports.
pub fn diff_changes(diff: &ScopeDiff) -> BTreeSet<Change> {
    json_changes(&serde_json::to_value(diff).unwrap())
}

/// The changes of a scope event or diff as JSON (`added`, `removed` and
/// `renamed`, as `changes --json` prints them).
pub fn json_changes(json: &serde_json::Value) -> BTreeSet<Change> {
    let entry = |v: &serde_json::Value| match v["service"].as_str() {
        Some(service) => format!("{} | {service}", v["certification"].as_str().unwrap()),
        None => v["certification"].as_str().unwrap().to_string(),
    };
    let list = |field: &str| json[field].as_array().cloned().unwrap_or_default();
    let mut changes = BTreeSet::new();
    for (field, mark) in [("added", "+"), ("removed", "-")] {
        for v in list(field) {
            changes.insert(format!("{mark} {}", entry(&v)));
        }
    }
    for r in list("renamed") {
        changes.insert(format!("~ {} -> {}", entry(&r["from"]), entry(&r["to"])));
    }
    changes
}

/// What a transition reported wrong: "LABEL: missing [...], not expected
/// [...]".
pub fn mismatch(label: &str, want: &BTreeSet<Change>, got: &BTreeSet<Change>) -> String {
    format!(
        "{label}: missing {:?}, not expected {:?}",
        want.difference(got).collect::<Vec<_>>(),
        got.difference(want).collect::<Vec<_>>()
    )
}

/// A fixture's expected changes, per version after the first: the file
/// `expected-scope.txt` beside the versions, written by reading them. A
/// line `= FILE` starts the transition to FILE; the change lines after it
/// (see [`Change`]) are what it changed; `#` lines are comments.
pub fn expected_changes(dir: &Path) -> Vec<(String, BTreeSet<Change>)> {
    let text = fs::read_to_string(dir.join("expected-scope.txt")).unwrap();
    let mut transitions: Vec<(String, BTreeSet<Change>)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        match line.strip_prefix("= ") {
            Some(file) => transitions.push((file.trim().to_string(), BTreeSet::new())),
            None => {
                let (_, changes) = transitions
                    .last_mut()
                    .unwrap_or_else(|| panic!("{}: a change before any `= FILE`", dir.display()));
                assert!(
                    ["+ ", "- ", "~ "].iter().any(|m| line.starts_with(m)),
                    "{}: not a change: {line}",
                    dir.display()
                );
                assert!(changes.insert(line.to_string()), "twice: {line}");
            }
        }
    }
    transitions
}

/// Asserts that `expected` names the versions after the first, in order
/// (`versions` are (file name, anything) pairs of `what`).
pub fn assert_names_each_transition<T>(
    expected: &[(String, BTreeSet<Change>)],
    versions: &[(String, T)],
    what: &str,
) {
    assert_eq!(
        expected.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        versions
            .iter()
            .skip(1)
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>(),
        "{what}: expected-scope.txt names every version after the first"
    );
}

/// How reported changes compare with the expected ones over transitions.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub transitions: usize,
    /// Transitions classified right: a change where one was expected, none
    /// where none was.
    pub classified: usize,
    /// Transitions whose reported changes are exactly the expected ones.
    pub right: usize,
    pub expected: usize,
    pub reported: usize,
    /// Reported changes that were expected.
    pub matched: usize,
}

impl Score {
    pub fn add(&mut self, expected: &BTreeSet<Change>, reported: &BTreeSet<Change>) {
        self.transitions += 1;
        self.classified += usize::from(expected.is_empty() == reported.is_empty());
        self.right += usize::from(expected == reported);
        self.expected += expected.len();
        self.reported += reported.len();
        self.matched += expected.intersection(reported).count();
    }

    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.matched as f64 / self.expected as f64
        }
    }

    pub fn precision(&self) -> f64 {
        if self.reported == 0 {
            1.0
        } else {
            self.matched as f64 / self.reported as f64
        }
    }

    pub fn merge(&mut self, other: Score) {
        self.transitions += other.transitions;
        self.classified += other.classified;
        self.right += other.right;
        self.expected += other.expected;
        self.reported += other.reported;
        self.matched += other.matched;
    }

    /// "classified 12/12, exact 12/12, 533 pairs, recall 1.000, precision
    /// 1.000".
    pub fn line(&self) -> String {
        format!(
            "classified {}/{}, exact {}/{}, {} pairs, recall {:.3}, precision {:.3}",
            self.classified,
            self.transitions,
            self.right,
            self.transitions,
            self.expected,
            self.recall(),
            self.precision()
        )
    }
}
