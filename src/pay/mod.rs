//! Pay and leads, for the reimbursement cap and the quarterly awards
//! (docs/measures.md, "Money"): per officer and pay period the base pay and the
//! 287(g) overtime hours and pay; per officer and quarter the ICE-provided
//! leads and those located.

pub mod routes;
pub mod store;

use serde::Serialize;
use time::Date;

use crate::officers::{format_money, parse_money};
use crate::web::record_form::RecordForm;
use crate::web::{FieldErrors, format_date, parse_date};

/// ICE reimburses 287(g) overtime up to this share of annual salary.
pub const OVERTIME_CAP_PERCENT: i64 = 25;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct PayPeriod {
    pub id: i64,
    pub officer_id: i64,
    pub period_start: String,
    pub period_end: String,
    pub base_pay_cents: i64,
    pub overtime_hours: f64,
    pub overtime_pay_cents: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct Leads {
    pub id: i64,
    pub officer_id: i64,
    pub quarter: String,
    pub received: i64,
    pub located: i64,
}

/// The quarterly award for the share of leads located (docs/measures.md).
pub fn award_cents(received: i64, located: i64) -> Option<i64> {
    if received <= 0 {
        return None;
    }
    // Whole percent, rounded down: 89.9% is in the 80-89% tier.
    let percent = located * 100 / received;
    Some(match percent {
        90.. => 100_000,
        80..=89 => 75_000,
        70..=79 => 50_000,
        _ => 0,
    })
}

impl Leads {
    pub fn share_text(&self) -> String {
        if self.received == 0 {
            "no data".into()
        } else {
            format!("{:.1}%", 100.0 * self.located as f64 / self.received as f64)
        }
    }
    pub fn award_text(&self) -> String {
        match award_cents(self.received, self.located) {
            None => "no data".into(),
            Some(0) => "no award".into(),
            Some(c) => format_money(c),
        }
    }
}

/// The federal fiscal year (1 October to 30 September) a day falls in,
/// named by the year it ends: reimbursement runs from 1 October 2025.
pub fn fiscal_year(date: Date) -> i32 {
    if date.month() as u8 >= 10 { date.year() + 1 } else { date.year() }
}

/// Overtime against the cap for one fiscal year.
#[derive(Clone, Debug, PartialEq)]
pub struct CapUse {
    pub fiscal_year: i32,
    pub overtime_cents: i64,
    pub cap_cents: Option<i64>,
}

impl CapUse {
    pub fn percent_text(&self) -> String {
        match self.cap_cents {
            Some(cap) if cap > 0 => {
                format!("{:.1}% of the cap", 100.0 * self.overtime_cents as f64 / cap as f64)
            }
            _ => "no salary recorded".into(),
        }
    }
    pub fn over(&self) -> bool {
        self.cap_cents.is_some_and(|cap| self.overtime_cents > cap)
    }
    pub fn overtime_text(&self) -> String {
        format_money(self.overtime_cents)
    }
    pub fn cap_text(&self) -> String {
        self.cap_cents.map(format_money).unwrap_or_default()
    }
}

/// Overtime per fiscal year (by the period's start) against 25% of the
/// officer's annual salary, newest year first.
pub fn cap_use(periods: &[PayPeriod], annual_salary_cents: Option<i64>) -> Vec<CapUse> {
    let mut years: std::collections::BTreeMap<i32, i64> = Default::default();
    for p in periods {
        if let Some(start) = parse_date(&p.period_start) {
            *years.entry(fiscal_year(start)).or_default() += p.overtime_pay_cents;
        }
    }
    let cap = annual_salary_cents.map(|s| s * OVERTIME_CAP_PERCENT / 100);
    years
        .into_iter()
        .rev()
        .map(|(fiscal_year, overtime_cents)| CapUse { fiscal_year, overtime_cents, cap_cents: cap })
        .collect()
}

impl PayPeriod {
    pub fn base_text(&self) -> String {
        format_money(self.base_pay_cents)
    }
    pub fn overtime_text(&self) -> String {
        format_money(self.overtime_pay_cents)
    }
    pub fn hours_text(&self) -> String {
        crate::training::format_hours(self.overtime_hours)
    }
}

pub fn pay_form_of(p: &PayPeriod) -> RecordForm {
    let mut form = RecordForm::default();
    form.set("period_start", &p.period_start);
    form.set("period_end", &p.period_end);
    form.set("base_pay", format!("{}.{:02}", p.base_pay_cents / 100, p.base_pay_cents % 100));
    form.set("overtime_hours", p.hours_text());
    form.set("overtime_pay", format!("{}.{:02}", p.overtime_pay_cents / 100, p.overtime_pay_cents % 100));
    form
}

fn money(form: &RecordForm, e: &mut FieldErrors, field: &'static str, label: &str) -> i64 {
    match parse_money(form.value(field)) {
        Some(c) if c <= 10_000_000 => c,
        _ => {
            e.add(field, format!("Enter {label} in dollars, for example 2,450.00."));
            0
        }
    }
}

pub fn validate_pay(form: &RecordForm, today: Date) -> Result<PayPeriod, FieldErrors> {
    let mut e = FieldErrors::default();
    let start = form.date(&mut e, "period_start", "The first day of the pay period", true, today);
    let end = form.date(&mut e, "period_end", "The last day of the pay period", true, today);
    if let (Some(s), Some(en)) = (start, end) {
        if en < s {
            e.add("period_end", "The pay period cannot end before it starts.");
        } else if (en - s).whole_days() > 31 {
            e.add("period_end", "A pay period is at most a month; enter one row per period.");
        }
    }
    let base = money(form, &mut e, "base_pay", "the base pay");
    let hours = match form.value("overtime_hours").trim().parse::<f64>() {
        Ok(h) if h.is_finite() && (0.0..=400.0).contains(&h) => h,
        _ => {
            e.add("overtime_hours", "Enter the 287(g) overtime hours (0 to 400; 0 if none).");
            0.0
        }
    };
    let overtime = money(form, &mut e, "overtime_pay", "the 287(g) overtime pay");
    if hours == 0.0 && overtime > 0 && !e.has("overtime_pay") {
        e.add("overtime_hours", "Overtime pay needs its hours.");
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(PayPeriod {
        id: 0,
        officer_id: 0,
        period_start: start.map(format_date).unwrap_or_default(),
        period_end: end.map(format_date).unwrap_or_default(),
        base_pay_cents: base,
        overtime_hours: hours,
        overtime_pay_cents: overtime,
    })
}

/// "2026-Q1" when well formed and not after `today`'s quarter.
pub fn parse_quarter(value: &str, today: Date) -> Option<String> {
    let (year, q) = value.trim().split_once("-Q")?;
    let year: i32 = year.parse().ok()?;
    let q: u8 = q.parse().ok()?;
    let current = (today.year(), (today.month() as u8 - 1) / 3 + 1);
    ((1..=4).contains(&q) && (2000..=2100).contains(&year) && (year, q) <= current)
        .then(|| format!("{year}-Q{q}"))
}

pub fn validate_leads(form: &RecordForm, today: Date) -> Result<Leads, FieldErrors> {
    let mut e = FieldErrors::default();
    let quarter = parse_quarter(form.value("quarter"), today);
    if quarter.is_none() {
        e.add("quarter", "Enter the quarter as YYYY-Qn (for example 2026-Q1), not in the future.");
    }
    let received = form.number(
        &mut e,
        "received",
        0..=10_000,
        true,
        "Enter the number of leads ICE provided (0 or more).",
    );
    let located =
        form.number(&mut e, "located", 0..=10_000, true, "Enter the number of leads located (0 or more).");
    if let (Some(r), Some(l)) = (received, located) {
        if l > r {
            e.add("located", "More leads located than received.");
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(Leads {
        id: 0,
        officer_id: 0,
        quarter: quarter.unwrap_or_default(),
        received: received.unwrap_or(0),
        located: located.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn award_tiers_follow_program_md() {
        assert_eq!(award_cents(10, 9), Some(100_000));
        assert_eq!(award_cents(10, 10), Some(100_000));
        assert_eq!(award_cents(1000, 899), Some(75_000), "89.9% is the 80-89% tier");
        assert_eq!(award_cents(10, 8), Some(75_000));
        assert_eq!(award_cents(10, 7), Some(50_000));
        assert_eq!(award_cents(100, 69), Some(0));
        assert_eq!(award_cents(0, 0), None, "no leads: no data");
    }

    #[test]
    fn overtime_is_measured_per_fiscal_year_against_a_quarter_of_salary() {
        let p = |start: &str, cents: i64| PayPeriod {
            period_start: start.into(),
            overtime_pay_cents: cents,
            ..Default::default()
        };
        let periods = [p("2025-09-15", 500_000), p("2025-10-01", 900_000), p("2026-06-01", 800_000)];
        let used = cap_use(&periods, Some(6_400_000));
        assert_eq!(used.len(), 2);
        assert_eq!(
            (used[0].fiscal_year, used[0].overtime_cents, used[0].cap_cents),
            (2026, 1_700_000, Some(1_600_000))
        );
        assert!(used[0].over());
        assert_eq!(used[1].fiscal_year, 2025);
        assert!(!used[1].over());
        assert_eq!(used[0].percent_text(), "106.2% of the cap");
    }

    #[test]
    fn quarters_and_leads_are_checked() {
        let today = date!(2026 - 11 - 28);
        assert_eq!(parse_quarter("2026-Q4", today), Some("2026-Q4".into()));
        assert_eq!(parse_quarter("2027-Q1", today), None);
        assert_eq!(parse_quarter("2026-Q5", today), None);
        let form = |q: &str, r: &str, l: &str| {
            let pairs = vec![
                ("quarter".into(), q.into()),
                ("received".into(), r.into()),
                ("located".into(), l.into()),
            ];
            validate_leads(&RecordForm::from_pairs(pairs, &[]), today)
        };
        assert!(form("2026-Q3", "12", "11").is_ok());
        assert!(form("2026-Q3", "12", "13").unwrap_err().has("located"));
    }
}
