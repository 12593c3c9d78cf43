//! Reading the audit log: filtered pages, the head, and the whole chain in
//! batches for verification and export. There is no update or delete.

use std::ops::Range;

use super::checkpoint::{Checkpoint, SigningKey};
use super::merkle::{self, Frontier, Hash, Node};
use super::{Entry, Verdict, Verifier};
use crate::agency::Scope;
use crate::db::{self, Db, Tx};

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

// The Merkle tree over each chain and its signed checkpoints
// (docs/audit.md). The tree is derived from the entries' hashes and
// extended when a checkpoint or a proof is asked for, never on the write
// path: appending an entry costs what it did before the tree existed.

/// The lowest level kept in `audit_tree`; a node below it is recomputed
/// from the hashes of its at most 2^STORED_LEVEL / 2 entries.
const STORED_LEVEL: u32 = 4;

/// A checkpoint as stored: its tree size and its signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub size: u64,
    pub note: String,
}

/// The origin line of the chain's checkpoints: `oversight-ledger/<ORI>`,
/// or `oversight-ledger/state` for the state's own chain.
pub async fn origin(scope: &Scope) -> Result<String, sqlx::Error> {
    if scope.id() == db::STATE_CHAIN {
        return Ok(super::checkpoint::origin("state"));
    }
    Ok(super::checkpoint::origin(&crate::agency::store::get(scope).await?.ori))
}

/// The chain's checkpoint at its head, signed now unless one of that size
/// is stored; None while the chain holds no entry.
pub async fn checkpoint(scope: &Scope, key: &SigningKey) -> Result<Option<Signed>, sqlx::Error> {
    let origin = origin(scope).await?;
    catch_up(scope).await?;
    let mut tx = scope.begin_write().await?;
    let size = head_in(&mut tx).await?.map(|(seq, _)| seq as u64).unwrap_or(0);
    if size == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let latest = latest_checkpoint_in(&mut tx, scope.id()).await?.filter(|l| l.size == size);
    // One stored per size; one signed by another key (the key was
    // replaced) is not this key's, so a note is signed and not stored.
    let verifier = key.verifier(&origin);
    if let Some(latest) = &latest {
        if verifier.open(&latest.note).is_ok() {
            tx.rollback().await?;
            return Ok(latest.clone().into());
        }
    }
    extend_tree(&mut tx, scope.id(), size).await?;
    let whole = 0..size;
    let root = range_hashes(&mut tx, scope.id(), std::slice::from_ref(&whole)).await?[0];
    let note = key.sign(&Checkpoint { origin, size, root });
    if latest.is_some() {
        tx.rollback().await?;
        return Ok(Some(Signed { size, note }));
    }
    db::query("INSERT INTO audit_checkpoints (agency_id, size, root, note, signed_at_us) VALUES ($1, $2, $3, $4, $5)")
        .bind(scope.id())
        .bind(size as i64)
        .bind(hex::encode(root))
        .bind(note.as_str())
        .bind(db::now_unix() * 1_000_000)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Signed { size, note }))
}

/// Inside a write transaction that has just appended to its chain: the
/// checkpoint of the chain at its head (the entry just written included),
/// with `extensions` after the root, signed. Not stored with the chain's
/// checkpoints: the caller keeps it with what it vouches for (a
/// publication, docs/publications.md).
pub async fn sign_extended_in(
    tx: &mut Tx,
    origin: &str,
    chain: i64,
    key: &SigningKey,
    extensions: &[String],
) -> Result<Signed, sqlx::Error> {
    let size = head_in(tx).await?.map(|(seq, _)| seq as u64).unwrap_or(0);
    extend_tree(tx, chain, size).await?;
    let root = range_hashes(tx, chain, std::slice::from_ref(&(0..size))).await?[0];
    let note = key.sign_extended(&Checkpoint { origin: origin.to_string(), size, root }, extensions);
    Ok(Signed { size, note })
}

/// Brings the chain's stored tree up to its head in batches of their own,
/// so that a write transaction signing a checkpoint has little to add.
pub async fn prepare_tree(scope: &Scope) -> Result<(), sqlx::Error> {
    catch_up(scope).await
}

/// The newest stored checkpoint of the chain.
pub async fn latest_checkpoint(scope: &Scope) -> Result<Option<Signed>, sqlx::Error> {
    let row: Option<(i64, String)> = db::query_as(
        "SELECT size, note FROM audit_checkpoints WHERE agency_id = $1 ORDER BY size DESC LIMIT 1",
    )
    .bind(scope.id())
    .fetch_optional(scope)
    .await?;
    Ok(row.map(|(size, note)| Signed { size: size as u64, note }))
}

