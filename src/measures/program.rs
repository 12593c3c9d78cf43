//! Enforcement focus (E1-E6), accountability (C1-C4), reimbursement
//! (R1-R2), record completeness (Q1) and T5, from the records of a period.
//! Pure functions over loaded records, so each formula is tested against
//! hand-computed fixtures; `store::program_data` loads what they need.

use std::collections::{BTreeMap, HashMap, HashSet};

use time::Date;

use super::equity::{GroupRow, Grouped};
use super::{Better, Figure, Measure, Period, Unit};
use crate::arrests::{Arrest, CLASSES, CustodyCheck, PRIORITIES};
use crate::complaints::{ALLEGATIONS, Complaint};
use crate::officers::Officer;
use crate::officers::authorization::{EvidenceSet, authorized_for_any};
use crate::pay::{Leads, PayPeriod};
use crate::web::parse_date;

/// Days within which a complaint involving 287(g) must be forwarded (C2).
pub const FORWARD_DAYS: i64 = 2;

/// Everything these measures read, for a period and the one before it.
#[derive(Default)]
pub struct Data {
    /// 287(g) arrests (the only ones these measures count).
    pub arrests: Vec<Arrest>,
    /// 287(g) stops: (id, date, officer, reason).
    pub stops_287g: Vec<(i64, String, Option<i64>, String)>,
    /// The reason of every stop an arrest links to.
    pub stop_reasons: HashMap<i64, String>,
    pub complaints: Vec<Complaint>,
    /// Complaints involving 287(g) (`complaints::store::INVOLVES_287G`:
    /// linked to a 287(g) stop or arrest, or forwarded to ICE OPR or DHS
    /// CRCL), the same rule as the complaint list's filter.
    pub complaints_287g: HashSet<i64>,
    pub pay: Vec<PayPeriod>,
    pub leads: Vec<Leads>,
    pub officers: Vec<Officer>,
    pub evidence: EvidenceSet,
    /// (record kind, complete records, records) per kind for Q1.
    pub completeness: Vec<(&'static str, i64, i64)>,
}

fn within(period: Period, date: &str) -> bool {
    parse_date(date).is_some_and(|d| period.contains(d))
}

fn grouped_row(group: &str, label: &str, n: i64, d: i64) -> GroupRow {
    GroupRow::rate(group, label, n, d, d)
}

fn arrests_287g(data: &Data, period: Period) -> Vec<&Arrest> {
    data.arrests.iter().filter(|a| a.action_287g() && within(period, &a.arrest_date)).collect()
}

/// E1, E2 and E4: counts by kind, priority mix and offense-class mix of
/// the period's 287(g) arrests.
pub fn enforcement_mix(data: &Data, period: Period) -> Vec<Grouped> {
    let arrests = arrests_287g(data, period);
    let n = arrests.len() as i64;
    let count = |f: fn(&Arrest) -> bool| arrests.iter().filter(|a| f(a)).count() as i64;
    let kinds = vec![
        grouped_row("detainer", "Detainers lodged", count(|a| a.detainer_lodged != 0), n),
        grouped_row("warrant", "ICE warrants served", count(|a| a.warrant_served != 0), n),
        grouped_row("removal", "Removal paperwork", count(|a| a.removal_paperwork != 0), n),
        grouped_row("arrests", "287(g) arrests", n, n),
    ];
    let mix = |choices: crate::web::record_form::Choices, field: fn(&Arrest) -> &str| -> Vec<GroupRow> {
        choices
            .iter()
            .map(|(code, label)| {
                grouped_row(code, label, arrests.iter().filter(|a| field(a) == *code).count() as i64, n)
            })
            .collect()
    };
    vec![
        Grouped {
            id: "E1",
            name: "287(g) actions",
            definition: "287(g) arrests in the period by action taken (an arrest may carry several); share of 287(g) arrests",
            grouping: "kind",
            reference: String::new(),
            rows: kinds,
        },
        Grouped {
            id: "E2",
            name: "priority mix",
            definition: "287(g) arrests at each priority level ÷ 287(g) arrests",
            grouping: "priority",
            reference: String::new(),
            rows: mix(PRIORITIES, |a| &a.priority_level),
        },
        Grouped {
            id: "E4",
            name: "offense class mix",
            definition: "287(g) arrests of each offense class ÷ 287(g) arrests",
            grouping: "class",
            reference: String::new(),
            rows: mix(CLASSES, |a| &a.offense_class),
        },
    ]
}

struct Figures {
    e3: Figure,
    e5: Figure,
    e6: Figure,
    c2: Figure,
    c3: Figure,
    c4: Figure,
    r1: Figure,
    r2: Figure,
    t5: Figure,
    over_cap: Vec<String>,
}

fn median(values: Vec<f64>) -> Figure {
    match crate::supervision::measures::median(values) {
        Some(m) => Figure::count(m),
        None => Figure::ratio(0.0, 0.0),
    }
}

fn figures(data: &Data, period: Period) -> Figures {
    let arrests = arrests_287g(data, period);
    let stops: Vec<_> = data.stops_287g.iter().filter(|s| within(period, &s.1)).collect();
    // E3: actions that began with a traffic stop.
    let traffic = |reason: Option<&String>| reason.is_some_and(|r| r == "traffic_violation");
    let traffic_actions = stops.iter().filter(|s| traffic(Some(&s.3))).count()
        + arrests.iter().filter(|a| traffic(a.stop_id.and_then(|id| data.stop_reasons.get(&id)))).count();
    // E5: WSO holds ended within 48 hours (open holds count once overdue).
    let end = time::PrimitiveDateTime::new(period.to, time::Time::MIDNIGHT) + time::Duration::days(1);
    let holds: Vec<CustodyCheck> =
        arrests.iter().filter(|a| a.warrant_served != 0).map(|a| a.custody_check(end)).collect();
    let holds_met = holds.iter().filter(|c| matches!(c, CustodyCheck::Met { .. })).count();
    let holds_decided = holds.iter().filter(|c| !matches!(c, CustodyCheck::Open { overdue: false })).count();
    let quarters = leads_in(data, period);
    // C2-C4.
    let involving: Vec<&Complaint> = data
        .complaints
        .iter()
        .filter(|c| within(period, &c.received_on) && data.complaints_287g.contains(&c.id))
        .collect();
    let on_time = involving
        .iter()
        .filter(|c| match (parse_date(&c.received_on), c.forwarded_on.as_deref().and_then(parse_date)) {
            (Some(r), Some(f)) => (f - r).whole_days() <= FORWARD_DAYS,
            _ => false,
        })
        .count();
    let closed: Vec<&Complaint> = data
        .complaints
        .iter()
        .filter(|c| c.closed_on.as_deref().is_some_and(|d| within(period, d)))
        .collect();
    let days_to_close = closed
        .iter()
        .filter_map(|c| {
            Some((parse_date(c.closed_on.as_deref()?)? - parse_date(&c.received_on)?).whole_days() as f64)
        })
        .collect();
    let sustained = closed.iter().filter(|c| c.disposition == "sustained").count();
    let pay = pay_in(data, period);
    let over_cap: Vec<String> = over_cap(data, period)
        .into_iter()
        .map(|id| crate::officers::label_of(&data.officers, Some(id)))
        .collect();
    let cost_cents: i64 = pay.iter().map(|p| p.base_pay_cents + p.overtime_pay_cents).sum();
    // T5: actions by an officer authorized on the action's date.
    let mut actions = 0;
    let mut authorized = 0;
    let dated = stops
        .iter()
        .map(|s| (s.2, s.1.as_str()))
        .chain(arrests.iter().map(|a| (a.officer_id, a.arrest_date.as_str())));
    for (officer, date) in dated {
        actions += 1;
        let ok = officer
            .and_then(|id| data.officers.iter().find(|o| o.id == id))
            .zip(parse_date(date))
            .is_some_and(|(o, d)| authorized_for_any(o, &data.evidence.of(o.id), d));
        authorized += ok as i64;
    }
    Figures {
        e3: Figure::ratio(traffic_actions as f64, (stops.len() + arrests.len()) as f64),
        e5: Figure::ratio(holds_met as f64, holds_decided as f64),
        e6: Figure::ratio(
            quarters.iter().map(|l| l.located).sum::<i64>() as f64,
            quarters.iter().map(|l| l.received).sum::<i64>() as f64,
        ),
        c2: Figure::ratio(on_time as f64, involving.len() as f64),
        c3: median(days_to_close),
        c4: Figure::ratio(sustained as f64, closed.len() as f64),
        r1: Figure::count(over_cap.len() as f64),
        r2: Figure::count(cost_cents as f64 / 100.0),
        t5: Figure::ratio(authorized as f64, actions as f64),
        over_cap,
    }
}

/// E6's records: the lead counts of the quarters that start in the period.
pub fn leads_in(data: &Data, period: Period) -> Vec<&Leads> {
    data.leads.iter().filter(|l| quarter_start(&l.quarter).is_some_and(|d| period.contains(d))).collect()
}

/// R2's records: the pay periods that end in the period.
pub fn pay_in(data: &Data, period: Period) -> Vec<&PayPeriod> {
    data.pay.iter().filter(|p| within(period, &p.period_end)).collect()
}

/// R1: the officers whose 287(g) overtime in the pay periods ending in the
/// period exceeds 25% of their annual salary pro-rated to the period.
pub fn over_cap(data: &Data, period: Period) -> Vec<i64> {
    let mut overtime: BTreeMap<i64, i64> = BTreeMap::new();
    for p in pay_in(data, period) {
        *overtime.entry(p.officer_id).or_default() += p.overtime_pay_cents;
    }
    let share = period.days() as f64 / 365.0;
    overtime
        .into_iter()
        .filter(|(id, cents)| {
            data.officers
                .iter()
                .find(|o| o.id == *id)
                .and_then(|o| o.annual_salary_cents)
                .is_some_and(|salary| *cents as f64 > salary as f64 * 0.25 * share)
        })
        .map(|(id, _)| id)
        .collect()
}

/// The first day of "YYYY-Qn".
pub fn quarter_start(quarter: &str) -> Option<Date> {
    let (year, q) = quarter.split_once("-Q")?;
    let month = (q.parse::<u8>().ok()?.checked_sub(1)? * 3) + 1;
    Date::from_calendar_date(year.parse().ok()?, time::Month::try_from(month).ok()?, 1).ok()
}

pub fn program_measures(data: &Data, period: Period) -> Vec<Measure> {
    let now = figures(data, period);
    let before = figures(data, period.previous());
    let cap_note = if now.over_cap.is_empty() {
        "complete".to_string()
    } else {
        format!("over the cap: {}", now.over_cap.join("; "))
    };
    let m = |id,
             name,
             definition,
             unit,
             better,
             target,
             current: Figure,
             previous: Figure,
             completeness: &str| {
        Measure {
            interval: None,
            id,
            name,
            definition,
            unit,
            better,
            target,
            current,
            previous,
            completeness: completeness.into(),
        }
    };
    vec![
        m(
            "T5",
            "actions under valid authority",
            "287(g) actions (stops and arrests) by an officer authorized on that date ÷ 287(g) actions",
            Unit::Percent,
            Better::Higher,
            Some(100.0),
            now.t5,
            before.t5,
            "complete",
        ),
        m(
            "E3",
            "traffic origin",
            "287(g) stops for a traffic violation and 287(g) arrests that followed one ÷ 287(g) stops and arrests",
            Unit::Percent,
            Better::Lower,
            None,
            now.e3,
            before.e3,
            "arrests not linked to a stop count as not traffic",
        ),
        m(
            "E5",
            "WSO 48-hour compliance",
            "ICE warrants served whose hold ended (transfer or release) within 48 hours ÷ holds ended or past 48 hours",
            Unit::Percent,
            Better::Higher,
            Some(100.0),
            now.e5,
            before.e5,
            "holds still open and under 48 hours are left out",
        ),
        m(
            "E6",
            "lead location rate",
            "leads located ÷ ICE-provided leads, quarters starting in the period (award tiers on each officer's page)",
            Unit::Percent,
            Better::Higher,
            Some(90.0),
            now.e6,
            before.e6,
            "complete",
        ),
        m(
            "C2",
            "complaints forwarded on time",
            "complaints involving 287(g) received in the period and forwarded to ICE OPR or DHS CRCL within 2 days ÷ those complaints",
            Unit::Percent,
            Better::Higher,
            Some(100.0),
            now.c2,
            before.c2,
            "complete",
        ),
        m(
            "C3",
            "days to close",
            "median days from received to closed, complaints closed in the period",
            Unit::Days,
            Better::Lower,
            None,
            now.c3,
            before.c3,
            "complete",
        ),
        m(
            "C4",
            "sustained rate",
            "complaints closed as sustained ÷ complaints closed in the period",
            Unit::Percent,
            Better::Higher,
            None,
            now.c4,
            before.c4,
            "complete",
        ),
        m(
            "R1",
            "overtime cap",
            "officers whose 287(g) overtime pay in pay periods ending in the period exceeds 25% of annual salary pro-rated to the period",
            Unit::Count,
            Better::Lower,
            Some(0.0),
            now.r1,
            before.r1,
            &cap_note,
        ),
        m(
            "R2",
            "reimbursable cost",
            "base pay and 287(g) overtime pay of pay periods ending in the period",
            Unit::Dollars,
            Better::Lower,
            None,
            now.r2,
            before.r2,
            "benefits are not recorded",
        ),
    ]
}

/// C1 complaints by category and Q1 record completeness by kind.
pub fn accountability_groups(data: &Data, period: Period) -> Vec<Grouped> {
    let received: Vec<&Complaint> =
        data.complaints.iter().filter(|c| within(period, &c.received_on)).collect();
    let n = received.len() as i64;
    let c1 = ALLEGATIONS
        .iter()
        .map(|(code, label)| {
            grouped_row(code, label, received.iter().filter(|c| c.allegation == *code).count() as i64, n)
        })
        .collect();
    let q1 = data
        .completeness
        .iter()
        .map(|(kind, complete, all)| grouped_row(kind, kind, *complete, *all))
        .collect();
    vec![
        Grouped {
            id: "C1",
            name: "complaints received",
            definition: "complaints received in the period by category; share of all complaints",
            grouping: "category",
            reference: String::new(),
            rows: c1,
        },
        Grouped {
            id: "Q1",
            name: "record completeness",
            definition: "records of the period with every required field ÷ records, per record kind (target 99%)",
            grouping: "record kind",
            reference: String::new(),
            rows: q1,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn arrest(id: i64, date: &str, detainer: bool, warrant: bool, class: &str, level: &str) -> Arrest {
        Arrest {
            id,
            arrest_date: date.into(),
            arrest_time: "10:00".into(),
            detainer_lodged: detainer as i64,
            warrant_served: warrant as i64,
            offense_class: class.into(),
            priority_level: level.into(),
            ..Default::default()
        }
    }

    /// April 2025 worked by hand: four arrests, three of them 287(g) (two
    /// detainers, two warrants); one WSO hold ended after 30 h, one after
    /// 60 h; one 287(g) stop for a traffic violation and one arrest that
    /// followed a traffic stop.
    #[test]
    fn enforcement_and_accountability_match_hand_computed_figures() {
        let mut a1 = arrest(1, "2025-04-02", true, true, "felony", "1");
        a1.transferred_at = Some("2025-04-03 16:00".into());
        a1.stop_id = Some(90);
        let mut a2 = arrest(2, "2025-04-10", false, true, "misdemeanor", "3");
        a2.released_at = Some("2025-04-12 22:00".into());
        let a3 = arrest(3, "2025-04-20", true, false, "misdemeanor", "3");
        let a4 = arrest(4, "2025-04-21", false, false, "felony", "1");
        let complaints = vec![
            Complaint {
                id: 1,
                received_on: "2025-04-01".into(),
                arrest_id: Some(1),
                forwarded_on: Some("2025-04-02".into()),
                forwarded_to: ",ice_opr,".into(),
                closed_on: Some("2025-04-11".into()),
                disposition: "sustained".into(),
                allegation: "profiling".into(),
                ..Default::default()
            },
            Complaint {
                id: 2,
                received_on: "2025-04-05".into(),
                arrest_id: Some(2),
                forwarded_on: Some("2025-04-09".into()),
                forwarded_to: ",dhs_crcl,".into(),
                closed_on: Some("2025-04-25".into()),
                disposition: "not_sustained".into(),
                allegation: "other".into(),
                ..Default::default()
            },
            Complaint {
                id: 3,
                received_on: "2025-04-07".into(),
                allegation: "discourtesy".into(),
                ..Default::default()
            },
        ];
        let data = Data {
            arrests: vec![a1, a2, a3, a4],
            stops_287g: vec![(7, "2025-04-15".into(), None, "traffic_violation".into())],
            stop_reasons: HashMap::from([(90, "traffic_violation".to_string())]),
            complaints,
            complaints_287g: HashSet::from([1, 2]),
            leads: vec![Leads { quarter: "2025-Q2".into(), received: 10, located: 8, ..Default::default() }],
            completeness: vec![("stops", 99, 100)],
            ..Default::default()
        };
        let april = Period::new(date!(2025 - 04 - 01), date!(2025 - 04 - 30)).unwrap();
        let mix = enforcement_mix(&data, april);
        let e1: Vec<i64> = mix[0].rows.iter().map(|r| r.numerator).collect();
        assert_eq!(e1, vec![2, 2, 0, 3], "detainers, warrants, paperwork, 287(g) arrests");
        assert_eq!(mix[1].rows[2].value_text(), "66.7%", "E2 level 3: 2 of 3");
        assert_eq!(mix[2].rows[0].numerator, 1, "E4 felonies among 287(g) arrests");
        let m = program_measures(&data, april);
        let get = |id: &str| m.iter().find(|x| x.id == id).unwrap();
        assert_eq!(get("E3").fraction_text(), "2 of 4", "one traffic stop, one arrest after a traffic stop");
        assert_eq!(get("E5").value_text(), "50.0%", "30 h met, 60 h exceeded");
        assert_eq!(get("E6").value_text(), "80.0%");
        assert_eq!(get("C2").fraction_text(), "1 of 2", "forwarded after 1 day and after 4 days");
        assert_eq!(get("C3").value_text(), "15.0 days", "median of 10 and 20 days");
        assert_eq!(get("C4").value_text(), "50.0%");
        assert_eq!(get("T5").fraction_text(), "0 of 4", "no officer recorded, none authorized");
        let groups = accountability_groups(&data, april);
        assert_eq!(groups[0].rows.iter().map(|r| r.numerator).sum::<i64>(), 3);
        assert_eq!(groups[1].rows[0].value_text(), "99.0%");
        assert_eq!(quarter_start("2025-Q3"), Some(date!(2025 - 07 - 01)));
    }

    #[test]
    fn overtime_over_a_quarter_of_the_prorated_salary_is_listed() {
        let officer = Officer {
            id: 5,
            badge: "T-5".into(),
            last_name: "Ruiz".into(),
            first_name: "Ana".into(),
            annual_salary_cents: Some(7_300_000),
            status: "active".into(),
            ..Default::default()
        };
        // 30 days of a $73,000 salary is $6,000; a quarter of it $1,500.
        let pay = |cents| PayPeriod {
            officer_id: 5,
            period_end: "2025-04-14".into(),
            overtime_pay_cents: cents,
            base_pay_cents: 280_000,
            ..Default::default()
        };
        let april = Period::new(date!(2025 - 04 - 01), date!(2025 - 04 - 30)).unwrap();
        let over = Data { pay: vec![pay(150_001)], officers: vec![officer.clone()], ..Default::default() };
        let m = program_measures(&over, april);
        let r1 = m.iter().find(|x| x.id == "R1").unwrap();
        assert_eq!(r1.value_text(), "1");
        assert!(r1.completeness.contains("Ruiz"));
        assert_eq!(m.iter().find(|x| x.id == "R2").unwrap().value_text(), "$4,300.01");
        let under = Data { pay: vec![pay(150_000)], officers: vec![officer], ..Default::default() };
        assert_eq!(program_measures(&under, april).iter().find(|x| x.id == "R1").unwrap().value_text(), "0");
    }
}
