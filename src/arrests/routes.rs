//! Arrest pages. Clerks write; clerks, supervisors, reviewers and auditors
//! read, and only clerks and supervisors see names and dates of birth.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::store::{self, Filter};
use super::{Arrest, CustodyCheck, LIST_FIELDS, sees_personal_data};
use crate::agency::{self, Scope};
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::officers::{self, Officer};
use crate::web::record_form::{Choices, RecordForm};
use crate::web::{FieldErrors, PageCtx, flash, form_response, format_date, parse_date};

pub fn router(state: &AppState) -> Router<AppState> {
    let readers = Router::new()
        .route("/arrests", get(route_get_arrests))
        .route("/arrests/{id}", get(route_get_arrest))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORD_READERS), guard));
    let writers = Router::new()
        .route("/arrests/new", get(route_get_new).post(route_post_new))
        .route("/arrests/{id}/edit", get(route_get_edit).post(route_post_edit))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    readers.merge(writers)
}

fn now_local(state_today: time::Date) -> time::PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    time::PrimitiveDateTime::new(state_today, now.time())
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    action_287g: String,
    /// "counted": the ICE warrant holds E5 counts for the period `from`..`to`.
    #[serde(default)]
    hold: String,
    #[serde(default)]
    after: String,
}

/// 48 hours before the end of the day `to` (today when no end is given),
/// written as the arrest list compares date and time: E5 leaves out a hold
/// still open and taken at or after it.
fn hold_cutoff(to: Option<time::Date>, today: time::Date) -> String {
    let end =
        time::PrimitiveDateTime::new(to.unwrap_or(today), time::Time::MIDNIGHT) + time::Duration::days(1);
    let cutoff = end - time::Duration::hours(super::WSO_HOURS);
    format!("{} {:02}:{:02}", format_date(cutoff.date()), cutoff.hour(), cutoff.minute())
}

pub struct Row {
    pub arrest: Arrest,
    pub officer: String,
    pub custody: CustodyCheck,
}

#[derive(Template, WebTemplate)]
#[template(path = "arrests/list.html")]
struct ListPage {
    page: PageCtx,
    query: ListQuery,
    rows: Vec<Row>,
    next: Option<String>,
    officers: std::sync::Arc<Vec<Officer>>,
    personal: bool,
}

fn shown(arrest: Arrest, personal: bool) -> Arrest {
    if personal { arrest } else { arrest.without_personal_data() }
}

async fn route_get_arrests(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let personal = page.user.as_ref().is_some_and(|u| sees_personal_data(&u.roles));
    let day = |v: &str| parse_date(v).map(format_date);
    let today = agency::store::get(&scope).await?.today();
    let filter = Filter {
        from: day(&query.from),
        to: day(&query.to),
        officer_id: query.officer.parse().ok(),
        action_287g: match query.action_287g.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        hold_counted_before: (query.hold == "counted").then(|| hold_cutoff(parse_date(&query.to), today)),
        after: query.after.split_once('_').and_then(|(d, id)| Some((day(d)?, id.parse().ok()?))),
    };
    let (arrests, more) = store::page(&scope, &filter, 50).await?;
    let officers = officers::routes::roster(&state, &page).await?;
    let now = now_local(today);
    let next = match (more, arrests.last()) {
        (true, Some(last)) => {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("from", &query.from),
                ("to", &query.to),
                ("officer", &query.officer),
                ("action_287g", &query.action_287g),
                ("hold", &query.hold),
            ] {
                if !v.is_empty() {
                    url.append_pair(k, v);
                }
            }
            url.append_pair("after", &format!("{}_{}", last.arrest_date, last.id));
            Some(format!("/arrests?{}", url.finish()))
        }
        _ => None,
    };
    let rows = arrests
        .into_iter()
        .map(|a| Row {
            officer: officers::label_of(&officers, a.officer_id),
            custody: a.custody_check(now),
            arrest: shown(a, personal),
        })
        .collect();
    Ok(ListPage { page, query, rows, next, officers, personal })
}

#[derive(Template, WebTemplate)]
#[template(path = "arrests/show.html")]
struct ShowPage {
    page: PageCtx,
    arrest: Arrest,
    officer: String,
    custody: CustodyCheck,
    history: Vec<Entry>,
    personal: bool,
    can_edit: bool,
    supervision: Option<crate::supervision::RecordView>,
}

