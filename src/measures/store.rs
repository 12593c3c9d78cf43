//! Loads what the measures read, and computes every measure of docs/measures.md
//! that the product derives for a period: the training measures (T1-T5),
//! supervision (S1-S5), enforcement focus (E1-E6), stops and equity by
//! race/ethnicity, gender and age band (D1, D3-D8), accountability
//! (C1-C4), reimbursement (R1-R2) and record completeness (Q1).

use serde_json::json;

use super::equity::{AGE_BANDS, Counts, Grouped, equity_measures};
use super::program::{Data, accountability_groups, enforcement_mix, program_measures};
use super::{Measure, Period};
use crate::agency::Scope;
use crate::db;
use crate::stops::aggregates::Tally;
use crate::web::format_date;

/// Sheets already computed, keyed by agency and period and valid while the
/// agency's audit head is the same: every change to its records writes an
/// entry in its chain, so a dashboard reloaded without changes costs one
/// query. Computed sheets by (agency, period), with the agency's audit
/// sequence they were made at.
type Sheets = std::collections::HashMap<(i64, time::Date, time::Date), (i64, std::sync::Arc<Sheet>)>;

/// One computation at a time per agency (see `SheetCache::get`).
type Flights = std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>;

#[derive(Clone, Default)]
pub struct SheetCache(std::sync::Arc<std::sync::Mutex<Sheets>>, std::sync::Arc<std::sync::Mutex<Flights>>);

/// Periods kept at most per agency; the oldest computations go first when
/// full (a sheet is a few kilobytes: a hundred agencies' keep a few MB).
const CACHED_SHEETS: usize = 64;

/// Sheets computed since the process started (a test counts them to see
/// that simultaneous views after a write compute each sheet once).
pub static SHEETS_COMPUTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl SheetCache {
    pub async fn get(&self, scope: &Scope, period: Period) -> Result<std::sync::Arc<Sheet>, sqlx::Error> {
        let head = crate::audit::store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0);
        let key = (scope.id(), period.from, period.to);
        if let Some(sheet) = self.cached(key, head) {
            return Ok(sheet);
        }
        // One computation at a time in an agency: after a write every open
        // dashboard misses at once, and sixteen views computing the same
        // sheet together took 2.2 s each where one takes 0.33 s. The others
        // wait here and find the sheet made.
        let flight = match self.1.lock() {
            Ok(mut flights) => flights.entry(scope.id()).or_default().clone(),
            Err(_) => Default::default(),
        };
        let _flight = flight.lock().await;
        if let Some(sheet) = self.cached(key, head) {
            return Ok(sheet);
        }
        let sheet = std::sync::Arc::new(compute(scope, period).await?);
        SHEETS_COMPUTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut map) = self.0.lock() {
            // Each agency keeps its own: a state's dashboard reads every
            // agency's sheet, and one agency's views must not push the
            // others' out. This agency's sheets of earlier heads go first;
            // then, if still full, the rest of this agency's.
            let of_agency = |map: &Sheets| map.keys().filter(|k| k.0 == scope.id()).count();
            if of_agency(&map) >= CACHED_SHEETS {
                map.retain(|k, (seq, _)| k.0 != scope.id() || *seq == head);
                if of_agency(&map) >= CACHED_SHEETS {
                    map.retain(|k, _| k.0 != scope.id());
                }
            }
            map.insert(key, (head, sheet.clone()));
        }
        Ok(sheet)
    }

    fn cached(&self, key: (i64, time::Date, time::Date), head: i64) -> Option<std::sync::Arc<Sheet>> {
        let found = self.0.lock().ok().and_then(|m| m.get(&key).cloned());
        found.filter(|(seq, _)| *seq == head).map(|(_, sheet)| sheet)
    }
}

/// Every derived measure of a period.
pub struct Sheet {
    pub period: Period,
    pub measures: Vec<Measure>,
    pub grouped: Vec<Grouped>,
    /// Logged measures' values for periods within this one ("reported").
    pub reported: Vec<super::logged::Reported>,
}

