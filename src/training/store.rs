//! Queries on the course catalog and training records; every change with
//! its audit entry.

use serde_json::json;

use super::{Course, TrainingRecord};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Tx, is_unique_violation};

const SELECT_COURSE: &str = "SELECT id, name, kind, models, required_hours, max_hours, validity_months, pass_mark, \
     remediation_attempts, active, effective_on FROM courses";
const SELECT_RECORD: &str =
    "SELECT id, officer_id, course_id, completed_on, hours, scores, provider FROM training_records";

#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    #[error("a course with this name exists")]
    NameTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn courses<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
) -> Result<Vec<Course>, sqlx::Error> {
    courses_of_agency(db, scope.id()).await
}

/// The catalog of the agency `agency` (inside its write transaction, from
/// `tx.agency()`).
pub(crate) async fn courses_of_agency<'e>(
    db: impl Into<crate::db::On<'e>>,
    agency: i64,
) -> Result<Vec<Course>, sqlx::Error> {
    db::query_as(&format!("{SELECT_COURSE} WHERE agency_id = $1 ORDER BY kind, name"))
        .bind(agency)
        .fetch_all(db)
        .await
}

pub async fn course(scope: &Scope, id: i64) -> Result<Course, sqlx::Error> {
    db::query_as(&format!("{SELECT_COURSE} WHERE id = $1 AND agency_id = $2"))
        .bind(id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

pub async fn save_course(scope: &Scope, actor: &Actor, course: &Course) -> Result<i64, CourseError> {
    let mut tx = scope.begin_write().await?;
    let (id, before) = save_course_in(&mut tx, course).await?;
    let saved = Course { id, ..course.clone() };
    let event = Event::saved("course", "course", id, before.as_ref(), &saved);
    audit::record(&mut tx, actor, event).await?;
    // A course's rules count for every officer who took or owes it.
    crate::compliance::exceptions::refresh(&mut tx, actor, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a course (id 0 or not the agency's) or saves its changes inside
/// the caller's transaction of the agency; returns its id and the course as
/// it was. The caller records the audit entry and refreshes exceptions.
pub async fn save_course_in(tx: &mut Tx, course: &Course) -> Result<(i64, Option<Course>), CourseError> {
    let agency = tx.agency()?;
    let before: Option<Course> = db::query_as(&format!("{SELECT_COURSE} WHERE id = $1 AND agency_id = $2"))
        .bind(course.id)
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await?;
    let sql = match &before {
        Some(_) => {
            "UPDATE courses SET name = $1, kind = $2, models = $3, required_hours = $4, max_hours = $5, \
             validity_months = $6, pass_mark = $7, remediation_attempts = $8, active = $9, effective_on = $10 \
             WHERE id = $12 AND agency_id = $11 RETURNING id"
        }
        None => {
            "INSERT INTO courses (name, kind, models, required_hours, max_hours, validity_months, pass_mark, \
             remediation_attempts, active, effective_on, agency_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
        }
    };
    let mut query = db::query_as::<(i64,)>(sql)
        .bind(&course.name)
        .bind(&course.kind)
        .bind(&course.models)
        .bind(course.required_hours)
        .bind(course.max_hours)
        .bind(course.validity_months)
        .bind(course.pass_mark)
        .bind(course.remediation_attempts)
        .bind(course.active)
        .bind(&course.effective_on)
        .bind(agency);
    if before.is_some() {
        query = query.bind(course.id);
    }
    match query.fetch_one(&mut **tx).await {
        Ok((id,)) => Ok((id, before)),
        Err(e) if is_unique_violation(&e) => Err(CourseError::NameTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn records_of(scope: &Scope, officer_id: i64) -> Result<Vec<TrainingRecord>, sqlx::Error> {
    db::query_as(&format!(
        "{SELECT_RECORD} WHERE officer_id = $1 AND agency_id = $2 ORDER BY completed_on DESC, id DESC"
    ))
    .bind(officer_id)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

pub async fn all_records<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
) -> Result<Vec<TrainingRecord>, sqlx::Error> {
    records_of_agency(db, scope.id()).await
}

/// Every training record of the agency `agency` (inside its write
/// transaction, from `tx.agency()`).
pub(crate) async fn records_of_agency<'e>(
    db: impl Into<crate::db::On<'e>>,
    agency: i64,
) -> Result<Vec<TrainingRecord>, sqlx::Error> {
    db::query_as(&format!("{SELECT_RECORD} WHERE agency_id = $1 ORDER BY officer_id, completed_on, id"))
        .bind(agency)
        .fetch_all(db)
        .await
}

pub async fn record(scope: &Scope, officer_id: i64, id: i64) -> Result<TrainingRecord, sqlx::Error> {
    db::query_as(&format!("{SELECT_RECORD} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
        .bind(id)
        .bind(officer_id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

/// Refuses an officer or a course that is not the agency's, as one that
/// does not exist: `RowNotFound`.
async fn check_officer_and_course(
    tx: &mut Tx,
    agency: i64,
    officer_id: i64,
    course_id: i64,
) -> Result<(), sqlx::Error> {
    let (found,): (i64,) = db::query_as(
        "SELECT (SELECT COUNT(*) FROM officers WHERE id = $1 AND agency_id = $3) \
         + (SELECT COUNT(*) FROM courses WHERE id = $2 AND agency_id = $3)",
    )
    .bind(officer_id)
    .bind(course_id)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await?;
    if found == 2 { Ok(()) } else { Err(sqlx::Error::RowNotFound) }
}

/// Inserts a record inside the caller's transaction (the form saves one,
/// the CSV import many, with one audit entry for the whole file). The
/// officer and the course must be the transaction's agency's.
pub async fn insert_record(tx: &mut Tx, officer_id: i64, r: &TrainingRecord) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    check_officer_and_course(tx, agency, officer_id, r.course_id).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO training_records (officer_id, course_id, completed_on, hours, scores, provider, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(officer_id)
    .bind(r.course_id)
    .bind(&r.completed_on)
    .bind(r.hours)
    .bind(&r.scores)
    .bind(&r.provider)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn add_record(
    scope: &Scope,
    actor: &Actor,
    officer_id: i64,
    r: &TrainingRecord,
) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let id = insert_record(&mut tx, officer_id, r).await?;
    let saved = TrainingRecord { id, officer_id, ..r.clone() };
    audit::record(
        &mut tx,
        actor,
        Event::new("training.create", "training_record", id).details(json!({ "after": saved })),
    )
    .await?;
    crate::compliance::exceptions::refresh(&mut tx, actor, Some(officer_id)).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_record(
    scope: &Scope,
    actor: &Actor,
    officer_id: i64,
    id: i64,
    r: &TrainingRecord,
) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before = update_record_in(&mut tx, officer_id, id, r).await?;
    let after = TrainingRecord { id, officer_id, ..r.clone() };
    if before != after {
        audit::record(
            &mut tx,
            actor,
            Event::new("training.update", "training_record", id).changes(&before, &after),
        )
        .await?;
    }
    crate::compliance::exceptions::refresh(&mut tx, actor, Some(officer_id)).await?;
    tx.commit().await
}

/// Saves a training record's changes inside the caller's transaction of
/// its agency and returns it as it was.
pub async fn update_record_in(
    tx: &mut Tx,
    officer_id: i64,
    id: i64,
    r: &TrainingRecord,
) -> Result<TrainingRecord, sqlx::Error> {
    let agency = tx.agency()?;
    let before: TrainingRecord =
        db::query_as(&format!("{SELECT_RECORD} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
            .bind(id)
            .bind(officer_id)
            .bind(agency)
            .fetch_one(&mut **tx)
            .await?;
    check_officer_and_course(tx, agency, officer_id, r.course_id).await?;
    db::query(
        "UPDATE training_records SET course_id = $1, completed_on = $2, hours = $3, scores = $4, provider = $5 \
         WHERE id = $6 AND officer_id = $7 AND agency_id = $8",
    )
    .bind(r.course_id)
    .bind(&r.completed_on)
    .bind(r.hours)
    .bind(&r.scores)
    .bind(&r.provider)
    .bind(id)
    .bind(officer_id)
    .bind(agency)
    .execute(&mut **tx)
    .await?;
    Ok(before)
}
