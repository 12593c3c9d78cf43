//! What an auditor is handed besides a checkpoint (docs/audit.md): an
//! inclusion proof of one entry, a consistency proof between two
//! checkpoints, both as short text files, and the check of an export
//! against a checkpoint, which catches a cut tail and a rewritten chain
//! that the hash chain alone cannot.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::checkpoint::Checkpoint;
use super::merkle::{self, Frontier, Hash, ProofError};
use super::{Entry, Verdict, Verifier};

const INCLUSION_HEADER: &str = "oversight-ledger inclusion proof";
const CONSISTENCY_HEADER: &str = "oversight-ledger consistency proof";

/// Entry `seq` (its hash `leaf`, hex) is in the tree of `size` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    pub origin: String,
    pub seq: u64,
    pub size: u64,
    pub leaf: String,
    pub hashes: Vec<Hash>,
}

/// The tree of `old` entries is the start of the tree of `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consistency {
    pub origin: String,
    pub old: u64,
    pub new: u64,
    pub hashes: Vec<Hash>,
}

impl Inclusion {
    pub fn encode(&self) -> String {
        let head = format!(
            "{INCLUSION_HEADER}\norigin {}\nentry {}\nsize {}\nleaf {}\n",
            self.origin, self.seq, self.size, self.leaf
        );
        head + &encode_hashes(&self.hashes)
    }

    pub fn parse(text: &str) -> Result<Inclusion, String> {
        let mut fields = Fields::new(text, INCLUSION_HEADER)?;
        Ok(Inclusion {
            origin: fields.value("origin")?.to_string(),
            seq: fields.number("entry")?,
            size: fields.number("size")?,
            leaf: fields.value("leaf")?.to_ascii_lowercase(),
            hashes: fields.hashes()?,
        })
    }

    /// Checks the proof against a checkpoint already opened with its key.
    pub fn check(&self, checkpoint: &Checkpoint) -> Result<(), String> {
        if self.origin != checkpoint.origin {
            return Err(format!("the proof is of {}, the checkpoint of {}", self.origin, checkpoint.origin));
        }
        if self.size != checkpoint.size {
            return Err(format!(
                "the proof is for a tree of {} entries, the checkpoint's has {}",
                self.size, checkpoint.size
            ));
        }
        if self.seq == 0 {
            return Err("entries are numbered from 1".into());
        }
        let leaf = hex::decode(&self.leaf).map_err(|_| "the leaf is not a hex hash".to_string())?;
        merkle::verify_inclusion(
            self.seq - 1,
            self.size,
            &merkle::leaf_hash(&leaf),
            &self.hashes,
            &checkpoint.root,
        )
        .map_err(|e| match e {
            ProofError::RootMismatch => {
                format!("entry {} with hash {} is not in the checkpoint's tree", self.seq, self.leaf)
            }
            other => other.to_string(),
        })
    }
}

impl Consistency {
    pub fn encode(&self) -> String {
        let head =
            format!("{CONSISTENCY_HEADER}\norigin {}\nold {}\nnew {}\n", self.origin, self.old, self.new);
        head + &encode_hashes(&self.hashes)
    }

    pub fn parse(text: &str) -> Result<Consistency, String> {
        let mut fields = Fields::new(text, CONSISTENCY_HEADER)?;
        Ok(Consistency {
            origin: fields.value("origin")?.to_string(),
            old: fields.number("old")?,
            new: fields.number("new")?,
            hashes: fields.hashes()?,
        })
    }

    /// Checks the proof between two checkpoints already opened.
    pub fn check(&self, old: &Checkpoint, new: &Checkpoint) -> Result<(), String> {
        if old.origin != new.origin || self.origin != old.origin {
            return Err(format!("the checkpoints are of different logs ({} and {})", old.origin, new.origin));
        }
        if (self.old, self.new) != (old.size, new.size) {
            return Err("the proof is for other tree sizes than the checkpoints'".into());
        }
        merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &self.hashes).map_err(
            |e| match e {
                ProofError::RootMismatch => format!(
                    "the log of {} entries does not extend the log of {} entries: it was rewritten",
                    new.size, old.size
                ),
                other => other.to_string(),
            },
        )
    }
}

/// Two checkpoints of the same log and size with different roots: the
/// log was shown one way to one reader and another way to another.
pub fn fork(a: &Checkpoint, b: &Checkpoint) -> Option<String> {
    (a.origin == b.origin && a.size == b.size && a.root != b.root).then(|| {
        format!(
            "FORK: two checkpoints of {} at {} entries with different roots ({} and {})",
            a.origin,
            a.size,
            BASE64.encode(a.root),
            BASE64.encode(b.root)
        )
    })
}

fn encode_hashes(hashes: &[Hash]) -> String {
    hashes.iter().map(|h| BASE64.encode(h) + "\n").collect()
}

/// The `name value` lines of a proof file after its header, then hashes.
struct Fields<'a> {
    lines: std::iter::Peekable<std::str::Lines<'a>>,
}