/// Where the stop counts come from: the aggregates kept as stops are
/// written (always, in the product), or the records themselves (the
/// property test and `oversight maintenance check-aggregates` compare the
/// two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Aggregates,
    Records,
}

/// The period's stops counted per grouping and group: every grouping of
/// D1, D3-D8 and Q1 comes from this one read.
pub struct StopGroups(Vec<(String, String, Tally)>);

impl StopGroups {
    pub async fn load(scope: &Scope, period: Period, source: Source) -> Result<StopGroups, sqlx::Error> {
        let (from, to) = (format_date(period.from), format_date(period.to));
        let rows = match source {
            Source::Aggregates => {
                let mut conn = scope.acquire().await?;
                crate::stops::aggregates::groups_between(&mut conn, scope, &from, &to).await?
            }
            Source::Records => crate::stops::store::groups_from_records(scope, &from, &to).await?,
        };
        Ok(StopGroups(rows))
    }

    /// Per-group counts in the grouping's display order (groups without
    /// stops are left out).
    pub fn counts(&self, grouping: &str) -> Vec<(String, String, Counts)> {
        let summed: std::collections::HashMap<&str, Counts> = self
            .0
            .iter()
            .filter(|(g, _, _)| g == grouping)
            .map(|(_, group, tally)| (group.as_str(), tally.counts))
            .collect();
        let order: Vec<(&str, &str)> = match grouping {
            "race" => crate::stops::RACE_GROUPS
                .iter()
                .copied()
                .chain([("multiple", "More than one"), ("unknown", "Unknown")])
                .collect(),
            "gender" => crate::stops::GENDERS.iter().copied().chain([("unknown", "Unknown")]).collect(),
            _ => AGE_BANDS.to_vec(),
        };
        order
            .into_iter()
            .filter_map(|(code, label)| summed.get(code).map(|c| (code.to_string(), label.to_string(), *c)))
            .collect()
    }

    /// Q1 for stops: (complete, all), over one grouping's groups (each
    /// stop is in exactly one).
    fn completeness(&self) -> (i64, i64) {
        let race = self.0.iter().filter(|(g, _, _)| g == "race");
        race.fold((0, 0), |(c, n), (_, _, t)| (c + t.complete, n + t.counts.stops))
    }
}

/// The reference group of each grouping (docs/measures.md: White by default).
pub fn reference(grouping: &str) -> &'static str {
    match grouping {
        "race" => "white",
        "gender" => "male",
        _ => "25_34",
    }
}

async fn completeness(
    scope: &Scope,
    period: Period,
    stops: &StopGroups,
) -> Result<Vec<(&'static str, i64, i64)>, sqlx::Error> {
    let checks = [
        (
            "arrests",
            "SELECT COUNT(*), CAST(SUM(CASE WHEN officer_id IS NOT NULL AND charges <> '' AND perceived_race <> '' \
             THEN 1 ELSE 0 END) AS BIGINT) FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2 AND agency_id = $3",
        ),
        (
            "complaints",
            "SELECT COUNT(*), CAST(SUM(CASE WHEN officers <> '' AND summary <> '' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM complaints WHERE received_on >= $1 AND received_on <= $2 AND agency_id = $3",
        ),
    ];
    let (complete, all) = stops.completeness();
    let mut out = vec![("stops", complete, all)];
    for (kind, sql) in checks {
        let (all, complete): (i64, Option<i64>) = db::query_as(sql)
            .bind(format_date(period.from))
            .bind(format_date(period.to))
            .bind(scope.id())
            .fetch_one(scope)
            .await?;
        out.push((kind, complete.unwrap_or(0), all));
    }
    Ok(out)
}

