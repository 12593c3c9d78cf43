//! Online backup of the whole database while the server keeps running,
//! checked before the command reports success.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy of the file (readers
//!   and writers are not blocked for long); the copy is opened, its
//!   integrity checked and every audit chain in it verified (each
//!   agency's, and the state's).
//! - PostgreSQL: `pg_dump` of one snapshot (`postgres.rs`): the command
//!   exports a snapshot, counts every table's rows in it, has `pg_dump`
//!   write that same snapshot in its custom format, then reads the archive
//!   back with `pg_restore` and checks that every row counted is in it and
//!   that every audit chain in it verifies. Restoring is `pg_restore`
//!   (README, "Backup and restore").
//! - One agency (`backup --agency ORI`, `write_agency`): a new SQLite file
//!   that holds that agency alone, from either backend (`db::transfer`'s
//!   `Slice::Agency`): a deployment the agency can keep, serve on its own
//!   or hand over, whose ids and hashes are the source's, so its issued
//!   reports and its audit chain verify there. The stored files its
//!   documents and reports name are copied to the copy's files folder.

mod postgres;

pub use postgres::tool as postgres_tool;

use std::path::Path;

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Db, transfer};

/// The verdicts on every audit chain of a database, by chain: each
/// agency's (its id) and the state's (`db::STATE_CHAIN`), in order.
#[derive(Clone, Debug, Default)]
pub struct Chains(pub Vec<(i64, audit::Verdict)>);

impl Chains {
    pub fn is_ok(&self) -> bool {
        self.0.iter().all(|(_, verdict)| verdict.is_ok())
    }

