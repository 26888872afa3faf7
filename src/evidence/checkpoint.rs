//! Signed checkpoints: after every sweep, the ledger's size and RFC 6962
//! root are signed with Ed25519 and stored. The signing key is a PKCS#8 PEM
//! file: `[evidence] key_file`, else the systemd credential
//! `$CREDENTIALS_DIRECTORY/scopewatch-signing-key`, else
//! `scopewatch-signing-key.pem` beside the database, created (mode 0600) on
//! first use. The signed bytes are the checkpoint text ([`Checkpoint::text`]),
//! so `openssl pkeyutl -verify -rawin` checks a checkpoint as it checks the
//! bundle's `SHA256SUMS`.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

use super::EvidenceError;
use crate::clock;
use crate::hash::Digest;
use crate::ledger;
use crate::ledger::merkle::RootBuilder;
pub use crate::store::Checkpoint;
use crate::store::Store;

/// The file name of the signing key created beside the database.
pub const KEY_FILE: &str = "scopewatch-signing-key.pem";
/// The systemd credential name (`LoadCredential=scopewatch-signing-key:...`).
pub const CREDENTIAL: &str = "scopewatch-signing-key";

/// The Ed25519 key that signs checkpoints and bundles.
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// Reads the key from `[evidence] key_file` or the systemd credential,
    /// or creates one beside the database on first use.
    pub fn locate(key_file: Option<&Path>, database: &Path) -> Result<Signer, EvidenceError> {
        let (path, created_here) = key_path(key_file, database);
        if created_here && !path.exists() {
            Signer::create(&path)
        } else {
            Signer::load(&path)
        }
    }

    /// The key, when it exists; never creates one (for `verify`).
    pub fn existing(
        key_file: Option<&Path>,
        database: &Path,
    ) -> Result<Option<Signer>, EvidenceError> {
        existing_key_path(key_file, database)
            .map(|path| Signer::load(&path))
            .transpose()
    }

    /// Reads a PKCS#8 PEM Ed25519 private key, v1 (as `create` and `openssl
    /// genpkey` write it) or v2 (with the public key, as scopewatch wrote it before).
    pub fn load(path: &Path) -> Result<Signer, EvidenceError> {
        let key_error = |message: String| EvidenceError::Key {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            key_error(format!(
                "cannot read it ({e}); create one with `openssl genpkey -algorithm ed25519 -out {}`, or remove [evidence] key_file to let scopewatch create one beside the database",
                path.display()
            ))
        })?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| {
            key_error(format!(
                "not a PKCS#8 PEM Ed25519 private key ({e}); `openssl genpkey -algorithm ed25519` writes one"
            ))
        })?;
        Ok(Signer { key })
    }

    /// Makes a new key and writes it to `path` (mode 0600, never replacing a file).
    pub fn create(path: &Path) -> Result<Signer, EvidenceError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| EvidenceError::Key {
            path: path.to_path_buf(),
            message: format!("the system has no randomness to make a key: {e}"),
        })?;
        let key = SigningKey::from_bytes(&seed);
        // PKCS#8 v1 (RFC 5208), the private key alone: what `openssl
        // genpkey` writes and `openssl pkey` reads. The v2 form with the
        // public key (RFC 5958), which ed25519-dalek writes by default,
        // OpenSSL refuses; `load` reads both.
        let pem = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: key.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| EvidenceError::Key {
            path: path.to_path_buf(),
            message: format!("cannot encode the key: {e}"),
        })?;
        write_private(path, pem.as_bytes()).map_err(|e| EvidenceError::Key {
            path: path.to_path_buf(),
            message: format!("cannot write the new key ({e}); check the directory's permissions"),
        })?;
        tracing::info!(path = %path.display(), "created a checkpoint signing key");
        Ok(Signer { key })
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as SubjectPublicKeyInfo PEM, for `openssl -pubin`.
    pub fn public_pem(&self) -> String {
        public_pem(&self.verifying_key())
    }

    pub fn key_id(&self) -> String {
        key_id(&self.verifying_key())
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The signature of the file at `path`, the same bytes [`Signer::sign`]
    /// gives for its contents, read (twice, as Ed25519 hashes the message
    /// twice) rather than held in memory.
    pub fn sign_file(&self, path: &Path) -> std::io::Result<[u8; 64]> {
        use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
        use ed25519_dalek::{Digest as _, Sha512};
        use std::io::Read as _;
        let failed = std::cell::RefCell::new(None);
        let expanded = ExpandedSecretKey::from(self.key.as_bytes());
        let signed = raw_sign_byupdate::<Sha512, _>(
            &expanded,
            |hasher| {
                let read = std::fs::File::open(path).and_then(|mut file| {
                    let mut buffer = vec![0u8; 256 << 10];
                    loop {
                        match file.read(&mut buffer)? {
                            0 => return Ok(()),
                            n => hasher.update(&buffer[..n]),
                        }
                    }
                });
                read.map_err(|e| {
                    failed.replace(Some(e));
                    ed25519_dalek::SignatureError::new()
                })
            },
            &self.key.verifying_key(),
        );
        match (signed, failed.into_inner()) {
            (Ok(signature), None) => Ok(signature.to_bytes()),
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(std::io::Error::other(e)),
        }
    }
}

