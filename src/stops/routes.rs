//! Stop pages: the filtered list, the entry and edit form, and the record
//! page with its change history. Clerks write; clerks, supervisors,
//! reviewers and auditors read.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::store::{self, Filter};
use super::{Choices, RecordForm, Stop};
use crate::agency::{self, Scope};
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::officers::{self, Officer};
use crate::web::{FieldErrors, PageCtx, flash, form_response, parse_date};

pub fn router(state: &AppState) -> Router<AppState> {
    let readers = Router::new()
        .route("/stops", get(route_get_stops))
        .route("/stops/{id}", get(route_get_stop))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORD_READERS), guard));
    let writers = Router::new()
        .route("/stops/new", get(route_get_new).post(route_post_new))
        .route("/stops/{id}/edit", get(route_get_edit).post(route_post_edit))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    readers.merge(writers)
}

const PAGE_SIZE: i64 = 50;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    stop_type: String,
    #[serde(default)]
    race: String,
    #[serde(default)]
    searched: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    action_287g: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    after: String,
}

impl ListQuery {
    fn yes_no(value: &str) -> Option<bool> {
        match value {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }

    fn filter(&self, errors: &mut FieldErrors) -> Filter {
        let mut date = |field: &'static str, value: &str| {
            if value.is_empty() {
                return None;
            }
            match parse_date(value) {
                Some(d) => Some(crate::web::format_date(d)),
                None => {
                    errors.add(field, "Write the date as YYYY-MM-DD.");
                    None
                }
            }
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        let after = self
            .after
            .split_once('_')
            .and_then(|(d, id)| Some((parse_date(d).map(crate::web::format_date)?, id.parse().ok()?)));
        let known = |choices: Choices, v: &str| {
            if choices.iter().any(|(c, _)| *c == v) { v.to_string() } else { String::new() }
        };
        Filter {
            from,
            to,
            officer_id: self.officer.parse().ok(),
            district: self.district.trim().to_string(),
            stop_type: known(super::STOP_TYPES, &self.stop_type),
            race: known(super::RACE_GROUPS, &self.race),
            searched: Self::yes_no(&self.searched),
            result: known(super::RESULTS, &self.result),
            action_287g: Self::yes_no(&self.action_287g),
            oldest_first: self.order == "oldest",
            after,
        }
    }

    /// The list's address with every filter kept, continuing after `key`.
    fn link_after(&self, key: Option<&Stop>) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("officer", &self.officer),
            ("district", &self.district),
            ("stop_type", &self.stop_type),
            ("race", &self.race),
            ("searched", &self.searched),
            ("result", &self.result),
            ("action_287g", &self.action_287g),
            ("order", &self.order),
        ] {
            if !v.is_empty() {
                url.append_pair(k, v);
            }
        }
        if let Some(s) = key {
            url.append_pair("after", &format!("{}_{}", s.stop_date, s.id));
        }
        format!("/stops?{}", url.finish())
    }
}

pub struct Row {
    pub stop: Stop,
    pub officer: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "stops/list.html")]
struct ListPage {
    page: PageCtx,
    query: ListQuery,
    errors: FieldErrors,
    rows: Vec<Row>,
    next: Option<String>,
    first: String,
    officers: std::sync::Arc<Vec<Officer>>,
    districts: std::sync::Arc<Vec<String>>,
    stop_types: Choices,
    races: Choices,
    results: Choices,
}