/// The records the program measures read, for the period and the one
/// before it.
async fn program_data(scope: &Scope, period: Period, stops: &StopGroups) -> Result<Data, sqlx::Error> {
    let (from, to) = (format_date(period.previous().from), format_date(period.to));
    // The program measures count 287(g) arrests only: a tenth of a large
    // agency's arrests, read through their own index.
    let arrests = crate::arrests::store::actions_between(scope, &from, &to).await?;
    let stops_287g = crate::stops::store::actions_between(scope, &from, &to).await?;
    let stop_reasons = crate::stops::store::reasons_of_arrests_between(scope, &from, &to).await?;
    Ok(Data {
        arrests,
        stops_287g,
        stop_reasons,
        complaints: crate::complaints::store::received_or_closed_between(scope, &from, &to).await?,
        complaints_287g: crate::complaints::store::involving_287g(scope).await?,
        pay: crate::pay::store::all_pay(scope).await?,
        leads: crate::pay::store::all_leads(scope).await?,
        officers: crate::officers::store::list(scope, &Default::default()).await?,
        evidence: crate::officers::store::evidence(scope).await?,
        completeness: completeness(scope, period, stops).await?,
    })
}

/// The equity settings: population shares (D2) and coordinates (D9).
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct EquitySettings {
    pub population_shares: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub time_zone: String,
}

/// The agency's equity settings, from its place (`agency::store::place`).
pub async fn equity_settings(scope: &Scope) -> Result<EquitySettings, sqlx::Error> {
    let place = crate::agency::store::place(scope).await?;
    Ok(EquitySettings {
        population_shares: place.population_shares,
        latitude: place.latitude,
        longitude: place.longitude,
        time_zone: place.time_zone,
    })
}

/// D9's counts for a period: stops with a time and one known group,
/// inside the window between the earliest and the latest dusk of the days
/// that have such stops.
async fn darkness(
    scope: &Scope,
    period: Period,
    place: (f64, f64, &str),
    source: Source,
) -> Result<super::darkness::Darkness, sqlx::Error> {
    use super::darkness::{Darkness, civil_dusk_local, count_window, window};
    let (from, to) = (format_date(period.from), format_date(period.to));
    let parse = |d: &str| crate::web::parse_date(d);
    if source == Source::Aggregates {
        let mut conn = scope.acquire().await?;
        let days = crate::stops::aggregates::darkness_days(&mut conn, scope, &from, &to).await?;
        // Each day's dusk once: the window is their range.
        let (latitude, longitude, zone) = place;
        let dusk: std::collections::BTreeMap<String, i64> = days
            .into_iter()
            .filter_map(|d| Some((civil_dusk_local(parse(&d)?, latitude, longitude, zone)?, d)))
            .map(|(minute, d)| (d, minute))
            .collect();
        let (Some(first), Some(last)) = (dusk.values().min(), dusk.values().max()) else {
            return Ok(Darkness::default());
        };
        let counted =
            crate::stops::aggregates::darkness_counts(&mut conn, scope, (&from, &to), (*first, *last), &dusk)
                .await?;
        if let Some(counted) = counted {
            let mut d = Darkness::default();
            for (minority, dark, n) in counted {
                d.add(dark, minority, n);
            }
            return Ok(d);
        }
    }
    // From the records: the property test's reference, and a window the
    // kept minutes do not cover.
    let rows = crate::stops::store::darkness_from_records(scope, &from, &to).await?;
    let rows: Vec<(time::Date, i64, bool, i64)> =
        rows.iter().filter_map(|(d, m, x, n)| Some((parse(d)?, *m, *x, *n))).collect();
    match window(rows.iter().map(|r| r.0), place) {
        Some(w) => Ok(count_window(&rows, w, place)),
        None => Ok(Darkness::default()),
    }
}

