//! Re-extraction for `verify`, of the live store and of a bundle: every
//! capture with a stored body (not pruned) is run again through the
//! extraction the sweep ran ([`Extractor::extract_page`]) with its
//! source's current settings, and the text hash and scope hash it gives are
//! compared with the capture's. A chain rewritten consistently by someone
//! who also re-signed the ledger still fails here: the stored bytes do not
//! say what the record claims.
//!
//! Where captures come from is a [`Stored`]: the store's records and blobs
//! ([`recheck_store`]) or a bundle's WARC metadata and response records and
//! `scope/<source>.jsonl` (see [`super::bundle_recheck`]); the decisions
//! (which settings apply, the replay of scope detection) are here, once.
//!
//! Settings: each `config` ledger leaf carries every source's extraction
//! fingerprint ([`ExtractionSettings::fingerprints`]); the leaf in force for a
//! capture is the last one before it (written before each sweep). When that
//! leaf, or any later one, disagrees with the current configuration, or the
//! source is no longer configured, the record is reported as not
//! re-checked: an info line, never a finding of tampering.
//!
//! Efficiency: captures are re-checked in id order a chunk at a time, so
//! memory does not grow with the history; identical inputs (body, content
//! type, URL, source) within a chunk, and a source's input repeating its
//! last one (a page fetched again unchanged), are extracted once, and
//! extraction runs on every core in bounded batches.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::{EvidenceError, Finding};
use crate::extract::ExtractRules;
use crate::hash::Digest;
use crate::isolation::Extractor;
use crate::scope::{ScopeOutcome, ScopeSet, ScopeSettings, ScopeSpec};
use crate::store::Store;

/// Bodies decompressed and extracted at a time: bounds memory on large stores.
const BATCH: usize = 512;

/// What the configured sources' pages are extracted with, borrowed from
/// the configuration (which builds it): what the sweep ran, and what
/// `verify` re-runs.
pub struct ExtractionSettings<'a> {
    /// Each configured source's own settings, by id.
    pub sources: BTreeMap<&'a str, SourceExtraction<'a>>,
    /// `[scope]`: its aliases steer extraction.
    pub scope: &'a ScopeSettings,
}

/// One configured source's extraction settings; the pages it follows are
/// extracted with them too.
#[derive(Debug, Clone, Copy)]
pub struct SourceExtraction<'a> {
    pub id: &'a str,
    pub rules: &'a ExtractRules,
    /// `[source.scope]`.
    pub scope: &'a ScopeSpec,
}

impl ExtractionSettings<'_> {
    /// Each configured source's extraction fingerprint: a SHA-256 over
    /// every setting that steers extraction (content and ignore selectors,
    /// JSON pointer, scope table, the `[source.scope]` spec, `[scope]`
    /// aliases).
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        self.sources
            .values()
            .map(|s| (s.id.to_string(), fingerprint(s, self.scope)))
            .collect()
    }
}

/// Bumped whenever a release changes what extraction produces from the
/// same bytes and settings, so `verify` reports records made by another
/// extractor as "settings changed" (not re-checked), never as tampering.
pub const EXTRACTION_VERSION: u32 = 5;

fn fingerprint(source: &SourceExtraction<'_>, settings: &ScopeSettings) -> String {
    // The Debug form spells out every selector, pattern and alias. Only
    // the aliases of `[scope]` steer extraction (`watch` steers severity).
    let text = format!(
        "extraction v{EXTRACTION_VERSION}\n{:?}\n{:?}\n{:?}",
        source.rules, source.scope, settings.aliases
    );
    Digest::of(text.as_bytes()).to_hex()
}

/// The configured source whose settings a record was extracted with: its
/// own, or for a followed page (`PARENT~page`) its parent's.
fn settings_id(source: &str) -> &str {
    source.split_once('~').map_or(source, |(parent, _)| parent)
}

/// One fetch attempt as re-extraction sees it, from the store or a bundle.
#[derive(Debug, Clone)]
pub(crate) struct Capture {
    pub id: i64,
    pub source: String,
    pub outcome: String,
    /// The digest (hex) of the body to re-extract, as [`Stored::body`]
    /// takes it; `None` when there is none (a failure, a 304, pruned).
    pub body: Option<String>,
    pub text_hash: Option<String>,
    pub scope_hash: Option<String>,
    pub content_type: Option<String>,
    /// The URL the body came from (after redirects).
    pub final_url: String,
}

