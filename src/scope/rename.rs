//! Certification renames found by name: which certifications a version
//! dropped are the ones it added under another name.
//!
//! A vendor that restructures a page renames its certification columns
//! ("DoD CC SRG IIL 2" becomes "DoD IL2", "PCI DSS Level 1" becomes "PCI DSS
//! L1", "SOC 2 Type 2" becomes "SOC 2") and its section headings ("Azure
//! public services by audit scope" becomes "Azure public") in the same edit
//! that adds and removes many services. A certification only in the
//! previous set and one only in the current set are paired, one to one, by
//! these rules, in this order:
//!
//! 1. `[scope] aliases`: an old name the aliases map to a current name is
//!    that name, whatever the rules below say.
//! 2. The same name once normalised: case, spacing and punctuation ignored,
//!    a year (1900-2099) ignored ("ISO/IEC 27001:2013" is "ISO/IEC 27001"),
//!    a level written `Level 2`, `L2`, `IL 2`, `IL2`, `IIL 2`, `Impact Level
//!    2` or `Level II` read as one form, and a report type `Type 2` or `Type
//!    II` as one.
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
//! In every rule but the first, the two names must agree on what tells
//! certifications apart (for two names of one section, what follows the
//! heading; a heading's own numbers list what its table covers):
//! - their numbers, levels and report types, in order: "DoD IL2" is never
//!   "DoD IL4", "SOC 1 Type 2" never "SOC 2 Type 1", "PCI DSS v3.2.1" never
//!   "PCI DSS v4.0". A SOC report named without its type is the Type 2
//!   report (the annual one vendors mean; Type 1 is the interim one), so
//!   "SOC 2 Type 2" is "SOC 2" and "SOC 2 Type 1" is not;
//! - their impact levels (low, moderate, high, tailored; basic, medium):
//!   "FedRAMP Moderate" is never "FedRAMP High"; a name that drops its
//!   level ("FedRAMP High" → "FedRAMP") may pair;
//! - their classification (unclassified, confidential, secret, top secret),
//!   none being one: "Secret" is never "Top Secret", nor "Azure Government
//!   Secret" "Azure Government".
//!
//! A name's section is its heading prefix (the part before " / " that
//! `prefix_from_heading` adds). While a section is on the page in both
//! versions, its certifications pair only within it: "Office 365 GCC / SOC 2
//! Type 2" never becomes "Office 365 GCC High / SOC 2". A section that left
//! is first paired with one that came, one to one: by the name rules on
//! their headings (numbers one heading lists and the other drops left
//! out: "Azure Government Services in DoD CC SRG IIL 2, 4, 5 Audit Scope"
//! is "Azure Government services by audit scope"), else, when the headings share no word, by their content
//! (their services, all certifications together, overlap as rule 4 asks,
//! and a certification of one pairs by name with one of the other); its
//! certifications then pair within the new section as if the heading had
//! never changed. A section left
//! unpaired lets its certifications pair by the rules with any other's.
//!
//! When one old name could pair with several new ones (or the reverse), the
//! earlier rule wins, then the pair sharing more services (Jaccard index),
//! then the pair whose names differ by fewer words. A renamed
//! certification's services are compared under its new name by
//! [`diff_scope`](super::diff_scope).
//!
//! Pairing runs on the store's single writer thread, so its work is
//! bounded: names are compared by their first [`MAX_WORDS`] words, the
//! services two certifications share are counted once for all pairs (work
//! proportional to the pairs of certifications that share a service), and
//! a version that drops and adds more than [`MAX_CANDIDATES`] candidate
//! pairs is not paired by rule: only aliases apply, and [`Pairing::skipped`]
//! says so.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// Candidate pairs (certifications dropped × certifications added) weighed
/// at most. Real pages rename a few dozen columns at most (the largest
/// audit-scope matrix seen has 3 sections of 5 to 8 columns); 200 × 200
/// candidates with 100,000 entries a side are weighed in under a second on
/// the writer thread (bench/scope_worst.rs). Past it, only `[scope]
/// aliases` pair, and the event says so.
pub const MAX_CANDIDATES: usize = 40_000;

/// Words of a name compared at most: certification names, heading prefix
/// included, have a dozen words at most; a hostile header of thousands of
/// words is compared by its first ones, so comparing two names costs at
/// most a few thousand steps whatever their length.
pub const MAX_WORDS: usize = 24;

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

/// The certification renames of a version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    /// Sorted by the old name.
    pub pairs: Vec<CertificationPair>,
    /// Why the rules were not applied, when the version dropped and added
    /// more certifications than pairing weighs ([`MAX_CANDIDATES`]); only
    /// aliases paired then.
    pub skipped: Option<String>,
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

/// The certifications of two versions, their services as numbers.
struct Versions<'a> {
    old: BTreeMap<&'a str, Vec<u32>>,
    new: BTreeMap<&'a str, Vec<u32>>,
    services: usize,
}

