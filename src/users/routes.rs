//! User administration (administrators only): create accounts, assign
//! roles, disable, unlock, reset passwords, end sessions.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::store::{self, UserError};
use super::{Account, NewUserForm, parse_roles};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Role, access, guard, see_other};
use crate::error::{AppError, AppResult};
use crate::web::{FieldErrors, PageCtx, flash, unprocessable};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/users", get(route_get_users))
        .route("/users/new", get(route_get_new).post(route_post_new))
        .route("/users/{id}", get(route_get_user).post(route_post_user))
        .route("/users/{id}/disable", post(route_post_disable))
        .route("/users/{id}/enable", post(route_post_enable))
        .route("/users/{id}/unlock", post(route_post_unlock))
        .route("/users/{id}/end-sessions", post(route_post_end_sessions))
        .route("/users/{id}/reset-password", post(route_post_reset_password))
        .route("/users/{id}/reset-mfa", post(route_post_reset_mfa))
        .route("/users/{id}/supervision", post(route_post_supervision))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::ADMINISTRATORS), guard))
}

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
struct ListPage {
    page: PageCtx,
    accounts: Vec<Account>,
}

async fn route_get_users(scope: Scope, page: PageCtx) -> AppResult<ListPage> {
    Ok(ListPage { page, accounts: store::list(&scope).await? })
}

#[derive(Template, WebTemplate)]
#[template(path = "users/new.html")]
struct NewPage {
    page: PageCtx,
    form: NewUserForm,
    errors: FieldErrors,
    roles: [Role; 5],
}

async fn route_get_new(page: PageCtx) -> NewPage {
    NewPage { page, form: NewUserForm::default(), errors: FieldErrors::default(), roles: Role::ALL }
}

/// Reads repeated checkbox names (`roles`) that serde_urlencoded cannot
/// gather into a Vec.
fn pairs_to_new_user(pairs: Vec<(String, String)>) -> NewUserForm {
    let mut form = NewUserForm::default();
    for (key, value) in pairs {
        match key.as_str() {
            "username" => form.username = value,
            "display_name" => form.display_name = value,
            "password" => form.password = value,
            "roles" => form.roles.push(value),
            _ => {}
        }
    }
    form
}

