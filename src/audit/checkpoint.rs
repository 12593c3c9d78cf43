//! Signed checkpoints of an audit chain's Merkle tree (docs/audit.md): the
//! C2SP `tlog-checkpoint` body (origin, tree size, root in base64) as a
//! C2SP signed note with an Ed25519 key, and the key file it is signed
//! with. An auditor who holds the verifier key (`oversight audit
//! public-key`) can check a checkpoint, and so the tree's root, without
//! trusting the server that made it.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, Verifier as _};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The signature type byte of Ed25519 in C2SP signed notes.
const ED25519: u8 = 0x01;
/// The signature type byte of a witness's cosignature (tlog-cosignature/v1).
const COSIGNATURE: u8 = 0x04;
/// Where a signature line starts: an em dash and a space.
const SIGNATURE_START: &str = "\u{2014} ";
/// The first line of the key file, so that a wrong file is named as such.
const KEY_FILE_HEADER: &str = "oversight-ledger signing key v1";

/// The origin of an agency's log (`--state` has `state`).
pub fn origin(ori: &str) -> String {
    format!("oversight-ledger/{ori}")
}

/// What a checkpoint says: the log, how many entries, and their root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note's text: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root))
    }

    fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = body.lines();
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or(NoteError::Body("no origin line"))?;
        // Decimal digits only, no sign and no leading zero (C2SP).
        let canonical =
            |l: &&str| l.bytes().all(|b| b.is_ascii_digit()) && (*l == "0" || !l.starts_with('0'));
        let size = lines
            .next()
            .filter(canonical)
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or(NoteError::Body("the second line is not a tree size"))?;
        let root = lines
            .next()
            .and_then(|l| BASE64.decode(l).ok())
            .and_then(|b| Hash::try_from(b.as_slice()).ok())
            .ok_or(NoteError::Body("the third line is not a 32-byte root in base64"))?;
        Ok(Checkpoint { origin: origin.to_string(), size, root })
    }
}

/// Why a note or key was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("not a signed note: {0}")]
    Malformed(&'static str),
    #[error("not a checkpoint: {0}")]
    Body(&'static str),
    #[error("not a verifier key: {0}")]
    Key(&'static str),
    #[error(
        "the checkpoint carries no signature by the key {0}: it was signed by another key, or not at all"
    )]
    Unsigned(String),
    #[error("the checkpoint carries no cosignature by the witness {0}")]
    Uncosigned(String),
    #[error("the signature by {0} does not verify: the checkpoint was altered or signed by another key")]
    BadSignature(String),
}

/// A signed note split into its text and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    /// Key name, key ID, signature bytes.
    pub signatures: Vec<(String, u32, Vec<u8>)>,
}

impl Note {
    /// The signature bytes of the key named `name` with key ID `id`.
    fn signature_by(&self, name: &str, id: u32) -> Option<&[u8]> {
        self.signatures.iter().find(|(n, i, _)| n == name && *i == id).map(|(_, _, sig)| sig.as_slice())
    }

    pub fn parse(note: &str) -> Result<Note, NoteError> {
        let note = note.replace("\r\n", "\n");
        let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
        if text.trim().is_empty() {
            return Err(NoteError::Malformed("empty text"));
        }
        let mut out = Vec::new();
        for line in signatures.lines().filter(|l| !l.is_empty()) {
            let rest = line
                .strip_prefix(SIGNATURE_START)
                .ok_or(NoteError::Malformed("a signature line must start with an em dash"))?;
            let (name, sig) = rest
                .split_once(' ')
                .ok_or(NoteError::Malformed("a signature line needs a name and a signature"))?;
            let bytes = BASE64.decode(sig).map_err(|_| NoteError::Malformed("a signature is not base64"))?;
            if bytes.len() < 5 {
                return Err(NoteError::Malformed("a signature is too short"));
            }
            let id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            out.push((name.to_string(), id, bytes[4..].to_vec()));
        }
        if out.is_empty() {
            return Err(NoteError::Malformed("no signature line"));
        }
        Ok(Note { text: text.to_string(), signatures: out })
    }
}

