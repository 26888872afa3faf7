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
//! bundle appears whole or not at all (see [`write_signed`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::{Value, json};

use super::EvidenceError;
use super::checkpoint::{self, Checkpoint, Signer};
use super::ledger::{self, Entry};
pub use super::manifest::Selection;
use super::manifest::{self, Manifest};
use super::merkle::Tree;
use super::report::{self, ExportCheck, Report, ReportRow, StampNote};
use super::wacz::{self, Page};
use super::warc::{self, Attempt, Config, FirstCapture, PortalMetadata};
use crate::hash::Digest;
use crate::scope::ScopeSet;
use crate::store::{EventFilter, Store};

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

/// Files of a bundle, relative path to bytes, written in one go at the end.
type Files = BTreeMap<String, Vec<u8>>;

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
    let _snapshot = store.conn().unchecked_transaction()?;
    let checkpoints = checkpoint::all(store.conn())?;
    let latest = checkpoints
        .last()
        .ok_or_else(|| EvidenceError::Damaged("no checkpoint could be signed".into()))?;
    let entries = ledger::entries(store.conn(), 0, latest.tree_size)?;
    let leaves: Vec<Value> = entries
        .iter()
        .map(|e| serde_json::from_str(&e.leaf).unwrap_or(Value::Null))
        .collect();

    let seq_of_record: HashMap<i64, i64> = entries
        .iter()
        .zip(&leaves)
        .filter(|(_, leaf)| matches!(leaf["type"].as_str(), Some("capture" | "failure")))
        .filter_map(|(entry, leaf)| Some((leaf["record_id"].as_i64()?, entry.seq)))
        .collect();
    let (records, unselected): (Vec<_>, Vec<_>) =
        store.all_records()?.into_iter().partition(|(row, _)| {
            seq_of_record.contains_key(&row.id) && selection.selects(&row.source, &row.finished_at)
        });
    if records.is_empty() && selection.narrows() {
        return Err(EvidenceError::NothingSelected(format!(
            "no capture matches {}: nothing to export (`scopewatch history SOURCE` lists a source's captures and their times)",
            selection.describe()
        )));
    }
    let record_ids: HashSet<i64> = records.iter().map(|(row, _)| row.id).collect();

    // The configuration in force for each attempt: the last `config` leaf
    // before the attempt's leaf (`before_sweep` records it before captures).
    let configs: Vec<Config> = entries
        .iter()
        .zip(&leaves)
        .filter(|(_, leaf)| leaf["type"] == "config")
        .filter_map(|(entry, leaf)| {
            Some(Config {
                seq: entry.seq,
                sha256: leaf["config_sha256"].as_str()?.to_string(),
            })
        })
        .collect();
    let config_before = |seq: Option<i64>| -> Option<&Config> {
        let seq = seq?;
        let at = configs.partition_point(|c| c.seq < seq);
        at.checked_sub(1).map(|i| &configs[i])
    };
    let mut configs_used: HashSet<i64> = HashSet::new();

    let mut files = Files::new();
    let mut report_rows = Vec::new();
    let mut archives: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // By source, URI and body: a revisit refers within its source's file.
    let mut firsts: HashMap<(String, String, String), FirstCapture> = HashMap::new();
    // Per source, its latest capture with a body: the WACZ page for it.
    let mut latest_capture: BTreeMap<String, &crate::store::RecordRow> = BTreeMap::new();
    let pruned = super::retention::pruned(store)?;
    let mut pruned_records = HashSet::new();
    for (row, record_hash) in &records {
        let raw_pruned = row.raw_hash.as_ref().is_some_and(|h| pruned.contains(h));
        if raw_pruned {
            pruned_records.insert(row.id);
        }
        let body = if raw_pruned {
            None
        } else {
            blob(store, row.raw_hash.as_deref())?
        };
        let text = blob(store, row.text_hash.as_deref())?;
        // A portal document's metadata call goes out as a capture of its
        // own, unchanged version or not.
        let portal_call = row.portal_call();
        let metadata_body = match &portal_call {
            Some(call) => blob(store, call.metadata.raw_hash.as_deref())?,
            None => None,
        };
        let uri = warc::uri_of(row).to_string();
        let key = (
            row.source.clone(),
            uri.clone(),
            row.raw_hash.clone().unwrap_or_default(),
        );
        let attempt = Attempt {
            row,
            record_hash,
            body: if row.outcome == crate::store::RecordOutcome::NotModified {
                None
            } else {
                body.as_deref()
            },
            text: text.as_deref(),
            ledger_seq: seq_of_record.get(&row.id).copied(),
            config: config_before(seq_of_record.get(&row.id).copied()),
            first: firsts.get(&key),
            pruned: raw_pruned,
            portal: portal_call.as_ref().map(|call| PortalMetadata {
                call: &call.metadata,
                body: metadata_body.as_deref(),
            }),
        };
        let ledger_seq = attempt.ledger_seq;
        if let Some(config) = attempt.config {
            configs_used.insert(config.seq);
        }
        if attempt.body.is_some() {
            latest_capture.insert(row.source.clone(), row);
        }
        let (rendered, first) = warc::render(&attempt);
        if let Some(first) = first {
            firsts.entry(key).or_insert(first);
        }
        let archive = match archives.entry(row.source.clone()) {
            std::collections::btree_map::Entry::Occupied(archive) => archive.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                let info =
                    warc::warcinfo(&format!("{}.warc.gz", row.source), &latest.at, &latest.root);
                slot.insert(info.to_gzip().map_err(|e| EvidenceError::file(out, e))?)
            }
        };
        for record in rendered {
            archive.extend(record.to_gzip().map_err(|e| EvidenceError::file(out, e))?);
        }
        report_rows.push(ReportRow {
            row: row.clone(),
            record_hash: record_hash.clone(),
            ledger_seq,
        });
    }
    for (source, bytes) in archives {
        files.insert(manifest::archive_of(&source), bytes);
    }
    if format == Format::Wacz {
        let warcs: Vec<(&str, &[u8])> = files
            .iter()
            .filter(|(path, _)| path.starts_with("archive/"))
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
            .collect();
        // Titles are read from each source's latest capture only.
        let mut pages = Vec::with_capacity(latest_capture.len());
        for row in latest_capture.into_values() {
            let body = blob(store, row.raw_hash.as_deref())?;
            let html = body
                .as_deref()
                .filter(|_| row.content_kind.as_deref() == Some("html"));
            let uri = warc::uri_of(row).to_string();
            // A portal document is titled as its metadata names it.
            let title = row
                .portal_call()
                .and_then(|call| call.live?.title)
                .unwrap_or_else(|| row.source.clone());
            pages.push(Page::of_capture(&uri, &row.started_at, html, &title));
        }
        let package = wacz::package(&warcs, &pages, &latest.at)
            .map_err(|e| EvidenceError::file(&out.join("archive.wacz"), e))?;
        files.insert("archive.wacz".into(), package);
    }

    // Every leaf from the first that concerns the selection (its records'
    // captures, events and alert deliveries, the config leaves they name,
    // the daemon/config/prune leaves of the period) to the last the
    // checkpoint signed, without a gap: a leaf removed from the bundle
    // shows as a missing sequence number, to `verify_ledger.py` too. The
    // other sources' leaves in that range go out as well; their captures do not.
    let first = entries
        .iter()
        .zip(&leaves)
        .find(|(entry, leaf)| match leaf["type"].as_str() {
            Some("capture" | "failure" | "event" | "alert-delivery") => leaf["record_id"]
                .as_i64()
                .is_some_and(|id| record_ids.contains(&id)),
            Some("config") if configs_used.contains(&entry.seq) => true,
            _ => leaf["at"]
                .as_str()
                .is_some_and(|at| selection.covers_time(at)),
        })
        .map_or(latest.tree_size, |(entry, _)| entry.seq);
    let chosen: Vec<&Entry> = entries.iter().filter(|e| e.seq >= first).collect();
    let tree = Tree::new(
        entries
            .iter()
            .map(|e| ledger::parse_hash(&e.leaf_hash).unwrap_or([0; 32]))
            .collect(),
    );
    let size = latest.tree_size as usize;
    let mut lines = String::new();
    let mut inclusion = String::new();
    for entry in &chosen {
        lines.push_str(&entry.leaf);
        lines.push('\n');
        let proof = tree
            .inclusion_proof(entry.seq as usize, size)
            .unwrap_or_default();
        inclusion.push_str(
            &json!({
                "seq": entry.seq,
                "leaf_hash": entry.leaf_hash,
                "tree_size": size,
                "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
            })
            .to_string(),
        );
        inclusion.push('\n');
    }
    files.insert("ledger/entries.jsonl".into(), lines.into_bytes());
    let stated = Manifest {
        format: manifest::FORMAT.into(),
        selection: manifest::SelectionJson::of(selection),
        checkpoint: manifest::CheckpointRef {
            id: latest.id,
            tree_size: latest.tree_size,
            root: latest.root.clone(),
        },
        ledger: manifest::LedgerRange {
            first,
            size: latest.tree_size,
        },
        entries: chosen
            .iter()
            .filter_map(|entry| {
                let leaf = &leaves[entry.seq as usize];
                manifest::entry_of(entry.seq, leaf, &record_ids, &pruned_records)
            })
            .collect(),
    };
    let stated = serde_json::to_vec_pretty(&stated).expect("a manifest serialises");
    files.insert(manifest::SIGNATURE.into(), signer.sign(&stated).to_vec());
    files.insert(manifest::FILE.into(), stated);
    files.insert(
        "ledger/proofs/inclusion.jsonl".into(),
        inclusion.into_bytes(),
    );

    let mut consistency = String::new();
    for pair in checkpoints.windows(2) {
        let (first, second) = (pair[0].tree_size as usize, pair[1].tree_size as usize);
        if let Some(proof) = tree.consistency_proof(first, second) {
            consistency.push_str(
                &json!({
                    "first": first,
                    "second": second,
                    "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
                })
                .to_string(),
            );
            consistency.push('\n');
        }
    }
    files.insert(
        "ledger/proofs/consistency.jsonl".into(),
        consistency.into_bytes(),
    );
    for checkpoint in &checkpoints {
        add_checkpoint(&mut files, checkpoint)?;
    }
    files.extend(super::timestamp::bundle_files(store.conn(), &checkpoints)?);

    // Events whose leaf the checkpoint covers: one raised since it was
    // signed (`stale` between sweeps, `alert-failed`) waits for the next.
    let logged_events: HashSet<i64> = leaves
        .iter()
        .filter(|leaf| leaf["type"] == "event")
        .filter_map(|leaf| leaf["event_id"].as_i64())
        .collect();
    let events = store.events(&EventFilter::default())?;
    let mut changes = String::new();
    let mut report_changes = Vec::new();
    // The earlier records whose scope an exported scope event compared
    // with: their scope lines go out too, so the event can be recomputed.
    let mut compared = HashSet::new();
    for event in events
        .iter()
        .rev()
        .filter(|e| record_ids.contains(&e.to_snapshot) && logged_events.contains(&e.id))
    {
        if event.kind == crate::detect::EventKind::Scope
            && let Some(from) = event.from_snapshot
            && !record_ids.contains(&from)
        {
            compared.insert(from);
        }
        let diff = blob(store, event.diff_hash.as_deref())?
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        changes.push_str(&json!({ "event": event, "diff": diff }).to_string());
        changes.push('\n');
        report_changes.push((event.clone(), diff));
    }
    files.insert("changes.jsonl".into(), changes.into_bytes());

    // scope/<source>.jsonl: the scope each capture asserted, in order (and
    // that of the earlier records scope events compared with).
    let mut scoped: Vec<&(crate::store::RecordRow, String)> = records
        .iter()
        .chain(
            unselected
                .iter()
                .filter(|(row, _)| compared.contains(&row.id)),
        )
        .collect();
    scoped.sort_by_key(|(row, _)| row.id);
    let mut scopes: BTreeMap<String, String> = BTreeMap::new();
    let mut scope_sets: HashMap<String, Value> = HashMap::new();
    for (row, record_hash) in scoped {
        let Some(hash) = &row.scope_hash else {
            continue;
        };
        if !scope_sets.contains_key(hash) {
            let entries: Value = store
                .scope_set_json(hash)?
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or(Value::Null);
            scope_sets.insert(hash.clone(), entries);
        }
        let entries = &scope_sets[hash];
        let line = json!({
            "record_id": row.id,
            "record_hash": record_hash,
            "started_at": row.started_at,
            "scope_hash": hash,
            "entries": entries,
        });
        let file = scopes.entry(row.source.clone()).or_default();
        file.push_str(&line.to_string());
        file.push('\n');
    }
    for (source, lines) in scopes {
        files.insert(format!("scope/{source}.jsonl"), lines.into_bytes());
    }
    let report_scopes: HashMap<String, ScopeSet> = scope_sets
        .into_iter()
        .filter_map(|(hash, entries)| Some((hash, serde_json::from_value(entries).ok()?)))
        .collect();
    let record_times = record_times(store, &report_rows, &report_changes);
    let report = Report {
        rows: &report_rows,
        events: &report_changes,
        scope_sets: &report_scopes,
        record_times: &record_times,
        selection,
        latest,
        stamp: newest_stamp(store, latest)?,
        check: &check,
    };
    files.insert("report.html".into(), report::html(&report).into_bytes());
    files.insert("report.csv".into(), report::csv(&report_rows).into_bytes());
    files.insert("public-key.pem".into(), signer.public_pem().into_bytes());
    files.insert("verify_ledger.py".into(), VERIFY_LEDGER.as_bytes().to_vec());
    files.insert(
        "README.txt".into(),
        readme(latest, format == Format::Wacz).into_bytes(),
    );

    let mut sums = String::new();
    for (name, bytes) in &files {
        sums.push_str(&format!("{}  {name}\n", Digest::of(bytes).to_hex()));
    }
    let signature = signer.sign(sums.as_bytes());
    let signed = [
        ("SHA256SUMS", sums.as_bytes()),
        ("SHA256SUMS.sig", &signature[..]),
    ];
    write_atomically(out, &files, &signed)?;
    Ok(Summary {
        records: records.len(),
        entries: chosen.len(),
        checkpoints: checkpoints.len(),
    })
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

