//! Whether an officer may act under 287(g) for a model on a date, and if
//! not, the first requirement missing, in the order of docs/authorization.md: not
//! separated, nominated, initial training passed (and not disqualified),
//! certified by ICE, authorization letter in force (through its expiry
//! day), not withdrawn, refresher not overdue.
//!
//! Each designation period is judged on its own, so a withdrawal followed
//! by a new designation authorizes again from the new letter. Training is
//! the officer's, whichever period it was taken in.

use time::Date;

use super::{Designation, Officer};
use crate::training::{Course, Outcome, TrainingRecord, add_months};
use crate::web::format_date;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Authorized,
    /// The first missing requirement, in words for the officer page.
    NotAuthorized(String),
}

impl Standing {
    pub fn is_authorized(&self) -> bool {
        matches!(self, Standing::Authorized)
    }
    pub fn reason(&self) -> &str {
        match self {
            Standing::Authorized => "",
            Standing::NotAuthorized(why) => why,
        }
    }
}

/// Everything recorded about one officer that authorization depends on.
#[derive(Clone, Copy)]
pub struct Evidence<'a> {
    pub designations: &'a [Designation],
    pub training: &'a [TrainingRecord],
    pub courses: &'a [Course],
}

/// When a course falls due again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub course: String,
    pub date: Date,
}

impl<'a> Evidence<'a> {
    fn required(&self, model: &'a str, kind: &'a str) -> impl Iterator<Item = &'a Course> + 'a {
        self.courses.iter().filter(move |c| c.active != 0 && c.kind == kind && c.applies_to(model))
    }

    /// The officer's records of a course completed on or before `date`.
    fn taken(&self, course: &'a Course, date: Date) -> impl Iterator<Item = &'a TrainingRecord> + 'a {
        self.training.iter().filter(move |r| r.course_id == course.id && r.date().is_some_and(|d| d <= date))
    }

    fn last_met(&self, course: &Course, date: Date) -> Option<Date> {
        self.taken(course, date).filter(|r| r.meets(course)).filter_map(|r| r.date()).max()
    }

    /// A failed exam after every remediation attempt disqualifies the
    /// officer for that course (docs/authorization.md: a second failure disqualifies).
    pub fn disqualified(&self, model: &str, date: Date) -> Option<String> {
        ["initial", "refresher"].into_iter().flat_map(|kind| self.required(model, kind)).find_map(|course| {
            self.taken(course, date).find(|r| r.outcome(course) == Outcome::Disqualified).map(|r| {
                format!(
                    "disqualified: failed the {} exam after remediation ({})",
                    course.name, r.completed_on
                )
            })
        })
    }

    /// The first initial course for `model` not completed by `date`.
    pub fn initial_gap(&self, model: &str, date: Date) -> Option<String> {
        self.required(model, "initial").find_map(|course| {
            if self.last_met(course, date).is_some() {
                return None;
            }
            let latest = self.taken(course, date).max_by_key(|r| (r.completed_on.clone(), r.id));
            Some(match latest {
                Some(r) if r.outcome(course) == Outcome::AwaitingRemediation => {
                    format!("{}: exam failed, remediation exam not yet passed", course.name)
                }
                Some(r) if r.outcome(course).completes() => format!(
                    "{}: {} of {} required hours",
                    course.name,
                    crate::training::format_hours(r.hours),
                    crate::training::format_hours(course.required_hours)
                ),
                _ => format!("{} not completed", course.name),
            })
        })
    }

    /// The earliest refresher due for `model`, counted from the latest
    /// completion of the initial course or of the refresher, as known on
    /// `date`. None when no refresher applies or no training is complete.
    pub fn refresher_due(&self, model: &str, date: Date) -> Option<Due> {
        let initial = self.required(model, "initial").filter_map(|c| self.last_met(c, date)).max();
        self.required(model, "refresher")
            .filter_map(|course| {
                let anchor = self.last_met(course, date).into_iter().chain(initial).max()?;
                let months = course.validity_months?;
                Some(Due { course: course.name.clone(), date: add_months(anchor, months) })
            })
            .min_by_key(|due| due.date)
    }

    /// The earliest agency-mandated course due. A course never completed is
    /// due from the day the officer was first nominated or the day the
    /// course took effect, whichever is later: a new course does not make
    /// every officer overdue at once.
    pub fn agency_due(&self, date: Date) -> Option<Due> {
        let first_nomination =
            self.designations.iter().filter_map(|d| Designation::date(&d.nominated_on)).min()?;
        self.courses
            .iter()
            .filter(|c| c.active != 0 && c.kind == "agency")
            .filter_map(|course| {
                let due = match (self.last_met(course, date), course.validity_months) {
                    (Some(last), Some(months)) => add_months(last, months),
                    (Some(_), None) => return None,
                    (None, _) => {
                        course.effective_date().map_or(first_nomination, |e| e.max(first_nomination))
                    }
                };
                Some(Due { course: course.name.clone(), date: due })
            })
            .min_by_key(|due| due.date)
    }
}

