//! Online backup: `VACUUM INTO` writes a consistent copy while the server
//! keeps running (readers and writers are not blocked for long), then the
//! copy is opened and checked before the command reports success.

use std::path::Path;

use crate::audit::{self, Actor, Event};
use crate::db::{self, Db};

pub async fn write(db: &Db, out: &Path) -> anyhow::Result<String> {
    if db.sqlite().is_none() {
        anyhow::bail!(
            "oversight backup is not yet available on PostgreSQL: take a snapshot with \
             `pg_dump --format=custom --file=FILE DATABASE-URL` and restore it with `pg_restore`"
        );
    }
    if out.exists() {
        anyhow::bail!("{} already exists; choose a new file name", out.display());
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let target = out.to_str().ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    db::query("VACUUM INTO $1").bind(target).execute(db).await?;
    let copy = crate::db::connect(&format!("sqlite://{target}")).await?;
    let (check,): (String,) = db::query_as("PRAGMA integrity_check").fetch_one(&copy).await?;
    let verdict = audit::store::verify(&copy).await?;
    copy.close().await;
    if check != "ok" {
        anyhow::bail!("the backup failed its integrity check: {check}");
    }
    let bytes = std::fs::metadata(out)?.len();
    let event = Event::new("backup.create", "database", "")
        .details(serde_json::json!({ "file": target, "bytes": bytes, "audit": verdict.message() }));
    audit::record_alone(db, &Actor::system("command line"), event).await?;
    Ok(format!(
        "Backup written to {target} ({bytes} bytes); integrity ok; audit log in the copy: {}",
        verdict.message()
    ))
}
