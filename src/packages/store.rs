//! Package receipts: one row per package the state took for an agency,
//! never changed (docs/packages.md).

use std::collections::HashMap;

use serde::Serialize;

use super::Manifest;
use crate::agency::Scope;
use crate::db::{self, Tx, now_unix};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Receipt {
    pub id: i64,
    pub period_from: String,
    pub period_to: String,
    pub fingerprint: String,
    pub source_seq: i64,
    pub source_head: String,
    pub exported_at: String,
    pub records: String,
    pub received_at: i64,
    pub received_by: String,
}

impl Receipt {
    pub fn received_text(&self) -> String {
        format!("received {} by {}", crate::web::format_instant(self.received_at), self.received_by)
    }
}

const COLUMNS: &str = "id, period_from, period_to, fingerprint, source_seq, source_head, exported_at, records, \
     received_at, received_by";

/// The receipt of a package whose period overlaps [from, to], if the
/// agency holds one.
pub async fn held(scope: &Scope, from: &str, to: &str) -> Result<Option<Receipt>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM package_receipts WHERE agency_id = $1 AND period_from <= $3 AND period_to >= $2 \
         ORDER BY id LIMIT 1"
    ))
    .bind(scope.id())
    .bind(from)
    .bind(to)
    .fetch_optional(scope)
    .await
}

/// Every receipt of the agency, newest period first.
pub async fn all(scope: &Scope) -> Result<Vec<Receipt>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM package_receipts WHERE agency_id = $1 ORDER BY period_from DESC, id DESC"
    ))
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Whether the transaction's agency holds any record dated in [from, to]
/// that a package would bring (stops, arrests, complaints received, pay
/// periods ending, logged values): a package adds a period, it never merges into one.
pub async fn holds_records_between(tx: &mut Tx, from: &str, to: &str) -> Result<bool, sqlx::Error> {
    let agency = tx.agency()?;
    let (held,): (i64,) = db::query_as(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM stops WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3 LIMIT 1) s) \
         + (SELECT COUNT(*) FROM arrests WHERE agency_id = $1 AND arrest_date >= $2 AND arrest_date <= $3) \
         + (SELECT COUNT(*) FROM complaints WHERE agency_id = $1 AND received_on >= $2 AND received_on <= $3) \
         + (SELECT COUNT(*) FROM pay_periods WHERE agency_id = $1 AND period_end >= $2 AND period_end <= $3) \
         + (SELECT COUNT(*) FROM logged_values WHERE agency_id = $1 AND period_from >= $2 AND period_to <= $3)",
    )
    .bind(agency)
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await?;
    Ok(held > 0)
}

/// Writes the receipt of `manifest` inside the import's transaction;
/// returns its number.
pub async fn insert_receipt(tx: &mut Tx, manifest: &Manifest, received_by: &str) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_scalar(
        "INSERT INTO package_receipts (agency_id, period_from, period_to, fingerprint, source_seq, source_head, \
         exported_at, records, received_at, received_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(agency)
    .bind(&manifest.period_from)
    .bind(&manifest.period_to)
    .bind(&manifest.fingerprint)
    .bind(manifest.audit_seq)
    .bind(&manifest.audit_head)
    .bind(&manifest.exported_at)
    .bind(manifest.records().to_string())
    .bind(now_unix())
    .bind(received_by)
    .fetch_one(&mut **tx)
    .await
}

/// For each agency of the deployment with a package overlapping
/// [from, to], its receipt's number (the state's dashboard names it).
pub async fn covering(db: &crate::db::Db, from: &str, to: &str) -> Result<HashMap<i64, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = db::query_as(
        "SELECT agency_id, MIN(id) FROM package_receipts WHERE period_from <= $2 AND period_to >= $1 \
         GROUP BY agency_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}
