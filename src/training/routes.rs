//! The course catalog (administrators) and an officer's training records
//! (records clerks).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use tower_sessions::Session;

use super::store::{self, CourseError};
use super::{Course, CourseForm, KINDS, TrainingForm};
use crate::agency::{self, MODELS, Scope};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::officers::{self, Officer};
use crate::web::{FieldErrors, PageCtx, flash, form_response};

pub fn router(state: &AppState) -> Router<AppState> {
    let catalog = Router::new()
        .route("/courses", get(route_get_courses))
        .route("/courses/new", get(route_get_new_course).post(route_post_new_course))
        .route("/courses/{id}", get(route_get_course).post(route_post_course))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::ADMINISTRATORS), guard));
    let records = Router::new()
        .route("/officers/{id}/training/new", get(route_get_new_record).post(route_post_new_record))
        .route("/officers/{id}/training/{tid}/edit", get(route_get_edit_record).post(route_post_edit_record))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    catalog.merge(records)
}

#[derive(Template, WebTemplate)]
#[template(path = "training/courses.html")]
struct CoursesPage {
    page: PageCtx,
    courses: Vec<Course>,
}

async fn route_get_courses(scope: Scope, page: PageCtx) -> AppResult<CoursesPage> {
    Ok(CoursesPage { page, courses: store::courses(&scope, &scope).await? })
}

#[derive(Template, WebTemplate)]
#[template(path = "training/course.html")]
struct CoursePage {
    page: PageCtx,
    course_id: Option<i64>,
    form: CourseForm,
    errors: FieldErrors,
    kinds: &'static [(&'static str, &'static str)],
    models: &'static [(&'static str, &'static str)],
}

fn course_page(page: PageCtx, course_id: Option<i64>, form: CourseForm, errors: FieldErrors) -> Response {
    let view = CoursePage { page, course_id, form, errors: errors.clone(), kinds: &KINDS, models: &MODELS };
    form_response(&errors, view)
}

async fn route_get_new_course(page: PageCtx) -> Response {
    let form = CourseForm {
        pass_mark: "70".into(),
        remediation_attempts: "1".into(),
        active: "1".into(),
        ..Default::default()
    };
    course_page(page, None, form, FieldErrors::default())
}

async fn route_get_course(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let course = store::course(&scope, id).await?;
    Ok(course_page(page, Some(id), CourseForm::from_course(&course), FieldErrors::default()))
}

/// Checkbox groups repeat a name: read the pairs in order.
fn course_form(pairs: Vec<(String, String)>) -> CourseForm {
    let mut form = CourseForm::default();
    for (key, value) in pairs {
        match key.as_str() {
            "name" => form.name = value,
            "kind" => form.kind = value,
            "models" => form.models.push(value),
            "required_hours" => form.required_hours = value,
            "max_hours" => form.max_hours = value,
            "validity_months" => form.validity_months = value,
            "effective_on" => form.effective_on = value,
            "pass_mark" => form.pass_mark = value,
            "remediation_attempts" => form.remediation_attempts = value,
            "active" => form.active = value,
            _ => {}
        }
    }
    form
}

async fn save_course(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: Option<i64>,
    form: CourseForm,
) -> AppResult<Response> {
    let course = match form.validate(id.unwrap_or(0)) {
        Ok(course) => course,
        Err(errors) => return Ok(course_page(page, id, form, errors)),
    };
    match store::save_course(scope, actor, &course).await {
        Ok(_) => {
            flash(session, format!("Course \"{}\" saved.", course.name)).await?;
            Ok(see_other("/courses"))
        }
        Err(CourseError::NameTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("name", "Another course has this name.");
            Ok(course_page(page, id, form, errors))
        }
        Err(CourseError::Db(e)) => Err(e.into()),
    }
}

async fn route_post_new_course(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save_course(&scope, &session, &actor, page, None, course_form(pairs)).await
}

async fn route_post_course(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    store::course(&scope, id).await?;
    save_course(&scope, &session, &actor, page, Some(id), course_form(pairs)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "training/record.html")]
struct RecordPage {
    page: PageCtx,
    officer: Officer,
    record_id: Option<i64>,
    form: TrainingForm,
    errors: FieldErrors,
    courses: Vec<Course>,
}

async fn record_page(
    scope: &Scope,
    page: PageCtx,
    officer: Officer,
    record_id: Option<i64>,
    form: TrainingForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let courses: Vec<Course> = store::courses(scope, scope)
        .await?
        .into_iter()
        .filter(|c| c.active != 0 || form.course_id == c.id.to_string())
        .collect();
    let view = RecordPage { page, officer, record_id, form, errors: errors.clone(), courses };
    Ok(form_response(&errors, view))
}

async fn route_get_new_record(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    record_page(&scope, page, officer, None, TrainingForm::default(), FieldErrors::default()).await
}

async fn route_get_edit_record(
    scope: Scope,
    page: PageCtx,
    Path((id, tid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    let record = store::record(&scope, id, tid).await?;
    record_page(&scope, page, officer, Some(tid), TrainingForm::from_record(&record), FieldErrors::default())
        .await
}

async fn route_post_new_record(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<TrainingForm>,
) -> AppResult<Response> {
    save_record(&scope, &session, &actor, page, id, None, form).await
}

async fn route_post_edit_record(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path((id, tid)): Path<(i64, i64)>,
    Form(form): Form<TrainingForm>,
) -> AppResult<Response> {
    // The record must belong to the officer in the address.
    store::record(&scope, id, tid).await?;
    save_record(&scope, &session, &actor, page, id, Some(tid), form).await
}

async fn save_record(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    officer_id: i64,
    record_id: Option<i64>,
    form: TrainingForm,
) -> AppResult<Response> {
    let officer = officers::store::get(scope, officer_id).await?;
    let courses = store::courses(scope, scope).await?;
    let today = agency::store::get(scope).await?.today();
    let record = match form.validate(&courses, today) {
        Ok(record) => record,
        Err(errors) => return record_page(scope, page, officer, record_id, form, errors).await,
    };
    match record_id {
        Some(tid) => store::update_record(scope, actor, officer_id, tid, &record).await?,
        None => {
            store::add_record(scope, actor, officer_id, &record).await?;
        }
    }
    let course = courses.iter().find(|c| c.id == record.course_id);
    let outcome = course.map(|c| record.outcome(c).label()).unwrap_or_default();
    flash(session, format!("Training record saved: {outcome}.")).await?;
    Ok(see_other(&format!("/officers/{officer_id}")))
}
