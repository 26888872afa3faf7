//! Scope sets, stored once per distinct set under `ScopeSet::hash()`: the
//! JSON array of `{certification, service}` entries, zstd-compressed in
//! `packed` (written since schema 4; sets written before keep their JSON in
//! `entries`). Queries by service or certification load the few distinct
//! sets and filter them in memory, which costs less than the per-pair rows
//! this replaced (about 290 rows per page, most of a first sweep's writes).

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::{Connection, OptionalExtension, params};

use super::blob::PackedBlob;
use super::{Result, StoreError};
use crate::scope::ScopeSet;

/// A scope set's JSON, packed off the writer thread.
#[derive(Debug, Clone)]
pub struct PackedScope {
    hash: String,
    json: PackedBlob,
}

impl PackedScope {
    pub fn pack(set: &ScopeSet) -> std::io::Result<PackedScope> {
        let json = serde_json::to_vec(set).expect("a scope set serialises");
        Ok(PackedScope {
            hash: set.hash(),
            json: PackedBlob::pack(&json)?,
        })
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Stores a packed set unless it is already there; returns its hash.
pub(super) fn put(conn: &Connection, set: &PackedScope) -> Result<String> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO scope_sets (hash, entries, packed, size) VALUES (?1, '', ?2, ?3)",
    )?
    .execute(params![set.hash, set.json.compressed(), set.json.size()])?;
    Ok(set.hash.clone())
}

/// The JSON of the set `hash`, if stored.
pub(super) fn json(conn: &Connection, hash: &str) -> Result<Option<String>> {
    let row: Option<(String, Option<Vec<u8>>, Option<i64>)> = conn
        .prepare_cached("SELECT entries, packed, size FROM scope_sets WHERE hash = ?1")?
        .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((entries, packed, size)) = row else {
        return Ok(None);
    };
    let Some(packed) = packed else {
        return Ok(Some(entries));
    };
    let bytes = PackedBlob::unpack(&packed, size.unwrap_or(0)).map_err(|e| {
        StoreError::Corrupt(format!("the scope set {hash} does not decompress: {e}"))
    })?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| StoreError::Corrupt(format!("the scope set {hash} is not UTF-8")))
}

/// The JSON of the set `hash`; `record` names the record that refers to it
/// in errors.
pub(super) fn stored_json(conn: &Connection, hash: &str, record: i64) -> Result<String> {
    json(conn, hash)?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "record {record} refers to the scope set {hash}, which is not stored"
        ))
    })
}

/// The error for a stored set that does not parse.
pub(super) fn unreadable(record: i64, error: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "the scope set of record {record} is unreadable: {error}"
    ))
}

/// The set `hash`; `record` names the record that refers to it in errors.
pub(super) fn load(conn: &Connection, hash: &str, record: i64) -> Result<ScopeSet> {
    serde_json::from_str(&stored_json(conn, hash, record)?).map_err(|e| unreadable(record, &e))
}

/// Loads each distinct set once, for queries that walk many records.
pub(super) struct SetCache<'c> {
    conn: &'c Connection,
    sets: HashMap<String, Rc<ScopeSet>>,
}

impl<'c> SetCache<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        SetCache {
            conn,
            sets: HashMap::new(),
        }
    }

    pub(super) fn get(&mut self, hash: &str, record: i64) -> Result<Rc<ScopeSet>> {
        if let Some(set) = self.sets.get(hash) {
            return Ok(Rc::clone(set));
        }
        let set = Rc::new(load(self.conn, hash, record)?);
        self.sets.insert(hash.to_string(), Rc::clone(&set));
        Ok(set)
    }
}
