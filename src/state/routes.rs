//! The state's pages: the dashboard of every agency (reporting status
//! first, one measure per agency beside the statewide figure), each
//! agency's own dashboard, reports and (for the state auditor) audit log as
//! the state sees them (each reading recorded in that agency's audit log),
//! the statewide reports and their verification, and the list of agencies,
//! where the state administrator adds one with its first administrator.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::{AgencyLine, Order};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::see_other;
use crate::auth::{Role, access, guard};
use crate::error::{AppError, AppResult};
use crate::measures::{Measure, Period};
use crate::web::{FieldErrors, PageCtx, flash};

pub fn router(state: &AppState) -> Router<AppState> {
    let view = Router::new()
        .route("/state", get(route_get_state))
        .route("/state/agencies/{ori}", get(route_get_agency))
        .route("/state/agencies/{ori}/reports", get(route_get_agency_reports))
        .route("/state/agencies/{ori}/reports/{id}/download", get(route_get_agency_report))
        .route("/state/reports", get(route_get_reports).post(route_post_reports))
        .route("/state/reports/{id}/download", get(route_get_report))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::STATE_VIEWERS), guard));
    let audit = Router::new()
        .route("/state/agencies/{ori}/audit", get(route_get_agency_audit))
        .route("/state/agencies/{ori}/audit/verify", axum::routing::post(route_post_agency_audit_verify))
        .route("/state/agencies/{ori}/audit/export", axum::routing::post(route_post_agency_audit_export))
        .route("/state/agencies/{ori}/audit/checkpoint", axum::routing::post(route_post_agency_checkpoint))
        .route("/state/agencies/{ori}/audit/prove", axum::routing::post(route_post_agency_prove))
        .route(
            "/state/reports/verify",
            get(route_get_verify).post(route_post_verify).layer(axum::extract::DefaultBodyLimit::max(
                crate::documents::routes::body_limit(state.config.upload_limit),
            )),
        )
        .route_layer(middleware::from_fn_with_state((state.clone(), access::STATE_AUDITORS), guard));
    let list = Router::new()
        .route("/state/agencies", get(route_get_agencies))
        .route_layer(middleware::from_fn_with_state((state.clone(), &Role::STATE[..]), guard));
    let admin = Router::new()
        .route("/state/agencies", axum::routing::post(route_post_agencies))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::STATE_ADMINISTRATORS), guard));
    view.merge(audit).merge(list).merge(admin)
}

#[derive(Clone, Debug, Default, Deserialize)]
struct StateQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    measure: String,
    #[serde(default)]
    sort: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "state/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    period: Period,
    period_error: Option<&'static str>,
    /// Every measure of the sheet, for the menu: (id, name).
    measures: Vec<(&'static str, &'static str)>,
    chosen: Option<Measure>,
    statewide: Option<Measure>,
    lines: Vec<AgencyLine>,
    not_reported: usize,
    order: Order,
}

impl DashboardPage {
    /// The address of this view in another order.
    fn sorted(&self, order: &str) -> String {
        let id = self.chosen.as_ref().map(|m| m.id).unwrap_or_default();
        format!(
            "/state?from={}&to={}&measure={id}&sort={order}",
            self.period.from_text(),
            self.period.to_text()
        )
    }
    fn agency_link(&self, ori: &str) -> String {
        format!("/state/agencies/{ori}?from={}&to={}", self.period.from_text(), self.period.to_text())
    }
    fn statewide_text(&self) -> String {
        super::measure_text(&self.statewide)
    }
    fn statewide_fraction(&self) -> String {
        self.statewide.as_ref().map(Measure::fraction_text).unwrap_or_default()
    }
    fn is_order(&self, code: &str) -> bool {
        self.order.code() == code
    }
}

/// Every agency's scope, ORI and name, in the order they were added.
async fn agencies(state: &AppState) -> AppResult<Vec<(Scope, String, String)>> {
    Ok(crate::agency::store::named(&state.db)
        .await?
        .into_iter()
        .map(|a| (Scope::of_agency(&state.db, a.id), a.ori, a.name))
        .collect())
}

