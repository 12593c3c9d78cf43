//! The audit log: every event docs/security.md lists, written in the same
//! transaction as the change it records, chained by SHA-256 so that any
//! altered, inserted or removed entry breaks the chain from that point on.
//!
//! hash(n) = SHA-256( hash(n-1) as hex || "\n" || canonical JSON of entry n )
//! with hash(0) = 64 zeros. The canonical JSON is the entry's fields in a
//! fixed order with `details` keys sorted; an export line carries the same
//! fields plus `prev_hash` and `hash`, so a file verifies offline.

pub mod checkpoint;
pub mod cli;
pub mod merkle;
pub mod proof;
pub mod routes;
pub mod store;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::CurrentUser;
use crate::db::{self, Db, Tx};

/// An audit chain's last sequence number as a request began. Every change
/// to an agency's records writes an entry in its chain in the same
/// transaction, so anything computed from them stays right while the head
/// has not moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The agency whose chain it is (`db::STATE_CHAIN` for the state's).
    pub chain: i64,
    pub seq: i64,
}

/// Values computed from an agency's records, each kept for as long as the
/// agency's audit head stays where it was when it was computed: the officer
/// roster and the districts behind every stop list, for example, which
/// would otherwise be read again for every page. One value per agency.
pub struct HeadCache<T> {
    value: std::sync::Mutex<std::collections::HashMap<i64, (Head, T)>>,
    /// Held while a value is computed, so that requests that miss together
    /// (every page after a write) compute it once; the others wait for it.
    flight: tokio::sync::Mutex<()>,
}

impl<T> Default for HeadCache<T> {
    fn default() -> Self {
        Self { value: std::sync::Mutex::new(Default::default()), flight: tokio::sync::Mutex::new(()) }
    }
}

impl<T: Clone> HeadCache<T> {
    /// The value at `head`, computed by `compute` unless already known.
    /// With no head (nobody signed in) nothing is kept.
    pub async fn get<E, F>(&self, head: Option<Head>, compute: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.at(head) {
            return Ok(value);
        }
        let _flight = match head {
            Some(_) => Some(self.flight.lock().await),
            None => None,
        };
        if let Some(value) = self.at(head) {
            return Ok(value);
        }
        // Read after the head was taken, so the value is at least as new
        // as the head it is filed under.
        let value = compute().await?;
        if let (Some(head), Ok(mut cached)) = (head, self.value.lock()) {
            cached.insert(head.chain, (head, value.clone()));
        }
        Ok(value)
    }

    fn at(&self, head: Option<Head>) -> Option<T> {
        let head = head?;
        let cached = self.value.lock().ok()?;
        cached.get(&head.chain).filter(|(at, _)| *at == head).map(|(_, value)| value.clone())
    }
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// The user's agency, whose chain records what they do outside any
    /// agency's write (sign-ins, exports); none for state users and the
    /// command line.
    pub agency: Option<i64>,
    pub username: String,
    pub roles: String,
    pub source: String,
}

impl Actor {
    pub fn user(user: &CurrentUser, source: &str) -> Self {
        Self {
            user_id: Some(user.id),
            agency: user.agency,
            username: user.username.clone(),
            roles: user.role_list(),
            source: source.to_string(),
        }
    }

    /// The command line, or the demo seeder: no signed-in user.
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            agency: None,
            username: what.to_string(),
            roles: String::new(),
            source: "local".to_string(),
        }
    }

    /// Someone who has not signed in (or is trying to).
    pub fn anonymous(username: &str, source: &str) -> Self {
        Self {
            user_id: None,
            agency: None,
            username: username.to_string(),
            roles: String::new(),
            source: source.to_string(),
        }
    }

    /// The actor of a request: its signed-in user (if any) and peer address.
    pub fn from_parts(parts: &Parts) -> Self {
        let source = source_address(parts);
        match parts.extensions.get::<CurrentUser>() {
            Some(user) => Actor::user(user, &source),
            None => Actor::anonymous("", &source),
        }
    }
}

/// The peer's IP address (no port: it identifies a device, not a socket).
pub fn source_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// What happened, to which object. `details` holds before/after values for
/// edits; never passwords, tokens or session ids.
#[derive(Clone, Debug)]
pub struct Event {
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub outcome: Outcome,
    pub details: serde_json::Value,
}