async fn route_get_arrest(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ShowPage> {
    let personal = page.user.as_ref().is_some_and(|u| sees_personal_data(&u.roles));
    let arrest = store::get(&scope, &scope, id).await?;
    let officers = officers::store::list(&scope, &Default::default()).await?;
    let now = now_local(agency::store::get(&scope).await?.today());
    let record = crate::supervision::store::Record::Arrest(arrest.clone());
    let can_review = page.has_role(crate::auth::Role::Supervisor);
    Ok(ShowPage {
        supervision: crate::supervision::store::view(&scope, &record, can_review).await?,
        officer: officers::label_of(&officers, arrest.officer_id),
        custody: arrest.custody_check(now),
        history: store::history(&scope, id).await?,
        can_edit: page.has_role(crate::auth::Role::Clerk),
        arrest: shown(arrest, personal),
        personal,
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "arrests/form.html")]
struct FormPage {
    page: PageCtx,
    arrest_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
    officers: Vec<Officer>,
    /// The day the record's name and date of birth were purged, if they were.
    purged_on: Option<String>,
}

impl FormPage {
    fn choices(&self, list: &str) -> Choices {
        match list {
            "offense_class" => super::CLASSES,
            "priority_level" => super::PRIORITIES,
            "arrest_type" => super::TYPES,
            "perceived_race" => crate::stops::RACES,
            _ => crate::stops::GENDERS,
        }
    }
}

async fn form_page(
    scope: &Scope,
    page: PageCtx,
    arrest_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let officers = officers::store::choices(scope, None).await?;
    let purged_on = match arrest_id {
        Some(id) => store::get(scope, scope, id).await?.purged_on,
        None => None,
    };
    Ok(form_response(
        &errors,
        FormPage { page, arrest_id, form, errors: errors.clone(), officers, purged_on },
    ))
}

async fn route_get_new(scope: Scope, page: PageCtx) -> AppResult<Response> {
    form_page(&scope, page, None, RecordForm::default(), FieldErrors::default()).await
}

async fn route_get_edit(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let arrest = store::get(&scope, &scope, id).await?;
    form_page(&scope, page, Some(id), super::form_of(&arrest), FieldErrors::default()).await
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
    store::get(&scope, &scope, id).await?;
    save(&scope, &session, &actor, page, Some(id), RecordForm::from_pairs(pairs, &LIST_FIELDS)).await
}

async fn save(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: Option<i64>,
    mut form: RecordForm,
) -> AppResult<Response> {
    // The officer and the stop are looked for in the agency only: another
    // agency's id is refused as an unknown one is.
    let officers = officers::store::list(scope, &Default::default()).await?;
    let today = agency::store::get(scope).await?.today();
    let stop_ids: Vec<i64> = match form.value("stop_id").trim().parse::<i64>() {
        Ok(stop) => {
            crate::stops::store::get(scope, scope, stop).await.map(|s| vec![s.id]).unwrap_or_default()
        }
        Err(_) => Vec::new(),
    };
    // A purged record's form asks no name (none can be entered again:
    // `store::update` keeps it purged); the rule that one is required
    // is for records that have one.
    if let Some(id) = id {
        if store::get(scope, scope, id).await?.purged_on.is_some() {
            form.set("person_name", "purged");
            form.set("person_dob", "");
        }
    }
    let arrest = match super::validate(
        &form,
        |id| officers.iter().any(|o| o.id == id),
        |id| stop_ids.contains(&id),
        today,
    ) {
        Ok(arrest) => arrest,
        Err(errors) => return form_page(scope, page, id, form, errors).await,
    };
    let arrest = match id {
        Some(id) => store::update(scope, actor, &Arrest { id, ..arrest }).await?,
        None => store::create(scope, actor, &arrest).await?,
    };
    let id = arrest.id;
    let message = match (arrest.action_287g(), arrest.exception.is_empty()) {
        (false, _) => "Arrest saved.".to_string(),
        (true, true) => "Arrest saved. Its 287(g) action now awaits a supervisor's sign-off.".to_string(),
        (true, false) => format!(
            "Arrest saved, and marked as a compliance exception: the officer was {}.",
            arrest.exception
        ),
    };
    flash(session, message).await?;
    Ok(see_other(&format!("/arrests/{id}")))
}
