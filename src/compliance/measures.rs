//! Training and authorization measures T1-T4 (docs/measures.md), computed from
//! the records for any period.

use std::collections::BTreeSet;

use crate::measures::{Better, Figure, Measure, Period, Unit};
use crate::officers::Officer;
use crate::officers::authorization::EvidenceSet;
use crate::training::Outcome;

/// T3's target until targets become agency settings: hours per designated
/// officer in the period.
pub const T3_TARGET_HOURS: f64 = 8.0;

/// Officers with a 287(g) designation in the period, and those models.
fn designated(officers: &[Officer], set: &EvidenceSet, period: Period) -> Vec<(i64, BTreeSet<String>)> {
    officers
        .iter()
        .filter(|o| o.status != "separated")
        .filter_map(|o| {
            let models: BTreeSet<String> = set
                .of(o.id)
                .designations
                .iter()
                .filter(|d| {
                    let nominated = crate::officers::Designation::date(&d.nominated_on);
                    let withdrawn = crate::officers::Designation::date(&d.withdrawn_on);
                    nominated.is_some_and(|n| n <= period.to) && withdrawn.is_none_or(|w| w >= period.from)
                })
                .map(|d| d.model.clone())
                .collect();
            (!models.is_empty()).then_some((o.id, models))
        })
        .collect()
}

/// What one designated officer adds to T1-T4 in a period: the dashboard's
/// "records behind" a training measure list exactly these officers.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub officer_id: i64,
    /// Required training current at period end (T1's numerator).
    pub current: bool,
    /// A refresher past due at period end (T2).
    pub overdue: bool,
    /// Hours of training records dated in the period (T3's numerator).
    pub hours: f64,
    /// Exams taken and passed at the first attempt (T4).
    pub exams: usize,
    pub first_pass: usize,
    /// Training records in the period, and those without an exam score.
    pub records: usize,
    pub without_scores: usize,
}

/// One contribution per officer designated in the period (T1-T4's
/// denominator), in the roster's order.
pub fn contributions(officers: &[Officer], set: &EvidenceSet, period: Period) -> Vec<Contribution> {
    let end = period.to;
    designated(officers, set, period)
        .into_iter()
        .map(|(id, models)| {
            let evidence = set.of(id);
            let overdue = models.iter().any(|m| evidence.refresher_due(m, end).is_some_and(|d| d.date < end));
            let trained = models
                .iter()
                .all(|m| evidence.disqualified(m, end).is_none() && evidence.initial_gap(m, end).is_none());
            let mut c = Contribution {
                officer_id: id,
                current: trained && !overdue,
                overdue,
                hours: 0.0,
                exams: 0,
                first_pass: 0,
                records: 0,
                without_scores: 0,
            };
            for record in evidence.training.iter().filter(|r| r.date().is_some_and(|d| period.contains(d))) {
                c.records += 1;
                c.hours += record.hours;
                let Some(course) = evidence.courses.iter().find(|k| k.id == record.course_id) else {
                    continue;
                };
                match record.outcome(course) {
                    Outcome::Attended => c.without_scores += 1,
                    outcome => {
                        c.exams += 1;
                        if outcome == (Outcome::Passed { first_attempt: true }) {
                            c.first_pass += 1;
                        }
                    }
                }
            }
            c
        })
        .collect()
}

struct Figures {
    t1: Figure,
    t2: Figure,
    t3: Figure,
    t4: Figure,
    records: usize,
    records_without_scores: usize,
}

fn figures(officers: &[Officer], set: &EvidenceSet, period: Period) -> Figures {
    let all = contributions(officers, set, period);
    let count = all.len() as f64;
    // A fold from +0.0: an empty `sum` of floats is -0.0, printed "-0".
    let sum = |f: fn(&Contribution) -> f64| all.iter().map(f).fold(0.0, |a, b| a + b);
    Figures {
        t1: Figure::ratio(sum(|c| c.current as u8 as f64), count),
        t2: Figure::count(sum(|c| c.overdue as u8 as f64)),
        t3: Figure::ratio(sum(|c| c.hours), count),
        t4: Figure::ratio(sum(|c| c.first_pass as f64), sum(|c| c.exams as f64)),
        records: all.iter().map(|c| c.records).sum(),
        records_without_scores: all.iter().map(|c| c.without_scores).sum(),
    }
}

/// T1-T4 for `period`, each with the previous period's value.
pub fn training_measures(officers: &[Officer], set: &EvidenceSet, period: Period) -> Vec<Measure> {
    let now = figures(officers, set, period);
    let before = figures(officers, set, period.previous());
    let complete =
        "complete: every designation and training record has the fields this measure needs".to_string();
    vec![
        Measure {
            interval: None,
            id: "T1",
            name: "Training currency",
            definition: "Designated officers whose required training (initial and refresher) is current at period end ÷ designated officers",
            unit: Unit::Percent,
            better: Better::Higher,
            target: Some(100.0),
            current: now.t1,
            previous: before.t1,
            completeness: complete.clone(),
        },
        Measure {
            interval: None,
            id: "T2",
            name: "Overdue refreshers",
            definition: "Count of designated officers with a refresher past due at period end",
            unit: Unit::Count,
            better: Better::Lower,
            target: Some(0.0),
            current: now.t2,
            previous: before.t2,
            completeness: complete.clone(),
        },
        Measure {
            interval: None,
            id: "T3",
            name: "Training hours per officer",
            definition: "Hours of training completed in the period ÷ designated officers",
            unit: Unit::HoursPerOfficer,
            better: Better::Higher,
            target: Some(T3_TARGET_HOURS),
            current: now.t3,
            previous: before.t3,
            completeness: format!("{} training records in the period", now.records),
        },
        Measure {
            interval: None,
            id: "T4",
            name: "Exam first-pass rate",
            definition: "Exams passed without remediation ÷ exams taken (training records of the period with a score)",
            unit: Unit::Percent,
            better: Better::Higher,
            target: None,
            current: now.t4,
            previous: before.t4,
            completeness: format!(
                "{} of {} training records in the period have no exam score and are not counted",
                now.records_without_scores, now.records
            ),
        },
    ]
}