impl Event {
    pub fn new(action: &str, object_kind: &str, object_id: impl ToString) -> Self {
        Self {
            action: action.to_string(),
            object_kind: object_kind.to_string(),
            object_id: object_id.to_string(),
            outcome: Outcome::Success,
            details: serde_json::json!({}),
        }
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    /// Details of an edit: the fields that changed, before and after.
    pub fn changes<T: Serialize>(self, before: &T, after: &T) -> Self {
        let details = changed_fields(before, after);
        self.details(details)
    }

    /// The entry of a save that creates or updates: "<prefix>.create" with
    /// the record, or "<prefix>.update" with the fields that changed.
    pub fn saved<T: Serialize>(
        prefix: &str,
        object_kind: &str,
        id: i64,
        before: Option<&T>,
        after: &T,
    ) -> Self {
        match before {
            Some(before) => Event::new(&format!("{prefix}.update"), object_kind, id).changes(before, after),
            None => Event::new(&format!("{prefix}.create"), object_kind, id)
                .details(serde_json::json!({ "after": after })),
        }
    }
}

/// `{"before": {...}, "after": {...}}` holding only the fields that differ.
pub fn changed_fields<T: Serialize>(before: &T, after: &T) -> serde_json::Value {
    let before = serde_json::to_value(before).unwrap_or_default();
    let after = serde_json::to_value(after).unwrap_or_default();
    let (mut b, mut a) = (serde_json::Map::new(), serde_json::Map::new());
    if let (Some(bo), Some(ao)) = (before.as_object(), after.as_object()) {
        for (key, new) in ao {
            let old = bo.get(key).cloned().unwrap_or(serde_json::Value::Null);
            if &old != new {
                b.insert(key.clone(), old);
                a.insert(key.clone(), new.clone());
            }
        }
    }
    serde_json::json!({ "before": b, "after": a })
}

/// One entry as stored and exported.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub at_us: i64,
    pub user_id: Option<i64>,
    pub username: String,
    pub roles: String,
    pub source: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub outcome: String,
    #[sqlx(try_from = "JsonText")]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A JSON document stored as text. Read as text on either backend, then
/// parsed: sqlx's `json` attribute reads only PostgreSQL's JSON types,
/// and the column is TEXT on both (its bytes are what the chain hashes).
pub struct JsonText(String);

impl<DB: sqlx::Database> sqlx::Type<DB> for JsonText
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for JsonText
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(JsonText(<String as sqlx::Decode<'r, DB>>::decode(value)?))
    }
}

impl TryFrom<JsonText> for serde_json::Value {
    type Error = serde_json::Error;
    fn try_from(text: JsonText) -> Result<Self, Self::Error> {
        serde_json::from_str(&text.0)
    }
}

/// The hashed part of an entry, in its fixed field order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at_us: i64,
    user_id: Option<i64>,
    username: &'a str,
    roles: &'a str,
    source: &'a str,
    action: &'a str,
    object_kind: &'a str,
    object_id: &'a str,
    outcome: &'a str,
    details: &'a serde_json::Value,
}

