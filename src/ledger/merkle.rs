//! The Merkle tree of RFC 6962 (section 2.1) over the ledger's leaves:
//! leaf hash `SHA-256(0x00 || leaf)`, node hash `SHA-256(0x01 || left ||
//! right)`, the split at the largest power of two below the size, audit
//! paths (inclusion proofs) and consistency proofs, and their verification
//! as RFC 9162 section 2.1.3.2 and 2.1.4.2 describe. Pure: no I/O.

use sha2::{Digest as _, Sha256};

/// A SHA-256 value in the tree.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The Merkle tree hash of leaves fed one at a time, in O(log n) memory:
/// a stack of the complete subtrees on the right edge, merged as they fill.
/// For checkpoints, which need the root only, not proofs.
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    /// (height, hash) of complete subtrees, left to right, heights falling.
    edge: Vec<(u32, Hash)>,
}

impl RootBuilder {
    /// Resumes from a saved right edge ([`RootBuilder::edge_text`]) of a
    /// tree of `size` leaves; `None` when the text is not such an edge.
    pub fn resume(text: &str, size: u64) -> Option<RootBuilder> {
        let mut edge = Vec::new();
        let mut covered: u64 = 0;
        for part in text.split_whitespace() {
            let (height, hash) = part.split_once(':')?;
            let height: u32 = height.parse().ok().filter(|h| *h < 64)?;
            let mut node = [0u8; 32];
            hex::decode_to_slice(hash, &mut node).ok()?;
            if edge.last().is_some_and(|&(last, _)| last <= height) {
                return None;
            }
            covered = covered.checked_add(1u64 << height)?;
            edge.push((height, node));
        }
        (covered == size).then_some(RootBuilder { edge })
    }

    /// The right edge as text (`height:hash` pairs), to resume from later.
    pub fn edge_text(&self) -> String {
        self.edge
            .iter()
            .map(|(height, hash)| format!("{height}:{}", hex::encode(hash)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn push(&mut self, leaf_hash: Hash) {
        let mut node = (0, leaf_hash);
        while let Some(&(height, left)) = self.edge.last().filter(|(h, _)| *h == node.0) {
            self.edge.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.edge.push(node);
    }

    /// The root: the right-edge subtrees joined from the right, which is
    /// where RFC 6962's split at the largest power of two puts them.
    pub fn root(&self) -> Hash {
        let mut nodes = self.edge.iter().rev();
        let Some(&(_, mut root)) = nodes.next() else {
            return empty_root();
        };
        for (_, left) in nodes {
            root = node_hash(left, &root);
        }
        root
    }
}

/// A tree over leaf hashes. Every complete, aligned subtree is hashed once
/// when the tree is built, so a root of any prefix, an inclusion proof or
/// a consistency proof costs O(log n) node hashes.
pub struct Tree {
    /// `levels[h][i]`: the hash of leaves `i * 2^h .. (i + 1) * 2^h`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaf_hashes: Vec<Hash>) -> Tree {
        let mut levels = vec![leaf_hashes];
        while let Some(below) = levels.last().filter(|l| l.len() >= 2) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Tree { levels }
    }

    /// Leaves in the tree.
    pub fn size(&self) -> usize {
        self.levels[0].len()
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: usize) -> Option<Hash> {
        self.levels[0].get(index).copied()
    }

    /// The Merkle tree hash of the first `size` leaves (`size <= self.size()`).
    pub fn root(&self, size: usize) -> Hash {
        if size == 0 {
            return empty_root();
        }
        self.range(0, size.min(self.size()))
    }

    /// MTH of leaves `start..end` (non-empty), as RFC 6962 splits them.
    fn range(&self, start: usize, end: usize) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let height = n.trailing_zeros() as usize;
            return self.levels[height][start / n];
        }
        let k = split(n);
        node_hash(&self.range(start, start + k), &self.range(start + k, end))
    }

    /// The audit path of leaf `index` in the tree of the first `size`
    /// leaves (RFC 6962 PATH), or `None` when `index >= size`.
    pub fn inclusion_proof(&self, index: usize, size: usize) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Some(proof)
    }

    fn path(&self, index: usize, start: usize, end: usize, proof: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if index < k {
            self.path(index, start, start + k, proof);
            proof.push(self.range(start + k, end));
        } else {
            self.path(index - k, start + k, end, proof);
            proof.push(self.range(start, start + k));
        }
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree
    /// of `second` leaves (RFC 6962 PROOF), or `None` when `first > second`.
    pub fn consistency_proof(&self, first: usize, second: usize) -> Option<Vec<Hash>> {
        if first > second || second > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        if first > 0 && first < second {
            self.subproof(first, 0, second, true, &mut proof);
        }
        Some(proof)
    }

    fn subproof(&self, m: usize, start: usize, end: usize, whole: bool, proof: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(self.range(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, proof);
            proof.push(self.range(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, proof);
            proof.push(self.range(start, start + k));
        }
    }
}

/// Checks an inclusion proof: that `leaf` is leaf `index` of the tree of
/// `size` leaves whose root is `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Checks a consistency proof: that the tree of `first` leaves with root
/// `first_root` is a prefix of the tree of `second` leaves with root
/// `second_root` (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        // The empty tree is a prefix of every tree.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((seed, rest)) = path.split_first() else {
        return false;
    };
    if proof.is_empty() {
        return false;
    }
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *first_root && sr == *second_root && s == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Certificate Transparency reference vectors (RFC 6962 test data,
    // merkle_test.cc / transparency-dev): eight leaves, and the root of
    // every prefix.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn root_builder_matches_the_tree_for_every_size() {
        let leaves: Vec<Hash> = (0..70u8).map(|i| leaf_hash(&[i])).collect();
        let tree = Tree::new(leaves.clone());
        let mut builder = RootBuilder::default();
        assert_eq!(builder.root(), empty_root());
        for (n, leaf) in leaves.iter().enumerate() {
            builder.push(*leaf);
            assert_eq!(builder.root(), tree.root(n + 1), "size {}", n + 1);
        }
    }

