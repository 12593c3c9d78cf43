//! The dashboard (reviewers, auditors, administrators): every measure for
//! a chosen period with its status in words and colour, its trend over the
//! last eight periods as a small SVG with a text alternative and a data
//! table, and a link from each measure to the records behind it (the list
//! pages, which leave out personal data for reviewers and auditors).

use crate::db;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Router, middleware};
use serde::Deserialize;

use super::equity::Grouped;
use super::{Measure, Period, format_value};
use crate::agency::Scope;
use crate::app::AppState;
use crate::auth::{Role, guard};
use crate::error::AppResult;
use crate::web::PageCtx;

pub const READERS: &[Role] = &[Role::Reviewer, Role::Auditor, Role::Administrator];

/// Who sees the officer early-warning list: supervisors, who review the
/// officers it lists, and the dashboard's readers.
pub const WARNING_READERS: &[Role] = &[Role::Supervisor, Role::Reviewer, Role::Auditor, Role::Administrator];

/// Periods in a trend: the chosen one and the seven before it.
const TREND: usize = 8;

pub fn router(state: &AppState) -> Router<AppState> {
    let read = Router::new()
        .route("/dashboard", get(route_get_dashboard))
        .route_layer(middleware::from_fn_with_state((state.clone(), READERS), guard));
    let settings =
        Router::new().route("/dashboard/settings", axum::routing::post(route_post_settings)).route_layer(
            middleware::from_fn_with_state((state.clone(), crate::auth::access::ADMINISTRATORS), guard),
        );
    let warning = Router::new()
        .route("/early-warning", get(route_get_early_warning))
        .route_layer(middleware::from_fn_with_state((state.clone(), WARNING_READERS), guard));
    read.merge(settings).merge(warning)
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct WarningQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub minimum: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "measures/early_warning.html")]
pub struct WarningPage {
    page: PageCtx,
    query: WarningQuery,
    period: Period,
    message: Option<String>,
    list: std::sync::Arc<super::warning::EarlyWarning>,
    flagged: Vec<Vec<String>>,
    all: Vec<Vec<String>>,
    notes: Vec<(String, String)>,
    wording: &'static str,
}

/// The officer early-warning list for a period (`measures::warning`).
async fn route_get_early_warning(
    scope: Scope,
    page: PageCtx,
    Query(query): Query<WarningQuery>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let today = crate::agency::store::get(&scope).await?.today();
    let (period, period_error) = super::period_from(&query.from, &query.to, today);
    let mut message = period_error.map(String::from);
    let minimum = match query.minimum.trim() {
        "" => super::warning::MINIMUM_STOPS,
        m => match m.parse::<i64>() {
            Ok(n) if (10..=100_000).contains(&n) => n,
            _ => {
                message =
                    Some("The minimum is a whole number of stops from 10 to 100,000; showing 50.".into());
                super::warning::MINIMUM_STOPS
            }
        },
    };
    let list = super::store::early_warning(&scope, period, minimum).await?;
    let names = crate::reports::store::officer_names(&scope).await?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("officer {id}"));
    let notes = list.reviews.iter().filter_map(|r| Some((name(r.officer), r.note.clone()?))).collect();
    let view = WarningPage {
        flagged: super::warning::rows(&list, name, false),
        all: super::warning::rows(&list, name, true),
        notes,
        page,
        query,
        period,
        message,
        list,
        wording: super::warning::WORDING,
    };
    Ok(view.into_response())
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    population_shares: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
}

fn coordinate(text: &str, limit: f64) -> Result<Option<f64>, ()> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse::<f64>().ok().filter(|v| v.abs() <= limit).map(Some).ok_or(()),
    }
}

