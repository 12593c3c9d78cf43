//! Supervision measures S1-S5 (docs/measures.md) and each supervisor's workload,
//! for any period. Actions count by the action's date; decisions by the
//! day they were signed, in the agency's time zone.

use super::{Decision, Item, SignOff, State, action_instant};
use crate::measures::{Better, Figure, Measure, Period, Unit};
use crate::web::format_date;

/// What the measures are computed from.
pub struct Inputs<'a> {
    pub actions: &'a [Item],
    pub sign_offs: &'a [SignOff],
    /// When each refused self-review attempt happened (unix seconds).
    pub blocked: &'a [i64],
    pub deadline_days: i64,
    pub time_zone: &'a str,
}

/// The period as unix seconds [start, end) in the agency's zone.
pub fn bounds(period: Period, time_zone: &str) -> (i64, i64) {
    let start = action_instant(&format_date(period.from), None, time_zone);
    let end = action_instant(&format_date(period.to + time::Duration::days(1)), None, time_zone);
    (start, end)
}

fn signed_in(inputs: &Inputs, period: Period) -> Vec<SignOff> {
    let (start, end) = bounds(period, inputs.time_zone);
    inputs.sign_offs.iter().filter(|s| start <= s.signed_at && s.signed_at < end).cloned().collect()
}

/// The median, or None for no values.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

struct Figures {
    s1: Figure,
    s2: Figure,
    s3: Figure,
    s4: Figure,
    s5: Figure,
    actions: usize,
    without_time: usize,
}

fn figures(inputs: &Inputs, period: Period) -> Figures {
    let actions: Vec<&Item> = inputs
        .actions
        .iter()
        .filter(|a| crate::web::parse_date(&a.action_date).is_some_and(|d| period.contains(d)))
        .collect();
    let approved = actions.iter().filter(|a| a.state == State::Approved).count();
    let decided = signed_in(inputs, period);
    let within = decided.iter().filter(|s| s.within(inputs.deadline_days)).count();
    let returned = decided.iter().filter(|s| s.decision() == Decision::Returned).count();
    let lag = median(decided.iter().map(SignOff::lag_hours).collect());
    let (start, end) = bounds(period, inputs.time_zone);
    let blocked = inputs.blocked.iter().filter(|t| start <= **t && **t < end).count();
    Figures {
        s1: Figure::ratio(approved as f64, actions.len() as f64),
        s2: Figure::ratio(within as f64, decided.len() as f64),
        s3: match lag {
            Some(hours) => Figure::count(hours),
            None => Figure::ratio(0.0, 0.0),
        },
        s4: Figure::ratio(returned as f64, decided.len() as f64),
        s5: Figure::count(blocked as f64),
        without_time: actions.iter().filter(|a| a.action_time.is_empty()).count(),
        actions: actions.len(),
    }
}

pub fn supervision_measures(inputs: &Inputs, period: Period) -> Vec<Measure> {
    let now = figures(inputs, period);
    let before = figures(inputs, period.previous());
    let completeness = if now.without_time == 0 {
        "complete".to_string()
    } else {
        format!(
            "{} of {} actions have no time; their lag counts from midnight",
            now.without_time, now.actions
        )
    };
    let measure = |id, name, definition, unit, better, target, current: Figure, previous: Figure| Measure {
        interval: None,
        id,
        name,
        definition,
        unit,
        better,
        target,
        current,
        previous,
        completeness: completeness.clone(),
    };
    vec![
        measure(
            "S1",
            "sign-off coverage",
            "287(g) actions in the period with a current approved sign-off ÷ 287(g) actions in the period",
            Unit::Percent,
            Better::Higher,
            Some(100.0),
            now.s1,
            before.s1,
        ),
        measure(
            "S2",
            "sign-off timeliness",
            "decisions signed in the period within the deadline of the action ÷ decisions signed in the period",
            Unit::Percent,
            Better::Higher,
            Some(95.0),
            now.s2,
            before.s2,
        ),
        measure(
            "S3",
            "median review lag",
            "median hours from the action to the decision, over decisions signed in the period",
            Unit::Hours,
            Better::Lower,
            Some(72.0),
            now.s3,
            before.s3,
        ),
        measure(
            "S4",
            "returned for correction",
            "decisions \"returned for correction\" signed in the period ÷ decisions signed in the period",
            Unit::Percent,
            Better::Lower,
            None,
            now.s4,
            before.s4,
        ),
        measure(
            "S5",
            "self-review attempts blocked",
            "attempts in the period to review one's own action or a record one wrote, refused (shown for audit)",
            Unit::Count,
            Better::Lower,
            Some(0.0),
            now.s5,
            before.s5,
        ),
    ]
}

/// One supervisor's decisions in a period.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub reviewer: String,
    pub kind: &'static str,
    pub decisions: usize,
    pub approved: usize,
    pub returned: usize,
    pub referred: usize,
    pub within_deadline: usize,
    pub median_lag: Option<f64>,
}

impl Workload {
    pub fn lag_text(&self) -> String {
        crate::measures::format_value(self.median_lag, Unit::Hours)
    }
}

