//! The file store: a folder outside anything the server serves, one file
//! per version under a random name. A file is written and synced before its
//! row is committed, and removed again if the row is not. An upload is
//! streamed into a temporary file there (hashed, measured and its type
//! sniffed on the way), so no upload is ever held in memory whole.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::Sniff;

#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

/// A file written to the store, not yet recorded.
pub struct Stored {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

impl FileStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn write(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        std::fs::create_dir_all(&self.dir)?;
        let name = crate::web::random_token(16);
        let partial = self.dir.join(format!("{name}.partial"));
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, self.dir.join(&name))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.dir.join(&name), std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Stored { name, sha256: hex::encode(Sha256::digest(bytes)), size: bytes.len() as u64 })
    }

    /// Starts receiving an upload of at most `limit` bytes into a private
    /// temporary file in the store's folder.
    pub async fn receive(&self, limit: u64) -> std::io::Result<Incoming> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let name = crate::web::random_token(16);
        let partial = self.dir.join(format!("{name}.partial"));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(&partial).await?;
        let mut incoming = Incoming::digest_only(limit);
        incoming.target = Some((file, partial, self.dir.join(&name), name));
        Ok(incoming)
    }

    pub fn read(&self, name: &str) -> std::io::Result<Vec<u8>> {
        // Stored names are hex; anything else never reaches the file system.
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad stored name"));
        }
        std::fs::read(self.dir.join(name))
    }

    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.join(name));
    }

    /// How many files the store holds (tests check nothing is left behind).
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0)
    }
}

/// An upload being received: each chunk is hashed, counted against the
/// limit, sniffed for its type and (unless only the digest is wanted)
/// written to a temporary file. Dropped before [`Incoming::keep`], on any
/// refusal, error or dropped connection, it removes its temporary file.
pub struct Incoming {
    /// The temporary file, its path, the final path and the stored name.
    target: Option<(tokio::fs::File, PathBuf, PathBuf, String)>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    sniff: Sniff,
}

impl Incoming {
    /// Hashes and sniffs an upload without writing it anywhere (a report
    /// is verified by its SHA-256 alone).
    pub fn digest_only(limit: u64) -> Self {
        Self { target: None, hasher: Sha256::new(), size: 0, limit, sniff: Sniff::default() }
    }

    /// Takes the next chunk; `Ok(false)` when it would take the upload over
    /// the limit (nothing of it is written).
    pub async fn push(&mut self, chunk: &[u8]) -> std::io::Result<bool> {
        if self.size + chunk.len() as u64 > self.limit {
            return Ok(false);
        }
        if let Some((file, ..)) = &mut self.target {
            file.write_all(chunk).await?;
        }
        self.hasher.update(chunk);
        self.sniff.feed(chunk);
        self.size += chunk.len() as u64;
        Ok(true)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// What the type check needs: the first bytes, and whether it is text.
    pub fn sniff(&self) -> &Sniff {
        &self.sniff
    }

    /// The SHA-256 of what was received so far, in hex.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Syncs the temporary file and moves it into place under its
    /// generated name; the caller records it (or removes it again).
    pub async fn keep(mut self) -> std::io::Result<Stored> {
        let sha256 = self.sha256();
        let Some((mut file, partial, path, name)) = self.target.take() else {
            return Err(std::io::Error::other("a digest-only upload has no file to keep"));
        };
        let moved = async {
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&partial, &path).await
        }
        .await;
        if let Err(e) = moved {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(Stored { name, sha256, size: self.size })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some((_, partial, ..)) = self.target.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}
