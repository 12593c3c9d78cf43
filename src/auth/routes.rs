//! Sign-in, sign-out and the user's own password change.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, middleware};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{CurrentUser, SIGN_IN_KEY, SignIn, access, mfa, see_other};
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::db::now_unix;
use crate::error::AppResult;
use crate::users::{Account, store};
use crate::web::{CSRF_KEY, FieldErrors, PageCtx, random_token, safe_local_path};
use crate::{agency, web};

pub fn router(state: &AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/account/password", get(route_get_password).post(route_post_password))
        .route("/account/mfa", get(route_get_mfa).post(route_post_mfa))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::SIGNED_IN), super::guard));
    Router::new()
        .route("/login", get(route_get_login).post(route_post_login))
        .route("/login/code", get(route_get_code).post(route_post_code))
        .route("/logout", post(route_post_logout))
        .merge(signed_in)
}

/// One message for every failed sign-in, so nobody learns whether a
/// username exists or an account is locked.
pub const SIGN_IN_FAILED: &str = "Sign-in failed. Check the username and password. After 5 failed attempts in 15 minutes an account is locked until an administrator unlocks it.";

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: PageCtx,
    banner: String,
    agency_name: String,
    username: String,
    next: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    no_administrator: bool,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    ended: Option<String>,
}

async fn login_page(state: &AppState, page: PageCtx, username: String, next: String) -> AppResult<LoginPage> {
    let (agency_name, banner) = agency::store::sign_in_face(&state.db).await?;
    Ok(LoginPage {
        page,
        banner,
        agency_name,
        username,
        next,
        error: None,
        notice: None,
        no_administrator: !store::has_administrator(&state.db).await?,
    })
}