    /// The one chain's verdict in a deployment of one agency; otherwise
    /// each chain's, named.
    pub fn message(&self) -> String {
        match self.0.as_slice() {
            [] => "no audit entries".to_string(),
            [(_, verdict)] => verdict.message(),
            many => many
                .iter()
                .map(|(chain, verdict)| format!("{}: {}", chain_name(*chain), verdict.message()))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// How a message names a chain.
pub fn chain_name(chain: i64) -> String {
    if chain == db::STATE_CHAIN { "the state's chain".to_string() } else { format!("agency {chain}'s chain") }
}

/// Every audit chain of `db`: each agency's (with entries or not), and
/// any other chain that holds entries (the state's).
pub async fn chains(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    let mut chains = crate::agency::store::ids(db).await?;
    chains.extend(db::query_scalar::<i64>("SELECT DISTINCT agency_id FROM audit_log").fetch_all(db).await?);
    chains.sort_unstable();
    chains.dedup();
    Ok(chains)
}

/// Verifies every audit chain of `db` as stored.
pub async fn verify_chains(db: &Db) -> Result<Chains, sqlx::Error> {
    let mut verdicts = Vec::new();
    for chain in chains(db).await? {
        verdicts.push((chain, audit::store::verify(&Scope::of_agency(db, chain)).await?));
    }
    Ok(Chains(verdicts))
}

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
/// and the verdicts on the audit chains in it.
async fn sqlite_copy(db: &Db, target: &str) -> anyhow::Result<(String, Chains)> {
    db::query("VACUUM INTO $1").bind(target).execute(db).await?;
    let copy = crate::db::connect(&format!("sqlite://{target}")).await?;
    let (check,): (String,) = db::query_as("PRAGMA integrity_check").fetch_one(&copy).await?;
    let verdict = verify_chains(&copy).await?;
    copy.close().await;
    if check != "ok" {
        anyhow::bail!("the backup failed its integrity check: {check}");
    }
    Ok(("integrity ok".to_string(), verdict))
}

/// Writes the agency of `scope` alone to the new SQLite file `out`, with
/// the files its records name copied from `files` to the copy's files
/// folder; checked (integrity, every table's rows, the chain reaching the
/// head verified before the copy) before it says so. Audited in the
/// agency's chain.
pub async fn write_agency(scope: &Scope, files: &Path, out: &Path) -> anyhow::Result<String> {
    if out.exists() {
        anyhow::bail!("{} already exists; choose a new file name", out.display());
    }
    let target = out.to_str().ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    let ori = crate::agency::store::get(scope).await?.ori;
    // Verified before the snapshot, as `oversight copy` does: entries a
    // server writes in between are in the copy, which must reach this head.
    let head = match audit::store::verify(scope).await? {
        audit::Verdict::Intact { entries, head, .. } => (entries > 0).then_some(head),
        broken => anyhow::bail!(
            "the agency's audit log does not verify ({}); nothing was written",
            broken.message()
        ),
    };
    let url = format!("sqlite://{target}");
    let copy = db::connect(&url).await?;
    let made = async {
        copy_agency(scope.db(), &copy, transfer::Slice::Agency(scope.id())).await?;
        check_agency_copy(&copy, scope.id(), head.as_deref()).await?;
        seal(&copy, scope.id()).await
    }
    .await;
    copy.close().await;
    // A copy that failed its check is not left to be mistaken for a backup.
    let names = made.inspect_err(|_| remove_sqlite_file(out))?;
    let files_copied = copy_named_files(files, &crate::config::files_dir_for(&url), &names)?;
    let bytes = std::fs::metadata(out)?.len();
    let event = Event::new("backup.create", "agency", &ori).details(serde_json::json!({
        "file": target, "bytes": bytes, "agency": ori, "files": files_copied, "head": head,
    }));
    audit::record_in(scope, &Actor::system("command line"), event).await?;
    Ok(format!(
        "Backup of agency {ori} alone written to {target} ({bytes} bytes) and {files_copied} of its files to {}; \
         integrity ok; every table holds the agency's rows; its audit log in the copy verifies up to the head {}",
        crate::config::files_dir_for(&url).display(),
        head.as_deref().unwrap_or("(no entries)")
    ))
}

/// Copies the slice from one snapshot of `from` into the new `copy`, in
/// one transaction, and compares every table's rows with the snapshot's.
async fn copy_agency(from: &Db, copy: &Db, slice: transfer::Slice) -> anyhow::Result<()> {
    let mut source = transfer::snapshot(from).await?;
    let mut target = db::begin_write(copy).await?;
    let copied = transfer::copy_slice(&mut source, &mut target, slice).await?;
    let expected = transfer::slice_counts(&mut source, slice).await?;
    source.rollback().await?;
    let found = transfer::counts(&mut target).await?;
    // The target's state tables stay empty; every other table holds the slice.
    let found: transfer::Copied = found.into_iter().filter(|(t, _)| expected.contains_key(t)).collect();
    if found != expected || copied != expected {
        target.rollback().await?;
        anyhow::bail!("the copy does not hold the agency's rows as the source does; nothing was written");
    }
    target.commit().await?;
    Ok(())
}

/// SQLite's integrity check of the copy, and its one chain verified up to
/// the head the source had.
async fn check_agency_copy(copy: &Db, agency: i64, head: Option<&str>) -> anyhow::Result<()> {
    let (check,): (String,) = db::query_as("PRAGMA integrity_check").fetch_one(copy).await?;
    if check != "ok" {
        anyhow::bail!("the backup failed its integrity check: {check}");
    }
    let verdict = audit::store::verify_expecting(&Scope::of_agency(copy, agency), head).await?;
    if !verdict.is_ok() {
        anyhow::bail!("the audit log in the copy does not verify: {}", verdict.message());
    }
    Ok(())
}

/// Moves everything the copy's WAL holds into its file (a backup is one
/// file to keep, whenever the pool's last connection closes), and returns
/// the stored files the agency's document versions and reports name.
async fn seal(copy: &Db, agency: i64) -> anyhow::Result<Vec<String>> {
    db::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(copy).await?;
    Ok(db::query_scalar::<String>(
        "SELECT stored_name FROM document_versions WHERE agency_id = $1 \
         UNION SELECT file_name FROM reports WHERE agency_id = $1",
    )
    .bind(agency)
    .fetch_all(copy)
    .await?)
}

/// Copies each named file of `from` that `to` lacks (names are content
/// hashes: one there is the same); returns how many.
fn copy_named_files(from: &Path, to: &Path, names: &[String]) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut copied = 0;
    for name in names {
        let (source, target) = (from.join(name), to.join(name));
        if !target.exists() && source.is_file() {
            std::fs::copy(&source, &target)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Removes a SQLite file that failed its check, with its WAL files.
fn remove_sqlite_file(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