async fn route_get_stops(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let mut errors = FieldErrors::default();
    let filter = query.filter(&mut errors);
    let (stops, more) = store::page(&scope, &filter, PAGE_SIZE).await?;
    let officers = officers::routes::roster(&state, &page).await?;
    let load_districts =
        || async { Ok::<_, sqlx::Error>(std::sync::Arc::new(store::districts(&scope).await?)) };
    let districts = state.lookups.districts.get(page.head, load_districts).await?;
    let next = if more { Some(query.link_after(stops.last())) } else { None };
    let rows = stops
        .into_iter()
        .map(|stop| Row { officer: officers::label_of(&officers, stop.officer_id), stop })
        .collect();
    Ok(ListPage {
        first: query.link_after(None),
        page,
        query,
        errors,
        rows,
        next,
        officers,
        districts,
        stop_types: super::STOP_TYPES,
        races: super::RACE_GROUPS,
        results: super::RESULTS,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "stops/show.html")]
struct ShowPage {
    page: PageCtx,
    stop: Stop,
    officer: String,
    history: Vec<Entry>,
    can_edit: bool,
    supervision: Option<crate::supervision::RecordView>,
}

async fn route_get_stop(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ShowPage> {
    let stop = store::get(&scope, &scope, id).await?;
    let officers = officers::store::list(&scope, &Default::default()).await?;
    let record = crate::supervision::store::Record::Stop(stop.clone());
    let can_review = page.has_role(crate::auth::Role::Supervisor);
    Ok(ShowPage {
        supervision: crate::supervision::store::view(&scope, &record, can_review).await?,
        officer: officers::label_of(&officers, stop.officer_id),
        history: store::history(&scope, id).await?,
        can_edit: page.has_role(crate::auth::Role::Clerk),
        page,
        stop,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "stops/form.html")]
struct FormPage {
    page: PageCtx,
    stop_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
    officers: Vec<Officer>,
}

/// The form's option lists, for the template.
impl FormPage {
    fn choices(&self, list: &str) -> Choices {
        match list {
            "stop_type" => super::STOP_TYPES,
            "perceived_race" => super::RACES,
            "perceived_gender" => super::GENDERS,
            "reason" => super::REASONS,
            "traffic_violation" => super::TRAFFIC_KINDS,
            "actions" => super::ACTIONS,
            "search_basis" => super::SEARCH_BASES,
            "contraband" => super::CONTRABAND,
            _ => super::RESULTS,
        }
    }
}

async fn form_page(
    scope: &Scope,
    page: PageCtx,
    stop_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let officers = officers::store::choices(scope, None).await?;
    let view = FormPage { page, stop_id, form, errors: errors.clone(), officers };
    Ok(form_response(&errors, view))
}

async fn route_get_new(scope: Scope, page: PageCtx) -> AppResult<Response> {
    form_page(&scope, page, None, RecordForm::default(), FieldErrors::default()).await
}

async fn route_get_edit(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let stop = store::get(&scope, &scope, id).await?;
    form_page(&scope, page, Some(id), super::form_of(&stop), FieldErrors::default()).await
}

async fn route_post_new(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save(&scope, &session, &actor, page, None, RecordForm::from_pairs(pairs, &super::LIST_FIELDS)).await
}

async fn route_post_edit(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    store::get(&scope, &scope, id).await?;
    save(&scope, &session, &actor, page, Some(id), RecordForm::from_pairs(pairs, &super::LIST_FIELDS)).await
}

/// Validates and saves; the store marks a 287(g) action by an officer not
/// authorized that day as a compliance exception (accepted, not refused).
async fn save(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: Option<i64>,
    form: RecordForm,
) -> AppResult<Response> {
    let officers = officers::store::list(scope, &Default::default()).await?;
    let today = agency::store::get(scope).await?.today();
    let stop = match super::validate(&form, |id| officers.iter().any(|o| o.id == id), today) {
        Ok(stop) => stop,
        Err(errors) => return form_page(scope, page, id, form, errors).await,
    };
    let stop = match id {
        Some(id) => store::update(scope, actor, &Stop { id, ..stop }).await?,
        None => store::create(scope, actor, &stop).await?,
    };
    let id = stop.id;
    let message = match (stop.needs_sign_off(), stop.exception.is_empty()) {
        (false, _) => "Stop saved.".to_string(),
        (true, true) => {
            "Stop saved. It led to a 287(g) action and now awaits a supervisor's sign-off.".to_string()
        }
        (true, false) => {
            format!("Stop saved, and marked as a compliance exception: the officer was {}.", stop.exception)
        }
    };
    flash(session, message).await?;
    Ok(see_other(&format!("/stops/{id}")))
}
