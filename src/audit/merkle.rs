//! The Merkle tree over an audit chain, as RFC 9162 §2.1 defines it
//! (docs/audit.md): leaf n is entry n's 32-byte hash, a leaf hashes as
//! SHA-256(0x00 ‖ leaf), a node as SHA-256(0x01 ‖ left ‖ right), and the
//! tree over any number of entries splits at the largest power of two
//! below it. Pure functions only: what a proof is made of, how to check
//! one, and the running root of entries read in order. Where the nodes
//! are kept is `store`'s business.

use std::ops::Range;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A complete subtree: the `2^level` leaves from `index · 2^level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub level: u32,
    pub index: u64,
}

impl Node {
    pub fn leaves(self) -> Range<u64> {
        let start = self.index << self.level;
        start..start + (1 << self.level)
    }
}

/// The largest power of two strictly below `n` (n ≥ 2), where RFC 9162
/// splits a tree of n leaves.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees that make up the leaves `range`, left to right,
/// each the largest that starts where the previous ended. For a range
/// RFC 9162's recursion produces, folding their hashes from the right
/// (`fold`) gives the range's tree hash.
pub fn nodes_of(range: Range<u64>) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut start = range.start;
    while start < range.end {
        // The largest block aligned at `start` that fits before the end.
        let aligned = if start == 0 { 1u64 << 63 } else { 1u64 << start.trailing_zeros() };
        let fits = 1u64 << (63 - (range.end - start).leading_zeros());
        let level = aligned.min(fits).trailing_zeros();
        nodes.push(Node { level, index: start >> level });
        start += 1 << level;
    }
    nodes
}

/// The tree hash of subtrees laid left to right: the rightmost two join
/// first, as in a tree whose size is not a power of two.
pub fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |right, left| node_hash(left, &right)))
}

/// The ranges of leaves whose tree hashes make the inclusion proof of
/// leaf `index` in a tree of `size` (RFC 9162 §2.1.3.1, PATH), from the
/// leaf's sibling up.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    path(index, 0..size, &mut out);
    out
}

fn path(m: u64, d: Range<u64>, out: &mut Vec<Range<u64>>) {
    let n = d.end - d.start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, d.start..d.start + k, out);
        out.push(d.start + k..d.end);
    } else {
        path(m - k, d.start + k..d.end, out);
        out.push(d.start..d.start + k);
    }
}

/// The ranges whose tree hashes make the consistency proof from a tree of
/// `old` leaves to one of `new` (RFC 9162 §2.1.4.1, PROOF).
pub fn consistency_ranges(old: u64, new: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    if 0 < old && old < new {
        subproof(old, 0..new, true, &mut out);
    }
    out
}

fn subproof(m: u64, d: Range<u64>, whole: bool, out: &mut Vec<Range<u64>>) {
    let n = d.end - d.start;
    if m == n {
        if !whole {
            out.push(d);
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, d.start..d.start + k, whole, out);
        out.push(d.start + k..d.end);
    } else {
        subproof(m - k, d.start + k..d.end, false, out);
        out.push(d.start..d.start + k);
    }
}

/// Why a proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("entry {0} is not in a tree of {1} entries")]
    OutOfRange(u64, u64),
    #[error("the proof has the wrong number of hashes for these sizes")]
    WrongLength,
    #[error("the proof does not lead to the checkpoint's root")]
    RootMismatch,
    #[error("the older tree is larger than the newer one")]
    Shrunk,
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(index + 1, size));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
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
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks a consistency proof from the tree of `old` leaves with root
/// `old_root` to the tree of `new` leaves with root `new_root` (RFC 9162
/// §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Shrunk);
    }
    if old == new || old == 0 {
        // The same tree, or the empty tree, which every tree extends.
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old == 0 || old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else { return Err(ProofError::WrongLength) };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength);
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
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The tree of entries read in order, kept as its complete subtrees along
/// the right edge (at most one per level): the root of any prefix read so
/// far, in memory of the order of log₂ n, and every complete node as it is
/// finished.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    size: u64,
    /// Complete subtrees, largest (leftmost) first.
    edge: Vec<(Node, Hash)>,
}

impl Frontier {
    /// A frontier that continues a tree of `size` leaves whose right-edge
    /// subtrees (`nodes_of(0..size)`) have these hashes.
    pub fn resume(size: u64, edge: Vec<(Node, Hash)>) -> Self {
        Self { size, edge }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next entry's hash; `finished` sees each complete node made.
    pub fn push(&mut self, leaf: &[u8], mut finished: impl FnMut(Node, &Hash)) {
        let mut node = Node { level: 0, index: self.size };
        let mut hash = leaf_hash(leaf);
        finished(node, &hash);
        while let Some((left, left_hash)) = self.edge.last().copied() {
            if left.level != node.level {
                break;
            }
            self.edge.pop();
            node = Node { level: node.level + 1, index: left.index >> 1 };
            hash = node_hash(&left_hash, &hash);
            finished(node, &hash);
        }
        self.edge.push((node, hash));
        self.size += 1;
    }

    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.edge.iter().map(|(_, h)| *h).collect();
        fold(&hashes).unwrap_or_else(empty_root)
    }
}

/// The tree hash of leaves by its definition (RFC 9162 §2.1.1), for
/// checking the rest against.
pub fn root_by_definition(leaves: &[Vec<u8>]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaf_hash(&leaves[0]),
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root_by_definition(&leaves[..k]), &root_by_definition(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| Sha256::digest(i.to_le_bytes()).to_vec()).collect()
    }

    /// The tree hash of a range by definition.
    fn range_hash(l: &[Vec<u8>], r: Range<u64>) -> Hash {
        root_by_definition(&l[r.start as usize..r.end as usize])
    }

    fn via_nodes(l: &[Vec<u8>], r: Range<u64>) -> Hash {
        let hashes: Vec<Hash> = nodes_of(r).into_iter().map(|n| range_hash(l, n.leaves())).collect();
        fold(&hashes).unwrap()
    }

    #[test]
    fn frontier_and_nodes_agree_with_the_definition() {
        let l = leaves(70);
        let mut f = Frontier::default();
        for n in 1..=70u64 {
            f.push(&l[n as usize - 1], |_, _| {});
            assert_eq!(f.root(), root_by_definition(&l[..n as usize]), "size {n}");
            assert_eq!(via_nodes(&l, 0..n), f.root(), "nodes of size {n}");
        }
    }

    #[test]
    fn every_proof_verifies_and_a_wrong_one_does_not() {
        let l = leaves(33);
        for size in 1..=33u64 {
            let root = range_hash(&l, 0..size);
            for index in 0..size {
                let proof: Vec<Hash> =
                    inclusion_ranges(index, size).into_iter().map(|r| via_nodes(&l, r)).collect();
                let leaf = leaf_hash(&l[index as usize]);
                assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
                let other = leaf_hash(&l[((index + 1) % 33) as usize]);
                assert!(verify_inclusion(index, size, &other, &proof, &root).is_err());
            }
            for old in 1..=size {
                let proof: Vec<Hash> =
                    consistency_ranges(old, size).into_iter().map(|r| via_nodes(&l, r)).collect();
                let old_root = range_hash(&l, 0..old);
                assert_eq!(verify_consistency(old, size, &old_root, &root, &proof), Ok(()), "{old}->{size}");
                if old < size {
                    let forked = leaf_hash(b"fork");
                    assert!(verify_consistency(old, size, &forked, &root, &proof).is_err());
                }
            }
        }
    }
}
