//! Reading the audit log: filtered pages, the head, and the whole chain in
//! batches for verification and export. There is no update or delete.

use super::{Entry, Verdict, Verifier};
use crate::agency::Scope;
use crate::db::{self, Db};

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

fn push_filter(q: &mut crate::db::Builder<'_>, scope: &Scope, f: &Filter) {
    q.push(" WHERE agency_id = ").push_bind(scope.id());
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

pub async fn count(scope: &Scope, f: &Filter) -> Result<i64, sqlx::Error> {
    let mut q = crate::db::Builder::new("SELECT COUNT(*) FROM audit_log");
    push_filter(&mut q, scope, f);
    let (n,): (i64,) = q.build_query_as().fetch_one(scope).await?;
    Ok(n)
}

pub async fn page(scope: &Scope, f: &Filter, limit: i64, offset: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let mut q = crate::db::Builder::new(format!("SELECT {COLUMNS} FROM audit_log"));
    push_filter(&mut q, scope, f);
    q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    q.build_query_as().fetch_all(scope).await
}

/// Distinct values for the filter menus.
pub async fn distinct(scope: &Scope, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let column = match column {
        "action" => "action",
        "object_kind" => "object_kind",
        _ => "username",
    };
    let rows: Vec<(String,)> = db::query_as(&format!(
        "SELECT DISTINCT {column} FROM audit_log WHERE agency_id = $1 ORDER BY {column}"
    ))
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// One record's history: its entries, newest first (the most recent 200).
pub async fn history_of(scope: &Scope, object_kind: &str, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE agency_id = $1 AND object_kind = $2 AND object_id = $3 \
         ORDER BY seq DESC LIMIT 200"
    ))
    .bind(scope.id())
    .bind(object_kind)
    .bind(id.to_string())
    .fetch_all(scope)
    .await
}

/// The latest entry's sequence number and hash.
pub async fn head(scope: &Scope) -> Result<Option<(i64, String)>, sqlx::Error> {
    db::query_as("SELECT seq, hash FROM audit_log WHERE agency_id = $1 ORDER BY seq DESC LIMIT 1")
        .bind(scope.id())
        .fetch_optional(scope)
        .await
}

