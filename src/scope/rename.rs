//! Certification renames found by name: which certifications a version
//! dropped are the ones it added under another name.
//!
//! A vendor that restructures a page renames its certification columns
//! ("DoD CC SRG IL 2" becomes "DoD IL2", "PCI DSS Level 1" becomes "PCI DSS
//! L1", "SOC 2 Type 2" becomes "SOC 2") in the same edit that adds and
//! removes many services. A certification only in the previous set and one
//! only in the current set are paired, one to one, by these rules, in this
//! order:
//!
//! 1. `[scope] aliases`: an old name the aliases map to a current name is
//!    that name, whatever the rules below say.
//! 2. The same name once normalised: case, spacing and punctuation ignored,
//!    a year (1900-2099) ignored ("ISO/IEC 27001:2013" is "ISO/IEC 27001"),
//!    and a level written `Level 2`, `L2`, `IL 2` or `IL2` read as one form.
//! 3. The words of one name all among the other's, as when a program
//!    acronym or a qualifier of one or more words is dropped ("DoD CC SRG IL
//!    2" and "DoD IL2"; "Azure public / SOC 2 Type 2" and "Azure public /
//!    SOC 2"). An acronym stands for the words it abbreviates ("DoD" for
//!    "Department of Defense") and a camel-case word for its initials ("FR
//!    High" is "FedRAMP High" written shorter); small words ("of", "by",
//!    "and") are ignored. The shorter name must keep a word that is not a
//!    number.
//! 4. Names that share no word at all (within their section: what follows
//!    the heading prefix when both have the same one) are paired only by
//!    their services: at least half of the services of both are shared
//!    (Jaccard index ≥ 0.5), at least three services, and each is the
//!    other's best match, with no other candidate as good.
//!
//! A name's section is its heading prefix (the part before " / " that
//! `prefix_from_heading` adds). While a section is on the page in both
//! versions, its certifications pair only within it: "Office 365 GCC / SOC 2
//! Type 2" never becomes "Office 365 GCC High / SOC 2". A section renamed or
//! gone lets its certifications pair by the rules with any other's.
//!
//! In every rule but the first, the numbers and levels of both names must be
//! the same: "DoD IL2" is never "DoD IL4", "SOC 1" never "SOC 2", "SOC 2
//! Type 1" never "SOC 2 Type 2". When one old name could pair with several
//! new ones (or the reverse), the earlier rule wins, then the pair sharing
//! more services (Jaccard index), then the pair whose names differ by fewer
//! words. A renamed certification's services are compared under its new
//! name by [`diff_scope`](super::diff_scope).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::names::alias;
use super::{ScopeSet, ScopeSettings};

/// Rule 4: the least service overlap (Jaccard index) that pairs two names
/// sharing no word. A layout edit that renames a column keeps most of its
/// services; below one half, two certifications of one matrix (whose
/// services overlap heavily on real pages) are too easily mistaken for
/// each other.
pub const SERVICE_OVERLAP: f64 = 0.5;

/// Rule 4: the fewest services two names sharing no word must share. A
/// page about one service (kind `certifications`) lists every
/// certification with that one service: one or two services in common say
/// nothing about a rename.
pub const SERVICES_SHARED: usize = 3;

/// Candidate pairs (old certifications × new ones) weighed at most: past
/// it (a page of hundreds of certifications all renamed at once), only
/// `[scope] aliases` pair, and the version is reported as it reads. Real
/// pages rename a few dozen columns at most; 500 × 500 names compared with
/// their services take well under a second.
const MAX_CANDIDATES: usize = 250_000;

/// Words of a name compared at most: certification names are a few words;
/// a hostile header of thousands of words is compared by its first ones,
/// so pairing stays linear in the names' sizes.
const MAX_WORDS: usize = 64;

/// How a pair was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    SameName,
    Words,
    Services,
}

/// One certification renamed: the previous set's `from` is the current
/// set's `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationPair {
    pub from: String,
    pub to: String,
}

/// A guess offered when no rule pairs anything: the new certification
/// sharing the most services with an old one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub from: String,
    pub to: String,
    /// Services under both.
    pub shared: usize,
    /// Jaccard index of the two service sets, rounded to two decimals.
    pub overlap: f64,
}