impl Entry {
    fn canonical(&self) -> String {
        let c = Canonical {
            seq: self.seq,
            at_us: self.at_us,
            user_id: self.user_id,
            username: &self.username,
            roles: &self.roles,
            source: &self.source,
            action: &self.action,
            object_kind: &self.object_kind,
            object_id: &self.object_id,
            outcome: &self.outcome,
            details: &self.details,
        };
        // serde_json's map keeps keys sorted (no preserve_order feature), so
        // equal details always encode to the same bytes.
        serde_json::to_string(&c).unwrap_or_default()
    }

    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.canonical().as_bytes());
        hex::encode(hasher.finalize())
    }

    pub fn time_utc(&self) -> String {
        let format = time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:2] UTC"
        );
        time::OffsetDateTime::from_unix_timestamp_nanos(self.at_us as i128 * 1000)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_default()
    }

    /// The details as short lines for people: "field: before → after"
    /// for edits, "field: value" otherwise. Codes read as their labels
    /// ("Search of person", not ",search_person,"), and personal data that
    /// the entry only commits to reads "withheld", never as a digest.
    pub fn detail_lines(&self) -> Vec<String> {
        let show = |key: &str, v: &serde_json::Value| match v {
            serde_json::Value::Null => "(empty)".to_string(),
            serde_json::Value::String(s) if s.is_empty() => "(empty)".to_string(),
            _ if is_withheld(v) => "withheld".to_string(),
            serde_json::Value::String(s) => match choices_of(&self.object_kind, key) {
                Some(choices) if s.starts_with(',') => crate::stops::unpack(s)
                    .iter()
                    .map(|c| crate::stops::label(choices, c))
                    .collect::<Vec<_>>()
                    .join(", "),
                Some(choices) => crate::stops::label(choices, s),
                None => s.clone(),
            },
            other => other.to_string(),
        };
        let Some(map) = self.details.as_object() else { return vec![show("", &self.details)] };
        let before = map.get("before").and_then(|v| v.as_object());
        let after = map.get("after").and_then(|v| v.as_object());
        let mut lines = Vec::new();
        match (before, after) {
            (Some(b), Some(a)) => {
                for (key, new) in a {
                    let old = b.get(key).unwrap_or(&serde_json::Value::Null);
                    if is_withheld(new) || is_withheld(old) {
                        lines.push(format!("{key}: changed (withheld)"));
                    } else {
                        lines.push(format!("{key}: {} → {}", show(key, old), show(key, new)));
                    }
                }
            }
            (None, Some(a)) => lines.extend(a.iter().map(|(k, v)| format!("{k}: {}", show(k, v)))),
            _ => {}
        }
        for (key, value) in map.iter().filter(|(k, _)| *k != "before" && *k != "after") {
            lines.push(format!("{key}: {}", show(key, value)));
        }
        lines
    }
}

/// A personal value the entry only commits to: `{"withheld": commitment}`
/// (docs/security.md), or the plain digest earlier versions wrote.
fn is_withheld(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => map.contains_key("withheld"),
        serde_json::Value::String(s) => s.starts_with("withheld, sha256 "),
        _ => false,
    }
}

/// The list of codes a field of a record kind takes its values from.
fn choices_of(object_kind: &str, field: &str) -> Option<crate::web::record_form::Choices> {
    match object_kind {
        "stop" => crate::stops::choices_of(field),
        "arrest" => crate::arrests::choices_of(field),
        _ => None,
    }
}

/// Appends an entry inside the caller's write transaction, to the chain of
/// the transaction's agency (`Scope::begin_write`), else of the actor's,
/// else the deployment's (`deployment_chain`). On PostgreSQL the chain's
/// lock is taken here too, so that an entry is never appended beside
/// another writer of the same chain.
pub async fn record(tx: &mut Tx, actor: &Actor, event: Event) -> Result<Entry, sqlx::Error> {
    let chain = match tx.agency_if_any().or(actor.agency) {
        Some(agency) => agency,
        None => deployment_chain(tx).await?,
    };
    if let Some(conn) = tx.postgres() {
        db::lock_chain(conn, chain).await?;
    }
    let head: Option<(i64, String)> =
        db::query_as("SELECT seq, hash FROM audit_log WHERE agency_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(chain)
            .fetch_optional(&mut **tx)
            .await?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
    let at_us = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    let mut entry = Entry {
        seq: prev_seq + 1,
        at_us,
        user_id: actor.user_id,
        username: actor.username.clone(),
        roles: actor.roles.clone(),
        source: actor.source.clone(),
        action: event.action,
        object_kind: event.object_kind,
        object_id: event.object_id,
        outcome: event.outcome.as_str().to_string(),
        details: event.details,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    db::query(
        "INSERT INTO audit_log (seq, at_us, user_id, username, roles, source, action, object_kind, \
         object_id, outcome, details, prev_hash, hash, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(entry.seq)
    .bind(entry.at_us)
    .bind(entry.user_id)
    .bind(&entry.username)
    .bind(&entry.roles)
    .bind(&entry.source)
    .bind(&entry.action)
    .bind(&entry.object_kind)
    .bind(&entry.object_id)
    .bind(&entry.outcome)
    .bind(entry.details.to_string())
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(chain)
    .execute(&mut **tx)
    .await?;
    Ok(entry)
}

/// The chain of what happens to no agency in particular (a sign-in under a
/// name nobody holds, a state user's own account): in a deployment of one
/// agency that agency's, so its auditors see everything as before; in a
/// deployment of several, the state's.
async fn deployment_chain(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    let ids: Vec<i64> =
        db::query_scalar("SELECT id FROM agency ORDER BY id LIMIT 2").fetch_all(&mut **tx).await?;
    Ok(match ids.as_slice() {
        [one] => *one,
        _ => db::STATE_CHAIN,
    })
}

/// Records an event that has no other write with it (sign-in failures,
/// denials, exports) in its own transaction.
pub async fn record_alone(db: &Db, actor: &Actor, event: Event) -> Result<Entry, sqlx::Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let entry = record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(entry)
}

/// Records an event of one agency that has no other write with it (an
/// export from the command line) in its own transaction, in the agency's
/// chain.
pub async fn record_in(
    scope: &crate::agency::Scope,
    actor: &Actor,
    event: Event,
) -> Result<Entry, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let entry = record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(entry)
}

/// The result of checking a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry verifies. `expected` is where the chain reached the
    /// head the checker said they hold, when they gave one.
    Intact {
        entries: u64,
        head: String,
        expected: Option<Reached>,
    },
    Broken {
        seq: i64,
        position: u64,
        reason: String,
    },
    /// Every entry verifies, but the chain never reaches the head the
    /// checker holds: its tail was cut off, or the head is from another log.
    Unreached {
        entries: u64,
        head: String,
        expected: String,
    },
}

