//! Reading the audit log: filtered pages, the head, and the whole chain in
//! batches for verification and export. There is no update or delete.

use sqlx::{QueryBuilder, Sqlite};

use super::{Entry, Verdict, Verifier};
use crate::db::Db;

const COLUMNS: &str = "seq, at_us, user_id, username, roles, source, action, object_kind, object_id, outcome, details, prev_hash, hash";
const BATCH: i64 = 2000;

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub username: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    /// Inclusive bounds in microseconds.
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
}

fn push_filter(q: &mut QueryBuilder<'_, Sqlite>, f: &Filter) {
    q.push(" WHERE 1 = 1");
    if !f.username.is_empty() {
        q.push(" AND username = ").push_bind(f.username.clone());
    }
    if !f.action.is_empty() {
        q.push(" AND action = ").push_bind(f.action.clone());
    }
    if !f.object_kind.is_empty() {
        q.push(" AND object_kind = ").push_bind(f.object_kind.clone());
    }
    if !f.object_id.is_empty() {
        q.push(" AND object_id = ").push_bind(f.object_id.clone());
    }
    if let Some(from) = f.from_us {
        q.push(" AND at_us >= ").push_bind(from);
    }
    if let Some(to) = f.to_us {
        q.push(" AND at_us <= ").push_bind(to);
    }
}

pub async fn count(db: &Db, f: &Filter) -> Result<i64, sqlx::Error> {
    let mut q = QueryBuilder::new("SELECT COUNT(*) FROM audit_log");
    push_filter(&mut q, f);
    let (n,): (i64,) = q.build_query_as().fetch_one(db).await?;
    Ok(n)
}

pub async fn page(db: &Db, f: &Filter, limit: i64, offset: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log"));
    push_filter(&mut q, f);
    q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    q.build_query_as().fetch_all(db).await
}

/// Distinct values for the filter menus.
pub async fn distinct(db: &Db, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let column = match column {
        "action" => "action",
        "object_kind" => "object_kind",
        _ => "username",
    };
    let rows: Vec<(String,)> =
        sqlx::query_as(&format!("SELECT DISTINCT {column} FROM audit_log ORDER BY {column}"))
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// One record's history: its entries, newest first (the most recent 200).
pub async fn history_of(db: &Db, object_kind: &str, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE object_kind = $1 AND object_id = $2 ORDER BY seq DESC LIMIT 200"
    ))
    .bind(object_kind)
    .bind(id.to_string())
    .fetch_all(db)
    .await
}

/// The latest entry's sequence number and hash.
pub async fn head(db: &Db) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(db).await
}

/// Calls `each` on every entry in order, a batch at a time, so the whole
/// log never sits in memory.
pub async fn for_each(db: &Db, mut each: impl FnMut(&Entry) -> bool) -> Result<(), sqlx::Error> {
    let mut after = 0i64;
    loop {
        let batch: Vec<Entry> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after)
                .bind(BATCH)
                .fetch_all(db)
                .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.seq;
        for entry in &batch {
            if !each(entry) {
                return Ok(());
            }
        }
    }
}

/// Verifies the chain as stored.
pub async fn verify(db: &Db) -> Result<Verdict, sqlx::Error> {
    let mut verifier = Verifier::default();
    for_each(db, |entry| verifier.push(entry)).await?;
    Ok(verifier.finish())
}

/// Writes the log as JSON Lines, one entry per line.
pub async fn export(db: &Db, out: &mut impl std::io::Write) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut failure: Option<std::io::Error> = None;
    for_each(db, |entry| {
        let line = serde_json::to_string(entry).unwrap_or_default();
        if let Err(e) = writeln!(out, "{line}") {
            failure = Some(e);
            return false;
        }
        count += 1;
        true
    })
    .await?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(count),
    }
}
