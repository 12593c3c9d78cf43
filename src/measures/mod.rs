//! Performance measures in GAO's sense (docs/measures.md): each with a stable id,
//! a definition, a target, the value for the period and for its baseline
//! period (`Period::previous`), and a note on data completeness. A zero
//! denominator is "no data", never 0% or 100%.

pub mod behind;
pub mod darkness;
pub mod equity;
pub mod logged;
pub mod program;
pub mod routes;
pub mod stats;
pub mod store;
pub mod warning;

use time::{Date, Duration};

use crate::web::format_date;

/// A closed range of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn new(from: Date, to: Date) -> Option<Self> {
        (from <= to).then_some(Self { from, to })
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// The baseline (docs/measures.md): the previous calendar month, quarter or
    /// year when this period is one, otherwise the period of equal length
    /// that ends the day before this one. Every measure, the dashboard, the
    /// report and the CLI take their baseline from here.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        match self.calendar_months() {
            Some(months) => {
                let mut from = to;
                for _ in 1..months {
                    from = from.replace_day(1).unwrap_or(from) - Duration::days(1);
                }
                Period { from: from.replace_day(1).unwrap_or(from), to }
            }
            None => Period { from: to - Duration::days(self.days() - 1), to },
        }
    }

    /// 1, 3 or 12 when the period is exactly a calendar month, quarter or
    /// year.
    pub fn calendar_months(&self) -> Option<u8> {
        let last_day_of_month = (self.to + Duration::days(1)).day() == 1;
        if self.from.day() != 1 || !last_day_of_month || self.from.year() != self.to.year() {
            return None;
        }
        let (first, last) = (self.from.month() as u8, self.to.month() as u8);
        match last - first + 1 {
            1 => Some(1),
            3 if first % 3 == 1 => Some(3),
            12 => Some(12),
            _ => None,
        }
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }

    pub fn from_text(&self) -> String {
        format_date(self.from)
    }

    pub fn to_text(&self) -> String {
        format_date(self.to)
    }

    pub fn label(&self) -> String {
        format!("{} to {}", format_date(self.from), format_date(self.to))
    }

    /// From the first day of the quarter holding `today` to `today`.
    pub fn quarter_to_date(today: Date) -> Period {
        let first_month = ((today.month() as u8 - 1) / 3) * 3 + 1;
        let month = time::Month::try_from(first_month).unwrap_or(time::Month::January);
        let from = Date::from_calendar_date(today.year(), month, 1).unwrap_or(today);
        Period { from, to: today }
    }
}

