//! Publications (docs/publications.md): a calendar month, quarter or year
//! of an agency's measures, or of the state's, made public. A publication
//! is frozen when made: its figures (small cells suppressed), data
//! fingerprint, open-data files and their signed checkpoint are stored and
//! served as they were, never recomputed; a correction is a new version
//! with a note of what changed and why.

pub mod document;
pub mod open_data;
pub mod routes;
pub mod store;
pub mod suppress;

use serde::{Deserialize, Serialize};

use crate::measures::equity::Grouped;
use crate::measures::store::Sheet;
use crate::measures::{Measure, Period, Unit, format_value};

/// One figure of a publication: a row of its open data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub measure_id: String,
    /// "" for a measure of the whole agency (or state); "race", "kind",
    /// "agency" (a statewide publication's per-agency rows), …
    pub grouping: String,
    pub group: String,
    pub label: String,
    pub unit: String,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    /// Whether the numerator and the denominator count people or records
    /// (and so are subject to suppression); hours and dollars are not.
    pub counted: [bool; 2],
}

impl Cell {
    /// A group's rate n ÷ d (percent) with its Wilson interval.
    pub fn rate(measure: &str, unit: &str, grouping: &str, group: &str, label: &str, n: f64, d: f64) -> Cell {
        let interval = crate::measures::stats::wilson(n as i64, d as i64).map(|i| i.scaled(100.0));
        Cell {
            measure_id: measure.into(),
            grouping: grouping.into(),
            group: group.into(),
            label: label.into(),
            unit: if unit.is_empty() { "percent".into() } else { unit.into() },
            numerator: Some(n),
            denominator: Some(d),
            value: (d > 0.0).then(|| 100.0 * n / d),
            ci_low: interval.map(|i| i.low),
            ci_high: interval.map(|i| i.high),
            suppressed: false,
            counted: [true, true],
        }
    }

    /// A measure's figure as a cell of `grouping`/`group`.
    pub fn of_measure(m: &Measure, grouping: &str, group: &str, label: &str) -> Cell {
        let counted = match m.unit {
            Unit::Percent => [true, true],
            Unit::Count => [true, false],
            Unit::Hours | Unit::HoursPerOfficer | Unit::Days | Unit::Dollars => [false, true],
            // A model's estimate (D9, D9a): published as the estimate and
            // its interval, without counts.
            Unit::Ratio => [false, false],
        };
        let ratio = m.unit == Unit::Ratio;
        Cell {
            measure_id: m.id.into(),
            grouping: grouping.into(),
            group: group.into(),
            label: label.into(),
            unit: unit_code(m.unit).into(),
            numerator: (!ratio).then_some(m.current.numerator),
            denominator: if ratio { None } else { m.current.denominator },
            value: m.value(),
            ci_low: m.interval.map(|i| i.low),
            ci_high: m.interval.map(|i| i.high),
            suppressed: false,
            counted,
        }
    }

    /// The numerator and the denominator where they are counts of people
    /// or records: what the suppression rules look at.
    pub fn components(&self) -> [Option<f64>; 2] {
        [self.numerator.filter(|_| self.counted[0]), self.denominator.filter(|_| self.counted[1])]
    }

    /// What the open data and the pages show: a suppressed cell's figures
    /// are all withheld.
    pub fn shown(&self) -> Cell {
        if !self.suppressed {
            return self.clone();
        }
        Cell { numerator: None, denominator: None, value: None, ci_low: None, ci_high: None, ..self.clone() }
    }

    pub fn value_text(&self) -> String {
        if self.suppressed {
            return "withheld (1–10)".into();
        }
        format_value(self.value, unit_of(&self.unit))
    }

    pub fn count_text(&self) -> String {
        let whole = |n: f64| if (n - n.round()).abs() < 1e-9 { format!("{n:.0}") } else { format!("{n:.1}") };
        match (self.suppressed, self.numerator, self.denominator) {
            (true, _, _) => "1–10".into(),
            (false, Some(n), Some(d)) => format!("{} of {}", whole(n), whole(d)),
            (false, Some(n), None) => whole(n),
            _ => String::new(),
        }
    }

    pub fn interval_text(&self) -> String {
        match (self.suppressed, self.ci_low, self.ci_high) {
            (false, Some(low), Some(high)) if self.unit == "percent" => format!("{low:.1}% to {high:.1}%"),
            (false, Some(low), Some(high)) => format!("{low:.2} to {high:.2}"),
            _ => String::new(),
        }
    }
}

