//! Content-addressed blobs: bytes stored once under their SHA-256, zstd
//! compressed. Hashing and compressing happen in [`PackedBlob::pack`], off
//! the single writer thread, so the writer only looks up and inserts.

use std::cell::RefCell;

use rusqlite::{Connection, OptionalExtension, params};
use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe::CParameter;

use super::{Result, StoreError};
use crate::hash::Digest;

/// zstd level for blobs: the fastest positive level. A 9 KB compliance
/// page compresses 3.7×, its blob 1.4 % larger than at level 3.
const ZSTD_LEVEL: i32 = 1;

/// The match-finder table of each thread's context: 2^13 entries (32 KiB).
/// A context is reused for every blob its thread packs, between HTML parses
/// that push its tables out of the CPU caches. Level 1's default is 2^15
/// entries for inputs up to 16 KB (a page), which missed the cache on most
/// lookups, and already 2^13 up to 128 KB (a scope set). A page compresses
/// as well with the smaller table; a body of megabytes (a PDF) slightly
/// less well than with the default 2^14.
const ZSTD_HASH_LOG: u32 = 13;

thread_local! {
    // A zstd context per thread, made once: making one runs CPUID (on a
    // virtual machine, a trap to the hypervisor) and sets up its tables,
    // about a third of compressing a 10 KB page. zstd sizes a context's
    // window to the inputs it sees and shrinks it after a large one.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `bytes` compressed at [`ZSTD_LEVEL`] with this thread's context.
fn compress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|context| match context {
        Some(compressor) => compressor.compress(bytes),
        None => {
            let mut compressor = Compressor::new(ZSTD_LEVEL)?;
            compressor.set_parameter(CParameter::HashLog(ZSTD_HASH_LOG))?;
            context.insert(compressor).compress(bytes)
        }
    })
}

/// A frame of `size` bytes decompressed with this thread's context.
fn decompress(frame: &[u8], size: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with_borrow_mut(|context| match context {
        Some(decompressor) => decompressor.decompress(frame, size),
        None => context.insert(Decompressor::new()?).decompress(frame, size),
    })
}

/// Bytes hashed and compressed, ready to store.
#[derive(Debug, Clone)]
pub struct PackedBlob {
    hash: Digest,
    size: usize,
    zstd: Vec<u8>,
}

impl PackedBlob {
    /// Hashes and compresses `bytes`. Compression of an in-memory buffer
    /// fails only when memory runs out.
    pub fn pack(bytes: &[u8]) -> std::io::Result<PackedBlob> {
        Ok(PackedBlob {
            hash: Digest::of(bytes),
            size: bytes.len(),
            zstd: compress(bytes)?,
        })
    }

    pub fn hash(&self) -> Digest {
        self.hash
    }

    pub(super) fn size(&self) -> i64 {
        self.size as i64
    }

    pub(super) fn compressed(&self) -> &[u8] {
        &self.zstd
    }

    /// The original bytes of a stored frame whose recorded uncompressed
    /// length is `size`. The frame's own length header must agree, so a
    /// tampered `size` is an error, never a huge allocation.
    pub fn unpack(compressed: &[u8], size: i64) -> std::io::Result<Vec<u8>> {
        match zstd::zstd_safe::get_frame_content_size(compressed) {
            Ok(Some(declared)) if i64::try_from(declared) == Ok(size) => {
                decompress(compressed, declared as usize)
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the stored length {size} does not match the compressed frame's"),
            )),
        }
    }
}

/// Stores a packed blob unless its hash is already there; returns the hash.
/// Bytes that `[retention]` pruned are stored again when they come back (a
/// page reverting to an old version), so the new record has its body.
pub(super) fn put(conn: &Connection, blob: &PackedBlob) -> Result<Digest> {
    conn.prepare_cached(
        "INSERT INTO blobs (hash, size, data) VALUES (?1, ?2, ?3)
         ON CONFLICT(hash) DO UPDATE SET data = excluded.data, size = excluded.size,
                                         pruned_at = NULL
         WHERE blobs.pruned_at IS NOT NULL",
    )?
    .execute(params![blob.hash.to_hex(), blob.size(), blob.compressed()])?;
    Ok(blob.hash)
}

/// Hashes, compresses and stores `bytes` on the calling thread (for the
/// small blobs written on the writer thread, such as diffs).
pub(super) fn put_bytes(conn: &Connection, bytes: &[u8]) -> Result<Digest> {
    let packed = PackedBlob::pack(bytes)
        .map_err(|e| StoreError::Corrupt(format!("zstd compression failed: {e}")))?;
    put(conn, &packed)
}

/// The bytes of the blob `hash`.
pub(super) fn get(conn: &Connection, hash: &Digest) -> Result<Vec<u8>> {
    let (size, data): (i64, Vec<u8>) = conn
        .prepare_cached("SELECT size, data FROM blobs WHERE hash = ?1")?
        .query_row([hash.to_hex()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no stored blob {hash}")))?;
    PackedBlob::unpack(&data, size)
        .map_err(|e| StoreError::Corrupt(format!("blob {hash} does not decompress: {e}")))
}