/// D9a for a period: the stops of D9's window, fitted with the clock time
/// and the district (`darkness::adjusted`). Read from the records, as the
/// aggregates keep no district.
async fn adjusted_darkness(
    scope: &Scope,
    period: Period,
    place: (f64, f64, &str),
) -> Result<Option<super::darkness::Adjusted>, sqlx::Error> {
    use super::darkness::{adjusted, window, window_stops};
    let (from, to) = (format_date(period.from), format_date(period.to));
    let mut conn = scope.acquire().await?;
    let days = crate::stops::aggregates::darkness_days(&mut conn, scope, &from, &to).await?;
    drop(conn);
    let Some(w) = window(days.iter().filter_map(|d| crate::web::parse_date(d)), place) else {
        return Ok(None);
    };
    let rows = crate::stops::store::window_from_records(scope, (&from, &to), w).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter_map(|(d, m, x, district, n)| Some((crate::web::parse_date(&d)?, m, x, district, n)))
        .collect();
    Ok(adjusted(&window_stops(&rows, w, place)))
}

fn adjusted_measure(
    now: Option<super::darkness::Adjusted>,
    before: Option<super::darkness::Adjusted>,
) -> Measure {
    let figure = |d: &Option<super::darkness::Adjusted>| match d {
        Some(a) => super::Figure::count(a.odds_ratio),
        None => super::Figure::ratio(0.0, 0.0),
    };
    let completeness = match &now {
        Some(a) => format!(
            "95% interval {:.2} to {:.2}; {} stops in the window, {} district{}; logistic regression, clock time as a natural spline of 6 degrees of freedom{}",
            a.interval.low,
            a.interval.high,
            a.stops,
            a.districts,
            if a.districts == 1 { "" } else { "s" },
            if a.districts > 1 { ", district as a fixed effect" } else { "" },
        ),
        None => "not estimable: the window's stops do not hold both dark and light stops of both groups at enough distinct times".into(),
    };
    Measure {
        id: "D9a",
        name: "veil of darkness, adjusted for clock time and district",
        definition: "the odds ratio for darkness in a logistic regression of \"the stopped person is of a minority group\" on dark, the clock time (natural cubic spline, 6 df) and the district, over D9's stops (Pierson et al. 2020); below 1 means minority drivers are stopped relatively less when it is dark",
        unit: super::Unit::Ratio,
        better: super::Better::Higher,
        target: None,
        current: figure(&now),
        previous: figure(&before),
        completeness,
        interval: now.map(|a| a.interval),
    }
}

fn darkness_measure(now: super::darkness::Darkness, before: super::darkness::Darkness) -> Measure {
    let figure = |d: super::darkness::Darkness| match d.odds_ratio() {
        Some(k) => super::Figure::count(k),
        None => super::Figure::ratio(0.0, 0.0),
    };
    Measure {
        interval: None,
        id: "D9",
        name: "veil of darkness",
        definition: "stops between the earliest and latest civil dusk of the period: odds ratio K = (minority light × majority dark) ÷ (majority light × minority dark); above 1 means minority drivers are stopped relatively more in daylight",
        unit: super::Unit::Ratio,
        better: super::Better::Lower,
        target: None,
        current: figure(now),
        previous: figure(before),
        completeness: format!(
            "{} stops in the window: minority {} light, {} dark; majority (White) {} light, {} dark",
            now.stops(),
            now.minority_light,
            now.minority_dark,
            now.majority_light,
            now.majority_dark
        ),
    }
}

pub async fn compute(scope: &Scope, period: Period) -> Result<Sheet, sqlx::Error> {
    compute_from(scope, period, Source::Aggregates).await
}