pub fn unit_code(unit: Unit) -> &'static str {
    match unit {
        Unit::Percent => "percent",
        Unit::Count => "count",
        Unit::Hours => "hours",
        Unit::HoursPerOfficer => "hours per officer",
        Unit::Days => "days",
        Unit::Dollars => "dollars",
        Unit::Ratio => "ratio",
    }
}

fn unit_of(code: &str) -> Unit {
    match code {
        "count" => Unit::Count,
        "hours" => Unit::Hours,
        "hours per officer" => Unit::HoursPerOfficer,
        "days" => Unit::Days,
        "dollars" => Unit::Dollars,
        "ratio" => Unit::Ratio,
        _ => Unit::Percent,
    }
}

/// What a measure is, for the pages and the data dictionary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub id: String,
    pub name: String,
    pub definition: String,
    pub unit: String,
    pub section: String,
}

/// Everything a publication shows, frozen as JSON when it is made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// The agency's ORI, or "state".
    pub ori: String,
    pub name: String,
    /// The agreement's models in words; empty for the state.
    pub models: Vec<String>,
    pub agreement_signed: Option<String>,
    pub period_from: String,
    pub period_to: String,
    /// A statewide publication's agencies: (ORI, name).
    pub agencies: Vec<(String, String)>,
    pub measures: Vec<Definition>,
    pub cells: Vec<Cell>,
}

impl Body {
    pub fn period(&self) -> Option<Period> {
        let (from, to) =
            (crate::web::parse_date(&self.period_from)?, crate::web::parse_date(&self.period_to)?);
        Period::new(from, to)
    }

    pub fn period_label(&self) -> String {
        self.period().map(label).unwrap_or_default()
    }

    pub fn is_state(&self) -> bool {
        self.ori == STATE
    }
}

/// The ORI a statewide publication is filed under (in URLs too).
pub const STATE: &str = "state";

/// The section a measure id belongs to (the report's order).
fn section_of(id: &str) -> &'static str {
    crate::reports::SECTIONS.iter().find(|(_, ids)| ids.contains(&id)).map(|(s, _)| *s).unwrap_or("Other")
}

fn definition(id: &str, name: &str, definition: &str, unit: &str) -> Definition {
    Definition {
        id: id.into(),
        name: name.into(),
        definition: definition.into(),
        unit: unit.into(),
        section: section_of(id).into(),
    }
}

/// An agency's cells: every measure of its sheet and every group row.
/// The logged measures (values copied from documents) and the baseline
/// are left out: a publication holds its own period's derived figures.
pub fn agency_cells(sheet: &Sheet) -> (Vec<Definition>, Vec<Cell>) {
    let mut defs = Vec::new();
    let mut cells = Vec::new();
    for m in &sheet.measures {
        defs.push(definition(m.id, m.name, m.definition, unit_code(m.unit)));
        cells.push(Cell::of_measure(m, "", "", ""));
    }
    grouped_cells(&sheet.grouped, &mut defs, &mut cells);
    (defs, cells)
}

/// A grouped measure's rows as cells, its definition added once.
fn grouped_cells(grouped: &[Grouped], defs: &mut Vec<Definition>, cells: &mut Vec<Cell>) {
    for g in grouped {
        if !defs.iter().any(|d| d.id == g.id) {
            defs.push(definition(g.id, g.name, g.definition, "percent"));
        }
        for r in &g.rows {
            let (n, d) = (r.numerator as f64, r.denominator as f64);
            let mut cell = Cell::rate(g.id, "percent", g.grouping, &r.group, &r.label, n, d);
            (cell.ci_low, cell.ci_high) = (r.ci_low, r.ci_high);
            cells.push(cell);
        }
    }
}

/// A statewide publication's cells: each measure pooled over the agencies
/// (as the state's dashboard pools it) and per agency side by side, then
/// the equity measures of every agency's stops pooled (`pooled`).
pub fn state_cells(
    sheets: &[(String, String, std::sync::Arc<Sheet>)],
    pooled: &[Grouped],
) -> (Vec<Definition>, Vec<Cell>) {
    let mut defs: Vec<Definition> = Vec::new();
    let mut cells = Vec::new();
    let mut ids: Vec<&Measure> = Vec::new();
    for (_, _, sheet) in sheets {
        for m in &sheet.measures {
            if !ids.iter().any(|known| known.id == m.id) {
                ids.push(m);
            }
        }
    }
    for m in ids {
        defs.push(definition(m.id, m.name, m.definition, unit_code(m.unit)));
        let lines: Vec<crate::state::AgencyLine> = sheets
            .iter()
            .map(|(ori, name, sheet)| crate::state::AgencyLine {
                ori: ori.clone(),
                name: name.clone(),
                stops: 0,
                arrests: 0,
                measure: sheet.measures.iter().find(|x| x.id == m.id).cloned(),
                package: None,
            })
            .collect();
        if let Some(pooled) = crate::state::statewide(&lines) {
            cells.push(Cell::of_measure(&pooled, "", "", ""));
        }
        for line in &lines {
            if let Some(own) = &line.measure {
                cells.push(Cell::of_measure(own, "agency", &line.ori, &line.name));
            }
        }
    }
    grouped_cells(pooled, &mut defs, &mut cells);
    (defs, cells)
}

