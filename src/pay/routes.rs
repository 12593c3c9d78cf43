//! Pay period and leads forms, reached from the officer page (records
//! clerks).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router, middleware};
use tower_sessions::Session;

use super::store::{self, PayError};
use crate::agency::{self, Scope};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::officers::{self, Officer};
use crate::web::record_form::RecordForm;
use crate::web::{FieldErrors, PageCtx, flash, form_response};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/officers/{id}/pay/new", get(route_get_new_pay).post(route_post_pay))
        .route("/officers/{id}/pay/{pid}/edit", get(route_get_edit_pay).post(route_post_pay_edit))
        .route("/officers/{id}/leads/new", get(route_get_new_leads).post(route_post_leads))
        .route("/officers/{id}/leads/{lid}/edit", get(route_get_edit_leads).post(route_post_leads_edit))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard))
}

#[derive(Template, WebTemplate)]
#[template(path = "pay/pay.html")]
struct PayPage {
    page: PageCtx,
    officer: Officer,
    pay_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "pay/leads.html")]
struct LeadsPage {
    page: PageCtx,
    officer: Officer,
    leads_id: Option<i64>,
    form: RecordForm,
    errors: FieldErrors,
}

async fn route_get_new_pay(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    let mut form = RecordForm::default();
    form.set("overtime_hours", "0");
    form.set("overtime_pay", "0");
    Ok(form_response(
        &FieldErrors::default(),
        PayPage { page, officer, pay_id: None, form, errors: FieldErrors::default() },
    ))
}

async fn route_get_edit_pay(
    scope: Scope,
    page: PageCtx,
    Path((id, pid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    let form = super::pay_form_of(&store::pay_period(&scope, id, pid).await?);
    Ok(form_response(
        &FieldErrors::default(),
        PayPage { page, officer, pay_id: Some(pid), form, errors: FieldErrors::default() },
    ))
}

async fn save_pay(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: i64,
    pid: Option<i64>,
    form: RecordForm,
) -> AppResult<Response> {
    let officer = officers::store::get(scope, id).await?;
    let today = agency::store::get(scope).await?.today();
    let mut errors = match super::validate_pay(&form, today) {
        Ok(mut period) => {
            period.id = pid.unwrap_or(0);
            match store::save_pay(scope, actor, id, &period).await {
                Ok(_) => {
                    flash(session, "Pay period saved.").await?;
                    return Ok(see_other(&format!("/officers/{id}")));
                }
                Err(PayError::Duplicate) => FieldErrors::default(),
                Err(PayError::Db(e)) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    if errors.is_empty() {
        errors.add(
            "period_start",
            "A pay period starting this day is already recorded for this officer: edit it instead.",
        );
    }
    Ok(form_response(&errors, PayPage { page, officer, pay_id: pid, form, errors: errors.clone() }))
}

async fn route_post_pay(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save_pay(&scope, &session, &actor, page, id, None, RecordForm::from_pairs(pairs, &[])).await
}

async fn route_post_pay_edit(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path((id, pid)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    store::pay_period(&scope, id, pid).await?;
    save_pay(&scope, &session, &actor, page, id, Some(pid), RecordForm::from_pairs(pairs, &[])).await
}

async fn route_get_new_leads(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    Ok(form_response(
        &FieldErrors::default(),
        LeadsPage {
            page,
            officer,
            leads_id: None,
            form: RecordForm::default(),
            errors: FieldErrors::default(),
        },
    ))
}

async fn route_get_edit_leads(
    scope: Scope,
    page: PageCtx,
    Path((id, lid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let officer = officers::store::get(&scope, id).await?;
    let leads = store::leads(&scope, id, lid).await?;
    let mut form = RecordForm::default();
    form.set("quarter", &leads.quarter);
    form.set("received", leads.received);
    form.set("located", leads.located);
    Ok(form_response(
        &FieldErrors::default(),
        LeadsPage { page, officer, leads_id: Some(lid), form, errors: FieldErrors::default() },
    ))
}

async fn save_leads(
    scope: &Scope,
    session: &Session,
    actor: &Actor,
    page: PageCtx,
    id: i64,
    lid: Option<i64>,
    form: RecordForm,
) -> AppResult<Response> {
    let officer = officers::store::get(scope, id).await?;
    let today = agency::store::get(scope).await?.today();
    let mut errors = match super::validate_leads(&form, today) {
        Ok(mut leads) => {
            leads.id = lid.unwrap_or(0);
            match store::save_leads(scope, actor, id, &leads).await {
                Ok(_) => {
                    flash(session, "Leads saved.").await?;
                    return Ok(see_other(&format!("/officers/{id}")));
                }
                Err(PayError::Duplicate) => FieldErrors::default(),
                Err(PayError::Db(e)) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    if errors.is_empty() {
        errors.add("quarter", "This quarter is already recorded for this officer: edit it instead.");
    }
    Ok(form_response(&errors, LeadsPage { page, officer, leads_id: lid, form, errors: errors.clone() }))
}

async fn route_post_leads(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save_leads(&scope, &session, &actor, page, id, None, RecordForm::from_pairs(pairs, &[])).await
}

async fn route_post_leads_edit(
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path((id, lid)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    store::leads(&scope, id, lid).await?;
    save_leads(&scope, &session, &actor, page, id, Some(lid), RecordForm::from_pairs(pairs, &[])).await
}
