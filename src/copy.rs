//! `oversight copy --from URL --to URL`: a deployment's whole history (an
//! agency's SQLite file, or every agency of a state's deployment) moved
//! between any two backends (its SQLite file to the state's PostgreSQL,
//! or back), then checked on the target before the command says so.
//!
//! - The source must verify first (every audit chain: each agency's and
//!   the state's), and the target must hold no records: a copy never
//!   merges two histories.
//! - Every row is copied as it is, ids and hashes included
//!   (`db::transfer`), in one transaction on the target: all or nothing.
//!   Issued reports therefore verify on the target as on the source.
//! - The documents' files are copied from the source's files folder to
//!   the target's (names are content hashes: an existing one is the same).
//! - Then on the target: every table's row count equals the source's
//!   snapshot, and every audit chain verifies and reaches the source's
//!   head of that chain. One `database.copy` entry records the copy in the
//!   target's log (the one agency's chain, or the state's).

use std::path::Path;

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::backup::{Chains, chain_name, chains};
use crate::db::{self, transfer};

pub async fn run(from_url: &str, to_url: &str, from_files: &Path, to_files: &Path) -> anyhow::Result<String> {
    if from_url == to_url {
        anyhow::bail!("--from and --to name the same database");
    }
    let from = db::connect(from_url).await?;
    let to = db::connect(to_url).await?;
    let held: i64 = db::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&to).await?;
    if held > 0 {
        anyhow::bail!(
            "the target database already holds records ({held} audit entries); nothing was copied. \
             Copy into a new, empty database."
        );
    }
    // Verified before the snapshot is taken: entries a server writes in
    // between are in the copy, and every chain is verified again there.
    // Each chain's head, None for a chain without entries.
    let mut heads: Vec<(i64, Option<String>)> = Vec::new();
    for chain in chains(&from).await? {
        match audit::store::verify(&Scope::of_agency(&from, chain)).await? {
            audit::Verdict::Intact { entries, head, .. } => {
                heads.push((chain, (entries > 0).then_some(head)))
            }
            broken => anyhow::bail!(
                "the source's audit log does not verify ({}: {}); nothing was copied",
                chain_name(chain),
                broken.message()
            ),
        }
    }
    let mut source = transfer::snapshot(&from).await?;
    let mut target = db::begin_write(&to).await?;
    let copied = transfer::copy_all(&mut source, &mut target).await?;
    let expected = transfer::counts(&mut source).await?;
    source.rollback().await?;
    let found = transfer::counts(&mut target).await?;
    if found != expected || copied != expected {
        target.rollback().await?;
        anyhow::bail!("the target does not hold what the source held; nothing was copied");
    }
    target.commit().await?;

    let files = copy_files(from_files, to_files)?;
    // Every chain the target holds; a chain the source held when it was
    // verified reaches the head it had then.
    let mut verdicts = Vec::new();
    for chain in chains(&to).await? {
        let held = heads.iter().find(|(c, _)| *c == chain).and_then(|(_, head)| head.as_deref());
        verdicts.push((chain, audit::store::verify_expecting(&Scope::of_agency(&to, chain), held).await?));
    }
    let check = Chains(verdicts);
    if !check.is_ok() {
        anyhow::bail!("the audit log on the target does not verify: {}", check.message());
    }
    let rows: u64 = found.values().sum();
    // One head in a deployment of one agency, as before; else each chain's.
    let head = match heads.as_slice() {
        [(_, head)] => serde_json::json!(head.clone().unwrap_or_default()),
        many => serde_json::json!(
            many.iter()
                .map(|(chain, head)| (chain.to_string(), serde_json::json!(head)))
                .collect::<serde_json::Map<_, _>>()
        ),
    };
    let head_text = match &head {
        serde_json::Value::String(head) => head.clone(),
        _ => "of each chain".to_string(),
    };
    let event = Event::new("database.copy", "database", "").details(serde_json::json!({
        "from": backend(from_url), "tables": found.len(), "rows": rows, "files": files, "head": head,
    }));
    audit::record_alone(&to, &Actor::system("command line"), event).await?;
    from.close().await;
    to.close().await;
    Ok(format!(
        "Copied {rows} rows of {} tables and {files} new document files from the {} database to the {} one. \
         On the target every table holds the source's row count, and the audit log verifies up to the \
         source's head {head_text}: {}",
        found.len(),
        backend(from_url),
        backend(to_url),
        check.message()
    ))
}

fn backend(url: &str) -> &'static str {
    if url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" }
}

/// Copies each file of `from` that `to` lacks; returns how many.
fn copy_files(from: &Path, to: &Path) -> std::io::Result<u64> {
    if !from.is_dir() || from.canonicalize().ok() == to.canonicalize().ok() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    let mut copied = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        // Only the stored files: not the imports' and exports' scratch folders.
        if !entry.file_type()?.is_file() {
            continue;
        }
        let target = to.join(entry.file_name());
        if !target.exists() {
            std::fs::copy(entry.path(), &target)?;
            copied += 1;
        }
    }
    Ok(copied)
}
