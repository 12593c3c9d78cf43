//! The state's view of its agencies (docs/tenancy.md): which agencies
//! reported records for a period, and each measure per agency side by side
//! with the statewide figure, counts beside rates, small samples flagged.
//! Computed from each agency's own sheet of measures (`measures::store`),
//! so a figure here is the figure the agency's dashboard shows.

pub mod report;
pub mod routes;
pub mod store;

use crate::agency::Scope;
use crate::measures::{Figure, Measure, Period, format_value};

/// Fewer events than this and a rate is flagged as a small sample, as the
/// dashboard's group tables do.
pub const SMALL_SAMPLE: f64 = 30.0;

/// One agency's line for a measure.
#[derive(Clone, Debug)]
pub struct AgencyLine {
    pub ori: String,
    pub name: String,
    /// Stops and arrests recorded in the period: none is "not reported".
    pub stops: i64,
    pub arrests: i64,
    pub measure: Option<Measure>,
    /// The receipt of the submission package its records of the period
    /// came in (docs/packages.md), when they did.
    pub package: Option<i64>,
}

impl AgencyLine {
    pub fn reported(&self) -> bool {
        self.stops + self.arrests > 0
    }
    pub fn value(&self) -> Option<f64> {
        self.measure.as_ref().and_then(Measure::value)
    }
    pub fn value_text(&self) -> String {
        self.measure.as_ref().map(Measure::value_text).unwrap_or_else(|| "no data".into())
    }
    pub fn fraction_text(&self) -> String {
        self.measure.as_ref().map(Measure::fraction_text).unwrap_or_default()
    }
    pub fn small_sample(&self) -> bool {
        self.measure
            .as_ref()
            .is_some_and(|m| m.current.denominator.is_some_and(|d| d > 0.0 && d < SMALL_SAMPLE))
    }
    pub fn completeness(&self) -> String {
        self.measure.as_ref().map(|m| m.completeness.clone()).unwrap_or_default()
    }
    pub fn status(&self) -> &'static str {
        self.measure.as_ref().map(Measure::status).unwrap_or("no data")
    }
}

/// The statewide figure of a measure: every agency's numerators over every
/// agency's denominators (a pooled rate, not an average of rates).
/// A figure without a denominator pools only when it is a count: a median
/// (S3's review lag) or any other single value of an agency does not add
/// up, and has no statewide figure here.
pub fn statewide(lines: &[AgencyLine]) -> Option<Measure> {
    let first = lines.iter().find_map(|l| l.measure.clone())?;
    let measures = || lines.iter().filter_map(|l| l.measure.as_ref());
    if first.unit != crate::measures::Unit::Count && measures().any(|m| m.current.denominator.is_none()) {
        return None;
    }
    let first = measures().find(|m| m.current.denominator.is_some()).cloned().unwrap_or(first);
    let numerator = measures().map(|m| m.current.numerator).sum();
    let denominator =
        first.current.denominator.map(|_| measures().filter_map(|m| m.current.denominator).sum());
    let previous_numerator = measures().map(|m| m.previous.numerator).sum();
    let previous_denominator =
        first.previous.denominator.map(|_| measures().filter_map(|m| m.previous.denominator).sum());
    Some(Measure {
        interval: None,
        current: Figure { numerator, denominator },
        previous: Figure { numerator: previous_numerator, denominator: previous_denominator },
        completeness: String::new(),
        ..first
    })
}

/// How the agencies are ordered: those that reported nothing first (what
/// a commission checks first), then by the column asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Agency,
    ValueHighFirst,
    ValueLowFirst,
    Stops,
}

impl Order {
    pub fn parse(text: &str) -> Order {
        match text {
            "value" | "value-desc" => Order::ValueHighFirst,
            "value-asc" => Order::ValueLowFirst,
            "stops" => Order::Stops,
            _ => Order::Agency,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Order::Agency => "agency",
            Order::ValueHighFirst => "value-desc",
            Order::ValueLowFirst => "value-asc",
            Order::Stops => "stops",
        }
    }
}

pub fn sort(lines: &mut [AgencyLine], order: Order) {
    lines.sort_by(|a, b| {
        let by = match order {
            Order::Agency => a.name.cmp(&b.name),
            Order::Stops => b.stops.cmp(&a.stops),
            Order::ValueHighFirst => b.value().partial_cmp(&a.value()).unwrap_or(std::cmp::Ordering::Equal),
            Order::ValueLowFirst => {
                // No data sorts last either way.
                let key = |l: &AgencyLine| l.value().map(|v| (0, v)).unwrap_or((1, 0.0));
                key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal)
            }
        };
        a.reported().cmp(&b.reported()).then(by).then(a.ori.cmp(&b.ori))
    });
}

/// Every agency's line for measure `id` in `period`, in the agencies'
/// order. A few agencies are computed at once: a first view after writes
/// computes every agency's sheet, and the database serves several readers
/// in parallel (SQLite's pool and PostgreSQL's backends alike).
pub async fn lines(
    sheets: &crate::measures::store::SheetCache,
    scopes: &[(Scope, String, String)],
    period: Period,
    id: &str,
) -> Result<Vec<AgencyLine>, sqlx::Error> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let receipts = match scopes.first() {
        Some((scope, _, _)) => {
            crate::packages::store::covering(scope.db(), &period.from_text(), &period.to_text()).await?
        }
        None => Default::default(),
    };
    let receipts = &receipts;
    // Owned items: a closure over borrowed ones is not `Send` for every
    // lifetime, which a route's future must be.
    stream::iter(scopes.to_vec())
        .map(|(scope, ori, name)| async move {
            let sheet = sheets.get(&scope, period).await?;
            let stops = crate::stops::aggregates::stops_between(&scope, period).await?;
            let arrests = crate::arrests::store::count_between(&scope, period).await?;
            Ok::<_, sqlx::Error>(AgencyLine {
                ori,
                name,
                stops,
                arrests,
                measure: sheet.measures.iter().find(|m| m.id == id).cloned(),
                package: receipts.get(&scope.id()).copied(),
            })
        })
        .buffered(at_once(scopes.first().map(|(s, _, _)| s.db())))
        .try_collect()
        .await
}

/// Agencies whose figures are computed at once. SQLite's readers share
/// the process's two cores; PostgreSQL's spend much of an agency's time
/// waiting for the server's answers (each statement a round trip, with the
/// agency's row-level security setting before it), so more agencies
/// overlap their waits.
pub fn at_once(db: Option<&crate::db::Db>) -> usize {
    match db {
        Some(crate::db::Db::Postgres(_)) => 8,
        _ => 4,
    }
}

/// The measure's value as text, for the statewide row.
pub fn measure_text(m: &Option<Measure>) -> String {
    m.as_ref()
        .map(|m| format_value(m.value(), m.unit))
        .unwrap_or_else(|| "not pooled: a median or single value per agency does not add up".into())
}
