//! The state's pages: the dashboard of every agency (reporting status
//! first, one measure per agency beside the statewide figure), each
//! agency's own dashboard as the state sees it (recorded in that agency's
//! audit log), and the list of agencies, where the state administrator adds
//! one with its first administrator.

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
        .route_layer(middleware::from_fn_with_state((state.clone(), access::STATE_VIEWERS), guard));
    let list = Router::new()
        .route("/state/agencies", get(route_get_agencies))
        .route_layer(middleware::from_fn_with_state((state.clone(), &Role::STATE[..]), guard));
    let admin = Router::new()
        .route("/state/agencies", axum::routing::post(route_post_agencies))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::STATE_ADMINISTRATORS), guard));
    view.merge(list).merge(admin)
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
    Ok(crate::agency::store::list(&state.db)
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
    let id = crate::agency::store::id_of(&state.db, &ori).await?.ok_or(AppError::NotFound)?;
    let scope = Scope::of_agency(&state.db, id);
    let event = Event::new("state.dashboard_view", "agency", id)
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
