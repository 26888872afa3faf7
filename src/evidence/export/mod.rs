//! `scopewatch export`: the evidence bundle. A fresh checkpoint is signed
//! first, then the store is read in one snapshot, and only records whose
//! leaf that checkpoint covers go out, so every leaf exported is covered
//! (a daemon may commit more meanwhile); the captures of the period render
//! as WARC, the ledger leaves that concern them go out with
//! an inclusion proof each against the newest checkpoint, every checkpoint
//! goes out as its signed text and raw signature with consistency proofs
//! between consecutive ones, and `SHA256SUMS` lists every file and is signed
//! (`SHA256SUMS.sig`, raw Ed25519, as `openssl pkeyutl -verify -rawin`
//! reads it). `scope/<source>.jsonl` holds the scope each capture stored,
//! which `verify BUNDLE --config FILE` re-extracts and compares. The
//! bundle appears whole or not at all ([`bundle_dir`]).
//!
//! Memory does not grow with the history or the selection: nothing is
//! held per record or per ledger leaf. The ledger is read twice, a row at
//! a time: once to choose ([`LedgerScan`]: which records are selected,
//! kept in a scratch file by [`selected`]; the block roots [`proofs`]
//! needs; the first leaf that concerns the selection), once to write the
//! leaves, their proofs and the manifest's entries from that first leaf
//! on. Captures are read a source at a time, each source's WARC file,
//! scope lines and part of the report written as they are read; the
//! report's CSV reads them again in id order; the WACZ index is sorted in
//! bounded memory ([`sorted_lines`]); every file is hashed as it is
//! written, and the manifest signed as it is read back from its file.
//! What is held grows with the sources (a line each in the report's
//! summary), the checkpoints and the scope events, not with the captures.

mod bundle_dir;
mod proofs;
mod readme;
mod selected;
mod sorted_lines;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use self::bundle_dir::{BundleDir, BundleFile, Hashing, Written};
use self::proofs::{BlockRoots, LeafSource};
use self::selected::Selected;
use self::sorted_lines::SortedLines;
use super::EvidenceError;
use super::checkpoint::{self, Checkpoint, Signer};
pub use super::manifest::Selection;
use super::manifest::{self, EntriesFile, Manifest};
use super::report::{self, ExportCheck, Parts, Report, SourceReport, StampNote};
use super::wacz::{self, Packaged, Page};
use super::warc::{self, Attempt, Config, FirstCapture, PortalMetadata};
use crate::hash::Digest;
use crate::ledger;
use crate::ledger::merkle::Hash;
use crate::scope::ScopeSet;
use crate::store::{RecordRange, RecordRow, Store};

/// What `export` writes besides the bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The evidence bundle only.
    #[default]
    Bundle,
    /// The bundle and `archive.wacz`, a WACZ 1.1.1 package of its WARC
    /// files for replay (listed in `SHA256SUMS`, so the signature covers it).
    Wacz,
}

/// What a bundle holds.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub records: usize,
    pub entries: usize,
    pub checkpoints: usize,
}

/// Signs a checkpoint of the whole ledger, then writes the bundle for
/// `selection` into `out` (created; must be empty) against it.
pub fn write_bundle(
    store: &Store,
    signer: &Signer,
    selection: &Selection,
    format: Format,
    out: &Path,
) -> Result<Summary, EvidenceError> {
    checkpoint::sign(store, signer)?;
    write_signed(store, signer, selection, format, out)
}

