//! Comparing two scope sets: what was added, removed or renamed, and how
//! much it matters.
//!
//! Certifications first: one the previous set had and the current one has
//! under another name (found by [`rename`](super::rename), or given by
//! `[scope] aliases`) is one certification-level rename, and its services
//! are then compared under the new name. Then services: a removed entry and
//! an added entry are one rename when, after applying the aliases to the
//! removed one, they have the same certification and either the same
//! service (the old snapshot was taken before the alias existed), the same
//! service but for case and what names are cleaned of, or the added
//! service's "(formerly X)" note names the removed service. Anything else
//! is a removal plus an addition: "SharePoint Online" becoming "SharePoint
//! Online (United States)" without a note is reported that way unless an
//! alias joins them.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::names::{alias, base_name, strip_markup};
use super::rename::{Pairing, pair_certifications};
use super::{ScopeEntry, ScopeSet, ScopeSettings};

/// A certification's name, as a certification-level rename names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationName {
    pub certification: String,
}

/// The same scope under a new name: a whole certification renamed (in JSON
/// `{"from": {"certification"}, "to": {"certification"}}`, one per
/// certification), or one entry (`{"from": {"certification", "service"},
/// "to": {…}}`). Certification renames sort first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScopeRename {
    Certification {
        from: CertificationName,
        to: CertificationName,
    },
    Entry {
        from: ScopeEntry,
        to: ScopeEntry,
    },
}

impl ScopeRename {
    /// A certification renamed from `from` to `to`.
    pub fn certification(from: impl Into<String>, to: impl Into<String>) -> ScopeRename {
        ScopeRename::Certification {
            from: CertificationName {
                certification: from.into(),
            },
            to: CertificationName {
                certification: to.into(),
            },
        }
    }

    /// The entries an entry rename names (none for a certification).
    pub fn entries(&self) -> Option<(&ScopeEntry, &ScopeEntry)> {
        match self {
            ScopeRename::Entry { from, to } => Some((from, to)),
            ScopeRename::Certification { .. } => None,
        }
    }
}

/// The difference between a source's previous and current scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDiff {
    pub added: Vec<ScopeEntry>,
    pub removed: Vec<ScopeEntry>,
    pub renamed: Vec<ScopeRename>,
    /// Why certification renames were not looked for: the version dropped
    /// and added more certifications than pairing weighs (see
    /// [`rename::MAX_CANDIDATES`](super::rename::MAX_CANDIDATES)). Not a
    /// change itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renames_skipped: Option<String>,
}

impl ScopeDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.renamed.is_empty()
    }

    /// The certification-level renames: (old name, new name).
    pub fn certification_renames(&self) -> impl Iterator<Item = (&str, &str)> {
        self.renamed.iter().filter_map(|r| match r {
            ScopeRename::Certification { from, to } => {
                Some((from.certification.as_str(), to.certification.as_str()))
            }
            ScopeRename::Entry { .. } => None,
        })
    }
}