/// One period's standing on `date`.
fn period_standing(d: &Designation, evidence: &Evidence, date: Date) -> Standing {
    let on = |v: &Option<String>| Designation::date(v);
    let not = |why: String| Standing::NotAuthorized(why);
    match on(&d.nominated_on) {
        Some(n) if n <= date => {}
        _ => return not("not nominated on this date".into()),
    }
    if let Some(why) = evidence.disqualified(&d.model, date) {
        return not(why);
    }
    if let Some(why) = evidence.initial_gap(&d.model, date) {
        return not(why);
    }
    match on(&d.certified_on) {
        Some(c) if c <= date => {}
        _ => return not("not yet certified by ICE".into()),
    }
    match on(&d.authorized_on) {
        Some(a) if a <= date => {}
        _ => return not("no authorization letter in force yet".into()),
    }
    if let Some(w) = on(&d.withdrawn_on).filter(|w| *w <= date) {
        return not(format!("authorization withdrawn on {}: {}", format_date(w), d.withdrawal_reason));
    }
    if let Some(e) = on(&d.authorization_expires_on).filter(|e| *e < date) {
        return not(format!("authorization expired on {}", format_date(e)));
    }
    if let Some(due) = evidence.refresher_due(&d.model, date).filter(|due| due.date < date) {
        return not(format!("refresher overdue: {} was due {}", due.course, format_date(due.date)));
    }
    Standing::Authorized
}

/// The officer's standing for `model` on `date`: the one rule every page,
/// filter, measure and later check uses.
pub fn standing(officer: &Officer, evidence: &Evidence, model: &str, date: Date) -> Standing {
    if officer.status == "separated" {
        return Standing::NotAuthorized("separated from the agency".into());
    }
    let periods: Vec<&Designation> = evidence.designations.iter().filter(|d| d.model == model).collect();
    if periods.is_empty() {
        return Standing::NotAuthorized(format!("no {model} designation"));
    }
    if periods.iter().any(|d| period_standing(d, evidence, date).is_authorized()) {
        return Standing::Authorized;
    }
    // The reason worth showing is the one of the latest period begun by
    // that date (or, failing that, the earliest one yet to begin).
    let latest = periods
        .iter()
        .filter(|d| Designation::date(&d.nominated_on).is_some_and(|n| n <= date))
        .max_by_key(|d| (Designation::date(&d.nominated_on), d.id))
        .or_else(|| periods.iter().min_by_key(|d| (Designation::date(&d.nominated_on), d.id)));
    latest
        .map(|d| period_standing(d, evidence, date))
        .unwrap_or(Standing::NotAuthorized("no designation".into()))
}

/// The evidence of every officer, loaded once for a list or a measure.
#[derive(Default)]
pub struct EvidenceSet {
    pub designations: std::collections::HashMap<i64, Vec<Designation>>,
    pub training: std::collections::HashMap<i64, Vec<TrainingRecord>>,
    pub courses: Vec<Course>,
}

impl EvidenceSet {
    pub fn new(designations: Vec<Designation>, training: Vec<TrainingRecord>, courses: Vec<Course>) -> Self {
        let mut set = EvidenceSet { courses, ..Default::default() };
        for d in designations {
            set.designations.entry(d.officer_id).or_default().push(d);
        }
        for t in training {
            set.training.entry(t.officer_id).or_default().push(t);
        }
        set
    }

    pub fn of(&self, officer_id: i64) -> Evidence<'_> {
        Evidence {
            designations: self.designations.get(&officer_id).map(Vec::as_slice).unwrap_or(&[]),
            training: self.training.get(&officer_id).map(Vec::as_slice).unwrap_or(&[]),
            courses: &self.courses,
        }
    }
}

