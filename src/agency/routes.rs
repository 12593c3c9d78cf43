//! The agency profile page (administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router, middleware};
use tower_sessions::Session;

use super::{MODELS, ProfileForm, STATES, store};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::mfa::POLICIES;
use crate::auth::{access, guard, see_other};
use crate::error::AppResult;
use crate::web::{FieldErrors, PageCtx, flash};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/agency", get(route_get_agency).post(route_post_agency))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::ADMINISTRATORS), guard))
}

#[derive(Template, WebTemplate)]
#[template(path = "agency/edit.html")]
struct EditPage {
    page: PageCtx,
    form: ProfileForm,
    errors: FieldErrors,
    models: &'static [(&'static str, &'static str)],
    states: &'static [&'static str],
    policies: &'static [(&'static str, &'static str)],
}

async fn route_get_agency(State(state): State<AppState>, page: PageCtx) -> AppResult<EditPage> {
    let profile = store::get(&state.db).await?;
    Ok(EditPage {
        page,
        form: ProfileForm::from_profile(&profile),
        errors: FieldErrors::default(),
        models: &MODELS,
        states: &STATES,
        policies: &POLICIES,
    })
}

async fn route_post_agency(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = profile_form(form);
    match form.validate() {
        Ok(profile) => {
            store::update(&state.db, &actor, &profile).await?;
            flash(&session, "Agency profile saved.").await?;
            Ok(see_other("/agency"))
        }
        Err(errors) => {
            let view = EditPage { page, form, errors, models: &MODELS, states: &STATES, policies: &POLICIES };
            let mut response = view.into_response();
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// Checkbox groups repeat a name, which serde_urlencoded cannot put in a
/// Vec: read the pairs in order instead.
fn profile_form(pairs: Vec<(String, String)>) -> ProfileForm {
    let mut form = ProfileForm::default();
    for (key, value) in pairs {
        match key.as_str() {
            "name" => form.name = value,
            "ori" => form.ori = value,
            "state" => form.state = value,
            "models" => form.models.push(value),
            "agreement_signed" => form.agreement_signed = value,
            "agreement_renewed" => form.agreement_renewed = value,
            "login_banner" => form.login_banner = value,
            "time_zone" => form.time_zone = value,
            "mfa_policy" => form.mfa_policy = value,
            _ => {}
        }
    }
    form
}
