//! The compliance roster: each designated officer's standing for each
//! model, as current / due within 30 days / overdue / disqualified / not
//! authorized, with the reason; and the training measures T1-T4.

pub mod exceptions;
pub mod measures;
pub mod routes;

use time::{Date, Duration};

use crate::officers::Officer;
use crate::officers::authorization::{Due, Evidence, standing};
use crate::web::format_date;

/// Days ahead in which training counts as "due soon".
pub const DUE_SOON_DAYS: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Current,
    DueSoon,
    Overdue,
    Disqualified,
    NotAuthorized,
}

pub const STATUSES: [(Status, &str, &str); 5] = [
    (Status::Current, "current", "Current"),
    (Status::DueSoon, "due", "Due within 30 days"),
    (Status::Overdue, "overdue", "Overdue"),
    (Status::Disqualified, "disqualified", "Disqualified"),
    (Status::NotAuthorized, "not_authorized", "Not authorized"),
];

impl Status {
    pub fn code(self) -> &'static str {
        STATUSES.iter().find(|(s, _, _)| *s == self).map(|(_, c, _)| *c).unwrap_or("")
    }
    pub fn label(self) -> &'static str {
        STATUSES.iter().find(|(s, _, _)| *s == self).map(|(_, _, l)| *l).unwrap_or("")
    }
    /// The CSS modifier of the status tag (the label is always shown too).
    pub fn tone(self) -> &'static str {
        match self {
            Status::Current => "ok",
            Status::DueSoon => "warn",
            _ => "no",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compliance {
    pub status: Status,
    pub reason: String,
    pub next_due: Option<Due>,
}

impl Compliance {
    pub fn next_due_text(&self) -> String {
        self.next_due.as_ref().map(|d| format!("{} ({})", format_date(d.date), d.course)).unwrap_or_default()
    }
}

/// The officer's compliance for `model` on `today`.
pub fn assess(officer: &Officer, evidence: &Evidence, model: &str, today: Date) -> Compliance {
    let refresher = evidence.refresher_due(model, today);
    let agency = evidence.agency_due(today);
    let next_due = [refresher.clone(), agency.clone()].into_iter().flatten().min_by_key(|d| d.date);
    let verdict = |status, reason: String| Compliance { status, reason, next_due: next_due.clone() };
    if officer.status == "separated" {
        return verdict(Status::NotAuthorized, "separated from the agency".into());
    }
    if let Some(why) = evidence.disqualified(model, today) {
        return verdict(Status::Disqualified, why);
    }
    if let Some(due) = refresher.filter(|d| d.date < today) {
        return verdict(Status::Overdue, format!("{} was due {}", due.course, format_date(due.date)));
    }
    let standing = standing(officer, evidence, model, today);
    if !standing.is_authorized() {
        return verdict(Status::NotAuthorized, standing.reason().to_string());
    }
    if let Some(due) = agency.filter(|d| d.date < today) {
        return verdict(Status::Overdue, format!("{} was due {}", due.course, format_date(due.date)));
    }
    if let Some(due) = next_due.clone().filter(|d| d.date <= today + Duration::days(DUE_SOON_DAYS)) {
        return verdict(Status::DueSoon, format!("{} due {}", due.course, format_date(due.date)));
    }
    verdict(Status::Current, String::new())
}

/// Kinds of 287(g) action, and the models whose officers may take them
/// (docs/authorization.md: TFM officers act in the field; JEM officers lodge
/// detainers and prepare removal paperwork; WSO officers serve warrants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    FieldStop,
    Detainer,
    RemovalPaperwork,
    WarrantService,
}

impl ActionKind {
    pub fn models(self) -> &'static [&'static str] {
        match self {
            ActionKind::FieldStop => &["TFM"],
            ActionKind::Detainer | ActionKind::RemovalPaperwork => &["JEM", "TFM"],
            ActionKind::WarrantService => &["WSO"],
        }
    }
}

/// Why a 287(g) action by `officer` on `date` is a compliance exception,
/// or None when the officer was authorized for a model that allows it.
pub fn exception(officer: &Officer, evidence: &Evidence, kind: ActionKind, date: Date) -> Option<String> {
    let standings: Vec<_> = kind.models().iter().map(|m| (m, standing(officer, evidence, m, date))).collect();
    if standings.iter().any(|(_, s)| s.is_authorized()) {
        return None;
    }
    let reasons: Vec<String> = standings.iter().map(|(m, s)| format!("{m}: {}", s.reason())).collect();
    Some(format!("not authorized on {} ({})", format_date(date), reasons.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::officers::Designation;
    use crate::training::{Course, TrainingRecord};
    use time::macros::date;

    fn officer() -> Officer {
        Officer {
            id: 1,
            badge: "B1".into(),
            last_name: "Reyes".into(),
            first_name: "Ana".into(),
            rank: String::new(),
            unit: String::new(),
            hire_date: None,
            status: "active".into(),
            supervisor_id: None,
            annual_salary_cents: None,
        }
    }

    fn courses() -> Vec<Course> {
        let c = |id, kind: &str, models: &str, months| Course {
            id,
            name: format!("{kind} course"),
            kind: kind.into(),
            models: models.into(),
            required_hours: 8.0,
            max_hours: 200.0,
            validity_months: months,
            pass_mark: 70,
            remediation_attempts: 1,
            active: 1,
            effective_on: None,
        };
        vec![c(1, "initial", "JEM", None), c(2, "refresher", "JEM", Some(24)), c(3, "agency", "", Some(12))]
    }

    fn record(course_id: i64, on: &str, scores: &str) -> TrainingRecord {
        TrainingRecord {
            id: course_id,
            officer_id: 1,
            course_id,
            completed_on: on.into(),
            hours: 160.0,
            scores: scores.into(),
            provider: String::new(),
        }
    }

    fn designation() -> Designation {
        Designation {
            id: 1,
            officer_id: 1,
            model: "JEM".into(),
            nominated_on: Some("2024-01-10".into()),
            certified_on: Some("2024-03-01".into()),
            authorized_on: Some("2024-03-15".into()),
            ..Default::default()
        }
    }

    fn status_on(training: &[TrainingRecord], on: Date) -> Compliance {
        let c = courses();
        let d = [designation()];
        assess(&officer(), &Evidence { designations: &d, training, courses: &c }, "JEM", on)
    }

    #[test]
    fn every_status_is_reached() {
        let trained = [record(1, "2024-02-20", "90"), record(3, "2024-02-21", "")];
        assert_eq!(status_on(&trained, date!(2024 - 06 - 01)).status, Status::Current);
        assert_eq!(
            status_on(&trained, date!(2025 - 02 - 01)).status,
            Status::DueSoon,
            "agency course due 2025-02-21"
        );
        let due = status_on(&trained, date!(2025 - 02 - 01));
        assert_eq!(due.reason, "agency course due 2025-02-21");
        assert_eq!(status_on(&trained, date!(2025 - 03 - 01)).status, Status::Overdue);
        let refreshed_agency = [trained[0].clone(), record(3, "2025-12-01", "")];
        let overdue = status_on(&refreshed_agency, date!(2026 - 02 - 21));
        assert_eq!(
            (overdue.status, overdue.reason.as_str()),
            (Status::Overdue, "refresher course was due 2026-02-20")
        );
        assert_eq!(
            status_on(&[record(1, "2024-02-20", "40,50")], date!(2024 - 06 - 01)).status,
            Status::Disqualified
        );
        assert_eq!(status_on(&[], date!(2024 - 06 - 01)).status, Status::NotAuthorized);
    }
}
