//! Queries on sign-offs. A decision is written with its audit entry in one
//! transaction, after checking, under the write lock, that the reviewer is
//! not reviewing their own action, that the record still hashes to what
//! they saw, and that nobody decided on it since.

use std::collections::HashMap;

use serde_json::json;

use super::{
    Decision, Item, RecordKind, SignOff, State, action_instant, arrest_fingerprint, self_review,
    stop_fingerprint,
};
use crate::agency::Scope;
use crate::arrests::Arrest;
use crate::audit::{self, Actor, Event, Outcome};
use crate::db::{self, Db, is_unique_violation, now_unix};
use crate::officers::{Officer, label_of};
use crate::stops::Stop;

const COLUMNS: &str = "id, record_kind, record_id, supersedes, decision, comment, reviewer_id, reviewer_name, \
     reviewer_kind, signed_at, action_at, record_hash, form";

/// Audit action of a refused attempt to review one's own action (S5).
pub const SELF_REVIEW_ACTION: &str = "sign_off.self_review";

/// The record under review, whichever kind it is.
#[derive(Clone, Debug)]
pub enum Record {
    Stop(Stop),
    Arrest(Arrest),
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Stop(_) => RecordKind::Stop,
            Record::Arrest(_) => RecordKind::Arrest,
        }
    }
    pub fn id(&self) -> i64 {
        match self {
            Record::Stop(s) => s.id,
            Record::Arrest(a) => a.id,
        }
    }
    /// The fingerprint a sign-off made now records.
    pub fn fingerprint(&self) -> String {
        self.fingerprint_in(self.kind().form()).unwrap_or_default()
    }
    /// The fingerprint in a given form: an older sign-off is checked in
    /// the form it was made in (docs/fingerprints.md).
    pub fn fingerprint_in(&self, form: &str) -> Option<String> {
        match self {
            Record::Stop(s) => stop_fingerprint(s, form),
            Record::Arrest(a) => arrest_fingerprint(a, form),
        }
    }
    /// The fingerprint in every form there is.
    pub fn fingerprints(&self) -> Vec<String> {
        ["v1", "v2"].iter().filter_map(|form| self.fingerprint_in(form)).collect()
    }
    /// Whether the record still stands as it did when `s` was decided.
    pub fn matches(&self, s: &SignOff) -> bool {
        self.fingerprint_in(&s.form).is_some_and(|hash| hash == s.record_hash)
    }
    pub fn officer_id(&self) -> Option<i64> {
        match self {
            Record::Stop(s) => s.officer_id,
            Record::Arrest(a) => a.officer_id,
        }
    }
    pub fn is_action(&self) -> bool {
        match self {
            Record::Stop(s) => s.needs_sign_off(),
            Record::Arrest(a) => a.action_287g(),
        }
    }
    pub fn date(&self) -> &str {
        match self {
            Record::Stop(s) => &s.stop_date,
            Record::Arrest(a) => &a.arrest_date,
        }
    }
    pub fn time(&self) -> Option<&str> {
        match self {
            Record::Stop(s) => s.stop_time.as_deref(),
            Record::Arrest(a) => Some(&a.arrest_time),
        }
    }
    pub fn exception(&self) -> &str {
        match self {
            Record::Stop(s) => &s.exception,
            Record::Arrest(a) => &a.exception,
        }
    }
}

/// A record of the scope's agency, from the pool or inside a caller's
/// transaction; another agency's is not found.
pub async fn load<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
    kind: RecordKind,
    id: i64,
) -> Result<Record, sqlx::Error> {
    Ok(match kind {
        RecordKind::Stop => Record::Stop(crate::stops::store::get(db, scope, id).await?),
        RecordKind::Arrest => Record::Arrest(crate::arrests::store::get(db, scope, id).await?),
    })
}

/// What a record's page shows of its sign-offs: nothing for a record that
/// is not a 287(g) action and never was.
pub async fn view(
    scope: &Scope,
    record: &Record,
    can_review: bool,
) -> Result<Option<super::RecordView>, sqlx::Error> {
    let sign_offs = for_record(scope, record.kind(), record.id()).await?;
    if !record.is_action() && sign_offs.is_empty() {
        return Ok(None);
    }
    let hash = record.fingerprint();
    let latest = sign_offs.last();
    let state = State::of(latest, latest.is_none_or(|s| record.matches(s)));
    Ok(Some(super::RecordView {
        hashes: record.fingerprints(),
        can_review: can_review && record.is_action() && state.awaits_supervisor(),
        review_path: format!("/supervision/review/{}/{}", record.kind().as_str(), record.id()),
        sign_offs,
        hash,
        state,
    }))
}