/// The certifications of `previous` not in `current` paired with those of
/// `current` not in `previous`, by the rules of this module.
pub fn pair_certifications(
    previous: &ScopeSet,
    current: &ScopeSet,
    settings: &ScopeSettings,
) -> Vec<CertificationPair> {
    let (old, new) = (
        services_by_certification(previous),
        services_by_certification(current),
    );
    let mut pairs = Vec::new();
    // Old certifications not on the page, with the name the aliases give them.
    let mut gone: Vec<(&str, &str)> = Vec::new();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for &cert in old.keys() {
        if new.contains_key(cert) {
            continue;
        }
        let aliased = alias(cert, settings);
        if aliased != cert && new.contains_key(aliased) {
            // Already a name of the previous set too: the entries are
            // compared under it, no certification was renamed.
            if !old.contains_key(aliased) && taken.insert(aliased) {
                pairs.push(CertificationPair {
                    from: cert.to_string(),
                    to: aliased.to_string(),
                });
            }
            continue;
        }
        gone.push((cert, aliased));
    }
    let added: Vec<&str> = new
        .keys()
        .copied()
        .filter(|c| !old.contains_key(c) && !taken.contains(c))
        .collect();
    if gone.is_empty() || added.is_empty() || gone.len() * added.len() > MAX_CANDIDATES {
        return pairs;
    }

    let added_names: Vec<Name> = added.iter().map(|c| Name::parse(c)).collect();
    // The heading prefixes of each version: a section still on the page
    // keeps its certifications.
    let sections = |names: &BTreeMap<&str, BTreeSet<&str>>| -> BTreeSet<Vec<String>> {
        names
            .keys()
            .filter_map(|c| Name::parse(c).section_words())
            .collect()
    };
    let (old_sections, new_sections) = (sections(&old), sections(&new));
    let stays = |section: &Option<Vec<String>>, on: &BTreeSet<Vec<String>>| {
        section.as_ref().is_some_and(|s| on.contains(s))
    };
    let mut edges: Vec<Edge> = Vec::new();
    // The best overlap of each old and each new certification with any
    // other it may pair with, and how many reach it: rule 4 pairs only a
    // unique mutual best.
    let (mut best_gone, mut best_added) = (
        vec![Best::default(); gone.len()],
        vec![Best::default(); added.len()],
    );
    for (g, &(cert, aliased)) in gone.iter().enumerate() {
        let name = Name::parse(aliased);
        for (a, other) in added_names.iter().enumerate() {
            let (mine, theirs) = (name.section_words(), other.section_words());
            if mine != theirs && (stays(&mine, &new_sections) || stays(&theirs, &old_sections)) {
                continue;
            }
            let (before, after) = (&old[cert], &new[added[a]]);
            let overlap = jaccard(before, after);
            best_gone[g].see(overlap);
            best_added[a].see(overlap);
            let shared = before.intersection(after).count();
            if let Some(rule) = name.rule_with(other, overlap, shared) {
                edges.push(Edge {
                    rule,
                    overlap,
                    distance: name.distance(other),
                    gone: g,
                    added: a,
                });
            }
        }
    }
    edges.retain(|e| {
        e.rule != Rule::Services
            || (best_gone[e.gone].is_only(e.overlap) && best_added[e.added].is_only(e.overlap))
    });
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (&edges[x], &edges[y]);
        a.rule
            .cmp(&b.rule)
            .then(b.overlap.total_cmp(&a.overlap))
            .then(a.distance.cmp(&b.distance))
            .then(gone[a.gone].0.cmp(gone[b.gone].0))
            .then(added[a.added].cmp(added[b.added]))
    });
    let (mut gone_used, mut added_used) = (vec![false; gone.len()], vec![false; added.len()]);
    for i in order {
        let e = &edges[i];
        if gone_used[e.gone] || added_used[e.added] {
            continue;
        }
        gone_used[e.gone] = true;
        added_used[e.added] = true;
        pairs.push(CertificationPair {
            from: gone[e.gone].0.to_string(),
            to: added[e.added].to_string(),
        });
    }
    pairs.sort_by(|a, b| a.from.cmp(&b.from));
    pairs
}

