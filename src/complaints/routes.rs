//! Complaint pages. Clerks write; clerks, supervisors, reviewers and
//! auditors read.

use crate::db;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::{Complaint, LIST_FIELDS, store};
use crate::agency::{self, Scope};
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::officers::{self, Officer};
use crate::web::record_form::{Choices, RecordForm};
use crate::web::{FieldErrors, PageCtx, flash, form_response};

pub fn router(state: &AppState) -> Router<AppState> {
    let readers = Router::new()
        .route("/complaints", get(route_get_complaints))
        .route("/complaints/{id}", get(route_get_complaint))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORD_READERS), guard));
    let writers = Router::new()
        .route("/complaints/new", get(route_get_new).post(route_post_new))
        .route("/complaints/{id}/edit", get(route_get_edit).post(route_post_edit))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    readers.merge(writers)
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    allegation: String,
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// "closed": the dates bound the closing date; otherwise the received date.
    #[serde(default)]
    date: String,
    #[serde(default)]
    action_287g: String,
}

/// At most this many complaints are listed; the caption says so.
const LISTED: i64 = 500;

#[derive(Template, WebTemplate)]
#[template(path = "complaints/list.html")]
struct ListPage {
    page: PageCtx,
    query: ListQuery,
    complaints: Vec<Complaint>,
    allegations: Choices,
    dispositions: Choices,
}

async fn route_get_complaints(
    scope: Scope,
    page: PageCtx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let day = |v: &str| crate::web::parse_date(v).map(crate::web::format_date);
    let filter = store::Filter {
        allegation: query.allegation.clone(),
        disposition: query.disposition.clone(),
        from: day(&query.from),
        to: day(&query.to),
        by_closed: query.date == "closed",
        involving_287g: match query.action_287g.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        limit: Some(LISTED),
    };
    let complaints = store::filtered(&scope, &filter).await?;
    Ok(ListPage {
        page,
        query,
        complaints,
        allegations: super::ALLEGATIONS,
        dispositions: super::DISPOSITIONS,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "complaints/show.html")]
struct ShowPage {
    page: PageCtx,
    complaint: Complaint,
    officers: Vec<Officer>,
    history: Vec<Entry>,
    can_edit: bool,
}

async fn route_get_complaint(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ShowPage> {
    let complaint = store::get(&scope, id).await?;
    let ids = complaint.officer_ids();
    let officers = officers::store::list(&scope, &Default::default())
        .await?
        .into_iter()
        .filter(|o| ids.contains(&o.id))
        .collect();
    Ok(ShowPage {
        history: store::history(&scope, id).await?,
        can_edit: page.has_role(crate::auth::Role::Clerk),
        complaint,
        officers,
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "complaints/form.html")]
struct FormPage {
    page: PageCtx,
    complaint_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
    officers: Vec<Officer>,
}

impl FormPage {
    fn choices(&self, list: &str) -> Choices {
        match list {
            "channel" => super::CHANNELS,
            "allegation" => super::ALLEGATIONS,
            "forwarded_to" => super::FORWARDED,
            _ => super::DISPOSITIONS,
        }
    }
}

async fn form_page(
    scope: &Scope,
    page: PageCtx,
    complaint_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let officers = officers::store::choices(scope, None).await?;
    Ok(form_response(&errors, FormPage { page, complaint_id, form, errors: errors.clone(), officers }))
}

async fn route_get_new(scope: Scope, page: PageCtx) -> AppResult<Response> {
    let mut form = RecordForm::default();
    form.set("disposition", "pending");
    form_page(&scope, page, None, form, FieldErrors::default()).await
}

async fn route_get_edit(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let complaint = store::get(&scope, id).await?;
    form_page(&scope, page, Some(id), super::form_of(&complaint), FieldErrors::default()).await
}

async fn route_post_new(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save(&scope, &session, &actor, page, None, RecordForm::from_pairs(pairs, &LIST_FIELDS)).await
}

async fn route_post_edit(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    store::get(&scope, id).await?;
    save(&scope, &session, &actor, page, Some(id), RecordForm::from_pairs(pairs, &LIST_FIELDS)).await
}

/// The id, if a record of `table` (stops or arrests) has it in the agency:
/// another agency's record is refused as an unknown id is.
async fn exists(scope: &Scope, table: &str, id: &str) -> AppResult<Vec<i64>> {
    let Ok(id) = id.trim().parse::<i64>() else { return Ok(Vec::new()) };
    let found: Option<i64> =
        db::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1 AND agency_id = $2"))
            .bind(id)
            .bind(scope.id())
            .fetch_optional(scope)
            .await?;
    Ok(found.into_iter().collect())
}

async fn save(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: Option<i64>,
    form: RecordForm,
) -> AppResult<Response> {
    // The officers are the agency's: another agency's officer is refused
    // as an unknown one is.
    let officers = officers::store::list(scope, &Default::default()).await?;
    let today = agency::store::get(scope).await?.today();
    let stops = exists(scope, "stops", form.value("stop_id")).await?;
    let arrests = exists(scope, "arrests", form.value("arrest_id")).await?;
    let mut complaint = match super::validate(
        &form,
        |id| officers.iter().any(|o| o.id == id),
        |id| stops.contains(&id),
        |id| arrests.contains(&id),
        today,
    ) {
        Ok(c) => c,
        Err(errors) => return form_page(scope, page, id, form, errors).await,
    };
    let id = match id {
        Some(id) => {
            complaint.id = id;
            store::update(scope, actor, &complaint).await?;
            id
        }
        None => store::create(scope, actor, &complaint).await?,
    };
    flash(session, "Complaint saved.").await?;
    Ok(see_other(&format!("/complaints/{id}")))
}
