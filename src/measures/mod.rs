//! Performance measures in GAO's sense (docs/measures.md): each with a stable id,
//! a definition, a target, the value for the period and for the previous
//! period of equal length, and a note on data completeness. A zero
//! denominator is "no data", never 0% or 100%.

pub mod darkness;
pub mod equity;
pub mod logged;
pub mod program;
pub mod routes;
pub mod store;

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

    /// The period of equal length that ends the day before this one.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        Period { from: to - Duration::days(self.days() - 1), to }
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
}

pub fn format_value(value: Option<f64>, unit: Unit) -> String {
    match (value, unit) {
        (None, _) => "no data".into(),
        (Some(v), Unit::Percent) => format!("{v:.1}%"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
        (Some(v), Unit::Hours) => format!("{v:.1} h"),
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
        match self.current.denominator {
            Some(_) => format!("{} ({})", self.value_text(), self.fraction_text()),
            None => self.value_text(),
        }
    }
    pub fn fraction_text(&self) -> String {
        match self.current.denominator {
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

    #[test]
    fn the_previous_period_has_equal_length() {
        let q = Period::new(date!(2025 - 04 - 01), date!(2025 - 06 - 30)).unwrap();
        assert_eq!(q.days(), 91);
        let p = q.previous();
        assert_eq!((p.from, p.to), (date!(2024 - 12 - 31), date!(2025 - 03 - 31)));
        assert_eq!(Period::quarter_to_date(date!(2026 - 11 - 28)).from, date!(2026 - 10 - 01));
    }

    #[test]
    fn zero_denominators_are_no_data() {
        assert_eq!(Figure::ratio(0.0, 0.0).value(Unit::Percent), None);
        assert_eq!(Figure::ratio(3.0, 4.0).value(Unit::Percent), Some(75.0));
        assert_eq!(format_value(None, Unit::Percent), "no data");
    }
}