/// Where a held head was found in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    pub head: String,
    pub seq: i64,
    /// The entry had that hash before the log was chained again to remove
    /// plain digests of personal data (`store::remove_personal_digests`).
    pub replaced: bool,
}

impl Verdict {
    pub fn message(&self) -> String {
        match self {
            Verdict::Intact { entries, head, expected: None } => format!(
                "OK {entries} entries, head {head}: compare {head} with a head you hold, such as the one printed \
                 on a report (a file alone cannot show that entries were cut from its end)"
            ),
            Verdict::Intact { entries, head, expected: Some(r) } => format!(
                "OK {entries} entries, head {head}; the log reaches the head you hold, {}, at entry seq {}{}",
                r.head,
                r.seq,
                if r.replaced {
                    " (the hash that entry had before plain digests of personal data were removed from the log)"
                } else {
                    ""
                }
            ),
            Verdict::Broken { seq, position, reason } => {
                format!("FAILED at entry seq {seq} (entry {position} of the log): {reason}")
            }
            Verdict::Unreached { entries, head, expected } => format!(
                "NOT REACHED: the {entries} entries verify, up to head {head}, but the log never reaches {expected}: \
                 entries after it were removed, or {expected} is not from this log"
            ),
        }
    }
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Intact { .. })
    }
}

/// Checks entries in order; the first one that does not verify is named.
pub struct Verifier {
    count: u64,
    prev_seq: i64,
    prev_hash: String,
    broken: Option<Verdict>,
    expect: Option<String>,
    reached: Option<Reached>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::expecting(None)
    }
}

impl Verifier {
    /// A verifier that also looks for `head`, a hash the checker holds.
    pub fn expecting(head: Option<&str>) -> Self {
        Self {
            count: 0,
            prev_seq: 0,
            prev_hash: GENESIS.to_string(),
            broken: None,
            expect: head.map(|h| h.trim().to_ascii_lowercase()),
            reached: None,
        }
    }

    /// Feeds the next entry; returns false once the chain is broken.
    pub fn push(&mut self, entry: &Entry) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.count += 1;
        let reason = if entry.seq != self.prev_seq + 1 {
            Some(format!(
                "sequence number {} follows {} (an entry is missing or inserted)",
                entry.seq, self.prev_seq
            ))
        } else if entry.prev_hash != self.prev_hash {
            Some("its previous-hash does not match the entry before it".to_string())
        } else if entry.compute_hash() != entry.hash {
            Some("its content does not match its hash (the entry was altered)".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            self.broken = Some(Verdict::Broken { seq: entry.seq, position: self.count, reason });
            return false;
        }
        if let (Some(expect), None) = (&self.expect, &self.reached) {
            // An entry chained again keeps its earlier hash in its details,
            // under its own (verified) hash.
            let replaced =
                entry.details.get("replaced_hash").and_then(|v| v.as_str()) == Some(expect.as_str());
            if entry.hash == *expect || replaced {
                self.reached =
                    Some(Reached { head: expect.clone(), seq: entry.seq, replaced: entry.hash != *expect });
            }
        }
        self.prev_seq = entry.seq;
        self.prev_hash = entry.hash.clone();
        true
    }

