//! The officers behind a measure: the officer list's `measure` filter
//! lists exactly the officers (and, beside each, the records) a training,
//! lead or pay measure counts for a period, with the same rules as the
//! measure itself.

use std::collections::BTreeMap;

use super::Period;
use super::program::{Data, leads_in, over_cap, pay_in};
use crate::agency::Scope;

/// What a measure counts, per officer.
#[derive(Clone, Debug, PartialEq)]
pub struct Counted {
    pub measure: &'static str,
    /// What the records are, plural ("designated officers", "pay periods").
    pub what: &'static str,
    /// Whether a record is the officer itself (T1-T3, R1) or records of
    /// the officer (T4 exams, E6 lead counts, R2 pay periods).
    pub per_officer: bool,
    /// (officer id, records counted), in no particular order.
    pub officers: Vec<(i64, usize)>,
}

impl Counted {
    pub fn records(&self) -> usize {
        self.officers.iter().map(|(_, n)| n).sum()
    }
    pub fn of(&self, officer_id: i64) -> Option<usize> {
        self.officers.iter().find(|(id, _)| *id == officer_id).map(|(_, n)| *n)
    }
}

/// The measures whose records are officers or officers' records.
pub const MEASURES: [&str; 7] = ["T1", "T2", "T3", "T4", "E6", "R1", "R2"];

/// The officers `measure` counts in `period`; None for a measure whose
/// records are not officers'.
pub async fn officers(scope: &Scope, measure: &str, period: Period) -> Result<Option<Counted>, sqlx::Error> {
    let id = match MEASURES.iter().find(|m| **m == measure) {
        Some(id) => *id,
        None => return Ok(None),
    };
    let officers = crate::officers::store::list(scope, &Default::default()).await?;
    let counted = |what, per_officer, officers: Vec<(i64, usize)>| {
        Some(Counted { measure: id, what, per_officer, officers })
    };
    Ok(match id {
        "T1" | "T2" | "T3" | "T4" => {
            let evidence = crate::officers::store::evidence(scope).await?;
            let all = crate::compliance::measures::contributions(&officers, &evidence, period);
            match id {
                "T2" => counted(
                    "designated officers with a refresher past due",
                    false,
                    all.iter().filter(|c| c.overdue).map(|c| (c.officer_id, 1)).collect(),
                ),
                "T4" => counted(
                    "exams taken",
                    true,
                    all.iter().filter(|c| c.exams > 0).map(|c| (c.officer_id, c.exams)).collect(),
                ),
                _ => counted("designated officers", false, all.iter().map(|c| (c.officer_id, 1)).collect()),
            }
        }
        "E6" => {
            let data = Data { leads: crate::pay::store::all_leads(scope).await?, ..Default::default() };
            counted(
                "quarterly lead counts",
                true,
                per_officer(leads_in(&data, period).iter().map(|l| l.officer_id)),
            )
        }
        _ => {
            let data = Data { pay: crate::pay::store::all_pay(scope).await?, officers, ..Default::default() };
            if id == "R1" {
                counted(
                    "officers over the overtime cap",
                    false,
                    over_cap(&data, period).into_iter().map(|o| (o, 1)).collect(),
                )
            } else {
                counted("pay periods", true, per_officer(pay_in(&data, period).iter().map(|p| p.officer_id)))
            }
        }
    })
}

fn per_officer(ids: impl Iterator<Item = i64>) -> Vec<(i64, usize)> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    counts.into_iter().collect()
}