/// Writes the bundle for `selection` into `out` (created; must be empty)
/// against the newest checkpoint, from one snapshot of the store: records
/// whose ledger leaf that checkpoint does not cover (committed since it was
/// signed, or made before the ledger existed) are left out, so every
/// capture exported is covered by a signed root. It is written into a
/// temporary directory beside `out`, renamed into place at the end.
pub fn write_signed(
    store: &Store,
    signer: &Signer,
    selection: &Selection,
    format: Format,
    out: &Path,
) -> Result<Summary, EvidenceError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| EvidenceError::file(out, e))?
            .next()
            .is_some()
    {
        return Err(EvidenceError::file(
            out,
            "the directory is not empty: name a new directory for the bundle",
        ));
    }
    let check = check_store(store, signer)?;
    // One read transaction: a daemon writing meanwhile cannot make the
    // checkpoints, ledger and records read below disagree.
    let _snapshot = store.read_snapshot()?;
    let checkpoints = store.checkpoints()?;
    let latest = checkpoints
        .last()
        .ok_or_else(|| EvidenceError::Damaged("no checkpoint could be signed".into()))?;
    let mut bundle = BundleDir::create(out)?;
    let scan = LedgerScan::read(store, selection, latest.tree_size, bundle.scratch())?;
    if scan.selected.len() == 0 && selection.narrows() {
        return Err(EvidenceError::NothingSelected(format!(
            "no capture matches {}: nothing to export (`scopewatch history SOURCE` lists a source's captures and their times)",
            selection.describe()
        )));
    }
    let mut export = Export {
        store,
        selection,
        format,
        latest,
        scan,
        pruned: store.pruned_blobs()?,
        parts: Parts::new(bundle.scratch()).map_err(|e| bundle.failed(bundle.scratch(), e))?,
        index: SortedLines::new(bundle.scratch()),
        archives: Vec::new(),
        pages: Vec::new(),
        records: 0,
    };
    let compared = export.events(&mut bundle)?;
    let sources: BTreeSet<String> = export
        .scan
        .sources
        .keys()
        .chain(compared.keys())
        .cloned()
        .collect();
    for source in &sources {
        export.source(&mut bundle, source, compared.get(source))?;
    }
    export.csv(&mut bundle)?;
    export.report(&mut bundle, &check)?;
    if format == Format::Wacz {
        export.wacz(&mut bundle)?;
    }
    let entries = export.ledger(&mut bundle, signer, &checkpoints)?;
    for checkpoint in &checkpoints {
        add_checkpoint(&mut bundle, checkpoint)?;
    }
    for (name, der) in super::timestamp::bundle_files(store, &checkpoints)? {
        bundle.write(&name, &der)?;
    }
    bundle.write("public-key.pem", signer.public_pem().as_bytes())?;
    bundle.write("verify_ledger.py", VERIFY_LEDGER.as_bytes())?;
    bundle.write(
        "README.txt",
        readme::readme(latest, format == Format::Wacz).as_bytes(),
    )?;
    let summary = Summary {
        records: export.records,
        entries,
        checkpoints: checkpoints.len(),
    };
    bundle.commit(signer)?;
    Ok(summary)
}

/// The event ids the ledger logs. A set, not a bitmap indexed by id: an id
/// is read from a leaf, and a damaged leaf's id must not size an
/// allocation (about 48 bytes an event: 2 MB for a year of 1,000 sources).
#[derive(Default)]
struct IdSet(std::collections::HashSet<i64>);

impl IdSet {
    fn insert(&mut self, id: i64) {
        self.0.insert(id);
    }

    fn contains(&self, id: i64) -> bool {
        self.0.contains(&id)
    }
}

/// What one pass over the ledger up to the checkpoint chooses.
struct LedgerScan {
    size: i64,
    /// The selected records, each with its capture or failure leaf.
    selected: Selected,
    /// Per source with a selected record, its first and last one's id.
    sources: BTreeMap<String, (i64, i64)>,
    /// The first leaf that concerns the selection; `size` when none does.
    first: i64,
    /// Every `config` leaf, in order: the configuration each capture ran
    /// with is the last one before its leaf.
    configs: Vec<Config>,
    /// The events whose leaf the checkpoint covers.
    logged_events: IdSet,
    /// The block roots of the leaves, for the proofs.
    roots: BlockRoots,
}

impl LedgerScan {
    /// Reads the leaves `0..size`, selecting by `selection`, with the
    /// selected records' file in `scratch`.
    fn read(
        store: &Store,
        selection: &Selection,
        size: i64,
        scratch: &Path,
    ) -> Result<LedgerScan, EvidenceError> {
        let mut scan = LedgerScan {
            size,
            selected: Selected::create(&scratch.join("selected"))?,
            sources: BTreeMap::new(),
            first: size,
            configs: Vec::new(),
            logged_events: IdSet::default(),
            roots: BlockRoots::default(),
        };
        ledger::for_each_entry(store, 0, size, |entry, _| {
            scan.roots
                .push(ledger::parse_hash(&entry.leaf_hash).unwrap_or([0; 32]));
            let leaf: Value = serde_json::from_str(&entry.leaf).unwrap_or(Value::Null);
            scan.add(entry.seq, &leaf, selection)
        })?;
        Ok(scan)
    }