impl<'a> Versions<'a> {
    fn of(previous: &'a ScopeSet, current: &'a ScopeSet) -> Versions<'a> {
        let mut ids: HashMap<&'a str, u32> = HashMap::new();
        let mut by = |set: &'a ScopeSet| {
            let mut certifications: BTreeMap<&'a str, Vec<u32>> = BTreeMap::new();
            // A set's entries are distinct: each service once per certification.
            for e in set.entries() {
                let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                let id = *ids.entry(e.service.as_str()).or_insert(next);
                certifications
                    .entry(e.certification.as_str())
                    .or_default()
                    .push(id);
            }
            certifications
        };
        let (old, new) = (by(previous), by(current));
        Versions {
            old,
            new,
            services: ids.len(),
        }
    }
}

/// How many services each of `gone` shares with each of `added`:
/// `shared[g * added.len() + a]`. Counted from the services' side: each
/// service adds one to every (gone, added) pair it is under, so the work is
/// the number of such pairs summed over services, at most the smaller of
/// `gone.len()` and `added.len()` times the services listed by the other.
fn shared_services(gone: &[&[u32]], added: &[&[u32]], services: usize) -> Vec<u32> {
    let mut under_gone: Vec<Vec<u32>> = vec![Vec::new(); services];
    for (g, ids) in gone.iter().enumerate() {
        let g = u32::try_from(g).unwrap_or(u32::MAX);
        for &id in *ids {
            if let Some(list) = under_gone.get_mut(id as usize) {
                list.push(g);
            }
        }
    }
    let mut shared = vec![0u32; gone.len() * added.len()];
    for (a, ids) in added.iter().enumerate() {
        for &id in *ids {
            for &g in under_gone.get(id as usize).into_iter().flatten() {
                if let Some(n) = shared.get_mut(g as usize * added.len() + a) {
                    *n += 1;
                }
            }
        }
    }
    shared
}