/// A public key as SubjectPublicKeyInfo PEM.
pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .expect("an Ed25519 public key always encodes")
}

/// Reads a SubjectPublicKeyInfo PEM public key.
pub fn parse_public_pem(text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_public_key_pem(text).ok()
}

/// The first 16 hex digits of SHA-256 over the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    Digest::of(key.as_bytes()).to_hex()[..16].to_string()
}

/// Checks an Ed25519 signature over `message`.
pub fn verify_signature(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// Writes `contents` to the new file `path` (mode 0600) whole or not at
/// all: into a temporary file beside it, synced, then hard-linked into
/// place, which fails rather than replace an existing file. The temporary
/// file is removed either way, so a failed write (a full disk) leaves no
/// partial key for the next start to trip over.
fn write_private(path: &Path, mut contents: impl std::io::Read) -> std::io::Result<()> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    let written = std::io::copy(&mut contents, &mut file)
        .and_then(|_| file.sync_all())
        .and_then(|()| std::fs::hard_link(&temp, path));
    drop(file);
    if let Err(e) = std::fs::remove_file(&temp) {
        tracing::warn!(path = %temp.display(), "cannot remove the temporary key file: {e}");
    }
    written?;
    // The new name is durable once its directory is.
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => super::sync_dir(dir),
        None => Ok(()),
    }
}

/// What a checkpoint signs, and its signature checked (the row itself is
/// the store's).
impl Checkpoint {
    /// The exact bytes signed.
    pub fn text(&self) -> String {
        format!(
            "scopewatch checkpoint v1\ntree_size {}\nroot {}\nat {}\nkey_id {}\n",
            self.tree_size, self.root, self.at, self.key_id
        )
    }

    /// Whether `key` made this checkpoint's signature.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        hex::decode(&self.signature)
            .is_ok_and(|sig| verify_signature(key, self.text().as_bytes(), &sig))
    }
}

/// Signs a checkpoint of the whole ledger, unless the latest checkpoint
/// already covers every leaf; returns it. One IMMEDIATE transaction.
pub fn sign(store: &Store, signer: &Signer) -> Result<Option<Checkpoint>, EvidenceError> {
    let tx = store.write_transaction()?;
    let size = tx.ledger_entries()?;
    let latest = tx.latest_checkpoint()?;
    if latest.as_ref().is_some_and(|c| c.tree_size == size) {
        return Ok(None);
    }
    if let Some(latest) = latest.as_ref().filter(|c| c.tree_size > size) {
        return Err(EvidenceError::Damaged(format!(
            "the ledger has {size} entries but checkpoint {} signed {}: entries were removed; run `scopewatch verify`",
            latest.id, latest.tree_size
        )));
    }
    let (mut builder, from) = resume_edge(&tx, latest.as_ref())?;
    tx.for_each_leaf_hash(from, size, |seq, leaf_hash| {
        let hash = ledger::parse_hash(leaf_hash).ok_or_else(|| {
            EvidenceError::Damaged(format!(
                "ledger entry {seq} has a malformed leaf hash; run `scopewatch verify`"
            ))
        })?;
        builder.push(hash);
        Ok::<_, EvidenceError>(())
    })?;
    let root = builder.root();
    let mut checkpoint = Checkpoint {
        id: 0,
        tree_size: size,
        root: hex::encode(root),
        at: clock::format(clock::now()),
        key_id: signer.key_id(),
        signature: String::new(),
    };
    checkpoint.signature = hex::encode(signer.sign(checkpoint.text().as_bytes()));
    checkpoint.id = tx.insert_checkpoint(&checkpoint, &builder.edge_text())?;
    tx.commit()?;
    Ok(Some(checkpoint))
}

