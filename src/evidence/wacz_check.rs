//! `verify BUNDLE`'s check of `archive.wacz`, the package replay tools
//! show: each WARC file in it must be byte for byte the bundle's
//! `archive/*.warc.gz` of that name (and each of those must be in it), and
//! every entry must match the SHA-256 and size `datapackage.json` lists,
//! which must match `datapackage-digest.json`.
//!
//! The package is hostile input: entries are read as streams into a hash,
//! never written out or joined to a path; each read stops at the size it
//! is expected to have (a WARC's: the bundle file's; another entry's: what
//! `datapackage.json` says, at most [`MAX_ENTRY_BYTES`]), so a zip bomb
//! inflates no further than that; a package of more than [`MAX_ENTRIES`]
//! entries is refused unread.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::Finding;

/// The package's name in a bundle.
const FILE: &str = "archive.wacz";
/// Entries a package may hold: one WARC file per source (scopewatch is
/// sized for 100,000 sources) and four files of its own, with room to spare.
pub const MAX_ENTRIES: usize = 200_000;
/// What an entry other than a WARC file may inflate to: `indexes/index.cdx`
/// is the largest, about 300 bytes a capture, so this is some three
/// million captures; more is reported, not read.
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;
/// What `datapackage.json` may be: about 200 bytes a WARC file.
const MAX_DATAPACKAGE_BYTES: u64 = 64 << 20;

/// One entry as read: its SHA-256 (hex) and size, or why it could not be.
type EntryRead = Result<Hashed, String>;

/// What reading an entry to a limit gave.
struct Hashed {
    /// SHA-256 (hex) of what was read.
    sha256: String,
    size: u64,
    /// It holds more than the limit: only the limit and one byte were read.
    longer: bool,
}

/// Checks `archive.wacz` in `dir`, if there is one, against the bundle's
/// WARC files (`archives`: bundle path to SHA-256 hex and size).
pub(crate) fn check(
    dir: &Path,
    archives: &BTreeMap<String, (String, u64)>,
    findings: &mut Vec<Finding>,
) {
    let path = dir.join(FILE);
    if !path.is_file() {
        return;
    }
    let mut problem = |concerns: String, text: String| findings.push(Finding::new(concerns, text));
    let bytes = match super::bundle_file::read(&path, super::bundle_file::MAX_FILE) {
        Ok(bytes) => bytes,
        Err(e) => return problem(FILE.into(), format!("cannot be read: {e}")),
    };
    let mut zip = match zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])) {
        Ok(zip) => zip,
        Err(e) => return problem(FILE.into(), format!("is not a readable ZIP file: {e}")),
    };
    if zip.len() > MAX_ENTRIES {
        return problem(
            FILE.into(),
            format!(
                "holds {} entries, more than the {MAX_ENTRIES} a package of a bundle can: not read",
                zip.len()
            ),
        );
    }
    // Entry name to index; a name twice is a finding (a reader shows one).
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..zip.len() {
        let name = match zip.by_index_raw(i) {
            Ok(entry) => entry.name().map(|n| n.into_owned()),
            Err(e) => Err(e),
        };
        match name {
            Ok(name) => {
                if index.insert(name.clone(), i).is_some() {
                    problem(
                        format!("{FILE}: {name}"),
                        "appears twice in the package: a replay shows one of them".into(),
                    );
                }
            }
            Err(e) => problem(FILE.into(), format!("entry {i} cannot be read: {e}")),
        }
    }
    let datapackage = match index.get("datapackage.json") {
        Some(&i) => read_small(&mut zip, i, MAX_DATAPACKAGE_BYTES),
        None => Err("is missing".to_string()),
    };
    let datapackage = match datapackage {
        Ok(bytes) => bytes,
        Err(e) => return problem(format!("{FILE}: datapackage.json"), e),
    };
    let digest = index
        .get("datapackage-digest.json")
        .map(|&i| read_small(&mut zip, i, 1 << 16));
    let stated: Option<String> = match &digest {
        Some(Ok(bytes)) => serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v["hash"].as_str().map(String::from)),
        _ => None,
    };
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&datapackage)));
    if stated.as_deref() != Some(actual.as_str()) {
        problem(
            format!("{FILE}: datapackage-digest.json"),
            "does not state the SHA-256 of datapackage.json: the package's manifest was altered"
                .into(),
        );
    }
    let resources: Vec<(String, String, u64)> = serde_json::from_slice::<Value>(&datapackage)
        .ok()
        .and_then(|v| v["resources"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            Some((
                r["path"].as_str()?.to_string(),
                r["hash"].as_str()?.to_string(),
                r["bytes"].as_u64()?,
            ))
        })
        .collect();
    if resources.is_empty() {
        problem(
            format!("{FILE}: datapackage.json"),
            "lists no resources with path, hash and bytes".into(),
        );
    }
    let mut listed = std::collections::HashSet::new();
    for (name, hash, size) in &resources {
        listed.insert(name.as_str());
        let concerns = format!("{FILE}: {name}");
        let bundled = archives.get(name);
        // A WARC file reads to the bundle file's size, anything else to
        // what the package says, within the cap.
        let limit = bundled.map_or((*size).min(MAX_ENTRY_BYTES), |(_, size)| *size);
        match index.get(name).map(|&i| hash_entry(&mut zip, i, limit)) {
            None => problem(
                concerns,
                "is listed in datapackage.json but not in the package".into(),
            ),
            Some(Err(e)) => problem(concerns, e),
            Some(Ok(read)) if read.longer => problem(
                concerns,
                match bundled {
                    Some(_) => format!(
                        "is not byte for byte the bundle's {name}: it is longer (not read further)"
                    ),
                    None => format!(
                        "inflates to more than the {limit} bytes datapackage.json states (at most {MAX_ENTRY_BYTES}): not read further"
                    ),
                },
            ),
            Some(Ok(Hashed {
                sha256: actual,
                size: actual_size,
                ..
            })) => {
                if format!("sha256:{actual}") != *hash || actual_size != *size {
                    problem(
                        concerns.clone(),
                        "does not match its SHA-256 and size in datapackage.json: the entry or the manifest was altered".into(),
                    );
                }
                if let Some((expected, _)) = bundled
                    && *expected != actual
                {
                    problem(
                        concerns,
                        format!(
                            "is not byte for byte the bundle's {name}: what replay shows differs from the signed archive"
                        ),
                    );
                }
            }
        }
    }
    for name in index.keys() {
        let own = matches!(
            name.as_str(),
            "datapackage.json" | "datapackage-digest.json"
        );
        if !own && !listed.contains(name.as_str()) {
            problem(
                format!("{FILE}: {name}"),
                "is not listed in datapackage.json: it was added".into(),
            );
        }
    }
    for name in archives.keys() {
        if !index.contains_key(name) {
            problem(
                format!("{FILE}: {name}"),
                "is missing from the package: replay does not show these captures".into(),
            );
        }
    }
}

