//! Stops and equity (docs/measures.md D1, D3-D8): per group counts, rates, the
//! rate ratio to the reference group and small-sample flags. Counts come
//! from one grouped query (store.rs); the formulas here take counts only,
//! so they are tested against hand-computed figures.

use serde::Serialize;

/// Groups with fewer events than this in the denominator are flagged.
pub const SMALL_SAMPLE: i64 = 30;

/// What one group of stops holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Counts {
    pub stops: i64,
    pub searches: i64,
    pub hits: i64,
    pub arrests: i64,
    pub force: i64,
    pub no_action: i64,
    pub inquiries: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.stops += other.stops;
        self.searches += other.searches;
        self.hits += other.hits;
        self.arrests += other.arrests;
        self.force += other.force;
        self.no_action += other.no_action;
        self.inquiries += other.inquiries;
    }
}

/// One group's figure in a grouped measure, with how sure it is
/// (docs/measures.md, "Statistical methods").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRow {
    pub group: String,
    pub label: String,
    pub numerator: i64,
    pub denominator: i64,
    /// Percent; None ("no data") for a zero denominator.
    pub value: Option<f64>,
    /// The 95% Wilson score interval of `value`, in percent.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The group's rate ÷ the reference group's rate.
    pub ratio: Option<f64>,
    /// The ratio's 95% interval (Katz log method); None where it is not
    /// defined (a count of 0) and for the reference group itself.
    pub ratio_ci_low: Option<f64>,
    pub ratio_ci_high: Option<f64>,
    /// In words, when the ratio's interval excludes 1.
    pub beyond_chance: Option<String>,
    /// D4 only: the group's hit rate minus the reference group's, in
    /// percentage points, with its Newcombe hybrid score interval.
    pub difference: Option<f64>,
    pub difference_ci_low: Option<f64>,
    pub difference_ci_high: Option<f64>,
    pub small_sample: bool,
}

/// The reference group's figure a row is compared with: (label, numerator,
/// denominator).
pub type Reference<'a> = (&'a str, i64, i64);

impl GroupRow {
    /// The rate n ÷ d of a group with its Wilson interval, compared with
    /// nothing yet; `events` decides the small-sample flag.
    pub fn rate(group: &str, label: &str, n: i64, d: i64, events: i64) -> GroupRow {
        let interval = super::stats::wilson(n, d).map(|i| i.scaled(100.0));
        GroupRow {
            group: group.into(),
            label: label.into(),
            numerator: n,
            denominator: d,
            value: percent(n, d),
            ci_low: interval.map(|i| i.low),
            ci_high: interval.map(|i| i.high),
            ratio: None,
            ratio_ci_low: None,
            ratio_ci_high: None,
            beyond_chance: None,
            difference: None,
            difference_ci_low: None,
            difference_ci_high: None,
            small_sample: events < SMALL_SAMPLE,
        }
    }

    /// Adds the ratio to the reference group's rate, its Katz interval
    /// and, when that excludes 1, the words that say so.
    pub fn compared(mut self, (label, n0, d0): Reference, is_reference: bool) -> GroupRow {
        let reference_rate = percent(n0, d0).filter(|r| *r > 0.0);
        self.ratio = self.value.zip(reference_rate).map(|(v, r)| v / r);
        if is_reference {
            return self;
        }
        if let Some((_, i)) = super::stats::katz(self.numerator, self.denominator, n0, d0) {
            (self.ratio_ci_low, self.ratio_ci_high) = (Some(i.low), Some(i.high));
            if i.excludes(1.0) {
                let side = if i.low > 1.0 { "higher" } else { "lower" };
                self.beyond_chance = Some(format!("{side} than {label} beyond chance at 95%"));
            }
        }
        self
    }

    /// Adds the difference of the rates to the reference group's with its
    /// Newcombe interval (D4, the outcome test).
    pub fn differenced(mut self, (_, n0, d0): Reference) -> GroupRow {
        if let Some((d, i)) = super::stats::newcombe(self.numerator, self.denominator, n0, d0) {
            self.difference = Some(100.0 * d);
            (self.difference_ci_low, self.difference_ci_high) = (Some(100.0 * i.low), Some(100.0 * i.high));
        }
        self
    }