    /// The leaf `seq`, in order.
    fn add(&mut self, seq: i64, leaf: &Value, selection: &Selection) -> Result<(), EvidenceError> {
        let concerns = match leaf["type"].as_str() {
            Some("capture" | "failure") => {
                let (Some(record), Some(source), Some(at)) = (
                    leaf["record_id"].as_i64(),
                    leaf["source"].as_str(),
                    leaf["at"].as_str(),
                ) else {
                    return Ok(());
                };
                if !selection.selects(source, at) {
                    return Ok(());
                }
                self.selected.insert(record, seq)?;
                let ids = self
                    .sources
                    .entry(source.to_string())
                    .or_insert((record, record));
                ids.0 = ids.0.min(record);
                ids.1 = ids.1.max(record);
                // The configuration it ran with concerns it too.
                if let Some(config) = config_before(&self.configs, seq) {
                    self.first = self.first.min(config.seq);
                }
                true
            }
            Some(kind @ ("event" | "alert-delivery")) => {
                if kind == "event"
                    && let Some(event) = leaf["event_id"].as_i64()
                {
                    self.logged_events.insert(event);
                }
                match leaf["record_id"].as_i64() {
                    Some(record) => self.selected.contains(record)?,
                    None => false,
                }
            }
            kind => {
                if kind == Some("config")
                    && let Some(sha256) = leaf["config_sha256"].as_str()
                {
                    self.configs.push(Config {
                        seq,
                        sha256: sha256.to_string(),
                    });
                }
                leaf["at"]
                    .as_str()
                    .is_some_and(|at| selection.covers_time(at))
            }
        };
        if concerns {
            self.first = self.first.min(seq);
        }
        Ok(())
    }

    /// The first and last selected record of all.
    fn record_range(&self) -> Option<(i64, i64)> {
        let first = self.sources.values().map(|ids| ids.0).min()?;
        let last = self.sources.values().map(|ids| ids.1).max()?;
        Some((first, last))
    }
}

/// The configuration in force for the attempt logged by leaf `seq`: the
/// last `config` leaf before it (`before_sweep` records it before captures).
fn config_before(configs: &[Config], seq: i64) -> Option<&Config> {
    let at = configs.partition_point(|c| c.seq < seq);
    at.checked_sub(1).map(|i| &configs[i])
}

/// The export under way: what is carried from one part of the bundle to
/// the next.
struct Export<'a> {
    store: &'a Store,
    selection: &'a Selection,
    format: Format,
    latest: &'a Checkpoint,
    scan: LedgerScan,
    /// The hashes of the raw bodies `[retention]` pruned.
    pruned: HashSet<String>,
    parts: Parts,
    /// `indexes/index.cdx` of the WACZ, its lines as they are written.
    index: SortedLines,
    /// Each WARC file written: its path in the bundle and digest.
    archives: Vec<(String, Written)>,
    /// The WACZ pages, a source's latest capture with a body each.
    pages: Vec<Page>,
    records: usize,
}

/// A blob's bytes as text, for a diff.
fn text_of(bytes: Option<Vec<u8>>) -> Option<String> {
    bytes.map(|d| String::from_utf8_lossy(&d).into_owned())
}

