//! Verification: of the live store (the record chain and blobs, the
//! ledger's leaves and links, every leaf's reference to its record, and the
//! Merkle root against every signed checkpoint, and stored bodies
//! re-extracted, see [`super::recheck`]) and of an exported bundle
//! (see [`verify_bundle`], re-extraction in [`super::bundle_recheck`]).
//! Every problem is collected and named by what it concerns; nothing stops
//! at the first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::bundle_recheck::Captures;
use super::capture_links::FileRecords;
use super::checkpoint::{self, Checkpoint, key_id};
use super::manifest::Archived;
use super::recheck::Reextraction;
use super::{EvidenceError, Finding, warc};
use crate::hash::Digest;
use crate::ledger::merkle::{Hash, RootBuilder};
use crate::ledger::{self, Entry};
use crate::store::{SnapshotReader, Store};

/// What `verify` found, and how many captures it re-extracted.
#[derive(Debug, Default)]
pub struct Verified {
    pub findings: Vec<Finding>,
    /// Captures whose body was re-extracted and whose text and scope
    /// hashes were compared.
    pub re_extracted: usize,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// What of the store was checked, when not all of it (`verify
    /// --last-checkpoint`): "ledger entries 4,210 to 4,399, records ...".
    pub covered: Option<String>,
}

impl Verified {
    fn with(
        mut findings: Vec<Finding>,
        recheck: super::recheck::Recheck,
        checkpoints: usize,
    ) -> Verified {
        findings.extend(recheck.findings);
        Verified {
            findings,
            re_extracted: recheck.compared,
            checkpoints,
            covered: None,
        }
    }
}

/// Where the key checkpoints are checked against came from: findings name
/// it so, "pinned" only for a key given with `--key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `--key`: a public key the auditor holds.
    Pinned,
    /// The database's own signing key (`verify` without `--key`).
    SigningKey,
    /// A bundle's `public-key.pem` (`verify BUNDLE` without `--key`).
    Bundled,
}

impl KeyOrigin {
    fn name(self, key_id: &str) -> String {
        match self {
            KeyOrigin::Pinned => format!("the pinned key {key_id}"),
            KeyOrigin::SigningKey => format!("this database's signing key {key_id}"),
            KeyOrigin::Bundled => format!("the bundle's public-key.pem (key id {key_id})"),
        }
    }
}

/// Why `checkpoint` is not signed by `key`, when it is not.
fn signature_problem(
    checkpoint: &Checkpoint,
    key: &VerifyingKey,
    origin: KeyOrigin,
) -> Option<String> {
    if checkpoint.signed_by(key) {
        return None;
    }
    let expected = key_id(key);
    Some(if checkpoint.key_id != expected {
        format!(
            "signed by another key (key id {}), not {}: the checkpoint was re-signed",
            checkpoint.key_id,
            origin.name(&expected)
        )
    } else {
        "the signature does not verify: the checkpoint or its signature was altered".into()
    })
}

/// Everything `scopewatch verify` checks in the live store; `key` is the
/// public key checkpoints must be signed with, and where it came from;
/// `reextraction` gives the
/// extraction settings (and processes) stored bodies are re-extracted with.
///
/// The ledger and the records are each read once, as a stream: what is
/// kept across the whole store is a few bytes a record (the ids the ledger
/// names, the captures re-extraction needs the settings of) and the
/// Merkle tree's right edge, never the leaves or the records themselves.
pub fn verify_store(
    store: &Store,
    key: Option<(&VerifyingKey, KeyOrigin)>,
    reextraction: Option<Reextraction<'_>>,
) -> Result<Verified, EvidenceError> {
    // One read transaction: every query below sees the same snapshot, so a
    // daemon writing meanwhile cannot make records and ledger disagree.
    let _snapshot = store.read_snapshot()?;
    let span = Span {
        from: 0,
        builder: RootBuilder::default(),
        checkpoints: store.checkpoints()?,
        first_record: None,
        first_event: None,
        interval: false,
    };
    verify_span(store, span, Vec::new(), key, reextraction)
}

/// `scopewatch verify --last-checkpoint`: the newest checkpoint interval
/// (the ledger entries after the checkpoint before the newest, and the
/// records and events they log) checked as [`verify_store`] checks them,
/// in time that grows with the interval, not the history. The previous
/// checkpoint's right edge ([`checkpoint::edge_at`]: saved, and used only
/// when it recombines to that checkpoint's signed root) extended by the
/// interval's leaves must give the newest checkpoint's signed root: the
/// newest log extends the previous one, nothing that checkpoint signed
/// was rewritten. Both signatures and their timestamps are checked. An
/// edge derived from the leaves (none was saved) is saved afterwards,
/// when it recombines to the signed root.
pub fn verify_last_checkpoint(
    store: &Store,
    key: Option<(&VerifyingKey, KeyOrigin)>,
    reextraction: Option<Reextraction<'_>>,
) -> Result<Verified, EvidenceError> {
    let snapshot = store.read_snapshot()?;
    let newest = store.newest_two_checkpoints()?;
    let previous = newest.first().filter(|_| newest.len() == 2);
    let mut findings = Vec::new();
    let mut derived = None;
    let builder = match previous {
        None => RootBuilder::default(),
        Some(previous) => {
            let concerns = format!(
                "checkpoint {} (tree size {})",
                previous.id, previous.tree_size
            );
            match checkpoint::edge_at(store, previous)? {
                checkpoint::Edge::Stored(builder) => builder,
                checkpoint::Edge::Derived(builder) => {
                    if hex::encode(builder.root()) == previous.root {
                        findings.push(Finding::info(
                            concerns,
                            format!(
                                "no Merkle edge was saved with it (it was signed by an earlier scopewatch): derived from the {} ledger entries it signed, which hash to its root; it is saved for the next run when the database takes the write",
                                previous.tree_size
                            ),
                        ));
                        derived = Some((previous.id, builder.edge_text()));
                    }
                    builder
                }
                checkpoint::Edge::Unusable(builder) => {
                    findings.push(Finding::new(
                        concerns,
                        format!(
                            "its saved Merkle edge does not recombine to its signed root: the edge was altered; the {} ledger entries it signed were hashed again instead",
                            previous.tree_size
                        ),
                    ));
                    builder
                }
            }
        }
    };
    let from = match previous {
        Some(previous) => previous.tree_size.min(store.ledger_entries()?),
        None => 0,
    };
    // Where the stretch's records and events begin: after the last ones
    // logged before it, but never after the first ones its own (signed)
    // leaves name, which an edited leaf before it could otherwise hide.
    let before = store.logged_before(from)?;
    let within = store.logged_from(from)?;
    let first = |before: Option<i64>, within: Option<i64>| match (before, within) {
        (Some(before), Some(within)) => Some((before + 1).min(within)),
        (before, _) => before.map(|id| id + 1),
    };
    let span = Span {
        from,
        builder,
        checkpoints: newest,
        first_record: first(before.record, within.record),
        first_event: first(before.event, within.event),
        interval: true,
    };
    let covered = span.describe(store)?;
    let mut verified = verify_span(store, span, findings, key, reextraction)?;
    verified
        .findings
        .insert(0, Finding::info("scope", &covered));
    verified.covered = Some(covered);
    drop(snapshot);
    // Saving is a convenience: a database that takes no write is checked
    // the same, the edge derived again next time.
    if let Some((id, edge)) = derived
        && let Err(e) = store.save_checkpoint_edge(id, &edge)
    {
        tracing::warn!(
            checkpoint = id,
            "the derived Merkle edge was not saved: {e}"
        );
    }
    Ok(verified)
}