/// True when the officer is authorized for any model on `date`.
pub fn authorized_for_any(officer: &Officer, evidence: &Evidence, date: Date) -> bool {
    crate::agency::MODELS.iter().any(|(m, _)| standing(officer, evidence, m, date).is_authorized())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn jem(id: i64) -> Designation {
        Designation {
            id,
            officer_id: 1,
            model: "JEM".into(),
            nominated_on: Some("2024-01-10".into()),
            certified_on: Some("2024-03-01".into()),
            authorized_on: Some("2024-03-15".into()),
            authorization_expires_on: Some("2026-09-15".into()),
            ..Default::default()
        }
    }

    fn tfm() -> Designation {
        Designation { id: 9, model: "TFM".into(), authorization_expires_on: None, ..jem(9) }
    }

    fn officer(status: &str) -> Officer {
        Officer {
            id: 1,
            badge: "B1".into(),
            last_name: "Reyes".into(),
            first_name: "Ana".into(),
            rank: String::new(),
            unit: String::new(),
            hire_date: None,
            status: status.into(),
            supervisor_id: None,
            annual_salary_cents: None,
        }
    }

    fn course(id: i64, kind: &str, model: &str, hours: f64, months: Option<i64>) -> Course {
        Course {
            id,
            name: format!("{model} {kind}"),
            kind: kind.into(),
            models: model.into(),
            required_hours: hours,
            max_hours: hours * 2.0,
            validity_months: months,
            pass_mark: 70,
            remediation_attempts: 1,
            active: 1,
            effective_on: None,
        }
    }

    /// JEM: 160 h initial and a refresher every 24 months; TFM: 40 h
    /// initial, no refresher.
    fn catalog() -> Vec<Course> {
        vec![
            course(1, "initial", "JEM", 160.0, None),
            course(2, "refresher", "JEM", 40.0, Some(24)),
            course(3, "initial", "TFM", 40.0, None),
        ]
    }

    fn taken(id: i64, course_id: i64, on: &str, hours: f64, scores: &str) -> TrainingRecord {
        TrainingRecord {
            id,
            officer_id: 1,
            course_id,
            completed_on: on.into(),
            hours,
            scores: scores.into(),
            provider: String::new(),
        }
    }

    fn judge(d: &[Designation], t: &[TrainingRecord], model: &str, on: Date) -> Standing {
        let courses = catalog();
        standing(&officer("active"), &Evidence { designations: d, training: t, courses: &courses }, model, on)
    }

    fn jem_trained() -> Vec<TrainingRecord> {
        vec![taken(1, 1, "2024-02-20", 160.0, "88")]
    }

    #[test]
    fn authorized_from_the_letter_through_the_expiry_day() {
        let d = [jem(1)];
        let t = jem_trained();
        assert_eq!(
            judge(&d, &t, "JEM", date!(2024 - 03 - 14)).reason(),
            "no authorization letter in force yet"
        );
        assert!(judge(&d, &t, "JEM", date!(2024 - 03 - 15)).is_authorized());
        let renewed = [Designation { authorization_expires_on: Some("2025-06-30".into()), ..jem(1) }];
        assert!(
            judge(&renewed, &t, "JEM", date!(2025 - 06 - 30)).is_authorized(),
            "the expiry day itself counts"
        );
        assert_eq!(
            judge(&renewed, &t, "JEM", date!(2025 - 07 - 01)).reason(),
            "authorization expired on 2025-06-30"
        );
    }

    #[test]
    fn the_first_missing_requirement_is_named() {
        let mut d = jem(1);
        d.certified_on = None;
        assert_eq!(
            judge(&[d.clone()], &[], "JEM", date!(2025 - 01 - 01)).reason(),
            "JEM initial not completed",
            "training comes before certification"
        );
        assert_eq!(
            judge(&[d], &jem_trained(), "JEM", date!(2025 - 01 - 01)).reason(),
            "not yet certified by ICE"
        );
        let short = [taken(1, 1, "2024-02-20", 120.0, "88")];
        assert_eq!(
            judge(&[jem(1)], &short, "JEM", date!(2025 - 01 - 01)).reason(),
            "JEM initial: 120 of 160 required hours"
        );
    }

    #[test]
    fn a_failed_exam_then_remediation_then_disqualification() {
        let d = [jem(1)];
        let failed = [taken(1, 1, "2024-02-20", 160.0, "55")];
        assert_eq!(
            judge(&d, &failed, "JEM", date!(2024 - 04 - 01)).reason(),
            "JEM initial: exam failed, remediation exam not yet passed"
        );
        let remediated = [taken(1, 1, "2024-02-20", 160.0, "55,81")];
        assert!(judge(&d, &remediated, "JEM", date!(2024 - 04 - 01)).is_authorized());
        let twice = [taken(1, 1, "2024-02-20", 160.0, "55,60")];
        assert_eq!(
            judge(&d, &twice, "JEM", date!(2024 - 04 - 01)).reason(),
            "disqualified: failed the JEM initial exam after remediation (2024-02-20)"
        );
        // A later record does not lift the disqualification.
        let retaken = [taken(1, 1, "2024-02-20", 160.0, "55,60"), taken(2, 1, "2024-06-01", 160.0, "95")];
        assert!(judge(&d, &retaken, "JEM", date!(2024 - 07 - 01)).reason().starts_with("disqualified"));
    }

    #[test]
    fn a_refresher_is_due_24_months_after_the_latest_training() {
        let d = [Designation { authorization_expires_on: None, ..jem(1) }];
        let t = jem_trained();
        assert!(judge(&d, &t, "JEM", date!(2026 - 02 - 20)).is_authorized(), "due day itself");
        assert_eq!(
            judge(&d, &t, "JEM", date!(2026 - 02 - 21)).reason(),
            "refresher overdue: JEM refresher was due 2026-02-20",
            "overdue by one day"
        );
        let refreshed = [t[0].clone(), taken(2, 2, "2026-01-15", 40.0, "90")];
        assert!(judge(&d, &refreshed, "JEM", date!(2027 - 06 - 01)).is_authorized());
        assert!(!judge(&d, &refreshed, "JEM", date!(2028 - 01 - 16)).is_authorized());
    }

    #[test]
    fn withdrawal_ends_authority_on_its_day_and_a_new_period_restores_it() {
        let t = jem_trained();
        let mut first = jem(1);
        first.withdrawn_on = Some("2025-01-20".into());
        first.withdrawal_reason = "ICE written notice".into();
        assert!(judge(&[first.clone()], &t, "JEM", date!(2025 - 01 - 19)).is_authorized());
        assert_eq!(
            judge(&[first.clone()], &t, "JEM", date!(2025 - 01 - 20)).reason(),
            "authorization withdrawn on 2025-01-20: ICE written notice"
        );
        let second = Designation {
            id: 2,
            nominated_on: Some("2025-06-01".into()),
            certified_on: Some("2025-07-01".into()),
            authorized_on: Some("2025-07-10".into()),
            authorization_expires_on: None,
            ..jem(2)
        };
        let both = [first, second];
        assert_eq!(judge(&both, &t, "JEM", date!(2025 - 06 - 15)).reason(), "not yet certified by ICE");
        assert!(judge(&both, &t, "JEM", date!(2025 - 07 - 10)).is_authorized());
    }

    #[test]
    fn two_models_follow_their_own_rules() {
        let d = [jem(1), tfm()];
        let t = [taken(1, 1, "2024-02-20", 160.0, "88"), taken(2, 3, "2024-02-25", 40.0, "75")];
        // Three years on, JEM needs its refresher; TFM has none in the catalog.
        let later = date!(2026 - 08 - 01);
        assert!(judge(&d, &t, "JEM", later).reason().starts_with("refresher overdue"));
        assert!(judge(&d, &t, "TFM", later).is_authorized());
        assert_eq!(judge(&d, &t, "WSO", later).reason(), "no WSO designation");
        let courses = catalog();
        let ev = Evidence { designations: &d, training: &t, courses: &courses };
        assert!(authorized_for_any(&officer("on_leave"), &ev, later));
        assert_eq!(standing(&officer("separated"), &ev, "TFM", later).reason(), "separated from the agency");
    }

    #[test]
    fn agency_courses_fall_due_from_nomination_then_yearly() {
        let mut courses = catalog();
        courses.push(course(4, "agency", "", 4.0, Some(12)));
        let d = [jem(1)];
        let none: [TrainingRecord; 0] = [];
        let ev = Evidence { designations: &d, training: &none, courses: &courses };
        assert_eq!(ev.agency_due(date!(2025 - 01 - 01)).unwrap().date, date!(2024 - 01 - 10));
        let t = [taken(1, 4, "2024-05-02", 4.0, "")];
        let ev = Evidence { designations: &d, training: &t, courses: &courses };
        assert_eq!(ev.agency_due(date!(2025 - 01 - 01)).unwrap().date, date!(2025 - 05 - 02));
    }

    #[test]
    fn a_new_agency_course_falls_due_from_its_effective_date() {
        let mut courses = catalog();
        courses.push(Course {
            effective_on: Some("2026-12-01".into()),
            ..course(4, "agency", "", 4.0, Some(12))
        });
        let none: [TrainingRecord; 0] = [];
        // Nominated in 2024: the course is owed from the day it took effect.
        let d = [jem(1)];
        let ev = Evidence { designations: &d, training: &none, courses: &courses };
        assert_eq!(ev.agency_due(date!(2026 - 11 - 15)).unwrap().date, date!(2026 - 12 - 01));
        // Nominated after it took effect: from the nomination, as before.
        let later = [Designation { nominated_on: Some("2027-02-01".into()), ..jem(1) }];
        let ev = Evidence { designations: &later, training: &none, courses: &courses };
        assert_eq!(ev.agency_due(date!(2027 - 03 - 01)).unwrap().date, date!(2027 - 02 - 01));
        // Once completed, a year from the completion.
        let t = [taken(1, 4, "2026-11-20", 4.0, "")];
        let ev = Evidence { designations: &d, training: &t, courses: &courses };
        assert_eq!(ev.agency_due(date!(2027 - 01 - 01)).unwrap().date, date!(2027 - 11 - 20));
    }
}