async fn route_get_login(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<LoginQuery>,
) -> AppResult<Response> {
    if page.user.is_some() {
        return Ok(see_other("/"));
    }
    let next = query.next.as_deref().and_then(safe_local_path).unwrap_or("/").to_string();
    let mut view = login_page(&state, page, String::new(), next).await?;
    view.notice = query.ended.as_deref().and_then(super::ended_message);
    Ok(view.into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn route_post_login(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let source = audit::source_address(&parts);
    let username = form.username.trim().to_lowercase();
    let account = store::find_by_username(&state.db, &username).await?;
    let password_ok =
        state.hasher.verify(&form.password, account.as_ref().map(|a| a.password_hash.as_str())).await?;
    let next = safe_local_path(&form.next).unwrap_or("/").to_string();
    let refusal = match &account {
        None => Some("unknown username"),
        Some(a) if a.disabled != 0 => Some("account disabled"),
        Some(a) if a.locked != 0 => Some("account locked"),
        Some(_) if !password_ok => Some("wrong password"),
        Some(_) => None,
    };
    let (Some(account), None) = (account.clone(), refusal) else {
        let actor = Actor::anonymous(&username, &source);
        let reason = refusal.unwrap_or("refused");
        store::sign_in_failed(&state.db, &actor, account.as_ref(), reason).await?;
        let page = PageCtx { csrf: web::csrf_token(&session).await?, ..PageCtx::default() };
        let mut view = login_page(&state, page, form.username.clone(), next).await?;
        view.error = Some(SIGN_IN_FAILED);
        let mut response = view.into_response();
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    if account.mfa_enabled() {
        // The password was right; the sign-in completes only with the code.
        session.cycle_id().await?;
        let pending = PendingCode { user_id: account.id, started_at: now_unix(), next };
        session.insert(PENDING_KEY, &pending).await?;
        return Ok(see_other("/login/code"));
    }
    complete_sign_in(&state, &session, &account, &source, &next, None).await
}

/// Starts the session of a user who passed every step of sign-in.
async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    account: &Account,
    source: &str,
    next: &str,
    totp_step: Option<i64>,
) -> AppResult<Response> {
    let actor = Actor::user(&account.clone().into_current(), source);
    if !store::sign_in_succeeded(&state.db, &actor, account.id, totp_step).await? {
        // Locked or disabled since the password was checked (a parallel
        // failure locked it), or the code was used meanwhile.
        session.remove::<PendingCode>(PENDING_KEY).await?;
        let anonymous = Actor::anonymous(&account.username, source);
        store::sign_in_failed(&state.db, &anonymous, Some(account), "refused when completing").await?;
        let page = PageCtx { csrf: web::csrf_token(session).await?, ..PageCtx::default() };
        let mut view = login_page(state, page, account.username.clone(), next.to_string()).await?;
        view.error = Some(SIGN_IN_FAILED);
        let mut response = view.into_response();
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    }
    // A new session id at sign-in, so an id planted before cannot be used.
    session.cycle_id().await?;
    session.remove::<PendingCode>(PENDING_KEY).await?;
    let now = now_unix();
    let sign_in =
        SignIn { user_id: account.id, epoch: account.session_epoch, signed_in_at: now, last_seen_at: now };
    session.insert(SIGN_IN_KEY, &sign_in).await?;
    session.insert(CSRF_KEY, random_token(32)).await?;
    let target = if account.must_change_password != 0 { "/account/password" } else { next };
    Ok(see_other(target))
}

/// A sign-in waiting for its one-time code.
#[derive(Serialize, Deserialize)]
struct PendingCode {
    user_id: i64,
    started_at: i64,
    next: String,
}

const PENDING_KEY: &str = "pending_code";
/// How long the code step may take after the password step.
const PENDING_SECS: i64 = 5 * 60;

async fn pending(session: &Session) -> AppResult<Option<PendingCode>> {
    let pending = session.get::<PendingCode>(PENDING_KEY).await?;
    Ok(pending.filter(|p| now_unix() - p.started_at <= PENDING_SECS))
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/code.html")]
struct CodePage {
    page: PageCtx,
    error: Option<&'static str>,
}

async fn route_get_code(session: Session, page: PageCtx) -> AppResult<Response> {
    if pending(&session).await?.is_none() {
        return Ok(see_other("/login"));
    }
    Ok(CodePage { page, error: None }.into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn route_post_code(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    page: PageCtx,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(pending) = pending(&session).await? else { return Ok(see_other("/login")) };
    let source = audit::source_address(&parts);
    let account = store::find_active(&state.db, pending.user_id).await?.filter(|a| a.locked == 0);
    let step = account.as_ref().and_then(|a| {
        let secret = a.totp_secret.as_deref()?;
        mfa::accept(secret, &form.code, a.totp_last_step, now_unix())
    });
    if let (Some(account), Some(step)) = (&account, step) {
        return complete_sign_in(&state, &session, account, &source, &pending.next, Some(step)).await;
    }
    let username = account.as_ref().map(|a| a.username.clone()).unwrap_or_default();
    store::sign_in_failed(
        &state.db,
        &Actor::anonymous(&username, &source),
        account.as_ref(),
        "wrong one-time code",
    )
    .await?;
    let locked = store::find_active(&state.db, pending.user_id).await?.is_none_or(|a| a.locked != 0);
    if locked {
        session.remove::<PendingCode>(PENDING_KEY).await?;
        return Ok(see_other("/login"));
    }
    let mut response = CodePage { page, error: Some(CODE_FAILED) }.into_response();
    *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    Ok(response)
}

const CODE_FAILED: &str =
    "That code is not valid. Enter the 6-digit code your authenticator app shows now. Each code works once.";

async fn route_post_logout(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
) -> AppResult<Response> {
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        let actor = Actor::user(user, &audit::source_address(&parts));
        audit::record_alone(&state.db, &actor, Event::new("logout", "user", user.id)).await?;
    }
    // Deletes the session from the store, not just the cookie.
    session.flush().await?;
    Ok(see_other("/login"))
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    page: PageCtx,
    forced: bool,
    errors: FieldErrors,
}

async fn route_get_password(State(state): State<AppState>, page: PageCtx) -> AppResult<PasswordPage> {
    let forced = must_change(&state, &page).await?;
    Ok(PasswordPage { page, forced, errors: FieldErrors::default() })
}

async fn must_change(state: &AppState, page: &PageCtx) -> AppResult<bool> {
    let Some(user) = &page.user else {
        return Ok(false);
    };
    Ok(store::own(&state.db, user.id).await?.must_change_password != 0)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn route_post_password(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    page: PageCtx,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let Some(user) = page.user.clone() else {
        return Ok(see_other("/login"));
    };
    let account = store::own(&state.db, user.id).await?;
    let mut errors = FieldErrors::default();
    if !state.hasher.verify(&form.current, Some(&account.password_hash)).await? {
        errors.add("current", "The current password is not correct.");
    }
    if let Err(why) = super::password::check_new(&form.new, &user.username) {
        errors.add("new", why);
    } else if form.new == form.current {
        errors.add("new", "Choose a password different from the current one.");
    }
    if form.confirm != form.new {
        errors.add("confirm", "The two new passwords do not match.");
    }
    if !errors.is_empty() {
        let forced = account.must_change_password != 0;
        return Ok(web::unprocessable(PasswordPage { page, forced, errors }));
    }
    let hash = state.hasher.hash(&form.new).await?;
    let actor = Actor::user(&user, &audit::source_address(&parts));
    let epoch = store::change_own_password(&state.db, &actor, user.id, &hash).await?;
    if let Some(sign_in) = session.get::<SignIn>(SIGN_IN_KEY).await? {
        session.insert(SIGN_IN_KEY, SignIn { epoch, ..sign_in }).await?;
    }
    web::flash(&session, "Your password was changed. Your other sessions were signed out.").await?;
    Ok(see_other("/"))
}

/// The enrolment secret lives in the session until the user proves, with
/// a first code, that their app holds it.
const ENROL_KEY: &str = "mfa_enrol_secret";

#[derive(Template, WebTemplate)]
#[template(path = "auth/mfa.html")]
struct MfaPage {
    page: PageCtx,
    enabled: bool,
    required: bool,
    secret: String,
    qr_svg: String,
    errors: FieldErrors,
}

async fn mfa_page(
    state: &AppState,
    session: &Session,
    page: PageCtx,
    errors: FieldErrors,
) -> AppResult<MfaPage> {
    let Some(user) = page.user.clone() else { return Err(crate::error::AppError::Forbidden) };
    let account = store::own(&state.db, user.id).await?;
    let policy = match user.agency {
        Some(agency) => agency::store::mfa_policy(&state.db, agency).await?,
        None => agency::store::state_mfa_policy(&state.db).await?,
    };
    let required = mfa::required(&policy, &account.roles);
    if account.mfa_enabled() {
        return Ok(MfaPage {
            page,
            enabled: true,
            required,
            secret: String::new(),
            qr_svg: String::new(),
            errors,
        });
    }
    let secret = match session.get::<String>(ENROL_KEY).await? {
        Some(secret) => secret,
        None => {
            let secret = mfa::new_secret();
            session.insert(ENROL_KEY, &secret).await?;
            secret
        }
    };
    let qr_svg = mfa::qr_svg(&mfa::enrolment_url(&secret, &account.username));
    Ok(MfaPage { page, enabled: false, required, secret: mfa::grouped(&secret), qr_svg, errors })
}

async fn route_get_mfa(State(state): State<AppState>, session: Session, page: PageCtx) -> AppResult<MfaPage> {
    mfa_page(&state, &session, page, FieldErrors::default()).await
}

async fn route_post_mfa(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(user) = page.user.clone() else { return Ok(see_other("/login")) };
    let secret = session.get::<String>(ENROL_KEY).await?;
    let step = secret.as_deref().and_then(|s| mfa::accept(s, &form.code, 0, now_unix()));
    match (secret, step) {
        (Some(secret), Some(step)) => {
            store::enable_mfa(&state.db, &actor, user.id, &secret, step).await?;
            session.remove::<String>(ENROL_KEY).await?;
            web::flash(&session, "Two-step sign-in is on. From now on you sign in with your password and a code from your app.").await?;
            Ok(see_other("/"))
        }
        _ => {
            let mut errors = FieldErrors::default();
            errors.add("code", "That code does not match. Check that the app shows \"Oversight Ledger\" and enter its current 6-digit code.");
            Ok(web::unprocessable(mfa_page(&state, &session, page, errors).await?))
        }
    }
}
