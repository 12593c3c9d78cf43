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

mod postgres;

pub use postgres::tool as postgres_tool;

use std::path::Path;

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Db};

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