async fn route_get_state(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<StateQuery>,
) -> AppResult<DashboardPage> {
    let today = time::OffsetDateTime::now_utc().date();
    let (period, period_error) = crate::measures::period_from(&query.from, &query.to, today);
    let scopes = agencies(&state).await?;
    let measures: Vec<(&'static str, &'static str)> = match scopes.first() {
        Some((scope, _, _)) => {
            state.sheets.get(scope, period).await?.measures.iter().map(|m| (m.id, m.name)).collect()
        }
        None => Vec::new(),
    };
    let id = measures
        .iter()
        .map(|(id, _)| *id)
        .find(|id| *id == query.measure)
        .or_else(|| measures.iter().map(|(id, _)| *id).find(|id| *id == "S1"))
        .or_else(|| measures.first().map(|(id, _)| *id))
        .unwrap_or_default();
    let mut lines = super::lines(&state.sheets, &scopes, period, id).await?;
    let order = Order::parse(&query.sort);
    super::sort(&mut lines, order);
    let chosen = lines.iter().find_map(|l| l.measure.clone());
    let statewide = super::statewide(&lines);
    let not_reported = lines.iter().filter(|l| !l.reported()).count();
    Ok(DashboardPage { page, period, period_error, measures, chosen, statewide, lines, not_reported, order })
}