/// When each record the report names was captured: the bundle's own and
/// the earlier ones its first events compare against.
fn record_times(
    store: &Store,
    rows: &[ReportRow],
    events: &[(crate::store::EventRow, Option<String>)],
) -> HashMap<i64, String> {
    let mut times: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.row.id, r.row.started_at.clone()))
        .collect();
    for id in events.iter().filter_map(|(event, _)| event.from_snapshot) {
        if let std::collections::hash_map::Entry::Vacant(slot) = times.entry(id)
            && let Ok(record) = store.record(id)
        {
            slot.insert(record.started_at);
        }
    }
    times
}

/// The newest RFC 3161 token among the checkpoints up to `latest`, as it
/// states itself.
fn newest_stamp(store: &Store, latest: &Checkpoint) -> Result<Option<StampNote>, EvidenceError> {
    Ok(super::timestamp::tokens(store.conn())?
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

/// Writes the bundle into `out` (absent or empty) whole or not at all:
/// `files`, then `last` (the checksums and their signature), each synced,
/// into a temporary directory beside `out` that is then renamed to it. On
/// failure the temporary directory is removed and `out` left as it was.
fn write_atomically(
    out: &Path,
    files: &Files,
    last: &[(&str, &[u8])],
) -> Result<(), EvidenceError> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .ok_or_else(|| EvidenceError::file(out, "name a directory for the bundle"))?;
    std::fs::create_dir_all(parent).map_err(|e| EvidenceError::file(parent, e))?;
    let temp = parent.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::create_dir(&temp).map_err(|e| EvidenceError::file(&temp, e))?;
    let all = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .chain(last.iter().copied());
    let written = write_tree(&temp, all)
        .and_then(|()| std::fs::rename(&temp, out).map_err(|e| EvidenceError::file(out, e)));
    if written.is_ok() {
        // The bundle is whole in place; only its name may not survive a
        // power cut yet.
        if let Err(e) = sync_dir(parent) {
            tracing::warn!(path = %parent.display(), "cannot sync the directory the bundle went to: {e}");
        }
    }
    written.map_err(|e| {
        if let Err(left) = std::fs::remove_dir_all(&temp) {
            tracing::warn!(path = %temp.display(), "cannot remove the partial bundle: {left}");
        }
        EvidenceError::file(
            out,
            format!("the bundle was not written ({e}), and nothing was left behind: fix that (e.g. free disk space) and export again"),
        )
    })
}

/// Writes and syncs each file under `root`, then every directory made.
fn write_tree<'a>(
    root: &Path,
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), EvidenceError> {
    let mut dirs = std::collections::BTreeSet::from([root.to_path_buf()]);
    for (name, bytes) in files {
        let path = root.join(name);
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).map_err(|e| EvidenceError::file(dir, e))?;
        dirs.insert(dir.to_path_buf());
        std::fs::File::create(&path)
            .and_then(|mut file| {
                std::io::Write::write_all(&mut file, bytes)?;
                file.sync_all()
            })
            .map_err(|e| EvidenceError::file(&path, e))?;
    }
    dirs.iter().try_for_each(|dir| sync_dir(dir))
}

