//! The audit commands of the Merkle tree (docs/audit.md): `audit
//! checkpoint`, `public-key`, `prove`, `consistency` and `verify FILE
//! --checkpoint C`. Proofs go to standard output, so they can be kept in a
//! file and handed over; what the check found goes to standard error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::checkpoint::{Checkpoint, SigningKey, VerifierKey, WitnessKey};
use super::proof::{self, Consistency, Inclusion};
use super::store;
use crate::agency::Scope;

/// One chain, and the key file its checkpoints are signed with.
pub struct Chain {
    pub scope: Scope,
    pub key_file: PathBuf,
}

impl Chain {
    fn key(&self) -> anyhow::Result<SigningKey> {
        SigningKey::load_or_create(&self.key_file)
    }

    async fn verifier(&self) -> anyhow::Result<VerifierKey> {
        Ok(self.key()?.verifier(&store::origin(&self.scope).await?))
    }

    /// A checkpoint file, opened with this deployment's key.
    async fn open(&self, path: &Path) -> anyhow::Result<Checkpoint> {
        let text = read(path)?;
        self.verifier().await?.open(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}

pub async fn checkpoint(chain: &Chain) -> anyhow::Result<ExitCode> {
    match store::checkpoint(&chain.scope, &chain.key()?).await? {
        Some(signed) => print!("{}", signed.note),
        None => eprintln!("The log holds no entry yet: there is nothing to sign."),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn public_key(chain: &Chain) -> anyhow::Result<ExitCode> {
    println!("{}", chain.verifier().await?.encode());
    Ok(ExitCode::SUCCESS)
}

pub async fn prove(chain: &Chain, seq: u64, checkpoint: Option<&Path>) -> anyhow::Result<ExitCode> {
    let checkpoint = match checkpoint {
        Some(path) => chain.open(path).await?,
        None => {
            let signed = store::checkpoint(&chain.scope, &chain.key()?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the log holds no entry yet"))?;
            chain.verifier().await?.open(&signed.note)?
        }
    };
    if seq == 0 || seq > checkpoint.size {
        anyhow::bail!("entry {seq} is not in the checkpoint's tree of entries 1 to {}", checkpoint.size);
    }
    let leaf = store::entry_hash(&chain.scope, seq as i64)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the log holds no entry {seq}"))?;
    let started = std::time::Instant::now();
    let hashes = store::inclusion_proof(&chain.scope, seq, checkpoint.size).await?;
    let took = started.elapsed();
    let proof = Inclusion { origin: checkpoint.origin.clone(), seq, size: checkpoint.size, leaf, hashes };
    print!("{}", proof.encode());
    match proof.check(&checkpoint) {
        Ok(()) => {
            eprintln!(
                "OK entry {seq} is in the checkpoint's tree of {} entries (proof made in {:.2} ms)",
                checkpoint.size,
                took.as_secs_f64() * 1000.0
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("FAILED: {why}: the log no longer holds what the checkpoint signed");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn consistency(chain: &Chain, old: &Path, new: &Path) -> anyhow::Result<ExitCode> {
    let (old, new) = (chain.open(old).await?, chain.open(new).await?);
    if let Some(fork) = proof::fork(&old, &new) {
        eprintln!("{fork}");
        return Ok(ExitCode::FAILURE);
    }
    if old.size > new.size {
        anyhow::bail!("OLD signs {} entries and NEW {}: give the older checkpoint first", old.size, new.size);
    }
    let started = std::time::Instant::now();
    let hashes = store::consistency_proof(&chain.scope, old.size, new.size).await?;
    let took = started.elapsed();
    let proof = Consistency { origin: new.origin.clone(), old: old.size, new: new.size, hashes };
    print!("{}", proof.encode());
    match proof.check(&old, &new) {
        Ok(()) => {
            eprintln!(
                "OK the log of {} entries extends the log of {} entries (proof made in {:.2} ms)",
                new.size,
                old.size,
                took.as_secs_f64() * 1000.0
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("NOT CONSISTENT: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `audit verify FILE --checkpoint C [--key VKEY] [--witness VKEY]…`.
pub async fn verify_export(
    chain: &Chain,
    file: &Path,
    checkpoint: &Path,
    key: Option<&str>,
    witnesses: &[String],
) -> anyhow::Result<ExitCode> {
    let text = read(checkpoint)?;
    let opened = match key {
        Some(key) => VerifierKey::parse(key)?.open(&text),
        None => chain.verifier().await?.open(&text),
    };
    let checkpoint = match opened {
        Ok(c) => c,
        Err(why) => {
            println!("FAILED: {}: {why}", checkpoint.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    for witness in witnesses {
        let witness = VerifierKey::parse(witness)?;
        if let Err(why) = witness.cosigned_at(&text) {
            println!("FAILED: the checkpoint's witnesses: {why}");
            return Ok(ExitCode::FAILURE);
        }
    }
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let found = proof::check_export(reader, &checkpoint);
    println!("{}", found.message());
    Ok(if found.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A witness's files (`audit witness`): its key, the log's verifier key,
/// and the consistency proof it was handed.
pub struct Witness {
    pub key_file: PathBuf,
    pub name: Option<String>,
    pub log_key: Option<String>,
    pub proof: Option<PathBuf>,
}

/// `audit witness`: files only, no database, as a third party runs it.
/// The last checkpoint the witness cosigned for a log is kept beside its
/// key (`KEY.<origin>.last`), so the next one must extend it.
pub fn witness(w: &Witness, checkpoint: Option<&Path>, show_key: bool) -> anyhow::Result<ExitCode> {
    let witness = WitnessKey::load_or_create(&w.key_file, w.name.as_deref())?;
    if show_key {
        println!("{}", witness.verifier().encode());
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(checkpoint), Some(log_key)) = (checkpoint, w.log_key.as_deref()) else {
        anyhow::bail!("give the CHECKPOINT to cosign and --log-key VKEY");
    };
    let log_key = VerifierKey::parse(log_key)?;
    let note = read(checkpoint)?;
    let new = log_key.open(&note).map_err(|e| anyhow::anyhow!("{}: {e}", checkpoint.display()))?;
    let state = w.key_file.with_extension(format!("{}.last", new.origin.replace(['/', '\\'], "_")));
    let last = match std::fs::read_to_string(&state) {
        Ok(text) => Some(log_key.open(&text).map_err(|e| anyhow::anyhow!("{}: {e}", state.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => anyhow::bail!("cannot read {}: {e}", state.display()),
    };
    let proof = match &w.proof {
        Some(path) => {
            Some(Consistency::parse(&read(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    if let Err(why) = proof::witness_check(last.as_ref(), &new, proof.as_ref()) {
        eprintln!("REFUSED: {why}");
        return Ok(ExitCode::FAILURE);
    }
    let time =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let cosigned = witness.cosign(&note, time)?;
    std::fs::write(&state, &cosigned)?;
    print!("{cosigned}");
    eprintln!("OK {} cosigned {} at {} entries", witness.name, new.origin, new.size);
    Ok(ExitCode::SUCCESS)
}