/// For each certification only in `previous`, the one only in `current`
/// sharing the most services with it (if any): what a person might
/// confirm with `[scope] aliases` when no rule paired them.
pub fn propose_pairs(previous: &ScopeSet, current: &ScopeSet) -> Vec<Proposal> {
    let (old, new) = (
        services_by_certification(previous),
        services_by_certification(current),
    );
    let mut proposals = Vec::new();
    if old.len() * new.len() > MAX_CANDIDATES {
        return proposals;
    }
    for (&cert, services) in old.iter().filter(|(c, _)| !new.contains_key(*c)) {
        let best = new
            .iter()
            .filter(|(c, _)| !old.contains_key(*c))
            .map(|(&c, s)| (c, services.intersection(s).count(), jaccard(services, s)))
            .filter(|&(_, shared, _)| shared > 0)
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(a.0)));
        if let Some((to, shared, overlap)) = best {
            proposals.push(Proposal {
                from: cert.to_string(),
                to: to.to_string(),
                shared,
                overlap: (overlap * 100.0).round() / 100.0,
            });
        }
    }
    proposals
}

/// The best overlap seen, and how many times.
#[derive(Debug, Clone, Copy, Default)]
struct Best {
    overlap: f64,
    times: usize,
}

impl Best {
    fn see(&mut self, overlap: f64) {
        if overlap > self.overlap {
            *self = Best { overlap, times: 1 };
        } else if overlap == self.overlap {
            self.times += 1;
        }
    }

    /// `overlap` is the best, and no other candidate reaches it.
    fn is_only(&self, overlap: f64) -> bool {
        overlap >= self.overlap && self.times == 1
    }
}

/// A candidate pair: which rule found it, the overlap of the two service
/// sets, and how many words the names differ by.
struct Edge {
    rule: Rule,
    overlap: f64,
    distance: usize,
    gone: usize,
    added: usize,
}

fn services_by_certification(set: &ScopeSet) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in set.entries() {
        by.entry(e.certification.as_str())
            .or_default()
            .insert(e.service.as_str());
    }
    by
}

/// |a ∩ b| / |a ∪ b|; 0 for two empty sets.
fn jaccard(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// Words that never tell two certifications apart.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with",
];

/// A level marker: "level", "lvl", "il" and "l" before a number.
const LEVEL_WORDS: &[&str] = &["level", "lvl", "il", "l"];

/// A certification name read for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    /// Every token, in order, small words included (acronyms span them).
    tokens: Vec<String>,
    /// The numbers and levels ("2" for "IL 2"), years left out.
    numbers: BTreeSet<String>,
    /// The tokens of the heading prefix and of the part after it (" / "),
    /// if the name has one.
    section: Option<(Vec<String>, Vec<String>)>,
    /// Words written in camel case, with their initials: "fedramp" → "fr"
    /// for "FedRAMP", so that "FR High" is "FedRAMP High" written shorter.
    camel: BTreeMap<String, String>,
}