impl Export<'_> {
    /// `changes.jsonl`: the events of the selected captures whose leaf the
    /// checkpoint covers (one raised since it was signed, `stale` between
    /// sweeps or `alert-failed`, waits for the next), oldest first, with
    /// their diffs; the report's sections on them. Returns, per source,
    /// the earlier records whose scope an exported scope event compared
    /// with: their scope lines go out too, so the event can be recomputed.
    fn events(
        &mut self,
        bundle: &mut BundleDir,
    ) -> Result<BTreeMap<String, BTreeSet<i64>>, EvidenceError> {
        let mut changes = bundle.file("changes.jsonl")?;
        let mut compared: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let store = self.store;
        let capture_time = |id: i64| store.record(id).ok().map(|r| r.started_at);
        store.for_each_event(|event| {
            if !self.scan.logged_events.contains(event.id)
                || !self.scan.selected.contains(event.to_snapshot)?
            {
                return Ok(());
            }
            if event.kind == crate::detect::EventKind::Scope
                && let Some(from) = event.from_snapshot
                && !self.scan.selected.contains(from)?
                && let Some((row, _)) = store.record_row(from)?
            {
                compared.entry(row.source).or_default().insert(from);
            }
            let diff = text_of(blob(store, event.diff_hash.as_deref())?);
            let line = json!({ "event": event, "diff": diff }).to_string();
            writeln!(changes, "{line}").map_err(|e| bundle.failed(changes.path(), e))?;
            self.parts
                .add_event(&event, diff.as_deref(), &capture_time)
                .map_err(|e| bundle.failed(bundle.scratch(), e))
        })?;
        bundle.finish(changes)?;
        Ok(compared)
    }

    /// One source: its WARC file (its selected captures, in the order
    /// they were made), its `scope/<source>.jsonl` (theirs and those of the
    /// `compared` records), its part of the report and its WACZ page.
    fn source(
        &mut self,
        bundle: &mut BundleDir,
        source: &str,
        compared: Option<&BTreeSet<i64>>,
    ) -> Result<(), EvidenceError> {
        let store = self.store;
        let archive_path = manifest::archive_of(source);
        let filename = format!("{source}.warc.gz");
        let mut archive: Option<BundleFile> = None;
        let mut scope = ScopeLines::new(source, compared);
        let mut report = SourceReport::new(source);
        // By URI and body: a revisit refers within its source's file.
        let mut firsts: HashMap<(String, String), FirstCapture> = HashMap::new();
        // Its latest capture with a body: the WACZ page for it.
        let mut latest_capture: Option<RecordRow> = None;
        if let Some(&(first, last)) = self.scan.sources.get(source) {
            let range = RecordRange {
                source: Some(source),
                first,
                last,
            };
            store.for_each_record(range, |row, record_hash| -> Result<(), EvidenceError> {
                let Some(seq) = self.scan.selected.seq(row.id)? else {
                    return Ok(());
                };
                let file = match &mut archive {
                    Some(file) => file,
                    None => {
                        let mut file = bundle.file(&archive_path)?;
                        let info = warc::warcinfo(&filename, &self.latest.at, &self.latest.root);
                        write_member(bundle, &mut file, &info)?;
                        archive.insert(file)
                    }
                };
                let raw_pruned = row
                    .raw_hash
                    .as_ref()
                    .is_some_and(|h| self.pruned.contains(h));
                let body = if raw_pruned {
                    None
                } else {
                    blob(store, row.raw_hash.as_deref())?
                };
                let text = blob(store, row.text_hash.as_deref())?;
                // A portal document's metadata call goes out as a capture of
                // its own, unchanged version or not.
                let portal_call = row.portal_call();
                let metadata_body = match &portal_call {
                    Some(call) => blob(store, call.metadata.raw_hash.as_deref())?,
                    None => None,
                };
                let key = (
                    warc::uri_of(&row).to_string(),
                    row.raw_hash.clone().unwrap_or_default(),
                );
                let attempt = Attempt {
                    row: &row,
                    record_hash: &record_hash,
                    body: if row.outcome == crate::store::RecordOutcome::NotModified {
                        None
                    } else {
                        body.as_deref()
                    },
                    text: text.as_deref(),
                    ledger_seq: Some(seq),
                    config: config_before(&self.scan.configs, seq),
                    first: firsts.get(&key),
                    pruned: raw_pruned,
                    portal: portal_call.as_ref().map(|call| PortalMetadata {
                        call: &call.metadata,
                        body: metadata_body.as_deref(),
                    }),
                };
                let has_body = attempt.body.is_some();
                let (rendered, first) = warc::render(&attempt);
                if let Some(first) = first {
                    firsts.entry(key).or_insert(first);
                }
                for record in &rendered {
                    let offset = file.len();
                    let length = write_member(bundle, file, record)?;
                    if self.format == Format::Wacz
                        && let Some(line) = wacz::cdxj_line(&filename, offset, length, record)
                    {
                        self.index
                            .push(line)
                            .map_err(|e| bundle.failed(bundle.scratch(), e))?;
                    }
                }
                scope.write(bundle, store, &row, &record_hash)?;
                report.add(&row, scope.set_of(&row));
                self.records += 1;
                if has_body {
                    latest_capture = Some(row);
                }
                Ok(())
            })?;
        }
        scope.finish(bundle, store)?;
        self.parts
            .add_source(report)
            .map_err(|e| bundle.failed(bundle.scratch(), e))?;
        if let Some(file) = archive {
            let written = bundle.finish(file)?;
            self.archives.push((archive_path, written));
        }
        if self.format == Format::Wacz
            && let Some(row) = latest_capture
        {
            // Titles are read from each source's latest capture only.
            let body = blob(store, row.raw_hash.as_deref())?;
            let html = body
                .as_deref()
                .filter(|_| row.content_kind.as_deref() == Some("html"));
            // A portal document is titled as its metadata names it.
            let title = row
                .portal_call()
                .and_then(|call| call.live?.title)
                .unwrap_or_else(|| row.source.clone());
            self.pages.push(Page::of_capture(
                warc::uri_of(&row),
                &row.started_at,
                html,
                &title,
            ));
        }
        Ok(())
    }

    /// `report.csv`: every selected capture, in the order they were made.
    fn csv(&mut self, bundle: &mut BundleDir) -> Result<(), EvidenceError> {
        let mut csv = bundle.file("report.csv")?;
        csv.write_all(report::CSV_HEAD.as_bytes())
            .map_err(|e| bundle.failed(csv.path(), e))?;
        if let Some((first, last)) = self.scan.record_range() {
            let range = RecordRange {
                source: None,
                first,
                last,
            };
            self.store
                .for_each_record(range, |row, record_hash| -> Result<(), EvidenceError> {
                    let Some(seq) = self.scan.selected.seq(row.id)? else {
                        return Ok(());
                    };
                    csv.write_all(report::csv_line(&row, &record_hash, Some(seq)).as_bytes())
                        .map_err(|e| bundle.failed(csv.path(), e))
                })?;
        }
        bundle.finish(csv)?;
        Ok(())
    }

    /// `report.html`, from the parts the events and sources made.
    fn report(&mut self, bundle: &mut BundleDir, check: &ExportCheck) -> Result<(), EvidenceError> {
        let report = Report {
            selection: self.selection,
            latest: self.latest,
            stamp: newest_stamp(self.store, self.latest)?,
            check,
        };
        let mut html = bundle.file("report.html")?;
        self.parts
            .write_html(&report, &mut html)
            .map_err(|e| bundle.failed(html.path(), e))?;
        bundle.finish(html)?;
        Ok(())
    }

    /// `archive.wacz`: the WARC files as written, the index sorted.
    fn wacz(&mut self, bundle: &mut BundleDir) -> Result<(), EvidenceError> {
        // In bundle-path order, as the package has always listed them:
        // sources are written in name order, and `iso-27001.warc.gz`
        // sorts before `iso.warc.gz` though `iso` comes first.
        self.archives.sort_by(|a, b| a.0.cmp(&b.0));
        let index_path = bundle.scratch().join("index.cdx");
        let index_written = std::fs::File::create(&index_path)
            .and_then(|file| {
                let mut out = Hashing::new(std::io::BufWriter::new(file));
                self.index.write_to(&mut out)?;
                let (out, written) = out.finish();
                out.into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?;
                Ok(written)
            })
            .map_err(|e| bundle.failed(&index_path, e))?;
        let files: Vec<(String, std::path::PathBuf, &Written)> = self
            .archives
            .iter()
            .map(|(path, written)| Ok((path.clone(), bundle.path_of(path)?, written)))
            .collect::<Result<_, EvidenceError>>()?;
        let archives: Vec<Packaged<'_>> = files
            .iter()
            .map(|(path, file, written)| Packaged {
                path,
                file,
                sha256: &written.sha256,
                len: written.len,
            })
            .collect();
        let index = Packaged {
            path: "indexes/index.cdx",
            file: &index_path,
            sha256: &index_written.sha256,
            len: index_written.len,
        };
        let package = bundle.path_of("archive.wacz")?;
        std::fs::File::create(&package)
            .map_err(zip::result::ZipError::from)
            .and_then(|file| wacz::package(file, &archives, &index, &self.pages, &self.latest.at))
            .map_err(|e| EvidenceError::file(&package, e))?;
        bundle.add_written("archive.wacz")?;
        Ok(())
    }

    /// The ledger from the first leaf that concerns the selection (its
    /// records' captures, events and alert deliveries, the config leaves
    /// they name, the daemon/config/prune leaves of the period) to the
    /// last the checkpoint signed, without a gap: a leaf removed from the
    /// bundle shows as a missing sequence number, to `verify_ledger.py`
    /// too. The other sources' leaves in that range go out as well; their
    /// captures do not. With each leaf its inclusion proof and its manifest
    /// entry; then the manifest, signed, and the consistency proofs
    /// between consecutive checkpoints. Returns the leaves written.
    fn ledger(
        &mut self,
        bundle: &mut BundleDir,
        signer: &Signer,
        checkpoints: &[Checkpoint],
    ) -> Result<usize, EvidenceError> {
        let store = self.store;
        let (first, size) = (self.scan.first, self.scan.size);
        let roots = std::mem::take(&mut self.scan.roots);
        let mut proofs = roots.into_proofs(StoredLeaves(store));
        let mut lines = bundle.file("ledger/entries.jsonl")?;
        let mut inclusion = bundle.file("ledger/proofs/inclusion.jsonl")?;
        let entries_path = bundle.scratch().join("manifest-entries.jsonl");
        let mut entries = std::fs::File::create(&entries_path)
            .map(std::io::BufWriter::new)
            .map_err(|e| bundle.failed(&entries_path, e))?;
        let mut written = 0;
        ledger::for_each_entry(store, first, size, |entry, _| {
            written += 1;
            let proof = proofs.inclusion(entry.seq as usize)?;
            let proof_line = json!({
                "seq": entry.seq,
                "leaf_hash": entry.leaf_hash,
                "tree_size": size,
                "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
            });
            writeln!(lines, "{}", entry.leaf).map_err(|e| bundle.failed(lines.path(), e))?;
            writeln!(inclusion, "{proof_line}").map_err(|e| bundle.failed(inclusion.path(), e))?;
            let leaf: Value = serde_json::from_str(&entry.leaf).unwrap_or(Value::Null);
            let included = match leaf["record_id"].as_i64() {
                Some(record) => self.scan.selected.contains(record)?,
                None => false,
            };
            let pruned = leaf["raw_hash"]
                .as_str()
                .is_some_and(|hash| self.pruned.contains(hash));
            if let Some(stated) = manifest::entry_of(entry.seq, &leaf, included, pruned) {
                let line = serde_json::to_string(&stated).expect("a manifest entry serialises");
                writeln!(entries, "{line}").map_err(|e| bundle.failed(&entries_path, e))?;
            }
            Ok::<_, EvidenceError>(())
        })?;
        bundle.finish(lines)?;
        bundle.finish(inclusion)?;
        entries
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .map_err(|e| bundle.failed(&entries_path, e))?;

        let stated = Manifest {
            format: manifest::FORMAT.into(),
            selection: manifest::SelectionJson::of(self.selection),
            checkpoint: manifest::CheckpointRef {
                id: self.latest.id,
                tree_size: self.latest.tree_size,
                root: self.latest.root.clone(),
            },
            ledger: manifest::LedgerRange { first, size },
            entries: EntriesFile::open(&entries_path)
                .map_err(|e| bundle.failed(&entries_path, e))?,
        };
        let mut file = bundle.file(manifest::FILE)?;
        serde_json::to_writer_pretty(&mut file, &stated)
            .map_err(|e| bundle.failed(file.path(), e))?;
        let manifest_path = file.path().to_path_buf();
        bundle.finish(file)?;
        let signature = signer
            .sign_file(&manifest_path)
            .map_err(|e| bundle.failed(&manifest_path, e))?;
        bundle.write(manifest::SIGNATURE, &signature)?;

        let mut consistency = bundle.file("ledger/proofs/consistency.jsonl")?;
        for pair in checkpoints.windows(2) {
            let (first, second) = (pair[0].tree_size as usize, pair[1].tree_size as usize);
            if let Some(proof) = proofs.consistency(first, second)? {
                let line = json!({
                    "first": first,
                    "second": second,
                    "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
                });
                writeln!(consistency, "{line}")
                    .map_err(|e| bundle.failed(consistency.path(), e))?;
            }
        }
        bundle.finish(consistency)?;
        Ok(written)
    }
}

