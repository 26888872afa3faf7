//! The bundle's inclusion and consistency proofs (RFC 6962 PATH and
//! PROOF, as [`Tree`] computes them) in memory that does not grow with
//! the ledger: the leaves are cut into aligned blocks of [`BLOCK`], of
//! which only the roots are kept (32 bytes a block), and a block's leaf
//! hashes are read back from the store when a proof reaches into it.
//!
//! Every complete aligned block is a node of the tree of any larger size,
//! and so is the last, partial block of the tree of all the leaves, so a
//! leaf's audit path in that tree is its path inside its block followed by
//! its block's path in the tree over the block roots. A consistency proof
//! between two checkpoints is built node by node, as RFC 6962 splits the
//! range, each node hashed from block roots or from one block's leaves.

use super::super::EvidenceError;
use crate::ledger::merkle::{Hash, RootBuilder, Tree, empty_root, node_hash};

/// Leaves in a block: a year of a thousand sources (1.6 million leaves)
/// keeps 1,600 block roots (50 KB), and a proof reads at most a few
/// blocks of 32 KB of leaf hashes back from the store.
pub const BLOCK: usize = 1024;

/// Reads the leaf hashes `start..end` (within one block) back.
pub trait LeafSource {
    fn leaf_hashes(&mut self, start: usize, end: usize) -> Result<Vec<Hash>, EvidenceError>;
}

/// The block roots of a ledger, fed its leaf hashes in order.
pub struct BlockRoots {
    block: usize,
    roots: Vec<Hash>,
    current: RootBuilder,
    in_current: usize,
    size: usize,
}

impl Default for BlockRoots {
    fn default() -> BlockRoots {
        BlockRoots::with_block(BLOCK)
    }
}

impl BlockRoots {
    fn with_block(block: usize) -> BlockRoots {
        BlockRoots {
            block,
            roots: Vec::new(),
            current: RootBuilder::default(),
            in_current: 0,
            size: 0,
        }
    }

    pub fn push(&mut self, leaf_hash: Hash) {
        self.current.push(leaf_hash);
        self.in_current += 1;
        self.size += 1;
        if self.in_current == self.block {
            self.roots.push(self.current.root());
            self.current = RootBuilder::default();
            self.in_current = 0;
        }
    }

    /// The proofs over the leaves fed, reading leaves back from `leaves`.
    pub fn into_proofs<L: LeafSource>(mut self, leaves: L) -> Proofs<L> {
        if self.in_current > 0 {
            self.roots.push(self.current.root());
        }
        Proofs {
            block: self.block,
            size: self.size,
            top: Tree::new(self.roots.clone()),
            roots: self.roots,
            leaves,
            cached: Vec::new(),
            top_paths: None,
        }
    }
}

/// Proofs over a ledger of `size` leaves.
pub struct Proofs<L> {
    block: usize,
    size: usize,
    /// The root of each block, the last one partial when `size` is not a
    /// multiple of the block.
    roots: Vec<Hash>,
    /// The tree over `roots`.
    top: Tree,
    leaves: L,
    /// The trees of the blocks read last, newest last.
    cached: Vec<(usize, Tree)>,
    /// The path of the block last asked for in the tree over the roots.
    top_paths: Option<(usize, Vec<Hash>)>,
}

/// Blocks kept read: the two a consistency proof's edges reach into.
const CACHED_BLOCKS: usize = 2;

impl<L: LeafSource> Proofs<L> {
    /// The tree over block `index`'s leaves (the leaves the ledger holds
    /// of it).
    fn block_tree(&mut self, index: usize) -> Result<&Tree, EvidenceError> {
        if let Some(at) = self.cached.iter().position(|(i, _)| *i == index) {
            let entry = self.cached.remove(at);
            self.cached.push(entry);
        } else {
            let start = index * self.block;
            let end = (start + self.block).min(self.size);
            let tree = Tree::new(self.leaves.leaf_hashes(start, end)?);
            if tree.size() != end - start {
                return Err(EvidenceError::Damaged(format!(
                    "the ledger's entries {start} to {} are missing though a checkpoint signed them: `scopewatch verify` names what was removed",
                    end - 1
                )));
            }
            if self.cached.len() == CACHED_BLOCKS {
                self.cached.remove(0);
            }
            self.cached.push((index, tree));
        }
        Ok(&self.cached.last().expect("a block was just cached").1)
    }