/// D1 and D3-D8 over every agency's stops together: each group's counts
/// summed over the agencies, then the rates and intervals of the sums.
pub fn pooled_equity(agencies: &[crate::measures::store::StopGroups]) -> Vec<Grouped> {
    let mut out = Vec::new();
    for grouping in ["race", "gender", "age"] {
        let mut summed: Vec<(String, String, crate::measures::equity::Counts)> = Vec::new();
        for groups in agencies {
            for (code, label, counts) in groups.counts(grouping) {
                match summed.iter_mut().find(|(c, _, _)| *c == code) {
                    Some((_, _, total)) => total.add(&counts),
                    None => summed.push((code, label, counts)),
                }
            }
        }
        if !summed.is_empty() {
            out.extend(crate::measures::equity::equity_measures(
                grouping,
                &summed,
                crate::measures::store::reference(grouping),
            ));
        }
    }
    out
}

/// "March 2026", "2026 Q1" or "2026"; a range otherwise.
pub fn label(period: Period) -> String {
    match period.calendar_months() {
        Some(1) => format!("{} {}", period.from.month(), period.from.year()),
        Some(3) => format!("{} Q{}", period.from.year(), (period.from.month() as u8 - 1) / 3 + 1),
        Some(12) => period.from.year().to_string(),
        _ => period.label(),
    }
}

/// The period's name in URLs: "2026-03", "2026-Q1" or "2026".
pub fn slug(period: Period) -> String {
    match period.calendar_months() {
        Some(1) => format!("{}-{:02}", period.from.year(), period.from.month() as u8),
        Some(3) => format!("{}-Q{}", period.from.year(), (period.from.month() as u8 - 1) / 3 + 1),
        _ => period.from.year().to_string(),
    }
}

/// The calendar period a slug names.
pub fn period_of_slug(slug: &str) -> Option<Period> {
    let (year, rest) = slug.split_once('-').map(|(y, r)| (y, Some(r))).unwrap_or((slug, None));
    let year: i32 = year.parse().ok().filter(|y| (1900..=9999).contains(y))?;
    let month = |m: u8| time::Month::try_from(m).ok();
    let (first, months) = match rest {
        None => (1, 12),
        Some(q) if q.starts_with('Q') => {
            let q: u8 = q[1..].parse().ok().filter(|q| (1..=4).contains(q))?;
            ((q - 1) * 3 + 1, 3)
        }
        Some(m) if m.len() == 2 => (m.parse().ok().filter(|m| (1..=12).contains(m))?, 1),
        _ => return None,
    };
    let from = time::Date::from_calendar_date(year, month(first)?, 1).ok()?;
    let last = first + months - 1;
    let to =
        time::Date::from_calendar_date(year, month(last)?, time::util::days_in_month(month(last)?, year))
            .ok()?;
    Period::new(from, to)
}

/// Publications are of whole calendar months, quarters or years only, so
/// that differences of overlapping periods cannot reveal a small cell.
pub fn is_publishable(period: Period) -> bool {
    period.calendar_months().is_some()
}

/// A measure's rows as the pages and the PDF show them.
pub struct Table<'a> {
    pub definition: &'a Definition,
    /// "" for a measure of the whole agency; the grouping otherwise (a
    /// statewide measure's "agency" table starts with the statewide row).
    pub grouping: String,
    pub rows: Vec<&'a Cell>,
}

