//! Bulk entry of past training from CSV (`oversight import training`):
//! every row is checked as the form checks it, every problem is reported
//! with its line and column, and nothing is imported unless every row is
//! right. The import is one audit entry with the file's SHA-256.
//!
//! Columns (header row required, any order): badge, course, completed_on,
//! hours, and optionally scores (exam scores in order, separated by ';')
//! and provider. `course` is the catalog's course name.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{TrainingForm, store};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db;

pub const COLUMNS: [(&str, bool, &str); 6] = [
    ("badge", true, "The officer's badge number, as on the roster."),
    ("course", true, "The course name exactly as in the course catalog."),
    ("completed_on", true, "Date completed, YYYY-MM-DD, not in the future."),
    ("hours", true, "Hours completed, more than 0 and at most the course's maximum."),
    (
        "scores",
        false,
        "Exam scores 0-100 in the order taken, separated by ';' (e.g. 62;85). Empty if no exam.",
    ),
    ("provider", false, "Provider or instructor."),
];

/// The most problems listed; the count covers all of them.
const MAX_LISTED: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}, value \"{}\": {}", self.line, self.column, self.value, self.reason)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    pub problems: Vec<Problem>,
    pub problem_count: usize,
    pub sha256: String,
    pub already_imported: bool,
}

impl Report {
    fn problem(&mut self, line: u64, column: &str, value: &str, reason: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem {
                line,
                column: column.into(),
                value: value.into(),
                reason: reason.into(),
            });
        }
    }
}

/// Form fields named as the CSV columns.
fn column_of(field: &str) -> &str {
    if field == "course_id" { "course" } else { field }
}

pub async fn import(
    scope: &Scope,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
    force: bool,
) -> anyhow::Result<Report> {
    let mut report = Report { sha256: hex::encode(Sha256::digest(bytes)), ..Default::default() };
    let (seen,): (i64,) =
        db::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'training.import' AND details LIKE $1 AND agency_id = $2",
        )
        .bind(format!("%\"sha256\":\"{}\"%", report.sha256))
        .bind(scope.id())
        .fetch_one(scope)
        .await?;
    if seen > 0 && !force {
        report.already_imported = true;
        return Ok(report);
    }
    let courses = store::courses(scope, scope).await?;
    let officers = crate::officers::store::ids_by_badge(scope).await?;
    let today = crate::agency::store::get(scope).await?.today();

    let mut reader = crate::exchange::lines::Reader::new(
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true),
        bytes,
    );
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect(),
        Err(e) => {
            report.problem(1, "", "", format!("the header row cannot be read: {e}"));
            return Ok(report);
        }
    };
    for (name, required, _) in COLUMNS {
        if required && !headers.iter().any(|h| h == name) {
            report.problem(1, name, "", "this required column is missing from the header row");
        }
    }
    for h in &headers {
        if !COLUMNS.iter().any(|(name, _, _)| name == h) {
            report.problem(
                1,
                h,
                h,
                "unknown column; the columns are badge, course, completed_on, hours, scores, provider",
            );
        }
    }
    if report.problem_count > 0 {
        return Ok(report);
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = match reader.read_record(&mut record) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, e)) => {
                report.problem(line, "", "", format!("the row cannot be read as CSV: {e}"));
                continue;
            }
        };
        let get = |name: &str| {
            headers.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or("").to_string()
        };
        let badge = get("badge");
        let officer = officers.get(&crate::officers::store::badge_key(&badge)).copied();
        if officer.is_none() {
            report.problem(line, "badge", &badge, "no officer has this badge number");
        }
        let course_name = get("course");
        let course = courses.iter().find(|c| c.name.eq_ignore_ascii_case(&course_name));
        let form = TrainingForm {
            course_id: course.map(|c| c.id.to_string()).unwrap_or_default(),
            completed_on: get("completed_on"),
            hours: get("hours"),
            scores: get("scores").replace(';', ","),
            provider: get("provider"),
        };
        match form.validate(&courses, today) {
            Ok(parsed) => {
                if let Some(officer) = officer {
                    rows.push((officer, parsed));
                }
            }
            Err(errors) => {
                for (field, message) in errors.iter() {
                    let column = column_of(field);
                    let value = if column == "course" { course_name.clone() } else { get(column) };
                    let reason = if column == "course" && course.is_none() {
                        "no course in the catalog has this name".to_string()
                    } else {
                        message.clone()
                    };
                    report.problem(line, column, &value, reason);
                }
            }
        }
    }
    if report.problem_count > 0 {
        return Ok(report);
    }
    let mut tx = scope.begin_write().await?;
    for (officer, row) in &rows {
        store::insert_record(&mut tx, *officer, row).await?;
    }
    let details = json!({ "file": file_name, "sha256": report.sha256, "rows": rows.len(), "forced": force && seen > 0 });
    audit::record(&mut tx, actor, Event::new("training.import", "training_record", "").details(details))
        .await?;
    crate::compliance::exceptions::refresh(&mut tx, actor, None).await?;
    tx.commit().await?;
    report.imported = rows.len();
    Ok(report)
}