    /// Records a line that could not be read as an entry at all.
    pub fn unreadable(&mut self, line: u64, why: &str) {
        if self.broken.is_none() {
            self.broken = Some(Verdict::Broken {
                seq: self.prev_seq + 1,
                position: line,
                reason: format!("line {line} is not a readable entry: {why}"),
            });
        }
    }

    pub fn finish(self) -> Verdict {
        if let Some(broken) = self.broken {
            return broken;
        }
        match (self.expect, self.reached) {
            (Some(expected), None) => {
                Verdict::Unreached { entries: self.count, head: self.prev_hash, expected }
            }
            (_, reached) => Verdict::Intact { entries: self.count, head: self.prev_hash, expected: reached },
        }
    }
}

/// Verifies a JSON Lines export.
pub fn verify_jsonl(reader: impl std::io::BufRead) -> Verdict {
    verify_jsonl_expecting(reader, None)
}

/// Verifies a JSON Lines export and that it reaches `head`, if given.
pub fn verify_jsonl_expecting(reader: impl std::io::BufRead, head: Option<&str>) -> Verdict {
    let mut verifier = Verifier::expecting(head);
    for (index, line) in reader.lines().enumerate() {
        let number = index as u64 + 1;
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                verifier.unreadable(number, &err.to_string());
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(entry) => {
                if !verifier.push(&entry) {
                    break;
                }
            }
            Err(err) => {
                verifier.unreadable(number, &err.to_string());
                break;
            }
        }
    }
    verifier.finish()
}