    pub fn value_text(&self) -> String {
        crate::measures::format_value(self.value, crate::measures::Unit::Percent)
    }
    pub fn ratio_text(&self) -> String {
        self.ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "no data".into())
    }
    /// "8.1–12.3%", or nothing without a rate.
    pub fn interval_text(&self) -> String {
        match (self.ci_low, self.ci_high) {
            (Some(l), Some(h)) => format!("{l:.1}–{h:.1}%"),
            _ => String::new(),
        }
    }
    /// The ratio's interval, or why it has none.
    pub fn ratio_interval_text(&self) -> String {
        match (self.ratio, self.ratio_ci_low, self.ratio_ci_high) {
            (None, ..) => String::new(),
            (Some(_), Some(l), Some(h)) => format!("{l:.2}–{h:.2}"),
            (Some(r), ..) if (r - 1.0).abs() < 1e-12 && self.numerator > 0 => "reference".into(),
            (Some(_), ..) => "not defined: a count is 0".into(),
        }
    }
    /// The difference of hit rates in words (D4).
    pub fn difference_text(&self) -> String {
        match (self.difference, self.difference_ci_low, self.difference_ci_high) {
            (Some(d), Some(l), Some(h)) => {
                format!("difference {d:+.1} points (95% CI {l:+.1} to {h:+.1})")
            }
            _ => String::new(),
        }
    }
    /// What a reader must know beside the figures: small sample, beyond
    /// chance, the difference of hit rates.
    pub fn notes(&self) -> String {
        let small = self.small_sample.then(|| "small sample".to_string());
        let difference = Some(self.difference_text()).filter(|d| !d.is_empty());
        [small, self.beyond_chance.clone(), difference].into_iter().flatten().collect::<Vec<_>>().join("; ")
    }
}

/// A measure with one row per group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grouped {
    pub id: &'static str,
    pub name: &'static str,
    pub definition: &'static str,
    /// "race", "gender" or "age".
    pub grouping: &'static str,
    pub reference: String,
    pub rows: Vec<GroupRow>,
}

fn percent(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| 100.0 * n as f64 / d as f64)
}

/// The definitions of D1 and D3-D8: (id, name, definition, numerator,
/// denominator, whether a ratio to the reference is part of the measure).
type Pick = fn(&Counts) -> i64;
const MEASURES: [(&str, &str, &str, Pick, Pick, bool); 7] = [
    ("D1", "stops by group", "stops of the group ÷ all stops in the period", |c| c.stops, |_| 0, false),
    ("D3", "search rate", "searches of the group ÷ stops of the group", |c| c.searches, |c| c.stops, true),
    (
        "D4",
        "hit rate (outcome test)",
        "searches of the group that found contraband ÷ searches of the group; a ratio below 1 is the warning sign",
        |c| c.hits,
        |c| c.searches,
        true,
    ),
    (
        "D5",
        "arrest rate",
        "custodial arrests of the group ÷ stops of the group",
        |c| c.arrests,
        |c| c.stops,
        true,
    ),
    (
        "D6",
        "force rate",
        "stops of the group with physical force or a firearm pointed ÷ stops of the group",
        |c| c.force,
        |c| c.stops,
        true,
    ),
    (
        "D7",
        "no-action rate",
        "stops of the group ending with no action ÷ stops of the group",
        |c| c.no_action,
        |c| c.stops,
        false,
    ),
    (
        "D8",
        "immigration inquiry rate",
        "stops of the group where immigration status was asked or checked ÷ stops of the group",
        |c| c.inquiries,
        |c| c.stops,
        true,
    ),
];

/// D1 and D3-D8 for one grouping. `groups` holds (code, label, counts) in
/// display order; `reference` is the reference group's code.
pub fn equity_measures(
    grouping: &'static str,
    groups: &[(String, String, Counts)],
    reference: &str,
) -> Vec<Grouped> {
    let total: i64 = groups.iter().map(|(_, _, c)| c.stops).sum();
    let reference_counts = groups.iter().find(|(g, _, _)| g == reference).map(|(_, l, c)| (l.as_str(), *c));
    MEASURES
        .iter()
        .map(|(id, name, definition, num, den, with_ratio)| {
            let rows = groups
                .iter()
                .map(|(group, label, c)| {
                    let (n, d) = (num(c), if *id == "D1" { total } else { den(c) });
                    let events = if *id == "D1" { c.stops } else { d };
                    let row = GroupRow::rate(group, label, n, d, events);
                    match reference_counts.filter(|_| *with_ratio) {
                        Some((l, r)) => {
                            let against = (l, num(&r), den(&r));
                            let row = row.compared(against, group == reference);
                            if *id == "D4" && group != reference { row.differenced(against) } else { row }
                        }
                        None => row,
                    }
                })
                .collect();
            Grouped { id, name, definition, grouping, reference: reference.to_string(), rows }
        })
        .collect()
}