/// Calls `each` on every entry in order, a batch at a time, so the whole
/// log never sits in memory.
pub async fn for_each(scope: &Scope, mut each: impl FnMut(&Entry) -> bool) -> Result<(), sqlx::Error> {
    let mut after = 0i64;
    loop {
        let batch: Vec<Entry> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE agency_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(scope.id())
        .bind(after)
        .bind(BATCH)
        .fetch_all(scope)
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
pub async fn verify(scope: &Scope) -> Result<Verdict, sqlx::Error> {
    verify_expecting(scope, None).await
}

/// Verifies the chain as stored and that it reaches `head`, if given.
pub async fn verify_expecting(scope: &Scope, head: Option<&str>) -> Result<Verdict, sqlx::Error> {
    let mut verifier = Verifier::expecting(head);
    for_each(scope, |entry| verifier.push(entry)).await?;
    Ok(verifier.finish())
}

/// Writes the log as JSON Lines, one entry per line.
pub async fn export(scope: &Scope, out: &mut impl std::io::Write) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut failure: Option<std::io::Error> = None;
    for_each(scope, |entry| {
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

/// The chain every entry written before agencies were tenants is in
/// (migration 0018): the only one that can hold what earlier versions wrote.
const LEGACY_CHAIN: i64 = 1;

/// The text that replaces a plain digest of personal data.
const DIGEST_REMOVED: &str = "digest removed";

/// Removes what earlier versions wrote into arrest entries that a guess
/// could be tested against (docs/security.md): the 16-digit prefixes of
/// plain SHA-256 of names and dates of birth, and the `record_hash` of
/// arrest sign-offs made in form `arrest/v1` (a hash over the record with
/// its name and date of birth). Those values become `{"withheld": "digest
/// removed"}`, and every entry from the first one changed onward is
/// chained again; each such entry keeps the hash it had before in
/// `details.replaced_hash`, so a head held from earlier (printed on a
/// report, or from an older export) is still recognised by `audit verify
/// --expect-head`. One `audit.rewrite` entry records what was done. Runs
/// at every start; does nothing once no such value is left.
pub async fn remove_personal_digests(db: &Db, v1_arrest_sign_offs: &[i64]) -> Result<u64, sqlx::Error> {
    let sign_offs = serde_json::to_string(v1_arrest_sign_offs).unwrap_or_default();
    // Looked for without the write lock first: every command runs this at
    // start, and one that only reads must not wait behind a long import.
    if first_with_personal_digest(db, &sign_offs).await?.is_none() {
        return Ok(0);
    }
    let mut tx = Scope::of_agency(db, LEGACY_CHAIN).begin_write().await?;
    let Some(first) = first_with_personal_digest(&mut *tx, &sign_offs).await? else { return Ok(0) };
    let legacy_sign_offs: std::collections::HashSet<i64> = v1_arrest_sign_offs.iter().copied().collect();
    let prev: Option<String> =
        db::query_scalar("SELECT hash FROM audit_log WHERE agency_id = $1 AND seq = $2")
            .bind(LEGACY_CHAIN)
            .bind(first - 1)
            .fetch_optional(&mut *tx)
            .await?;
    let mut prev_hash = prev.unwrap_or_else(|| super::GENESIS.to_string());
    let old_head: (i64, String) =
        db::query_as("SELECT seq, hash FROM audit_log WHERE agency_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(LEGACY_CHAIN)
            .fetch_one(&mut *tx)
            .await?;
    db::lift_no_update(&mut tx, "audit_log", "audit_log_no_update").await?;
    let (mut changed, mut rechained) = (0u64, 0u64);
    let mut after = first - 1;
    loop {
        let batch: Vec<Entry> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE agency_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(LEGACY_CHAIN)
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for mut entry in batch {
            if entry.object_kind == "arrest" && withhold_digests(&mut entry.details, &legacy_sign_offs) {
                changed += 1;
            }
            if let Some(map) = entry.details.as_object_mut() {
                map.entry("replaced_hash").or_insert_with(|| entry.hash.clone().into());
            }
            entry.prev_hash = prev_hash;
            entry.hash = entry.compute_hash();
            db::query(
                "UPDATE audit_log SET details = $1, prev_hash = $2, hash = $3 WHERE agency_id = $4 AND seq = $5",
            )
            .bind(entry.details.to_string())
            .bind(&entry.prev_hash)
            .bind(&entry.hash)
            .bind(LEGACY_CHAIN)
            .bind(entry.seq)
                .execute(&mut *tx)
                .await?;
            prev_hash = entry.hash;
            rechained += 1;
        }
    }
    db::restore_no_update(&mut tx, "audit_log", "audit_log_no_update", "audit log is append-only").await?;
    let event = super::Event::new("audit.rewrite", "audit_log", "").details(serde_json::json!({
        "reason": "plain digests of personal data removed from arrest entries",
        "entries_changed": changed,
        "entries_chained_again": rechained,
        "from_seq": first,
        "old_head_seq": old_head.0,
        "old_head": old_head.1,
    }));
    super::record(&mut tx, &super::Actor::system("upgrade"), event).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Replaces the guessable digests in one arrest entry's details; true if
/// any was there.
fn withhold_digests(
    details: &mut serde_json::Value,
    legacy_sign_offs: &std::collections::HashSet<i64>,
) -> bool {
    let removed = || serde_json::json!({ "withheld": DIGEST_REMOVED });
    let mut changed = false;
    let Some(map) = details.as_object_mut() else { return false };
    let legacy_sign_off =
        map.get("sign_off").and_then(|v| v.as_i64()).is_some_and(|id| legacy_sign_offs.contains(&id));
    if legacy_sign_off && map.get("record_hash").is_some_and(|v| v.is_string()) {
        map.insert("record_hash".into(), removed());
        changed = true;
    }
    for side in ["before", "after"] {
        let Some(fields) = map.get_mut(side).and_then(|v| v.as_object_mut()) else { continue };
        for value in fields.values_mut() {
            if value.as_str().is_some_and(|s| s.starts_with("withheld, sha256 ")) {
                *value = removed();
                changed = true;
            }
        }
    }
    changed
}

/// The first audit entry that still holds a plain digest of personal data.
async fn first_with_personal_digest<'e>(
    db: impl Into<crate::db::On<'e>>,
    v1_arrest_sign_offs: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let on = db.into();
    // A v1 sign-off's entry holds its record hash as text; the ids of v1
    // sign-offs come as a JSON array. Each backend spells JSON its way.
    let v1 = if on.is_postgres() {
        "jsonb_typeof(CAST(details AS JSONB) -> 'record_hash') = 'string' \
         AND CAST(details AS JSONB) ->> 'sign_off' IN (SELECT jsonb_array_elements_text(CAST($1 AS JSONB)))"
    } else {
        "json_type(details, '$.record_hash') = 'text' \
         AND json_extract(details, '$.sign_off') IN (SELECT value FROM json_each($1))"
    };
    db::query_scalar(&format!(
        "SELECT MIN(seq) FROM audit_log WHERE agency_id = 1 AND object_kind = 'arrest' AND (details LIKE '%\"withheld, sha256 %' \
         OR (action LIKE 'sign_off.%' AND {v1}))"
    ))
    .bind(v1_arrest_sign_offs)
    .fetch_one(on)
    .await
}

/// The latest entry of the transaction's agency's chain, inside it (what a
/// submission package names as its source's head, docs/packages.md).
pub async fn head_in(tx: &mut crate::db::Tx) -> Result<Option<(i64, String)>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as("SELECT seq, hash FROM audit_log WHERE agency_id = $1 ORDER BY seq DESC LIMIT 1")
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await
}