/// Handlers take the actor of their request directly.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Actor::from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn simultaneous_misses_compute_once() {
        let cache = std::sync::Arc::new(super::HeadCache::<u32>::default());
        let computed = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, computed) = (cache.clone(), computed.clone());
                tokio::spawn(async move {
                    cache
                        .get(Some(super::Head { chain: 1, seq: 3 }), || async {
                            computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok::<_, ()>(7)
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(7));
        }
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1, "sixteen misses, one computation");
    }

    #[tokio::test]
    async fn a_head_cache_recomputes_only_when_the_head_moves() {
        let cache = super::HeadCache::<u32>::default();
        let computed = std::cell::Cell::new(0);
        let get = |head: Option<(i64, i64)>| {
            let computed = &computed;
            let cache = &cache;
            async move {
                cache
                    .get(head.map(|(chain, seq)| super::Head { chain, seq }), || async {
                        computed.set(computed.get() + 1);
                        Ok::<_, ()>(computed.get() * 10)
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(get(Some((1, 7))).await, 10);
        assert_eq!(get(Some((1, 7))).await, 10, "same head: kept");
        assert_eq!(get(Some((1, 8))).await, 20, "the head moved: computed again");
        assert_eq!(get(None).await, 30, "no head: computed, not kept");
        assert_eq!(get(Some((1, 8))).await, 20);
        assert_eq!(get(Some((2, 8))).await, 40, "another agency's chain at the same number: its own value");
        assert_eq!(get(Some((1, 8))).await, 20, "each agency keeps its own");
        assert_eq!(get(Some((2, 8))).await, 40);
        assert_eq!(computed.get(), 4);
    }

    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = Entry {
                    seq,
                    at_us: 1_700_000_000_000_000 + seq,
                    user_id: Some(1),
                    username: "clerk".into(),
                    roles: "clerk".into(),
                    source: "127.0.0.1".into(),
                    action: "officer.create".into(),
                    object_kind: "officer".into(),
                    object_id: seq.to_string(),
                    outcome: "success".into(),
                    details: serde_json::json!({"z": 1, "a": "Nguyễn"}),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[Entry]) -> Verdict {
        let text: String = entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
        verify_jsonl(text.as_bytes())
    }

    #[test]
    fn intact_chain_verifies_with_its_head() {
        let entries = chain(5);
        assert_eq!(
            verify(&entries),
            Verdict::Intact { entries: 5, head: entries[4].hash.clone(), expected: None }
        );
    }

    fn text(entries: &[Entry]) -> String {
        entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect()
    }

    #[test]
    fn a_cut_tail_is_found_against_a_held_head() {
        let entries = chain(8);
        let held = entries[7].hash.clone();
        let cut = &entries[..3];
        let verdict = verify_jsonl_expecting(text(cut).as_bytes(), Some(&held));
        assert!(matches!(&verdict, Verdict::Unreached { entries: 3, expected, .. } if *expected == held));
        assert!(verdict.message().starts_with("NOT REACHED"), "{}", verdict.message());
        assert!(verify(cut).message().contains("compare"), "without a held head the message says what to do");
        let whole = verify_jsonl_expecting(text(&entries).as_bytes(), Some(&entries[4].hash.to_uppercase()));
        assert!(matches!(
            whole,
            Verdict::Intact { expected: Some(Reached { seq: 5, replaced: false, .. }), .. }
        ));
    }

    #[test]
    fn a_head_from_before_a_rewrite_is_recognised() {
        let mut entries = chain(3);
        let old = entries[2].hash.clone();
        entries[2].details = serde_json::json!({"replaced_hash": old});
        entries[2].hash = entries[2].compute_hash();
        let verdict = verify_jsonl_expecting(text(&entries).as_bytes(), Some(&old));
        assert!(matches!(
            verdict,
            Verdict::Intact { expected: Some(Reached { seq: 3, replaced: true, .. }), .. }
        ));
    }

    #[test]
    fn altered_entry_is_named() {
        let mut entries = chain(5);
        entries[2].details = serde_json::json!({"z": 2, "a": "Nguyễn"});
        assert!(matches!(verify(&entries), Verdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn removed_entry_is_named() {
        let mut entries = chain(5);
        entries.remove(1);
        assert!(matches!(verify(&entries), Verdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn rehashed_entry_breaks_the_next_link() {
        let mut entries = chain(5);
        entries[1].username = "someone-else".into();
        entries[1].hash = entries[1].compute_hash();
        assert!(matches!(verify(&entries), Verdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn key_order_of_details_does_not_matter() {
        let mut a = chain(1).remove(0);
        let b_details: serde_json::Value = serde_json::from_str(r#"{"a":"Nguyễn","z":1}"#).unwrap();
        a.details = b_details;
        assert_eq!(a.compute_hash(), chain(1)[0].hash);
    }

    #[test]
    fn detail_lines_read_as_changes() {
        let mut e = chain(1).remove(0);
        e.details = serde_json::json!({"before": {"status": "active"}, "after": {"status": "on_leave"}, "via": "web"});
        assert_eq!(e.detail_lines(), vec!["status: active → on_leave", "via: web"]);
    }

    #[test]
    fn detail_lines_show_labels_and_withhold_personal_data() {
        let mut e = chain(1).remove(0);
        e.object_kind = "stop".into();
        e.details = serde_json::json!({
            "before": {"actions": ",frisk,", "stop_type": "vehicle"},
            "after": {"actions": ",frisk,search_person,", "stop_type": "pedestrian"},
        });
        assert_eq!(
            e.detail_lines(),
            vec![
                "actions: Frisk (pat-down) → Frisk (pat-down), Search of person",
                "stop_type: Vehicle → Pedestrian"
            ]
        );
        e.object_kind = "arrest".into();
        e.details = serde_json::json!({
            "before": {"person_dob": {"withheld": "ab12"}, "priority_level": "3"},
            "after": {"person_dob": {"withheld": "cd34"}, "priority_level": "1"},
        });
        let lines = e.detail_lines();
        assert_eq!(
            lines,
            vec![
                "person_dob: changed (withheld)",
                "priority_level: Level 3: other offenses → Level 1: major drug offenses or violent crimes"
            ]
        );
        e.details = serde_json::json!({"after": {"person_name": {"withheld": "ab12"}}});
        assert_eq!(e.detail_lines(), vec!["person_name: withheld"]);
    }

    #[test]
    fn changed_fields_keeps_only_differences() {
        #[derive(Serialize)]
        struct O {
            a: i32,
            b: &'static str,
        }
        let d = changed_fields(&O { a: 1, b: "x" }, &O { a: 1, b: "y" });
        assert_eq!(d, serde_json::json!({"before": {"b": "x"}, "after": {"b": "y"}}));
    }
}
