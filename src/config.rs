//! Runtime settings shared by the server and the command line.

use std::time::Duration;

/// Limits and switches the server runs with. Tests shorten the session
/// limits; deployments behind HTTPS turn on `secure_cookies`.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    /// Sign-out after this long without a request (CJIS: 30 minutes).
    pub idle_timeout: Duration,
    /// Sign-out this long after sign-in whatever the activity (12 hours).
    pub absolute_timeout: Duration,
    /// Served over HTTPS: Secure + `__Host-` cookie, HSTS header.
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Largest uploaded document, in bytes (docs/security.md: default 25 MiB).
    pub upload_limit: usize,
    /// Where uploaded files are kept: outside anything the server serves.
    pub files_dir: std::path::PathBuf,
    /// Requests a second per client address on the public pages.
    pub public_rate: u32,
}

impl Config {
    pub fn new(database_url: impl Into<String>) -> Self {
        let database_url = database_url.into();
        Self {
            files_dir: files_dir_for(&database_url),
            upload_limit: 25 * 1024 * 1024,
            database_url,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 60 * 60),
            secure_cookies: false,
            body_limit: 2 * 1024 * 1024,
            public_rate: 20,
        }
    }
}

/// The default files folder (`--files-dir` names another): a `files`
/// folder beside the SQLite database file.
pub fn files_dir_for(database_url: &str) -> std::path::PathBuf {
    // A server's URL names no folder: documents go under ./data/files,
    // which every app server must then share.
    if !database_url.starts_with("sqlite:") {
        return std::path::PathBuf::from("data/files");
    }
    let path = database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
    path.parent().map(|p| p.join("files")).unwrap_or_else(|| std::path::PathBuf::from("files"))
}

/// The default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/oversight.db";