/// A stored body: zstd-packed (the store) or as is (a bundle's WARC).
pub(crate) enum Body {
    Packed { size: i64, data: Vec<u8> },
    Plain(Vec<u8>),
}

impl Body {
    fn unpack(&self) -> Result<Cow<'_, [u8]>, String> {
        match self {
            Body::Packed { size, data } => crate::store::PackedBlob::unpack(data, *size)
                .map(Cow::Owned)
                .map_err(|e| format!("the stored body does not decompress: {e}")),
            Body::Plain(bytes) => Ok(Cow::Borrowed(bytes)),
        }
    }
}

/// Where re-extraction reads bodies and scope sets.
pub(crate) trait Stored {
    /// The body a [`Capture::body`] names.
    fn body(&mut self, hash: &str) -> Result<Body, EvidenceError>;
    /// The JSON of the scope set named `hash`; `None` when it is missing.
    fn scope_set_json(&mut self, hash: &str) -> Result<Option<String>, EvidenceError>;
}

/// Whether the captures start at each source's first capture (the store)
/// or may start later (a bundle exported with `--since`): then the scope
/// the sweep compared a source's first capture with is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    Complete,
    Partial,
}

/// What re-extraction found, and how many captures it compared.
#[derive(Debug, Default)]
pub struct Recheck {
    pub findings: Vec<Finding>,
    /// Captures whose body was re-extracted and whose hashes were compared.
    pub compared: usize,
}

/// Why a record could not be re-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    Removed,
    Changed,
    Unrecorded,
    /// Only the scope hash: the sweep judged it against a capture the
    /// bundle does not hold.
    PriorScope,
    /// Re-extraction is over the current `[limits]` (or its process failed).
    OverBudget,
}

impl Skip {
    fn text(self) -> &'static str {
        match self {
            Skip::Removed => "not re-checked: source removed from the configuration",
            Skip::Changed => "not re-checked: extraction settings changed since they were captured",
            Skip::Unrecorded => {
                "not re-checked: no configuration leaf in the ledger records the extraction settings in force when they were captured"
            }
            Skip::OverBudget => {
                "not re-checked: re-extracting the stored body is over the current extraction limits ([limits]) or its process failed"
            }
            Skip::PriorScope => {
                "scope hash not re-checked (text hash was): the sweep judged the scope broken against an earlier capture that is not in the bundle"
            }
        }
    }
}

/// Which captures the current settings apply to, from the ledger.
pub(crate) struct Settings {
    /// The current extraction fingerprint of every configured source.
    current: BTreeMap<String, String>,
    /// Record id to the seq of its capture leaf.
    capture_seq: HashMap<i64, i64>,
    /// Every config leaf's seq, ascending.
    config_seqs: Vec<i64>,
    /// Per settings source: the seq of the last config leaf whose
    /// fingerprint differs from the current one, and why (`Unrecorded`
    /// for a leaf written before leaves carried fingerprints).
    last_mismatch: HashMap<String, (i64, Skip)>,
}

impl Settings {
    /// Settings to be fed the ledger's leaves in ascending order;
    /// `current`: [`ExtractionSettings::fingerprints`] of the configuration.
    pub(crate) fn new(current: &BTreeMap<String, String>) -> Settings {
        Settings {
            current: current.clone(),
            capture_seq: HashMap::new(),
            config_seqs: Vec::new(),
            last_mismatch: HashMap::new(),
        }
    }

    /// From the ledger's leaves (seq and parsed leaf) in ascending order.
    fn from_ledger<'a>(
        leaves: impl IntoIterator<Item = (i64, &'a Value)>,
        current: &BTreeMap<String, String>,
    ) -> Settings {
        let mut settings = Settings::new(current);
        for (seq, leaf) in leaves {
            match leaf["type"].as_str() {
                Some("capture") => {
                    if let Some(id) = leaf["record_id"].as_i64() {
                        settings.capture_leaf(id, seq);
                    }
                }
                Some("config") => settings.config_leaf(seq, leaf),
                _ => {}
            }
        }
        settings
    }

    /// The capture leaf at `seq` names record `id`. Only captures that
    /// may be re-extracted (`ok`) need to be given.
    pub(crate) fn capture_leaf(&mut self, id: i64, seq: i64) {
        self.capture_seq.insert(id, seq);
    }