async fn route_post_settings(
    State(state): State<AppState>,
    scope: Scope,
    session: tower_sessions::Session,
    actor: crate::audit::Actor,
    page: PageCtx,
    axum::Form(form): axum::Form<SettingsForm>,
) -> AppResult<axum::response::Response> {
    let mut errors = crate::web::FieldErrors::default();
    if super::darkness::parse_shares(&form.population_shares).is_none() {
        errors.add("population_shares", "Write group=percent pairs separated by semicolons, e.g. white=61.2; hispanic=27.9, with the codes of the stop form.");
    }
    let latitude = coordinate(&form.latitude, 90.0);
    let longitude = coordinate(&form.longitude, 180.0);
    if latitude.is_err() {
        errors.add("latitude", "Latitude is a number from -90 to 90, or empty.");
    }
    if longitude.is_err() {
        errors.add("longitude", "Longitude is a number from -180 to 180 (west is negative), or empty.");
    }
    let (latitude, longitude) = (latitude.unwrap_or(None), longitude.unwrap_or(None));
    if errors.is_empty() && latitude.is_some() != longitude.is_some() {
        errors.add("longitude", "Give both latitude and longitude, or neither.");
    }
    if !errors.is_empty() {
        let mut view = dashboard(&state, &scope, page, &PeriodQuery::default()).await?;
        view.settings_form = form;
        view.settings_errors = errors;
        return Ok(crate::web::unprocessable(view));
    }
    let mut tx = scope.begin_write().await?;
    let before = db::query_as::<(String, Option<f64>, Option<f64>)>(
        "SELECT population_shares, latitude, longitude FROM agency WHERE id = $1",
    )
    .bind(scope.id())
    .fetch_one(&mut *tx)
    .await?;
    db::query("UPDATE agency SET population_shares = $1, latitude = $2, longitude = $3 WHERE id = $4")
        .bind(form.population_shares.trim())
        .bind(latitude)
        .bind(longitude)
        .bind(scope.id())
        .execute(&mut *tx)
        .await?;
    crate::stops::aggregates::place_changed(&mut tx).await?;
    let event = crate::audit::Event::new("agency.equity_settings", "agency", scope.id()).details(serde_json::json!({
        "before": { "population_shares": before.0, "latitude": before.1, "longitude": before.2 },
        "after": { "population_shares": form.population_shares.trim(), "latitude": latitude, "longitude": longitude },
    }));
    crate::audit::record(&mut tx, &actor, event).await?;
    tx.commit().await?;
    crate::web::flash(&session, "Equity settings saved.").await?;
    Ok(crate::auth::see_other("/dashboard"))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// A measure's row: the measure, its trend and where its records are.
pub struct Row {
    pub measure: Measure,
    /// Oldest first: (period label, value).
    pub trend: Vec<(String, Option<f64>)>,
    pub records: Vec<RecordsLink>,
}

/// One list of the records behind a measure: followed, it lists exactly
/// the records the measure counts (its denominator, or the count itself).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordsLink {
    /// What the list holds: "stops", "arrests", "designated officers"…
    pub label: &'static str,
    pub href: String,
    /// Whether the viewer's roles may open the list.
    pub open: bool,
}

impl Row {
    pub fn trend_text(&self) -> String {
        let values: Vec<String> = self
            .trend
            .iter()
            .map(|(label, v)| format!("{label}: {}", format_value(*v, self.measure.unit)))
            .collect();
        format!(
            "{} {} over the last {} periods, oldest first: {}",
            self.measure.id,
            self.measure.name,
            self.trend.len(),
            values.join("; ")
        )
    }
    pub fn value_of(&self, v: &Option<f64>) -> String {
        format_value(*v, self.measure.unit)
    }
    /// The polyline of the sparkline in a 120 × 28 box; gaps for no data.
    pub fn points(&self) -> String {
        sparkline(&self.trend.iter().map(|(_, v)| *v).collect::<Vec<_>>(), 120.0, 28.0)
    }
    pub fn status_class(&self) -> &'static str {
        match self.measure.status() {
            "met" => "ok",
            "not met" => "no",
            _ => "neutral",
        }
    }
}