/// The key ID of a named key: the first four bytes of
/// SHA-256(name ‖ 0x0A ‖ kind ‖ public key), kind 0x01 for a log's
/// Ed25519 key and 0x04 for a witness's cosignature key.
fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A verifier key: a name and an Ed25519 public key, read from the C2SP
/// form `name+hexid+base64(0x01 ‖ key)`.
#[derive(Clone, Debug)]
pub struct VerifierKey {
    pub name: String,
    id: u32,
    /// 0x01: a log's key (signs checkpoints); 0x04: a witness's (cosigns).
    kind: u8,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<VerifierKey, NoteError> {
        // A key name holds no "+"; the base64 key may.
        let mut parts = text.trim().splitn(3, '+');
        let (name, id, key) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(k)) if !n.is_empty() => (n, i, k),
            _ => return Err(NoteError::Key("expected name+keyid+key")),
        };
        let bytes = BASE64.decode(key).map_err(|_| NoteError::Key("the key is not base64"))?;
        let (kind, public) = bytes.split_first().ok_or(NoteError::Key("the key is empty"))?;
        let public: [u8; 32] =
            public.try_into().map_err(|_| NoteError::Key("an Ed25519 key has 32 bytes"))?;
        if *kind != ED25519 && *kind != COSIGNATURE {
            return Err(NoteError::Key(
                "only Ed25519 keys (type 0x01) and cosignature keys (0x04) are known",
            ));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::Key("the key ID is not hexadecimal"))?;
        if id != key_id(name, *kind, &public) {
            return Err(NoteError::Key("the key ID does not match the name and key"));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::Key("not an Ed25519 point"))?;
        Ok(VerifierKey { name: name.to_string(), id, kind: *kind, key })
    }

    fn new(name: &str, kind: u8, key: ed25519_dalek::VerifyingKey) -> Self {
        VerifierKey { name: name.to_string(), id: key_id(name, kind, key.as_bytes()), kind, key }
    }

    pub fn is_witness(&self) -> bool {
        self.kind == COSIGNATURE
    }

    /// The C2SP verifier key text.
    pub fn encode(&self) -> String {
        let mut bytes = vec![self.kind];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(bytes))
    }

    /// Checks that `note` carries this key's valid signature and returns
    /// its checkpoint.
    pub fn open(&self, note: &str) -> Result<Checkpoint, NoteError> {
        if self.is_witness() {
            return Err(NoteError::Key("a witness's key cosigns checkpoints; give the log's key"));
        }
        let note = Note::parse(note)?;
        let sig =
            note.signature_by(&self.name, self.id).ok_or_else(|| NoteError::Unsigned(self.name.clone()))?;
        let sig = ed25519_dalek::Signature::from_slice(sig)
            .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
        self.key
            .verify(note.text.as_bytes(), &sig)
            .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
        Checkpoint::parse_body(&note.text)
    }

    /// Opens a checkpoint as `open` does and returns its extension lines
    /// too (what a publication's checkpoint says of its files).
    pub fn open_extended(&self, note: &str) -> Result<(Checkpoint, Vec<String>), NoteError> {
        let checkpoint = self.open(note)?;
        let text = Note::parse(note)?.text;
        Ok((checkpoint, text.lines().skip(3).map(str::to_string).collect()))
    }

    /// Checks that `note` carries this witness's valid cosignature (C2SP
    /// tlog-cosignature/v1) and returns when the witness made it.
    pub fn cosigned_at(&self, note: &str) -> Result<u64, NoteError> {
        if !self.is_witness() {
            return Err(NoteError::Key("not a witness's cosignature key"));
        }
        let note = Note::parse(note)?;
        let sig =
            note.signature_by(&self.name, self.id).ok_or_else(|| NoteError::Uncosigned(self.name.clone()))?;
        let bad = || NoteError::BadSignature(self.name.clone());
        let (time, sig) = sig.split_at_checked(8).ok_or_else(bad)?;
        let time = u64::from_be_bytes(time.try_into().map_err(|_| bad())?);
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| bad())?;
        self.key.verify(cosigned_message(time, &note.text).as_bytes(), &sig).map_err(|_| bad())?;
        Ok(time)
    }
}

/// What a witness signs: the C2SP cosignature/v1 header, the time, and
/// the checkpoint's text.
fn cosigned_message(time: u64, text: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// The deployment's signing key. One key signs every chain's checkpoints,
/// each under the name of its log's origin.
pub struct SigningKey(ed25519_dalek::SigningKey);

/// A witness's key (`oversight audit witness`): an Ed25519 key and the
/// witness's name, kept in a key file of its own.
pub struct WitnessKey {
    pub name: String,
    key: ed25519_dalek::SigningKey,
}

const WITNESS_FILE_HEADER: &str = "oversight-ledger witness key v1";

impl WitnessKey {
    /// Reads the witness's key file, or makes one for `name`.
    pub fn load_or_create(path: &Path, name: Option<&str>) -> anyhow::Result<WitnessKey> {
        let (seed, rest) = match std::fs::read_to_string(path) {
            Ok(text) => read_key_file(path, &text, WITNESS_FILE_HEADER)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = name.filter(|n| !n.is_empty() && !n.contains(['+', ' ', '\n'])).ok_or_else(|| {
                    anyhow::anyhow!("a new witness key needs --name NAME (no spaces or \"+\"), the name auditors will know it by")
                })?;
                create_key_file(path, WITNESS_FILE_HEADER, name)?
            }
            Err(e) => anyhow::bail!("cannot read the witness key {}: {e}", path.display()),
        };
        Ok(WitnessKey { name: rest, key: ed25519_dalek::SigningKey::from_bytes(&seed) })
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey::new(&self.name, COSIGNATURE, self.key.verifying_key())
    }

    /// The note with this witness's cosignature added, made at `time`.
    pub fn cosign(&self, note: &str, time: u64) -> Result<String, NoteError> {
        let parsed = Note::parse(note)?;
        let mut sig =
            key_id(&self.name, COSIGNATURE, self.key.verifying_key().as_bytes()).to_be_bytes().to_vec();
        sig.extend_from_slice(&time.to_be_bytes());
        sig.extend_from_slice(&self.key.sign(cosigned_message(time, &parsed.text).as_bytes()).to_bytes());
        let note = note.replace("\r\n", "\n");
        Ok(format!(
            "{}{SIGNATURE_START}{} {}\n",
            note.trim_end_matches('\n').to_string() + "\n",
            self.name,
            BASE64.encode(sig)
        ))
    }
}