/// The part of the store one verify reads: the ledger from `from` on, the
/// records and events those leaves log, and `checkpoints`.
struct Span {
    /// The first ledger entry read; every later one is read too.
    from: i64,
    /// The right edge of the tree of the first `from` leaves.
    builder: RootBuilder,
    /// The checkpoints checked, oldest first.
    checkpoints: Vec<Checkpoint>,
    /// The first record checked: every later one is (`None`: every
    /// record, those before the ledger's first leaf needing none).
    first_record: Option<i64>,
    /// The first event checked, likewise.
    first_event: Option<i64>,
    /// Whether this is the last checkpoint interval, not the whole store.
    interval: bool,
}

impl Span {
    /// What the span covers, for the reader.
    fn describe(&self, store: &Store) -> Result<String, EvidenceError> {
        let size = store.ledger_entries()?;
        let entries = if self.from >= size {
            "no ledger entries (none since the previous checkpoint)".to_string()
        } else {
            format!("ledger entries {} to {}", self.from, size - 1)
        };
        let signed = match self.checkpoints.as_slice() {
            [previous, newest] => format!(
                "the interval from checkpoint {} (tree size {}) to checkpoint {} (tree size {}) and what was logged after it",
                previous.id, previous.tree_size, newest.id, newest.tree_size
            ),
            [only] => format!(
                "everything up to checkpoint {} (tree size {}), the only one, and what was logged after it",
                only.id, only.tree_size
            ),
            _ => "everything: there is no signed checkpoint yet".into(),
        };
        let records = match self.first_record {
            Some(first) => format!(", records from {first} on"),
            None => ", every record".into(),
        };
        Ok(format!(
            "only the last checkpoint interval was checked: {signed}, {entries}{records}; what came before is covered by the previous checkpoint's signed root alone (run `scopewatch verify` without --last-checkpoint to recompute it)"
        ))
    }
}

/// The checks of [`verify_store`] over `span`, inside the caller's read
/// snapshot; `findings`: what was found already.
fn verify_span(
    store: &Store,
    span: Span,
    mut findings: Vec<Finding>,
    key: Option<(&VerifyingKey, KeyOrigin)>,
    reextraction: Option<Reextraction<'_>>,
) -> Result<Verified, EvidenceError> {
    let fingerprints = reextraction.map(|r| r.extraction.fingerprints());
    let first_record = span.first_record;
    // The records are hashed on a second connection, on another core,
    // while this one checks the ledger, the events and the bodies, when
    // both read one snapshot.
    let reader = beside(store)?;
    let (chain, rest) = std::thread::scope(|threads| {
        let hashing = reader.map(|reader| threads.spawn(move || chain_of(&reader, first_record)));
        let rest = check_ledger_side(store, &span, key, reextraction, fingerprints.as_ref());
        let chain = match hashing {
            Some(hashing) => hashing.join().expect("the chain check does not panic"),
            None => chain_of(store, first_record),
        };
        (chain, rest)
    });
    let (ledger_findings, logged_prunes, recheck) = rest?;
    for f in chain? {
        let mut finding = Finding::record(f.record_id, f.problem);
        if finding.problem.starts_with("the blob named by raw_hash")
            && let Some(hash) = store.pruned_raw_hash(f.record_id)?
        {
            let logged = logged_prunes.contains(&hash)
                || (span.from > 0 && store.prune_logged_before(span.from, &hash)?);
            if logged {
                finding.problem = "raw body pruned by policy ([retention] raw_bodies); its hash and the ledger remain".into();
                finding.pruned_by_policy = true;
            } else {
                finding.problem = "the raw body was emptied without a prune entry in the ledger: it was removed outside the retention policy".into();
            }
        }
        findings.push(finding);
    }
    findings.extend(ledger_findings);
    Ok(Verified::with(findings, recheck, span.checkpoints.len()))
}

