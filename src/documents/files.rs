//! The file store: a folder outside anything the server serves, one file
//! per version under a random name. A file is written and synced before its
//! row is committed, and removed again if the row is not.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