/// Every measure of the period, with the stop counts from `source`.
pub async fn compute_from(scope: &Scope, period: Period, source: Source) -> Result<Sheet, sqlx::Error> {
    let stops = StopGroups::load(scope, period, source).await?;
    let data = program_data(scope, period, &stops).await?;
    let settings = equity_settings(scope).await?;
    let mut measures = crate::compliance::measures::training_measures(&data.officers, &data.evidence, period);
    measures.extend(supervision(scope, period).await?);
    measures.extend(program_measures(&data, period));
    if let (Some(lat), Some(lon)) = (settings.latitude, settings.longitude) {
        let place = (lat, lon, settings.time_zone.as_str());
        let now = darkness(scope, period, place, source).await?;
        let before = darkness(scope, period.previous(), place, source).await?;
        measures.push(darkness_measure(now, before));
        let now = adjusted_darkness(scope, period, place).await?;
        let before = adjusted_darkness(scope, period.previous(), place).await?;
        measures.push(adjusted_measure(now, before));
    }
    let mut grouped = enforcement_mix(&data, period);
    for grouping in ["race", "gender", "age"] {
        let counts = stops.counts(grouping);
        if grouping == "race" {
            if let Some(shares) =
                super::darkness::parse_shares(&settings.population_shares).filter(|s| !s.is_empty())
            {
                grouped.push(super::darkness::benchmark(&counts, &shares));
            }
        }
        grouped.extend(equity_measures(grouping, &counts, reference(grouping)));
    }
    grouped.extend(accountability_groups(&data, period));
    let reported = super::logged::reported(scope, period).await?;
    Ok(Sheet { period, measures, grouped, reported })
}

async fn supervision(scope: &Scope, period: Period) -> Result<Vec<Measure>, sqlx::Error> {
    use crate::supervision::{measures, store};
    let time_zone = crate::agency::store::get(scope).await?.time_zone;
    let (first, last) = (format_date(period.previous().from), format_date(period.to));
    let items = store::items_dated(scope, &[], &time_zone, Some((&first, &last))).await?;
    let (before, _) = measures::bounds(period.previous(), &time_zone);
    let (_, end) = measures::bounds(period, &time_zone);
    let sign_offs = store::signed_between(scope, before, end).await?;
    let blocked = store::blocked_between(scope, before, end).await?;
    let deadline_days = store::deadline_days(scope).await?;
    let inputs = measures::Inputs {
        actions: &items,
        sign_offs: &sign_offs,
        blocked: &blocked,
        deadline_days,
        time_zone: &time_zone,
    };
    Ok(measures::supervision_measures(&inputs, period))
}

impl Sheet {
    /// One JSON object per measure: id, name, definition, period, and the
    /// figures (per group where the measure has groups).
    pub fn json(&self) -> serde_json::Value {
        let period = json!({ "from": self.period.from_text(), "to": self.period.to_text() });
        let baseline = self.period.previous();
        let previous_period = json!({ "from": baseline.from_text(), "to": baseline.to_text() });
        let mut out: Vec<serde_json::Value> = self
            .measures
            .iter()
            .map(|m| {
                json!({
                    "id": m.id, "name": m.name, "definition": m.definition, "period": period,
                    "numerator": m.current.numerator, "denominator": m.current.denominator,
                    "value": m.value(), "display": m.value_text(), "target": m.target, "status": m.status(),
                    "previous": m.previous.value(m.unit), "previous_period": previous_period,
                    "completeness": m.completeness,
                    "ci_low": m.interval.map(|i| i.low), "ci_high": m.interval.map(|i| i.high),
                })
            })
            .collect();
        out.extend(self.reported.iter().map(|r| {
            json!({
                "id": r.measure.code, "name": r.measure.name, "definition": r.measure.definition, "kind": "reported",
                "period": { "from": r.value.period_from, "to": r.value.period_to }, "value": r.value.value,
                "display": r.value_text(), "target": r.measure.target, "status": r.status(), "source": r.measure.source,
                "source_document": r.value.source_document, "logged": r.value.logged_text(),
                "confirmation": r.value.confirmation_text(),
            })
        }));
        out.extend(self.grouped.iter().map(|g| {
            json!({
                "id": g.id, "name": g.name, "definition": g.definition, "period": period,
                "grouping": g.grouping, "reference": g.reference, "groups": g.rows,
            })
        }));
        serde_json::Value::Array(out)
    }

