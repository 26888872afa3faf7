//! Comparing two scope sets: what was added, removed or renamed, and how
//! much it matters.
//!
//! A removed entry and an added entry are one rename when, after applying
//! the aliases to the removed one, they have the same certification and
//! either the same service (the old snapshot was taken before the alias
//! existed, or a certification column was renamed) or the added service's
//! "(formerly X)" note names the removed service. Anything else is a
//! removal plus an addition: "SharePoint Online" becoming "SharePoint
//! Online (United States)" without a note is reported that way unless an
//! alias joins them.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::names::{alias, base_name, strip_markup};
use super::{ScopeEntry, ScopeSet, ScopeSettings};

/// An entry that changed its name: the same scope under a new spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScopeRename {
    pub from: ScopeEntry,
    pub to: ScopeEntry,
}

/// The difference between a source's previous and current scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDiff {
    pub added: Vec<ScopeEntry>,
    pub removed: Vec<ScopeEntry>,
    pub renamed: Vec<ScopeRename>,
}

impl ScopeDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.renamed.is_empty()
    }
}

/// How much a scope change matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Only additions and renames (or nothing).
    Low,
    /// A service left a certification's scope.
    Medium,
    /// A watched service was added, removed or renamed.
    High,
}

impl Severity {
    /// Parses `low`, `medium` or `high`.
    pub fn parse(written: &str) -> Result<Severity, String> {
        match written {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            other => Err(format!(
                "unknown severity {other:?}: write \"low\", \"medium\" or \"high\""
            )),
        }
    }

    /// The name used in the database and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Compares two sets. Lists come out sorted.
pub fn diff_scope(previous: &ScopeSet, current: &ScopeSet, settings: &ScopeSettings) -> ScopeDiff {
    let (removed, added) = one_sided(previous.entries(), current.entries());

    // (certification, name) → index in `added`, for the current name and
    // every former name of each added entry.
    let mut by_name: HashMap<(&str, &str), usize> = HashMap::with_capacity(added.len());
    for (i, a) in added.iter().enumerate() {
        by_name
            .entry((a.certification.as_str(), a.service.as_str()))
            .or_insert(i);
        for old in current.former_names(&a.service) {
            by_name.entry((a.certification.as_str(), old)).or_insert(i);
        }
    }
    // The same, ignoring case and what names are cleaned of: a page that
    // recases a name ("Azure Bot service" → "Azure Bot Service") renames
    // it, and so does a set stored before a cleaning rule was added
    // ("Microsoft Teams®" → "Microsoft Teams").
    let folded = |certification: &str, service: &str| {
        (
            certification.to_lowercase(),
            strip_markup(service).to_lowercase(),
        )
    };
    let mut by_folded_name: HashMap<(String, String), usize> = HashMap::new();
    for (i, a) in added.iter().enumerate() {
        by_folded_name
            .entry(folded(&a.certification, &a.service))
            .or_insert(i);
    }
    let mut used = vec![false; added.len()];
    let mut diff = ScopeDiff::default();
    for r in removed {
        let cert = alias(&r.certification, settings);
        let service = alias(&r.service, settings);
        let hit = [(cert, service), (cert, r.service.as_str())]
            .into_iter()
            .filter_map(|key| by_name.get(&key).copied())
            .chain(by_folded_name.get(&folded(cert, service)).copied())
            .find(|&i| !used[i]);
        match hit {
            Some(i) => {
                used[i] = true;
                diff.renamed.push(ScopeRename {
                    from: r.clone(),
                    to: added[i].clone(),
                });
            }
            None => diff.removed.push(r.clone()),
        }
    }
    diff.added = added
        .into_iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(a, _)| a.clone())
        .collect();
    diff.renamed.sort();
    diff
}

/// The entries only in `previous` and those only in `current`, from one
/// walk of both (a set's entries are sorted and distinct).
fn one_sided<'a>(
    previous: &'a [ScopeEntry],
    current: &'a [ScopeEntry],
) -> (Vec<&'a ScopeEntry>, Vec<&'a ScopeEntry>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut before, mut now) = (previous.iter().peekable(), current.iter().peekable());
    while let (Some(&old), Some(&new)) = (before.peek(), now.peek()) {
        match old.cmp(new) {
            Ordering::Less => {
                removed.push(old);
                before.next();
            }
            Ordering::Greater => {
                added.push(new);
                now.next();
            }
            Ordering::Equal => {
                before.next();
                now.next();
            }
        }
    }
    removed.extend(before);
    added.extend(now);
    (removed, added)
}

/// Whether a stored service name is one of the watched services: equal
/// (ignoring case) to a watched name or its alias, with or without trailing
/// qualifiers ("Exchange Online (GCC High)" is "Exchange Online").
pub fn is_watched(service: &str, settings: &ScopeSettings) -> bool {
    let base = base_name(service);
    settings.watch.iter().any(|w| {
        let canonical = alias(w, settings);
        [w.as_str(), canonical]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(service) || n.eq_ignore_ascii_case(base))
    })
}

