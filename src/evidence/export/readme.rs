//! The bundle's `README.txt`: what the files are and how to check them by
//! hand, step by step.

use super::super::checkpoint::Checkpoint;

pub(super) fn readme(latest: &Checkpoint, wacz: bool) -> String {
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