/// Age bands for the age grouping.
pub const AGE_BANDS: [(&str, &str); 8] = [
    ("under_18", "Under 18"),
    ("18_24", "18-24"),
    ("25_34", "25-34"),
    ("35_44", "35-44"),
    ("45_54", "45-54"),
    ("55_64", "55-64"),
    ("65_plus", "65 and over"),
    ("unknown", "Unknown"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(stops: i64, searches: i64, hits: i64, arrests: i64) -> Counts {
        Counts { stops, searches, hits, arrests, force: 0, no_action: stops - arrests, inquiries: 0 }
    }

    /// Worked by hand: White 200 stops, 20 searches, 8 hits, 10 arrests;
    /// Hispanic 100 stops, 25 searches, 5 hits, 10 arrests; Asian 20 stops,
    /// 1 search, 1 hit, 0 arrests.
    #[test]
    fn rates_ratios_and_small_samples_match_hand_computed_figures() {
        let groups = vec![
            ("white".to_string(), "White".to_string(), counts(200, 20, 8, 10)),
            ("hispanic".into(), "Hispanic/Latino".into(), counts(100, 25, 5, 10)),
            ("asian".into(), "Asian".into(), counts(20, 1, 1, 0)),
        ];
        let m = equity_measures("race", &groups, "white");
        let d1 = &m[0];
        assert_eq!(d1.id, "D1");
        assert_eq!((d1.rows[1].numerator, d1.rows[1].denominator), (100, 320));
        assert_eq!(d1.rows[1].value_text(), "31.2%");
        assert!(d1.rows[2].small_sample && !d1.rows[1].small_sample);
        let d3 = &m[1];
        // Hispanic 25/100 = 25% against White 20/200 = 10%: ratio 2.5.
        assert_eq!(d3.rows[1].value, Some(25.0));
        assert_eq!(d3.rows[1].ratio_text(), "2.50");
        assert_eq!(d3.rows[0].ratio, Some(1.0));
        // D4 hit rates: White 8/20 = 40%, Hispanic 5/25 = 20%: ratio 0.5.
        let d4 = &m[2];
        assert_eq!(d4.rows[1].value, Some(20.0));
        assert_eq!(d4.rows[1].ratio_text(), "0.50");
        assert!(d4.rows[0].small_sample, "20 searches is a small sample");
        // D5: Asian 0/20 = 0.0%, ratio 0.
        assert_eq!(m[3].rows[2].value_text(), "0.0%");
        assert_eq!(m[3].rows[2].ratio, Some(0.0));
        // D7 has no ratio by definition.
        assert_eq!(m[5].rows[1].ratio, None);
        // Intervals (stats.rs has the formulas' own checks): Hispanic D3
        // ratio 2.5, Katz se √(1/25 − 1/100 + 1/20 − 1/200), 1.46 to 4.28,
        // beyond chance; the reference row has no interval of its own.
        assert_eq!(d3.rows[1].ratio_interval_text(), "1.46–4.28");
        assert_eq!(d3.rows[1].beyond_chance.as_deref(), Some("higher than White beyond chance at 95%"));
        assert_eq!(d3.rows[0].ratio_interval_text(), "reference");
        // Wilson for 25 of 100: 17.5% to 34.3% (statsmodels agrees).
        assert_eq!(d3.rows[1].interval_text(), "17.5–34.3%");
        // D4 ratio 0.5: se √(1/5 − 1/25 + 1/8 − 1/20) = 0.485, 0.19 to 1.29:
        // not beyond chance; the difference is 20 − 40 = −20 points.
        assert_eq!(d4.rows[1].ratio_interval_text(), "0.19–1.29");
        assert_eq!(d4.rows[1].beyond_chance, None);
        assert!((d4.rows[1].difference.unwrap() + 20.0).abs() < 1e-9);
        assert!(d4.rows[1].difference_text().starts_with("difference -20.0 points (95% CI "));
        // D5 Asian 0 of 20: a ratio of 0 whose interval is not defined.
        assert_eq!(m[3].rows[2].ratio_interval_text(), "not defined: a count is 0");
        assert_eq!((m[3].rows[2].ratio_ci_low, m[3].rows[2].ratio_ci_high), (None, None));
    }

    #[test]
    fn a_group_without_searches_has_no_hit_rate() {
        let groups = vec![
            ("white".to_string(), "White".to_string(), counts(50, 0, 0, 0)),
            ("black".into(), "Black".into(), counts(40, 4, 1, 0)),
        ];
        let m = equity_measures("race", &groups, "white");
        assert_eq!(m[2].rows[0].value_text(), "no data");
        assert_eq!(m[2].rows[1].ratio, None, "no reference rate, no ratio");
    }
}
