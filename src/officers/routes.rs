//! The officer roster, officer pages and designation forms. Everyone signed
//! in may read the roster; records clerks change it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use serde::Deserialize;
use time::Date;
use tower_sessions::Session;

use super::authorization::{EvidenceSet, Standing, authorized_for_any, standing};
use super::store::{self, Filter, OfficerError};
use super::{Designation, DesignationForm, Officer, OfficerForm, STATUSES};
use crate::agency::{self, MODELS, Scope};
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{access, guard, see_other};
use crate::compliance::{self, Compliance};
use crate::error::AppResult;
use crate::training::{self, TrainingRecord};
use crate::web::{FieldErrors, PageCtx, Paging, flash, form_response, format_date};

pub fn router(state: &AppState) -> Router<AppState> {
    let readers = Router::new()
        .route("/officers", get(route_get_officers))
        .route("/officers/{id}", get(route_get_officer))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::AGENCY_USERS), guard));
    let writers = Router::new()
        .route("/officers/new", get(route_get_new).post(route_post_new))
        .route("/officers/{id}/edit", get(route_get_edit).post(route_post_edit))
        .route(
            "/officers/{id}/designations/new",
            get(route_get_new_designation).post(route_post_new_designation),
        )
        .route(
            "/officers/{id}/designations/{did}/edit",
            get(route_get_edit_designation).post(route_post_edit_designation),
        )
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    readers.merge(writers)
}

const PER_PAGE: i64 = 25;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    authorized: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    /// With `from` and `to`: only the officers this measure counts in that
    /// period (the dashboard's "records behind" a measure).
    #[serde(default)]
    measure: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

pub struct Row {
    pub officer: Officer,
    pub authorized: bool,
    pub disqualified: bool,
    pub models: String,
    /// The officer's records the `measure` filter counts.
    pub counted: Option<usize>,
}

#[derive(Template, WebTemplate)]
#[template(path = "officers/list.html")]
struct ListPage {
    page: PageCtx,
    query: ListQuery,
    rows: Vec<Row>,
    total: usize,
    paging: Paging,
    pages: i64,
    today: String,
    statuses: &'static [(&'static str, &'static str)],
    models: &'static [(&'static str, &'static str)],
    /// What the `measure` filter counts, and for which period.
    counted: Option<(crate::measures::behind::Counted, crate::measures::Period)>,
}

impl ListPage {
    /// The list's address with every filter kept and `page` replaced.
    fn link(&self, page: i64) -> String {
        self.link_with(&self.query.sort, &self.query.dir, page)
    }

    fn link_with(&self, sort: &str, dir: &str, page: i64) -> String {
        let q = &self.query;
        let pairs = [
            ("q", q.q.as_str()),
            ("status", q.status.as_str()),
            ("model", q.model.as_str()),
            ("authorized", q.authorized.as_str()),
            ("sort", sort),
            ("dir", dir),
            ("measure", q.measure.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
        ];
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            url.append_pair(k, v);
        }
        url.append_pair("page", &page.to_string());
        format!("/officers?{}", url.finish())
    }

    /// A column header link: sorts by the column, flipping the direction
    /// when it already is the sort.
    fn sort_link(&self, column: &str) -> String {
        let current = if self.query.sort.is_empty() { "name" } else { self.query.sort.as_str() };
        let dir = if current == column && self.query.dir != "desc" { "desc" } else { "asc" };
        self.link_with(column, dir, 1)
    }

    fn aria_sort(&self, column: &str) -> &'static str {
        let current = if self.query.sort.is_empty() { "name" } else { self.query.sort.as_str() };
        match (current == column, self.query.dir == "desc") {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }
}

/// The signed-in user's agency, whose audit head `page.head` is; a user of
/// no agency finds nothing (404).
fn scope_of(state: &AppState, page: &PageCtx) -> Result<Scope, sqlx::Error> {
    page.user.as_ref().and_then(|user| Scope::of_user(&state.db, user)).ok_or(sqlx::Error::RowNotFound)
}

/// Every officer of the signed-in user's agency, in the roster's order,
/// read once per audit head (which names the agency): record lists label
/// their rows and fill their officer menus from it.
pub async fn roster(state: &AppState, page: &PageCtx) -> Result<std::sync::Arc<Vec<Officer>>, sqlx::Error> {
    let scope = scope_of(state, page)?;
    let load = || async { Ok(std::sync::Arc::new(store::list(&scope, &Default::default()).await?)) };
    state.lookups.officers.get(page.head, load).await
}