impl Table<'_> {
    pub fn caption(&self) -> String {
        match self.grouping.as_str() {
            "" => format!("{} {}", self.definition.id, self.definition.name),
            g => format!("{} {} by {g}", self.definition.id, self.definition.name),
        }
    }
    /// The chart's bars: rates of a grouped table (suppressed ones empty).
    pub fn is_chart(&self) -> bool {
        !self.grouping.is_empty() && self.definition.unit == "percent" && self.rows.len() > 1
    }
    pub fn label(cell: &Cell) -> String {
        match (cell.grouping.as_str(), cell.label.as_str()) {
            ("", _) => "All".into(),
            (_, "") => cell.group.clone(),
            (_, label) => label.into(),
        }
    }
    /// The chart's bars (the template draws them as SVG): a withheld
    /// value has no bar and says so beside its label.
    pub fn bars(&self) -> Vec<Bar> {
        let max = self.rows.iter().filter_map(|c| c.shown().value).fold(0.0, f64::max).max(1.0);
        self.rows
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                // Each row: its label on one line, the bar and its value
                // under it, so long group names fit a phone's width.
                let y = i as f64 * ROW_HEIGHT;
                let width = cell.shown().value.map(|v| BAR_SPACE * v / max).unwrap_or(0.0);
                Bar {
                    label: Self::label(cell),
                    label_y: format!("{:.1}", y + 15.0),
                    y: format!("{:.1}", y + 21.0),
                    text_y: format!("{:.1}", y + 33.0),
                    width: format!("{width:.1}"),
                    value_x: format!("{:.1}", width + 6.0),
                    value: cell.value_text(),
                }
            })
            .collect()
    }
    pub fn chart_height(&self) -> String {
        format!("{:.0}", ROW_HEIGHT * self.rows.len() as f64 + 4.0)
    }
    pub fn chart_id(&self) -> String {
        format!("chart-{}-{}", self.definition.id, self.grouping.replace(' ', "-"))
    }
    /// The chart in words, for its caption.
    pub fn chart_words(&self) -> String {
        let parts: Vec<String> =
            self.rows.iter().map(|c| format!("{}: {}", Self::label(c), c.value_text())).collect();
        format!("{}. {}.", self.caption(), parts.join("; "))
    }
}

/// A chart's rows in SVG units (the chart is 480 wide), and the longest
/// bar, which leaves room for its value beside it.
const ROW_HEIGHT: f64 = 40.0;
const BAR_SPACE: f64 = 330.0;

/// One bar of a chart, its coordinates as SVG attribute text.
pub struct Bar {
    pub label: String,
    pub label_y: String,
    pub y: String,
    pub text_y: String,
    pub width: String,
    pub value_x: String,
    pub value: String,
}

pub struct Section<'a> {
    pub title: &'static str,
    pub tables: Vec<Table<'a>>,
}

impl Body {
    /// The measures in the report's sections and order.
    pub fn sections(&self) -> Vec<Section<'_>> {
        let mut out = Vec::new();
        for (title, ids) in crate::reports::SECTIONS {
            let mut tables = Vec::new();
            for id in ids {
                let Some(def) = self.measures.iter().find(|d| d.id == *id) else { continue };
                let mut groupings: Vec<String> = Vec::new();
                for c in self.cells.iter().filter(|c| c.measure_id == *id) {
                    let g =
                        if self.is_state() && c.grouping.is_empty() { "agency" } else { c.grouping.as_str() };
                    if !groupings.iter().any(|known| known == g) {
                        groupings.push(g.to_string());
                    }
                }
                for grouping in groupings {
                    let rows = self
                        .cells
                        .iter()
                        .filter(|c| c.measure_id == *id)
                        .filter(|c| {
                            c.grouping == grouping
                                || (self.is_state() && grouping == "agency" && c.grouping.is_empty())
                        })
                        .collect();
                    tables.push(Table { definition: def, grouping, rows });
                }
            }
            if !tables.is_empty() {
                out.push(Section { title, tables });
            }
        }
        out
    }

    /// Cells suppressed, for the page's summary.
    pub fn suppressed(&self) -> usize {
        self.cells.iter().filter(|c| c.suppressed).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn slugs_name_calendar_periods_and_read_back() {
        for (from, to, s) in [
            (date!(2026 - 03 - 01), date!(2026 - 03 - 31), "2026-03"),
            (date!(2026 - 04 - 01), date!(2026 - 06 - 30), "2026-Q2"),
            (date!(2024 - 01 - 01), date!(2024 - 12 - 31), "2024"),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29), "2024-02"),
        ] {
            let p = Period::new(from, to).unwrap();
            assert_eq!(slug(p), s);
            assert_eq!(period_of_slug(s), Some(p));
        }
        for bad in ["2026-13", "2026-Q5", "26", "2026-3", "x", "2026-Q", ""] {
            assert_eq!(period_of_slug(bad), None, "{bad}");
        }
        assert!(!is_publishable(Period::new(date!(2026 - 03 - 02), date!(2026 - 03 - 31)).unwrap()));
    }
}