/// Writes `record` to the WARC file `file` as one gzip member; returns its
/// length.
fn write_member(
    bundle: &BundleDir,
    file: &mut BundleFile,
    record: &warc::WarcRecord,
) -> Result<u64, EvidenceError> {
    let gzip = record
        .to_gzip()
        .map_err(|e| bundle.failed(file.path(), e))?;
    file.write_all(&gzip)
        .map_err(|e| bundle.failed(file.path(), e))?;
    Ok(gzip.len() as u64)
}

/// The leaf hashes the proofs read back from the store.
struct StoredLeaves<'a>(&'a Store);

impl LeafSource for StoredLeaves<'_> {
    fn leaf_hashes(&mut self, start: usize, end: usize) -> Result<Vec<Hash>, EvidenceError> {
        let mut hashes = Vec::with_capacity(end - start);
        self.0
            .for_each_leaf_hash(start as i64, end as i64, |_, hash| {
                hashes.push(ledger::parse_hash(hash).unwrap_or([0; 32]));
                Ok::<_, EvidenceError>(())
            })?;
        Ok(hashes)
    }
}

/// A source's `scope/<source>.jsonl`: the scope each capture asserted, in
/// record order, with the scope lines of the earlier records the source's
/// scope events compared with merged in; and the scope sets they name,
/// read once each.
struct ScopeLines<'a> {
    path: String,
    file: Option<BundleFile>,
    /// The compared records not written yet, in order.
    compared: std::iter::Peekable<std::collections::btree_set::Iter<'a, i64>>,
    /// Each scope set named, as stored and as read.
    sets: HashMap<String, (Value, Option<ScopeSet>)>,
}