/// A key file: its header line, the seed in base64, then (for a witness)
/// its name. A file others can read is refused: whoever reads it can sign.
fn read_key_file(path: &Path, text: &str, header: &str) -> anyhow::Result<([u8; 32], String)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "the key {} can be read by others (mode {:o}): make it readable by its owner only (chmod 600)",
            path.display(),
            mode & 0o777
        );
    }
    let mut lines = text.lines();
    let seed = match (lines.next(), lines.next()) {
        (Some(h), Some(seed)) if h == header => BASE64.decode(seed.trim()).ok(),
        _ => None,
    };
    let seed: [u8; 32] = seed
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{} is not a key file of this kind ({header})", path.display()))?;
    Ok((seed, lines.next().unwrap_or_default().trim().to_string()))
}

/// Makes a key file readable by its owner only. create_new: two servers
/// starting at once do not each make a key; the one that loses reads the
/// winner's.
fn create_key_file(path: &Path, header: &str, extra: &str) -> anyhow::Result<([u8; 32], String)> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let seed: [u8; 32] = rand::random();
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(50));
            return read_key_file(path, &std::fs::read_to_string(path)?, header);
        }
        Err(e) => anyhow::bail!("cannot create the key {}: {e}", path.display()),
    };
    writeln!(file, "{header}\n{}\n{extra}", BASE64.encode(seed))?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "made a key file");
    Ok((seed, extra.to_string()))
}

impl SigningKey {
    /// The key file: `OVERSIGHT_SIGNING_KEY_FILE`, else `signing-key`
    /// beside the database's files folder (never in the database).
    pub fn path_for(database_url: &str) -> PathBuf {
        if let Some(path) = std::env::var_os("OVERSIGHT_SIGNING_KEY_FILE").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let files = crate::config::files_dir_for(database_url);
        files.parent().unwrap_or(Path::new(".")).join("signing-key")
    }

    /// Reads the key, or makes one (readable by the owner only) where
    /// there is none. A file others can read is refused: whoever reads
    /// it can sign checkpoints of a rewritten log.
    /// The deployment's key (`path_for`), made if there is none.
    pub fn of_database(database_url: &str) -> anyhow::Result<SigningKey> {
        Self::load_or_create(&Self::path_for(database_url))
    }

    pub fn load_or_create(path: &Path) -> anyhow::Result<SigningKey> {
        let (seed, _) = match std::fs::read_to_string(path) {
            Ok(text) => read_key_file(path, &text, KEY_FILE_HEADER)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path, KEY_FILE_HEADER, "")?,
            Err(e) => anyhow::bail!("cannot read the signing key {}: {e}", path.display()),
        };
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    pub fn verifier(&self, name: &str) -> VerifierKey {
        VerifierKey::new(name, ED25519, self.0.verifying_key())
    }

    /// The checkpoint as a signed note, signed under its origin's name.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_extended(checkpoint, &[])
    }

    /// The checkpoint with extension lines after its root (C2SP
    /// tlog-checkpoint allows them; verifiers of the checkpoint ignore
    /// them, the signature covers them): a publication's file hashes.
    pub fn sign_extended(&self, checkpoint: &Checkpoint, extensions: &[String]) -> String {
        let mut body = checkpoint.body();
        for line in extensions {
            body.push_str(line);
            body.push('\n');
        }
        let name = &checkpoint.origin;
        let mut sig = key_id(name, ED25519, self.0.verifying_key().as_bytes()).to_be_bytes().to_vec();
        sig.extend_from_slice(&self.0.sign(body.as_bytes()).to_bytes());
        format!("{body}\n{SIGNATURE_START}{name} {}\n", BASE64.encode(sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]))
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_not_another() {
        let c = Checkpoint { origin: origin("AZ0070000"), size: 12, root: [3u8; 32] };
        let note = key().sign(&c);
        let v = VerifierKey::parse(&key().verifier(&c.origin).encode()).unwrap();
        assert_eq!(v.open(&note), Ok(c.clone()));
        let other = SigningKey(ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])).verifier(&c.origin);
        assert!(matches!(other.open(&note), Err(NoteError::Unsigned(_))));
        let altered = note.replacen("\n12\n", "\n13\n", 1);
        assert!(matches!(v.open(&altered), Err(NoteError::BadSignature(_))));
        assert!(matches!(key().verifier("other").open(&note), Err(NoteError::Unsigned(_))));
    }
}
