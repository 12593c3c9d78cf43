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
pub struct OfficerStop<'a> {
    pub officer: i64,
    /// Hour of the clock time, None when the stop has no time.
    pub hour: Option<u8>,
    /// 0 Monday to 6 Sunday.
    pub weekday: u8,
    /// 1 to 12.
    pub month: u8,
    pub district: &'a str,
    /// The stop's race group (`aggregates::race_group`).
    pub group: &'a str,
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

/// The race groups a tally counts: `RACE_GROUPS`, in its order.
const GROUPS: usize = crate::stops::RACE_GROUPS.len();

/// What one officer did in one cell of circumstances, or every officer
/// (a cell's total). Counts of one period's stops of one agency: 32 bits
/// hold them, and keep a year's 850,000 (cell, officer) tallies of a
/// million stops at 37 MB.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    stops: u32,
    searches: u32,
    /// By race group, in the order of `RACE_GROUPS`.
    groups: [u32; GROUPS],
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.stops = self.stops.saturating_add(other.stops);
        self.searches = self.searches.saturating_add(other.searches);
        self.groups.iter_mut().zip(&other.groups).for_each(|(a, b)| *a = a.saturating_add(*b));
    }
    fn stops(&self) -> f64 {
        self.stops as f64
    }
    fn searches(&self) -> f64 {
        self.searches as f64
    }
    fn group(&self, g: usize) -> f64 {
        self.groups[g] as f64
    }
}

/// The stops of a period, pooled for the list a stop at a time (`add`):
/// the store streams a year's million stops into it rather than holding
/// them as rows. Each stop is kept as one number packing its cell and its
/// officer (`key`), so pooling is one sort of 16-byte items rather than
/// a map lookup per stop (which, with the fresh memory it took, was a
/// third of the list's time).
#[derive(Default)]
pub struct Pool {
    stops: Vec<Packed>,
    /// Officers numbered as first seen, and their ids by number.
    officers: HashMap<i64, u32, rustc_hash::FxBuildHasher>,
    ids: Vec<i64>,
    /// Districts numbered as first seen, and their names by number.
    districts: HashMap<String, u32, rustc_hash::FxBuildHasher>,
    names: Vec<String>,
    /// Which race groups the period has stops of.
    present: [bool; GROUPS],
}

/// One stop in the pool: its key (hour, weekday, month, district number,
/// officer number, from the most significant bits), its race group's
/// place in `RACE_GROUPS` (`GROUPS` for none compared), whether searched.
#[derive(Clone, Copy)]
struct Packed {
    key: u64,
    stops: u32,
    group: u8,
    searched: bool,
}

/// Bits of the key for the officer's number and the district's: 268
/// million officers, 16 million districts, more than a period's stops of
/// one agency could name.
const OFFICER_BITS: u32 = 28;
const DISTRICT_BITS: u32 = 24;

impl Pool {
    pub fn add(&mut self, s: &OfficerStop) {
        let next = self.ids.len() as u32;
        let officer = *self.officers.entry(s.officer).or_insert(next);
        if officer == next {
            self.ids.push(s.officer);
        }
        let district = match self.districts.get(s.district) {
            Some(d) => *d,
            None => {
                let d = self.names.len() as u32;
                self.names.push(s.district.to_string());
                self.districts.insert(s.district.to_string(), d);
                d
            }
        };
        assert!(
            officer < 1 << OFFICER_BITS && district < 1 << DISTRICT_BITS,
            "too many officers or districts"
        );
        let group = crate::stops::RACE_GROUPS.iter().position(|(code, _)| *code == s.group);
        if let Some(g) = group {
            self.present[g] = true;
        }
        // None sorts first, as the hour's levels do.
        let hour = s.hour.map_or(0, |h| h as u64 + 1);
        let cell =
            (((hour << 3 | s.weekday as u64) << 4 | s.month as u64) << DISTRICT_BITS) | district as u64;
        self.stops.push(Packed {
            key: cell << OFFICER_BITS | officer as u64,
            stops: s.stops.clamp(0, u32::MAX as i64) as u32,
            group: group.unwrap_or(GROUPS) as u8,
            searched: s.searched,
        });
    }