impl<'a> ScopeLines<'a> {
    fn new(source: &str, compared: Option<&'a BTreeSet<i64>>) -> ScopeLines<'a> {
        static NONE: BTreeSet<i64> = BTreeSet::new();
        ScopeLines {
            path: format!("scope/{source}.jsonl"),
            file: None,
            compared: compared.unwrap_or(&NONE).iter().peekable(),
            sets: HashMap::new(),
        }
    }

    /// The scope set `row` stated, when it names one that reads.
    fn set_of(&self, row: &RecordRow) -> Option<&ScopeSet> {
        self.sets.get(row.scope_hash.as_deref()?)?.1.as_ref()
    }

    /// The line of `row` (a selected capture), after those of the compared
    /// records before it.
    fn write(
        &mut self,
        bundle: &mut BundleDir,
        store: &Store,
        row: &RecordRow,
        record_hash: &str,
    ) -> Result<(), EvidenceError> {
        while let Some(&&id) = self.compared.peek()
            && id < row.id
        {
            self.compared.next();
            self.write_compared(bundle, store, id)?;
        }
        self.line(bundle, store, row, record_hash)
    }

    fn write_compared(
        &mut self,
        bundle: &mut BundleDir,
        store: &Store,
        id: i64,
    ) -> Result<(), EvidenceError> {
        match store.record_row(id)? {
            Some((row, record_hash)) => self.line(bundle, store, &row, &record_hash),
            None => Ok(()),
        }
    }

    fn line(
        &mut self,
        bundle: &mut BundleDir,
        store: &Store,
        row: &RecordRow,
        record_hash: &str,
    ) -> Result<(), EvidenceError> {
        let Some(hash) = &row.scope_hash else {
            return Ok(());
        };
        if !self.sets.contains_key(hash) {
            let entries: Value = store
                .scope_set_json(hash)?
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or(Value::Null);
            let set = serde_json::from_value(entries.clone()).ok();
            self.sets.insert(hash.clone(), (entries, set));
        }
        let line = json!({
            "record_id": row.id,
            "record_hash": record_hash,
            "started_at": row.started_at,
            "scope_hash": hash,
            "entries": self.sets[hash].0,
        });
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(bundle.file(&self.path)?),
        };
        writeln!(file, "{line}").map_err(|e| bundle.failed(file.path(), e))
    }

