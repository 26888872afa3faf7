//! The pairs in scope at a time, held compactly. A year-old store lists
//! about 250,000 pairs at a date, made of a few hundred distinct names: the
//! names are interned, each distinct scope set is decoded once (by hash)
//! without an allocation per name, the service and certification filters
//! are answered once per distinct name, and sources a filter leaves out are
//! never decoded. The stored form is compressed JSON, so a set a source
//! filter keeps is decompressed and parsed whole.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::{Serialize, Serializer};

use super::{Result, scope_sets};
use crate::scope::StoredSetView;
use crate::scope::claims;

/// One (certification, service) pair a source asserted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeRow {
    pub source: String,
    pub certification: String,
    pub service: String,
    /// The page's note about the service ("see Appendix A …").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the source's scope extraction broke, if it was broken then: the
    /// pair is from its last readable scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<String>,
}

/// Which scope pairs to list.
#[derive(Debug, Clone, Default)]
pub struct ScopeFilter {
    pub sources: Vec<String>,
    /// Services whose name holds these words (see
    /// [`claims::service_filter_matches`]): "bot service" matches "Azure
    /// Bot Service", "Exchange Online" matches "Exchange Online (GCC)".
    pub service: Option<String>,
    /// Certifications whose name holds these words, compared as claims are
    /// (see [`claims::certification_filter_matches`]): "ISO 27001" matches
    /// "ISO/IEC 27001".
    pub certification: Option<String>,
}

/// The pairs in scope, per source in order, each source's in its set's
/// order; serialises as the array of [`ScopeRow`] it stands for.
#[derive(Debug, Default)]
pub struct ScopePairs {
    names: Vec<Box<str>>,
    /// Per distinct set, the pairs the filter kept.
    sets: Vec<Vec<InternedPair>>,
    sources: Vec<SourcePairs>,
}

#[derive(Debug, Clone, Copy)]
struct InternedPair {
    certification: u32,
    service: u32,
    note: Option<u32>,
}

#[derive(Debug)]
struct SourcePairs {
    source: String,
    set: usize,
    stale_since: Option<String>,
}

/// One pair of [`ScopePairs`], borrowed; serialises as [`ScopeRow`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScopePair<'a> {
    pub source: &'a str,
    pub certification: &'a str,
    pub service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<&'a str>,
}

impl ScopePair<'_> {
    pub fn to_row(&self) -> ScopeRow {
        ScopeRow {
            source: self.source.to_string(),
            certification: self.certification.to_string(),
            service: self.service.to_string(),
            note: self.note.map(str::to_string),
            stale_since: self.stale_since.map(str::to_string),
        }
    }
}