/// Everything but the record chain: the ledger read once (its leaves,
/// what they name, the records no leaf names), the events, the
/// checkpoints and their timestamps, and re-extraction. Returns the
/// findings, the bodies `prune` leaves name, and what re-extraction found.
fn check_ledger_side(
    store: &Store,
    span: &Span,
    key: Option<(&VerifyingKey, KeyOrigin)>,
    reextraction: Option<Reextraction<'_>>,
    fingerprints: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<(Vec<Finding>, HashSet<String>, super::recheck::Recheck), EvidenceError> {
    let mut scan = LedgerScan::new(store, span, fingerprints)?;
    ledger::for_each_entry(store, span.from, i64::MAX, |entry, outcome| {
        scan.add(store, &entry, outcome)
    })?;
    let size = scan.size;
    let roots = std::mem::take(&mut scan.roots);
    let settings = scan.settings.take();
    let event_leaves = std::mem::take(&mut scan.event_leaves);
    let logged_prunes = std::mem::take(&mut scan.logged_prunes);
    let mut findings = scan.findings(store, span.first_record)?;
    findings.extend(super::event_check::check_store(
        store,
        event_leaves,
        span.first_event,
    )?);
    findings.extend(check_checkpoints(
        &roots,
        size,
        &span.checkpoints,
        key,
        span.interval,
    ));
    let tsa_trust = reextraction.and_then(|r| r.tsa_trust);
    findings.extend(if span.interval {
        super::timestamp::check_tokens_of(store, &span.checkpoints, tsa_trust)?
    } else {
        super::timestamp::check_tokens(store, &span.checkpoints, tsa_trust)?
    });
    let recheck = match (reextraction, settings) {
        (Some(reextraction), Some(settings)) => {
            super::recheck::recheck_store(store, settings, reextraction, span.first_record)?
        }
        _ => super::recheck::no_config(),
    };
    Ok((findings, logged_prunes, recheck))
}

/// A second connection reading the snapshot `store`'s transaction reads:
/// opened, its own read begun, and kept only when it sees the same
/// ledger size and last record (records and leaves are only appended, so
/// equal high-water marks are equal contents; a write committed between
/// the two reads makes them differ, and the work stays on one connection).
fn beside(store: &Store) -> Result<Option<SnapshotReader>, EvidenceError> {
    let Some(reader) = store.snapshot_reader()? else {
        return Ok(None);
    };
    let marks = |store: &Store| -> Result<(i64, i64), EvidenceError> {
        Ok((store.ledger_entries()?, store.last_record_id()?))
    };
    Ok((marks(&reader)? == marks(store)?).then_some(reader))
}

/// The record chain's findings, from `first` on (`None`: every record).
fn chain_of(
    store: &Store,
    first: Option<i64>,
) -> Result<Vec<crate::store::ChainFinding>, EvidenceError> {
    Ok(match first {
        Some(first) => store.verify_chain_from(first)?,
        None => store.verify_chain()?,
    })
}

/// What one pass over the ledger leaves to check: each leaf's hash, link
/// and order ([`ledger::EntryChecker`]), each capture or failure leaf
/// against the record it names, the roots the checkpoints signed (from the
/// stored leaf hashes, fed to a [`RootBuilder`] as they stream by), the
/// bodies `prune` leaves name, and the settings re-extraction needs.
struct LedgerScan {
    checker: ledger::EntryChecker,
    /// Findings about the records the leaves name, in ledger order.
    references: Vec<Finding>,
    /// Every record id a capture or failure leaf names.
    referenced: IdSet,
    logged_prunes: HashSet<String>,
    /// Event id to the seq and JSON text of its leaf (the text, not the
    /// parsed value: a tenth of the memory for a year's events).
    event_leaves: BTreeMap<i64, (i64, String)>,
    size: i64,
    builder: RootBuilder,
    /// The tree sizes checkpoints signed, ascending, and the roots reached.
    wanted: Vec<i64>,
    roots: HashMap<i64, Hash>,
    settings: Option<super::recheck::Settings>,
}

impl LedgerScan {
    /// A scan of the ledger from `span.from` on; with `fingerprints`,
    /// gathering what re-extraction needs (the config leaf in force at
    /// `from` first).
    fn new(
        store: &Store,
        span: &Span,
        fingerprints: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<LedgerScan, EvidenceError> {
        let mut wanted: Vec<i64> = span.checkpoints.iter().map(|c| c.tree_size).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut roots = HashMap::new();
        if wanted.binary_search(&span.from).is_ok() {
            roots.insert(span.from, span.builder.root());
        }
        let mut settings = fingerprints.map(super::recheck::Settings::new);
        if let Some(settings) = &mut settings
            && span.from > 0
            && let Some((seq, leaf)) = ledger::config_leaf_before(store, span.from)?
        {
            settings.config_leaf(seq, &leaf);
        }
        Ok(LedgerScan {
            checker: ledger::EntryChecker::starting_at(
                span.from,
                ledger::prev_hash(store, span.from)?,
            ),
            references: Vec::new(),
            referenced: IdSet::default(),
            logged_prunes: HashSet::new(),
            event_leaves: BTreeMap::new(),
            size: span.from,
            builder: span.builder.clone(),
            wanted,
            roots,
            settings,
        })
    }

    /// The next leaf; `outcome`: that of the record it was rebuilt from.
    fn add(
        &mut self,
        store: &Store,
        entry: &Entry,
        outcome: Option<&str>,
    ) -> Result<(), EvidenceError> {
        self.builder.push(self.checker.check(entry, true));
        self.size += 1;
        if self.wanted.binary_search(&self.size).is_ok() {
            self.roots.insert(self.size, self.builder.root());
        }
        let (id, hash, capture) = match (entry.rebuilt_from, outcome) {
            // Rebuilt from its record: it names that record, by its hash.
            (Some(id), Some(outcome)) => (id, None, outcome == "ok"),
            // Its record is gone, so the leaf could not be rebuilt.
            (Some(id), None) => (id, Some(String::new()), false),
            (None, _) => {
                let Ok(leaf) = serde_json::from_str::<Value>(&entry.leaf) else {
                    return Ok(());
                };
                if leaf["type"] == "event" {
                    if let Some(id) = leaf["event_id"].as_i64() {
                        self.event_leaves
                            .insert(id, (entry.seq, entry.leaf.clone()));
                    }
                    return Ok(());
                }
                match leaf["type"].as_str() {
                    Some("prune") => {
                        if let Some(raw) = leaf["raw_hash"].as_str() {
                            self.logged_prunes.insert(raw.to_string());
                        }
                        return Ok(());
                    }
                    Some("config") => {
                        if let Some(settings) = &mut self.settings {
                            settings.config_leaf(entry.seq, &leaf);
                        }
                        return Ok(());
                    }
                    Some(kind @ ("capture" | "failure")) => {
                        let (Some(id), Some(hash)) =
                            (leaf["record_id"].as_i64(), leaf["record_hash"].as_str())
                        else {
                            self.references.push(Finding::new(
                                format!("ledger entry {}", entry.seq),
                                "a capture leaf without record_id and record_hash",
                            ));
                            return Ok(());
                        };
                        let ok = kind == "capture" && leaf["outcome"] == "ok";
                        (id, Some(hash.to_string()), ok)
                    }
                    _ => return Ok(()),
                }
            }
        };
        self.referenced.insert(id);
        if capture && let Some(settings) = &mut self.settings {
            settings.capture_leaf(id, entry.seq);
        }
        let Some(hash) = hash else { return Ok(()) };
        let stored: Option<String> = if hash.is_empty() {
            None
        } else {
            store.record_hash(id)?
        };
        match stored {
            None => self.references.push(Finding {
                record_id: Some(id),
                ..Finding::new(
                    format!("ledger entry {}", entry.seq),
                    format!("names record {id}, which is missing: the record was deleted"),
                )
            }),
            Some(stored) if stored != hash => self.references.push(Finding {
                record_id: Some(id),
                ..Finding::new(
                    format!("ledger entry {}", entry.seq),
                    format!(
                        "names record {id} with hash {hash}, but the record's hash is now {stored}: the record was replaced"
                    ),
                )
            }),
            Some(_) => {}
        }
        Ok(())
    }

    /// The ledger's findings: the leaves' own problems, then what they
    /// name, then the records no leaf names (read as a stream of ids):
    /// from `first_record` on, else after the first record a leaf names.
    fn findings(
        self,
        store: &Store,
        first_record: Option<i64>,
    ) -> Result<Vec<Finding>, EvidenceError> {
        let mut findings: Vec<Finding> = self
            .checker
            .problems
            .into_iter()
            .map(|p| Finding {
                record_id: p.record_id,
                ..Finding::new(format!("ledger entry {}", p.seq), p.problem)
            })
            .collect();
        findings.extend(self.references);
        // Records from before the ledger existed have no leaf; any later one must.
        let Some(first) = first_record.or(self.referenced.first.map(|id| id + 1)) else {
            return Ok(findings);
        };
        store.for_each_record_id(first, |id| {
            if !self.referenced.contains(id) {
                findings.push(Finding::record(
                    id,
                    "the record has no ledger entry: it was added outside scopewatch, or its ledger entry is gone",
                ));
            }
            Ok::<_, EvidenceError>(())
        })?;
        Ok(findings)
    }
}

/// A set of record ids as bits, 64 ids a word: about 0.2 MB for a million
/// records numbered from 1 (they are dense), where a list of them took 8
/// bytes each.
#[derive(Default)]
struct IdSet {
    words: HashMap<i64, u64>,
    /// The lowest id inserted.
    first: Option<i64>,
}

impl IdSet {
    fn insert(&mut self, id: i64) {
        *self.words.entry(id.div_euclid(64)).or_default() |= 1 << id.rem_euclid(64);
        self.first = Some(self.first.map_or(id, |first| first.min(id)));
    }

    fn contains(&self, id: i64) -> bool {
        self.words
            .get(&id.div_euclid(64))
            .is_some_and(|word| word & (1 << id.rem_euclid(64)) != 0)
    }
}

/// Every checkpoint's signature against `key`, and its root against the
/// ledger's leaves as stored: `roots` holds the root of the first `n`
/// stored leaf hashes for every `n` a checkpoint signed that the ledger's
/// `size` reaches.
/// `interval`: `checkpoints` are the newest two, and `roots` those of the
/// previous checkpoint's edge and of that edge extended by the leaves since.
fn check_checkpoints(
    roots: &HashMap<i64, Hash>,
    size: i64,
    checkpoints: &[Checkpoint],
    key: Option<(&VerifyingKey, KeyOrigin)>,
    interval: bool,
) -> Vec<Finding> {
    // The hashes as stored: a leaf that no longer matches its hash is
    // reported by the ledger's own checks; here the stored hashes meet the roots.
    let mut findings = Vec::new();
    let Some((key, origin)) = key else {
        if !checkpoints.is_empty() {
            findings.push(Finding::new(
                "checkpoints",
                "no public key to check the signatures with: the signing key is missing; pass --key public-key.pem",
            ));
        }
        return findings;
    };
    let mut previous_size = 0;
    let mut previous: Option<&Checkpoint> = None;
    for checkpoint in checkpoints {
        let concerns = format!(
            "checkpoint {} (tree size {})",
            checkpoint.id, checkpoint.tree_size
        );
        let mut problem = |text: String| findings.push(Finding::new(concerns.clone(), text));
        if let Some(text) = signature_problem(checkpoint, key, origin) {
            problem(text);
        }
        if checkpoint.tree_size < previous_size {
            problem(format!(
                "the tree shrank from {previous_size} to {} entries: checkpoints were reordered or replaced",
                checkpoint.tree_size
            ));
        }
        previous_size = checkpoint.tree_size;
        if checkpoint.tree_size > size {
            problem(format!(
                "it signed {} ledger entries but only {size} exist: the ledger was truncated at the tail",
                checkpoint.tree_size
            ));
        } else if roots
            .get(&checkpoint.tree_size)
            .is_none_or(|root| hex::encode(root) != checkpoint.root)
        {
            problem(match previous {
                Some(before) if interval => format!(
                    "does not extend checkpoint {}: its signed tree and the {} ledger entries since do not hash to this signed root: the log checkpoint {} signed was rewritten, or entries after it were",
                    before.id,
                    checkpoint.tree_size - before.tree_size,
                    before.id
                ),
                _ => format!(
                    "the first {} ledger entries no longer hash to the signed root: the ledger was rewritten",
                    checkpoint.tree_size
                ),
            });
        }
        previous = Some(checkpoint);
    }
    findings
}

/// Reads a public key (SubjectPublicKeyInfo PEM) to pin.
pub fn read_public_key(path: &std::path::Path) -> Result<VerifyingKey, EvidenceError> {
    let text = super::bundle_file::read_to_string(path, super::bundle_file::MAX_SMALL)
        .map_err(|e| EvidenceError::file(path, e))?;
    checkpoint::parse_public_pem(&text).ok_or_else(|| {
        EvidenceError::file(
            path,
            "not an Ed25519 public key in PEM (`scopewatch key show` prints one)",
        )
    })
}

/// Everything `scopewatch verify BUNDLE` checks: each file against
/// `SHA256SUMS`, the signature over it, each checkpoint's signature, each
/// ledger leaf's hash and inclusion proof against the newest checkpoint,
/// the consistency proofs between checkpoints, every WARC record's framing
/// and digests, each capture's metadata record against its ledger leaf
/// and its body (a revisit's: the response it refers to) against the
/// record's `raw_hash`, the manifest's claims (which captures and events
/// the bundle must hold, see [`super::manifest`]), the ledger lines'
/// continuity and `prev` links, every event against its leaf and
/// recomputed ([`super::event_check`]), `archive.wacz` against the WARC
/// files ([`super::wacz_check`]), with `since` that the log extends that
/// earlier checkpoint ([`super::extends`]), and, with `reextraction`, each
/// capture's body re-extracted with its settings against the text and
/// scope hashes the bundle states.
/// `pinned`: the public key to trust [default: the bundle's own].
pub fn verify_bundle(
    dir: &Path,
    pinned: Option<&Path>,
    since: Option<&super::extends::OldCheckpoint>,
    reextraction: Option<Reextraction<'_>>,
) -> Result<Verified, EvidenceError> {
    if !dir.join("SHA256SUMS").is_file() {
        return Err(EvidenceError::file(
            dir,
            "not an evidence bundle (no SHA256SUMS): name the directory `scopewatch export --out` wrote",
        ));
    }
    let mut findings = Vec::new();
    let bundled_key = read_public_key(&dir.join("public-key.pem"));
    let key = match pinned {
        Some(path) => {
            let key = read_public_key(path)?;
            if bundled_key.as_ref().is_ok_and(|b| b != &key) {
                findings.push(Finding::new(
                    "public-key.pem",
                    "differs from the pinned key: the bundle was signed by someone else",
                ));
            }
            Some((key, KeyOrigin::Pinned))
        }
        None => match bundled_key {
            Ok(key) => Some((key, KeyOrigin::Bundled)),
            Err(e) => {
                findings.push(Finding::new("public-key.pem", e.to_string()));
                None
            }
        },
    };

    let sums = read(dir, "SHA256SUMS", &mut findings).unwrap_or_default();
    check_sums(dir, &sums, &mut findings);
    if let (Some((key, _)), Some(signature)) = (&key, read(dir, "SHA256SUMS.sig", &mut findings))
        && !checkpoint::verify_signature(key, &sums, &signature)
    {
        findings.push(Finding::new(
            "SHA256SUMS.sig",
            "the signature does not verify with the public key: the signature was replaced or SHA256SUMS was altered",
        ));
    }

    let checkpoints = bundle_checkpoints(
        dir,
        key.as_ref().map(|(key, origin)| (key, *origin)),
        &mut findings,
    );
    let tsa_trust = reextraction.and_then(|r| r.tsa_trust);
    findings.extend(super::timestamp::check_bundle_tokens(
        dir,
        &checkpoints,
        tsa_trust,
    ));
    let manifest = read_manifest(dir, key.as_ref().map(|(key, _)| key), &mut findings);
    let (leaves, lines) = check_bundle_ledger(dir, &checkpoints, &mut findings);
    if let Some(latest) = checkpoints.last() {
        let first = manifest.as_ref().map(|m| m.ledger.first);
        check_sequence(&lines, first, latest, &mut findings);
    }
    if let Some(old) = since {
        let consistency: Vec<Value> = super::bundle_file::read_to_string(
            &dir.join("ledger/proofs/consistency.jsonl"),
            super::bundle_file::MAX_FILE,
        )
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
        super::extends::check(
            old,
            &checkpoints,
            &consistency,
            key.as_ref().map(|(key, _)| key),
            &mut findings,
        );
    }
    let (captures, archived) = check_archives(dir, &leaves, &mut findings);
    let warcs: std::collections::BTreeMap<String, (String, u64)> =
        files_under(dir, &dir.join("archive"))
            .into_iter()
            .filter_map(|name| {
                let bytes =
                    super::bundle_file::read(&dir.join(&name), super::bundle_file::MAX_FILE)
                        .ok()?;
                Some((name, (Digest::of(&bytes).to_hex(), bytes.len() as u64)))
            })
            .collect();
    super::wacz_check::check(dir, &warcs, &mut findings);
    let included_records = match (&manifest, checkpoints.last()) {
        (Some(manifest), Some(latest)) => {
            let held = super::manifest::Held {
                latest,
                leaves: &leaves,
                archived: &archived,
            };
            super::manifest::check(manifest, &held, &mut findings).included_records
        }
        // Without a manifest, the events of the captures it holds.
        _ => archived.values().filter_map(|a| a.record_id).collect(),
    };
    let scope = super::bundle_recheck::scope_lines(dir, &mut findings);
    let events = super::event_check::BundleLedger {
        leaves: &leaves,
        scope: &scope,
        included_records: &included_records,
    };
    super::event_check::check_bundle(dir, &events, &mut findings);
    let recheck = captures.recheck(scope, &leaves, reextraction)?;
    Ok(Verified::with(findings, recheck, checkpoints.len()))
}

/// The bundle's manifest, its signature checked against `key`; `None`
/// (and a finding, or an info line for a bundle from before manifests)
/// when it cannot be read.
fn read_manifest(
    dir: &Path,
    key: Option<&VerifyingKey>,
    findings: &mut Vec<Finding>,
) -> Option<super::manifest::Manifest> {
    use super::manifest::{FILE, SIGNATURE};
    let Ok(bytes) = super::bundle_file::read(&dir.join(FILE), super::bundle_file::MAX_FILE) else {
        findings.push(Finding::info(
            FILE,
            "the bundle has no manifest (it was exported by an earlier scopewatch, or the manifest was removed): which captures it must hold was not checked, only that its ledger entries run without a gap",
        ));
        return None;
    };
    let signature = super::bundle_file::read(&dir.join(SIGNATURE), super::bundle_file::MAX_SMALL)
        .unwrap_or_default();
    if let Some(key) = key
        && !checkpoint::verify_signature(key, &bytes, &signature)
    {
        findings.push(Finding::new(
            SIGNATURE,
            "the signature over manifest.json does not verify with the public key: the manifest was altered or its signature replaced",
        ));
    }
    match serde_json::from_slice(&bytes) {
        Ok(manifest) => Some(manifest),
        Err(e) => {
            findings.push(Finding::new(FILE, format!("is not a manifest: {e}")));
            None
        }
    }
}

/// One line of `ledger/entries.jsonl`: its seq, its leaf hash, its `prev`.
struct Line {
    seq: i64,
    hash: Hash,
    prev: Option<String>,
}

/// The ledger lines run from `first` (the manifest's; else the lowest
/// seq) to the last entry `latest` signed, in order, without a gap or a
/// repeat, each `prev` the hash of the line before.
fn check_sequence(
    lines: &[Line],
    first: Option<i64>,
    latest: &Checkpoint,
    findings: &mut Vec<Finding>,
) {
    let size = latest.tree_size;
    let first = first
        .or_else(|| lines.iter().map(|l| l.seq).min())
        .unwrap_or(size);
    let mut hashes: HashMap<i64, Hash> = HashMap::new();
    let mut previous: Option<i64> = None;
    for line in lines {
        let concerns = format!("ledger entry {}", line.seq);
        if hashes.insert(line.seq, line.hash).is_some() {
            findings.push(Finding::new(
                concerns,
                "appears twice in ledger/entries.jsonl",
            ));
            continue;
        }
        if previous.is_some_and(|p| line.seq < p) {
            findings.push(Finding::new(
                &concerns,
                format!(
                    "comes after entry {} in ledger/entries.jsonl: the lines were moved",
                    previous.unwrap_or_default()
                ),
            ));
        }
        if line.seq < first || line.seq >= size {
            findings.push(Finding::new(
                concerns,
                format!(
                    "is outside the range the bundle covers (entries {first} to {})",
                    size - 1
                ),
            ));
        }
        previous = Some(line.seq);
    }
    let missing: Vec<i64> = (first..size)
        .filter(|seq| !hashes.contains_key(seq))
        .collect();
    for (start, end) in runs(&missing) {
        let (concerns, verb) = if start == end {
            (format!("ledger entry {start}"), "is")
        } else {
            (format!("ledger entries {start} to {end}"), "are")
        };
        findings.push(Finding::new(
            concerns,
            format!(
                "{verb} missing from ledger/entries.jsonl (the bundle covers entries {first} to {}): the lines were deleted",
                size - 1
            ),
        ));
    }
    for line in lines {
        let expected = match line.seq {
            0 => Some(Digest::ZERO.to_hex()),
            seq => hashes.get(&(seq - 1)).map(hex::encode),
        };
        if let Some(expected) = expected
            && line.prev.as_deref() != Some(expected.as_str())
        {
            findings.push(Finding::new(
                format!("ledger entry {}", line.seq),
                format!(
                    "its prev is not the hash of entry {}: the log is broken or reordered here",
                    line.seq - 1
                ),
            ));
        }
    }
}

/// Runs of consecutive numbers in ascending `numbers`: (first, last).
fn runs(numbers: &[i64]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    runs
}

fn read(dir: &Path, name: &str, findings: &mut Vec<Finding>) -> Option<Vec<u8>> {
    match super::bundle_file::read(&dir.join(name), super::bundle_file::MAX_FILE) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            findings.push(Finding::new(name, format!("cannot be read: {e}")));
            None
        }
    }
}

