//! Online backup of the whole database while the server keeps running,
//! checked before the command reports success.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy of the file (readers
//!   and writers are not blocked for long); the copy is opened, its
//!   integrity checked and its audit chain verified.
//! - PostgreSQL: `pg_dump` of one snapshot (`postgres.rs`): the command
//!   exports a snapshot, counts every table's rows in it, has `pg_dump`
//!   write that same snapshot in its custom format, then reads the archive
//!   back with `pg_restore` and checks that every row counted is in it and
//!   that the audit chain in it verifies. Restoring is `pg_restore`
//!   (README, "Backup and restore").

mod postgres;

pub use postgres::tool as postgres_tool;

use std::path::Path;

use crate::audit::{self, Actor, Event};
use crate::db::{self, Db};

/// Writes a backup of `db` (opened from `url`) to the new file `out`, and
/// returns what the check of the copy found.
pub async fn write(db: &Db, url: &str, out: &Path) -> anyhow::Result<String> {
    if out.exists() {
        anyhow::bail!("{} already exists; choose a new file name", out.display());
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let target = out.to_str().ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    let (checked, verdict) = match db {
        Db::Sqlite(_) => sqlite_copy(db, target).await?,
        Db::Postgres(_) => {
            let dump = postgres::dump(db, url, out).await?;
            (dump.summary(), dump.audit)
        }
    };
    let message = verdict.message();
    let bytes = std::fs::metadata(out)?.len();
    let event = Event::new("backup.create", "database", "")
        .details(serde_json::json!({ "file": target, "bytes": bytes, "audit": message }));
    audit::record_alone(db, &Actor::system("command line"), event).await?;
    Ok(format!("Backup written to {target} ({bytes} bytes); {checked}; audit log in the copy: {message}"))
}

/// `VACUUM INTO` the new file, then SQLite's integrity check of the copy
/// and the verdict on the audit chain in it.
async fn sqlite_copy(db: &Db, target: &str) -> anyhow::Result<(String, audit::Verdict)> {
    db::query("VACUUM INTO $1").bind(target).execute(db).await?;
    let copy = crate::db::connect(&format!("sqlite://{target}")).await?;
    let (check,): (String,) = db::query_as("PRAGMA integrity_check").fetch_one(&copy).await?;
    let verdict = audit::store::verify(&copy).await?;
    copy.close().await;
    if check != "ok" {
        anyhow::bail!("the backup failed its integrity check: {check}");
    }
    Ok(("integrity ok".to_string(), verdict))
}