/// Every sign-off of the agency, in id order (the report's data fingerprint).
pub async fn all(scope: &Scope) -> Result<Vec<SignOff>, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM sign_offs WHERE agency_id = $1 ORDER BY id"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

/// Arrest sign-offs made in form `arrest/v1`, whose fingerprints cover the
/// person's name and date of birth as they are. Only agency 1's: form v1
/// was retired before agencies were tenants, so every such sign-off is
/// legacy data, which migration 0018 gave to agency 1 (its audit entries
/// are in agency 1's chain, the one `audit::store::remove_personal_digests`
/// rewrites). Takes the database, not a scope: it runs at every start
/// (`db::upgrade`), before anyone names an agency.
pub async fn v1_arrest_sign_offs(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    db::query_scalar(
        "SELECT id FROM sign_offs WHERE record_kind = 'arrest' AND form = 'v1' AND agency_id = 1 ORDER BY id",
    )
    .fetch_all(db)
    .await
}

/// The agency's arrests with a sign-off in form `arrest/v1` (legacy data:
/// its fingerprint covers the name and date of birth themselves, so a
/// purge of them would show the record as changed since the sign-off).
pub async fn arrests_signed_in_v1(scope: &Scope) -> Result<Vec<i64>, sqlx::Error> {
    db::query_scalar(
        "SELECT DISTINCT record_id FROM sign_offs WHERE agency_id = $1 AND record_kind = 'arrest' AND form = 'v1'",
    )
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Days an action may wait before it is overdue (agency setting).
pub async fn deadline_days(scope: &Scope) -> Result<i64, sqlx::Error> {
    crate::agency::store::sign_off_days(scope).await
}

/// Who signs: the account, how they sign, and the officer they are.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Reviewer {
    pub id: i64,
    pub display_name: String,
    pub supervisor_kind: String,
    pub officer_id: Option<i64>,
}

/// A reviewer of the scope's agency; another agency's user is not found.
pub async fn reviewer(scope: &Scope, user_id: i64) -> Result<Reviewer, sqlx::Error> {
    db::query_as(
        "SELECT id, display_name, supervisor_kind, officer_id FROM users WHERE id = $1 AND agency_id = $2",
    )
    .bind(user_id)
    .bind(scope.id())
    .fetch_one(scope)
    .await
}

/// Every decision on one record, oldest first.
pub async fn for_record(scope: &Scope, kind: RecordKind, id: i64) -> Result<Vec<SignOff>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM sign_offs WHERE record_kind = $1 AND record_id = $2 AND agency_id = $3 \
         ORDER BY id"
    ))
    .bind(kind.as_str())
    .bind(id)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Decisions signed in [start, end), oldest first.
pub async fn signed_between(scope: &Scope, start: i64, end: i64) -> Result<Vec<SignOff>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM sign_offs WHERE signed_at >= $1 AND signed_at < $2 AND agency_id = $3 \
         ORDER BY signed_at, id"
    ))
    .bind(start)
    .bind(end)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// When refused self-review attempts happened in [start, end) (S5).
pub async fn blocked_between(scope: &Scope, start: i64, end: i64) -> Result<Vec<i64>, sqlx::Error> {
    let at_us: Vec<i64> = db::query_scalar(
        "SELECT at_us FROM audit_log WHERE action = $1 AND at_us >= $2 AND at_us < $3 AND agency_id = $4",
    )
    .bind(SELF_REVIEW_ACTION)
    .bind(start * 1_000_000)
    .bind(end * 1_000_000)
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(at_us.into_iter().map(|t| t / 1_000_000).collect())
}

async fn latest_decisions(scope: &Scope) -> Result<HashMap<(String, i64), SignOff>, sqlx::Error> {
    let rows: Vec<SignOff> = db::query_as(&format!(
        "SELECT {COLUMNS} FROM sign_offs WHERE agency_id = $1 AND id IN \
         (SELECT MAX(id) FROM sign_offs WHERE agency_id = $1 GROUP BY record_kind, record_id)"
    ))
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(rows.into_iter().map(|s| ((s.record_kind.clone(), s.record_id), s)).collect())
}

