//! Queries on pay periods and leads; every change with its audit entry.

use super::{Leads, PayPeriod};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Tx, is_unique_violation};

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("already recorded")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const PAY: &str = "SELECT id, officer_id, period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents FROM pay_periods";
const LEADS: &str = "SELECT id, officer_id, quarter, received, located FROM leads";

pub async fn pay_of(scope: &Scope, officer_id: i64) -> Result<Vec<PayPeriod>, sqlx::Error> {
    db::query_as(&format!("{PAY} WHERE officer_id = $1 AND agency_id = $2 ORDER BY period_start DESC"))
        .bind(officer_id)
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn leads_of(scope: &Scope, officer_id: i64) -> Result<Vec<Leads>, sqlx::Error> {
    db::query_as(&format!("{LEADS} WHERE officer_id = $1 AND agency_id = $2 ORDER BY quarter DESC"))
        .bind(officer_id)
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn pay_period(scope: &Scope, officer_id: i64, id: i64) -> Result<PayPeriod, sqlx::Error> {
    db::query_as(&format!("{PAY} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
        .bind(id)
        .bind(officer_id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

pub async fn leads(scope: &Scope, officer_id: i64, id: i64) -> Result<Leads, sqlx::Error> {
    db::query_as(&format!("{LEADS} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
        .bind(id)
        .bind(officer_id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

fn duplicate(e: sqlx::Error) -> PayError {
    if is_unique_violation(&e) { PayError::Duplicate } else { PayError::Db(e) }
}

/// Refuses an officer who is not the transaction's agency's, as one that
/// does not exist: `RowNotFound`.
async fn check_officer(tx: &mut Tx, agency: i64, officer_id: i64) -> Result<(), sqlx::Error> {
    let found: Option<i64> = db::query_scalar("SELECT id FROM officers WHERE id = $1 AND agency_id = $2")
        .bind(officer_id)
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(|_| ()).ok_or(sqlx::Error::RowNotFound)
}

/// Inserts or, with an id, updates a pay period.
pub async fn save_pay(scope: &Scope, actor: &Actor, officer_id: i64, p: &PayPeriod) -> Result<i64, PayError> {
    let mut tx = scope.begin_write().await?;
    check_officer(&mut tx, scope.id(), officer_id).await?;
    let before: Option<PayPeriod> =
        db::query_as(&format!("{PAY} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
            .bind(p.id)
            .bind(officer_id)
            .bind(scope.id())
            .fetch_optional(&mut *tx)
            .await?;
    let (id,): (i64,) = match &before {
        Some(_) => db::query_as(
            "UPDATE pay_periods SET period_start = $1, period_end = $2, base_pay_cents = $3, overtime_hours = $4, \
             overtime_pay_cents = $5 WHERE id = $6 AND agency_id = $7 RETURNING id",
        )
        .bind(&p.period_start)
        .bind(&p.period_end)
        .bind(p.base_pay_cents)
        .bind(p.overtime_hours)
        .bind(p.overtime_pay_cents)
        .bind(p.id)
        .bind(scope.id()),
        None => db::query_as(
            "INSERT INTO pay_periods (period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents, officer_id, agency_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&p.period_start)
        .bind(&p.period_end)
        .bind(p.base_pay_cents)
        .bind(p.overtime_hours)
        .bind(p.overtime_pay_cents)
        .bind(officer_id)
        .bind(scope.id()),
    }
    .fetch_one(&mut *tx)
    .await
    .map_err(duplicate)?;
    let saved = PayPeriod { id, officer_id, ..p.clone() };
    let event = Event::saved("pay", "pay_period", id, before.as_ref(), &saved);
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn save_leads(scope: &Scope, actor: &Actor, officer_id: i64, l: &Leads) -> Result<i64, PayError> {
    let mut tx = scope.begin_write().await?;
    check_officer(&mut tx, scope.id(), officer_id).await?;
    let before: Option<Leads> =
        db::query_as(&format!("{LEADS} WHERE id = $1 AND officer_id = $2 AND agency_id = $3"))
            .bind(l.id)
            .bind(officer_id)
            .bind(scope.id())
            .fetch_optional(&mut *tx)
            .await?;
    let (id,): (i64,) = match &before {
        Some(_) => db::query_as(
            "UPDATE leads SET quarter = $1, received = $2, located = $3 WHERE id = $4 AND agency_id = $5 RETURNING id",
        )
        .bind(&l.quarter)
        .bind(l.received)
        .bind(l.located)
        .bind(l.id)
        .bind(scope.id()),
        None => db::query_as(
            "INSERT INTO leads (quarter, received, located, officer_id, agency_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&l.quarter)
        .bind(l.received)
        .bind(l.located)
        .bind(officer_id)
        .bind(scope.id()),
    }
    .fetch_one(&mut *tx)
    .await
    .map_err(duplicate)?;
    let saved = Leads { id, officer_id, ..l.clone() };
    let event = Event::saved("leads", "leads", id, before.as_ref(), &saved);
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a pay period inside the caller's transaction (imports); the
/// officer must be the transaction's agency's.
pub async fn insert_pay(tx: &mut Tx, p: &PayPeriod) -> Result<i64, PayError> {
    let agency = tx.agency()?;
    check_officer(tx, agency, p.officer_id).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO pay_periods (period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents, officer_id, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&p.period_start)
    .bind(&p.period_end)
    .bind(p.base_pay_cents)
    .bind(p.overtime_hours)
    .bind(p.overtime_pay_cents)
    .bind(p.officer_id)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
    .map_err(duplicate)?;
    Ok(id)
}

/// Inserts quarterly leads inside the caller's transaction (imports); the
/// officer must be the transaction's agency's.
pub async fn insert_leads(tx: &mut Tx, l: &Leads) -> Result<i64, PayError> {
    let agency = tx.agency()?;
    check_officer(tx, agency, l.officer_id).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO leads (quarter, received, located, officer_id, agency_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&l.quarter)
    .bind(l.received)
    .bind(l.located)
    .bind(l.officer_id)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
    .map_err(duplicate)?;
    Ok(id)
}

pub async fn all_pay(scope: &Scope) -> Result<Vec<PayPeriod>, sqlx::Error> {
    db::query_as(&format!("{PAY} WHERE agency_id = $1 ORDER BY officer_id, period_start"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn all_leads(scope: &Scope) -> Result<Vec<Leads>, sqlx::Error> {
    db::query_as(&format!("{LEADS} WHERE agency_id = $1 ORDER BY officer_id, quarter"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

/// The pay periods of the transaction's agency that end in [from, to], as
/// the measures count them (a submission package, docs/packages.md).
pub async fn pay_between_in(tx: &mut Tx, from: &str, to: &str) -> Result<Vec<PayPeriod>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(&format!(
        "{PAY} WHERE period_end >= $1 AND period_end <= $2 AND agency_id = $3 ORDER BY period_end, id"
    ))
    .bind(from)
    .bind(to)
    .bind(agency)
    .fetch_all(&mut **tx)
    .await
}

/// The leads of the transaction's agency for the quarters `quarters`
/// ("2026-Q1", ...).
pub async fn leads_of_quarters_in(tx: &mut Tx, quarters: &[String]) -> Result<Vec<Leads>, sqlx::Error> {
    let agency = tx.agency()?;
    let mut all = Vec::new();
    for quarter in quarters {
        let rows: Vec<Leads> =
            db::query_as(&format!("{LEADS} WHERE quarter = $1 AND agency_id = $2 ORDER BY id"))
                .bind(quarter)
                .bind(agency)
                .fetch_all(&mut **tx)
                .await?;
        all.extend(rows);
    }
    Ok(all)
}