    /// A `config` leaf at `seq`.
    pub(crate) fn config_leaf(&mut self, seq: i64, leaf: &Value) {
        self.config_seqs.push(seq);
        let why = if leaf["extraction"].is_object() {
            Skip::Changed
        } else {
            Skip::Unrecorded
        };
        for (source, print) in &self.current {
            if leaf["extraction"][source].as_str() != Some(print.as_str()) {
                self.last_mismatch.insert(source.clone(), (seq, why));
            }
        }
    }

    /// The configured source to re-extract `capture` with, or why not.
    fn for_capture<'c>(
        &self,
        capture: &Capture,
        extraction: &ExtractionSettings<'c>,
    ) -> Result<SourceExtraction<'c>, Skip> {
        let id = settings_id(&capture.source);
        let source = *extraction.sources.get(id).ok_or(Skip::Removed)?;
        let in_force = self
            .capture_seq
            .get(&capture.id)
            .and_then(|seq| self.config_seqs.iter().rev().find(|c| *c < seq))
            .ok_or(Skip::Unrecorded)?;
        match self.last_mismatch.get(id) {
            Some((mismatch, why)) if mismatch >= in_force => Err(*why),
            _ => Ok(source),
        }
    }
}

/// The inputs of one extraction; records with equal inputs share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Input {
    raw_hash: String,
    content_type: Option<String>,
    final_url: String,
    settings: String,
}

/// What re-extraction gave: the text hash and the scope, or why not.
type Output = Result<(String, Arc<ScopeOutcome>), Unextracted>;

/// Why re-extraction gave no text.
#[derive(Debug, Clone)]
enum Unextracted {
    /// The body cannot be read or extracted: it says nothing of what the
    /// record claims.
    Fails(String),
    /// Over the current extraction budget (or the extraction process
    /// failed): nothing is known either way.
    OverBudget,
}

/// What re-extraction needs: the configuration's extraction settings,
/// which are re-run, the CA certificates RFC 3161 tokens must chain to
/// (`[evidence] tsa_ca_file`), and the extraction processes to run them in
/// (built with its `[limits]`, as the sweep's are: what a page gave then,
/// it gives now).
#[derive(Clone, Copy)]
pub struct Reextraction<'a> {
    pub extraction: &'a ExtractionSettings<'a>,
    pub tsa_trust: Option<&'a super::rfc3161::TsaTrust>,
    pub extractor: &'a Extractor,
}

/// The info line when there are no settings to re-extract with.
pub(crate) fn no_config() -> Recheck {
    Recheck {
        findings: vec![Finding::info(
            "re-extraction",
            "not re-checked: no configuration file, so no extraction settings to re-run; pass --config",
        )],
        compared: 0,
    }
}