/// How many of the agency's records wait for a clerk's correction, without
/// reading every 287(g) action (this runs on each page a clerk opens).
pub async fn returned_count(scope: &Scope) -> Result<usize, sqlx::Error> {
    let mut count = 0;
    for s in latest_decisions(scope).await?.values().filter(|s| s.decision() == Decision::Returned) {
        let Some(kind) = RecordKind::parse(&s.record_kind) else { continue };
        let table = match kind {
            RecordKind::Stop => "stops",
            RecordKind::Arrest => "arrests",
        };
        let updated_at: i64 =
            db::query_scalar(&format!("SELECT updated_at FROM {table} WHERE id = $1 AND agency_id = $2"))
                .bind(s.record_id)
                .bind(scope.id())
                .fetch_one(scope)
                .await?;
        if updated_at < s.signed_at || load(scope, scope, kind, s.record_id).await?.matches(s) {
            count += 1;
        }
    }
    Ok(count)
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: i64,
    day: String,
    at: Option<String>,
    officer_id: Option<i64>,
    updated_at: i64,
    exception: String,
    what: String,
}

/// The actions whose record no longer matches its latest decision. Only a
/// record saved at or after that decision can differ from what was signed;
/// those are read at once per kind (one read a record made a review queue
/// of thousands of actions as many statements).
async fn changed_since_signed(
    scope: &Scope,
    latest: &HashMap<(String, i64), SignOff>,
    stops: &[ActionRow],
    arrests: &[ActionRow],
) -> Result<std::collections::HashSet<(RecordKind, i64)>, sqlx::Error> {
    let saved_after = |kind: RecordKind, rows: &[ActionRow]| -> Vec<i64> {
        rows.iter()
            .filter(|r| {
                latest.get(&(kind.as_str().to_string(), r.id)).is_some_and(|s| r.updated_at >= s.signed_at)
            })
            .map(|r| r.id)
            .collect()
    };
    let mut records: Vec<Record> = Vec::new();
    let stop_ids = saved_after(RecordKind::Stop, stops);
    if !stop_ids.is_empty() {
        records.extend(crate::stops::store::get_many(scope, &stop_ids).await?.into_iter().map(Record::Stop));
    }
    let arrest_ids = saved_after(RecordKind::Arrest, arrests);
    if !arrest_ids.is_empty() {
        records.extend(
            crate::arrests::store::get_many(scope, &arrest_ids).await?.into_iter().map(Record::Arrest),
        );
    }
    Ok(records
        .iter()
        .filter(|r| latest.get(&(r.kind().as_str().to_string(), r.id())).is_some_and(|s| !r.matches(s)))
        .map(|r| (r.kind(), r.id()))
        .collect())
}

/// The rows of one of `items_dated`'s statements, the days bound when given.
async fn action_rows(
    scope: &Scope,
    sql: &str,
    days: Option<(&str, &str)>,
) -> Result<Vec<ActionRow>, sqlx::Error> {
    let mut q = db::query_as::<ActionRow>(sql).bind(scope.id());
    if let Some((from, to)) = days {
        q = q.bind(from).bind(to);
    }
    q.fetch_all(scope).await
}

/// Every 287(g) action with where it stands, oldest first. A record is
/// hashed only when it was saved at or after its latest decision; before
/// that it cannot differ from what was signed.
pub async fn items(scope: &Scope, officers: &[Officer], time_zone: &str) -> Result<Vec<Item>, sqlx::Error> {
    items_dated(scope, officers, time_zone, None).await
}