async fn latest_checkpoint_in(tx: &mut Tx, chain: i64) -> Result<Option<Signed>, sqlx::Error> {
    let row: Option<(i64, String)> = db::query_as(
        "SELECT size, note FROM audit_checkpoints WHERE agency_id = $1 ORDER BY size DESC LIMIT 1",
    )
    .bind(chain)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(size, note)| Signed { size: size as u64, note }))
}

/// Whether the chain today extends the signed checkpoint `note` (printed
/// on a report): Some(Ok(size)) when its first `size` entries still have
/// the signed root, Some(Err) with what is wrong, in words; None when the
/// note was signed by a key this deployment does not hold (its records
/// were copied or restored here from another install), which only that
/// install's verifier key can check.
pub async fn extends(
    scope: &Scope,
    key: &SigningKey,
    note: &str,
) -> Result<Option<Result<u64, String>>, sqlx::Error> {
    let signed = match key.verifier(&origin(scope).await?).open(note) {
        Ok(c) => c,
        Err(super::checkpoint::NoteError::Unsigned(_)) => return Ok(None),
        Err(why) => return Ok(Some(Err(why.to_string()))),
    };
    let head = head(scope).await?.map(|(seq, _)| seq as u64).unwrap_or(0);
    if head < signed.size {
        return Ok(Some(Err(format!(
            "the log holds {head} entries, fewer than the {} the checkpoint signed: entries were removed",
            signed.size
        ))));
    }
    let proof = consistency_proof(scope, signed.size, head).await?;
    let root = root_at(scope, head).await?;
    Ok(Some(match merkle::verify_consistency(signed.size, head, &signed.root, &root, &proof) {
        Ok(()) => Ok(signed.size),
        Err(_) => Err(format!(
            "its first {} entries are not those the checkpoint signed: the log was rewritten",
            signed.size
        )),
    }))
}

/// The hash of entry `seq` (the tree's leaf), if the chain holds it.
pub async fn entry_hash(scope: &Scope, seq: i64) -> Result<Option<String>, sqlx::Error> {
    db::query_scalar("SELECT hash FROM audit_log WHERE agency_id = $1 AND seq = $2")
        .bind(scope.id())
        .bind(seq)
        .fetch_optional(scope)
        .await
}

/// The root of the chain's first `size` entries.
pub async fn root_at(scope: &Scope, size: u64) -> Result<Hash, sqlx::Error> {
    let whole: Range<u64> = 0..size;
    proof_hashes(scope, size, std::iter::once(whole).collect()).await.map(|h| h[0])
}

/// The inclusion proof of entry `seq` in the tree of the first `size`
/// entries (RFC 9162 §2.1.3).
pub async fn inclusion_proof(scope: &Scope, seq: u64, size: u64) -> Result<Vec<Hash>, sqlx::Error> {
    proof_hashes(scope, size, merkle::inclusion_ranges(seq - 1, size)).await
}

/// The consistency proof from the tree of `old` entries to that of `new`
/// (RFC 9162 §2.1.4).
pub async fn consistency_proof(scope: &Scope, old: u64, new: u64) -> Result<Vec<Hash>, sqlx::Error> {
    proof_hashes(scope, new, merkle::consistency_ranges(old, new)).await
}

/// The tree hashes of `ranges`, all within the first `size` entries,
/// after bringing the stored tree up to `size`.
async fn proof_hashes(scope: &Scope, size: u64, ranges: Vec<Range<u64>>) -> Result<Vec<Hash>, sqlx::Error> {
    loop {
        let mut tx = scope.begin_write().await?;
        let head = head_in(&mut tx).await?.map(|(seq, _)| seq as u64).unwrap_or(0);
        if size > head {
            tx.rollback().await?;
            return Err(sqlx::Error::Protocol(format!("the chain holds {head} entries, not {size}")));
        }
        // The stored tree is nearly always current (every checkpoint and
        // the minute signer extend it), so one transaction extends and
        // reads; only an upgraded log's first build takes several steps.
        let covered = extend_tree(&mut tx, scope.id(), size).await?;
        if covered + (1 << STORED_LEVEL) <= size {
            tx.commit().await?;
            continue;
        }
        let hashes = range_hashes(&mut tx, scope.id(), &ranges).await?;
        tx.commit().await?;
        return Ok(hashes);
    }
}