    /// The compared records after the last capture, and the file ended.
    fn finish(mut self, bundle: &mut BundleDir, store: &Store) -> Result<(), EvidenceError> {
        while let Some(&id) = self.compared.next() {
            self.write_compared(bundle, store, id)?;
        }
        if let Some(file) = self.file {
            bundle.finish(file)?;
        }
        Ok(())
    }
}

/// `ledger/checkpoints/<id>.txt` (the signed text), `.sig` (raw signature)
/// and `.json` (every field).
fn add_checkpoint(bundle: &mut BundleDir, checkpoint: &Checkpoint) -> Result<(), EvidenceError> {
    let stem = format!("ledger/checkpoints/{:06}", checkpoint.id);
    let signature = hex::decode(&checkpoint.signature).map_err(|_| {
        EvidenceError::Damaged(format!(
            "checkpoint {} has a malformed signature; run `scopewatch verify`",
            checkpoint.id
        ))
    })?;
    bundle.write(&format!("{stem}.txt"), checkpoint.text().as_bytes())?;
    bundle.write(&format!("{stem}.sig"), &signature)?;
    let json = serde_json::to_vec_pretty(checkpoint).expect("a checkpoint serialises");
    bundle.write(&format!("{stem}.json"), &json)?;
    Ok(())
}