impl<'a> Fields<'a> {
    fn new(text: &'a str, header: &str) -> Result<Self, String> {
        let mut lines = text.lines().peekable();
        if lines.next().map(str::trim_end) != Some(header) {
            return Err(format!("not a proof file: the first line must be \"{header}\""));
        }
        Ok(Fields { lines })
    }

    fn value(&mut self, name: &str) -> Result<&'a str, String> {
        self.lines
            .next()
            .and_then(|l| l.trim_end().strip_prefix(name)?.strip_prefix(' '))
            .ok_or_else(|| format!("the proof lacks its \"{name}\" line"))
    }

    fn number(&mut self, name: &str) -> Result<u64, String> {
        self.value(name)?.parse().map_err(|_| format!("the \"{name}\" line is not a number"))
    }

    fn hashes(&mut self) -> Result<Vec<Hash>, String> {
        let mut out = Vec::new();
        for (n, line) in self.lines.by_ref().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let hash = BASE64
                .decode(line.trim())
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| format!("hash {} of the proof is not 32 bytes in base64", n + 1))?;
            out.push(hash);
        }
        Ok(out)
    }
}

/// What checking an export against a checkpoint found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportCheck {
    /// The chain verifies and its first `size` entries have the root.
    Holds { entries: u64, size: u64 },
    /// The chain itself is broken (an edited entry, a gap).
    Chain(Verdict),
    /// Fewer entries than the checkpoint covers.
    CutTail { entries: u64, size: u64 },
    /// As many entries, but not the ones the checkpoint signed.
    Rewritten { size: u64 },
}

impl ExportCheck {
    pub fn message(&self) -> String {
        match self {
            ExportCheck::Holds { entries, size } => {
                format!("OK {entries} entries; the first {size} are exactly the log the checkpoint signed")
            }
            ExportCheck::Chain(verdict) => verdict.message(),
            ExportCheck::CutTail { entries, size } => format!(
                "CUT: the export holds {entries} entries but the checkpoint signed {size}: entries were removed from its end"
            ),
            ExportCheck::Rewritten { size } => format!(
                "REWRITTEN: the export's first {size} entries chain correctly but are not the log the checkpoint \
                 signed: the chain was rewritten and rehashed"
            ),
        }
    }
    pub fn is_ok(&self) -> bool {
        matches!(self, ExportCheck::Holds { .. })
    }
}

/// Checks a JSON Lines export: its chain, and that its first entries are
/// those of the checkpoint's tree.
pub fn check_export(reader: impl std::io::BufRead, checkpoint: &Checkpoint) -> ExportCheck {
    let mut verifier = Verifier::default();
    let mut tree = Frontier::default();
    let mut root_at_size = (checkpoint.size == 0).then(merkle::empty_root);
    for (index, line) in reader.lines().enumerate() {
        let entry = match line.map_err(|e| e.to_string()).and_then(|l| {
            if l.trim().is_empty() {
                Ok(None)
            } else {
                serde_json::from_str::<Entry>(&l).map(Some).map_err(|e| e.to_string())
            }
        }) {
            Ok(Some(entry)) => entry,
            Ok(None) => continue,
            Err(why) => {
                verifier.unreadable(index as u64 + 1, &why);
                break;
            }
        };
        if !verifier.push(&entry) {
            break;
        }
        if tree.size() < checkpoint.size {
            tree.push(&hex::decode(&entry.hash).unwrap_or_default(), |_, _| {});
            if tree.size() == checkpoint.size {
                root_at_size = Some(tree.root());
            }
        }
    }
    let verdict = verifier.finish();
    let Verdict::Intact { entries, .. } = verdict else { return ExportCheck::Chain(verdict) };
    match root_at_size {
        None => ExportCheck::CutTail { entries, size: checkpoint.size },
        Some(root) if root != checkpoint.root => ExportCheck::Rewritten { size: checkpoint.size },
        Some(_) => ExportCheck::Holds { entries, size: checkpoint.size },
    }
}

/// What a witness checks before it cosigns `new` (docs/audit.md): that it
/// extends `last`, the checkpoint of the same log it cosigned before,
/// by `proof`. The first checkpoint a witness sees is taken as it is.
pub fn witness_check(
    last: Option<&Checkpoint>,
    new: &Checkpoint,
    proof: Option<&Consistency>,
) -> Result<(), String> {
    let Some(last) = last else { return Ok(()) };
    if last.origin != new.origin {
        return Err(format!("the witness follows {}, not {}", last.origin, new.origin));
    }
    if let Some(fork) = fork(last, new) {
        return Err(fork);
    }
    if new.size < last.size {
        return Err(format!(
            "the checkpoint signs {} entries, fewer than the {} already cosigned: the log was rolled back",
            new.size, last.size
        ));
    }
    if new.size == last.size {
        return Ok(());
    }
    let proof = proof.ok_or_else(|| {
        format!(
            "a consistency proof from {} to {} entries is needed (oversight audit consistency OLD NEW > PROOF)",
            last.size, new.size
        )
    })?;
    proof.check(last, new)
}
