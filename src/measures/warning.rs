//! The officer early-warning list (docs/measures.md, "Internal
//! benchmarking"; Ridgeway and MacDonald 2009): each officer with enough
//! stops in the period is compared with the other officers' stops made in
//! the same circumstances. The other officers' stops are weighted so that
//! their mix of hour, day of week, month and district matches the
//! officer's (propensity weights p / (1 − p) from a logistic regression of
//! "this stop is the officer's" on those four); then the officer's share
//! of stops of each group, and search rate, are set against the weighted
//! figures. A ratio whose interval leaves 1 after the Benjamini–Hochberg
//! correction across every comparison of the list is flagged: a prompt
//! for a supervisor to look at the officer's stops, never a finding.

use std::collections::{BTreeMap, HashMap};

use super::stats::{Interval, Rows, Z95, benjamini_hochberg, inverse_logit, logistic_estimate, two_sided_p};

/// Officers with fewer stops in the period are left off (the and
/// Ridgeway and MacDonald's default).
pub const MINIMUM_STOPS: i64 = 50;

/// The false discovery rate held across the list.
pub const FALSE_DISCOVERY_RATE: f64 = 0.05;

/// One stop as the list reads it (or several alike, `stops` of them).
#[derive(Clone, Debug, PartialEq)]
pub struct OfficerStop {
    pub officer: i64,
    /// Hour of the clock time, None when the stop has no time.
    pub hour: Option<u8>,
    /// 0 Monday to 6 Sunday.
    pub weekday: u8,
    /// 1 to 12.
    pub month: u8,
    pub district: std::sync::Arc<str>,
    /// The stop's race group (`aggregates::race_group`).
    pub group: std::sync::Arc<str>,
    pub searched: bool,
    pub stops: i64,
}

/// One comparison of an officer with the benchmark.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// A race group's code, or "search" for the search rate.
    pub measure: String,
    pub label: String,
    /// The officer's share or rate, percent.
    pub officer: f64,
    /// The weighted other officers' share or rate, percent.
    pub benchmark: f64,
    pub ratio: Option<f64>,
    pub interval: Option<Interval>,
    /// The delta-method z-statistic of ln(ratio), None when not tested.
    pub z: Option<f64>,
    /// Two-sided, against the empirical null (`flag`).
    pub p_value: Option<f64>,
    /// Stands out after the false-discovery-rate correction.
    pub flagged: bool,
}

/// One officer's row of the list.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Review {
    pub officer: i64,
    pub stops: i64,
    /// The effective number of the other officers' stops behind the
    /// benchmark, (Σw)² / Σw²: how many unweighted stops it is worth.
    pub effective_stops: f64,
    pub comparisons: Vec<Comparison>,
    /// Why no comparison could be made, when none could.
    pub note: Option<String>,
}

impl Review {
    pub fn flagged(&self) -> bool {
        self.comparisons.iter().any(|c| c.flagged)
    }
}

/// The list for a period.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct EarlyWarning {
    pub minimum: i64,
    pub reviews: Vec<Review>,
    /// Officers with stops in the period but fewer than `minimum`.
    pub below_minimum: usize,
}

impl EarlyWarning {
    pub fn flagged(&self) -> impl Iterator<Item = &Review> {
        self.reviews.iter().filter(|r| r.flagged())
    }
    pub fn of(&self, officer: i64) -> Option<&Review> {
        self.reviews.iter().find(|r| r.officer == officer)
    }
}

/// What one officer did in one cell of circumstances.
#[derive(Clone, Debug, Default)]
struct Tally {
    stops: f64,
    searches: f64,
    groups: Vec<f64>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.stops += other.stops;
        self.searches += other.searches;
        self.groups.resize(other.groups.len().max(self.groups.len()), 0.0);
        self.groups.iter_mut().zip(&other.groups).for_each(|(a, b)| *a += b);
    }
}

/// A cell: one combination of hour, weekday, month and district, with the
/// columns of its row in the propensity model, every officer's tally and
/// the total.
struct Cell {
    columns: Vec<usize>,
    officers: HashMap<i64, Tally>,
    total: Tally,
}