/// High when a watched service is touched, else Medium when a service left
/// a scope, else Low.
pub fn severity(diff: &ScopeDiff, settings: &ScopeSettings) -> Severity {
    let touched = diff
        .added
        .iter()
        .chain(&diff.removed)
        .chain(diff.renamed.iter().flat_map(|r| [&r.from, &r.to]));
    if touched
        .into_iter()
        .any(|e| is_watched(&e.service, settings))
    {
        Severity::High
    } else if !diff.removed.is_empty() {
        Severity::Medium
    } else {
        Severity::Low
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scope::{RawScopeSettings, ScopeSetBuilder};

    fn settings() -> ScopeSettings {
        ScopeSettings::from_raw(RawScopeSettings {
            watch: Some(vec!["Azure Bot Service".into(), "Exchange Online".into()]),
            aliases: Some(BTreeMap::from([
                (
                    "Azure Sentinel".to_string(),
                    "Microsoft Sentinel".to_string(),
                ),
                ("ISO 27001:2013".to_string(), "ISO/IEC 27001".to_string()),
            ])),
        })
        .unwrap()
    }

    fn e(c: &str, s: &str) -> ScopeEntry {
        ScopeEntry::new(c, s)
    }

    #[test]
    fn aliases_and_formerly_notes_give_renames() {
        let previous = ScopeSet::from_entries([
            e("SOC 2", "Azure Sentinel"),
            e("SOC 2", "Azure Search"),
            e("ISO 27001:2013", "Intune"),
            e("SOC 2", "Microsoft Graph"),
        ]);
        let mut b = ScopeSetBuilder::default();
        b.insert(e("SOC 2", "Microsoft Sentinel"));
        b.insert(e("SOC 2", "Azure Cognitive Search"));
        b.former("Azure Cognitive Search", "Azure Search".into());
        b.insert(e("ISO/IEC 27001", "Intune"));
        b.insert(e("SOC 2", "Windows 365"));
        let current = b.finish();
        let diff = diff_scope(&previous, &current, &settings());
        assert_eq!(diff.added, vec![e("SOC 2", "Windows 365")]);
        assert_eq!(diff.removed, vec![e("SOC 2", "Microsoft Graph")]);
        assert_eq!(
            diff.renamed,
            vec![
                ScopeRename {
                    from: e("ISO 27001:2013", "Intune"),
                    to: e("ISO/IEC 27001", "Intune"),
                },
                ScopeRename {
                    from: e("SOC 2", "Azure Search"),
                    to: e("SOC 2", "Azure Cognitive Search"),
                },
                ScopeRename {
                    from: e("SOC 2", "Azure Sentinel"),
                    to: e("SOC 2", "Microsoft Sentinel"),
                },
            ]
        );
        assert_eq!(severity(&diff, &settings()), Severity::Medium);
        assert!(diff_scope(&current, &current, &settings()).is_empty());
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(json["renamed"][0]["from"]["service"], "Intune");
        assert_eq!(json["added"][0]["certification"], "SOC 2");
    }

    #[test]
    fn without_a_note_a_rename_is_a_removal_and_an_addition() {
        let previous = ScopeSet::from_entries([e("PCI DSS", "SharePoint Online (Commercial)")]);
        let current = ScopeSet::from_entries([e(
            "PCI DSS",
            "SharePoint Online (United States) (Commercial)",
        )]);
        let diff = diff_scope(&previous, &current, &ScopeSettings::default());
        assert_eq!(diff.removed.len(), 1);
        assert_eq!(diff.added.len(), 1);
        assert!(diff.renamed.is_empty());
    }

    #[test]
    fn a_name_recased_or_cleaned_is_a_rename() {
        for before in ["Azure Bot service", "Azure Bot Service®"] {
            let previous = ScopeSet::from_entries([e("PCI DSS", before)]);
            let current = ScopeSet::from_entries([e("PCI DSS", "Azure Bot Service")]);
            let diff = diff_scope(&previous, &current, &ScopeSettings::default());
            assert!(diff.removed.is_empty() && diff.added.is_empty(), "{diff:?}");
            assert_eq!(diff.renamed.len(), 1);
            assert_eq!(diff.renamed[0].to.service, "Azure Bot Service");
        }
    }

    #[test]
    fn severity_is_high_when_a_watched_service_is_touched() {
        let s = settings();
        let diff = ScopeDiff {
            added: vec![e("FedRAMP", "Exchange Online (GCC High)")],
            ..ScopeDiff::default()
        };
        assert_eq!(severity(&diff, &s), Severity::High);
        let diff = ScopeDiff {
            removed: vec![e("PCI DSS", "Azure Bot Service (Azure Government)")],
            ..ScopeDiff::default()
        };
        assert_eq!(severity(&diff, &s), Severity::High);
        let diff = ScopeDiff {
            added: vec![e("HIPAA", "Windows 365")],
            ..ScopeDiff::default()
        };
        assert_eq!(severity(&diff, &s), Severity::Low);
        assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
    }

    #[test]
    fn one_sided_walks_both_sorted_lists() {
        let e = |c: &str, s: &str| ScopeEntry::new(c, s);
        let previous = [e("A", "1"), e("A", "2"), e("B", "1"), e("C", "9")];
        let current = [
            e("A", "0"),
            e("A", "2"),
            e("B", "1"),
            e("B", "2"),
            e("D", "1"),
        ];
        let (removed, added) = one_sided(&previous, &current);
        assert_eq!(removed, [&e("A", "1"), &e("C", "9")]);
        assert_eq!(added, [&e("A", "0"), &e("B", "2"), &e("D", "1")]);
        assert_eq!(one_sided(&previous, &[]).0.len(), 4);
        assert_eq!(one_sided(&[], &current).1.len(), 5);
    }
}
