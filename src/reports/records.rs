//! `report/v4`: the data fingerprint as the root of a Merkle tree over the
//! records behind a report (docs/fingerprints.md, "report/v4"), so that
//! one record can be shown to have been part of that data with a short
//! proof and without the others.
//!
//! A leaf is a record's blind (HMAC-SHA256 of "kind TAB id" under the
//! agency's record key, which the report keeps) followed by its record hash; leaves are in the order of
//! kind, then id; the tree is RFC 9162's, as the audit log's
//! (`audit::merkle`). The blind keeps a proof's sibling hashes from being
//! guessable hashes of other records: without the key, nobody can test a
//! guess of a neighbouring stop against them.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::audit::merkle::{self, Hash, ProofError};

/// A report's records, collected in any order, as the tree's leaves.
pub struct RecordTree {
    key: Vec<u8>,
    leaves: Vec<Leaf>,
}

struct Leaf {
    kind: &'static str,
    id: i64,
    hash: Hash,
}

impl RecordTree {
    pub fn new(key: &[u8]) -> Self {
        RecordTree { key: key.to_vec(), leaves: Vec::new() }
    }

    /// Room for `more` records, so that a million stops do not move the
    /// leaves to a new allocation a dozen times.
    pub fn reserve(&mut self, more: usize) {
        self.leaves.reserve(more);
    }

    /// Adds a record by its kind, id and record hash.
    pub fn push(&mut self, kind: &'static str, id: i64, hash: Hash) {
        self.leaves.push(Leaf { kind, id, hash });
    }

    /// Adds a record by the line the earlier forms hashed ("kind TAB form's
    /// JSON NEWLINE"): its record hash is the line's SHA-256.
    pub fn push_line(&mut self, kind: &'static str, id: i64, line: &[u8]) {
        self.push(kind, id, Sha256::digest(line).into());
    }

    /// The fingerprint: the tree's root in hex.
    pub fn root_hex(&mut self) -> String {
        hex::encode(self.root())
    }

    fn root(&mut self) -> Hash {
        let hashes = self.leaf_hashes();
        if hashes.is_empty() { merkle::empty_root() } else { subtree(&hashes) }
    }

    fn sort(&mut self) {
        self.leaves.sort_unstable_by(|a, b| (a.kind, a.id).cmp(&(b.kind, b.id)));
    }

    fn leaf_hashes(&mut self) -> Vec<Hash> {
        self.sort();
        // Keyed once: each leaf's HMAC starts from a copy of the keyed state.
        let keyed = keyed(&self.key);
        self.leaves
            .iter()
            .map(|l| merkle::leaf_hash(&leaf_bytes(&blind_with(&keyed, l.kind, l.id), &l.hash)))
            .collect()
    }

    /// The proof that record `kind` `id` is a leaf of this tree, or None
    /// when it is not one.
    pub fn prove(&mut self, kind: &str, id: i64) -> Option<RecordProof> {
        let hashes = self.leaf_hashes();
        let index = self.leaves.binary_search_by(|l| (l.kind, l.id).cmp(&(kind, id))).ok()?;
        let size = hashes.len() as u64;
        let path = merkle::inclusion_ranges(index as u64, size)
            .into_iter()
            .map(|r| subtree(&hashes[r.start as usize..r.end as usize]))
            .collect();
        let leaf = &self.leaves[index];
        Some(RecordProof {
            root: subtree(&hashes),
            kind: kind.to_string(),
            id,
            index: index as u64,
            size,
            blind: blind(&self.key, leaf.kind, id),
            record_hash: leaf.hash,
            path,
        })
    }
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length")
}

fn blind(key: &[u8], kind: &str, id: i64) -> Hash {
    blind_with(&keyed(key), kind, id)
}

fn blind_with(keyed: &Hmac<Sha256>, kind: &str, id: i64) -> Hash {
    let mut mac = keyed.clone();
    mac.update(format!("{kind}\t{id}").as_bytes());
    mac.finalize().into_bytes().into()
}

fn leaf_bytes(blind: &Hash, record_hash: &Hash) -> [u8; 64] {
    let mut leaf = [0u8; 64];
    leaf[..32].copy_from_slice(blind);
    leaf[32..].copy_from_slice(record_hash);
    leaf
}

/// RFC 9162's tree hash of leaf hashes (at least one).
fn subtree(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        1 => hashes[0],
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            merkle::node_hash(&subtree(&hashes[..k]), &subtree(&hashes[k..]))
        }
    }
}

/// That one record was a leaf of a report's record tree: what
/// `oversight report prove-record` prints and `report check-record`
/// checks (docs/fingerprints.md, "Proving one record").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordProof {
    pub root: Hash,
    pub kind: String,
    pub id: i64,
    pub index: u64,
    pub size: u64,
    pub blind: Hash,
    pub record_hash: Hash,
    pub path: Vec<Hash>,
}

