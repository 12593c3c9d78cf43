//! The web application: state, routes from every domain, and the layers
//! every request passes through.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::auth::password::Hasher;
use crate::auth::{access, guard};
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::web::PageCtx;
use crate::{
    agency, arrests, audit, auth, complaints, compliance, documents, officers, pay, stops, training, users,
    web,
};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub hasher: Hasher,
    pub files: crate::documents::files::FileStore,
    pub sheets: crate::measures::store::SheetCache,
    /// The sign-off queue's counts: (audit seq, computed at, counts).
    pub queue_counts: crate::supervision::routes::CountsCache,
    pub lookups: Arc<Lookups>,
    /// The public pages as made, per path (`publications::routes`).
    pub public: Arc<crate::publications::routes::PublicCache>,
    /// Signs the audit log's checkpoints (docs/audit.md).
    pub signing_key: Arc<audit::checkpoint::SigningKey>,
}

/// Values many pages read that change only with the records, kept per
/// audit head (see `audit::HeadCache`).
#[derive(Default)]
pub struct Lookups {
    /// Every officer, for the labels and the officer menu of record lists.
    pub officers: audit::HeadCache<Arc<Vec<officers::Officer>>>,
    /// What every officer's authorization rests on (designations, training
    /// records, courses), for the home page and the compliance roster.
    pub evidence: audit::HeadCache<Arc<officers::authorization::EvidenceSet>>,
    /// The districts stops were recorded in, for the stop list's menu.
    pub districts: audit::HeadCache<Arc<Vec<String>>>,
    /// Records returned by a supervisor and not yet corrected.
    pub returned: audit::HeadCache<usize>,
}

/// The session layer over a migrated `store`, whose expired sessions are
/// deleted once an hour. The cookie outlives the idle limit by a minute so
/// the server, which enforces the limit, can still tell the user why they
/// were signed out.
fn sessions<S>(store: S, config: &Config) -> SessionManagerLayer<S>
where
    S: tower_sessions::session_store::ExpiredDeletion + Clone,
{
    let deleting = store.clone();
    tokio::spawn(async move {
        let _ = tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            deleting,
            tokio::time::Duration::from_secs(3600),
        )
        .await;
    });
    let idle = time::Duration::seconds(config.idle_timeout.as_secs() as i64 + 60);
    let secure = config.secure_cookies;
    SessionManagerLayer::new(store)
        .with_name(if secure { "__Host-oversight" } else { "oversight" })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// Builds the whole application over an open database.
pub async fn build(db: Db, config: Config) -> anyhow::Result<Router> {
    let files = crate::documents::files::FileStore::new(config.files_dir.clone());
    // Made at first start (`oversight serve` signs the checkpoints each
    // minute with it: `audit::store::sign_checkpoints_every_minute`).
    let signing_key = Arc::new(audit::checkpoint::SigningKey::of_database(&config.database_url)?);
    let state = AppState {
        signing_key,
        db: db.clone(),
        config: Arc::new(config),
        hasher: Hasher::default(),
        files,
        sheets: Default::default(),
        queue_counts: Default::default(),
        lookups: Default::default(),
        public: Default::default(),
    };
    let home = Router::new()
        .route("/", get(route_get_home))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::SIGNED_IN), guard));
    let router = Router::new()
        .merge(home)
        .merge(auth::routes::router(&state))
        .merge(users::routes::router(&state))
        .merge(agency::routes::router(&state))
        .merge(officers::routes::router(&state))
        .merge(audit::routes::router(&state))
        .merge(training::routes::router(&state))
        .merge(compliance::routes::router(&state))
        .merge(documents::routes::router(&state))
        .merge(stops::routes::router(&state))
        .merge(stops::transfer::router(&state))
        .merge(arrests::routes::router(&state))
        .merge(complaints::routes::router(&state))
        .merge(pay::routes::router(&state))
        .merge(crate::exchange::routes::router(&state))
        .merge(crate::supervision::routes::router(&state))
        .merge(crate::reports::routes::router(&state))
        .merge(crate::measures::routes::router(&state))
        .merge(crate::measures::logged::router(&state))
        .merge(crate::state::routes::router(&state))
        .merge(crate::publications::routes::router(&state))
        .route("/static/style.css", get(route_get_stylesheet))
        .route("/healthz", get(route_get_health))
        // After every route is in: a route that does not take the method
        // (`GET /logout`) answers with the 405 page, not an empty body.
        .method_not_allowed_fallback(route_method_not_allowed)
        .fallback(route_fallback)
        // Innermost first: CSRF needs the user; the user needs the session;
        // error pages show the user's navigation, CSRF refusals included.
        .layer(middleware::from_fn_with_state(state.clone(), web::csrf::protect))
        .layer(middleware::from_fn_with_state(state.clone(), crate::error::pages))
        .layer(middleware::from_fn_with_state(state.clone(), auth::load_user));
    // Sessions live in the records' database, so every app server on one
    // PostgreSQL database knows every session.
    let router = match &db {
        Db::Sqlite(pool) => {
            let store = SqliteStore::new(pool.clone());
            store.migrate().await?;
            router.layer(sessions(store, &state.config))
        }
        Db::Postgres(pool) => {
            let store = PostgresStore::new(pool.clone());
            store.migrate().await?;
            router.layer(sessions(store, &state.config))
        }
    };
    // The public pages: no session, no CSRF form, no cookie.
    let router = router.merge(crate::publications::routes::public_router(&state));
    let router = router
        // Stop imports are the largest bodies (streamed to disk); documents
        // and forms keep their own smaller limits (the upload check, the
        // CSRF check and axum's form extractor).
        .layer(RequestBodyLimitLayer::new(stops::transfer::IMPORT_LIMIT + 64 * 1024))
        .layer(middleware::from_fn_with_state(state.clone(), web::headers::secure))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            // Method and path only: query strings may hold search terms.
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state);
    Ok(router)
}

/// Serves until the process is stopped.
pub async fn serve(listener: TcpListener, router: Router) -> anyhow::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Ctrl+C at a console, or SIGTERM from a service manager: in-flight
/// requests finish before the process exits.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home/index.html")]
struct HomePage {
    page: PageCtx,
    agency: agency::Profile,
    officers: usize,
    authorized: usize,
    today: String,
}

/// An agency's home page; a state user (no agency) goes to the state's.
async fn route_get_home(State(state): State<AppState>, page: PageCtx) -> AppResult<Response> {
    let Some(scope) = page.user.as_ref().and_then(|user| agency::Scope::of_user(&state.db, user)) else {
        let state_home =
            if page.has_role(crate::auth::Role::StateAdministrator) { "/state/agencies" } else { "/state" };
        return Ok(crate::auth::see_other(state_home));
    };
    let agency = agency::store::get(&scope).await?;
    let today = agency.today();
    let roster = officers::routes::roster(&state, &page).await?;
    let evidence = officers::routes::evidence(&state, &page).await?;
    let authorized = roster
        .iter()
        .filter(|o| officers::authorization::authorized_for_any(o, &evidence.of(o.id), today))
        .count();
    Ok(HomePage { page, officers: roster.len(), authorized, today: web::format_date(today), agency }
        .into_response())
}

async fn route_get_stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("../static/style.css"),
    )
        .into_response()
}

/// For load balancers and the benchmark's baseline: answers without
/// touching the database or the session.
async fn route_get_health() -> &'static str {
    "ok"
}

async fn route_fallback() -> AppError {
    AppError::NotFound
}

async fn route_method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