/// What `verify` (without re-extraction) finds in the store, against the
/// key the bundle is signed with: the report states it.
fn check_store(store: &Store, signer: &Signer) -> Result<ExportCheck, EvidenceError> {
    let key = signer.verifying_key();
    let verified = super::verify::verify_store(
        store,
        Some((&key, super::verify::KeyOrigin::SigningKey)),
        None,
    )?;
    let (pruned, findings): (Vec<_>, Vec<_>) = verified
        .findings
        .into_iter()
        .filter(|f| !f.info)
        .partition(|f| f.pruned_by_policy);
    Ok(ExportCheck {
        problems: findings,
        pruned: pruned.len(),
        checkpoints: verified.checkpoints,
    })
}

/// The newest RFC 3161 token among the checkpoints up to `latest`, as it
/// states itself.
fn newest_stamp(store: &Store, latest: &Checkpoint) -> Result<Option<StampNote>, EvidenceError> {
    Ok(store
        .timestamp_tokens()?
        .into_iter()
        .filter(|(id, _)| *id <= latest.id)
        .filter_map(|(id, der)| {
            let granted = super::rfc3161::parse_response(&der).ok()?;
            Some(StampNote {
                checkpoint_id: id,
                gen_time: crate::clock::format(granted.info.gen_time),
                tsa: granted.info.tsa_name,
            })
        })
        .next_back())
}

/// The bytes of the blob `hash`. A missing or damaged blob is an error, so
/// no bundle passes it off as pruned: the caller leaves a pruned one out.
fn blob(store: &Store, hash: Option<&str>) -> Result<Option<Vec<u8>>, EvidenceError> {
    let Some(hex) = hash else { return Ok(None) };
    let damaged = |problem: String| {
        EvidenceError::Damaged(format!(
            "blob {hex} {problem}, so it cannot be exported; run `scopewatch verify` to see which records name it"
        ))
    };
    let digest = Digest::from_hex(hex).ok_or_else(|| damaged("is not a SHA-256 name".into()))?;
    let bytes = store
        .blob(&digest)
        .map_err(|e| damaged(format!("cannot be read ({e})")))?;
    if Digest::of(&bytes) != digest {
        return Err(damaged("does not hash to its name: it was altered".into()));
    }
    Ok(Some(bytes))
}

/// The auditor's check of the ledger without scopewatch (Python 3, standard
/// library only), shipped in every bundle; `tests/it/ledger_script.rs`
/// runs it on exported and tampered bundles.
const VERIFY_LEDGER: &str = include_str!("../verify_ledger.py");