    /// The list of the pooled stops; `minimum` stops make an officer
    /// eligible. Race groups are compared where the period has stops of
    /// them (not "unknown" or "multiple").
    pub fn list(mut self, minimum: i64) -> EarlyWarning {
        if self.stops.is_empty() {
            return EarlyWarning { minimum, ..Default::default() };
        }
        let groups: Vec<usize> = (0..GROUPS).filter(|g| self.present[*g]).collect();
        let pooled = self.pooled();
        let eligible: Vec<(u32, f64)> = {
            let mut by_id: Vec<(i64, u32, f64)> =
                pooled.totals.iter().enumerate().map(|(o, n)| (self.ids[o], o as u32, *n)).collect();
            by_id.sort_unstable_by_key(|(id, _, _)| *id);
            by_id.into_iter().filter(|(_, _, n)| *n >= minimum as f64).map(|(_, o, n)| (o, n)).collect()
        };
        let all: f64 = pooled.totals.iter().sum();
        // One fit per officer, independent of the others: spread over the
        // cores (two on the machines the product runs on), each with its
        // own copy of the model's rows (only the officer's column differs).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let chunk = eligible.len().div_ceil(threads).max(1);
        let mut reviews: Vec<Review> = std::thread::scope(|scope| {
            let handles: Vec<_> = eligible
                .chunks(chunk)
                .map(|part| {
                    let (pooled, groups, ids) = (&pooled, &groups, &self.ids);
                    scope.spawn(move || {
                        let mut rows = pooled.design.clone();
                        part.iter()
                            .map(|(o, n)| {
                                let officer = Officer { id: ids[*o as usize], own: &pooled.own[*o as usize] };
                                review(officer, (*n, all), pooled, &mut rows, groups, minimum)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        flag(&mut reviews);
        let below_minimum = pooled.totals.len() - reviews.len();
        EarlyWarning { minimum, reviews, below_minimum }
    }

    /// Sorts the stops into cells (in the order of hour, weekday, month,
    /// district name) and tallies each officer's part of each.
    fn pooled(&mut self) -> Pooled {
        // Districts renumbered in name order, so cells sort as the levels do.
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.names[*a as usize].cmp(&self.names[*b as usize]));
        let mut rank = vec![0u64; order.len()];
        order.iter().enumerate().for_each(|(r, d)| rank[*d as usize] = r as u64);
        let district_mask = ((1u64 << DISTRICT_BITS) - 1) << OFFICER_BITS;
        for s in &mut self.stops {
            let d = (s.key & district_mask) >> OFFICER_BITS;
            s.key = (s.key & !district_mask) | rank[d as usize] << OFFICER_BITS;
        }
        self.stops.sort_unstable_by_key(|s| s.key);
        let stops = std::mem::take(&mut self.stops);
        let mut pooled = Pooled {
            cells: Vec::new(),
            entries: Vec::new(),
            own: vec![Vec::new(); self.ids.len()],
            totals: vec![0.0; self.ids.len()],
            design: Rows::new(0),
        };
        let mut keys: Vec<u64> = Vec::new();
        let mut last = u64::MAX;
        for s in &stops {
            let officer = (s.key & ((1 << OFFICER_BITS) - 1)) as usize;
            if s.key != last {
                let cell = s.key >> OFFICER_BITS;
                if keys.last() != Some(&cell) {
                    keys.push(cell);
                    pooled.cells.push(Tally::default());
                }
                pooled.own[officer].push((keys.len() - 1, pooled.entries.len()));
                pooled.entries.push(Tally::default());
                last = s.key;
            }
            let mut stop =
                Tally { stops: s.stops, searches: if s.searched { s.stops } else { 0 }, ..Tally::default() };
            if let Some(g) = stop.groups.get_mut(s.group as usize) {
                *g = s.stops;
            }
            pooled.entries.last_mut().expect("pushed above").add(&stop);
            pooled.cells.last_mut().expect("pushed above").add(&stop);
            pooled.totals[officer] += s.stops as f64;
        }
        pooled.design = design(&keys, &pooled.cells);
        pooled
    }
}

/// The pooled stops: each cell's total, each (cell, officer) tally, each
/// officer's (cell, tally) places in cell order, officers' stops, and the
/// propensity model's rows (successes left 0 for each officer to fill).
struct Pooled {
    cells: Vec<Tally>,
    entries: Vec<Tally>,
    own: Vec<Vec<(usize, usize)>>,
    totals: Vec<f64>,
    design: Rows,
}

/// The officer a review is of: the id, and the places of the officer's
/// tallies (`Pooled::own`).
struct Officer<'a> {
    id: i64,
    own: &'a [(usize, usize)],
}

/// The model's rows, one per cell (its key, its stops as trials): the
/// intercept, then one indicator per level of each feature (hour,
/// weekday, month, district) but its first.
fn design(keys: &[u64], cells: &[Tally]) -> Rows {
    let features = |cell: u64| {
        [
            cell >> (DISTRICT_BITS + 7),
            cell >> (DISTRICT_BITS + 4) & 7,
            cell >> DISTRICT_BITS & 15,
            cell & ((1 << DISTRICT_BITS) - 1),
        ]
    };
    let levels: Vec<Vec<u64>> = (0..4).map(|f| levels(keys.iter().map(|k| features(*k)[f]))).collect();
    // Each feature's first indicator column: after the intercept and the
    // indicators of the features before it.
    let (mut base, mut columns) = (Vec::new(), 1);
    for l in &levels {
        base.push(columns);
        columns += l.len().saturating_sub(1);
    }
    let mut rows = Rows::new(columns);
    for (key, total) in keys.iter().zip(cells) {
        let f = features(*key);
        let mut x = vec![(0, 1.0)];
        for k in 0..4 {
            let level = levels[k].binary_search(&f[k]).unwrap_or(0);
            if level > 0 {
                x.push((base[k] + level - 1, 1.0));
            }
        }
        rows.push_sparse(x, 0.0, total.stops());
    }
    rows
}

fn levels<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    values.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}

/// The list for the stops of a period (`Pool`).
pub fn early_warning(stops: &[OfficerStop], minimum: i64) -> EarlyWarning {
    let mut pool = Pool::default();
    stops.iter().for_each(|s| pool.add(s));
    pool.list(minimum)
}

/// One officer's comparisons: the propensity fit (on `rows`, the design
/// with the officer's stops set as successes for the fit), the weighted
/// benchmark and the ratios with their delta-method intervals.
fn review(
    officer: Officer,
    (stops, all): (f64, f64),
    pooled: &Pooled,
    rows: &mut Rows,
    groups: &[usize],
    minimum: i64,
) -> Review {
    for (cell, e) in officer.own {
        rows.successes[*cell] = pooled.entries[*e].stops();
    }
    // From the officer's overall share: a few Newton steps from there.
    let mut start = vec![0.0; rows.columns];
    start[0] = (stops / (all - stops).max(1.0)).ln();
    let beta = logistic_estimate(rows, start);
    officer.own.iter().for_each(|(cell, _)| rows.successes[*cell] = 0.0);
    let mut review = Review {
        officer: officer.id,
        stops: stops as i64,
        effective_stops: 0.0,
        comparisons: vec![],
        note: None,
    };
    let Some(beta) = beta else {
        review.note = Some("no comparison: the officer's circumstances cannot be matched (no other officer's stops in them, or too few to fit)".into());
        return review;
    };
    let mut own = Tally::default();
    let mut weighted = Vec::with_capacity(pooled.cells.len());
    let mut places = officer.own.iter().peekable();
    for (i, total) in pooled.cells.iter().enumerate() {
        let mine = places.next_if(|(cell, _)| *cell == i).map(|(_, e)| &pooled.entries[*e]);
        if let Some(mine) = mine {
            own.add(mine);
        }
        let peers = Peers { total, mine };
        if peers.count(Tally::stops) > 0.0 {
            let p = inverse_logit(rows.eta(i, &beta));
            weighted.push((p / (1.0 - p), peers));
        }
    }
    let (w, w2) = weighted.iter().fold((0.0, 0.0), |(a, b), (w, p)| {
        let n = p.count(Tally::stops);
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
    for g in groups {
        let code = crate::stops::RACE_GROUPS[*g].0;
        let label = crate::stops::label(crate::stops::RACE_GROUPS, code);
        let c = compare(own.group(*g), own.stops(), &weighted, |t| t.group(*g));
        review.comparisons.push(Comparison {
            measure: code.to_string(),
            label: format!("{label} share of stops"),
            ..c
        });
    }
    let c = compare(own.searches(), own.stops(), &weighted, Tally::searches);
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
        sum += w * peers.count(Tally::stops);
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
            let (y, n) = (peers.count(&count), peers.count(Tally::stops));
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
