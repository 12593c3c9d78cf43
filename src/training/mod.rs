//! Training: the course catalog (administrators) and officers' training
//! records with their exam attempts (records clerks), and the rules of the
//! agreement on exams: a pass mark, at most the allowed remediation
//! attempts after a failure, and disqualification after a further failure.

pub mod import;
pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::web::{FieldErrors, format_date, optional_date, parse_date};

pub const KINDS: [(&str, &str); 3] = [
    ("initial", "287(g) initial training"),
    ("refresher", "287(g) refresher"),
    ("agency", "Agency-mandated"),
];

pub fn kind_label(code: &str) -> &'static str {
    KINDS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or("Other")
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct Course {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// Comma-separated models; empty means every model.
    pub models: String,
    pub required_hours: f64,
    pub max_hours: f64,
    pub validity_months: Option<i64>,
    pub pass_mark: i64,
    pub remediation_attempts: i64,
    pub active: i64,
    /// The day the course became required (YYYY-MM-DD); None for a course
    /// in effect before any officer was nominated.
    pub effective_on: Option<String>,
}

impl Course {
    pub fn applies_to(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.split(',').any(|m| m == model)
    }
    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.kind)
    }
    pub fn models_text(&self) -> String {
        if self.models.is_empty() { "All models".into() } else { self.models.replace(',', ", ") }
    }
    pub fn required_hours_text(&self) -> String {
        format_hours(self.required_hours)
    }
    pub fn validity_text(&self) -> String {
        match self.validity_months {
            Some(m) => format!("{m} months"),
            None => "Once".into(),
        }
    }
    pub fn effective_date(&self) -> Option<Date> {
        self.effective_on.as_deref().and_then(parse_date)
    }
    /// Exam attempts allowed in all: the first and the remediation ones.
    pub fn attempts_allowed(&self) -> usize {
        1 + self.remediation_attempts.max(0) as usize
    }
}

/// A training record as stored.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct TrainingRecord {
    pub id: i64,
    pub officer_id: i64,
    pub course_id: i64,
    pub completed_on: String,
    pub hours: f64,
    pub scores: String,
    pub provider: String,
}

/// What the exam attempts of a record add up to under the course's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No exam recorded: attendance completes the course.
    Attended,
    Passed {
        first_attempt: bool,
    },
    /// Failed, with a remediation attempt still allowed.
    AwaitingRemediation,
    /// Failed the first attempt and every remediation attempt.
    Disqualified,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Attended => "Completed (no exam)",
            Outcome::Passed { first_attempt: true } => "Passed",
            Outcome::Passed { first_attempt: false } => "Passed on remediation",
            Outcome::AwaitingRemediation => "Failed: remediation exam allowed",
            Outcome::Disqualified => "Failed after remediation: disqualified",
        }
    }
    pub fn completes(self) -> bool {
        matches!(self, Outcome::Attended | Outcome::Passed { .. })
    }
}

pub fn parse_scores(text: &str) -> Result<Vec<i64>, String> {
    text.split([',', ';', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(|s| match s.trim().parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => Ok(n),
            _ => Err(format!("\"{}\" is not a score from 0 to 100.", s.trim())),
        })
        .collect()
}

impl TrainingRecord {
    pub fn score_list(&self) -> Vec<i64> {
        parse_scores(&self.scores).unwrap_or_default()
    }

    pub fn date(&self) -> Option<Date> {
        parse_date(&self.completed_on)
    }

    pub fn outcome(&self, course: &Course) -> Outcome {
        let scores = self.score_list();
        if scores.is_empty() {
            return Outcome::Attended;
        }
        if scores.iter().any(|s| *s >= course.pass_mark) {
            return Outcome::Passed { first_attempt: scores[0] >= course.pass_mark };
        }
        if scores.len() >= course.attempts_allowed() {
            Outcome::Disqualified
        } else {
            Outcome::AwaitingRemediation
        }
    }

    /// Whether the record satisfies the course: completed with at least the
    /// required hours.
    pub fn meets(&self, course: &Course) -> bool {
        self.outcome(course).completes() && self.hours + 1e-9 >= course.required_hours
    }

    pub fn scores_text(&self) -> String {
        self.score_list().iter().map(|s| format!("{s}%")).collect::<Vec<_>>().join(", ")
    }

    pub fn hours_text(&self) -> String {
        format_hours(self.hours)
    }
}

pub fn format_hours(hours: f64) -> String {
    if (hours - hours.round()).abs() < 1e-9 { format!("{hours:.0}") } else { format!("{hours:.1}") }
}

/// The date `months` months after `date`, on the same day or the month's
/// last day when it has no such day (31 January + 1 month = 28/29 February).
pub fn add_months(date: Date, months: i64) -> Date {
    let total = date.year() as i64 * 12 + (date.month() as i64 - 1) + months;
    let year = total.div_euclid(12) as i32;
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::January);
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, date.day().min(last)).unwrap_or(date)
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CourseForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub required_hours: String,
    #[serde(default)]
    pub max_hours: String,
    #[serde(default)]
    pub validity_months: String,
    #[serde(default)]
    pub effective_on: String,
    #[serde(default)]
    pub pass_mark: String,
    #[serde(default)]
    pub remediation_attempts: String,
    #[serde(default)]
    pub active: String,
}