/// SVG polyline points for the values, scaled to the box; values that
/// are missing leave their slot empty.
pub fn sparkline(values: &[Option<f64>], width: f64, height: f64) -> String {
    let max = values.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
    let max = if max <= 0.0 { 1.0 } else { max };
    let step = if values.len() > 1 { width / (values.len() - 1) as f64 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| format!("{:.1},{:.1}", i as f64 * step, height - 2.0 - (v / max) * (height - 4.0)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lists that hold the records behind a measure for a period, each
/// with the roles that may open it: (label, address, readers). Each list's
/// filter reproduces what the measure counts.
pub fn records_links(id: &str, period: Period) -> Vec<(&'static str, String, &'static [Role])> {
    use crate::auth::access::{AGENCY_USERS, AUDITORS, RECORD_READERS};
    let dates = format!("from={}&to={}", period.from_text(), period.to_text());
    let officers = |label| (label, format!("/officers?measure={id}&{dates}"), AGENCY_USERS);
    let actions = || {
        vec![
            ("stops", format!("/stops?{dates}&action_287g=yes"), RECORD_READERS),
            ("arrests", format!("/arrests?{dates}&action_287g=yes"), RECORD_READERS),
        ]
    };
    match id {
        "T1" | "T3" => vec![officers("designated officers")],
        "T2" => vec![officers("officers with a refresher past due")],
        "T4" => vec![officers("exams, by officer")],
        "T5" | "S1" | "E3" => actions(),
        "S2" | "S3" | "S4" => {
            vec![(
                "decisions signed",
                format!("/supervision?{dates}"),
                crate::supervision::routes::MEASURE_READERS,
            )]
        }
        "S5" => vec![(
            "refused self-reviews (audit log)",
            format!("/audit?action={}&{dates}", crate::supervision::store::SELF_REVIEW_ACTION),
            AUDITORS,
        )],
        "E5" => vec![("ICE warrant holds", format!("/arrests?{dates}&hold=counted"), RECORD_READERS)],
        "E6" => vec![officers("quarterly lead counts, by officer")],
        "C2" => vec![(
            "complaints involving 287(g)",
            format!("/complaints?{dates}&action_287g=yes"),
            RECORD_READERS,
        )],
        "C3" | "C4" => {
            vec![("complaints closed", format!("/complaints?date=closed&{dates}"), RECORD_READERS)]
        }
        "R1" => vec![officers("officers over the cap")],
        "R2" => vec![officers("pay periods, by officer")],
        // D9 keeps the stops of its twilight window, which no list filter
        // draws: the period's stops are the nearest list.
        _ => vec![("stops of the period", format!("/stops?{dates}"), RECORD_READERS)],
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "measures/dashboard.html")]
pub struct DashboardPage {
    page: PageCtx,
    /// Where the period form goes: the agency's own dashboard, or the
    /// state's view of it.
    action: String,
    period: Period,
    period_error: Option<&'static str>,
    rows: Vec<Row>,
    grouped: Vec<Grouped>,
    reported: Vec<super::logged::Reported>,
    settings_form: SettingsForm,
    settings_errors: crate::web::FieldErrors,
}

impl DashboardPage {
    /// The same page shown at another address (the state's view of an
    /// agency), whose period form goes back there.
    pub(crate) fn at(mut self, action: String) -> Self {
        self.action = action;
        self
    }

    /// For an agency's administrator on their own dashboard, when the
    /// period is a whole calendar month, quarter or year: its preview
    /// before publishing (docs/publications.md).
    fn publish_link(&self) -> Option<String> {
        let own = self.action == "/dashboard" && self.page.has_role(Role::Administrator);
        (own && crate::publications::is_publishable(self.period))
            .then(|| format!("/publications/preview?period={}", crate::publications::slug(self.period)))
    }

    /// Stops of one group in the period, for a drill-down from a group row.
    fn group_link(&self, g: &Grouped, group: &str) -> String {
        let base = format!("/stops?from={}&to={}", self.period.from_text(), self.period.to_text());
        let searched = if g.id == "D3" || g.id == "D4" { "&searched=yes" } else { "" };
        if g.grouping == "race" && group != "multiple" && group != "unknown" {
            format!("{base}&race={group}{searched}")
        } else {
            format!("{base}{searched}")
        }
    }
}

async fn route_get_dashboard(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<PeriodQuery>,
) -> AppResult<DashboardPage> {
    dashboard(&state, &scope, page, &query).await
}

pub(crate) async fn dashboard(
    state: &AppState,
    scope: &Scope,
    page: PageCtx,
    query: &PeriodQuery,
) -> AppResult<DashboardPage> {
    let may_open = |readers: &[Role]| page.user.as_ref().is_some_and(|u| u.has_any(readers));
    let today = crate::agency::store::get(scope).await?.today();
    let (period, period_error) = super::period_from(&query.from, &query.to, today);
    let mut periods = vec![period];
    while periods.len() < TREND {
        let before = periods.last().map(|p| p.previous()).unwrap_or(period);
        periods.push(before);
    }
    periods.reverse();
    let mut sheets = Vec::with_capacity(TREND);
    for p in &periods {
        sheets.push(state.sheets.get(scope, *p).await?);
    }
    let current = sheets.last().cloned().ok_or_else(|| crate::error::AppError::NotFound)?;
    let rows = current
        .measures
        .iter()
        .map(|m| Row {
            trend: periods
                .iter()
                .zip(&sheets)
                .map(|(p, s)| {
                    let value = s.measures.iter().find(|x| x.id == m.id).and_then(Measure::value);
                    (p.label(), value)
                })
                .collect(),
            records: records_links(m.id, period)
                .into_iter()
                .map(|(label, href, readers)| RecordsLink { label, href, open: may_open(readers) })
                .collect(),
            measure: m.clone(),
        })
        .collect();
    let grouped = current
        .grouped
        .iter()
        .filter(|g| g.grouping == "race" || g.id.starts_with('E') || g.id.starts_with('C') || g.id == "Q1")
        .cloned()
        .collect();
    let reported = current.reported.clone();
    let settings = super::store::equity_settings(scope).await?;
    let settings_form = SettingsForm {
        population_shares: settings.population_shares,
        latitude: settings.latitude.map(|v| v.to_string()).unwrap_or_default(),
        longitude: settings.longitude.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok(DashboardPage {
        page,
        action: "/dashboard".to_string(),
        period,
        period_error,
        rows,
        grouped,
        reported,
        settings_form,
        settings_errors: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn the_sparkline_scales_to_the_box_and_leaves_gaps() {
        assert_eq!(
            sparkline(&[Some(0.0), Some(50.0), None, Some(100.0)], 120.0, 28.0),
            "0.0,26.0 40.0,14.0 120.0,2.0"
        );
        assert_eq!(sparkline(&[None, None], 120.0, 28.0), "");
    }
}