impl Name {
    fn parse(name: &str) -> Name {
        let all = tokens(name);
        let numbers = all
            .iter()
            .filter_map(|t| t.strip_prefix("level#").or(Some(t.as_str())))
            .filter(|t| t.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        let section = name
            .rsplit_once(" / ")
            .map(|(prefix, column)| (tokens(prefix), tokens(column)));
        Name {
            tokens: all,
            numbers,
            section,
            camel: camel_words(name),
        }
    }

    /// The content words of the heading prefix, if the name has one.
    fn section_words(&self) -> Option<Vec<String>> {
        self.section.as_ref().map(|(prefix, _)| {
            Name::words(prefix)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
    }

    /// The content words: tokens less small words.
    fn words(tokens: &[String]) -> BTreeSet<&str> {
        tokens
            .iter()
            .map(String::as_str)
            .filter(|t| !SMALL_WORDS.contains(t))
            .collect()
    }

    /// The rule (2-4) that pairs `self` with `other`, if any; `overlap` and
    /// `shared` describe their services.
    fn rule_with(&self, other: &Name, overlap: f64, shared: usize) -> Option<Rule> {
        if self.numbers != other.numbers {
            return None;
        }
        let (mine, theirs) = (Name::words(&self.tokens), Name::words(&other.tokens));
        if mine.is_empty() || theirs.is_empty() {
            return None;
        }
        if mine == theirs {
            return Some(Rule::SameName);
        }
        // The words of one all among the other's, whichever is shorter (or
        // either, at the same length); the shorter keeps a word.
        let keeps_a_word = |name: &Name| {
            Name::words(&name.tokens)
                .iter()
                .any(|w| w.chars().any(|c| c.is_alphabetic()) && !w.starts_with("level#"))
        };
        let one_way = |big: &Name, small: &Name| keeps_a_word(small) && covers(big, small);
        if (mine.len() >= theirs.len() && one_way(self, other))
            || (theirs.len() >= mine.len() && one_way(other, self))
        {
            return Some(Rule::Words);
        }
        let (a, b) = match (&self.section, &other.section) {
            (Some((p, a)), Some((q, b))) if Name::words(p) == Name::words(q) => (a, b),
            _ => (&self.tokens, &other.tokens),
        };
        let share_nothing = Name::words(a).is_disjoint(&Name::words(b))
            && !acronym_links(a, b)
            && !acronym_links(b, a);
        (share_nothing && overlap >= SERVICE_OVERLAP && shared >= SERVICES_SHARED)
            .then_some(Rule::Services)
    }

    /// How many content words the two names do not share.
    fn distance(&self, other: &Name) -> usize {
        let (a, b) = (Name::words(&self.tokens), Name::words(&other.tokens));
        a.symmetric_difference(&b).count()
    }
}

/// The tokens of a name: lowercase runs of letters and of digits, split
/// where letters meet digits ("IL2" is "il" "2"), a level word and the
/// number after it joined ("level#2"), years (1900-2099) left out.
fn tokens(name: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if raw.len() >= MAX_WORDS {
            break;
        }
        if c.is_alphanumeric() {
            let is_digit = c.is_ascii_digit();
            if !current.is_empty() && is_digit != digits {
                raw.push(std::mem::take(&mut current));
            }
            digits = is_digit;
            current.push(c);
        } else if !current.is_empty() {
            raw.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        raw.push(current);
    }
    raw.truncate(MAX_WORDS);
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let t = &raw[i];
        let is_number = t.chars().all(|c| c.is_ascii_digit());
        if is_number && t.len() == 4 && (t.starts_with("19") || t.starts_with("20")) {
            i += 1;
            continue;
        }
        let number = |s: &str| match s.trim_start_matches('0') {
            "" => "0".to_string(),
            digits => digits.to_string(),
        };
        if LEVEL_WORDS.contains(&t.as_str())
            && let Some(next) = raw.get(i + 1)
            && next.chars().all(|c| c.is_ascii_digit())
        {
            out.push(format!("level#{}", number(next)));
            i += 2;
            continue;
        }
        out.push(if is_number { number(t) } else { t.clone() });
        i += 1;
    }
    out
}

/// Whether every content word of `small` is in `big`, is an acronym of a
/// run of `big`'s words or the initials of a camel-case word of `big`
/// ("FR" for "FedRAMP"), or belongs to a run of `small`'s words that an
/// acronym in `big` stands for (or is a camel-case word whose initials are
/// a word of `big`).
fn covers(big: &Name, small: &Name) -> bool {
    let big_words = Name::words(&big.tokens);
    let mut covered: Vec<bool> = small
        .tokens
        .iter()
        .map(|t| {
            SMALL_WORDS.contains(&t.as_str())
                || big_words.contains(t.as_str())
                || big.camel.values().any(|initials| initials == t)
                || small
                    .camel
                    .get(t)
                    .is_some_and(|initials| big_words.contains(initials.as_str()))
        })
        .collect();
    for (i, t) in small.tokens.iter().enumerate() {
        if !covered[i] && is_acronym(t) && expands_in(t, &big.tokens).is_some() {
            covered[i] = true;
        }
    }
    for a in big.tokens.iter().filter(|t| is_acronym(t)) {
        let mut from = 0;
        while let Some(start) = expands_in(a, &small.tokens[from..]).map(|s| s + from) {
            for c in &mut covered[start..start + a.chars().count()] {
                *c = true;
            }
            from = start + 1;
        }
    }
    covered.into_iter().all(|c| c)
}

/// The words of `name` written in camel case ("FedRAMP", "DoD"), lowercase,
/// with their initials ("fr", "dd"): a new part starts at a capital after a
/// small letter.
fn camel_words(name: &str) -> BTreeMap<String, String> {
    let mut camel = BTreeMap::new();
    for word in name
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
    {
        let chars: Vec<char> = word.chars().collect();
        let mut initials: String = chars.first().into_iter().collect();
        for pair in chars.windows(2) {
            if pair[0].is_lowercase() && pair[1].is_uppercase() {
                initials.push(pair[1]);
            }
        }
        if initials.chars().count() >= 2 {
            camel.insert(word.to_lowercase(), initials.to_lowercase());
        }
    }
    camel
}

/// Whether an acronym of one list stands for a run of the other's words.
fn acronym_links(a: &[String], b: &[String]) -> bool {
    a.iter()
        .any(|t| is_acronym(t) && expands_in(t, b).is_some())
}

/// A token that may be an acronym: 2 to 6 letters.
fn is_acronym(token: &str) -> bool {
    (2..=6).contains(&token.chars().count()) && token.chars().all(|c| c.is_alphabetic())
}

/// Where in `words` a run starts whose initials spell `acronym` ("dod" in
/// "department of defense"); each word of the run has two letters or more.
fn expands_in(acronym: &str, words: &[String]) -> Option<usize> {
    let letters: Vec<char> = acronym.chars().collect();
    (0..words.len().saturating_sub(letters.len() - 1)).find(|&start| {
        words[start..start + letters.len()]
            .iter()
            .zip(&letters)
            .all(|(w, l)| w.chars().count() > 1 && w.starts_with(*l))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scope::{RawScopeSettings, ScopeEntry};

    fn set(pairs: &[(&str, &[&str])]) -> ScopeSet {
        ScopeSet::from_entries(
            pairs.iter().flat_map(|(cert, services)| {
                services.iter().map(move |s| ScopeEntry::new(*cert, *s))
            }),
        )
    }

    fn paired(before: &[(&str, &[&str])], after: &[(&str, &[&str])]) -> Vec<(String, String)> {
        pair_certifications(&set(before), &set(after), &ScopeSettings::default())
            .into_iter()
            .map(|p| (p.from, p.to))
            .collect()
    }

    fn pair(from: &str, to: &str) -> (String, String) {
        (from.to_string(), to.to_string())
    }

    const SOME: &[&str] = &["A", "B", "C"];
    const OTHER: &[&str] = &["X", "Y", "Z"];

    #[test]
    fn levels_written_four_ways_are_one_name() {
        for old in [
            "DoD Level 2",
            "DoD L2",
            "DoD IL 2",
            "dod  il-2",
            "DoD Level 02",
        ] {
            assert_eq!(
                paired(&[(old, SOME)], &[("DoD IL2", OTHER)]),
                [pair(old, "DoD IL2")],
                "{old}"
            );
        }
    }

    #[test]
    fn a_dropped_acronym_or_qualifier_is_a_rename() {
        assert_eq!(
            paired(
                &[
                    ("Azure public / DoD CC SRG IL 2", SOME),
                    ("PCI DSS Level 1", SOME)
                ],
                &[("Azure public / DoD IL2", OTHER), ("PCI DSS L1", OTHER)]
            ),
            [
                pair("Azure public / DoD CC SRG IL 2", "Azure public / DoD IL2"),
                pair("PCI DSS Level 1", "PCI DSS L1")
            ]
        );
        assert_eq!(
            paired(&[("SOC 2 Type 2", SOME)], &[("SOC 2", OTHER)]),
            [pair("SOC 2 Type 2", "SOC 2")]
        );
        assert_eq!(
            paired(
                &[("ISO/IEC 27001:2013", SOME)],
                &[("ISO 27001:2022", OTHER)]
            ),
            [pair("ISO/IEC 27001:2013", "ISO 27001:2022")]
        );
        // A camel-case word written as its initials.
        assert_eq!(
            paired(
                &[("Azure Government / FedRAMP High", SOME)],
                &[("Azure Government / FR High", OTHER)]
            ),
            [pair(
                "Azure Government / FedRAMP High",
                "Azure Government / FR High"
            )]
        );
        assert_eq!(paired(&[("FR High", SOME)], &[("FR Moderate", OTHER)]), []);
        // An acronym stands for its words, either way round.
        assert_eq!(
            paired(
                &[("DoD SRG Impact Level 4", SOME)],
                &[("Department of Defense IL4", OTHER)]
            ),
            [pair("DoD SRG Impact Level 4", "Department of Defense IL4")]
        );
    }

    #[test]
    fn numbers_and_levels_must_stay_the_same() {
        for (old, new) in [
            ("DoD IL2", "DoD IL4"),
            ("SOC 1", "SOC 2"),
            ("SOC 2 Type 1", "SOC 2"),
            ("SOC 2 Type 1", "SOC 2 Type 2"),
            ("PCI DSS v3.2.1", "PCI DSS v4.0"),
        ] {
            // Even with the very same services.
            assert_eq!(paired(&[(old, SOME)], &[(new, SOME)]), [], "{old} → {new}");
        }
    }

    #[test]
    fn an_audit_scope_page_restructure_pairs_each_renamed_column() {
        // The column headers of a real FedRAMP/DoD audit-scope page before
        // and after a redesign (one section per cloud; "FR High / DoD IL2"
        // is read as two columns), services changed in the same edit.
        let (p, g) = (
            "Azure public services by audit scope",
            "Azure Government services by audit scope",
        );
        let c = |section: &str, column: &str| format!("{section} / {column}");
        let old_p = ["A", "B", "C", "D"];
        let old_g = ["A", "B", "E"];
        let before = [
            (c(p, "DoD CC SRG IL 2"), &old_p[..]),
            (c(p, "FedRAMP Moderate"), &old_p[..]),
            (c(p, "FedRAMP High"), &old_p[..]),
            (c(g, "DoD CC SRG IL 2"), &old_g[..]),
            (c(g, "DoD CC SRG IL 4"), &old_g[..]),
            (c(g, "DoD CC SRG IL 5"), &old_g[..2]),
            (c(g, "FedRAMP High"), &old_g[..]),
        ];
        let new_p = ["A", "B", "X", "Y", "Z"];
        let new_g = ["A", "E", "X", "Q"];
        let after = [
            (c(p, "DoD IL2"), &new_p[..]),
            (c(p, "FedRAMP High"), &new_p[..]),
            (c(g, "FR High"), &new_g[..]),
            (c(g, "DoD IL2"), &new_g[..]),
            (c(g, "DoD IL4"), &new_g[..]),
            (c(g, "DoD IL5"), &new_g[..3]),
            (c(g, "DoD IL6"), &new_g[..1]),
            (c(g, "ICD 503 Secret"), &new_g[..1]),
        ];
        fn as_refs<'a>(pairs: &'a [(String, &'a [&'a str])]) -> Vec<(&'a str, &'a [&'a str])> {
            pairs.iter().map(|(c, s)| (c.as_str(), *s)).collect()
        }
        assert_eq!(
            paired(&as_refs(&before), &as_refs(&after)),
            [
                pair(&c(g, "DoD CC SRG IL 2"), &c(g, "DoD IL2")),
                pair(&c(g, "DoD CC SRG IL 4"), &c(g, "DoD IL4")),
                pair(&c(g, "DoD CC SRG IL 5"), &c(g, "DoD IL5")),
                pair(&c(g, "FedRAMP High"), &c(g, "FR High")),
                pair(&c(p, "DoD CC SRG IL 2"), &c(p, "DoD IL2")),
            ]
        );
    }

    #[test]
    fn a_section_still_on_the_page_keeps_its_certifications() {
        let before = [
            ("Office 365 GCC / SOC 2 Type 2", &["A", "B"][..]),
            ("Office 365 GCC High / SOC 2 Type 2", &["A", "B", "C"][..]),
            ("Office 365 DoD / SOC 2 Type 2", &["A"][..]),
        ];
        // GCC High's column renamed; the GCC one left. GCC's is never
        // taken for GCC High's, whatever their services.
        let after = [
            ("Office 365 GCC / SOC 3", &["A", "B"][..]),
            ("Office 365 GCC High / SOC 2", &["A", "B"][..]),
            ("Office 365 DoD / SOC 2 Type 2", &["A"][..]),
        ];
        assert_eq!(
            paired(&before, &after),
            [pair(
                "Office 365 GCC High / SOC 2 Type 2",
                "Office 365 GCC High / SOC 2"
            )]
        );
        // A section renamed: its certifications pair by the rules.
        assert_eq!(
            paired(
                &[(
                    "Azure public services by audit scope / DoD CC SRG IL 2",
                    SOME
                )],
                &[("Azure public / DoD IL2", OTHER)]
            ),
            [pair(
                "Azure public services by audit scope / DoD CC SRG IL 2",
                "Azure public / DoD IL2"
            )]
        );
    }

    #[test]
    fn other_qualifiers_and_sections_are_not_renames() {
        assert_eq!(
            paired(&[("FedRAMP Moderate", SOME)], &[("FedRAMP High", SOME)]),
            []
        );
        assert_eq!(
            paired(
                &[("Azure public / FedRAMP High", SOME)],
                &[("Azure Government / FedRAMP High", SOME)]
            ),
            []
        );
    }

    #[test]
    fn service_overlap_breaks_ties() {
        // "FedRAMP High" and "FedRAMP Moderate" both became "FedRAMP"
        // candidates; the one sharing more services wins, the other left.
        let after = [("FedRAMP", &["A", "B", "C", "D"][..])];
        assert_eq!(
            paired(
                &[
                    ("FedRAMP High", &["A", "B", "C"][..]),
                    ("FedRAMP Moderate", &["A"][..])
                ],
                &after
            ),
            [pair("FedRAMP High", "FedRAMP")]
        );
        // A rename that kept a third of its services is still found by name.
        assert_eq!(
            paired(
                &[("DoD CC SRG IL 5", &["A", "B", "C", "D"][..])],
                &[("DoD IL5", &["A", "B", "X", "Y", "Z", "W"][..])]
            ),
            [pair("DoD CC SRG IL 5", "DoD IL5")]
        );
    }

    #[test]
    fn names_sharing_nothing_pair_only_by_most_of_their_services() {
        // One service per page: every certification has the same one, so
        // services say nothing.
        assert_eq!(
            paired(&[("HITRUST", &["Bot"][..])], &[("CSA STAR", &["Bot"][..])]),
            []
        );
        // Two equally good candidates: no pair.
        assert_eq!(
            paired(
                &[("Moderate", SOME)],
                &[("Tier One", SOME), ("Tier Two", SOME)]
            ),
            []
        );
        let before = [("Azure public / HIPAA BAA", &["A", "B", "C", "D"][..])];
        assert_eq!(
            paired(
                &before,
                &[(
                    "Azure public / Health Insurance Portability",
                    &["A", "B", "C"][..]
                )]
            ),
            [pair(
                "Azure public / HIPAA BAA",
                "Azure public / Health Insurance Portability"
            )]
        );
        assert_eq!(
            paired(
                &before,
                &[(
                    "Azure public / Health Insurance Portability",
                    &["A", "X", "Y"][..]
                )]
            ),
            []
        );
        // Names sharing a word are left to the name rules: no pair.
        assert_eq!(
            paired(&[("FedRAMP Moderate", SOME)], &[("FedRAMP Tailored", SOME)]),
            []
        );
    }

    #[test]
    fn aliases_override_the_rules() {
        let settings = ScopeSettings::from_raw(RawScopeSettings {
            watch: None,
            aliases: Some(BTreeMap::from([(
                "IL 2".to_string(),
                "Impact 4".to_string(),
            )])),
        })
        .unwrap();
        let pairs = pair_certifications(
            &set(&[("IL 2", SOME)]),
            &set(&[("Impact 4", OTHER), ("IL2", SOME)]),
            &settings,
        );
        assert_eq!(
            pairs,
            [CertificationPair {
                from: "IL 2".into(),
                to: "Impact 4".into()
            }]
        );
    }

    #[test]
    fn a_name_of_thousands_of_words_is_compared_by_its_first() {
        let long = "word ".repeat(100_000);
        let name = Name::parse(&format!("SOC 2 {long}"));
        assert_eq!(name.tokens.len(), MAX_WORDS);
        assert!(name.camel.is_empty());
        assert_eq!(paired(&[(long.as_str(), SOME)], &[("SOC 2", OTHER)]), []);
    }

    #[test]
    fn proposals_name_the_best_overlap() {
        let before = set(&[("Moderate", &["A", "B", "C"][..]), ("Gone", &["Q"][..])]);
        let after = set(&[
            ("Tier 2", &["A", "B"][..]),
            ("Tier 3", &["C", "D", "E"][..]),
        ]);
        let proposals = propose_pairs(&before, &after);
        assert_eq!(proposals.len(), 1);
        assert_eq!(
            (proposals[0].from.as_str(), proposals[0].to.as_str()),
            ("Moderate", "Tier 2")
        );
        assert_eq!((proposals[0].shared, proposals[0].overlap), (2, 0.67));
    }
}