/// The Merkle right edge saved with `latest`, so a checkpoint hashes only
/// the leaves added since (its cost does not grow with the history). The
/// edge is a cache, not evidence: it is used only when it reproduces the
/// signed root of `latest`, and otherwise the tree is rebuilt from every
/// leaf (an empty builder, fed from leaf 0 by the caller).
fn resume_edge(
    store: &Store,
    latest: Option<&Checkpoint>,
) -> Result<(RootBuilder, i64), EvidenceError> {
    let Some(latest) = latest else {
        return Ok((RootBuilder::default(), 0));
    };
    let Some(text) = store.checkpoint_edge(latest.id)? else {
        // A checkpoint signed before edges were saved (schema 5).
        return Ok((RootBuilder::default(), 0));
    };
    match RootBuilder::resume(&text, latest.tree_size as u64)
        .filter(|builder| hex::encode(builder.root()) == latest.root)
    {
        Some(builder) => Ok((builder, latest.tree_size)),
        None => {
            tracing::warn!(
                checkpoint = latest.id,
                "the saved Merkle edge of the last checkpoint does not reproduce its root; hashing the whole ledger (run `scopewatch verify`)"
            );
            Ok((RootBuilder::default(), 0))
        }
    }
}

/// The Merkle right edge of the tree a checkpoint signed, and where it
/// came from (`verify --last-checkpoint` starts from it).
pub enum Edge {
    /// Saved with the checkpoint, and it recombines to the signed root.
    Stored(RootBuilder),
    /// None was saved (the checkpoint is older than saved edges): derived
    /// from the stored leaf hashes of the tree.
    Derived(RootBuilder),
    /// Saved, but it is no edge of a tree of that size or does not
    /// recombine to the signed root: derived from the leaf hashes instead.
    Unusable(RootBuilder),
}

/// The right edge of the tree `checkpoint` signed: the saved one when it
/// recombines to the signed root (so it is that tree's edge whoever wrote
/// it: finding another set of subtree roots with the same root means
/// breaking SHA-256), else derived from the first `tree_size` stored leaf
/// hashes, which costs one read of them. A derived edge is not checked
/// here: its root is whatever those leaves hash to.
pub fn edge_at(store: &Store, checkpoint: &Checkpoint) -> Result<Edge, EvidenceError> {
    let saved = store.checkpoint_edge(checkpoint.id)?;
    if let Some(builder) = saved
        .as_deref()
        .and_then(|text| RootBuilder::resume(text, checkpoint.tree_size as u64))
        .filter(|builder| hex::encode(builder.root()) == checkpoint.root)
    {
        return Ok(Edge::Stored(builder));
    }
    let mut builder = RootBuilder::default();
    store.for_each_leaf_hash(0, checkpoint.tree_size, |_, leaf_hash| {
        // A malformed stored hash counts as zeros: the root then differs,
        // and verify names the entry itself.
        builder.push(ledger::parse_hash(leaf_hash).unwrap_or([0; 32]));
        Ok::<_, EvidenceError>(())
    })?;
    Ok(match saved {
        Some(_) => Edge::Unusable(builder),
        None => Edge::Derived(builder),
    })
}

/// The key file [`Signer::existing`] loads: `None` when scopewatch would
/// create it (beside the database) and has not yet. Read in this process,
/// whose environment names the systemd credential, for a process that is
/// started without one.
pub fn existing_key_path(key_file: Option<&Path>, database: &Path) -> Option<PathBuf> {
    let (path, created_here) = key_path(key_file, database);
    (!created_here || path.exists()).then_some(path)
}