/// The 287(g) actions dated from `days.0` to `days.1` (YYYY-MM-DD, both
/// included), or every one without `days`, as `items` gives them. The
/// measures of a period need only the period's and the one before it:
/// reading every action of every year for each sheet grew with the
/// agency's history, not with the answer.
pub async fn items_dated(
    scope: &Scope,
    officers: &[Officer],
    time_zone: &str,
    days: Option<(&str, &str)>,
) -> Result<Vec<Item>, sqlx::Error> {
    let latest = latest_decisions(scope).await?;
    let dated = |column: &str| match days {
        Some(_) => format!(" AND {column} >= $2 AND {column} <= $3"),
        None => String::new(),
    };
    let stops_sql = format!(
        "SELECT id, stop_date AS day, stop_time AS at, officer_id, updated_at, exception, \
         'Stop with a 287(g) action' AS what FROM stops WHERE action_287g = 1 AND agency_id = $1{}",
        dated("stop_date")
    );
    let arrests_sql = format!(
        "SELECT id, arrest_date AS day, arrest_time AS at, officer_id, updated_at, exception, \
         'Arrest: ' || TRIM(CASE WHEN detainer_lodged = 1 THEN 'detainer lodged; ' ELSE '' END \
         || CASE WHEN removal_paperwork = 1 THEN 'removal paperwork; ' ELSE '' END \
         || CASE WHEN warrant_served = 1 THEN 'ICE warrant served; ' ELSE '' END, '; ') AS what \
         FROM arrests WHERE (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1) \
         AND agency_id = $1{}",
        dated("arrest_date")
    );
    let stops = action_rows(scope, &stops_sql, days).await?;
    let arrests = action_rows(scope, &arrests_sql, days).await?;
    let changed = changed_since_signed(scope, &latest, &stops, &arrests).await?;
    let mut items = Vec::with_capacity(stops.len() + arrests.len());
    for (kind, rows) in [(RecordKind::Stop, stops), (RecordKind::Arrest, arrests)] {
        for row in rows {
            let last = latest.get(&(kind.as_str().to_string(), row.id)).cloned();
            let unchanged = !changed.contains(&(kind, row.id));
            items.push(Item {
                kind,
                id: row.id,
                action_at: action_instant(&row.day, row.at.as_deref(), time_zone),
                action_time: row.at.unwrap_or_default(),
                action_date: row.day,
                officer_id: row.officer_id,
                officer: label_of(officers, row.officer_id),
                what: row.what,
                exception: row.exception,
                state: State::of(last.as_ref(), unchanged),
                latest: last,
            });
        }
    }
    items.sort_by_key(|i| (i.action_at, i.kind, i.id));
    Ok(items)
}

/// The users who created or edited a record (from its audit entries, in
/// its agency's chain).
async fn authors(
    conn: &mut crate::db::Conn,
    scope: &Scope,
    kind: RecordKind,
    id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    db::query_scalar(
        "SELECT DISTINCT user_id FROM audit_log WHERE object_kind = $1 AND object_id = $2 \
         AND action IN ($3, $4) AND user_id IS NOT NULL AND agency_id = $5",
    )
    .bind(kind.as_str())
    .bind(id.to_string())
    .bind(format!("{}.create", kind.as_str()))
    .bind(format!("{}.update", kind.as_str()))
    .bind(scope.id())
    .fetch_all(conn)
    .await
}

/// The stops and arrests a user created or edited: one query for a whole
/// queue instead of one per item.
pub async fn written_by(
    scope: &Scope,
    user_id: i64,
) -> Result<std::collections::HashSet<(String, i64)>, sqlx::Error> {
    let rows: Vec<(String, String)> = db::query_as(
        "SELECT DISTINCT object_kind, object_id FROM audit_log WHERE user_id = $1 \
         AND action IN ('stop.create', 'stop.update', 'arrest.create', 'arrest.update') AND agency_id = $2",
    )
    .bind(user_id)
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(rows.into_iter().filter_map(|(kind, id)| Some((kind, id.parse().ok()?))).collect())
}

/// Whether this reviewer may decide on this record at all.
pub async fn self_review_reason(
    scope: &Scope,
    reviewer: &Reviewer,
    record: &Record,
) -> Result<Option<&'static str>, sqlx::Error> {
    let mut conn = scope.acquire().await?;
    let authors = authors(&mut conn, scope, record.kind(), record.id()).await?;
    Ok(self_review(reviewer.officer_id, reviewer.id, record.officer_id(), &authors))
}