/// Every file against SHA256SUMS, and every file listed there.
fn check_sums(dir: &Path, sums: &[u8], findings: &mut Vec<Finding>) {
    let mut listed = HashSet::new();
    for line in String::from_utf8_lossy(sums).lines() {
        let Some((hash, name)) = line.split_once("  ") else {
            findings.push(Finding::new(
                "SHA256SUMS",
                format!("malformed line {line:?}"),
            ));
            continue;
        };
        listed.insert(name.to_string());
        match super::bundle_file::read(&dir.join(name), super::bundle_file::MAX_FILE) {
            Ok(bytes) if crate::hash::Digest::of(&bytes).to_hex() == hash => {}
            Ok(_) => findings.push(Finding::new(
                name,
                "does not match its SHA256SUMS line: the file was altered",
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                findings.push(Finding::new(name, "is listed in SHA256SUMS but missing"))
            }
            Err(e) => findings.push(Finding::new(name, format!("cannot be read: {e}"))),
        }
    }
    for name in files_under(dir, dir) {
        if name != "SHA256SUMS" && name != "SHA256SUMS.sig" && !listed.contains(&name) {
            findings.push(Finding::new(
                name,
                "is not listed in SHA256SUMS: it was added",
            ));
        }
    }
}

fn files_under(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        // A symbolic link is listed, not followed into: a link to `/` or
        // back to the bundle would walk far beyond it.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(files_under(root, &path));
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    out
}

/// The bundle's checkpoints (from the `.json` files), each checked against
/// its `.txt` and `.sig` and the key.
fn bundle_checkpoints(
    dir: &Path,
    key: Option<(&VerifyingKey, KeyOrigin)>,
    findings: &mut Vec<Finding>,
) -> Vec<Checkpoint> {
    let mut checkpoints = Vec::new();
    for name in files_under(dir, &dir.join("ledger/checkpoints")) {
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let small =
            |name: &str| super::bundle_file::read(&dir.join(name), super::bundle_file::MAX_SMALL);
        let parsed = small(&name)
            .ok()
            .and_then(|b| serde_json::from_slice::<Checkpoint>(&b).ok());
        let Some(checkpoint) = parsed else {
            findings.push(Finding::new(name, "is not a checkpoint"));
            continue;
        };
        let text = small(&format!("{stem}.txt")).unwrap_or_default();
        let signature = small(&format!("{stem}.sig")).unwrap_or_default();
        let concerns = format!(
            "checkpoint {} (tree size {})",
            checkpoint.id, checkpoint.tree_size
        );
        if text != checkpoint.text().as_bytes() || hex::encode(&signature) != checkpoint.signature {
            findings.push(Finding::new(
                &concerns,
                format!("{stem}.txt or .sig disagrees with {stem}.json"),
            ));
        }
        checkpoints.push(checkpoint);
    }
    checkpoints.sort_by_key(|c| c.id);
    if let Some((key, origin)) = key {
        for c in &checkpoints {
            if let Some(problem) = signature_problem(c, key, origin) {
                let concerns = format!("checkpoint {} (tree size {})", c.id, c.tree_size);
                findings.push(Finding::new(concerns, problem));
            }
        }
    }
    checkpoints
}

/// The leaves' hashes and inclusion proofs against the newest checkpoint,
/// and the consistency proofs; returns the leaves by seq.
fn check_bundle_ledger(
    dir: &Path,
    checkpoints: &[Checkpoint],
    findings: &mut Vec<Finding>,
) -> (HashMap<i64, Value>, Vec<Line>) {
    let mut leaves = HashMap::new();
    let mut order = Vec::new();
    let Some(latest) = checkpoints.last() else {
        findings.push(Finding::new(
            "ledger/checkpoints",
            "no checkpoint: nothing signs the ledger",
        ));
        return (leaves, order);
    };
    let root = ledger::parse_hash(&latest.root).unwrap_or([0; 32]);
    let proofs: HashMap<i64, Value> = lines(dir, "ledger/proofs/inclusion.jsonl", findings)
        .into_iter()
        .filter_map(|p| Some((p["seq"].as_i64()?, p)))
        .collect();
    for line in
        String::from_utf8_lossy(&read(dir, "ledger/entries.jsonl", findings).unwrap_or_default())
            .lines()
    {
        let Ok(leaf) = serde_json::from_str::<Value>(line) else {
            findings.push(Finding::new(
                "ledger/entries.jsonl",
                format!("a line is not JSON: {line:?}"),
            ));
            continue;
        };
        let seq = leaf["seq"].as_i64().unwrap_or(-1);
        let concerns = format!("ledger entry {seq}");
        let hash = crate::ledger::merkle::leaf_hash(line.as_bytes());
        let path: Vec<_> = proofs
            .get(&seq)
            .and_then(|p| p["path"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|h| h.as_str().and_then(ledger::parse_hash))
            .collect();
        let included = seq >= 0
            && crate::ledger::merkle::verify_inclusion(
                seq as u64,
                latest.tree_size as u64,
                &hash,
                &path,
                &root,
            );
        if !included {
            findings.push(Finding {
                record_id: leaf["record_id"].as_i64(),
                ..Finding::new(
                    concerns,
                    format!(
                        "the leaf and its audit path do not lead to the root signed by checkpoint {}: the entry was altered or is not in the log",
                        latest.id
                    ),
                )
            });
        }
        order.push(Line {
            seq,
            hash,
            prev: leaf["prev"].as_str().map(String::from),
        });
        leaves.insert(seq, leaf);
    }
    let consistency: Vec<Value> = lines(dir, "ledger/proofs/consistency.jsonl", findings);
    for pair in checkpoints.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let proof = consistency.iter().find(|p| {
            p["first"].as_i64() == Some(a.tree_size) && p["second"].as_i64() == Some(b.tree_size)
        });
        let path: Vec<_> = proof
            .and_then(|p| p["path"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|h| h.as_str().and_then(ledger::parse_hash))
            .collect();
        let (ra, rb) = (
            ledger::parse_hash(&a.root).unwrap_or([0; 32]),
            ledger::parse_hash(&b.root).unwrap_or([0; 32]),
        );
        if a.tree_size > b.tree_size
            || !crate::ledger::merkle::verify_consistency(
                a.tree_size as u64,
                b.tree_size as u64,
                &ra,
                &rb,
                &path,
            )
        {
            findings.push(Finding::new(
                format!("checkpoint {}", b.id),
                format!(
                    "its log does not extend checkpoint {}'s: history was rewritten between them",
                    a.id
                ),
            ));
        }
    }
    (leaves, order)
}

fn lines(dir: &Path, name: &str, findings: &mut Vec<Finding>) -> Vec<Value> {
    String::from_utf8_lossy(&read(dir, name, findings).unwrap_or_default())
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every WARC record's framing and digests, and each metadata record
/// against the ledger leaf that logged its capture; returns the captures
/// for re-extraction.
fn check_archives(
    dir: &Path,
    leaves: &HashMap<i64, Value>,
    findings: &mut Vec<Finding>,
) -> (Captures, HashMap<i64, Archived>) {
    let mut captures = Captures::default();
    let mut archived = HashMap::new();
    let mut config_seqs: Vec<i64> = leaves
        .iter()
        .filter(|(_, leaf)| leaf["type"] == "config")
        .map(|(seq, _)| *seq)
        .collect();
    config_seqs.sort_unstable();
    for name in files_under(dir, &dir.join("archive")) {
        let Some(bytes) = read(dir, &name, findings) else {
            continue;
        };
        let reads = warc::read_all(&bytes);
        let names = warc::record_names(&name, &reads);
        let mut file_records = FileRecords::new(&name);
        for (read, concerns) in reads.iter().zip(names) {
            let record = match read {
                warc::ReadRecord::Ok { record, .. } => record,
                warc::ReadRecord::Damaged { problem, .. } => {
                    findings.push(Finding::new(concerns, problem.clone()));
                    continue;
                }
            };
            let kind = record.header("WARC-Type").unwrap_or("");
            if record.header("WARC-Block-Digest") != Some(warc::digest(&record.block).as_str()) {
                findings.push(Finding::new(
                    &concerns,
                    format!("the {kind} block does not match WARC-Block-Digest: it was altered"),
                ));
            }
            if kind == "response" {
                let payload = warc::digest(warc::http_payload(&record.block));
                if record.header("WARC-Payload-Digest") != Some(payload.as_str()) {
                    findings.push(Finding::new(
                        &concerns,
                        "the payload does not match WARC-Payload-Digest: it was altered",
                    ));
                }
            }
            file_records.add(&concerns, record, findings);
            let mut own = None;
            if kind == "metadata" {
                let meta = serde_json::from_slice::<Value>(&record.block).ok();
                let linked = meta
                    .as_ref()
                    .map(|meta| file_records.link(&concerns, record, meta, findings))
                    .unwrap_or_default();
                if let Some(meta) = &meta
                    && let Some(seq) = meta["ledger_seq"].as_i64()
                {
                    archived.insert(
                        seq,
                        Archived {
                            file: name.clone(),
                            record_id: meta["record_id"].as_i64(),
                            raw_pruned: meta["raw_pruned"] == true,
                            concurrent: linked.first_kind,
                        },
                    );
                }
                let ledger = Ledger {
                    leaves,
                    config_seqs: &config_seqs,
                };
                let payload = captures.payload_of(linked.own.as_deref());
                check_metadata(&concerns, record, &ledger, payload, findings);
                own = linked.own;
            }
            captures.add(&concerns, record, own.as_deref(), findings);
        }
        file_records.finish(findings);
    }
    (captures, archived)
}

/// The metadata's `record` (the record's canonical encoding) must hash to
/// its `record_hash`, which the ledger leaf holds under the signed root,
/// and the members that repeat the record's columns must equal them: so
/// the peer address, TLS version and certificate are covered by the
/// checkpoints, not only by the export's signature.
fn check_record_members(meta: &Value, problem: &mut impl FnMut(String)) {
    let Some(canonical) = meta["record"].as_str() else {
        problem(
            "the metadata has no `record`, so its members cannot be checked against the ledger: export the bundle again with this scopewatch"
                .into(),
        );
        return;
    };
    if meta["record_hash"].as_str() != Some(Digest::of(canonical.as_bytes()).to_hex().as_str()) {
        problem(
            "the metadata's `record` does not hash to its record_hash: the record was altered"
                .into(),
        );
        return;
    }
    let Ok(record) = serde_json::from_str::<Value>(canonical) else {
        problem("the metadata's `record` is not JSON".into());
        return;
    };
    let redirects = record["redirects"]
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let mut differ: Vec<&str> = warc::RECORD_MEMBERS
        .into_iter()
        // A record from before `tls_version` existed has no such member.
        .filter(|key| meta[key] != record[key])
        .collect();
    if redirects.as_ref() != Some(&meta["redirects"]) {
        differ.push("redirects");
    }
    let fetch_details = record["fetch_details"]
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or(Value::Null);
    if fetch_details != meta["fetch_details"] {
        differ.push("fetch_details");
    }
    if !differ.is_empty() {
        problem(format!(
            "the metadata's {} differ from the record it names: the metadata was altered",
            differ.join(", ")
        ));
    }
}

/// A bundle's ledger leaves by `seq`, and the `seq`s of its `config`
/// leaves in order.
struct Ledger<'a> {
    leaves: &'a HashMap<i64, Value>,
    config_seqs: &'a [i64],
}

fn check_metadata(
    concerns: &str,
    record: &warc::WarcRecord,
    ledger: &Ledger<'_>,
    payload: Option<&str>,
    findings: &mut Vec<Finding>,
) {
    let leaves = ledger.leaves;
    let Ok(meta) = serde_json::from_slice::<Value>(&record.block) else {
        findings.push(Finding::new(concerns, "the metadata record is not JSON"));
        return;
    };
    let record_id = meta["record_id"].as_i64();
    let mut problem = |text: String| {
        findings.push(Finding {
            record_id,
            ..Finding::new(concerns, text)
        })
    };
    let leaf = meta["ledger_seq"].as_i64().and_then(|seq| leaves.get(&seq));
    match leaf {
        None => problem("the capture's ledger entry is not in ledger/entries.jsonl".into()),
        Some(leaf)
            if ["record_id", "record_hash", "raw_hash", "text_hash"]
                .iter()
                .any(|key| leaf[key] != meta[key]) =>
        {
            problem(
                "the metadata names a record, body or text hash the ledger leaf does not: the capture was replaced"
                    .into(),
            )
        }
        Some(_) => {}
    }
    // The configuration it names is the last `config` leaf before the
    // capture's leaf, with the hash it states.
    if let (Some(config_seq), Some(capture_seq)) = (
        meta["config_ledger_seq"].as_i64(),
        meta["ledger_seq"].as_i64(),
    ) {
        let before = ledger.config_seqs.partition_point(|seq| *seq < capture_seq);
        let in_force = before.checked_sub(1).map(|i| ledger.config_seqs[i]);
        let named = leaves.get(&config_seq);
        if in_force != Some(config_seq)
            || named.is_none_or(|leaf| leaf["config_sha256"] != meta["config_sha256"])
        {
            problem(format!(
                "the metadata names configuration {} (ledger entry {config_seq}), which is not the configuration the ledger had in force for this capture",
                meta["config_sha256"].as_str().unwrap_or("(none)")
            ));
        }
    }
    check_record_members(&meta, &mut problem);
    // The body its response (or the response its revisit refers to) holds.
    if let (Some(raw), Some(payload)) = (meta["raw_hash"].as_str(), payload)
        && payload != raw
        && !super::bundle_recheck::pruned_by_policy(&meta, payload)
    {
        problem(
            "the response payload is not the body the record hashed: the capture was replaced"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_set_holds_exactly_the_ids_inserted() {
        let mut ids = IdSet::default();
        assert_eq!(ids.first, None);
        for id in [1, 63, 64, 65, 1_000_000, -1, -64] {
            ids.insert(id);
        }
        for id in [1, 63, 64, 65, 1_000_000, -1, -64] {
            assert!(ids.contains(id), "{id}");
        }
        for id in [0, 2, 62, 66, 127, 128, 999_999, -2, -63, -65] {
            assert!(!ids.contains(id), "{id}");
        }
        assert_eq!(ids.first, Some(-64));
    }
}