/// Re-extracts every re-checkable record of `store` and returns a finding
/// for each hash that differs, plus info lines for what was not re-checked.
/// `settings`: fed every `config` leaf and the capture leaf of every `ok`
/// record (from `first` on: the config leaf in force there, then those
/// after). `first`: only the records from that id on, each source's
/// scope replayed from what the sweep had stored before it (`None`: all).
/// The records are read as a stream, [`CHUNK`] at a time.
pub(crate) fn recheck_store(
    store: &Store,
    settings: Settings,
    reextraction: Reextraction<'_>,
    first: Option<i64>,
) -> Result<Recheck, EvidenceError> {
    let pruned = store.pruned_blobs()?;
    let mut rechecker = Rechecker::new(settings, reextraction, History::Complete);
    let mut stored = store;
    if let Some(first) = first {
        rechecker.start_at(&mut stored, first)?;
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    store.for_each_reextraction_row(first.unwrap_or(i64::MIN), |row| {
        chunk.push(Capture {
            id: row.id,
            source: row.source,
            outcome: row.outcome,
            body: row.raw_hash.filter(|raw| !pruned.contains(raw)),
            text_hash: row.text_hash,
            scope_hash: row.scope_hash,
            content_type: row.content_type,
            final_url: row.final_url,
        });
        if chunk.len() == CHUNK {
            rechecker.chunk(&mut stored, &chunk)?;
            chunk.clear();
        }
        Ok::<_, EvidenceError>(())
    })?;
    rechecker.chunk(&mut stored, &chunk)?;
    Ok(rechecker.finish())
}

/// Records read from the store and re-checked at a time: what their
/// extractions give (a scope set of tens of kilobytes each, for a page
/// with a large matrix) is held until the chunk is compared, so this
/// bounds memory as [`BATCH`] does.
const CHUNK: usize = BATCH;

impl Stored for &Store {
    fn body(&mut self, hash: &str) -> Result<Body, EvidenceError> {
        let (size, data) = self.packed_blob(hash)?;
        Ok(Body::Packed { size, data })
    }

    fn scope_set_json(&mut self, hash: &str) -> Result<Option<String>, EvidenceError> {
        Ok(Store::scope_set_json(self, hash)?)
    }
}

/// Re-extracts every re-checkable capture (`captures` in id order) with
/// `reextraction`'s settings where the ledger's `leaves` (ascending) say
/// they were in force, and names every hash that differs.
pub(crate) fn recheck<'a>(
    captures: &[Capture],
    stored: &mut impl Stored,
    leaves: impl IntoIterator<Item = (i64, &'a Value)>,
    reextraction: Reextraction<'_>,
    history: History,
) -> Result<Recheck, EvidenceError> {
    let settings = Settings::from_ledger(leaves, &reextraction.extraction.fingerprints());
    let mut rechecker = Rechecker::new(settings, reextraction, history);
    for chunk in captures.chunks(CHUNK) {
        rechecker.chunk(stored, chunk)?;
    }
    Ok(rechecker.finish())
}

/// Re-checks captures in id order, a chunk at a time: what it keeps from
/// one chunk to the next is, per source, the state the sweep had (its
/// last stored scope) and its last extraction (an unchanged page fetched
/// again repeats its input), so its memory does not grow with the history.
struct Rechecker<'c> {
    settings: Settings,
    reextraction: Reextraction<'c>,
    history: History,
    skipped: BTreeMap<(String, Skip), Vec<i64>>,
    previous: HashMap<String, Previous>,
    /// Per source, its last input and what extracting it gave.
    last: HashMap<String, (Input, Output)>,
    sets: StoredSets,
    result: Recheck,
}

impl<'c> Rechecker<'c> {
    fn new(settings: Settings, reextraction: Reextraction<'c>, history: History) -> Self {
        Rechecker {
            settings,
            reextraction,
            history,
            skipped: BTreeMap::new(),
            previous: HashMap::new(),
            last: HashMap::new(),
            sets: StoredSets::default(),
            result: Recheck::default(),
        }
    }

    /// Starts at record `first` of the store: each source of the records
    /// from there on as the sweep had it, its last stored scope set read
    /// (and checked against its hash, named for its record).
    fn start_at(&mut self, store: &mut &Store, first: i64) -> Result<(), EvidenceError> {
        for source in store.sources_from(first)? {
            let before = store.scope_before(&source, first)?;
            if let Some((record, hash)) = &before.stored {
                self.sets
                    .load(store, hash, *record, None, &mut self.result.findings)?;
            }
            self.previous.insert(
                source,
                Previous {
                    stored: before.stored,
                    broken: before.broken,
                    unknown: false,
                },
            );
        }
        Ok(())
    }