pub fn workload(inputs: &Inputs, period: Period) -> Vec<Workload> {
    let decided = signed_in(inputs, period);
    // A reviewer is their account here, or for decisions carried by a
    // package (no account) their name.
    fn key(s: &SignOff) -> (Option<i64>, &str) {
        (s.reviewer_id, if s.reviewer_id.is_some() { "" } else { s.reviewer_name.as_str() })
    }
    let mut reviewers: Vec<(Option<i64>, &str)> = decided.iter().map(key).collect();
    reviewers.sort_unstable();
    reviewers.dedup();
    let mut rows: Vec<Workload> = reviewers
        .into_iter()
        .map(|id| {
            let mine: Vec<&SignOff> = decided.iter().filter(|s| key(s) == id).collect();
            let count = |d: Decision| mine.iter().filter(|s| s.decision() == d).count();
            Workload {
                reviewer: mine[0].reviewer_name.clone(),
                kind: mine[0].reviewer_kind_text(),
                decisions: mine.len(),
                approved: count(Decision::Approved),
                returned: count(Decision::Returned),
                referred: count(Decision::Referred),
                within_deadline: mine.iter().filter(|s| s.within(inputs.deadline_days)).count(),
                median_lag: median(mine.iter().map(|s| s.lag_hours()).collect()),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.decisions.cmp(&a.decisions).then(a.reviewer.cmp(&b.reviewer)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervision::RecordKind;
    use time::macros::date;

    const HOUR: i64 = 3600;

    fn item(id: i64, date: &str, state: State) -> Item {
        Item {
            kind: RecordKind::Arrest,
            id,
            action_date: date.into(),
            action_time: if id == 4 { String::new() } else { "10:00".into() },
            action_at: action_instant(date, Some("10:00"), "UTC"),
            officer_id: None,
            officer: String::new(),
            what: String::new(),
            exception: String::new(),
            latest: None,
            state,
        }
    }

    fn decision(id: i64, reviewer: i64, what: &str, action_at: i64, lag_hours: i64) -> SignOff {
        SignOff {
            id,
            record_kind: "arrest".into(),
            record_id: id,
            supersedes: 0,
            decision: what.into(),
            comment: String::new(),
            reviewer_id: Some(reviewer),
            reviewer_name: format!("Reviewer {reviewer}"),
            reviewer_kind: "agency".into(),
            signed_at: action_at + lag_hours * HOUR,
            action_at,
            record_hash: String::new(),
            form: String::new(),
        }
    }

    /// A March fixture worked by hand: five actions (three approved and
    /// current, one returned, one waiting); four decisions signed in March
    /// with lags 10, 20, 80 and 100 hours (deadline 3 days = 72 h); one
    /// blocked self-review in March and one in February.
    #[test]
    fn s1_to_s5_match_a_hand_computed_fixture() {
        let actions = vec![
            item(1, "2025-03-02", State::Approved),
            item(2, "2025-03-05", State::Approved),
            item(3, "2025-03-10", State::Approved),
            item(4, "2025-03-12", State::Returned),
            item(5, "2025-03-20", State::Waiting),
            item(6, "2025-02-10", State::Approved),
            item(7, "2025-02-11", State::Waiting),
        ];
        let t = |d: &str| action_instant(d, Some("10:00"), "UTC");
        let sign_offs = vec![
            decision(1, 1, "approved", t("2025-03-02"), 10),
            decision(2, 1, "approved", t("2025-03-05"), 20),
            decision(3, 2, "approved", t("2025-03-10"), 80),
            decision(4, 2, "returned", t("2025-03-12"), 100),
            decision(6, 1, "approved", t("2025-02-10"), 30),
        ];
        let blocked = vec![t("2025-03-15"), t("2025-02-15")];
        let inputs = Inputs {
            actions: &actions,
            sign_offs: &sign_offs,
            blocked: &blocked,
            deadline_days: 3,
            time_zone: "UTC",
        };
        let march = Period::new(date!(2025 - 03 - 01), date!(2025 - 03 - 31)).unwrap();
        let m = supervision_measures(&inputs, march);
        let text: Vec<(String, String)> = m.iter().map(|m| (m.value_text(), m.fraction_text())).collect();
        assert_eq!(text[0], ("60.0%".into(), "3 of 5".into()), "S1 3/5");
        assert_eq!(text[1], ("50.0%".into(), "2 of 4".into()), "S2 within 72 h: 10 and 20");
        assert_eq!(text[2].0, "50.0 h", "S3 median of 10, 20, 80, 100");
        assert_eq!(text[3], ("25.0%".into(), "1 of 4".into()), "S4 one returned");
        assert_eq!(text[4].0, "1", "S5");
        assert_eq!(m[0].status(), "not met");
        assert!(m[0].completeness.starts_with("1 of 5 actions have no time"));
        // The previous period (March is a calendar month: February) holds
        // action 6 approved and action 7 waiting, one decision of 30 h.
        assert_eq!(m[0].previous_text(), "50.0%");
        assert_eq!(m[1].previous_text(), "100.0%");
        assert_eq!(m[2].previous_text(), "30.0 h");
        assert_eq!(m[4].previous_text(), "1");

        let rows = workload(&inputs, march);
        assert_eq!(rows.len(), 2);
        // Two decisions each; ties in name order.
        assert_eq!((rows[0].reviewer.as_str(), rows[0].approved, rows[0].returned), ("Reviewer 1", 2, 0));
        assert_eq!((rows[0].median_lag, rows[0].within_deadline), (Some(15.0), 2));
        assert_eq!((rows[1].reviewer.as_str(), rows[1].approved, rows[1].returned), ("Reviewer 2", 1, 1));
        assert_eq!((rows[1].median_lag, rows[1].within_deadline), (Some(90.0), 0));
    }

    #[test]
    fn no_actions_or_decisions_is_no_data() {
        let inputs =
            Inputs { actions: &[], sign_offs: &[], blocked: &[], deadline_days: 3, time_zone: "UTC" };
        let p = Period::new(date!(2025 - 03 - 01), date!(2025 - 03 - 31)).unwrap();
        let m = supervision_measures(&inputs, p);
        assert_eq!(m[0].value_text(), "no data");
        assert_eq!(m[2].value_text(), "no data");
        assert_eq!(m[4].value_text(), "0");
    }
}