/// |a ∩ b| / |a ∪ b| from the sizes and the intersection; 0 for two empty
/// sets.
fn jaccard(shared: usize, a: usize, b: usize) -> f64 {
    let union = a + b - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// The message of a version that changed too many certifications to pair.
fn too_many(gone: usize, added: usize) -> String {
    format!(
        "{gone} certifications left and {added} came in one version: more than the \
         {MAX_CANDIDATES} candidate pairs weighed for renames, so only [scope] aliases paired them"
    )
}

/// The certifications of `previous` not in `current` paired with those of
/// `current` not in `previous`, by the rules of this module.
pub fn pair_certifications(
    previous: &ScopeSet,
    current: &ScopeSet,
    settings: &ScopeSettings,
) -> Pairing {
    let versions = Versions::of(previous, current);
    let (old, new) = (&versions.old, &versions.new);
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
    if gone.is_empty() || added.is_empty() {
        return Pairing {
            pairs,
            skipped: None,
        };
    }
    if gone.len().saturating_mul(added.len()) > MAX_CANDIDATES {
        return Pairing {
            pairs,
            skipped: Some(too_many(gone.len(), added.len())),
        };
    }
    let gone_services: Vec<&[u32]> = gone.iter().map(|(c, _)| old[c].as_slice()).collect();
    let added_services: Vec<&[u32]> = added.iter().map(|c| new[c].as_slice()).collect();
    let shared = shared_services(&gone_services, &added_services, versions.services);
    let overlap = |g: usize, a: usize| {
        let n = shared[g * added.len() + a] as usize;
        (
            jaccard(n, gone_services[g].len(), added_services[a].len()),
            n,
        )
    };

    // The heading prefixes of each version: a section still on the page
    // keeps its certifications.
    let sections = |names: &BTreeMap<&str, Vec<u32>>| -> BTreeSet<Vec<String>> {
        names.keys().filter_map(|c| section_key(c)).collect()
    };
    let (old_sections, new_sections) = (sections(old), sections(new));
    let gone_names: Vec<Name> = gone
        .iter()
        .map(|(_, aliased)| Name::parse(aliased))
        .collect();
    let added_names: Vec<Name> = added.iter().map(|c| Name::parse(c)).collect();
    let renamed_sections = pair_sections(
        &sections_only_here(&gone_names, &gone_services, &new_sections),
        &sections_only_here(&added_names, &added_services, &old_sections),
        &gone_names,
        &added_names,
        versions.services,
    );
    let claimed: BTreeSet<&Vec<String>> = renamed_sections.values().map(|(key, _)| key).collect();
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
    for (g, original) in gone_names.iter().enumerate() {
        // A certification of a renamed section, under the new heading.
        let moved = original
            .section
            .as_ref()
            .and_then(|s| renamed_sections.get(s))
            .map(|(_, heading)| Name::parse(&format!("{heading} / {}", column_of(gone[g].1))));
        let name = moved.as_ref().unwrap_or(original);
        for (a, other) in added_names.iter().enumerate() {
            let (mine, theirs) = (&name.section, &other.section);
            if mine != theirs
                && (stays(mine, &new_sections)
                    || stays(theirs, &old_sections)
                    || theirs.as_ref().is_some_and(|t| claimed.contains(t)))
            {
                continue;
            }
            let (overlap, shared) = overlap(g, a);
            best_gone[g].see(overlap);
            best_added[a].see(overlap);
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
    for (g, a) in one_to_one(edges, &best_gone, &best_added, |x, y| {
        gone[x.gone]
            .0
            .cmp(gone[y.gone].0)
            .then(added[x.added].cmp(added[y.added]))
    }) {
        pairs.push(CertificationPair {
            from: gone[g].0.to_string(),
            to: added[a].to_string(),
        });
    }
    pairs.sort_by(|a, b| a.from.cmp(&b.from));
    Pairing {
        pairs,
        skipped: None,
    }
}

/// The edges kept one to one: a pair by services (rule 4) only when it is
/// each side's unique best (`best_gone`, `best_added`); then the earlier
/// rule first, then more overlap, then fewer words apart, then `order`
/// (names, for a stable result). Returns (gone, added) index pairs.
fn one_to_one(
    edges: Vec<Edge>,
    best_gone: &[Best],
    best_added: &[Best],
    order: impl Fn(&Edge, &Edge) -> std::cmp::Ordering,
) -> Vec<(usize, usize)> {
    let mut edges = edges;
    edges.retain(|e| {
        e.rule != Rule::Services
            || (best_gone[e.gone].is_only(e.overlap) && best_added[e.added].is_only(e.overlap))
    });
    edges.sort_by(|a, b| {
        a.rule
            .cmp(&b.rule)
            .then(b.overlap.total_cmp(&a.overlap))
            .then(a.distance.cmp(&b.distance))
            .then_with(|| order(a, b))
    });
    let (mut gone_used, mut added_used) = (BTreeSet::new(), BTreeSet::new());
    let mut kept = Vec::new();
    for e in edges {
        if gone_used.contains(&e.gone) || added_used.contains(&e.added) {
            continue;
        }
        gone_used.insert(e.gone);
        added_used.insert(e.added);
        kept.push((e.gone, e.added));
    }
    kept
}

/// A section (heading prefix) of one side's certifications that the other
/// version does not have.
struct Section {
    /// Its content words.
    key: Vec<String>,
    /// The heading as written.
    heading: String,
    /// Its certifications (indexes into the side's names).
    certifications: Vec<usize>,
    /// The services of all of them (ids, sorted, distinct).
    services: Vec<u32>,
}

/// The sections of one side's certifications that the other version does
/// not have (`other`: its section keys).
fn sections_only_here(
    names: &[Name],
    services: &[&[u32]],
    other: &BTreeSet<Vec<String>>,
) -> Vec<Section> {
    let mut by: BTreeMap<&Vec<String>, Section> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        if let (Some(key), Some(heading)) = (&name.section, &name.heading)
            && !other.contains(key)
        {
            let section = by.entry(key).or_insert_with(|| Section {
                key: key.clone(),
                heading: heading.clone(),
                certifications: Vec::new(),
                services: Vec::new(),
            });
            section.certifications.push(i);
            section.services.extend(services[i].iter().copied());
        }
    }
    by.into_values()
        .map(|mut section| {
            section.services.sort_unstable();
            section.services.dedup();
            section
        })
        .collect()
}

/// Sections that left paired with sections that came: by the name rules
/// on their headings (numbers one of them dropped left out, see
/// [`Facts::agree_loosely`]), else, for headings sharing no word, by content (the
/// services of the two sections overlap as rule 4 asks, each the other's
/// unique best, and a certification of one pairs by name with one of the
/// other). Returns the old section's key → the new section's key and
/// heading.
fn pair_sections(
    gone: &[Section],
    added: &[Section],
    gone_names: &[Name],
    added_names: &[Name],
    services: usize,
) -> HashMap<Vec<String>, (Vec<String>, String)> {
    let mut renamed = HashMap::new();
    if gone.is_empty() || added.is_empty() {
        return renamed;
    }
    let columns = |names: &[Name]| -> Vec<Name> { names.iter().map(Name::column).collect() };
    let (gone_columns, added_columns) = (columns(gone_names), columns(added_names));
    let gone_services: Vec<&[u32]> = gone.iter().map(|s| s.services.as_slice()).collect();
    let added_services: Vec<&[u32]> = added.iter().map(|s| s.services.as_slice()).collect();
    let shared = shared_services(&gone_services, &added_services, services);
    let headings =
        |side: &[Section]| -> Vec<Name> { side.iter().map(|s| Name::parse(&s.heading)).collect() };
    let (gone_headings, added_headings) = (headings(gone), headings(added));
    let (mut best_gone, mut best_added) = (
        vec![Best::default(); gone.len()],
        vec![Best::default(); added.len()],
    );
    let mut edges = Vec::new();
    for (g, old_section) in gone.iter().enumerate() {
        for (a, new_section) in added.iter().enumerate() {
            let n = shared[g * added.len() + a] as usize;
            let overlap = jaccard(n, old_section.services.len(), new_section.services.len());
            best_gone[g].see(overlap);
            best_added[a].see(overlap);
            // Headings sharing no word pair by content (rule 4), and only
            // when a certification of one pairs by name with one of the other.
            let (heading, other) = (&gone_headings[g], &added_headings[a]);
            let rule = heading
                .facts
                .agree_loosely(&other.facts)
                .then(|| heading.rule_by_words(other, overlap, n))
                .flatten()
                .filter(|rule| {
                    *rule != Rule::Services
                        || old_section.certifications.iter().any(|&i| {
                            new_section.certifications.iter().any(|&j| {
                                gone_columns[i]
                                    .rule_with(&added_columns[j], 0.0, 0)
                                    .is_some()
                            })
                        })
                });
            if let Some(rule) = rule {
                edges.push(Edge {
                    rule,
                    overlap,
                    distance: gone_headings[g].distance(&added_headings[a]),
                    gone: g,
                    added: a,
                });
            }
        }
    }
    for (g, a) in one_to_one(edges, &best_gone, &best_added, |x, y| {
        gone[x.gone]
            .heading
            .cmp(&gone[y.gone].heading)
            .then(added[x.added].heading.cmp(&added[y.added].heading))
    }) {
        renamed.insert(
            gone[g].key.clone(),
            (added[a].key.clone(), added[a].heading.clone()),
        );
    }
    renamed
}

/// For each certification only in `previous`, the one only in `current`
/// sharing the most services with it (if any): what a person might
/// confirm with `[scope] aliases` when no rule paired them. None past
/// [`MAX_CANDIDATES`].
pub fn propose_pairs(previous: &ScopeSet, current: &ScopeSet) -> Vec<Proposal> {
    let versions = Versions::of(previous, current);
    let (old, new) = (&versions.old, &versions.new);
    let gone: Vec<&str> = old
        .keys()
        .copied()
        .filter(|c| !new.contains_key(c))
        .collect();
    let added: Vec<&str> = new
        .keys()
        .copied()
        .filter(|c| !old.contains_key(c))
        .collect();
    if gone.is_empty()
        || added.is_empty()
        || gone.len().saturating_mul(added.len()) > MAX_CANDIDATES
    {
        return Vec::new();
    }
    let gone_services: Vec<&[u32]> = gone.iter().map(|c| old[c].as_slice()).collect();
    let added_services: Vec<&[u32]> = added.iter().map(|c| new[c].as_slice()).collect();
    let shared = shared_services(&gone_services, &added_services, versions.services);
    let mut proposals = Vec::new();
    for (g, from) in gone.iter().enumerate() {
        let best = added
            .iter()
            .enumerate()
            .map(|(a, to)| {
                let n = shared[g * added.len() + a] as usize;
                (
                    *to,
                    n,
                    jaccard(n, gone_services[g].len(), added_services[a].len()),
                )
            })
            .filter(|&(_, shared, _)| shared > 0)
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(a.0)));
        if let Some((to, shared, overlap)) = best {
            proposals.push(Proposal {
                from: from.to_string(),
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

/// Words that never tell two certifications apart.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with",
];

/// A level marker before a number: "Level 2", "Lvl 2", "L2", "IL 2" (impact
/// level), "IIL 2" (information impact level).
const LEVEL_WORDS: &[&str] = &["level", "lvl", "il", "iil", "l"];

/// Words that only say a level follows: "Impact Level 2" is "IL 2",
/// "Information Impact Level 2" is "IIL 2".
const LEVEL_LEADS: &[&str] = &["impact", "information"];

/// A report type marker before a number: "Type 2", "Type II".
const TYPE_WORDS: &[&str] = &["type"];

/// The report type a SOC report named without one is: its Type 2 report.
const IMPLIED_TYPE: &str = "type#2";

/// Impact levels: two names naming different ones are never one.
const IMPACT_LEVELS: &[&str] = &["low", "moderate", "high", "tailored", "basic", "medium"];

/// Classifications: two names must name the same one, or neither.
const CLASSIFICATIONS: &[&str] = &["unclassified", "confidential", "secret", "top-secret"];

/// Roman numerals read as numbers after a level or type word.
const ROMAN: &[(&str, &str)] = &[
    ("i", "1"),
    ("ii", "2"),
    ("iii", "3"),
    ("iv", "4"),
    ("v", "5"),
    ("vi", "6"),
];

/// The content words of the heading prefix of `name`, if it has one.
fn section_key(name: &str) -> Option<Vec<String>> {
    name.rsplit_once(" / ")
        .map(|(prefix, _)| content_words(&tokens(prefix)).into_iter().collect())
}

/// What follows the heading prefix (the whole name when it has none).
fn column_of(name: &str) -> &str {
    name.rsplit_once(" / ").map_or(name, |(_, column)| column)
}

fn content_words(tokens: &[String]) -> BTreeSet<String> {
    tokens
        .iter()
        .filter(|t| !SMALL_WORDS.contains(&t.as_str()))
        .cloned()
        .collect()
}

/// What tells certifications apart, read from a name or a part of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Facts {
    /// The numbers, levels and report types, in order ("2", "level#2",
    /// "type#2"), years left out.
    numbers: Vec<String>,
    /// The impact levels named.
    impact: BTreeSet<String>,
    /// The classification named, if any.
    classification: Option<String>,
}

impl Facts {
    fn of(tokens: &[String]) -> Facts {
        let of_class = |class: &[&str]| -> BTreeSet<String> {
            tokens
                .iter()
                .filter(|t| class.contains(&t.as_str()))
                .cloned()
                .collect()
        };
        Facts {
            numbers: tokens
                .iter()
                .filter(|t| {
                    t.starts_with("level#")
                        || t.starts_with("type#")
                        || t.chars().all(|c| c.is_ascii_digit())
                })
                .cloned()
                .collect(),
            impact: of_class(IMPACT_LEVELS),
            classification: of_class(CLASSIFICATIONS).into_iter().next_back(),
        }
    }

    /// The same numbers in order (a SOC report's implied type aside), no
    /// two different impact levels, the same classification.
    fn agree(&self, other: &Facts) -> bool {
        let without_implied = |numbers: &[String]| -> Vec<String> {
            numbers
                .iter()
                .filter(|n| n.as_str() != IMPLIED_TYPE)
                .cloned()
                .collect()
        };
        let numbers = self.numbers == other.numbers
            || without_implied(&self.numbers) == without_implied(&other.numbers);
        numbers && self.impact_agrees(other) && self.classification == other.classification
    }

    /// As [`agree`](Self::agree), but numbers one side dropped are dropped:
    /// for headings, whose numbers list what the table covers ("Azure
    /// Government services in DoD IIL 2, 4, 5 audit scope" is "Azure
    /// Government services by audit scope").
    fn agree_loosely(&self, other: &Facts) -> bool {
        let numbers =
            self.numbers.is_empty() || other.numbers.is_empty() || self.numbers == other.numbers;
        numbers && self.impact_agrees(other) && self.classification == other.classification
    }

    fn impact_agrees(&self, other: &Facts) -> bool {
        self.impact.is_empty() || other.impact.is_empty() || self.impact == other.impact
    }
}

/// A certification name read for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    /// Every token, in order, small words included (acronyms span them).
    tokens: Vec<String>,
    /// The content words: tokens less small words.
    words: BTreeSet<String>,
    /// What tells it apart, from the whole name.
    facts: Facts,
    /// The same from the part after the heading prefix: what tells two
    /// certifications of one section apart.
    column_facts: Facts,
    /// The content words of the heading prefix, if the name has one.
    section: Option<Vec<String>>,
    /// The heading prefix as written, if any.
    heading: Option<String>,
    /// The first letter of each token (see [`initials`]).
    initials: Vec<char>,
    /// The tokens after the heading prefix (all of them without one).
    column_tokens: Vec<String>,
    /// Their content words.
    column_words: BTreeSet<String>,
    /// The column as written.
    column_text: String,
    /// Words written in camel case, with their initials: "fedramp" → "fr"
    /// for "FedRAMP", so that "FR High" is "FedRAMP High" written shorter.
    camel: BTreeMap<String, String>,
}

impl Name {
    fn parse(name: &str) -> Name {
        let tokens = tokens(name);
        let (heading, column) = match name.rsplit_once(" / ") {
            Some((prefix, column)) => (Some(prefix.to_string()), column),
            None => (None, name),
        };
        let column_tokens = self::tokens(column);
        Name {
            words: content_words(&tokens),
            section: heading
                .as_deref()
                .map(|h| content_words(&self::tokens(h)).into_iter().collect()),
            heading,
            facts: Facts::of(&tokens),
            column_facts: Facts::of(&column_tokens),
            column_words: content_words(&column_tokens),
            column_tokens,
            column_text: column.to_string(),
            initials: initials(&tokens),
            tokens,
            camel: camel_words(name),
        }
    }

    /// The name without its heading prefix.
    fn column(&self) -> Name {
        Name::parse(&self.column_text)
    }

    /// Whether the two names agree on numbers, levels, report types, impact
    /// levels and classification (see the module doc): within one section,
    /// what follows the heading; else the whole names.
    fn agrees_with(&self, other: &Name) -> bool {
        match (&self.section, &other.section) {
            (Some(a), Some(b)) if a == b => self.column_facts.agree(&other.column_facts),
            _ => self.facts.agree(&other.facts),
        }
    }

    /// The rule (2-4) that pairs `self` with `other`, if any; `overlap` and
    /// `shared` describe their services.
    fn rule_with(&self, other: &Name, overlap: f64, shared: usize) -> Option<Rule> {
        if !self.agrees_with(other) {
            return None;
        }
        self.rule_by_words(other, overlap, shared)
    }

    /// The rule (2-4) that pairs the two names by their words and services,
    /// whatever their numbers and qualifiers.
    fn rule_by_words(&self, other: &Name, overlap: f64, shared: usize) -> Option<Rule> {
        let (mine, theirs) = (&self.words, &other.words);
        if mine.is_empty() || theirs.is_empty() {
            return None;
        }
        if mine == theirs {
            return Some(Rule::SameName);
        }
        // The words of one all among the other's, whichever is shorter (or
        // either, at the same length); the shorter keeps a word.
        let keeps_a_word = |name: &Name| {
            name.words.iter().any(|w| {
                w.chars().any(char::is_alphabetic)
                    && !w.starts_with("level#")
                    && !w.starts_with("type#")
            })
        };
        let one_way = |big: &Name, small: &Name| keeps_a_word(small) && covers(big, small);
        if (mine.len() >= theirs.len() && one_way(self, other))
            || (theirs.len() >= mine.len() && one_way(other, self))
        {
            return Some(Rule::Words);
        }
        let ((a, a_words), (b, b_words)) = match (&self.section, &other.section) {
            (Some(p), Some(q)) if p == q => (
                (&self.column_tokens, &self.column_words),
                (&other.column_tokens, &other.column_words),
            ),
            _ => ((&self.tokens, &self.words), (&other.tokens, &other.words)),
        };
        let share_nothing =
            a_words.is_disjoint(b_words) && !acronym_links(a, b) && !acronym_links(b, a);
        (share_nothing && overlap >= SERVICE_OVERLAP && shared >= SERVICES_SHARED)
            .then_some(Rule::Services)
    }

    /// How many content words the two names do not share.
    fn distance(&self, other: &Name) -> usize {
        self.words.symmetric_difference(&other.words).count()
    }
}

/// The tokens of a name: lowercase runs of letters and of digits, split
/// where letters meet digits ("IL2" is "il" "2"), at most [`MAX_WORDS`] of
/// them; a level word and the number after it joined ("level#2", a roman
/// numeral read as a number), words that only lead to a level ("impact")
/// dropped, a report type likewise ("type#2"), "top secret" one word, and
/// years (1900-2099) left out.
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
    let number = |s: &str| -> Option<String> {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            Some(match s.trim_start_matches('0') {
                "" => "0".to_string(),
                digits => digits.to_string(),
            })
        } else {
            None
        }
    };
    // A number after a level or type word, a roman numeral too.
    let marked = |s: Option<&String>| -> Option<String> {
        let s = s?;
        number(s).or_else(|| {
            ROMAN
                .iter()
                .find(|(roman, _)| roman == s)
                .map(|(_, n)| (*n).to_string())
        })
    };
    let is_level = |i: usize| {
        raw.get(i)
            .is_some_and(|t| LEVEL_WORDS.contains(&t.as_str()))
            && marked(raw.get(i + 1)).is_some()
    };
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let t = &raw[i];
        if t.len() == 4 && number(t).is_some() && (t.starts_with("19") || t.starts_with("20")) {
            i += 1;
            continue;
        }
        if LEVEL_LEADS.contains(&t.as_str())
            && (is_level(i + 1)
                || (raw
                    .get(i + 1)
                    .is_some_and(|n| LEVEL_LEADS.contains(&n.as_str()))
                    && is_level(i + 2)))
        {
            i += 1;
            continue;
        }
        if is_level(i)
            && let Some(n) = marked(raw.get(i + 1))
        {
            out.push(format!("level#{n}"));
            i += 2;
            continue;
        }
        if TYPE_WORDS.contains(&t.as_str())
            && let Some(n) = marked(raw.get(i + 1))
        {
            out.push(format!("type#{n}"));
            i += 2;
            continue;
        }
        if t == "top" && raw.get(i + 1).is_some_and(|n| n == "secret") {
            out.push("top-secret".to_string());
            i += 2;
            continue;
        }
        out.push(number(t).unwrap_or_else(|| t.clone()));
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
    let big_words = &big.words;
    let mut covered: Vec<bool> = small
        .tokens
        .iter()
        .map(|t| {
            SMALL_WORDS.contains(&t.as_str())
                || big_words.contains(t)
                || big.camel.values().any(|initials| initials == t)
                || small
                    .camel
                    .get(t)
                    .is_some_and(|initials| big_words.contains(initials))
        })
        .collect();
    for (i, t) in small.tokens.iter().enumerate() {
        if !covered[i] && is_acronym(t) && expands_in(t, &big.initials).is_some() {
            covered[i] = true;
        }
    }
    for a in big.tokens.iter().filter(|t| is_acronym(t)) {
        let mut from = 0;
        while let Some(start) = expands_in(a, &small.initials[from..]).map(|s| s + from) {
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
    let b = initials(b);
    a.iter()
        .any(|t| is_acronym(t) && expands_in(t, &b).is_some())
}

/// A token that may be an acronym: 2 to 6 letters.
fn is_acronym(token: &str) -> bool {
    (2..=6).contains(&token.chars().count()) && token.chars().all(|c| c.is_alphabetic())
}

/// Where in a list of words (given by [`initials`]) a run starts whose
/// initials spell `acronym` ("dod" in "department of defense"); each word
/// of the run has two letters or more.
fn expands_in(acronym: &str, initials: &[char]) -> Option<usize> {
    let n = acronym.chars().count();
    if n == 0 {
        return None;
    }
    initials
        .windows(n)
        .position(|run| run.iter().copied().eq(acronym.chars()))
}

/// The first letter of each word, or NUL for a word of one letter (which
/// never stands in an acronym's run): what [`expands_in`] searches.
fn initials(words: &[String]) -> Vec<char> {
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match (chars.next(), chars.next()) {
                (Some(first), Some(_)) => first,
                _ => '\0',
            }
        })
        .collect()
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
            .pairs
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
            ("SOC 1 Type 2", "SOC 2 Type 1"),
            ("SOC 2 Type 1", "SOC 2"),
            ("SOC 2 Type 1", "SOC 2 Type 2"),
            ("PCI DSS v3.2.1", "PCI DSS v4.0"),
        ] {
            // Even with the very same services.
            assert_eq!(paired(&[(old, SOME)], &[(new, SOME)]), [], "{old} → {new}");
        }
    }

    #[test]
    fn numbers_are_compared_in_order() {
        // The same numbers, in another order: another report.
        assert_eq!(
            paired(&[("SOC 1 Type 2", SOME)], &[("SOC 2 Type 1", SOME)]),
            []
        );
        assert_eq!(
            paired(&[("PCI DSS v3.2", SOME)], &[("PCI DSS v2.3", SOME)]),
            []
        );
        // Spacing and the type written in roman numerals change nothing.
        assert_eq!(
            paired(
                &[("SOC 1 Type 2", SOME), ("SOC 2 Type 2", SOME)],
                &[("SOC1 Type II", OTHER), ("SOC 2", OTHER)]
            ),
            [
                pair("SOC 1 Type 2", "SOC1 Type II"),
                pair("SOC 2 Type 2", "SOC 2")
            ]
        );
    }

    #[test]
    fn impact_levels_are_written_every_way() {
        for (old, new) in [
            ("DoD CC SRG IIL 2", "DoD CC SRG IL 2"),
            ("DoD CC SRG IIL 2", "DoD IL2"),
            ("DoD Impact Level 2", "DoD IL2"),
            ("DoD Information Impact Level 2", "DoD IIL 2"),
            ("DoD Level II", "DoD L2"),
        ] {
            assert_eq!(
                paired(&[(old, SOME)], &[(new, OTHER)]),
                [pair(old, new)],
                "{old} → {new}"
            );
        }
        // The real page's 2019 → 2020 edit: "IIL" became "IL" in both
        // sections, services changing in the same edit.
        let (p, g) = (
            "Azure public services by audit scope",
            "Azure Government services by audit scope",
        );
        let c = |section: &str, column: &str| format!("{section} / {column}");
        let before = [
            (c(p, "DoD CC SRG IIL 2"), &["A", "B", "C", "D"][..]),
            (c(p, "FedRAMP Moderate"), &["A", "B", "C", "D"][..]),
            (c(g, "DoD CC SRG IIL 2"), &["A", "B"][..]),
            (c(g, "DoD CC SRG IIL 4"), &["A", "B"][..]),
        ];
        let after = [
            (c(p, "DoD CC SRG IL 2"), &["A", "B", "X"][..]),
            (c(p, "FedRAMP Moderate"), &["A", "B", "X"][..]),
            (c(g, "DoD CC SRG IL 2"), &["A", "Y"][..]),
            (c(g, "DoD CC SRG IL 4"), &["A", "Y"][..]),
        ];
        let b: Vec<(&str, &[&str])> = before.iter().map(|(c, s)| (c.as_str(), *s)).collect();
        let a: Vec<(&str, &[&str])> = after.iter().map(|(c, s)| (c.as_str(), *s)).collect();
        assert_eq!(
            paired(&b, &a),
            [
                pair(&c(g, "DoD CC SRG IIL 2"), &c(g, "DoD CC SRG IL 2")),
                pair(&c(g, "DoD CC SRG IIL 4"), &c(g, "DoD CC SRG IL 4")),
                pair(&c(p, "DoD CC SRG IIL 2"), &c(p, "DoD CC SRG IL 2")),
            ]
        );
    }

    #[test]
    fn headings_that_list_levels_pair_when_the_levels_go() {
        // Section headings that named the levels they cover, renamed in the
        // same edit as the "IIL" columns.
        let (p0, g0) = (
            "Azure Public Services in DoD CC SRG IIL 2 and FedRAMP Moderate Audit Scope",
            "Azure Government Services in DoD CC SRG IIL 2, 4, 5 and FedRAMP High Audit Scope",
        );
        let (p1, g1) = (
            "Azure public services by audit scope",
            "Azure Government services by audit scope",
        );
        let c = |section: &str, column: &str| format!("{section} / {column}");
        let before = [
            c(p0, "DoD CC SRG IIL 2"),
            c(p0, "FedRAMP Moderate"),
            c(g0, "DoD CC SRG IIL 2"),
            c(g0, "DoD CC SRG IIL 4"),
            c(g0, "FedRAMP High"),
        ];
        let after = [
            c(p1, "DoD CC SRG IL 2"),
            c(p1, "FedRAMP Moderate"),
            c(g1, "DoD CC SRG IL 2"),
            c(g1, "DoD CC SRG IL 4"),
            c(g1, "FedRAMP High"),
        ];
        let b: Vec<(&str, &[&str])> = before.iter().map(|c| (c.as_str(), SOME)).collect();
        let a: Vec<(&str, &[&str])> = after.iter().map(|c| (c.as_str(), OTHER)).collect();
        let mut expected: Vec<(String, String)> = before
            .iter()
            .zip(&after)
            .map(|(from, to)| pair(from, to))
            .collect();
        expected.sort();
        assert_eq!(paired(&b, &a), expected);
    }

    #[test]
    fn qualifiers_that_change_the_meaning_must_match() {
        for (old, new) in [
            ("ICD 503 Secret", "ICD 503 Top Secret"),
            (
                "Azure Government Secret / ICD 503",
                "Azure Government / ICD 503",
            ),
            ("FedRAMP Moderate", "FedRAMP High"),
            ("FedRAMP Low", "FedRAMP Moderate"),
            ("DoD IL 4", "DoD IL 5"),
            // Names sharing no word pair by services, never across levels.
            ("Azure / Moderate", "Azure / High"),
        ] {
            assert_eq!(paired(&[(old, SOME)], &[(new, SOME)]), [], "{old} → {new}");
        }
        // A level dropped is a qualifier dropped.
        assert_eq!(
            paired(&[("FedRAMP High", SOME)], &[("FedRAMP", SOME)]),
            [pair("FedRAMP High", "FedRAMP")]
        );
    }

    #[test]
    fn a_renamed_section_pairs_its_certifications() {
        // The heading shares no word with the old one: its certifications
        // pair because their columns do and their services mostly stay.
        let services = &["A", "B", "C", "D"][..];
        let kept = &["A", "B", "C", "E"][..];
        assert_eq!(
            paired(
                &[
                    (
                        "Azure public services by audit scope / FedRAMP High",
                        services
                    ),
                    (
                        "Azure public services by audit scope / DoD CC SRG IL 2",
                        services
                    ),
                    ("Azure Government / FedRAMP High", &["Q"][..]),
                ],
                &[
                    ("Commercial cloud / FedRAMP High", kept),
                    ("Commercial cloud / DoD IL2", kept),
                    ("Azure Government / FedRAMP High", &["Q"][..]),
                ]
            ),
            [
                pair(
                    "Azure public services by audit scope / DoD CC SRG IL 2",
                    "Commercial cloud / DoD IL2"
                ),
                pair(
                    "Azure public services by audit scope / FedRAMP High",
                    "Commercial cloud / FedRAMP High"
                ),
            ]
        );
        // Two sections renamed by name at once: each keeps its columns,
        // whatever the columns share.
        assert_eq!(
            paired(
                &[
                    ("Azure public services by audit scope / FedRAMP High", SOME),
                    (
                        "Azure Government services by audit scope / FedRAMP High",
                        SOME
                    ),
                ],
                &[
                    ("Azure Government / FedRAMP High", OTHER),
                    ("Azure public / FedRAMP High", OTHER),
                ]
            ),
            [
                pair(
                    "Azure Government services by audit scope / FedRAMP High",
                    "Azure Government / FedRAMP High"
                ),
                pair(
                    "Azure public services by audit scope / FedRAMP High",
                    "Azure public / FedRAMP High"
                ),
            ]
        );
    }

    #[test]
    fn too_many_certifications_changed_at_once_are_recorded_not_weighed() {
        let names = |version: &str| -> Vec<String> {
            (0..201).map(|i| format!("{version} program {i}")).collect()
        };
        let (old, new) = (names("Old"), names("New"));
        let before: Vec<(&str, &[&str])> = old.iter().map(|c| (c.as_str(), SOME)).collect();
        let after: Vec<(&str, &[&str])> = new.iter().map(|c| (c.as_str(), SOME)).collect();
        let pairing = pair_certifications(&set(&before), &set(&after), &ScopeSettings::default());
        assert!(pairing.pairs.is_empty());
        let why = pairing.skipped.unwrap();
        assert!(
            why.contains("201 certifications left and 201 came"),
            "{why}"
        );
        // One fewer on a side is weighed.
        let pairing = pair_certifications(
            &set(&before[..199]),
            &set(&after[..199]),
            &ScopeSettings::default(),
        );
        assert!(pairing.skipped.is_none());
        assert!(propose_pairs(&set(&before), &set(&after)).is_empty());
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
            pairs.pairs,
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
