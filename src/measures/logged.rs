//! Logged measures: figures oversight asks for that the records do not
//! hold. Administrators define them, clerks log a value per period with its
//! source document, and a supervisor or administrator other than the one
//! who logged it confirms it. Dashboards and reports show them marked
//! "reported", with who logged and who confirmed each value.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::{Period, Unit, format_value};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{Role, guard, see_other};
use crate::db::{self, Tx, is_unique_violation, now_unix};
use crate::error::{AppError, AppResult};
use crate::web::{FieldErrors, PageCtx, flash, parse_date, unprocessable};

pub const UNITS: [(&str, &str); 5] = [
    ("count", "Count"),
    ("percent", "Percent"),
    ("dollars", "Dollars"),
    ("hours", "Hours"),
    ("days", "Days"),
];

#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct LoggedMeasure {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub definition: String,
    pub unit: String,
    pub target: Option<f64>,
    pub better: String,
    pub source: String,
}

impl LoggedMeasure {
    pub fn unit(&self) -> Unit {
        match self.unit.as_str() {
            "percent" => Unit::Percent,
            "dollars" => Unit::Dollars,
            "hours" => Unit::Hours,
            "days" => Unit::Days,
            _ => Unit::Count,
        }
    }
    pub fn target_text(&self) -> String {
        match self.target {
            None => "none set".into(),
            Some(t) => format!(
                "{} {}",
                if self.better == "higher" { "≥" } else { "≤" },
                format_value(Some(t), self.unit())
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct LoggedValue {
    pub id: i64,
    pub measure_id: i64,
    pub period_from: String,
    pub period_to: String,
    pub value: f64,
    pub source_document: String,
    /// None for a value logged on the agency's own install and carried
    /// by a submission package (docs/packages.md): no account here.
    pub logged_by: Option<i64>,
    pub logged_by_name: String,
    pub logged_at: i64,
    pub confirmed_by_name: Option<String>,
    pub confirmed_at: Option<i64>,
}

impl LoggedValue {
    pub fn confirmation_text(&self) -> String {
        match (&self.confirmed_by_name, self.confirmed_at) {
            (Some(who), Some(at)) => format!("confirmed by {who}, {}", crate::web::format_instant(at)),
            _ => "not yet confirmed".into(),
        }
    }
    pub fn logged_text(&self) -> String {
        format!("logged by {}, {}", self.logged_by_name, crate::web::format_instant(self.logged_at))
    }
}

/// A reported figure as dashboards and reports show it.
#[derive(Clone, Debug)]
pub struct Reported {
    pub measure: LoggedMeasure,
    pub value: LoggedValue,
}

impl Reported {
    pub fn value_text(&self) -> String {
        format_value(Some(self.value.value), self.measure.unit())
    }
    pub fn status(&self) -> &'static str {
        match self.measure.target {
            None => "no target",
            Some(t) => {
                let met = if self.measure.better == "higher" {
                    self.value.value >= t
                } else {
                    self.value.value <= t
                };
                if met { "met" } else { "not met" }
            }
        }
    }
}

const MEASURE_COLUMNS: &str = "id, code, name, definition, unit, target, better, source";
const VALUE_COLUMNS: &str = "id, measure_id, period_from, period_to, value, source_document, logged_by, logged_by_name, \
     logged_at, confirmed_by_name, confirmed_at";

pub async fn measures(scope: &Scope) -> Result<Vec<LoggedMeasure>, sqlx::Error> {
    db::query_as(&format!("SELECT {MEASURE_COLUMNS} FROM logged_measures WHERE agency_id = $1 ORDER BY code"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn values(scope: &Scope) -> Result<Vec<LoggedValue>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {VALUE_COLUMNS} FROM logged_values WHERE agency_id = $1 ORDER BY period_from DESC, id DESC"
    ))
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Values logged for periods that lie within `period`.
pub async fn reported(scope: &Scope, period: Period) -> Result<Vec<Reported>, sqlx::Error> {
    let measures = measures(scope).await?;
    let values: Vec<LoggedValue> = db::query_as(&format!(
        "SELECT {VALUE_COLUMNS} FROM logged_values WHERE period_from >= $1 AND period_to <= $2 AND agency_id = $3 \
         ORDER BY period_from, id"
    ))
    .bind(period.from_text())
    .bind(period.to_text())
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(values
        .into_iter()
        .filter_map(|v| {
            measures.iter().find(|m| m.id == v.measure_id).map(|m| Reported { measure: m.clone(), value: v })
        })
        .collect())
}

/// Writes a measure's definition inside the caller's transaction of the
/// agency; the caller records the audit entry.
pub async fn insert_measure_in(tx: &mut Tx, m: &LoggedMeasure) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_scalar(
        "INSERT INTO logged_measures (code, name, definition, unit, target, better, source, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&m.code)
    .bind(&m.name)
    .bind(&m.definition)
    .bind(&m.unit)
    .bind(m.target)
    .bind(&m.better)
    .bind(&m.source)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
}

/// Saves a definition's changes (a package's, docs/packages.md).
pub async fn update_measure_in(tx: &mut Tx, m: &LoggedMeasure) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    db::query(
        "UPDATE logged_measures SET name = $1, definition = $2, unit = $3, target = $4, better = $5, source = $6 \
         WHERE id = $7 AND agency_id = $8",
    )
    .bind(&m.name)
    .bind(&m.definition)
    .bind(&m.unit)
    .bind(m.target)
    .bind(&m.better)
    .bind(&m.source)
    .bind(m.id)
    .bind(agency)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Writes a value inside the caller's transaction of the agency, with who
/// logged it and, when it comes confirmed (a package), who confirmed it.
pub async fn insert_value_in(tx: &mut Tx, v: &LoggedValue) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_scalar(
        "INSERT INTO logged_values (measure_id, period_from, period_to, value, source_document, logged_by, \
         logged_by_name, logged_at, confirmed_by_name, confirmed_at, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(v.measure_id)
    .bind(&v.period_from)
    .bind(&v.period_to)
    .bind(v.value)
    .bind(&v.source_document)
    .bind(v.logged_by)
    .bind(&v.logged_by_name)
    .bind(v.logged_at)
    .bind(&v.confirmed_by_name)
    .bind(v.confirmed_at)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await
}

/// Every definition, and the values of periods within [from, to], inside
/// a transaction of the agency (a submission package).
pub async fn logged_in(
    tx: &mut Tx,
    from: &str,
    to: &str,
) -> Result<(Vec<LoggedMeasure>, Vec<LoggedValue>), sqlx::Error> {
    let agency = tx.agency()?;
    let measures = db::query_as(&format!(
        "SELECT {MEASURE_COLUMNS} FROM logged_measures WHERE agency_id = $1 ORDER BY code"
    ))
    .bind(agency)
    .fetch_all(&mut **tx)
    .await?;
    let values = db::query_as(&format!(
        "SELECT {VALUE_COLUMNS} FROM logged_values WHERE period_from >= $1 AND period_to <= $2 AND agency_id = $3 \
         ORDER BY period_from, period_to, id"
    ))
    .bind(from)
    .bind(to)
    .bind(agency)
    .fetch_all(&mut **tx)
    .await?;
    Ok((measures, values))
}

/// Administrators define; clerks log; supervisors and administrators
/// confirm; reviewers and auditors read.
pub const READERS: &[Role] = &Role::ALL;

pub fn router(state: &AppState) -> Router<AppState> {
    let layer = |roles: &'static [Role]| middleware::from_fn_with_state((state.clone(), roles), guard);
    let read = Router::new().route("/logged-measures", get(route_get_list)).route_layer(layer(READERS));
    let define = Router::new()
        .route("/logged-measures", post(route_post_define))
        .route_layer(layer(crate::auth::access::ADMINISTRATORS));
    let log = Router::new()
        .route("/logged-measures/{id}/values", post(route_post_value))
        .route_layer(layer(crate::auth::access::RECORDS_WRITERS));
    let confirm = Router::new()
        .route("/logged-values/{id}/confirm", post(route_post_confirm))
        .route_layer(layer(&[Role::Supervisor, Role::Administrator]));
    read.merge(define).merge(log).merge(confirm)
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct DefineForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub definition: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub better: String,
    #[serde(default)]
    pub source: String,
}

impl DefineForm {
    pub fn from_measure(m: &LoggedMeasure) -> Self {
        DefineForm {
            code: m.code.clone(),
            name: m.name.clone(),
            definition: m.definition.clone(),
            unit: m.unit.clone(),
            target: m.target.map(|t| t.to_string()).unwrap_or_default(),
            better: m.better.clone(),
            source: m.source.clone(),
        }
    }

    /// Checks every field; the measure's id is 0 until it is written.
    pub fn validate(&self) -> Result<LoggedMeasure, FieldErrors> {
        let mut errors = FieldErrors::default();
        let code = self.code.trim().to_uppercase();
        if code.is_empty() || code.len() > 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.add("code", "Give a short id of letters and digits, such as L1.");
        }
        for (field, value, label) in [
            ("name", &self.name, "a name"),
            ("definition", &self.definition, "a definition"),
            ("source", &self.source, "the source"),
        ] {
            if value.trim().is_empty() || value.chars().count() > 500 {
                errors.add(field, format!("Enter {label} (up to 500 characters)."));
            }
        }
        if !UNITS.iter().any(|(u, _)| *u == self.unit) {
            errors.add("unit", "Choose a unit.");
        }
        let target = if self.target.trim().is_empty() { None } else { number(&self.target) };
        if !self.target.trim().is_empty() && target.is_none() {
            errors.add("target", "Write the target as a number, or leave it empty.");
        }
        if self.better != "higher" && self.better != "lower" {
            errors.add("better", "Choose whether higher or lower is better.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LoggedMeasure {
            id: 0,
            code,
            name: self.name.trim().to_string(),
            definition: self.definition.trim().to_string(),
            unit: self.unit.clone(),
            target,
            better: self.better.clone(),
            source: self.source.trim().to_string(),
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct ValueForm {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub source_document: String,
}

impl ValueForm {
    pub fn from_value(v: &LoggedValue) -> Self {
        ValueForm {
            from: v.period_from.clone(),
            to: v.period_to.clone(),
            value: v.value.to_string(),
            source_document: v.source_document.clone(),
        }
    }

    /// Checks every field; returns a value of `measure_id` logged by nobody
    /// yet (the caller names who logged it).
    pub fn validate(&self, measure_id: i64) -> Result<LoggedValue, FieldErrors> {
        let mut errors = FieldErrors::default();
        let (from, to) = (parse_date(&self.from), parse_date(&self.to));
        if from.is_none() {
            errors.add("from", "Enter the period's first day as YYYY-MM-DD.");
        }
        if to.is_none() {
            errors.add("to", "Enter the period's last day as YYYY-MM-DD.");
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.add("to", "The last day must not be before the first.");
            }
        }
        let value = number(&self.value);
        if value.is_none() {
            errors.add("value", "Write the value as a number.");
        }
        if self.source_document.trim().is_empty() || self.source_document.chars().count() > 300 {
            errors.add(
                "source_document",
                "Name the source document (report, memo or file number), up to 300 characters.",
            );
        }
        match (errors.is_empty(), value) {
            (true, Some(value)) => Ok(LoggedValue {
                id: 0,
                measure_id,
                period_from: self.from.trim().to_string(),
                period_to: self.to.trim().to_string(),
                value,
                source_document: self.source_document.trim().to_string(),
                logged_by: None,
                logged_by_name: String::new(),
                logged_at: 0,
                confirmed_by_name: None,
                confirmed_at: None,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "measures/logged.html")]
struct ListPage {
    page: PageCtx,
    measures: Vec<LoggedMeasure>,
    values: Vec<LoggedValue>,
    define: DefineForm,
    define_errors: FieldErrors,
    value_for: i64,
    value: ValueForm,
    value_errors: FieldErrors,
    units: [(&'static str, &'static str); 5],
}

impl ListPage {
    fn values_of(&self, m: &LoggedMeasure) -> Vec<&LoggedValue> {
        self.values.iter().filter(|v| v.measure_id == m.id).collect()
    }
    fn show(&self, m: &LoggedMeasure, v: &LoggedValue) -> String {
        format_value(Some(v.value), m.unit())
    }
    fn can_confirm(&self, v: &LoggedValue) -> bool {
        let user = self.page.user.as_ref();
        v.confirmed_at.is_none()
            && user.is_some_and(|u| {
                u.has_any(&[Role::Supervisor, Role::Administrator]) && Some(u.id) != v.logged_by
            })
    }
    fn errors_for(&self, m: &LoggedMeasure) -> Option<&FieldErrors> {
        (self.value_for == m.id).then_some(&self.value_errors)
    }
}

async fn list_page(scope: &Scope, page: PageCtx) -> AppResult<ListPage> {
    Ok(ListPage {
        page,
        measures: measures(scope).await?,
        values: values(scope).await?,
        define: DefineForm { unit: "count".into(), better: "higher".into(), ..Default::default() },
        define_errors: FieldErrors::default(),
        value_for: 0,
        value: ValueForm::default(),
        value_errors: FieldErrors::default(),
        units: UNITS,
    })
}

async fn route_get_list(scope: Scope, page: PageCtx) -> AppResult<ListPage> {
    list_page(&scope, page).await
}

fn number(text: &str) -> Option<f64> {
    text.trim().replace(',', "").trim_start_matches('$').parse::<f64>().ok().filter(|v| v.is_finite())
}

async fn route_post_define(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<DefineForm>,
) -> AppResult<Response> {
    let code = form.code.trim().to_uppercase();
    let mut errors = FieldErrors::default();
    match form.validate() {
        Err(refused) => errors = refused,
        Ok(measure) => {
            let mut tx = scope.begin_write().await?;
            match insert_measure_in(&mut tx, &measure).await {
                Ok(id) => {
                    let event = Event::new("logged_measure.define", "logged_measure", id).details(json!({
                        "code": measure.code, "name": measure.name, "unit": measure.unit, "target": measure.target,
                    }));
                    audit::record(&mut tx, &actor, event).await?;
                    tx.commit().await?;
                    flash(&session, format!("Measure {code} defined.")).await?;
                    return Ok(see_other("/logged-measures"));
                }
                Err(e) if is_unique_violation(&e) => errors.add("code", "Another measure has this id."),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut view = list_page(&scope, page).await?;
    view.define = DefineForm { code, ..form };
    view.define_errors = errors;
    Ok(unprocessable(view))
}

async fn route_post_value(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<ValueForm>,
) -> AppResult<Response> {
    let measure = measures(&scope).await?.into_iter().find(|m| m.id == id).ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    match form.validate(id) {
        Err(refused) => errors = refused,
        Ok(value) => {
            let value = LoggedValue {
                logged_by: Some(user.id),
                logged_by_name: user.display_name.clone(),
                logged_at: now_unix(),
                ..value
            };
            let mut tx = scope.begin_write().await?;
            match insert_value_in(&mut tx, &value).await {
                Ok(value_id) => {
                    let event = Event::new("logged_value.log", "logged_measure", id).details(json!({
                        "value_id": value_id, "from": value.period_from, "to": value.period_to, "value": value.value,
                        "source_document": value.source_document,
                    }));
                    audit::record(&mut tx, &actor, event).await?;
                    tx.commit().await?;
                    let logged =
                        format!("{} for {} to {} logged", measure.code, value.period_from, value.period_to);
                    flash(&session, format!("{logged}; it waits for confirmation.")).await?;
                    return Ok(see_other("/logged-measures"));
                }
                Err(e) if is_unique_violation(&e) => {
                    errors.add("from", "A value for this measure and period is already logged.")
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut view = list_page(&scope, page).await?;
    view.value_for = id;
    view.value = form;
    view.value_errors = errors;
    Ok(unprocessable(view))
}

/// Confirms a value, never by the one who logged it.
async fn route_post_confirm(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let mut tx = scope.begin_write().await?;
    let value: LoggedValue =
        db::query_as(&format!("SELECT {VALUE_COLUMNS} FROM logged_values WHERE id = $1 AND agency_id = $2"))
            .bind(id)
            .bind(scope.id())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
    let refusal = if value.logged_by == Some(user.id) {
        Some("You logged this value; someone else must confirm it.")
    } else if value.confirmed_at.is_some() {
        Some("This value is already confirmed.")
    } else {
        None
    };
    if let Some(why) = refusal {
        tx.rollback().await?;
        flash(&session, why).await?;
        return Ok(see_other("/logged-measures"));
    }
    db::query(
        "UPDATE logged_values SET confirmed_by = $1, confirmed_by_name = $2, confirmed_at = $3 \
         WHERE id = $4 AND agency_id = $5",
    )
    .bind(user.id)
    .bind(&user.display_name)
    .bind(now_unix())
    .bind(id)
    .bind(scope.id())
    .execute(&mut *tx)
    .await?;
    let event = Event::new("logged_value.confirm", "logged_measure", value.measure_id).details(
        json!({ "value_id": id, "value": value.value, "from": value.period_from, "to": value.period_to }),
    );
    audit::record(&mut tx, &actor, event).await?;
    tx.commit().await?;
    flash(&session, "Value confirmed.").await?;
    Ok(see_other("/logged-measures"))
}