/// One agency's dashboard as the state sees it. Reading it is recorded in
/// the agency's own audit log, so its auditors see who looked.
async fn route_get_agency(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    Path(ori): Path<String>,
    Query(query): Query<crate::measures::routes::PeriodQuery>,
) -> AppResult<Response> {
    let (scope, _) = agency_scope(&state, &ori).await?;
    let event = Event::new("state.dashboard_view", "agency", scope.id())
        .details(serde_json::json!({ "from": query.from, "to": query.to }));
    audit::record_in(&scope, &actor, event).await?;
    let view = crate::measures::routes::dashboard(&state, &scope, page, &query).await?;
    Ok(view.at(format!("/state/agencies/{ori}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "state/agencies.html")]
struct AgenciesPage {
    page: PageCtx,
    agencies: Vec<crate::agency::store::Listed>,
    form: AgencyForm,
    errors: FieldErrors,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct AgencyForm {
    #[serde(default)]
    ori: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

async fn route_get_agencies(State(state): State<AppState>, page: PageCtx) -> AppResult<AgenciesPage> {
    let agencies = crate::agency::store::list(&state.db).await?;
    Ok(AgenciesPage { page, agencies, form: AgencyForm::default(), errors: FieldErrors::default() })
}

/// Adds an agency from the list of agreements with its first
/// administrator, who must change the temporary password at first sign-in.
async fn route_post_agencies(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    axum::Form(form): axum::Form<AgencyForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let ori = form.ori.trim().to_uppercase();
    let found = crate::agency::agreements::lookup(&ori);
    if found.is_none() {
        errors.add("ori", "This ORI is not in the 287(g) agreements list of 3 July 2025; check it.");
    } else if crate::agency::store::id_of(&state.db, &ori).await?.is_some() {
        errors.add("ori", "An agency with this ORI is already in the deployment.");
    }
    let user_form = crate::users::NewUserForm {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: form.password.clone(),
        roles: vec![Role::Administrator.as_str().to_string()],
    };
    let new_user = user_form.validate(&Role::ALL);
    if crate::users::store::find_by_username(&state.db, form.username.trim()).await?.is_some() {
        errors.add("username", "This username is taken.");
    }
    if let Err(user_errors) = &new_user {
        for (field, message) in user_errors.iter() {
            errors.add(field, message.clone());
        }
    }
    let (Some(found), Ok(new_user)) = (found, new_user) else {
        return refused(&state, page, form, errors).await;
    };
    if !errors.is_empty() {
        return refused(&state, page, form, errors).await;
    }
    let profile = crate::agency::Profile {
        name: found.name,
        ori: ori.clone(),
        state: found.state.to_string(),
        models: found.models.join(","),
        agreement_signed: None,
        agreement_renewed: None,
        login_banner: crate::agency::DEFAULT_BANNER.to_string(),
        time_zone: "America/New_York".to_string(),
        mfa_policy: "administrators".to_string(),
        paper_size: "letter".to_string(),
        retention_days: None,
    };
    let hash = state.hasher.hash(&new_user.password).await?;
    let scope = crate::agency::store::add(&state.db, &actor, &profile).await?;
    match crate::users::store::create(&scope, &actor, &new_user, &hash).await {
        Ok(_) => {}
        Err(crate::users::store::UserError::UsernameTaken) => {
            errors.add(
                "username",
                "This username is taken; the agency was added: add its administrator with another username.",
            );
            return refused(&state, page, form, errors).await;
        }
        Err(other) => return Err(other.into()),
    }
    flash(
        &session,
        format!(
            "{} ({ori}) added, with its administrator {}: give them the temporary password; they must change it at first sign-in.",
            profile.name, new_user.username
        ),
    )
    .await?;
    Ok(see_other("/state/agencies"))
}

async fn refused(
    state: &AppState,
    page: PageCtx,
    mut form: AgencyForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    form.password.clear();
    let agencies = crate::agency::store::list(&state.db).await?;
    Ok(crate::web::unprocessable(AgenciesPage { page, agencies, form, errors }))
}

/// The agency an address names by ORI, as the state reads it; an unknown
/// ORI is not found.
async fn agency_scope(state: &AppState, ori: &str) -> AppResult<(Scope, String)> {
    let id = crate::agency::store::id_of(&state.db, ori).await?.ok_or(AppError::NotFound)?;
    let scope = Scope::of_agency(&state.db, id);
    let name = crate::agency::store::get(&scope).await?.name;
    Ok((scope, name))
}

#[derive(Template, WebTemplate)]
#[template(path = "state/agency_reports.html")]
struct AgencyReportsPage {
    page: PageCtx,
    ori: String,
    name: String,
    reports: Vec<crate::reports::Report>,
}

/// The agency's issued reports, to download (each download recorded in the
/// agency's log).
async fn route_get_agency_reports(
    State(state): State<AppState>,
    page: PageCtx,
    Path(ori): Path<String>,
) -> AppResult<AgencyReportsPage> {
    let (scope, name) = agency_scope(&state, &ori).await?;
    let reports = crate::reports::store::list(&scope).await?;
    Ok(AgencyReportsPage { page, ori: ori.to_uppercase(), name, reports })
}

async fn route_get_agency_report(
    State(state): State<AppState>,
    actor: Actor,
    Path((ori, id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let (scope, _) = agency_scope(&state, &ori).await?;
    crate::reports::routes::download(&state, &scope, &actor, id).await
}

fn audit_at(state: &AppState, ori: &str, name: String) -> crate::audit::routes::At {
    crate::audit::routes::At {
        base: format!("/state/agencies/{}/audit", ori.to_uppercase()),
        agency: Some(name),
        key: state.signing_key.clone(),
    }
}

/// The agency's audit log as its auditors see it. The state auditor's
/// opening of it is recorded in it (once per visit, not per page).
async fn route_get_agency_audit(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    Path(ori): Path<String>,
    Query(query): Query<crate::audit::routes::AuditQuery>,
) -> AppResult<Response> {
    let (scope, name) = agency_scope(&state, &ori).await?;
    if query.is_first_view() {
        audit::record_in(&scope, &actor, Event::new("state.audit_view", "audit_log", "")).await?;
    }
    let view =
        crate::audit::routes::list_page(&scope, page, query, None, audit_at(&state, &ori, name)).await?;
    Ok(view.into_response())
}

async fn route_post_agency_audit_verify(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    Path(ori): Path<String>,
    axum::Form(form): axum::Form<crate::audit::routes::VerifyForm>,
) -> AppResult<Response> {
    let (scope, name) = agency_scope(&state, &ori).await?;
    let view = crate::audit::routes::verify(&scope, &actor, page, form, audit_at(&state, &ori, name)).await?;
    Ok(view.into_response())
}

async fn route_post_agency_audit_export(
    State(state): State<AppState>,
    actor: Actor,
    Path(ori): Path<String>,
) -> AppResult<Response> {
    let (scope, _) = agency_scope(&state, &ori).await?;
    crate::audit::routes::export(&scope, &actor).await
}

async fn route_post_agency_checkpoint(
    State(state): State<AppState>,
    Path(ori): Path<String>,
) -> AppResult<Response> {
    let (scope, _) = agency_scope(&state, &ori).await?;
    crate::audit::routes::checkpoint(&scope, &state.signing_key).await
}

async fn route_post_agency_prove(
    State(state): State<AppState>,
    page: PageCtx,
    Path(ori): Path<String>,
    axum::Form(form): axum::Form<crate::audit::routes::ProveForm>,
) -> AppResult<Response> {
    let (scope, name) = agency_scope(&state, &ori).await?;
    crate::audit::routes::prove(&scope, page, form, audit_at(&state, &ori, name)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "state/reports.html")]
struct ReportsPage {
    page: PageCtx,
    reports: Vec<super::store::StateReport>,
    agencies: Vec<crate::agency::store::Named>,
    quarters: Vec<(String, String, String)>,
    form: crate::reports::routes::GenerateForm,
    errors: FieldErrors,
    can_verify: bool,
}

async fn reports_page(
    state: &AppState,
    page: PageCtx,
    form: crate::reports::routes::GenerateForm,
    errors: FieldErrors,
) -> AppResult<ReportsPage> {
    let today = time::OffsetDateTime::now_utc().date();
    Ok(ReportsPage {
        reports: super::store::list(&state.db).await?,
        agencies: crate::agency::store::named(&state.db).await?,
        quarters: crate::reports::routes::quarters(today),
        can_verify: page.user.as_ref().is_some_and(|u| u.has_any(access::STATE_AUDITORS)),
        form,
        errors,
        page,
    })
}

async fn route_get_reports(State(state): State<AppState>, page: PageCtx) -> AppResult<ReportsPage> {
    reports_page(&state, page, Default::default(), FieldErrors::default()).await
}

/// Generates a statewide report for the period asked for.
async fn route_post_reports(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    axum::Form(form): axum::Form<crate::reports::routes::GenerateForm>,
) -> AppResult<Response> {
    let period = match form.period() {
        Ok(period) => period,
        Err(errors) => {
            return Ok(crate::web::unprocessable(reports_page(&state, page, form, errors).await?));
        }
    };
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let (report, _) = super::report::generate(
        &state.db,
        &state.files,
        &actor,
        &user.display_name,
        period,
        &state.signing_key,
    )
    .await
    .map_err(AppError::Internal)?;
    flash(&session, format!("Statewide report {} for {} generated.", report.number, report.period_text()))
        .await?;
    Ok(see_other("/state/reports"))
}

/// A statewide report's PDF; the download is recorded in the state's log.
async fn route_get_report(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let report = super::store::get(&state.db, id).await?;
    let bytes = state.files.read(&report.file_name).map_err(|e| AppError::Internal(e.into()))?;
    let event = Event::new("state_report.download", "state_report", id)
        .details(serde_json::json!({ "number": report.number }));
    audit::record_in(&super::store::state_chain(&state.db), &actor, event).await?;
    Ok(crate::reports::routes::pdf_attachment(&format!("statewide-report-{}.pdf", report.number), bytes))
}

async fn route_get_verify(page: PageCtx) -> crate::reports::routes::VerifyPage {
    crate::reports::routes::VerifyPage::state(page, None, FieldErrors::default())
}

/// Checks a file against every report of the deployment: an agency's or
/// a statewide one.
async fn route_post_verify(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    multipart: axum::extract::Multipart,
) -> AppResult<Response> {
    use crate::reports::routes::{VerifyPage, uploaded_sha256};
    let sha256 = match uploaded_sha256(&state, multipart).await? {
        Ok(sha256) => sha256,
        Err(errors) => return Ok(crate::web::unprocessable(VerifyPage::state(page, None, errors))),
    };
    let verdict =
        crate::reports::store::verify_deployment_sha256(&state.db, sha256, &state.signing_key).await?;
    crate::reports::store::record_verification(&state.db, &actor, &verdict).await?;
    Ok(VerifyPage::state(page, Some(verdict), FieldErrors::default()).into_response())
}
