//! The statements `[retention] raw_bodies` runs: which raw bodies may be
//! pruned, and emptying one. Which bodies the policy keeps is stated in
//! the query (see `evidence::retention` for why); the prune leaf each
//! emptied body gets is the evidence module's.

use super::{Result, Store, WriteTransaction};

impl Store {
    /// The raw bodies (hashes, hex) not yet pruned whose every capture
    /// started before `cutoff` (RFC 3339) and that nothing still needs: no
    /// text, diff, source's last good body or portal metadata body is one.
    pub fn prunable_raw_bodies(&self, cutoff: &str) -> Result<Vec<String>> {
        Ok(self
            .conn()
            .prepare(
                // One pass over the records: the last capture of each body.
                "SELECT b.hash FROM blobs b
             JOIN (SELECT raw_hash, MAX(started_at) AS last FROM records
                   WHERE raw_hash IS NOT NULL GROUP BY raw_hash) r ON r.raw_hash = b.hash
             WHERE b.pruned_at IS NULL
               AND r.last < ?1
               AND b.hash NOT IN (SELECT text_hash FROM records WHERE text_hash IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.diff_hash = b.hash)
               AND b.hash NOT IN (SELECT r.raw_hash FROM source_state s
                                  JOIN records r ON r.id = s.last_good_record
                                  WHERE r.raw_hash IS NOT NULL)
               AND b.hash NOT IN (SELECT json_extract(json, '$.portal.metadata.raw_hash')
                                  FROM record_fetch_details
                                  WHERE json_extract(json, '$.portal.metadata.raw_hash') IS NOT NULL)",
            )?
            .query_map([cutoff], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

impl WriteTransaction<'_> {
    /// Empties the blob `hash` (hex), keeping its hash, and notes when
    /// (the caller logs it in the same transaction).
    pub fn prune_blob(&self, hash: &str, at: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE blobs SET data = X'', pruned_at = ?1 WHERE hash = ?2",
            [at, hash],
        )?;
        Ok(())
    }
}