    /// The next captures, in id order.
    fn chunk(
        &mut self,
        stored: &mut impl Stored,
        captures: &[Capture],
    ) -> Result<(), EvidenceError> {
        let mut plan: Vec<(&Capture, SourceExtraction<'_>, Input)> = Vec::new();
        for capture in captures {
            let (Some(raw), Some(_)) = (&capture.body, &capture.text_hash) else {
                continue;
            };
            // A 304 or a failure ran no extraction. (A pruned body has no
            // `body`: the chain check reports it as pruned by policy.)
            if capture.outcome != "ok" {
                continue;
            }
            match self
                .settings
                .for_capture(capture, self.reextraction.extraction)
            {
                Ok(source) => plan.push((
                    capture,
                    source,
                    Input {
                        raw_hash: raw.clone(),
                        content_type: capture.content_type.clone(),
                        final_url: capture.final_url.clone(),
                        settings: source.id.to_string(),
                    },
                )),
                Err(skip) => self
                    .skipped
                    .entry((capture.source.clone(), skip))
                    .or_default()
                    .push(capture.id),
            }
        }
        let mut outputs: HashMap<Input, Output> = HashMap::new();
        for (capture, _, input) in &plan {
            if let Some((last, output)) = self.last.get(&capture.source)
                && last == input
            {
                outputs.insert(input.clone(), output.clone());
            }
        }
        outputs.extend(extract_all(stored, &plan, &outputs, self.reextraction)?);
        self.compare(stored, captures, &plan, &outputs)?;
        for (capture, _, input) in plan {
            if let Some(output) = outputs.get(&input) {
                self.last
                    .insert(capture.source.clone(), (input.clone(), output.clone()));
            }
        }
        // Only each source's last stored set is needed from here on.
        let current: HashSet<&str> = self
            .previous
            .values()
            .filter_map(|p| p.stored.as_ref().map(|(_, hash)| hash.as_str()))
            .collect();
        self.sets.keep_only(&current);
        Ok(())
    }

    /// Walks the captures in id order, replaying what the sweep decided
    /// for each re-extracted one (the scope it stores depends on the
    /// source's previous stored scope, see [`crate::record::judge_scope`]), and
    /// names every capture whose stored hashes differ. Each stored scope
    /// set a capture names is also checked against its hash.
    fn compare(
        &mut self,
        stored: &mut impl Stored,
        captures: &[Capture],
        plan: &[(&Capture, SourceExtraction<'_>, Input)],
        outputs: &HashMap<Input, Output>,
    ) -> Result<(), EvidenceError> {
        let planned: HashMap<i64, &Input> =
            plan.iter().map(|(row, _, input)| (row.id, input)).collect();
        let settings = self.reextraction.extraction.scope;
        for row in captures {
            let input = planned.get(&row.id).copied();
            let output = input.and_then(|input| outputs.get(input));
            if let Some(hash) = &row.scope_hash {
                let extracted = output.and_then(|o| o.as_ref().ok()).map(|(_, scope)| scope);
                self.sets
                    .load(stored, hash, row.id, extracted, &mut self.result.findings)?;
            }
            if row.outcome != "ok" {
                continue;
            }
            let history = self.history;
            let state = self
                .previous
                .entry(row.source.clone())
                .or_insert_with(|| Previous {
                    unknown: history == History::Partial,
                    ..Previous::default()
                });
            // `None`: the previous set is damaged (named above), so the
            // scope cannot be replayed.
            let before = match &state.stored {
                Some((record, hash)) => self.sets.get(hash).map(|set| Some((*record, set))),
                None => Some(None),
            };
            if let (Some(output), Some(before)) = (output, before) {
                self.result.compared += 1;
                let concerns = format!("record {} (source {})", row.id, row.source);
                let findings = &mut self.result.findings;
                let mut finding = |problem: String| {
                    findings.push(Finding {
                        record_id: Some(row.id),
                        ..Finding::new(&concerns, problem)
                    })
                };
                match output {
                    Err(Unextracted::OverBudget) => {
                        self.result.compared -= 1;
                        self.skipped
                            .entry((row.source.clone(), Skip::OverBudget))
                            .or_default()
                            .push(row.id);
                    }
                    Err(Unextracted::Fails(e)) => finding(format!(
                        "re-extracting the stored body fails ({e}), but the record says it was extracted: the body or the record was replaced"
                    )),
                    Ok((text_hash, scope)) => {
                        if row.text_hash.as_deref() != Some(text_hash.as_str()) {
                            finding(format!(
                                "text hash differs: re-extracting the stored body gives {text_hash}, the record holds {}: the text or the record was replaced",
                                row.text_hash.as_deref().unwrap_or("none")
                            ));
                        }
                        let detection =
                            crate::record::judge_scope(before, state.broken, scope, settings);
                        let expected = match &**scope {
                            ScopeOutcome::Extracted(set) if !detection.broken => Some(set.hash()),
                            _ => None,
                        };
                        // Against an unknown earlier scope, a set may have
                        // been judged broken (stored as none); a stored set
                        // is always the one extracted, so that is still
                        // checked.
                        if state.unknown && expected.is_some() && row.scope_hash.is_none() {
                            self.skipped
                                .entry((row.source.clone(), Skip::PriorScope))
                                .or_default()
                                .push(row.id);
                        } else if expected != row.scope_hash {
                            let show = |h: &Option<String>| {
                                h.clone()
                                    .unwrap_or_else(|| "none (extraction broken)".into())
                            };
                            finding(format!(
                                "scope hash differs: re-extracting the stored body gives {}, the record holds {}: the scope or the record was replaced",
                                show(&expected),
                                show(&row.scope_hash)
                            ));
                        }
                    }
                }
            }
            // The next record starts from what was stored, as the sweep did.
            match &row.scope_hash {
                Some(hash) => {
                    *state = Previous {
                        stored: Some((row.id, hash.clone())),
                        ..Previous::default()
                    }
                }
                None => state.broken = true,
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Recheck {
        for ((source, skip), ids) in self.skipped {
            self.result.findings.push(Finding::info(
                format!("source {source}"),
                format!("{} records ({}) {}", ids.len(), ranges(&ids), skip.text()),
            ));
        }
        self.result
    }
}

/// Runs each distinct input's extraction once (those in `known` not at
/// all), in parallel batches.
fn extract_all(
    stored: &mut impl Stored,
    plan: &[(&Capture, SourceExtraction<'_>, Input)],
    known: &HashMap<Input, Output>,
    Reextraction {
        extraction,
        extractor,
        ..
    }: Reextraction<'_>,
) -> Result<HashMap<Input, Output>, EvidenceError> {
    let mut distinct: Vec<(&Input, SourceExtraction<'_>)> = Vec::new();
    let mut seen = HashSet::new();
    for (_, source, input) in plan {
        if !known.contains_key(input) && seen.insert(input) {
            distinct.push((input, *source));
        }
    }
    let threads = extractor.size();
    let mut outputs = HashMap::with_capacity(distinct.len());
    for batch in distinct.chunks(BATCH) {
        // Reading is sequential (one connection); unpacking and
        // extracting, the costly part, runs on every core.
        let mut work = Vec::with_capacity(batch.len());
        for (input, source) in batch {
            work.push((*input, *source, stored.body(&input.raw_hash)?));
        }
        let per_thread = work.len().div_ceil(threads).max(1);
        let done: Vec<(Input, Output)> = std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(input, source, body)| {
                                let output =
                                    extract_one(extractor, input, source, body, extraction.scope);
                                ((*input).clone(), output)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("extraction does not panic"))
                .collect()
        });
        outputs.extend(done);
    }
    Ok(outputs)
}

fn extract_one(
    extractor: &Extractor,
    input: &Input,
    source: &SourceExtraction<'_>,
    body: &Body,
    settings: &ScopeSettings,
) -> Output {
    let body = body.unpack().map_err(Unextracted::Fails)?;
    let (extracted, scope) = extractor
        .extract_page(
            &body,
            input.content_type.as_deref(),
            &input.final_url,
            source.rules,
            source.scope,
            settings,
        )
        .map_err(|e| match e.class() {
            "extraction-limit" | "extractor-failed" => Unextracted::OverBudget,
            _ => Unextracted::Fails(e.to_string()),
        })?;
    Ok((
        Digest::of(extracted.text.as_bytes()).to_hex(),
        Arc::new(scope),
    ))
}

/// Per source, as the sweep saw it: the last stored scope (record and
/// hash), whether the last extraction was judged broken, and whether that
/// last stored scope is known (a bundle may start after it).
#[derive(Default)]
struct Previous {
    stored: Option<(i64, String)>,
    broken: bool,
    unknown: bool,
}

/// Stored scope sets by hash, each read and checked when first needed;
/// `None` for one missing, unreadable or not matching its hash (named when
/// first met). A set equal to the one its record's body re-extracts to is
/// kept as that extraction (shared with [`Rechecker`]'s `last`), not as a
/// second copy.
#[derive(Default)]
struct StoredSets(HashMap<String, Option<Arc<ScopeOutcome>>>);

impl StoredSets {
    /// Reads and checks the set `hash` that `record` names, unless known;
    /// `extracted`: what the record's body re-extracts to, if it was.
    fn load(
        &mut self,
        stored: &mut impl Stored,
        hash: &str,
        record: i64,
        extracted: Option<&Arc<ScopeOutcome>>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), EvidenceError> {
        if self.0.contains_key(hash) {
            return Ok(());
        }
        let problem = match stored.scope_set_json(hash)? {
            None => Some("is missing: it was deleted".to_string()),
            Some(json) => {
                match serde_json::from_str::<ScopeSet>(&json) {
                    Err(e) => Some(format!("is unreadable ({e}): it was altered")),
                    Ok(set) if set.hash() != hash => {
                        Some("no longer hashes to its name: its entries were altered".into())
                    }
                    Ok(set) => {
                        let shared = extracted
                        .filter(|scope| matches!(&***scope, ScopeOutcome::Extracted(e) if *e == set))
                        .cloned()
                        .unwrap_or_else(|| Arc::new(ScopeOutcome::Extracted(set)));
                        self.0.insert(hash.to_string(), Some(shared));
                        None
                    }
                }
            }
        };
        if let Some(problem) = problem {
            findings.push(Finding::record(
                record,
                format!("the scope set {hash} the record names {problem}"),
            ));
            self.0.insert(hash.to_string(), None);
        }
        Ok(())
    }

    fn get(&self, hash: &str) -> Option<&ScopeSet> {
        match self.0.get(hash).and_then(Option::as_deref) {
            Some(ScopeOutcome::Extracted(set)) => Some(set),
            _ => None,
        }
    }

    /// Forgets the sets not named in `keep` (read and checked again if a
    /// later record names one); a damaged set's verdict stays, so it is
    /// named once.
    fn keep_only(&mut self, keep: &HashSet<&str>) {
        self.0
            .retain(|hash, set| set.is_none() || keep.contains(hash.as_str()));
    }
}

/// `1-4, 7, 9-12`: ascending ids as ranges.
fn ranges(ids: &[i64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = ids.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if end == start {
            format!("record {start}")
        } else {
            format!("records {start}-{end}")
        });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(seq: i64, json: &str) -> (i64, Value) {
        (seq, serde_json::from_str(json).unwrap())
    }

    #[test]
    fn the_config_leaf_before_a_capture_decides_and_old_leaves_are_unrecorded() {
        let current = BTreeMap::from([("a".to_string(), "new".to_string())]);
        let leaves = [
            leaf(0, r#"{"type":"config","config_sha256":"x"}"#),
            leaf(1, r#"{"type":"capture","record_id":1}"#),
            leaf(2, r#"{"type":"config","extraction":{"a":"old"}}"#),
            leaf(3, r#"{"type":"capture","record_id":2}"#),
            leaf(4, r#"{"type":"config","extraction":{"a":"new"}}"#),
            leaf(5, r#"{"type":"capture","record_id":3}"#),
        ];
        let settings = Settings::from_ledger(leaves.iter().map(|(s, l)| (*s, l)), &current);
        let config = crate::config::parse(
            "[[source]]\nid = \"a\"\nurl = \"https://a.example/\"\n",
            std::path::Path::new("/x.toml"),
        )
        .unwrap();
        let extraction = config.extraction_settings();
        let capture = |id: i64, source: &str| Capture {
            id,
            source: source.into(),
            outcome: "ok".into(),
            body: None,
            text_hash: None,
            scope_hash: None,
            content_type: None,
            final_url: String::new(),
        };
        let why = |id, source| {
            settings
                .for_capture(&capture(id, source), &extraction)
                .err()
        };
        // Unknown settings at record 1, but "old" after it: changed since.
        assert_eq!(why(1, "a"), Some(Skip::Changed));
        assert_eq!(why(2, "a"), Some(Skip::Changed));
        assert_eq!(why(3, "a"), None);
        assert_eq!(
            why(3, "a~followed-page"),
            None,
            "a followed page: its parent's"
        );
        assert_eq!(why(3, "gone"), Some(Skip::Removed));
        assert_eq!(why(9, "a"), Some(Skip::Unrecorded), "no capture leaf");

        // Only a leaf from before fingerprints: not known, not "changed".
        let settings =
            Settings::from_ledger([0, 1, 4, 5].map(|i| (leaves[i].0, &leaves[i].1)), &current);
        let why = |id, source| {
            settings
                .for_capture(&capture(id, source), &extraction)
                .err()
        };
        assert_eq!(why(1, "a"), Some(Skip::Unrecorded));
        assert_eq!(why(3, "a"), None);
    }

    #[test]
    fn ranges_collapse_runs() {
        assert_eq!(
            ranges(&[1, 2, 3, 5, 7, 8]),
            "records 1-3, record 5, records 7-8"
        );
        assert_eq!(settings_id("bot~x.example-page"), "bot");
        assert_eq!(settings_id("bot"), "bot");
    }
}