/// The SHA-256 (hex) and size of entry `i`, read to at most `limit` bytes
/// (one more shows it is longer, without reading on).
fn hash_entry(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    i: usize,
    limit: u64,
) -> EntryRead {
    let entry = zip
        .by_index(i)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut hasher = Sha256::new();
    let mut reader = entry.take(limit.saturating_add(1));
    let mut buffer = [0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader
            .read(&mut buffer)
            .map_err(|e| format!("cannot be read: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(Hashed {
        sha256: hex::encode(hasher.finalize()),
        size,
        longer: size > limit,
    })
}

/// The bytes of entry `i`, at most `limit` of them.
fn read_small(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    i: usize,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let entry = zip
        .by_index(i)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut bytes = Vec::new();
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("is larger than {limit} bytes: not read"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A package of `entries` (name, bytes, deflated), with a
    /// `datapackage.json` listing `listed` (path, hash, bytes) and its digest.
    fn package(entries: &[(&str, Vec<u8>, bool)], listed: &[(&str, String, usize)]) -> Vec<u8> {
        let resources: Vec<Value> = listed
            .iter()
            .map(|(path, hash, bytes)| serde_json::json!({"path": path, "hash": hash, "bytes": bytes}))
            .collect();
        let datapackage =
            serde_json::to_vec(&serde_json::json!({ "resources": resources })).unwrap();
        let digest = serde_json::json!({
            "path": "datapackage.json",
            "hash": format!("sha256:{}", hex::encode(Sha256::digest(&datapackage))),
        });
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let all = entries.iter().cloned().chain([
            ("datapackage.json", datapackage, true),
            (
                "datapackage-digest.json",
                digest.to_string().into_bytes(),
                true,
            ),
        ]);
        for (name, bytes, deflated) in all {
            let method = if deflated {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            zip.start_file(
                name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            zip.write_all(&bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn sha256(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }

    #[test]
    fn a_zip_bomb_is_read_no_further_than_stated_and_an_unlisted_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let warc = b"warc bytes".to_vec();
        // 64 MiB of zeros deflate to some 64 KiB; the package says 10 bytes.
        let bomb = vec![0u8; 64 << 20];
        let bytes = package(
            &[
                ("archive/a.warc.gz", warc.clone(), false),
                ("indexes/index.cdx", bomb, true),
                ("evil.txt", b"x".to_vec(), true),
            ],
            &[
                ("archive/a.warc.gz", sha256(&warc), warc.len()),
                ("indexes/index.cdx", sha256(b"0123456789"), 10),
            ],
        );
        assert!(bytes.len() < 1 << 20, "{}", bytes.len());
        std::fs::write(dir.path().join(FILE), bytes).unwrap();
        let archives = BTreeMap::from([(
            "archive/a.warc.gz".to_string(),
            (hex::encode(Sha256::digest(&warc)), warc.len() as u64),
        )]);
        let mut findings = Vec::new();
        check(dir.path(), &archives, &mut findings);
        let texts: Vec<String> = findings
            .iter()
            .map(|f| format!("{}: {}", f.concerns, f.problem))
            .collect();
        assert_eq!(texts.len(), 2, "{texts:#?}");
        assert!(
            texts[0]
                .starts_with("archive.wacz: indexes/index.cdx: inflates to more than the 10 bytes"),
            "{texts:#?}"
        );
        assert!(
            texts[1].starts_with("archive.wacz: evil.txt: is not listed in datapackage.json"),
            "{texts:#?}"
        );

        // The same WARC bytes and nothing else: clean.
        let bytes = package(
            &[("archive/a.warc.gz", warc.clone(), false)],
            &[("archive/a.warc.gz", sha256(&warc), warc.len())],
        );
        std::fs::write(dir.path().join(FILE), bytes).unwrap();
        let mut findings = Vec::new();
        check(dir.path(), &archives, &mut findings);
        assert_eq!(findings, vec![]);
    }
}