/// The evidence behind the authorization of every officer of the agency,
/// read once per audit head. Whether an officer is authorized also depends
/// on the date, so callers judge it against today each time.
pub async fn evidence(state: &AppState, page: &PageCtx) -> Result<std::sync::Arc<EvidenceSet>, sqlx::Error> {
    let scope = scope_of(state, page)?;
    let load = || async { Ok(std::sync::Arc::new(store::evidence(&scope).await?)) };
    state.lookups.evidence.get(page.head, load).await
}

async fn route_get_officers(
    scope: Scope,
    page: PageCtx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let today = agency::store::get(&scope).await?.today();
    let filter = Filter {
        search: query.q.clone(),
        status: if STATUSES.iter().any(|(c, _)| *c == query.status) {
            query.status.clone()
        } else {
            String::new()
        },
        model: if MODELS.iter().any(|(c, _)| *c == query.model) {
            query.model.clone()
        } else {
            String::new()
        },
        sort: query.sort.clone(),
        descending: query.dir == "desc",
    };
    let officers = store::list(&scope, &filter).await?;
    let evidence = store::evidence(&scope).await?;
    let period = crate::web::parse_date(&query.from)
        .zip(crate::web::parse_date(&query.to))
        .and_then(|(from, to)| crate::measures::Period::new(from, to));
    let counted = match period {
        Some(period) if !query.measure.is_empty() => {
            crate::measures::behind::officers(&scope, &query.measure, period).await?.map(|c| (c, period))
        }
        _ => None,
    };
    let rows: Vec<Row> = officers
        .into_iter()
        .map(|officer| row(officer, &evidence, today))
        .filter(|r| match query.authorized.as_str() {
            "yes" => r.authorized,
            "no" => !r.authorized,
            _ => true,
        })
        .filter_map(|mut r| match &counted {
            Some((c, _)) => {
                r.counted = Some(c.of(r.officer.id)?);
                Some(r)
            }
            None => Some(r),
        })
        .collect();
    let total = rows.len();
    let paging = Paging::new(query.page, PER_PAGE);
    let pages = paging.pages(total as i64);
    let rows = rows.into_iter().skip(paging.offset() as usize).take(PER_PAGE as usize).collect();
    Ok(ListPage {
        page,
        query,
        rows,
        total,
        paging,
        pages,
        today: format_date(today),
        statuses: &STATUSES,
        models: &MODELS,
        counted,
    })
}

fn row(officer: Officer, set: &EvidenceSet, today: Date) -> Row {
    let evidence = set.of(officer.id);
    let mut models: Vec<&str> = evidence.designations.iter().map(|d| d.model.as_str()).collect();
    models.dedup();
    let disqualified = models.iter().any(|m| evidence.disqualified(m, today).is_some());
    Row {
        authorized: authorized_for_any(&officer, &evidence, today),
        disqualified,
        models: models.join(", "),
        officer,
        counted: None,
    }
}

/// Hours completed per calendar year, newest first.
fn hours_by_year(records: &[TrainingRecord]) -> Vec<(i32, String)> {
    let mut years: std::collections::BTreeMap<i32, f64> = Default::default();
    for r in records {
        if let Some(d) = r.date() {
            *years.entry(d.year()).or_default() += r.hours;
        }
    }
    years.into_iter().rev().map(|(y, h)| (y, training::format_hours(h))).collect()
}

pub struct ModelStanding {
    pub code: &'static str,
    pub name: &'static str,
    pub standing: Standing,
    pub compliance: Compliance,
    pub refresher_due: String,
}

/// A training record as the officer page lists it.
pub struct TrainingRow {
    pub record: TrainingRecord,
    pub course: String,
    pub outcome: &'static str,
    pub certificates: Vec<crate::documents::Document>,
}

#[derive(Template, WebTemplate)]
#[template(path = "officers/show.html")]
struct ShowPage {
    page: PageCtx,
    officer: Officer,
    supervisor: Option<Officer>,
    designations: Vec<Designation>,
    standings: Vec<ModelStanding>,
    training: Vec<TrainingRow>,
    hours_by_year: Vec<(i32, String)>,
    agency_due: String,
    documents: Vec<crate::documents::Document>,
    pay: Vec<crate::pay::PayPeriod>,
    cap_use: Vec<crate::pay::CapUse>,
    leads: Vec<crate::pay::Leads>,
    history: Vec<Entry>,
    today: String,
    can_edit: bool,
    /// The officer's rows of the early-warning list for the quarter to
    /// date, for those who see the list; None for the others.
    warning: Option<OfficerWarning>,
}

/// The officer's row of the early-warning list (`measures::warning`).
struct OfficerWarning {
    period: crate::measures::Period,
    rows: Vec<Vec<String>>,
    note: String,
}