/// One item of a signing step: the record and the version the reviewer saw.
#[derive(Clone, Debug)]
pub struct Request {
    pub kind: RecordKind,
    pub id: i64,
    pub seen_hash: String,
    /// The latest decision when the page was shown (0: none).
    pub seen_latest: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{0} {1} is not a 287(g) action")]
    NotAnAction(&'static str, i64),
    #[error("{0} {1}: {2}")]
    SelfReview(&'static str, i64, &'static str),
    #[error("{0} {1} changed after you opened it; review the current version")]
    Changed(&'static str, i64),
    #[error("{0} {1} was decided by another supervisor after you opened it")]
    Decided(&'static str, i64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Signs one decision on each requested record, all or none, each with its
/// own sign-off row, fingerprint and audit entry.
pub async fn sign(
    scope: &Scope,
    actor: &Actor,
    reviewer: &Reviewer,
    requests: &[Request],
    decision: Decision,
    comment: &str,
    time_zone: &str,
) -> Result<Vec<i64>, SignError> {
    let mut tx = scope.begin_write().await?;
    let agency = tx.agency()?;
    let mut ids = Vec::with_capacity(requests.len());
    for r in requests {
        let label = r.kind.label();
        let record = load(&mut tx, scope, r.kind, r.id).await?;
        if !record.is_action() {
            return Err(SignError::NotAnAction(label, r.id));
        }
        let authors = authors(&mut tx, scope, r.kind, r.id).await?;
        if let Some(why) = self_review(reviewer.officer_id, reviewer.id, record.officer_id(), &authors) {
            return Err(SignError::SelfReview(label, r.id, why));
        }
        let hash = record.fingerprint();
        if hash != r.seen_hash {
            return Err(SignError::Changed(label, r.id));
        }
        let latest: Option<i64> = db::query_scalar(
            "SELECT MAX(id) FROM sign_offs WHERE record_kind = $1 AND record_id = $2 AND agency_id = $3",
        )
        .bind(r.kind.as_str())
        .bind(r.id)
        .bind(agency)
        .fetch_one(&mut *tx)
        .await?;
        if latest.unwrap_or(0) != r.seen_latest {
            return Err(SignError::Decided(label, r.id));
        }
        let action_at = action_instant(record.date(), record.time(), time_zone);
        let inserted: Result<(i64,), sqlx::Error> = db::query_as(
            "INSERT INTO sign_offs (record_kind, record_id, supersedes, decision, comment, reviewer_id, \
             reviewer_name, reviewer_kind, signed_at, action_at, record_hash, form, agency_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(r.kind.as_str())
        .bind(r.id)
        .bind(r.seen_latest)
        .bind(decision.as_str())
        .bind(comment)
        .bind(reviewer.id)
        .bind(&reviewer.display_name)
        .bind(&reviewer.supervisor_kind)
        .bind(now_unix())
        .bind(action_at)
        .bind(&hash)
        .bind(r.kind.form())
        .bind(agency)
        .fetch_one(&mut *tx)
        .await;
        let (id,) = match inserted {
            Err(e) if is_unique_violation(&e) => return Err(SignError::Decided(label, r.id)),
            other => other?,
        };
        let event =
            Event::new(&format!("sign_off.{}", decision.as_str()), r.kind.as_str(), r.id).details(json!({
                "sign_off": id,
                "decision": decision.as_str(),
                "comment": comment,
                "record_hash": hash,
                "reviewer_kind": reviewer.supervisor_kind,
                "supersedes": r.seen_latest,
            }));
        audit::record(&mut tx, actor, event).await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Records a refused self-review attempt (S5 counts these) in the
/// agency's chain.
pub async fn refuse_self_review(
    scope: &Scope,
    actor: &Actor,
    kind: RecordKind,
    id: i64,
    why: &str,
) -> Result<(), sqlx::Error> {
    let event = Event::new(SELF_REVIEW_ACTION, kind.as_str(), id)
        .outcome(Outcome::Denied)
        .details(json!({ "reason": why }));
    audit::record_in(scope, actor, event).await.map(|_| ())
}

/// Writes a decision as of a past moment, with its audit entry, for the
/// demo's history only (live decisions go through `sign`).
#[allow(clippy::too_many_arguments)]
pub async fn insert_past(
    scope: &Scope,
    actor: &Actor,
    record: &Record,
    reviewer: &Reviewer,
    decision: Decision,
    comment: &str,
    signed_at: i64,
    time_zone: &str,
) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let agency = tx.agency()?;
    let (kind, id) = (record.kind().as_str(), record.id());
    let latest: Option<i64> = db::query_scalar(
        "SELECT MAX(id) FROM sign_offs WHERE record_kind = $1 AND record_id = $2 AND agency_id = $3",
    )
    .bind(kind)
    .bind(id)
    .bind(agency)
    .fetch_one(&mut *tx)
    .await?;
    let hash = record.fingerprint();
    let sign_off: i64 = db::query_scalar(
        "INSERT INTO sign_offs (record_kind, record_id, supersedes, decision, comment, reviewer_id, \
         reviewer_name, reviewer_kind, signed_at, action_at, record_hash, form, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(kind)
    .bind(id)
    .bind(latest.unwrap_or(0))
    .bind(decision.as_str())
    .bind(comment)
    .bind(reviewer.id)
    .bind(&reviewer.display_name)
    .bind(&reviewer.supervisor_kind)
    .bind(signed_at)
    .bind(action_instant(record.date(), record.time(), time_zone))
    .bind(&hash)
    .bind(record.kind().form())
    .bind(agency)
    .fetch_one(&mut *tx)
    .await?;
    let event = Event::new(&format!("sign_off.{}", decision.as_str()), kind, id).details(json!({
        "sign_off": sign_off,
        "decision": decision.as_str(),
        "comment": comment,
        "record_hash": hash,
        "reviewer_kind": reviewer.supervisor_kind,
        "supersedes": latest.unwrap_or(0),
        "signed_at": signed_at,
    }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(sign_off)
}

/// Sets the officer an account is recorded as and how it signs.
pub async fn set_reviewer(
    scope: &Scope,
    actor: &Actor,
    user_id: i64,
    officer_id: Option<i64>,
    supervisor_kind: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before: (Option<i64>, String) =
        db::query_as("SELECT officer_id, supervisor_kind FROM users WHERE id = $1 AND agency_id = $2")
            .bind(user_id)
            .bind(scope.id())
            .fetch_one(&mut *tx)
            .await?;
    db::query("UPDATE users SET officer_id = $1, supervisor_kind = $2 WHERE id = $3 AND agency_id = $4")
        .bind(officer_id)
        .bind(supervisor_kind)
        .bind(user_id)
        .bind(scope.id())
        .execute(&mut *tx)
        .await?;
    let event = Event::new("user.supervision", "user", user_id).details(json!({
        "before": { "officer_id": before.0, "supervisor_kind": before.1 },
        "after": { "officer_id": officer_id, "supervisor_kind": supervisor_kind },
    }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}

/// Every decision on the records `ids` of one kind, inside a transaction
/// of their agency, oldest first per record (a submission package,
/// docs/packages.md).
pub async fn for_records_in(
    tx: &mut db::Tx,
    kind: RecordKind,
    ids: &[i64],
) -> Result<Vec<SignOff>, sqlx::Error> {
    let agency = tx.agency()?;
    let mut all = Vec::new();
    // A few hundred ids a statement: both backends take that many inlined.
    for chunk in ids.chunks(500) {
        let rows: Vec<SignOff> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM sign_offs WHERE record_kind = $1 AND agency_id = $2 AND record_id IN ({}) \
             ORDER BY record_id, id",
            db::id_list(chunk)
        ))
        .bind(kind.as_str())
        .bind(agency)
        .fetch_all(&mut **tx)
        .await?;
        all.extend(rows);
    }
    Ok(all)
}

/// Writes a decision made on the agency's own install and carried by a
/// package: no reviewer account here (reviewer_id NULL), the reviewer's
/// name and kind, the moments and the fingerprint `record_hash` (the
/// record's here when the source found it unchanged since the decision;
/// docs/packages.md). The package's one audit entry covers it.
pub async fn insert_carried(tx: &mut db::Tx, decision: &SignOff) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_scalar(
        "INSERT INTO sign_offs (record_kind, record_id, supersedes, decision, comment, reviewer_id, \
         reviewer_name, reviewer_kind, signed_at, action_at, record_hash, form, agency_id) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(&decision.record_kind)
    .bind(decision.record_id)
    .bind(decision.supersedes)
    .bind(&decision.decision)
    .bind(&decision.comment)
    .bind(&decision.reviewer_name)
    .bind(&decision.reviewer_kind)
    .bind(decision.signed_at)
    .bind(decision.action_at)
    .bind(&decision.record_hash)
    .bind(&decision.form)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
}
