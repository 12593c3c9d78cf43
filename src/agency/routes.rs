//! The agency profile page (administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router, middleware};
use tower_sessions::Session;

use serde::Deserialize;

use super::{MODELS, PAPER_SIZES, ProfileForm, STATES, agreements, store};
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
    /// The ORI the look-up was asked for, shown again when it found nothing.
    lookup: String,
    errors: FieldErrors,
    models: &'static [(&'static str, &'static str)],
    states: &'static [&'static str],
    policies: &'static [(&'static str, &'static str)],
    paper_sizes: &'static [(&'static str, &'static str)],
    /// The key that verifies the agency's audit checkpoints (docs/audit.md).
    verifier_key: String,
}

#[derive(Deserialize)]
struct LookupQuery {
    ori: Option<String>,
}

/// The profile form; with `?ori=` it is pre-filled from the public list of
/// 287(g) agreements (saved only when the administrator saves the form).
async fn route_get_agency(
    State(state): State<AppState>,
    scope: super::Scope,
    page: PageCtx,
    Query(query): Query<LookupQuery>,
) -> AppResult<Response> {
    let profile = store::get(&scope).await?;
    let mut form = ProfileForm::from_profile(&profile);
    let mut errors = FieldErrors::default();
    let mut lookup = String::new();
    if let Some(ori) = query.ori.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        match agreements::lookup(ori) {
            Some(found) => {
                form.name = found.name;
                form.ori = ori.to_uppercase();
                form.state = found.state.to_string();
                form.models = found.models.iter().map(|m| m.to_string()).collect();
            }
            None => {
                lookup = ori.to_string();
                errors.add(
                    "lookup",
                    "This ORI is not in the 287(g) agreements list of 3 July 2025; check it, or fill in the profile by hand.",
                );
            }
        }
    }
    let status =
        if errors.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::NOT_FOUND };
    let view = EditPage {
        page,
        form,
        lookup,
        errors,
        models: &MODELS,
        states: &STATES,
        policies: &POLICIES,
        paper_sizes: &PAPER_SIZES,
        verifier_key: verifier_key(&state, &scope).await?,
    };
    Ok((status, view).into_response())
}

async fn route_post_agency(
    State(state): State<AppState>,
    scope: super::Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = profile_form(form);
    match form.validate() {
        Ok(profile) => {
            store::update(&scope, &actor, &profile).await?;
            flash(&session, "Agency profile saved.").await?;
            Ok(see_other("/agency"))
        }
        Err(errors) => {
            let view = EditPage {
                page,
                form,
                lookup: String::new(),
                errors,
                models: &MODELS,
                states: &STATES,
                policies: &POLICIES,
                paper_sizes: &PAPER_SIZES,
                verifier_key: verifier_key(&state, &scope).await?,
            };
            Ok(crate::web::unprocessable(view))
        }
    }
}

async fn verifier_key(state: &AppState, scope: &super::Scope) -> AppResult<String> {
    Ok(state.signing_key.verifier(&crate::audit::store::origin(scope).await?).encode())
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
            "paper_size" => form.paper_size = value,
            "retention_days" => form.retention_days = value,
            _ => {}
        }
    }
    form
}