/// The officer's part of the early-warning list of the quarter to date.
async fn officer_warning(scope: &Scope, officer: &Officer, today: time::Date) -> AppResult<OfficerWarning> {
    use crate::measures::warning::{MINIMUM_STOPS, review_rows};
    let period = crate::measures::Period::quarter_to_date(today);
    let list = crate::measures::store::early_warning(scope, period, MINIMUM_STOPS).await?;
    let name = format!("{} {}, {}", officer.badge, officer.last_name, officer.first_name);
    let (rows, note) = match list.of(officer.id) {
        Some(r) if r.flagged() => {
            (review_rows(r, &name, false), "Flagged for review: see the comparisons below.".to_string())
        }
        Some(r) => (
            review_rows(r, &name, true),
            r.note.clone().unwrap_or_else(|| {
                "Not flagged: within the range of peers in the same circumstances.".into()
            }),
        ),
        None => (vec![], format!("Not compared: fewer than {MINIMUM_STOPS} stops in the period.")),
    };
    Ok(OfficerWarning { period, rows, note })
}

async fn route_get_officer(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ShowPage> {
    let officer = store::get(&scope, id).await?;
    let sees_warning = crate::measures::routes::WARNING_READERS.iter().any(|r| page.has_role(*r));
    let supervisor = match officer.supervisor_id {
        Some(sid) => Some(store::get(&scope, sid).await?),
        None => None,
    };
    let designations = store::designations_of(&scope, id).await?;
    let today = agency::store::get(&scope).await?.today();
    let records = training::store::records_of(&scope, id).await?;
    let courses = training::store::courses(&scope, &scope).await?;
    let evidence =
        super::authorization::Evidence { designations: &designations, training: &records, courses: &courses };
    let standings = MODELS
        .iter()
        .filter(|(code, _)| designations.iter().any(|d| d.model == *code))
        .map(|(code, name)| ModelStanding {
            code,
            name,
            standing: standing(&officer, &evidence, code, today),
            compliance: compliance::assess(&officer, &evidence, code, today),
            refresher_due: evidence
                .refresher_due(code, today)
                .map(|d| format!("{} ({})", format_date(d.date), d.course))
                .unwrap_or_else(|| "none scheduled".into()),
        })
        .collect();
    let agency_due = evidence
        .agency_due(today)
        .map(|d| format!("{} ({})", format_date(d.date), d.course))
        .unwrap_or_default();
    let documents = crate::documents::store::for_officer(&scope, id).await?;
    let pay = crate::pay::store::pay_of(&scope, id).await?;
    let cap_use = crate::pay::cap_use(&pay, officer.annual_salary_cents);
    let leads = crate::pay::store::leads_of(&scope, id).await?;
    let hours_by_year = hours_by_year(&records);
    let training = records
        .into_iter()
        .map(|record| {
            let course = courses.iter().find(|c| c.id == record.course_id);
            TrainingRow {
                course: course.map(|c| c.name.clone()).unwrap_or_default(),
                outcome: course.map(|c| record.outcome(c).label()).unwrap_or_default(),
                certificates: documents
                    .iter()
                    .filter(|d| d.training_record_id == Some(record.id))
                    .cloned()
                    .collect(),
                record,
            }
        })
        .collect();
    let history = store::history(&scope, id).await?;
    let can_edit = page.has_role(crate::auth::Role::Clerk);
    let warning = match sees_warning {
        true => Some(officer_warning(&scope, &officer, today).await?),
        false => None,
    };
    Ok(ShowPage {
        page,
        officer,
        supervisor,
        designations,
        standings,
        training,
        hours_by_year,
        agency_due,
        documents,
        pay,
        cap_use,
        leads,
        history,
        today: format_date(today),
        can_edit,
        warning,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "officers/form.html")]
struct FormPage {
    page: PageCtx,
    officer_id: Option<i64>,
    form: OfficerForm,
    errors: FieldErrors,
    supervisors: Vec<Officer>,
    statuses: &'static [(&'static str, &'static str)],
}

async fn form_page(
    scope: &Scope,
    page: PageCtx,
    id: Option<i64>,
    form: OfficerForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let supervisors = store::choices(scope, id).await?;
    let view =
        FormPage { page, officer_id: id, form, errors: errors.clone(), supervisors, statuses: &STATUSES };
    Ok(form_response(&errors, view))
}

async fn route_get_new(scope: Scope, page: PageCtx) -> AppResult<Response> {
    let form = OfficerForm { status: "active".into(), ..Default::default() };
    form_page(&scope, page, None, form, FieldErrors::default()).await
}

async fn route_get_edit(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let officer = store::get(&scope, id).await?;
    form_page(&scope, page, Some(id), OfficerForm::from_officer(&officer), FieldErrors::default()).await
}

async fn route_post_new(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Form(form): Form<OfficerForm>,
) -> AppResult<Response> {
    save_officer(&scope, &session, &actor, page, None, form).await
}

async fn route_post_edit(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<OfficerForm>,
) -> AppResult<Response> {
    store::get(&scope, id).await?;
    save_officer(&scope, &session, &actor, page, Some(id), form).await
}

async fn save_officer(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: Option<i64>,
    form: OfficerForm,
) -> AppResult<Response> {
    let today = agency::store::get(scope).await?.today();
    // Checked before the rest, so a taken badge shows with every other
    // problem at once (the store checks again under the write lock).
    let taken = store::badge_taken(scope, scope, &form.badge, id).await?;
    let officer = match form.validate(id, today) {
        Ok(officer) if !taken => officer,
        result => {
            let mut errors = result.err().unwrap_or_default();
            if taken {
                errors.add("badge", BADGE_TAKEN);
            }
            return form_page(scope, page, id, form, errors).await;
        }
    };
    let result = match id {
        Some(_) => store::update(scope, actor, &officer).await.map(|()| officer.id),
        None => store::create(scope, actor, &officer).await,
    };
    let mut errors = FieldErrors::default();
    match result {
        Ok(saved) => {
            flash(session, format!("Officer {} saved.", officer.full_name())).await?;
            return Ok(see_other(&format!("/officers/{saved}")));
        }
        Err(OfficerError::BadgeTaken) => errors.add("badge", BADGE_TAKEN),
        Err(OfficerError::NoSuchSupervisor) => {
            errors.add("supervisor_id", "Choose a supervisor from the list.")
        }
        Err(OfficerError::Db(e)) => return Err(e.into()),
    }
    form_page(scope, page, id, form, errors).await
}

/// Badges are unique without regard to case: `cc-1100` is `CC-1100`.
const BADGE_TAKEN: &str = "Another officer already has this badge number (badges are the same in any case).";

#[derive(Template, WebTemplate)]
#[template(path = "officers/designation.html")]
struct DesignationPage {
    page: PageCtx,
    officer: Officer,
    designation_id: Option<i64>,
    form: DesignationForm,
    errors: FieldErrors,
    models: Vec<(&'static str, &'static str)>,
}

async fn designation_page(
    scope: &Scope,
    page: PageCtx,
    officer: Officer,
    designation_id: Option<i64>,
    form: DesignationForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let profile = agency::store::get(scope).await?;
    let models = MODELS
        .iter()
        .copied()
        .filter(|(c, _)| profile.holds(c) || profile.models.is_empty() || form.model == *c)
        .collect();
    let view = DesignationPage { page, officer, designation_id, form, errors: errors.clone(), models };
    Ok(form_response(&errors, view))
}

async fn route_get_new_designation(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let officer = store::get(&scope, id).await?;
    designation_page(&scope, page, officer, None, DesignationForm::default(), FieldErrors::default()).await
}

async fn route_get_edit_designation(
    scope: Scope,
    page: PageCtx,
    Path((id, did)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let officer = store::get(&scope, id).await?;
    let designation = store::designation(&scope, id, did).await?;
    let form = DesignationForm::from_designation(&designation);
    designation_page(&scope, page, officer, Some(did), form, FieldErrors::default()).await
}

async fn route_post_new_designation(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<DesignationForm>,
) -> AppResult<Response> {
    save_designation(&scope, &session, &actor, page, id, None, form).await
}

async fn route_post_edit_designation(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path((id, did)): Path<(i64, i64)>,
    Form(form): Form<DesignationForm>,
) -> AppResult<Response> {
    // The designation must belong to the officer in the address.
    store::designation(&scope, id, did).await?;
    save_designation(&scope, &session, &actor, page, id, Some(did), form).await
}

async fn save_designation(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    officer_id: i64,
    designation_id: Option<i64>,
    form: DesignationForm,
) -> AppResult<Response> {
    let officer = store::get(scope, officer_id).await?;
    let profile = agency::store::get(scope).await?;
    let designation = match form.validate(&profile.model_list(), profile.today()) {
        Ok(d) => d,
        Err(errors) => {
            return designation_page(scope, page, officer, designation_id, form, errors).await;
        }
    };
    match designation_id {
        Some(did) => store::update_designation(scope, actor, officer_id, did, &designation).await?,
        None => {
            store::add_designation(scope, actor, officer_id, &designation).await?;
        }
    }
    flash(session, format!("{} designation saved.", designation.model)).await?;
    Ok(see_other(&format!("/officers/{officer_id}")))
}