    #[test]
    fn root_builder_resumes_from_its_saved_edge() {
        let leaves: Vec<Hash> = (0..40u8).map(|i| leaf_hash(&[i])).collect();
        let tree = Tree::new(leaves.clone());
        for cut in 0..leaves.len() {
            let mut first = RootBuilder::default();
            leaves[..cut].iter().for_each(|l| first.push(*l));
            let mut resumed = RootBuilder::resume(&first.edge_text(), cut as u64).unwrap();
            leaves[cut..].iter().for_each(|l| resumed.push(*l));
            assert_eq!(resumed.root(), tree.root(leaves.len()), "cut at {cut}");
        }
        let mut three = RootBuilder::default();
        leaves[..3].iter().for_each(|l| three.push(*l));
        let edge = three.edge_text();
        assert!(RootBuilder::resume(&edge, 4).is_none(), "wrong size");
        assert!(RootBuilder::resume(&edge.replace("1:", "x:"), 3).is_none());
        let swapped: Vec<&str> = edge.split(' ').rev().collect();
        assert!(
            RootBuilder::resume(&swapped.join(" "), 3).is_none(),
            "order"
        );
    }

    fn h(text: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).unwrap();
        out
    }

    fn reference_tree() -> Tree {
        Tree::new(
            LEAVES
                .iter()
                .map(|l| leaf_hash(&hex::decode(l).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn roots_match_the_reference_for_every_size() {
        let tree = reference_tree();
        for (size, root) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(tree.root(size)), *root, "size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference() {
        // (leaf index, tree size, audit path)
        let cases: [(usize, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let tree = reference_tree();
        for (index, size, path) in cases {
            let expected: Vec<Hash> = path.iter().map(|p| h(p)).collect();
            let proof = tree.inclusion_proof(index, size).unwrap();
            assert_eq!(proof, expected, "leaf {index} of {size}");
            let leaf = tree.leaf(index).unwrap();
            let root = h(ROOTS[size]);
            assert!(verify_inclusion(
                index as u64,
                size as u64,
                &leaf,
                &proof,
                &root
            ));
            assert!(!verify_inclusion(
                index as u64 + 1,
                size as u64,
                &leaf,
                &proof,
                &root
            ));
            assert!(!verify_inclusion(
                index as u64,
                size as u64 * 2,
                &leaf,
                &proof,
                &root
            ));
            assert!(!verify_inclusion(
                index as u64,
                size as u64,
                &h(ROOTS[0]),
                &proof,
                &root
            ));
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference() {
        let cases: [(usize, usize, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let tree = reference_tree();
        for (first, second, path) in cases {
            let expected: Vec<Hash> = path.iter().map(|p| h(p)).collect();
            let proof = tree.consistency_proof(first, second).unwrap();
            assert_eq!(proof, expected, "{first} -> {second}");
            let (r1, r2) = (h(ROOTS[first]), h(ROOTS[second]));
            assert!(verify_consistency(
                first as u64,
                second as u64,
                &r1,
                &r2,
                &proof
            ));
            if !proof.is_empty() {
                assert!(!verify_consistency(
                    first as u64,
                    second as u64,
                    &r2,
                    &r1,
                    &proof
                ));
                assert!(!verify_consistency(
                    first as u64,
                    second as u64,
                    &r1,
                    &r2,
                    &proof[1..]
                ));
                assert!(!verify_consistency(
                    first as u64 + 1,
                    second as u64,
                    &r1,
                    &r2,
                    &proof
                ));
            }
        }
    }

    #[test]
    fn every_generated_proof_verifies_and_a_flipped_bit_does_not() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = Tree::new(leaves);
        for size in 1..=70 {
            let root = tree.root(size);
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                let leaf = tree.leaf(index).unwrap();
                assert!(verify_inclusion(
                    index as u64,
                    size as u64,
                    &leaf,
                    &proof,
                    &root
                ));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] = first[0] ^ 8;
                    assert!(!verify_inclusion(
                        index as u64,
                        size as u64,
                        &leaf,
                        &bad,
                        &root
                    ));
                }
            }
            for first in 0..=size {
                let proof = tree.consistency_proof(first, size).unwrap();
                let first_root = tree.root(first);
                assert!(
                    verify_consistency(first as u64, size as u64, &first_root, &root, &proof),
                    "{first} -> {size}"
                );
                if let Some(p) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] = p[0] ^ 16;
                    assert!(!verify_consistency(
                        first as u64,
                        size as u64,
                        &first_root,
                        &root,
                        &bad
                    ));
                }
            }
        }
    }
}