impl ScopeDiff {
    /// Why this diff cannot be the one between `previous` and `current`
    /// under any settings, if so: whatever `[scope] aliases` paired, the
    /// certification renames must turn `previous`'s names into
    /// `current`'s, and then every entry only in the (renamed) previous
    /// set must be removed or the old side of an entry rename, every entry
    /// only in the current one added or the new side of one, each once,
    /// and nothing else. `verify` checks stored events with it where the
    /// settings they were detected with are not known.
    pub fn unexplained_by(&self, previous: &ScopeSet, current: &ScopeSet) -> Option<String> {
        let renamed: HashMap<&str, &str> = self.certification_renames().collect();
        for (from, to) in &renamed {
            if !previous.entries().iter().any(|e| e.certification == *from)
                || !current.entries().iter().any(|e| e.certification == *to)
            {
                return Some(format!(
                    "it renames certification {from:?} to {to:?}, which the two scope sets do not hold"
                ));
            }
        }
        let under_new_names = |e: &ScopeEntry| {
            ScopeEntry::new(
                renamed
                    .get(e.certification.as_str())
                    .copied()
                    .unwrap_or(&e.certification),
                e.service.as_str(),
            )
        };
        let before: BTreeSet<ScopeEntry> = previous.entries().iter().map(under_new_names).collect();
        let now: BTreeSet<&ScopeEntry> = current.entries().iter().collect();
        let gone: BTreeSet<&ScopeEntry> = before.iter().filter(|e| !now.contains(e)).collect();
        let came: BTreeSet<&ScopeEntry> = now
            .iter()
            .copied()
            .filter(|e| !before.contains(*e))
            .collect();
        let entry_renames: Vec<(&ScopeEntry, &ScopeEntry)> = self
            .renamed
            .iter()
            .filter_map(ScopeRename::entries)
            .collect();
        let old_sides: Vec<ScopeEntry> = self
            .removed
            .iter()
            .cloned()
            .chain(entry_renames.iter().map(|(from, _)| under_new_names(from)))
            .collect();
        let new_sides: Vec<&ScopeEntry> = self
            .added
            .iter()
            .chain(entry_renames.iter().map(|(_, to)| *to))
            .collect();
        let listed_gone: BTreeSet<&ScopeEntry> = old_sides.iter().collect();
        let listed_came: BTreeSet<&ScopeEntry> = new_sides.iter().copied().collect();
        if listed_gone != gone || old_sides.len() != gone.len() {
            return Some(format!(
                "its removed entries and renamed-from entries ({}) are not the {} entries that left the scope",
                old_sides.len(),
                gone.len()
            ));
        }
        if listed_came != came || new_sides.len() != came.len() {
            return Some(format!(
                "its added entries and renamed-to entries ({}) are not the {} entries that entered the scope",
                new_sides.len(),
                came.len()
            ));
        }
        None
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
    // A certification can only have been renamed when entries left and
    // others came: most versions (unchanged, a few services more or less)
    // need no pairing.
    let (removed, added) = one_sided(previous.entries(), current.entries());
    let Pairing { pairs, skipped } = if removed.is_empty() || added.is_empty() {
        Pairing::default()
    } else {
        pair_certifications(previous, current, settings)
    };
    if pairs.is_empty() {
        return ScopeDiff {
            renames_skipped: skipped,
            ..diff_entries(previous, current, settings)
        };
    }
    // The previous set under the new certification names.
    let renamed: HashMap<&str, &str> = pairs
        .iter()
        .map(|p| (p.from.as_str(), p.to.as_str()))
        .collect();
    let mut builder = super::ScopeSetBuilder::unbounded();
    for e in previous.entries() {
        let cert = renamed
            .get(e.certification.as_str())
            .copied()
            .unwrap_or(&e.certification);
        builder.insert(ScopeEntry::new(cert, e.service.as_str()));
        for old in previous.former_names(&e.service) {
            builder.former(&e.service, old.to_string());
        }
    }
    let mut diff = diff_entries(&builder.finish(), current, settings);
    // An entry renamed under a renamed certification was under its old name.
    let old_name: HashMap<&str, &str> = pairs
        .iter()
        .map(|p| (p.to.as_str(), p.from.as_str()))
        .collect();
    for rename in &mut diff.renamed {
        if let ScopeRename::Entry { from, .. } = rename
            && let Some(old) = old_name.get(from.certification.as_str())
        {
            from.certification = (*old).to_string();
        }
    }
    let mut renames: Vec<ScopeRename> = pairs
        .into_iter()
        .map(|p| ScopeRename::certification(p.from, p.to))
        .collect();
    renames.append(&mut diff.renamed);
    renames.sort();
    diff.renamed = renames;
    diff.renames_skipped = skipped;
    diff
}

/// Compares two sets entry by entry (see the module doc).
fn diff_entries<'a>(
    previous: &'a ScopeSet,
    current: &'a ScopeSet,
    settings: &'a ScopeSettings,
) -> ScopeDiff {
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
    // Each certification folded once: a page has a few dozen, and a
    // hundred thousand entries under them.
    let mut folded_certifications: HashMap<&str, String> = HashMap::new();
    let mut folded = |certification: &'a str, service: &str| {
        let certification = folded_certifications
            .entry(certification)
            .or_insert_with(|| certification.to_lowercase())
            .clone();
        (certification, strip_markup(service).to_lowercase())
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
                diff.renamed.push(ScopeRename::Entry {
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
    let touched = diff.added.iter().chain(&diff.removed).chain(
        diff.renamed
            .iter()
            .filter_map(ScopeRename::entries)
            .flat_map(|(from, to)| [from, to]),
    );
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
                // The aliased certification: one rename, not one per service.
                ScopeRename::certification("ISO 27001:2013", "ISO/IEC 27001"),
                ScopeRename::Entry {
                    from: e("SOC 2", "Azure Search"),
                    to: e("SOC 2", "Azure Cognitive Search"),
                },
                ScopeRename::Entry {
                    from: e("SOC 2", "Azure Sentinel"),
                    to: e("SOC 2", "Microsoft Sentinel"),
                },
            ]
        );
        assert_eq!(severity(&diff, &settings()), Severity::Medium);
        assert!(diff_scope(&current, &current, &settings()).is_empty());
        // Whatever the aliases paired, the lists explain the two sets...
        assert_eq!(diff.unexplained_by(&previous, &current), None);
        // ...and lists that leave an entry out, or add one, do not.
        let mut short = diff.clone();
        short.removed.clear();
        assert!(short.unexplained_by(&previous, &current).is_some());
        let mut long = diff.clone();
        long.added.push(e("SOC 2", "Compute"));
        assert!(long.unexplained_by(&previous, &current).is_some());
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(
            json["renamed"][0],
            serde_json::json!({"from": {"certification": "ISO 27001:2013"}, "to": {"certification": "ISO/IEC 27001"}})
        );
        assert_eq!(json["renamed"][1]["from"]["service"], "Azure Search");
        assert_eq!(json["added"][0]["certification"], "SOC 2");
        let back: ScopeDiff = serde_json::from_value(json).unwrap();
        assert_eq!(back, diff);
    }

    #[test]
    fn a_renamed_certification_is_one_rename_then_its_real_changes() {
        // "DoD CC SRG IL 2" written "DoD IL2", in the same edit as a
        // service left and two came; "FedRAMP Moderate" left whole.
        let previous = ScopeSet::from_entries([
            e("DoD CC SRG IL 2", "Azure Files"),
            e("DoD CC SRG IL 2", "Azure Maps"),
            e("DoD CC SRG IL 2", "Azure Monitor"),
            e("FedRAMP Moderate", "Azure Files"),
            e("FedRAMP High", "Azure Files"),
        ]);
        let current = ScopeSet::from_entries([
            e("DoD IL2", "Azure Files"),
            e("DoD IL2", "Azure Maps"),
            e("DoD IL2", "Azure Bot Service"),
            e("DoD IL2", "Azure Cosmos DB"),
            e("FedRAMP High", "Azure Files"),
        ]);
        let diff = diff_scope(&previous, &current, &settings());
        assert_eq!(
            diff.renamed,
            [ScopeRename::certification("DoD CC SRG IL 2", "DoD IL2")]
        );
        assert_eq!(
            diff.added,
            [
                e("DoD IL2", "Azure Bot Service"),
                e("DoD IL2", "Azure Cosmos DB")
            ]
        );
        assert_eq!(
            diff.removed,
            [
                e("DoD IL2", "Azure Monitor"),
                e("FedRAMP Moderate", "Azure Files")
            ]
        );
        assert_eq!(diff.certification_renames().count(), 1);
        assert_eq!(diff.unexplained_by(&previous, &current), None);
        let mut unrenamed = diff.clone();
        unrenamed.renamed.clear();
        assert!(unrenamed.unexplained_by(&previous, &current).is_some());
        // The watched Azure Bot Service came in under the new name.
        assert_eq!(severity(&diff, &settings()), Severity::High);
        // A rename alone touches no service.
        let renamed_only = ScopeDiff {
            renamed: diff.renamed.clone(),
            ..ScopeDiff::default()
        };
        assert_eq!(severity(&renamed_only, &settings()), Severity::Low);
    }

    #[test]
    fn an_entry_renamed_under_a_renamed_certification_names_both_old_names() {
        let previous = ScopeSet::from_entries([
            e("DoD CC SRG IL 2", "Azure Search"),
            e("DoD CC SRG IL 2", "Azure Files"),
        ]);
        let mut b = ScopeSetBuilder::default();
        b.insert(e("DoD IL2", "Azure AI Search"));
        b.former("Azure AI Search", "Azure Search".into());
        b.insert(e("DoD IL2", "Azure Files"));
        let current = b.finish();
        let diff = diff_scope(&previous, &current, &ScopeSettings::default());
        assert_eq!(diff.unexplained_by(&previous, &current), None);
        assert_eq!(
            diff.renamed,
            [
                ScopeRename::certification("DoD CC SRG IL 2", "DoD IL2"),
                ScopeRename::Entry {
                    from: e("DoD CC SRG IL 2", "Azure Search"),
                    to: e("DoD IL2", "Azure AI Search"),
                },
            ]
        );
        assert!(diff.added.is_empty() && diff.removed.is_empty());
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
            assert_eq!(
                diff.renamed[0].entries().unwrap().1.service,
                "Azure Bot Service"
            );
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