/// The list for the stops of a period; `minimum` stops make an officer
/// eligible. Race groups are compared where the period has stops of them
/// (not "unknown" or "multiple").
pub fn early_warning(stops: &[OfficerStop], minimum: i64) -> EarlyWarning {
    if stops.is_empty() {
        return EarlyWarning { minimum, ..Default::default() };
    }
    let groups: Vec<&str> = {
        let present: std::collections::BTreeSet<&str> = stops.iter().map(|s| &*s.group).collect();
        crate::stops::RACE_GROUPS.iter().map(|(c, _)| *c).filter(|c| present.contains(c)).collect()
    };
    let (cells, columns) = cells(stops, &groups);
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    for s in stops {
        *totals.entry(s.officer).or_default() += s.stops as f64;
    }
    let all: f64 = totals.values().sum();
    let eligible: Vec<(i64, f64)> =
        totals.iter().filter(|(_, n)| **n >= minimum as f64).map(|(o, n)| (*o, *n)).collect();
    // One fit per officer, independent of the others: spread over the
    // cores (two on the machines the product runs on).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = eligible.len().div_ceil(threads).max(1);
    let mut reviews: Vec<Review> = std::thread::scope(|scope| {
        let handles: Vec<_> = eligible
            .chunks(chunk)
            .map(|part| {
                let (cells, groups) = (&cells, &groups);
                scope.spawn(move || {
                    part.iter()
                        .map(|(o, n)| review(*o, (*n, all), cells, columns, groups, minimum))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    flag(&mut reviews);
    let below_minimum = totals.len() - reviews.len();
    EarlyWarning { minimum, reviews, below_minimum }
}

/// Pools the stops into cells and numbers the model's columns: the
/// intercept, then one indicator per level of each feature but its first.
fn cells(stops: &[OfficerStop], groups: &[&str]) -> (Vec<Cell>, usize) {
    type Key = (Option<u8>, u8, u8, std::sync::Arc<str>);
    let mut pooled: BTreeMap<Key, HashMap<i64, Tally>> = BTreeMap::new();
    for s in stops {
        let key = (s.hour, s.weekday, s.month, s.district.clone());
        let tally = pooled.entry(key).or_default().entry(s.officer).or_default();
        tally.groups.resize(groups.len(), 0.0);
        tally.stops += s.stops as f64;
        tally.searches += if s.searched { s.stops as f64 } else { 0.0 };
        if let Some(g) = groups.iter().position(|g| *g == &*s.group) {
            tally.groups[g] += s.stops as f64;
        }
    }
    let hours = levels(pooled.keys().map(|k| k.0));
    let weekdays = levels(pooled.keys().map(|k| k.1));
    let months = levels(pooled.keys().map(|k| k.2));
    let districts = levels(pooled.keys().map(|k| k.3.clone()));
    // Each feature's first indicator column: after the intercept and the
    // indicators of the features before it.
    let (mut base, mut columns) = (Vec::new(), 1);
    for size in [hours.len(), weekdays.len(), months.len(), districts.len()] {
        base.push(columns);
        columns += size.saturating_sub(1);
    }
    let cells = pooled
        .into_iter()
        .map(|((hour, weekday, month, district), officers)| {
            let levels = [
                hours.binary_search(&hour).unwrap_or(0),
                weekdays.binary_search(&weekday).unwrap_or(0),
                months.binary_search(&month).unwrap_or(0),
                districts.binary_search(&district).unwrap_or(0),
            ];
            let mut columns = vec![0];
            columns.extend(levels.iter().zip(&base).filter(|(l, _)| **l > 0).map(|(l, b)| b + l - 1));
            let mut total = Tally::default();
            officers.values().for_each(|t| total.add(t));
            Cell { columns, officers, total }
        })
        .collect();
    (cells, columns)
}

fn levels<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    values.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}

/// One officer's comparisons: the propensity fit, the weighted benchmark
/// and the ratios with their delta-method intervals.
fn review(
    officer: i64,
    (stops, all): (f64, f64),
    cells: &[Cell],
    columns: usize,
    groups: &[&str],
    minimum: i64,
) -> Review {
    let mut rows = Rows::new(columns);
    for cell in cells {
        let own = cell.officers.get(&officer).map_or(0.0, |t| t.stops);
        rows.push_sparse(cell.columns.iter().map(|c| (*c, 1.0)), own, cell.total.stops);
    }
    // From the officer's overall share: a few Newton steps from there.
    let mut start = vec![0.0; columns];
    start[0] = (stops / (all - stops).max(1.0)).ln();
    let mut review =
        Review { officer, stops: stops as i64, effective_stops: 0.0, comparisons: vec![], note: None };
    let Some(beta) = logistic_estimate(&rows, start) else {
        review.note = Some("no comparison: the officer's circumstances cannot be matched (no other officer's stops in them, or too few to fit)".into());
        return review;
    };
    let mut own = Tally::default();
    let mut weighted = Vec::with_capacity(cells.len());
    for (i, cell) in cells.iter().enumerate() {
        let mine = cell.officers.get(&officer);
        if let Some(mine) = mine {
            own.add(mine);
        }
        let peers = Peers { total: &cell.total, mine };
        if peers.count(|t| t.stops) > 0.0 {
            let p = inverse_logit(rows.eta(i, &beta));
            weighted.push((p / (1.0 - p), peers));
        }
    }
    let (w, w2) = weighted.iter().fold((0.0, 0.0), |(a, b), (w, p)| {
        let n = p.count(|t| t.stops);
        (a + w * n, b + w * w * n)
    });
    review.effective_stops = if w2 > 0.0 { w * w / w2 } else { 0.0 };
    if weighted.is_empty() {
        review.note = Some(
            "no comparison: no other officer stopped anyone in the circumstances of this officer's stops"
                .into(),
        );
        return review;
    }
    own.groups.resize(groups.len(), 0.0);
    for (g, code) in groups.iter().enumerate() {
        let label = crate::stops::label(crate::stops::RACE_GROUPS, code);
        let c = compare(own.groups[g], own.stops, &weighted, |t| t.groups.get(g).copied().unwrap_or(0.0));
        review.comparisons.push(Comparison {
            measure: code.to_string(),
            label: format!("{label} share of stops"),
            ..c
        });
    }
    let c = compare(own.searches, own.stops, &weighted, |t| t.searches);
    review.comparisons.push(Comparison { measure: "search".into(), label: "search rate".into(), ..c });
    // Weights concentrated on a few stops make the interval too narrow
    // (the delta method needs a benchmark of some size): the same minimum
    // applies to the benchmark's effective stops as to the officer's.
    if review.effective_stops < minimum as f64 {
        review.comparisons.iter_mut().for_each(|c| c.z = None);
        review.note = Some(format!(
            "shown, not tested: the other officers' stops in this officer's circumstances are worth only {:.0} stops (fewer than {minimum})",
            review.effective_stops
        ));
    }
    review
}

/// The other officers' part of a cell: its total less the officer's own
/// (borrowed: 500 officers × 10,000 cells would otherwise copy five
/// million tallies).
struct Peers<'a> {
    total: &'a Tally,
    mine: Option<&'a Tally>,
}

impl Peers<'_> {
    fn count(&self, what: impl Fn(&Tally) -> f64) -> f64 {
        what(self.total) - self.mine.map_or(0.0, &what)
    }
}

/// The officer's x of n against the weighted others' share of what
/// `count` counts. Var(ln R) = (1 − O) / (n·O) for the officer's share O,
/// plus Var(B) / B² for the weighted share B, with Var(B) = Σ wᵢ²(yᵢ − B)²
/// / (Σ wᵢ)² over the other officers' stops (the weights taken as known).
fn compare(x: f64, n: f64, weighted: &[(f64, Peers)], count: impl Fn(&Tally) -> f64) -> Comparison {
    let (mut sum, mut hits) = (0.0, 0.0);
    for (w, peers) in weighted {
        sum += w * peers.count(|t| t.stops);
        hits += w * peers.count(&count);
    }
    let (officer, benchmark) = (x / n, hits / sum);
    let mut c = Comparison {
        measure: String::new(),
        label: String::new(),
        officer: 100.0 * officer,
        benchmark: 100.0 * benchmark,
        ratio: None,
        interval: None,
        z: None,
        p_value: None,
        flagged: false,
    };
    if x <= 0.0 || benchmark <= 0.0 {
        return c;
    }
    let spread: f64 = weighted
        .iter()
        .map(|(w, peers)| {
            let (y, n) = (peers.count(&count), peers.count(|t| t.stops));
            w * w * (y * (1.0 - benchmark).powi(2) + (n - y) * benchmark.powi(2))
        })
        .sum();
    let variance = (1.0 - officer) / (n * officer) + spread / (sum * sum) / (benchmark * benchmark);
    let (ratio, se) = (officer / benchmark, variance.sqrt());
    c.ratio = Some(ratio);
    c.interval = Some(Interval { low: (ratio.ln() - Z95 * se).exp(), high: (ratio.ln() + Z95 * se).exp() });
    c.z = (se > 0.0).then(|| ratio.ln() / se);
    c
}

/// Benjamini–Hochberg at 5% across every comparison of the list, on
/// p-values from the empirical null of Ridgeway and MacDonald (after
/// Efron 2004): the delta-method z of each officer is measured against
/// the spread of all officers' z for that measure (median, and 1.4826 ×
/// the median absolute deviation, never narrower than the theoretical
/// N(0, 1)), since weighted benchmarks have heavier tails than the
/// theory says. Fewer than 10 officers leave the theoretical null.
fn flag(reviews: &mut [Review]) {
    let mut by_measure: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for c in reviews.iter().flat_map(|r| &r.comparisons) {
        if let Some(z) = c.z {
            by_measure.entry(c.measure.clone()).or_default().push(z);
        }
    }
    let null: BTreeMap<String, (f64, f64)> =
        by_measure.into_iter().map(|(m, z)| (m, empirical_null(z))).collect();
    for c in reviews.iter_mut().flat_map(|r| r.comparisons.iter_mut()) {
        if let (Some(z), Some((center, spread))) = (c.z, null.get(&c.measure)) {
            c.p_value = Some(two_sided_p((z - center) / spread));
        }
    }
    let p: Vec<Option<f64>> = reviews.iter().flat_map(|r| r.comparisons.iter().map(|c| c.p_value)).collect();
    let mut rejected = benjamini_hochberg(&p, FALSE_DISCOVERY_RATE).into_iter();
    for c in reviews.iter_mut().flat_map(|r| r.comparisons.iter_mut()) {
        c.flagged = rejected.next().unwrap_or(false);
    }
}

/// The centre and spread of the null z distribution from the officers'
/// z-statistics: (median, max(1, 1.4826 × MAD)), or (0, 1) with fewer
/// than 10.
fn empirical_null(mut z: Vec<f64>) -> (f64, f64) {
    if z.len() < 10 {
        return (0.0, 1.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
    };
    let center = median(&mut z);
    let mut deviations: Vec<f64> = z.iter().map(|v| (v - center).abs()).collect();
    (center, (1.4826 * median(&mut deviations)).max(1.0))
}

impl Comparison {
    /// "1.31 (1.00 to 1.72)", or why there is no ratio.
    pub fn ratio_text(&self) -> String {
        match (self.ratio, self.interval) {
            (Some(r), Some(i)) => format!("{r:.2} ({:.2} to {:.2})", i.low, i.high),
            _ if self.officer == 0.0 => "not defined (none of the officer's stops)".into(),
            _ => "not defined (none in the benchmark)".into(),
        }
    }
    pub fn verdict(&self) -> &'static str {
        match (self.flagged, self.ratio) {
            (true, Some(r)) if r > 1.0 => "higher than peers: review",
            (true, _) => "lower than peers: review",
            (false, _) if self.p_value.is_none() => "not tested",
            _ => "within peers' range",
        }
    }
}

/// What every rendering of the list says first.
pub const WORDING: &str = "A prompt for supervisory review, not a finding: an officer listed here stopped or searched people of a group at a rate unlike that of other officers working the same hours, days, months and districts, beyond what chance explains across the whole list (false discovery rate 5%). Circumstances the comparison cannot see (assignments, calls for service, a specific operation) may explain it; the review finds out.";

/// The table rows of the list: one per comparison of each flagged
/// officer (`all`: of every officer), named by `name`.
pub fn rows(list: &EarlyWarning, name: impl Fn(i64) -> String, all: bool) -> Vec<Vec<String>> {
    let reviews = list.reviews.iter().filter(|r| all || r.flagged());
    reviews.flat_map(|r| review_rows(r, &name(r.officer), all)).collect()
}

/// One officer's rows: every comparison, or (`all` false) the flagged.
pub fn review_rows(r: &Review, name: &str, all: bool) -> Vec<Vec<String>> {
    let compared = r.comparisons.iter().filter(|c| all || c.flagged);
    compared
        .map(|c| {
            vec![
                name.to_string(),
                format!("{} (peers: {:.0} effective)", r.stops, r.effective_stops),
                c.label.clone(),
                format!("{:.1}%", c.officer),
                format!("{:.1}%", c.benchmark),
                c.ratio_text(),
                c.verdict().to_string(),
            ]
        })
        .collect()
}
