//! Queries on officers and designations; every change with its audit entry.

use serde_json::json;

use super::{Designation, Officer};
use crate::agency::Scope;
use crate::audit::{self, Actor, Entry, Event};
use crate::db::{self, Tx, is_unique_violation};

#[derive(Debug, thiserror::Error)]
pub enum OfficerError {
    #[error("badge already in use")]
    BadgeTaken,
    #[error("supervisor not found")]
    NoSuchSupervisor,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const SELECT: &str = "SELECT id, badge, last_name, first_name, rank, unit, hire_date, status, supervisor_id, annual_salary_cents FROM officers";
const SELECT_DESIGNATION: &str = "SELECT id, officer_id, model, nominated_on, citizenship_verified_on, agency_background_on, \
     ice_background_on, training_passed_on, certified_on, authorized_on, authorization_expires_on, credential_number, \
     credential_received_on, withdrawn_on, withdrawal_reason FROM designations";

/// The roster filters that SQL can apply; "authorized" is decided by
/// `authorization::standing_on` afterwards, so the rule lives in one place.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub search: String,
    pub status: String,
    pub model: String,
    pub sort: String,
    pub descending: bool,
}

pub async fn list(scope: &Scope, filter: &Filter) -> Result<Vec<Officer>, sqlx::Error> {
    let mut q: crate::db::Builder = crate::db::Builder::new(format!("{SELECT} WHERE agency_id = "));
    q.push_bind(scope.id());
    let search = filter.search.trim().to_lowercase();
    if !search.is_empty() {
        let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        q.push(" AND (LOWER(badge) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
        q.push(" OR LOWER(last_name) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
        q.push(" OR LOWER(first_name) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
        q.push(" OR LOWER(first_name || ' ' || last_name) LIKE ").push_bind(pattern).push(" ESCAPE '\\')");
    }
    if !filter.status.is_empty() {
        q.push(" AND status = ").push_bind(filter.status.clone());
    }
    if !filter.model.is_empty() {
        q.push(
            " AND EXISTS (SELECT 1 FROM designations d WHERE d.officer_id = officers.id AND d.agency_id = ",
        )
        .push_bind(scope.id())
        .push(" AND d.model = ")
        .push_bind(filter.model.clone())
        .push(")");
    }
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let order: &[&str] = match filter.sort.as_str() {
        "badge" => &["badge"],
        "hire_date" => &["hire_date", "last_name", "first_name"],
        "status" => &["status", "last_name", "first_name"],
        _ => &["last_name", "first_name"],
    };
    let order: Vec<String> = order.iter().chain(["id"].iter()).map(|c| format!("{c} {direction}")).collect();
    q.push(format!(" ORDER BY {}", order.join(", ")));
    q.build_query_as().fetch_all(scope).await
}

pub async fn get(scope: &Scope, id: i64) -> Result<Officer, sqlx::Error> {
    db::query_as(&format!("{SELECT} WHERE id = $1 AND agency_id = $2"))
        .bind(id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

/// Officers for the supervisor list (everyone but `except`).
pub async fn choices(scope: &Scope, except: Option<i64>) -> Result<Vec<Officer>, sqlx::Error> {
    db::query_as(&format!(
        "{SELECT} WHERE id <> $1 AND status <> 'separated' AND agency_id = $2 ORDER BY last_name, first_name"
    ))
    .bind(except.unwrap_or(0))
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

pub async fn designations_of(scope: &Scope, officer_id: i64) -> Result<Vec<Designation>, sqlx::Error> {
    db::query_as(&format!(
        "{SELECT_DESIGNATION} WHERE officer_id = $1 AND agency_id = $2 ORDER BY model, nominated_on, id"
    ))
    .bind(officer_id)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

pub async fn all_designations<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
) -> Result<Vec<Designation>, sqlx::Error> {
    designations_of_agency(db, scope.id()).await
}

/// Every designation of the agency `agency`.
async fn designations_of_agency<'e>(
    db: impl Into<crate::db::On<'e>>,
    agency: i64,
) -> Result<Vec<Designation>, sqlx::Error> {
    db::query_as(&format!(
        "{SELECT_DESIGNATION} WHERE agency_id = $1 ORDER BY officer_id, model, nominated_on, id"
    ))
    .bind(agency)
    .fetch_all(db)
    .await
}

/// Designations, training and the catalog of every officer of the agency.
pub async fn evidence(scope: &Scope) -> Result<super::authorization::EvidenceSet, sqlx::Error> {
    Ok(super::authorization::EvidenceSet::new(
        all_designations(scope, scope).await?,
        crate::training::store::all_records(scope, scope).await?,
        crate::training::store::courses(scope, scope).await?,
    ))
}

/// The same, inside a write transaction of the agency: what it has
/// written so far counts.
pub async fn evidence_in(tx: &mut Tx) -> Result<super::authorization::EvidenceSet, sqlx::Error> {
    let agency = tx.agency()?;
    Ok(super::authorization::EvidenceSet::new(
        designations_of_agency(&mut **tx, agency).await?,
        crate::training::store::records_of_agency(&mut **tx, agency).await?,
        crate::training::store::courses_of_agency(&mut **tx, agency).await?,
    ))
}

/// Every officer of the agency, inside its write transaction.
pub async fn all_in(tx: &mut Tx) -> Result<Vec<Officer>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(&format!("{SELECT} WHERE agency_id = $1 ORDER BY id"))
        .bind(agency)
        .fetch_all(&mut **tx)
        .await
}

/// The key badges are matched by: unique without regard to case, so
/// `cc-1100` is `CC-1100` in every form and import.
pub fn badge_key(badge: &str) -> String {
    badge.trim().to_uppercase()
}

/// Officer ids by `badge_key`, for imports that name officers by badge.
pub async fn ids_by_badge(scope: &Scope) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = db::query_as("SELECT badge, id FROM officers WHERE agency_id = $1")
        .bind(scope.id())
        .fetch_all(scope)
        .await?;
    Ok(rows.into_iter().map(|(badge, id)| (badge_key(&badge), id)).collect())
}

/// Whether another officer of the agency than `except` has this badge, in
/// any case.
pub async fn badge_taken<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
    badge: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    badge_taken_in(db, scope.id(), badge, except).await
}

async fn badge_taken_in<'e>(
    db: impl Into<crate::db::On<'e>>,
    agency: i64,
    badge: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = db::query_scalar(
        "SELECT id FROM officers WHERE UPPER(badge) = $1 AND id <> $2 AND agency_id = $3 LIMIT 1",
    )
    .bind(badge_key(badge))
    .bind(except.unwrap_or(0))
    .bind(agency)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Whether the officer is one of the agency's (another agency's officer is
/// as unknown as one that does not exist).
async fn officer_exists(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let agency = tx.agency()?;
    let found: Option<i64> = db::query_scalar("SELECT id FROM officers WHERE id = $1 AND agency_id = $2")
        .bind(id)
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

pub async fn designation(scope: &Scope, officer_id: i64, id: i64) -> Result<Designation, sqlx::Error> {
    db::query_as(&format!("{SELECT_DESIGNATION} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
        .bind(id)
        .bind(officer_id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

fn map_write_error(err: sqlx::Error) -> OfficerError {
    if is_unique_violation(&err) {
        OfficerError::BadgeTaken
    } else if matches!(&err, sqlx::Error::Database(e) if e.is_foreign_key_violation()) {
        OfficerError::NoSuchSupervisor
    } else {
        OfficerError::Db(err)
    }
}

/// Refuses a supervisor who is not an officer of the agency, as the
/// database refuses one who does not exist.
async fn check_supervisor(tx: &mut Tx, officer: &Officer) -> Result<(), OfficerError> {
    match officer.supervisor_id {
        Some(sid) if !officer_exists(tx, sid).await? => Err(OfficerError::NoSuchSupervisor),
        _ => Ok(()),
    }
}

pub async fn create(scope: &Scope, actor: &Actor, officer: &Officer) -> Result<i64, OfficerError> {
    let mut tx = scope.begin_write().await?;
    let id = insert_in(&mut tx, officer).await?;
    let saved = Officer { id, ..officer.clone() };
    audit::record(
        &mut tx,
        actor,
        Event::new("officer.create", "officer", id).details(json!({ "after": saved })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts an officer of the transaction's agency inside it (the form, a
/// package), badge and supervisor checked; the caller records the audit
/// entry.
pub async fn insert_in(tx: &mut Tx, officer: &Officer) -> Result<i64, OfficerError> {
    let agency = tx.agency()?;
    if badge_taken_in(&mut **tx, agency, &officer.badge, None).await? {
        return Err(OfficerError::BadgeTaken);
    }
    check_supervisor(tx, officer).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO officers (badge, last_name, first_name, rank, unit, hire_date, status, supervisor_id, annual_salary_cents, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&officer.badge)
    .bind(&officer.last_name)
    .bind(&officer.first_name)
    .bind(&officer.rank)
    .bind(&officer.unit)
    .bind(&officer.hire_date)
    .bind(&officer.status)
    .bind(officer.supervisor_id)
    .bind(officer.annual_salary_cents)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_write_error)?;
    Ok(id)
}

pub async fn update(scope: &Scope, actor: &Actor, officer: &Officer) -> Result<(), OfficerError> {
    let mut tx = scope.begin_write().await?;
    let before = update_in(&mut tx, officer).await?;
    if before != *officer {
        audit::record(
            &mut tx,
            actor,
            Event::new("officer.update", "officer", officer.id).changes(&before, officer),
        )
        .await?;
    }
    if before.status != officer.status {
        // A separated officer is no longer authorized.
        crate::compliance::exceptions::refresh(&mut tx, actor, Some(officer.id)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Saves an officer's changes inside the caller's transaction of their
/// agency and returns the officer as they were; the caller records the
/// audit entry and refreshes exceptions when the status changed.
pub async fn update_in(tx: &mut Tx, officer: &Officer) -> Result<Officer, OfficerError> {
    let agency = tx.agency()?;
    if badge_taken_in(&mut **tx, agency, &officer.badge, Some(officer.id)).await? {
        return Err(OfficerError::BadgeTaken);
    }
    let before: Officer = db::query_as(&format!("{SELECT} WHERE id = $1 AND agency_id = $2"))
        .bind(officer.id)
        .bind(agency)
        .fetch_one(&mut **tx)
        .await?;
    check_supervisor(tx, officer).await?;
    db::query(
        "UPDATE officers SET badge = $1, last_name = $2, first_name = $3, rank = $4, unit = $5, hire_date = $6, \
         status = $7, supervisor_id = $8, annual_salary_cents = $9 WHERE id = $10 AND agency_id = $11",
    )
    .bind(&officer.badge)
    .bind(&officer.last_name)
    .bind(&officer.first_name)
    .bind(&officer.rank)
    .bind(&officer.unit)
    .bind(&officer.hire_date)
    .bind(&officer.status)
    .bind(officer.supervisor_id)
    .bind(officer.annual_salary_cents)
    .bind(officer.id)
    .bind(agency)
    .execute(&mut **tx)
    .await
    .map_err(map_write_error)?;
    Ok(before)
}

type IdQuery<'q> = crate::db::QueryAs<'q, (i64,)>;

fn bind_designation<'q>(q: IdQuery<'q>, d: &'q Designation) -> IdQuery<'q> {
    q.bind(&d.model)
        .bind(&d.nominated_on)
        .bind(&d.citizenship_verified_on)
        .bind(&d.agency_background_on)
        .bind(&d.ice_background_on)
        .bind(&d.training_passed_on)
        .bind(&d.certified_on)
        .bind(&d.authorized_on)
        .bind(&d.authorization_expires_on)
        .bind(&d.credential_number)
        .bind(&d.credential_received_on)
        .bind(&d.withdrawn_on)
        .bind(&d.withdrawal_reason)
}

pub async fn add_designation(
    scope: &Scope,
    actor: &Actor,
    officer_id: i64,
    d: &Designation,
) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let id = insert_designation_in(&mut tx, officer_id, d).await?;
    let saved = Designation { id, officer_id, ..d.clone() };
    audit::record(
        &mut tx,
        actor,
        Event::new("designation.create", "designation", id).details(json!({ "after": saved })),
    )
    .await?;
    crate::compliance::exceptions::refresh(&mut tx, actor, Some(officer_id)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a designation of an officer of the transaction's agency; the
/// caller records the audit entry and refreshes the officer's exceptions.
pub async fn insert_designation_in(
    tx: &mut Tx,
    officer_id: i64,
    d: &Designation,
) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    // Another agency's officer is not found, as one that does not exist.
    if !officer_exists(tx, officer_id).await? {
        return Err(sqlx::Error::RowNotFound);
    }
    let q = db::query_as(
        "INSERT INTO designations (model, nominated_on, citizenship_verified_on, agency_background_on, ice_background_on, \
         training_passed_on, certified_on, authorized_on, authorization_expires_on, credential_number, credential_received_on, \
         withdrawn_on, withdrawal_reason, officer_id, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    );
    let (id,) = bind_designation(q, d).bind(officer_id).bind(agency).fetch_one(&mut **tx).await?;
    Ok(id)
}

pub async fn update_designation(
    scope: &Scope,
    actor: &Actor,
    officer_id: i64,
    id: i64,
    d: &Designation,
) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before = update_designation_in(&mut tx, officer_id, id, d).await?;
    let after = Designation { id, officer_id, ..d.clone() };
    if before != after {
        audit::record(
            &mut tx,
            actor,
            Event::new("designation.update", "designation", id).changes(&before, &after),
        )
        .await?;
    }
    crate::compliance::exceptions::refresh(&mut tx, actor, Some(officer_id)).await?;
    tx.commit().await
}

/// Saves a designation's changes inside the caller's transaction of its
/// agency and returns it as it was.
pub async fn update_designation_in(
    tx: &mut Tx,
    officer_id: i64,
    id: i64,
    d: &Designation,
) -> Result<Designation, sqlx::Error> {
    let agency = tx.agency()?;
    let before: Designation =
        db::query_as(&format!("{SELECT_DESIGNATION} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
            .bind(id)
            .bind(officer_id)
            .bind(agency)
            .fetch_one(&mut **tx)
            .await?;
    let q = db::query_as(
        "UPDATE designations SET model = $1, nominated_on = $2, citizenship_verified_on = $3, agency_background_on = $4, \
         ice_background_on = $5, training_passed_on = $6, certified_on = $7, authorized_on = $8, authorization_expires_on = $9, \
         credential_number = $10, credential_received_on = $11, withdrawn_on = $12, withdrawal_reason = $13 \
         WHERE id = $14 AND officer_id = $15 AND agency_id = $16 RETURNING id",
    );
    bind_designation(q, d).bind(id).bind(officer_id).bind(agency).fetch_one(&mut **tx).await?;
    Ok(before)
}

/// Every designation of the transaction's agency, in the order
/// `all_designations` gives.
pub async fn designations_in(tx: &mut Tx) -> Result<Vec<Designation>, sqlx::Error> {
    let agency = tx.agency()?;
    designations_of_agency(&mut **tx, agency).await
}

/// The officer's change history: entries on the officer and on each of
/// their designations, newest first.
pub async fn history(scope: &Scope, officer_id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    db::query_as(
        "SELECT seq, at_us, user_id, username, roles, source, action, object_kind, object_id, outcome, details, prev_hash, hash \
         FROM audit_log WHERE agency_id = $3 AND ((object_kind = 'officer' AND object_id = $1) \
         OR (object_kind = 'designation' AND object_id IN (SELECT CAST(id AS TEXT) FROM designations WHERE officer_id = $2 AND agency_id = $3)) \
         OR (object_kind = 'training_record' AND object_id IN (SELECT CAST(id AS TEXT) FROM training_records WHERE officer_id = $2 AND agency_id = $3)) \
         OR (object_kind = 'document' AND object_id IN (SELECT CAST(id AS TEXT) FROM documents WHERE officer_id = $2 AND agency_id = $3)) \
         OR (object_kind = 'pay_period' AND object_id IN (SELECT CAST(id AS TEXT) FROM pay_periods WHERE officer_id = $2 AND agency_id = $3)) \
         OR (object_kind = 'leads' AND object_id IN (SELECT CAST(id AS TEXT) FROM leads WHERE officer_id = $2 AND agency_id = $3))) \
         ORDER BY seq DESC LIMIT 200",
    )
    .bind(officer_id.to_string())
    .bind(officer_id)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}