/// [`super::sync_dir`], its error naming the directory.
fn sync_dir(dir: &Path) -> Result<(), EvidenceError> {
    super::sync_dir(dir).map_err(|e| EvidenceError::file(dir, e))
}

/// `ledger/checkpoints/<id>.txt` (the signed text), `.sig` (raw signature)
/// and `.json` (every field).
fn add_checkpoint(files: &mut Files, checkpoint: &Checkpoint) -> Result<(), EvidenceError> {
    let stem = format!("ledger/checkpoints/{:06}", checkpoint.id);
    let signature = hex::decode(&checkpoint.signature).map_err(|_| {
        EvidenceError::Damaged(format!(
            "checkpoint {} has a malformed signature; run `scopewatch verify`",
            checkpoint.id
        ))
    })?;
    files.insert(format!("{stem}.txt"), checkpoint.text().into_bytes());
    files.insert(format!("{stem}.sig"), signature);
    let json = serde_json::to_vec_pretty(checkpoint).expect("a checkpoint serialises");
    files.insert(format!("{stem}.json"), json);
    Ok(())
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
const VERIFY_LEDGER: &str = include_str!("verify_ledger.py");

fn readme(latest: &Checkpoint, wacz: bool) -> String {
    let (wacz_file, wacz_step) = if wacz {
        (
            "archive.wacz            the same WARC files as a WACZ 1.1.1 package, for replay in\n                        ReplayWeb.page or pywb (see step 10)\n",
            "10. archive.wacz holds archive/*.warc.gz byte for byte (stored, not\n   recompressed), indexes/index.cdx, pages/pages.jsonl (one page per\n   source), and datapackage.json with the SHA-256 of each; SHA256SUMS\n   covers the package itself. Check it with py-wacz:\n       wacz validate -f archive.wacz        (pip install wacz)\n   scopewatch verify (step 8) also checks that each WARC file in it is\n   byte for byte the one in archive/, and its datapackage.json digests.\n",
        )
    } else {
        ("", "")
    };
    format!(
        r#"scopewatch evidence bundle
==========================

What this is
------------
Captures of vendor web pages made by scopewatch {version}, with the
append-only ledger that logged every fetch attempt and event, and the
checkpoints that signed the ledger's size and Merkle root. The newest
checkpoint covers {size} ledger entries (root {root}, signed {at},
key id {key_id}).

Files
-----
README.txt              this file
SHA256SUMS              SHA-256 of every other file, sha256sum format
SHA256SUMS.sig          Ed25519 signature over SHA256SUMS (raw 64 bytes)
public-key.pem          the public key that signed it
manifest.json           what this bundle holds: the selection (--source, --since,
                        --until), the ledger range, and for every capture and event in
                        it whether it is included, pruned by retention or not selected
manifest.sig            Ed25519 signature over manifest.json (raw 64 bytes)
verify_ledger.py        checks the ledger without scopewatch (Python 3, standard library; step 7)
archive/*.warc.gz       WARC 1.1 records, one gzip member each, one file per source; a
                        portal document's attempt holds its metadata call (the document's
                        title, version and dates) as a request and response of its own
                        beside the download, both named by its metadata record
ledger/entries.jsonl    every ledger leaf from the first that concerns these captures
                        to the last the newest checkpoint signed, without a gap, one
                        per line, each exactly the bytes hashed (canonical JSON, RFC
                        8785); other sources' leaves in that range are there too
ledger/checkpoints/     NNNNNN.txt (signed text), NNNNNN.sig (raw signature), NNNNNN.json,
                        NNNNNN.tsr (RFC 3161 timestamp reply, when [evidence] tsa_url is set)
ledger/proofs/          inclusion.jsonl (an RFC 6962 audit path per entry, against the
                        newest checkpoint), consistency.jsonl (between consecutive checkpoints)
changes.jsonl           content changes and other events, with their diffs; each
                        event's ledger entry states its kind, severity, summary and
                        the SHA-256 of its added/removed/renamed lists
scope/<source>.jsonl    the scope (certification, service pairs) each capture asserted
report.html, report.csv the same for people and spreadsheets
{wacz_file}
How to verify, step by step
---------------------------
1. Compare public-key.pem with the key you pinned earlier (the operator's
   `scopewatch key show`). Everything below only proves the files were
   signed by whoever holds that key.
2. Check every file against the checksums:
       sha256sum -c SHA256SUMS
3. Check the signature over the checksums, and over the manifest:
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \
           -in SHA256SUMS -sigfile SHA256SUMS.sig
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \
           -in manifest.json -sigfile manifest.sig
4. Check each checkpoint's signature the same way, e.g.:
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \
           -in ledger/checkpoints/000001.txt -sigfile ledger/checkpoints/000001.sig
   And where a checkpoint has an RFC 3161 timestamp (NNNNNN.tsr), check it
   with the TSA's CA certificate (from the TSA, not from this bundle):
       openssl ts -verify -data ledger/checkpoints/000001.txt \
           -in ledger/checkpoints/000001.tsr -CAfile TSA-CA.pem
   Its genTime bounds when the checkpoint, and every entry it covers, existed:
       openssl ts -reply -in ledger/checkpoints/000001.tsr -text
5. Check the WARC files' digests:
       warcio check archive/*.warc.gz        (pip install warcio)
   warcio checks the records it finds, not that any is missing: a WARC
   file cut short passes it, even one cut inside a gzip member. `gzip -t`
   notices a cut inside a member, but not one at a member boundary (whole
   records dropped from the end): what is left is valid gzip. `sha256sum
   -c` (step 2) notices either unless SHA256SUMS was signed again;
   verify_ledger.py (step 7) and scopewatch verify (step 8) notice it even
   then: manifest.json and the ledger say which captures the bundle holds,
   and each must have its WARC records.
6. A ledger leaf's hash is SHA-256 of a zero byte followed by the line:
       (printf '\000'; head -n1 ledger/entries.jsonl | tr -d '\n') | sha256sum
   Each leaf's audit path in ledger/proofs/inclusion.jsonl leads to the
   newest checkpoint's root (RFC 6962 / RFC 9162 section 2.1.3.2).
7. Or let verify_ledger.py (Python 3, standard library only, short enough
   to read first) do step 6 for every line, without scopewatch:
       python3 verify_ledger.py
   It recomputes each leaf hash, checks each entry's `prev` against the
   entry before it, that the entries run without a gap to the last one
   the newest checkpoint signed, each inclusion proof against that
   checkpoint's root and, when the entries start at 0, every checkpoint's
   root, and with manifest.json that the entries start where it says and
   that every capture its selection covers has its WARC records in
   archive/. It prints each problem with its ledger sequence number and
   exits 1 if there is any. It checks no signature: steps 3 and 4 do.
8. Or all of the above, plus the consistency proofs, the link from each
   WARC metadata record to its ledger leaf, each event in changes.jsonl
   against its ledger entry and recomputed from scope/*.jsonl, and every
   capture manifest.json's selection covers, in one go:
       scopewatch verify THIS_DIRECTORY --key PINNED.pem
   Keep the newest ledger/checkpoints/NNNNNN.json of each bundle you
   receive: the next bundle must extend it, which proves nothing it
   covered was rewritten since, even by the key's holder:
       scopewatch verify THIS_DIRECTORY --since-checkpoint OLD/ledger/checkpoints/NNNNNN.json
9. Re-run extraction on the captured bytes with the operator's
   configuration file (the one whose SHA-256 the metadata records'
   config_sha256 names) and compare what each capture stated:
       scopewatch verify THIS_DIRECTORY --key PINNED.pem --config scopewatch.toml
   Each response body (archive/) is extracted again; the text hash must
   equal the metadata record's text_hash (also in its ledger leaf) and
   the scope must hash to the scope_hash of its scope/<source>.jsonl line.
   Captures made under other extraction settings than the file's (the
   config leaves in ledger/entries.jsonl carry a fingerprint per source)
   or of a source the file lacks are listed as "not re-checked", not as
   findings. Without --config this step is skipped and says so.
   With [evidence] tsa_ca_file in that file, the RFC 3161 tokens' CMS
   signatures and certificate chains are checked too (step 4 by hand).
{wacz_step}
What the evidence proves
------------------------
- The bytes in archive/ are the bytes scopewatch stored for each fetch,
  unchanged since the checkpoint was signed: each metadata record carries
  its record's canonical encoding ("record": request and response
  headers, peer address, TLS version, certificate hash, timings, digests),
  whose SHA-256 is the record_hash of its leaf in the signed ledger (by
  hand: the metadata block's "record" string, printed without a newline,
  piped to sha256sum), and step 8 checks the metadata's members and the
  response payload against it. The header blocks rendered in the WARC
  request and response records are drawn from it too, but are not
  compared with it.
- Which configuration each capture ran with: its WARC metadata record's
  config_sha256 is the SHA-256 of the configuration file in force, and
  config_ledger_seq the ledger leaf that recorded it (in
  ledger/entries.jsonl). Hash your copy of the file to compare:
       sha256sum scopewatch.toml
- That each capture's stated text and scope follow from its bytes under
  the settings of the configuration file you re-extract with (step 9):
  a text or scope rewritten after capture shows, even if SHA256SUMS and
  the checkpoints were signed again with the key.
- That the bundle holds every capture its selection (manifest.json)
  covers, and every event of those captures as recorded: a capture left
  out, or an event's severity, summary or lists edited, shows even when
  the files were signed again with the key.
- Every fetch attempt (failures included) and every detected change is a
  leaf of one append-only log; a leaf cannot be changed, removed or
  reordered without breaking the signed root, and each checkpoint's log
  extends the previous one (consistency proofs).

What it does not prove
----------------------
- That the vendor's server sent these bytes: scopewatch records what it
  received over TLS, but a TLS session is not signed evidence. The
  metadata record's tls_version, tls_cert_sha256 (the leaf certificate
  the server presented, checked against Mozilla's roots and any
  [http] ca_file, whose SHA-256 is the config leaf's ca_sha256) and
  remote_ip help a third party corroborate it; where tls_version is null,
  tls_version_note says why.
- The time of capture beyond the operator's clock, unless a checkpoint
  carries an RFC 3161 timestamp (NNNNNN.tsr): that bounds it from above
  (the entries existed by the TSA's genTime), never from below. Without
  one, checkpoints held elsewhere (an auditor's earlier copy of a root)
  are what bound it.
- That the operator did not rewrite history before a checkpoint was
  signed, or re-sign a rewritten log with the same key: only a root or
  public key you received earlier, out of band, rules that out.
- Bodies are stored after HTTP content decoding: the WARC response holds
  the decoded body, and the received Content-Encoding, Transfer-Encoding
  and Content-Length are kept as X-Scopewatch-Original-* headers.
"#,
        version = env!("CARGO_PKG_VERSION"),
        size = latest.tree_size,
        root = latest.root,
        at = latest.at,
        key_id = latest.key_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let sums: &[(&str, &[u8])] = &[("SHA256SUMS", b"sums")];
        // The second file cannot be created (a NUL in its name), as when the
        // disk fills up halfway.
        let files = Files::from([
            ("README.txt".to_string(), b"read me".to_vec()),
            ("bad\0name".to_string(), b"x".to_vec()),
        ]);
        let err = write_atomically(&out, &files, sums)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nothing was left behind") && err.contains("export again"),
            "{err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        // Into an empty directory, as the command line allows.
        std::fs::create_dir(&out).unwrap();
        let files = Files::from([("archive/a.warc.gz".to_string(), b"warc".to_vec())]);
        write_atomically(&out, &files, sums).unwrap();
        assert_eq!(
            std::fs::read(out.join("archive/a.warc.gz")).unwrap(),
            b"warc"
        );
        assert_eq!(std::fs::read(out.join("SHA256SUMS")).unwrap(), b"sums");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