/// The tree hash of each of `ranges` (0-based leaves) from the nodes that
/// make it up, the stored ones read in one query: a proof at ten million
/// entries needs about fifty.
async fn range_hashes(tx: &mut Tx, chain: i64, ranges: &[Range<u64>]) -> Result<Vec<Hash>, sqlx::Error> {
    let parts: Vec<Vec<Node>> = ranges.iter().map(|r| merkle::nodes_of(r.clone())).collect();
    let wanted: Vec<Node> = parts.iter().flatten().copied().filter(|n| n.level >= STORED_LEVEL).collect();
    let stored = stored_nodes(tx, chain, &wanted).await?;
    let mut hashes = Vec::with_capacity(ranges.len());
    for nodes in parts {
        let mut node_hashes = Vec::with_capacity(nodes.len());
        for node in nodes {
            node_hashes.push(match stored.get(&node) {
                Some(hash) => *hash,
                None if node.level >= STORED_LEVEL => return Err(lacks(node)),
                None => node_from_entries(tx, chain, node).await?,
            });
        }
        hashes.push(merkle::fold(&node_hashes).unwrap_or_else(merkle::empty_root));
    }
    Ok(hashes)
}

/// The stored hashes of `nodes` (each from level 4 up), by node.
async fn stored_nodes(
    tx: &mut Tx,
    chain: i64,
    nodes: &[Node],
) -> Result<std::collections::HashMap<Node, Hash>, sqlx::Error> {
    let mut found = std::collections::HashMap::with_capacity(nodes.len());
    for chunk in nodes.chunks(100) {
        // Each term names the whole primary key, so every one is a lookup.
        let terms: Vec<String> = (0..chunk.len())
            .map(|i| format!("(agency_id = $1 AND level = ${} AND idx = ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = format!("SELECT level, idx, hash FROM audit_tree WHERE {}", terms.join(" OR "));
        let mut query = db::query_as::<(i64, i64, String)>(&sql).bind(chain);
        for node in chunk {
            query = query.bind(node.level).bind(node.index as i64);
        }
        for (level, index, hash) in query.fetch_all(&mut **tx).await? {
            found.insert(Node { level: level as u32, index: index as u64 }, decode_hash(&hash)?);
        }
    }
    Ok(found)
}

fn lacks(node: Node) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the tree lacks node {node:?}"))
}

/// One complete node: stored from level 4 up, else from its entries.
async fn node_hash(tx: &mut Tx, chain: i64, node: Node) -> Result<Hash, sqlx::Error> {
    if node.level >= STORED_LEVEL {
        let hash: Option<String> =
            db::query_scalar("SELECT hash FROM audit_tree WHERE agency_id = $1 AND level = $2 AND idx = $3")
                .bind(chain)
                .bind(node.level)
                .bind(node.index as i64)
                .fetch_optional(&mut **tx)
                .await?;
        let hash = hash.ok_or_else(|| lacks(node))?;
        return decode_hash(&hash);
    }
    node_from_entries(tx, chain, node).await
}

/// A node computed from the hashes of the entries under it.
async fn node_from_entries(tx: &mut Tx, chain: i64, node: Node) -> Result<Hash, sqlx::Error> {
    let leaves = node.leaves();
    let hashes: Vec<String> = db::query_scalar(
        "SELECT hash FROM audit_log WHERE agency_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
    )
    .bind(chain)
    .bind(leaves.start as i64)
    .bind(leaves.end as i64)
    .fetch_all(&mut **tx)
    .await?;
    if hashes.len() as u64 != leaves.end - leaves.start {
        return Err(sqlx::Error::Protocol(format!(
            "the chain lacks entries {}..{}",
            leaves.start + 1,
            leaves.end
        )));
    }
    let mut frontier = Frontier::default();
    for hash in &hashes {
        frontier.push(&decode_hash(hash)?, |_, _| {});
    }
    Ok(frontier.root())
}

fn decode_hash(text: &str) -> Result<Hash, sqlx::Error> {
    hex::decode(text)
        .ok()
        .and_then(|b| Hash::try_from(b.as_slice()).ok())
        .ok_or_else(|| sqlx::Error::Protocol(format!("{text:?} is not a SHA-256 hash")))
}

/// How many entries one transaction adds to the tree: a log of millions
/// of entries that has no tree yet (an upgraded install) gets it in steps,
/// so that writers never wait behind the whole of it.
const CATCH_UP_STEP: u64 = 100_000;

/// Brings the stored tree up to the chain's head, a step per transaction.
async fn catch_up(scope: &Scope) -> Result<(), sqlx::Error> {
    loop {
        let mut tx = scope.begin_write().await?;
        let head = head_in(&mut tx).await?.map(|(seq, _)| seq as u64).unwrap_or(0);
        let covered = extend_tree(&mut tx, scope.id(), head).await?;
        tx.commit().await?;
        if covered + (1 << STORED_LEVEL) > head {
            return Ok(());
        }
    }
}

/// Stores the tree's nodes from level 4 up for every complete block of
/// 16 among the first `size` entries (at most `CATCH_UP_STEP` more), and
/// says how many entries the stored tree then covers. The last stored block is checked against the
/// entries first: if the log was chained again since
/// (`remove_personal_digests`), the tree is rebuilt from the start.
async fn extend_tree(tx: &mut Tx, chain: i64, size: u64) -> Result<u64, sqlx::Error> {
    let block = 1u64 << STORED_LEVEL;
    // Blocks are stored in order from the first: the highest index, found
    // by the key (a COUNT would read all of them, a million at 10 M entries).
    let stored: i64 = db::query_scalar(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE agency_id = $1 AND level = $2",
    )
    .bind(chain)
    .bind(STORED_LEVEL)
    .fetch_one(&mut **tx)
    .await?;
    let mut covered = stored as u64 * block;
    if covered > 0 {
        let last = Node { level: STORED_LEVEL, index: covered / block - 1 };
        if node_hash(tx, chain, last).await? != node_from_entries(tx, chain, last).await? {
            tracing::warn!(chain, "the stored Merkle tree disagrees with the log; rebuilding it");
            db::query("DELETE FROM audit_tree WHERE agency_id = $1").bind(chain).execute(&mut **tx).await?;
            covered = 0;
        }
    }
    let target = size.min(covered + CATCH_UP_STEP) / block * block;
    if target <= covered {
        return Ok(covered);
    }
    let edge = merkle::nodes_of(0..covered);
    let mut resumed = Vec::with_capacity(edge.len());
    for node in edge {
        resumed.push((node, node_hash(tx, chain, node).await?));
    }
    let mut frontier = Frontier::resume(covered, resumed);
    let mut finished: Vec<(Node, Hash)> = Vec::new();
    while frontier.size() < target {
        let hashes: Vec<String> = db::query_scalar(
            "SELECT hash FROM audit_log WHERE agency_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
        )
        .bind(chain)
        .bind(frontier.size() as i64)
        .bind(target as i64)
        .bind(BATCH * 10)
        .fetch_all(&mut **tx)
        .await?;
        if hashes.is_empty() {
            return Err(sqlx::Error::Protocol(format!("the chain lacks entry {}", frontier.size() + 1)));
        }
        for hash in &hashes {
            frontier.push(&decode_hash(hash)?, |node, hash| {
                if node.level >= STORED_LEVEL {
                    finished.push((node, *hash));
                }
            });
        }
        insert_nodes(tx, chain, &finished).await?;
        finished.clear();
    }
    Ok(target)
}

async fn insert_nodes(tx: &mut Tx, chain: i64, nodes: &[(Node, Hash)]) -> Result<(), sqlx::Error> {
    for chunk in nodes.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
            .collect();
        let sql =
            format!("INSERT INTO audit_tree (agency_id, level, idx, hash) VALUES {}", values.join(", "));
        let mut query = db::query(&sql);
        for (node, hash) in chunk {
            query = query.bind(chain).bind(node.level).bind(node.index as i64).bind(hex::encode(hash));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Signs a checkpoint of every chain that grew, once a minute, for as long
/// as the server runs. A failure is logged and tried again next minute.
pub async fn sign_checkpoints_every_minute(db: Db, key: std::sync::Arc<SigningKey>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let chains = match crate::backup::chains(&db).await {
            Ok(chains) => chains,
            Err(err) => {
                tracing::warn!(%err, "could not list the audit chains to sign checkpoints");
                continue;
            }
        };
        for chain in chains {
            if let Err(err) = checkpoint(&Scope::of_agency(&db, chain), &key).await {
                tracing::warn!(chain, %err, "could not sign a checkpoint");
            }
        }
    }
}