/// A measures page's period from its query: as asked, or the quarter to
/// date with a message saying why.
pub fn period_from(from: &str, to: &str, today: Date) -> (Period, Option<&'static str>) {
    let default = Period::quarter_to_date(today);
    if from.is_empty() && to.is_empty() {
        return (default, None);
    }
    match (crate::web::parse_date(from), crate::web::parse_date(to)) {
        (Some(from), Some(to)) => match Period::new(from, to) {
            Some(p) => (p, None),
            None => (default, Some("The period's start is after its end; showing the quarter to date.")),
        },
        _ => (default, Some("Write both dates as YYYY-MM-DD; showing the quarter to date.")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Count,
    Hours,
    /// Hours ÷ officers (T3): the numerator is hours, the denominator
    /// officers, so "216 h over 37 officers", never "216 of 37".
    HoursPerOfficer,
    Days,
    Dollars,
    Ratio,
}

/// Whether a higher or a lower value is better, to judge against a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub numerator: f64,
    /// None for a plain count.
    pub denominator: Option<f64>,
}

impl Figure {
    pub fn ratio(numerator: f64, denominator: f64) -> Self {
        Figure { numerator, denominator: Some(denominator) }
    }
    pub fn count(n: f64) -> Self {
        Figure { numerator: n, denominator: None }
    }
    /// The value in the measure's unit; None is "no data".
    pub fn value(&self, unit: Unit) -> Option<f64> {
        match self.denominator {
            None => Some(self.numerator),
            Some(0.0) => None,
            Some(d) if unit == Unit::Percent => Some(100.0 * self.numerator / d),
            Some(d) => Some(self.numerator / d),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Measure {
    pub id: &'static str,
    pub name: &'static str,
    pub definition: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub target: Option<f64>,
    pub current: Figure,
    pub previous: Figure,
    pub completeness: String,
    /// The 95% interval of the current value, for the one measure that is
    /// an estimate from a model (D9a); the others are complete counts of
    /// the period's records, not samples (docs/measures.md).
    pub interval: Option<stats::Interval>,
}

pub fn format_value(value: Option<f64>, unit: Unit) -> String {
    match (value, unit) {
        (None, _) => "no data".into(),
        (Some(v), Unit::Percent) => format!("{v:.1}%"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
        (Some(v), Unit::Hours | Unit::HoursPerOfficer) => format!("{v:.1} h"),
        (Some(v), Unit::Days) => format!("{v:.1} days"),
        (Some(v), Unit::Ratio) => format!("{v:.2}"),
        (Some(v), Unit::Dollars) => crate::officers::format_money((v * 100.0).round() as i64),
    }
}

impl Measure {
    pub fn value(&self) -> Option<f64> {
        self.current.value(self.unit)
    }
    pub fn value_text(&self) -> String {
        format_value(self.value(), self.unit)
    }
    pub fn previous_text(&self) -> String {
        format_value(self.previous.value(self.unit), self.unit)
    }
    pub fn target_text(&self) -> String {
        match self.target {
            None => "none set".into(),
            Some(t) => {
                let sign = match self.better {
                    Better::Higher if !(self.unit == Unit::Percent && t >= 100.0) => "≥ ",
                    Better::Lower if t > 0.0 => "≤ ",
                    _ => "",
                };
                format!("{sign}{}", format_value(Some(t), self.unit))
            }
        }
    }
    /// The value, with "n of d" beside it when it is a ratio.
    pub fn value_with_fraction(&self) -> String {
        match (self.current.denominator, self.interval) {
            (Some(_), _) => format!("{} ({})", self.value_text(), self.fraction_text()),
            (None, Some(i)) => format!("{} (95% interval {:.2} to {:.2})", self.value_text(), i.low, i.high),
            (None, None) => self.value_text(),
        }
    }
    pub fn fraction_text(&self) -> String {
        match self.current.denominator {
            Some(d) if self.unit == Unit::HoursPerOfficer => {
                let officers = if d == 1.0 { "officer" } else { "officers" };
                format!("{} h over {} {officers}", trim(self.current.numerator), trim(d))
            }
            Some(d) => format!("{} of {}", trim(self.current.numerator), trim(d)),
            None => trim(self.current.numerator),
        }
    }
    /// "met", "not met", "no target" or "no data", always in words.
    pub fn status(&self) -> &'static str {
        match (self.value(), self.target) {
            (None, _) => "no data",
            (_, None) => "no target",
            (Some(v), Some(t)) => {
                let met = match self.better {
                    Better::Higher => v + 1e-9 >= t,
                    Better::Lower => v <= t + 1e-9,
                };
                if met { "met" } else { "not met" }
            }
        }
    }
}

fn trim(n: f64) -> String {
    if (n - n.round()).abs() < 1e-9 { format!("{n:.0}") } else { format!("{n:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn previous(from: Date, to: Date) -> (Date, Date) {
        let p = Period::new(from, to).unwrap().previous();
        (p.from, p.to)
    }

    #[test]
    fn a_calendar_year_is_compared_with_the_previous_calendar_year() {
        // 2024 had 366 days: the 365 days before 2025 start on 2 January.
        assert_eq!(
            previous(date!(2025 - 01 - 01), date!(2025 - 12 - 31)),
            (date!(2024 - 01 - 01), date!(2024 - 12 - 31))
        );
        assert_eq!(
            previous(date!(2024 - 01 - 01), date!(2024 - 12 - 31)),
            (date!(2023 - 01 - 01), date!(2023 - 12 - 31))
        );
    }

    #[test]
    fn a_calendar_quarter_is_compared_with_the_previous_quarter() {
        assert_eq!(
            previous(date!(2026 - 07 - 01), date!(2026 - 09 - 30)),
            (date!(2026 - 04 - 01), date!(2026 - 06 - 30))
        );
        // Q2 has 91 days, Q1 of 2025 only 90.
        assert_eq!(
            previous(date!(2025 - 04 - 01), date!(2025 - 06 - 30)),
            (date!(2025 - 01 - 01), date!(2025 - 03 - 31))
        );
        // Q1 is compared with Q4 of the year before.
        assert_eq!(
            previous(date!(2026 - 01 - 01), date!(2026 - 03 - 31)),
            (date!(2025 - 10 - 01), date!(2025 - 12 - 31))
        );
    }

    #[test]
    fn a_calendar_month_is_compared_with_the_previous_month() {
        assert_eq!(
            previous(date!(2026 - 03 - 01), date!(2026 - 03 - 31)),
            (date!(2026 - 02 - 01), date!(2026 - 02 - 28))
        );
        assert_eq!(
            previous(date!(2024 - 03 - 01), date!(2024 - 03 - 31)),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
        assert_eq!(
            previous(date!(2026 - 01 - 01), date!(2026 - 01 - 31)),
            (date!(2025 - 12 - 01), date!(2025 - 12 - 31))
        );
        // A short month before a long one: February before March, not
        // 29 January to 28 February.
        assert_eq!(
            previous(date!(2026 - 02 - 01), date!(2026 - 02 - 28)),
            (date!(2026 - 01 - 01), date!(2026 - 01 - 31))
        );
    }

    #[test]
    fn any_other_range_is_compared_with_the_equal_range_before_it() {
        // 10 days ending 2026-03-14: the 10 days ending 2026-03-04.
        assert_eq!(
            previous(date!(2026 - 03 - 05), date!(2026 - 03 - 14)),
            (date!(2026 - 02 - 23), date!(2026 - 03 - 04))
        );
        // Two whole months are not a calendar unit: 61 days before.
        assert_eq!(
            previous(date!(2026 - 04 - 01), date!(2026 - 05 - 31)),
            (date!(2026 - 01 - 30), date!(2026 - 03 - 31))
        );
        // Three months that are not a quarter (February to April): 89 days.
        assert_eq!(
            previous(date!(2026 - 02 - 01), date!(2026 - 04 - 30)),
            (date!(2025 - 11 - 04), date!(2026 - 01 - 31))
        );
        // The quarter to date is a custom range.
        let qtd = Period::quarter_to_date(date!(2026 - 11 - 28));
        assert_eq!(qtd.from, date!(2026 - 10 - 01));
        assert_eq!((qtd.previous().from, qtd.previous().to), (date!(2026 - 08 - 03), date!(2026 - 09 - 30)));
        // A single day is compared with the day before.
        assert_eq!(
            previous(date!(2026 - 03 - 01), date!(2026 - 03 - 01)),
            (date!(2026 - 02 - 28), date!(2026 - 02 - 28))
        );
    }

    #[test]
    fn hours_per_officer_name_both_units() {
        let t3 = Measure {
            interval: None,
            id: "T3",
            name: "Training hours per officer",
            definition: "",
            unit: Unit::HoursPerOfficer,
            better: Better::Higher,
            target: Some(8.0),
            current: Figure::ratio(216.0, 37.0),
            previous: Figure::ratio(0.0, 0.0),
            completeness: String::new(),
        };
        assert_eq!(t3.fraction_text(), "216 h over 37 officers");
        // 216 ÷ 37 = 5.84 hours per officer.
        assert_eq!(t3.value_with_fraction(), "5.8 h (216 h over 37 officers)");
        let one = Measure { current: Figure::ratio(7.5, 1.0), ..t3 };
        assert_eq!(one.fraction_text(), "7.5 h over 1 officer");
    }

    #[test]
    fn zero_denominators_are_no_data() {
        assert_eq!(Figure::ratio(0.0, 0.0).value(Unit::Percent), None);
        assert_eq!(Figure::ratio(3.0, 4.0).value(Unit::Percent), Some(75.0));
        assert_eq!(format_value(None, Unit::Percent), "no data");
    }
}