/// The first line of a record proof.
pub const PROOF_LABEL: &str = "oversight-ledger/report-record-proof/v1";

impl RecordProof {
    /// Checks the path from the record's leaf to the root it names.
    pub fn check(&self) -> Result<(), ProofError> {
        let leaf = merkle::leaf_hash(&leaf_bytes(&self.blind, &self.record_hash));
        merkle::verify_inclusion(self.index, self.size, &leaf, &self.path, &self.root)
    }

    /// The proof's lines after the label, each "name value" (hex hashes).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("fingerprint {}", hex::encode(self.root)),
            format!("record {} {}", self.kind, self.id),
            format!("leaf {} of {}", self.index, self.size),
            format!("blind {}", hex::encode(self.blind)),
            format!("record-hash {}", hex::encode(self.record_hash)),
        ];
        lines.extend(self.path.iter().map(|h| format!("path {}", hex::encode(h))));
        lines
    }

    /// Reads the lines `lines` wrote (other lines, such as the record's
    /// fields, are read past); None when a line is missing or malformed.
    pub fn parse(text: &str) -> Option<RecordProof> {
        let mut lines = text.lines().map(str::trim);
        if lines.next()? != PROOF_LABEL {
            return None;
        }
        let hash = |v: &str| -> Option<Hash> { hex::decode(v).ok()?.try_into().ok() };
        let (mut root, mut record, mut leaf, mut blind, mut record_hash) = (None, None, None, None, None);
        let mut path = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            match name {
                "fingerprint" => root = Some(hash(value)?),
                "record" => {
                    let (kind, id) = value.split_once(' ')?;
                    record = Some((kind.to_string(), id.parse().ok()?));
                }
                "leaf" => {
                    let (index, size) = value.split_once(" of ")?;
                    leaf = Some((index.parse().ok()?, size.parse().ok()?));
                }
                "blind" => blind = Some(hash(value)?),
                "record-hash" => record_hash = Some(hash(value)?),
                "path" => path.push(hash(value)?),
                _ => {}
            }
        }
        let ((kind, id), (index, size)) = (record?, leaf?);
        Some(RecordProof {
            root: root?,
            kind,
            id,
            index,
            size,
            blind: blind?,
            record_hash: record_hash?,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: i64) -> RecordTree {
        let mut t = RecordTree::new(b"report key");
        // Pushed out of order: the tree sorts by kind, then id.
        for id in (1..=n).rev() {
            t.push_line("stop", id, format!("stop\t{id}\n").as_bytes());
        }
        t.push_line("arrest", 7, b"arrest\t7\n");
        t
    }

    #[test]
    fn every_record_of_trees_of_1_to_40_proves_and_the_root_is_rfc_9162s() {
        for n in 1..=40 {
            let mut t = tree(n);
            let root = t.root();
            // The root by RFC 9162's definition over the same leaves.
            let key = t.key.clone();
            let leaves: Vec<Vec<u8>> =
                t.leaves.iter().map(|l| leaf_bytes(&blind(&key, l.kind, l.id), &l.hash).to_vec()).collect();
            assert_eq!(root, merkle::root_by_definition(&leaves), "size {}", n + 1);
            for id in 1..=n {
                let proof = t.prove("stop", id).expect("a leaf");
                assert_eq!(proof.root, root);
                assert_eq!(proof.check(), Ok(()), "stop {id} of {n}");
                assert_eq!(
                    RecordProof::parse(&format!("{PROOF_LABEL}\n{}", proof.lines().join("\n"))),
                    Some(proof)
                );
            }
            assert!(t.prove("stop", n + 1).is_none());
            assert_eq!(t.prove("arrest", 7).map(|p| p.check()), Some(Ok(())));
        }
    }

    #[test]
    fn a_changed_record_another_record_or_another_key_fails_the_proof() {
        let mut t = tree(12);
        let proof = t.prove("stop", 5).unwrap();
        let changed =
            RecordProof { record_hash: Sha256::digest(b"stop\t5 edited\n").into(), ..proof.clone() };
        assert_eq!(changed.check(), Err(ProofError::RootMismatch));
        let other = RecordProof { id: 6, index: proof.index + 1, ..proof.clone() };
        assert_eq!(other.check(), Err(ProofError::RootMismatch));
        let mut rekeyed = RecordTree::new(b"another key");
        rekeyed.leaves = std::mem::take(&mut t.leaves);
        assert_ne!(rekeyed.root(), proof.root, "the key blinds every leaf");
    }
}