    /// One CSV row per measure, or per group of a grouped measure.
    pub fn csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_HEADER)?;
        for record in self.csv_records() {
            w.write_record(&record)?;
        }
        Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
    }

    /// The rows of `csv`, each in the order of `CSV_HEADER`.
    pub fn csv_records(&self) -> Vec<Vec<String>> {
        let (from, to) = (self.period.from_text(), self.period.to_text());
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let mut out = Vec::new();
        for m in &self.measures {
            let mut row = vec![
                m.id.to_string(),
                m.name.to_string(),
                from.clone(),
                to.clone(),
                String::new(),
                String::new(),
                m.current.numerator.to_string(),
                m.current.denominator.map(|d| d.to_string()).unwrap_or_default(),
                opt(m.value()),
                String::new(),
                String::new(),
                opt(m.target),
                m.status().to_string(),
                opt(m.previous.value(m.unit)),
            ];
            // A measure without groups has no ratio or difference; only
            // a model's estimate (D9a) has an interval.
            row.resize(CSV_HEADER.len(), String::new());
            if let Some(i) = m.interval {
                (row[14], row[15]) = (opt(Some(i.low)), opt(Some(i.high)));
            }
            out.push(row);
        }
        for g in &self.grouped {
            for r in &g.rows {
                out.push(vec![
                    g.id.to_string(),
                    g.name.to_string(),
                    from.clone(),
                    to.clone(),
                    g.grouping.to_string(),
                    r.group.clone(),
                    r.numerator.to_string(),
                    r.denominator.to_string(),
                    opt(r.value),
                    opt(r.ratio),
                    if r.small_sample { "yes" } else { "no" }.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    opt(r.ci_low),
                    opt(r.ci_high),
                    opt(r.ratio_ci_low),
                    opt(r.ratio_ci_high),
                    opt(r.difference),
                    opt(r.difference_ci_low),
                    opt(r.difference_ci_high),
                ]);
            }
        }
        out
    }
}

/// The columns of `Sheet::csv`.
pub const CSV_HEADER: [&str; 21] = [
    "id",
    "name",
    "from",
    "to",
    "grouping",
    "group",
    "numerator",
    "denominator",
    "value",
    "ratio_to_reference",
    "small_sample",
    "target",
    "status",
    "previous",
    // 95% intervals (docs/measures.md, "Statistical methods"): of the
    // value (Wilson), of the ratio (Katz; empty where not defined), of the
    // difference of hit rates (D4, Newcombe), in the unit of each figure.
    "ci_low",
    "ci_high",
    "ratio_ci_low",
    "ratio_ci_high",
    "difference",
    "difference_ci_low",
    "difference_ci_high",
];

/// Early-warning lists computed, by (agency, period, minimum), with the
/// agency's audit head they were made at (as `SheetCache`: any change to
/// the agency's records moves the head).
type Lists =
    std::collections::HashMap<(i64, time::Date, time::Date, i64), (i64, std::sync::Arc<EarlyWarning>)>;
static LISTS: std::sync::Mutex<Option<Lists>> = std::sync::Mutex::new(None);

use super::warning::EarlyWarning;

/// The officer early-warning list of a period (`measures::warning`).
pub async fn early_warning(
    scope: &Scope,
    period: Period,
    minimum: i64,
) -> Result<std::sync::Arc<EarlyWarning>, sqlx::Error> {
    let head = crate::audit::store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0);
    let key = (scope.id(), period.from, period.to, minimum);
    let cached = LISTS.lock().ok().and_then(|m| m.as_ref()?.get(&key).cloned());
    if let Some((seq, list)) = cached.filter(|(seq, _)| *seq == head) {
        let _ = seq;
        return Ok(list);
    }
    let pool =
        crate::stops::store::for_early_warning(scope, &format_date(period.from), &format_date(period.to))
            .await?;
    // The fits are arithmetic on a few thousand cells per officer: off the
    // async workers.
    let list = tokio::task::spawn_blocking(move || pool.list(minimum))
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(format!("the early-warning list failed: {e}"))))?;
    let list = std::sync::Arc::new(list);
    if let Ok(mut map) = LISTS.lock() {
        let map = map.get_or_insert_with(Default::default);
        if map.len() >= CACHED_SHEETS {
            map.clear();
        }
        map.insert(key, (head, list.clone()));
    }
    Ok(list)
}