    /// The audit path of leaf `index` in the tree of all the leaves.
    pub fn inclusion(&mut self, index: usize) -> Result<Vec<Hash>, EvidenceError> {
        let size = self.size;
        let block = index / self.block;
        let start = block * self.block;
        let in_block = (size - start).min(self.block);
        let mut path = self
            .block_tree(block)?
            .inclusion_proof(index - start, in_block)
            .unwrap_or_default();
        if self.top_paths.as_ref().is_none_or(|(b, _)| *b != block) {
            let top = self
                .top
                .inclusion_proof(block, self.roots.len())
                .unwrap_or_default();
            self.top_paths = Some((block, top));
        }
        path.extend_from_slice(&self.top_paths.as_ref().expect("set just above").1);
        Ok(path)
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree of
    /// `second` (RFC 6962 PROOF), or `None` when `first > second` or
    /// `second` is more than the leaves.
    pub fn consistency(
        &mut self,
        first: usize,
        second: usize,
    ) -> Result<Option<Vec<Hash>>, EvidenceError> {
        if first > second || second > self.size {
            return Ok(None);
        }
        let mut proof = Vec::new();
        if first > 0 && first < second {
            self.subproof(first, 0, second, true, &mut proof)?;
        }
        Ok(Some(proof))
    }

    fn subproof(
        &mut self,
        m: usize,
        start: usize,
        end: usize,
        whole: bool,
        proof: &mut Vec<Hash>,
    ) -> Result<(), EvidenceError> {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(self.node(start, end)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, proof)?;
            proof.push(self.node(start + k, end)?);
        } else {
            self.subproof(m - k, start + k, end, false, proof)?;
            proof.push(self.node(start, start + k)?);
        }
        Ok(())
    }

    /// The hash of the node over leaves `start..end`, a node of the tree
    /// of some size (so a range wider than a block starts on one).
    fn node(&mut self, start: usize, end: usize) -> Result<Hash, EvidenceError> {
        let block = start / self.block;
        if (end - 1) / self.block == block {
            let offset = block * self.block;
            let tree = self.block_tree(block)?;
            let leaves: Vec<Hash> = (start..end)
                .map(|i| tree.leaf(i - offset).unwrap_or_default())
                .collect();
            return Ok(mth(&leaves));
        }
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            // Whole blocks, all complete: `end` is within the leaves.
            return Ok(mth(&self.roots[start / self.block..end / self.block]));
        }
        let k = split(n);
        Ok(node_hash(
            &self.node(start, start + k)?,
            &self.node(start + k, end)?,
        ))
    }
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash of `hashes` as leaf hashes (RFC 6962 MTH).
fn mth(hashes: &[Hash]) -> Hash {
    match hashes {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split(hashes.len());
            node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::merkle::leaf_hash;

    struct Leaves(Vec<Hash>, usize);

    impl LeafSource for &mut Leaves {
        fn leaf_hashes(&mut self, start: usize, end: usize) -> Result<Vec<Hash>, EvidenceError> {
            self.1 += 1;
            Ok(self.0[start..end].to_vec())
        }
    }

    #[test]
    fn proofs_by_blocks_are_the_whole_trees_proofs() {
        for block in [1, 2, 4, 8] {
            for size in 1..=70usize {
                let hashes: Vec<Hash> = (0..size)
                    .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
                    .collect();
                let whole = Tree::new(hashes.clone());
                let mut roots = BlockRoots::with_block(block);
                hashes.iter().for_each(|h| roots.push(*h));
                let mut leaves = Leaves(hashes, 0);
                let mut proofs = roots.into_proofs(&mut leaves);
                for index in 0..size {
                    assert_eq!(
                        proofs.inclusion(index).unwrap(),
                        whole.inclusion_proof(index, size).unwrap(),
                        "block {block}, size {size}, leaf {index}"
                    );
                }
                for second in 0..=size {
                    for first in 0..=second + 1 {
                        assert_eq!(
                            proofs.consistency(first, second).unwrap(),
                            whole.consistency_proof(first, second),
                            "block {block}, {first} to {second} of {size}"
                        );
                    }
                }
                assert_eq!(proofs.consistency(0, size + 1).unwrap(), None);
            }
        }
    }

    #[test]
    fn leaves_are_read_back_a_block_at_a_time() {
        let size = 10 * BLOCK + 7;
        let hashes: Vec<Hash> = (0..size)
            .map(|i| leaf_hash(&(i as u64).to_le_bytes()))
            .collect();
        let mut roots = BlockRoots::default();
        hashes.iter().for_each(|h| roots.push(*h));
        let mut leaves = Leaves(hashes, 0);
        let mut proofs = roots.into_proofs(&mut leaves);
        for index in 3 * BLOCK..size {
            proofs.inclusion(index).unwrap();
        }
        drop(proofs);
        assert_eq!(leaves.1, 8, "each block once, in order");
    }
}