fn number(errors: &mut FieldErrors, field: &'static str, value: &str, message: &str) -> Option<f64> {
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
        _ => {
            errors.add(field, message);
            None
        }
    }
}

impl CourseForm {
    pub fn from_course(c: &Course) -> Self {
        Self {
            name: c.name.clone(),
            kind: c.kind.clone(),
            models: c.models.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect(),
            required_hours: format_hours(c.required_hours),
            max_hours: format_hours(c.max_hours),
            validity_months: c.validity_months.map(|m| m.to_string()).unwrap_or_default(),
            effective_on: c.effective_on.clone().unwrap_or_default(),
            pass_mark: c.pass_mark.to_string(),
            remediation_attempts: c.remediation_attempts.to_string(),
            active: if c.active != 0 { "1".into() } else { String::new() },
        }
    }

    pub fn has_model(&self, code: &&str) -> bool {
        self.models.iter().any(|m| m == code)
    }

    pub fn validate(&self, id: i64) -> Result<Course, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 150 {
            errors.add("name", "Enter the course name (up to 150 characters).");
        }
        if !KINDS.iter().any(|(c, _)| *c == self.kind) {
            errors.add("kind", "Choose the kind of course.");
        }
        let models: Vec<&str> = crate::agency::MODELS
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| self.models.iter().any(|m| m == c))
            .collect();
        if models.len() != self.models.len() {
            errors.add("models", "Choose models from the list.");
        }
        let required = number(
            &mut errors,
            "required_hours",
            &self.required_hours,
            "Enter the required hours, for example 40.",
        );
        let max =
            number(&mut errors, "max_hours", &self.max_hours, "Enter the most hours a record may show.");
        if let (Some(r), Some(m)) = (required, max) {
            if m < r || m == 0.0 {
                errors.add("max_hours", "The most hours cannot be less than the required hours.");
            }
        }
        let validity_months = match self.validity_months.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(m) if (1..=120).contains(&m) => Some(m),
                _ => {
                    errors.add(
                        "validity_months",
                        "Enter whole months from 1 to 120, or leave empty for a course taken once.",
                    );
                    None
                }
            },
        };
        if self.kind == "refresher" && validity_months.is_none() && !errors.has("validity_months") {
            errors.add("validity_months", "A refresher needs the months after which it is due again.");
        }
        let effective_on =
            optional_date(&mut errors, "effective_on", "The date it takes effect", &self.effective_on);
        // A new agency course with no date would be due from every
        // officer's nomination, so overdue for all of them at once.
        if self.kind == "agency" && id == 0 && effective_on.is_none() && !errors.has("effective_on") {
            errors.add(
                "effective_on",
                "Enter the date the course takes effect: officers nominated before it have until then to complete it.",
            );
        }
        let pass_mark = match self.pass_mark.trim().parse::<i64>() {
            Ok(p) if (1..=100).contains(&p) => p,
            _ => {
                errors.add("pass_mark", "Enter the pass mark as a percentage from 1 to 100.");
                0
            }
        };
        let remediation_attempts = match self.remediation_attempts.trim().parse::<i64>() {
            Ok(r) if (0..=5).contains(&r) => r,
            _ => {
                errors.add("remediation_attempts", "Enter how many remediation exams are allowed (0 to 5).");
                0
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Course {
            id,
            name,
            kind: self.kind.clone(),
            models: models.join(","),
            required_hours: required.unwrap_or(0.0),
            max_hours: max.unwrap_or(0.0),
            validity_months,
            pass_mark,
            remediation_attempts,
            active: (!self.active.is_empty()) as i64,
            effective_on: effective_on.map(format_date),
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TrainingForm {
    #[serde(default)]
    pub course_id: String,
    #[serde(default)]
    pub completed_on: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub scores: String,
    #[serde(default)]
    pub provider: String,
}

impl TrainingForm {
    pub fn from_record(r: &TrainingRecord) -> Self {
        Self {
            course_id: r.course_id.to_string(),
            completed_on: r.completed_on.clone(),
            hours: format_hours(r.hours),
            scores: r.score_list().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            provider: r.provider.clone(),
        }
    }

    /// Checks the record against its course; `today` is the agency's date.
    pub fn validate(&self, courses: &[Course], today: Date) -> Result<TrainingRecord, FieldErrors> {
        let mut errors = FieldErrors::default();
        let course =
            self.course_id.trim().parse::<i64>().ok().and_then(|id| courses.iter().find(|c| c.id == id));
        if course.is_none() {
            errors.add("course_id", "Choose the course from the catalog.");
        }
        let date = optional_date(&mut errors, "completed_on", "The completion date", &self.completed_on);
        if date.is_none() && !errors.has("completed_on") {
            errors.add("completed_on", "Enter the date the course was completed.");
        }
        if date.is_some_and(|d| d > today) {
            errors.add("completed_on", "The completion date cannot be in the future.");
        }
        let hours = match self.hours.trim().parse::<f64>() {
            Ok(h) if h.is_finite() && h > 0.0 => Some(h),
            _ => {
                errors.add("hours", "Enter the hours completed, for example 40 or 7.5.");
                None
            }
        };
        if let (Some(h), Some(c)) = (hours, course) {
            if h > c.max_hours {
                errors
                    .add("hours", format!("{} allows at most {} hours.", c.name, format_hours(c.max_hours)));
            }
        }
        let scores = match parse_scores(&self.scores) {
            Ok(scores) => scores,
            Err(why) => {
                errors.add("scores", why);
                Vec::new()
            }
        };
        if let Some(c) = course {
            if scores.len() > c.attempts_allowed() {
                errors.add(
                    "scores",
                    format!(
                        "The agreement allows {} for this course: the first and {}.",
                        crate::web::counted(c.attempts_allowed(), "exam attempt", "exam attempts"),
                        crate::web::counted(c.remediation_attempts, "remediation", "remediations")
                    ),
                );
            } else if let Some(pass) = scores.iter().position(|s| *s >= c.pass_mark) {
                if pass + 1 < scores.len() {
                    errors.add(
                        "scores",
                        "No exam is taken after a pass: remove the attempts after the passing score.",
                    );
                }
            }
        }
        let provider = self.provider.trim().to_string();
        if provider.chars().count() > 150 {
            errors.add("provider", "Use at most 150 characters.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TrainingRecord {
            id: 0,
            officer_id: 0,
            course_id: course.map(|c| c.id).unwrap_or(0),
            completed_on: date.map(format_date).unwrap_or_default(),
            hours: hours.unwrap_or(0.0),
            scores: scores.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
            provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub fn course() -> Course {
        Course {
            id: 1,
            name: "TFM basic".into(),
            kind: "initial".into(),
            models: "TFM".into(),
            required_hours: 40.0,
            max_hours: 60.0,
            validity_months: None,
            pass_mark: 70,
            remediation_attempts: 1,
            active: 1,
            effective_on: None,
        }
    }

    fn record(scores: &str) -> TrainingRecord {
        TrainingRecord {
            id: 1,
            officer_id: 1,
            course_id: 1,
            completed_on: "2025-01-10".into(),
            hours: 40.0,
            scores: scores.into(),
            provider: String::new(),
        }
    }

    #[test]
    fn exam_outcomes_follow_the_agreement() {
        let c = course();
        assert_eq!(record("").outcome(&c), Outcome::Attended);
        assert_eq!(record("70").outcome(&c), Outcome::Passed { first_attempt: true });
        assert_eq!(record("69").outcome(&c), Outcome::AwaitingRemediation);
        assert_eq!(record("55,82").outcome(&c), Outcome::Passed { first_attempt: false });
        assert_eq!(record("55,60").outcome(&c), Outcome::Disqualified);
        assert!(!record("55").meets(&c));
        let short = TrainingRecord { hours: 39.5, ..record("90") };
        assert!(!short.meets(&c), "hours short of the requirement");
    }

    #[test]
    fn a_record_is_checked_against_its_course() {
        let today = date!(2026 - 01 - 01);
        let form = |hours: &str, scores: &str, when: &str| TrainingForm {
            course_id: "1".into(),
            completed_on: when.into(),
            hours: hours.into(),
            scores: scores.into(),
            provider: "ICE Academy".into(),
        };
        assert!(form("40", "55, 82", "2025-06-01").validate(&[course()], today).is_ok());
        let e = form("61", "101", "2026-02-01").validate(&[course()], today).unwrap_err();
        assert!(e.has("hours") && e.has("scores") && e.has("completed_on"));
        let e = form("40", "50,55,60", "2025-06-01").validate(&[course()], today).unwrap_err();
        assert!(e.get("scores").unwrap().contains("allows 2 exam attempt"));
        let e = form("40", "80,90", "2025-06-01").validate(&[course()], today).unwrap_err();
        assert!(e.get("scores").unwrap().contains("after a pass"));
    }

    #[test]
    fn months_are_added_on_the_calendar() {
        assert_eq!(add_months(date!(2024 - 03 - 15), 24), date!(2026 - 03 - 15));
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2024 - 11 - 30), 3), date!(2025 - 02 - 28));
    }
}