impl ScopePairs {
    pub fn iter(&self) -> impl Iterator<Item = ScopePair<'_>> + Clone {
        self.sources.iter().flat_map(move |source| {
            self.sets[source.set].iter().map(move |pair| ScopePair {
                source: &source.source,
                certification: &self.names[pair.certification as usize],
                service: &self.names[pair.service as usize],
                note: pair.note.map(|note| &*self.names[note as usize]),
                stale_since: source.stale_since.as_deref(),
            })
        })
    }

    pub fn len(&self) -> usize {
        self.sources.iter().map(|s| self.sets[s.set].len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn to_rows(&self) -> Vec<ScopeRow> {
        self.iter().map(|pair| pair.to_row()).collect()
    }
}

impl Serialize for ScopePairs {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Reads the pairs of `latest` (per source in order: the record holding its
/// scope at the time, the source, the set's hash) that `filter` keeps;
/// `stale` maps a source to when its scope became unreadable.
pub(super) fn read(
    conn: &Connection,
    latest: Vec<(i64, String, String)>,
    filter: &ScopeFilter,
    mut stale: HashMap<String, String>,
) -> Result<ScopePairs> {
    let mut builder = Builder::new(filter);
    for (record, source, hash) in latest {
        if !(filter.sources.is_empty() || filter.sources.contains(&source)) {
            continue;
        }
        let set = match builder.set_by_hash.get(&hash) {
            Some(&set) => set,
            None => {
                let json = scope_sets::stored_json(conn, &hash, record)?;
                let view =
                    StoredSetView::parse(&json).map_err(|e| scope_sets::unreadable(record, &e))?;
                builder.add_set(hash, &view)
            }
        };
        let stale_since = stale.remove(&source);
        builder.pairs.sources.push(SourcePairs {
            source,
            set,
            stale_since,
        });
    }
    Ok(builder.pairs)
}

/// Interns names and answers the filter once per name while sets are added.
struct Builder<'f> {
    filter: &'f ScopeFilter,
    pairs: ScopePairs,
    ids: HashMap<Box<str>, u32>,
    set_by_hash: HashMap<String, usize>,
    /// Per name id, whether it answers the service / certification filter,
    /// once asked.
    service_kept: HashMap<u32, bool>,
    certification_kept: HashMap<u32, bool>,
}

impl<'f> Builder<'f> {
    fn new(filter: &'f ScopeFilter) -> Self {
        Builder {
            filter,
            pairs: ScopePairs::default(),
            ids: HashMap::new(),
            set_by_hash: HashMap::new(),
            service_kept: HashMap::new(),
            certification_kept: HashMap::new(),
        }
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        // Each name is held once in memory: 2^32 of them cannot be.
        let id = u32::try_from(self.pairs.names.len()).expect("fewer than 2^32 names");
        self.pairs.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    fn add_set(&mut self, hash: String, view: &StoredSetView<'_>) -> usize {
        let mut kept = Vec::with_capacity(view.entries().size_hint().0);
        for (certification, service) in view.entries() {
            let (certification, service) = (self.intern(certification), self.intern(service));
            if !self.keeps(certification, service) {
                continue;
            }
            let note = view
                .note(&self.pairs.names[service as usize])
                .map(|note| self.intern(note));
            kept.push(InternedPair {
                certification,
                service,
                note,
            });
        }
        let set = self.pairs.sets.len();
        self.pairs.sets.push(kept);
        self.set_by_hash.insert(hash, set);
        set
    }

    fn keeps(&mut self, certification: u32, service: u32) -> bool {
        let names = &self.pairs.names;
        let service_kept = match self.filter.service.as_deref() {
            None => true,
            Some(wanted) => *self.service_kept.entry(service).or_insert_with(|| {
                claims::service_filter_matches(&names[service as usize], wanted)
            }),
        };
        service_kept
            && match self.filter.certification.as_deref() {
                None => true,
                Some(wanted) => {
                    *self
                        .certification_kept
                        .entry(certification)
                        .or_insert_with(|| {
                            claims::certification_filter_matches(
                                &names[certification as usize],
                                wanted,
                            )
                        })
                }
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::attempt;
    use crate::record::{AttemptResult, record_attempt};
    use crate::scope::{ScopeOutcome, ScopeSet};
    use crate::store::{PackedScope, Store};

    /// Records a fetch of `source` whose scope is the set stored as `json`.
    fn record_scope(store: &mut Store, source: &str, json: &str) {
        let set: ScopeSet = serde_json::from_str(json).unwrap();
        let mut fetch = attempt(source, json.as_bytes());
        if let AttemptResult::Extracted {
            scope,
            packed_scope,
            ..
        } = &mut fetch.result
        {
            *packed_scope = Some(PackedScope::pack(&set).unwrap());
            *scope = ScopeOutcome::Extracted(set);
        }
        record_attempt(store, &fetch).unwrap();
    }

    /// The rows as decoding each source's set whole as a [`ScopeSet`] and
    /// filtering every pair gives them.
    fn decoded_whole(store: &Store, filter: &ScopeFilter) -> Vec<ScopeRow> {
        let latest: Vec<(String, String)> = store
            .conn()
            .prepare(
                "SELECT r.source, (SELECT hex FROM digests WHERE id = r.scope_hash)
                 FROM record_rows r WHERE r.id IN (
                     SELECT MAX(id) FROM record_rows WHERE scope_hash IS NOT NULL GROUP BY source)
                 ORDER BY r.source",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut rows = Vec::new();
        for (source, hash) in latest {
            let set = scope_sets::load(store.conn(), &hash, 0).unwrap();
            for entry in set.entries() {
                let kept = (filter.sources.is_empty() || filter.sources.contains(&source))
                    && filter
                        .service
                        .as_deref()
                        .is_none_or(|s| claims::service_filter_matches(&entry.service, s))
                    && filter.certification.as_deref().is_none_or(|c| {
                        claims::certification_filter_matches(&entry.certification, c)
                    });
                if kept {
                    rows.push(ScopeRow {
                        source: source.clone(),
                        certification: entry.certification.clone(),
                        service: entry.service.clone(),
                        note: set.note(&entry.service).map(str::to_string),
                        stale_since: None,
                    });
                }
            }
        }
        rows
    }

    #[test]
    fn the_compact_listing_is_what_decoding_each_set_whole_gives() {
        let mut store = Store::open_in_memory().unwrap();
        let shared = r#"[
            {"certification":"ISO/IEC 27001","service":"Azure Bot Service","note":"see Appendix A"},
            {"certification":"ISO/IEC 27001","service":"Intune","formerly":["Endpoint Manager"]},
            {"certification":"SOC 2","service":"Azure Bot Service"}]"#;
        // Names with escapes, a note on a service in two certifications,
        // and entries out of order as an older store may hold them.
        let own = r#"[
            {"certification":"SOC 2","service":"Exchange Online (\"GCC\")"},
            {"certification":"HIPAA BAA","service":"Azure Bot Service","note":"bot\u00e9"},
            {"certification":"HIPAA BAA","service":"Azure Bot Service"},
            {"certification":"SOC 2","service":"Azure Bot Service","note":"second"}]"#;
        record_scope(&mut store, "a", shared);
        record_scope(&mut store, "b", own);
        record_scope(&mut store, "c", shared);
        let filters = [
            ScopeFilter::default(),
            ScopeFilter {
                service: Some("bot service".into()),
                ..ScopeFilter::default()
            },
            ScopeFilter {
                certification: Some("ISO 27001".into()),
                ..ScopeFilter::default()
            },
            ScopeFilter {
                sources: vec!["b".into(), "c".into()],
                service: Some("exchange online".into()),
                ..ScopeFilter::default()
            },
        ];
        for filter in &filters {
            let pairs = store.scope_pairs_at(None, filter).unwrap();
            let expected = decoded_whole(&store, filter);
            assert_eq!(pairs.to_rows(), expected, "{filter:?}");
            assert_eq!(pairs.len(), expected.len());
            assert_eq!(
                serde_json::to_string_pretty(&pairs).unwrap(),
                serde_json::to_string_pretty(&expected).unwrap()
            );
        }
        let all = store.scope_pairs_at(None, &ScopeFilter::default()).unwrap();
        assert_eq!(all.len(), 3 + 3 + 3, "b's duplicate pair is listed once");
        assert!(
            all.iter()
                .any(|p| p.source == "b" && p.note.is_some_and(|n| n.contains("boté"))),
            "{:?}",
            all.to_rows()
        );
    }
}