/// Where the key is, and whether scopewatch creates it there when missing:
/// `[evidence] key_file`, the systemd credential, or beside the database.
fn key_path(key_file: Option<&Path>, database: &Path) -> (PathBuf, bool) {
    if let Some(path) = key_file {
        return (path.to_path_buf(), false);
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&dir).join(CREDENTIAL);
        if path.exists() {
            return (path, false);
        }
    }
    (
        database.parent().unwrap_or(Path::new(".")).join(KEY_FILE),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_key_write_leaves_no_file_and_an_existing_key_stays() {
        /// Half a key, then the disk is full.
        struct FullDisk(bool);
        impl std::io::Read for FullDisk {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(std::io::ErrorKind::StorageFull.into());
                }
                let half = b"-----BEGIN PRIVATE KEY-----\n";
                buf[..half.len()].copy_from_slice(half);
                Ok(half.len())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let err = write_private(&path, FullDisk(false)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::StorageFull);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        std::fs::write(&path, "mine").unwrap();
        let err = write_private(&path, &b"new key"[..]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_key_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("scopewatch.db");
        let created = Signer::locate(None, &db).unwrap();
        let again = Signer::locate(None, &db).unwrap();
        assert_eq!(created.public_pem(), again.public_pem());
        assert_eq!(
            parse_public_pem(&created.public_pem()),
            Some(created.verifying_key())
        );
        let existing = Signer::existing(None, &db).unwrap().unwrap();
        assert_eq!(existing.key_id(), created.key_id());
        assert!(
            Signer::existing(None, &dir.path().join("other/x.db"))
                .unwrap()
                .is_none()
        );

        let missing = dir.path().join("missing.pem");
        let err = Signer::locate(Some(&missing), &db)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("openssl genpkey -algorithm ed25519"), "{err}");
    }

    #[test]
    fn a_new_key_is_pkcs8_v1_as_openssl_reads_it_and_an_old_v2_key_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let signer = Signer::create(&path).unwrap();
        let pem = std::fs::read_to_string(&path).unwrap();
        let (_, der) = ed25519_dalek::pkcs8::spki::der::pem::decode_vec(pem.as_bytes()).unwrap();
        // SEQUENCE { INTEGER 0 (v1), ... } and no public key: 48 bytes.
        assert_eq!(&der[2..5], [0x02, 0x01, 0x00], "{}", hex::encode(&der));
        assert_eq!(der.len(), 48);
        match std::process::Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&path)
            .status()
        {
            Ok(status) => assert!(status.success(), "openssl pkey refused the key"),
            Err(_) => {
                eprintln!("SKIPPED: openssl is not installed, so no check that it reads the key")
            }
        }
        // The form scopewatch wrote before: PKCS#8 v2 with the public key.
        let old = dir.path().join("old.pem");
        let v2 = signer
            .key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        std::fs::write(&old, v2.as_bytes()).unwrap();
        assert_eq!(Signer::load(&old).unwrap().key_id(), signer.key_id());
    }

    #[test]
    fn an_openssl_key_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let made = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&path)
            .status();
        match made {
            Ok(status) if status.success() => {
                let signer = Signer::load(&path).unwrap();
                let checkpoint = Checkpoint {
                    id: 1,
                    tree_size: 3,
                    root: "00".repeat(32),
                    at: "2026-11-28T12:00:00.000Z".into(),
                    key_id: signer.key_id(),
                    signature: hex::encode(signer.sign(b"scopewatch checkpoint v1\ntree_size 3\n")),
                };
                assert!(
                    !checkpoint.signed_by(&signer.verifying_key()),
                    "the text differs"
                );
                let signature = signer.sign(checkpoint.text().as_bytes());
                let signed = Checkpoint {
                    signature: hex::encode(signature),
                    ..checkpoint
                };
                assert!(signed.signed_by(&signer.verifying_key()));
            }
            _ => eprintln!("SKIPPED: openssl is not installed, so no key of its making to read"),
        }
    }
}
