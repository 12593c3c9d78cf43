//! The state's issued reports (docs/tenancy.md, "The statewide report"):
//! each one's row, and per agency the fingerprint and audit head it was
//! computed from. Only this store touches `state_reports` and
//! `state_report_agencies`; both are append-only.

use serde_json::json;

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Db};

const COLUMNS: &str = "id, number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
     audit_head, file_sha256, file_name, size, checkpoint";

/// One issued statewide report, as stored (never changed).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StateReport {
    pub id: i64,
    pub number: String,
    pub period_from: String,
    pub period_to: String,
    pub generated_at: i64,
    pub generated_by: String,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub audit_head: String,
    pub file_sha256: String,
    pub file_name: String,
    pub size: i64,
    /// The signed checkpoint of the state's chain the cover prints.
    pub checkpoint: String,
}

impl StateReport {
    pub fn generated_text(&self) -> String {
        crate::web::format_instant(self.generated_at)
    }
    pub fn period_text(&self) -> String {
        format!("{} to {}", self.period_from, self.period_to)
    }
}

/// What a statewide report holds of one agency.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Covered {
    pub agency_id: i64,
    pub ori: String,
    pub data_form: String,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub audit_head: String,
}

/// What the cover of a new report says, for the record.
pub struct Issue<'a> {
    pub number: &'a str,
    pub period_from: String,
    pub period_to: String,
    pub generated_at: i64,
    pub generated_by: &'a str,
    pub data_sha256: &'a str,
    pub audit_seq: i64,
    pub audit_head: &'a str,
    /// The signed checkpoint of the state's chain at that head.
    pub checkpoint: &'a str,
    pub agencies: &'a [Covered],
}

/// The number of the deployment's next statewide report in `year`:
/// S-YEAR-NNNN, one more than the reports issued (a taken number makes
/// `record` fail on the unique key and the caller renders again).
pub async fn next_number(db: &Db, year: i32) -> Result<String, sqlx::Error> {
    let issued: i64 = db::query_scalar("SELECT COUNT(*) FROM state_reports").fetch_one(db).await?;
    Ok(format!("S-{year}-{:04}", issued + 1))
}

/// Stores a new report with its agencies, recorded in the state's chain in
/// the same transaction (in a deployment of one agency too: the report is
/// the state's, not the agency's).
pub async fn record(
    db: &Db,
    actor: &Actor,
    issue: &Issue<'_>,
    stored: &crate::documents::files::Stored,
) -> Result<StateReport, sqlx::Error> {
    let mut tx = state_chain(db).begin_write().await?;
    let report: StateReport = db::query_as(&format!(
        "INSERT INTO state_reports (number, period_from, period_to, generated_at, generated_by, data_sha256, \
         audit_seq, audit_head, file_sha256, file_name, size, checkpoint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
    ))
    .bind(issue.number)
    .bind(&issue.period_from)
    .bind(&issue.period_to)
    .bind(issue.generated_at)
    .bind(issue.generated_by)
    .bind(issue.data_sha256)
    .bind(issue.audit_seq)
    .bind(issue.audit_head)
    .bind(&stored.sha256)
    .bind(&stored.name)
    .bind(stored.size as i64)
    .bind(issue.checkpoint)
    .fetch_one(&mut *tx)
    .await?;
    for a in issue.agencies {
        db::query(
            "INSERT INTO state_report_agencies (report_id, agency_id, data_form, data_sha256, audit_seq, audit_head) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(report.id)
        .bind(a.agency_id)
        .bind(&a.data_form)
        .bind(&a.data_sha256)
        .bind(a.audit_seq)
        .bind(&a.audit_head)
        .execute(&mut *tx)
        .await?;
    }
    let event = Event::new("state_report.generate", "state_report", report.id).details(json!({
        "number": report.number, "from": report.period_from, "to": report.period_to,
        "data_sha256": report.data_sha256, "file_sha256": report.file_sha256, "agencies": issue.agencies.len(),
    }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(report)
}

pub async fn list(db: &Db) -> Result<Vec<StateReport>, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM state_reports ORDER BY id DESC")).fetch_all(db).await
}

pub async fn get(db: &Db, id: i64) -> Result<StateReport, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM state_reports WHERE id = $1")).bind(id).fetch_one(db).await
}

/// The report whose file has this SHA-256, with what it holds of each
/// agency (in ORI order).
pub async fn find_by_file(db: &Db, sha256: &str) -> Result<Option<(StateReport, Vec<Covered>)>, sqlx::Error> {
    let found: Option<StateReport> =
        db::query_as(&format!("SELECT {COLUMNS} FROM state_reports WHERE file_sha256 = $1"))
            .bind(sha256)
            .fetch_optional(db)
            .await?;
    let Some(report) = found else { return Ok(None) };
    let covered = db::query_as(
        "SELECT c.agency_id, a.ori, c.data_form, c.data_sha256, c.audit_seq, c.audit_head \
         FROM state_report_agencies c JOIN agency a ON a.id = c.agency_id WHERE c.report_id = $1 ORDER BY a.ori",
    )
    .bind(report.id)
    .fetch_all(db)
    .await?;
    Ok(Some((report, covered)))
}

/// The state's audit chain, as a scope of no agency's records.
pub fn state_chain(db: &Db) -> Scope {
    Scope::of_agency(db, db::STATE_CHAIN)
}
