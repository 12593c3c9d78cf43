//! Queries on pay periods and leads; every change with its audit entry.

use super::{Leads, PayPeriod};
use crate::audit::{self, Actor, Event};
use crate::db::{self, Db, begin_write, is_unique_violation};

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("already recorded")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const PAY: &str = "SELECT id, officer_id, period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents FROM pay_periods";
const LEADS: &str = "SELECT id, officer_id, quarter, received, located FROM leads";

pub async fn pay_of(db: &Db, officer_id: i64) -> Result<Vec<PayPeriod>, sqlx::Error> {
    db::query_as(&format!("{PAY} WHERE officer_id = $1 ORDER BY period_start DESC"))
        .bind(officer_id)
        .fetch_all(db)
        .await
}

pub async fn leads_of(db: &Db, officer_id: i64) -> Result<Vec<Leads>, sqlx::Error> {
    db::query_as(&format!("{LEADS} WHERE officer_id = $1 ORDER BY quarter DESC"))
        .bind(officer_id)
        .fetch_all(db)
        .await
}

pub async fn pay_period(db: &Db, officer_id: i64, id: i64) -> Result<PayPeriod, sqlx::Error> {
    db::query_as(&format!("{PAY} WHERE id = $1 AND officer_id = $2"))
        .bind(id)
        .bind(officer_id)
        .fetch_one(db)
        .await
}

pub async fn leads(db: &Db, officer_id: i64, id: i64) -> Result<Leads, sqlx::Error> {
    db::query_as(&format!("{LEADS} WHERE id = $1 AND officer_id = $2"))
        .bind(id)
        .bind(officer_id)
        .fetch_one(db)
        .await
}

fn duplicate(e: sqlx::Error) -> PayError {
    if is_unique_violation(&e) { PayError::Duplicate } else { PayError::Db(e) }
}

/// Inserts or, with an id, updates a pay period.
pub async fn save_pay(db: &Db, actor: &Actor, officer_id: i64, p: &PayPeriod) -> Result<i64, PayError> {
    let mut tx = begin_write(db).await?;
    let before: Option<PayPeriod> = db::query_as(&format!("{PAY} WHERE id = $1 AND officer_id = $2"))
        .bind(p.id)
        .bind(officer_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (id,): (i64,) = match &before {
        Some(_) => db::query_as(
            "UPDATE pay_periods SET period_start = $1, period_end = $2, base_pay_cents = $3, overtime_hours = $4, \
             overtime_pay_cents = $5 WHERE id = $6 RETURNING id",
        )
        .bind(&p.period_start)
        .bind(&p.period_end)
        .bind(p.base_pay_cents)
        .bind(p.overtime_hours)
        .bind(p.overtime_pay_cents)
        .bind(p.id),
        None => db::query_as(
            "INSERT INTO pay_periods (period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents, officer_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&p.period_start)
        .bind(&p.period_end)
        .bind(p.base_pay_cents)
        .bind(p.overtime_hours)
        .bind(p.overtime_pay_cents)
        .bind(officer_id),
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

pub async fn save_leads(db: &Db, actor: &Actor, officer_id: i64, l: &Leads) -> Result<i64, PayError> {
    let mut tx = begin_write(db).await?;
    let before: Option<Leads> = db::query_as(&format!("{LEADS} WHERE id = $1 AND officer_id = $2"))
        .bind(l.id)
        .bind(officer_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (id,): (i64,) = match &before {
        Some(_) => db::query_as(
            "UPDATE leads SET quarter = $1, received = $2, located = $3 WHERE id = $4 RETURNING id",
        )
        .bind(&l.quarter)
        .bind(l.received)
        .bind(l.located)
        .bind(l.id),
        None => db::query_as(
            "INSERT INTO leads (quarter, received, located, officer_id) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&l.quarter)
        .bind(l.received)
        .bind(l.located)
        .bind(officer_id),
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

/// Inserts a pay period inside the caller's transaction (imports).
pub async fn insert_pay(tx: &mut crate::db::Tx, p: &PayPeriod) -> Result<i64, PayError> {
    let (id,): (i64,) = db::query_as(
        "INSERT INTO pay_periods (period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents, officer_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&p.period_start)
    .bind(&p.period_end)
    .bind(p.base_pay_cents)
    .bind(p.overtime_hours)
    .bind(p.overtime_pay_cents)
    .bind(p.officer_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(duplicate)?;
    Ok(id)
}

/// Inserts quarterly leads inside the caller's transaction (imports).
pub async fn insert_leads(tx: &mut crate::db::Tx, l: &Leads) -> Result<i64, PayError> {
    let (id,): (i64,) = db::query_as(
        "INSERT INTO leads (quarter, received, located, officer_id) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&l.quarter)
    .bind(l.received)
    .bind(l.located)
    .bind(l.officer_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(duplicate)?;
    Ok(id)
}

pub async fn all_pay(db: &Db) -> Result<Vec<PayPeriod>, sqlx::Error> {
    db::query_as(&format!("{PAY} ORDER BY officer_id, period_start")).fetch_all(db).await
}

pub async fn all_leads(db: &Db) -> Result<Vec<Leads>, sqlx::Error> {
    db::query_as(&format!("{LEADS} ORDER BY officer_id, quarter")).fetch_all(db).await
}