async fn route_post_new(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut form = pairs_to_new_user(pairs);
    let new_user = match form.validate(&Role::ALL) {
        Ok(user) => user,
        Err(errors) => {
            form.password.clear();
            return Ok(unprocessable(NewPage { page, form, errors, roles: Role::ALL }));
        }
    };
    let hash = state.hasher.hash(&new_user.password).await?;
    match store::create(&scope, &actor, &new_user, &hash).await {
        Ok(id) => {
            flash(&session, format!("Account {} created. Give the person the temporary password; they must change it at first sign-in.", new_user.username)).await?;
            Ok(see_other(&format!("/users/{id}")))
        }
        Err(UserError::UsernameTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("username", "This username is already in use.");
            form.password.clear();
            Ok(unprocessable(NewPage { page, form, errors, roles: Role::ALL }))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "users/show.html")]
struct ShowPage {
    page: PageCtx,
    account: Account,
    display_name: String,
    chosen: Vec<Role>,
    errors: FieldErrors,
    reset_errors: FieldErrors,
    roles: [Role; 5],
    officers: Vec<crate::officers::Officer>,
    kinds: [(&'static str, &'static str); 2],
}

impl ShowPage {
    fn new(page: PageCtx, account: Account) -> Self {
        Self {
            officers: Vec::new(),
            kinds: crate::supervision::REVIEWER_KINDS,
            display_name: account.display_name.clone(),
            chosen: account.roles.clone(),
            page,
            account,
            errors: FieldErrors::default(),
            reset_errors: FieldErrors::default(),
            roles: Role::ALL,
        }
    }
}

impl ShowPage {
    async fn with_officers(mut self, scope: &Scope) -> AppResult<Self> {
        self.officers = crate::officers::store::list(scope, &Default::default()).await?;
        Ok(self)
    }
    fn is_officer(&self, id: &i64) -> bool {
        self.account.officer_id == Some(*id)
    }
}

#[derive(Deserialize)]
struct SupervisionForm {
    #[serde(default)]
    officer_id: String,
    #[serde(default)]
    supervisor_kind: String,
}

/// Who the account is as an officer (nobody reviews their own 287(g)
/// actions) and whether it signs as an ICE or an agency supervisor.
async fn route_post_supervision(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
    Form(form): Form<SupervisionForm>,
) -> AppResult<Response> {
    store::get(&scope, id).await?;
    let officer_id = match form.officer_id.as_str() {
        "" => None,
        v => Some(crate::officers::store::get(&scope, v.parse().map_err(|_| AppError::NotFound)?).await?.id),
    };
    if !crate::supervision::REVIEWER_KINDS.iter().any(|(k, _)| *k == form.supervisor_kind) {
        return Err(AppError::BadRequest("unknown supervisor type".into()));
    }
    crate::supervision::store::set_reviewer(&scope, &actor, id, officer_id, &form.supervisor_kind).await?;
    flash(&session, "Supervision details saved.").await?;
    Ok(see_other(&format!("/users/{id}")))
}

async fn route_get_user(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ShowPage> {
    ShowPage::new(page, store::get(&scope, id).await?).with_officers(&scope).await
}

async fn route_post_user(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let account = store::get(&scope, id).await?;
    let display_name = pairs
        .iter()
        .find(|(k, _)| k == "display_name")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let role_values: Vec<String> =
        pairs.iter().filter(|(k, _)| k == "roles").map(|(_, v)| v.clone()).collect();
    let mut errors = FieldErrors::default();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.add("display_name", "Enter the person's name (up to 100 characters).");
    }
    let roles = parse_roles(&mut errors, &role_values, &Role::ALL);
    if errors.is_empty() {
        match store::update(&scope, &actor, id, &display_name, &roles).await {
            Ok(()) => {
                flash(&session, "Account saved.").await?;
                return Ok(see_other(&format!("/users/{id}")));
            }
            Err(UserError::Refused(why)) => errors.add("roles", why),
            Err(other) => return Err(other.into()),
        }
    }
    let mut view = ShowPage::new(page, account).with_officers(&scope).await?;
    view.display_name = display_name;
    view.chosen = roles;
    view.errors = errors;
    Ok(unprocessable(view))
}

/// Runs one account action and returns to the account page with a message.
async fn account_action(
    session: &Session,
    id: i64,
    result: Result<(), UserError>,
    done: &str,
) -> AppResult<Response> {
    match result {
        Ok(()) => flash(session, done).await?,
        Err(UserError::Refused(why)) => flash(session, why).await?,
        Err(other) => return Err(AppError::from(other)),
    }
    Ok(see_other(&format!("/users/{id}")))
}

async fn route_post_disable(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let result = store::disable(&scope, &actor, id).await;
    account_action(&session, id, result, "Account disabled and its sessions ended.").await
}

async fn route_post_enable(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let result = store::enable(&scope, &actor, id).await;
    account_action(&session, id, result, "Account enabled.").await
}

async fn route_post_unlock(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let result = store::unlock(&scope, &actor, id).await;
    account_action(&session, id, result, "Account unlocked.").await
}

async fn route_post_end_sessions(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let result = store::end_sessions(&scope, &actor, id).await;
    account_action(&session, id, result, "All sessions of this account were ended.").await
}

async fn route_post_reset_mfa(
    scope: Scope,
    session: Session,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let result = store::reset_mfa(&scope, &actor, id).await;
    account_action(
        &session,
        id,
        result,
        "Two-step sign-in was reset and the user's sessions ended; they set it up again at next sign-in.",
    )
    .await
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn route_post_reset_password(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<ResetForm>,
) -> AppResult<Response> {
    let account = store::get(&scope, id).await?;
    if let Err(why) = crate::auth::password::check_new(&form.password, &account.username) {
        let mut view = ShowPage::new(page, account).with_officers(&scope).await?;
        view.reset_errors.add("password", why);
        return Ok(unprocessable(view));
    }
    let hash = state.hasher.hash(&form.password).await?;
    let result = store::reset_password(&scope, &actor, id, &hash).await;
    account_action(
        &session,
        id,
        result,
        "Temporary password set. The user must change it at next sign-in; their sessions were ended.",
    )
    .await
}
