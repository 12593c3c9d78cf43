//! The public pages (no sign-in, no cookie): `/public` lists the agencies
//! and their published periods; each publication has its page, its open
//! data and its PDF at stable URLs, served from the frozen publication
//! with an ETag, `Cache-Control: public` and a rate limit per client
//! address. And the administrators' side: the preview of exactly what
//! will be public, and the button that publishes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::open_data::{CSV_FILE, DICTIONARY_FILE, JSON_FILE, PACKAGE_FILE, PDF_FILE};
use super::store::{self, Draft, Listed, Publication, Refused};
use super::{Body, STATE};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{guard, see_other};
use crate::error::{AppError, AppResult};
use crate::measures::Period;
use crate::web::{FieldErrors, PageCtx, flash, unprocessable};

/// The public router: outside the session and CSRF layers (it sets no
/// cookie and takes no form), inside the security headers.
pub fn public_router(state: &AppState) -> Router<AppState> {
    let rate = state.config.public_rate.max(1);
    let config = tower_governor::governor::GovernorConfigBuilder::default()
        .per_nanosecond(1_000_000_000 / u64::from(rate))
        .burst_size(rate.saturating_mul(3))
        .use_headers()
        .finish()
        .map(Arc::new);
    let router = Router::new()
        .route("/public", get(route_get_index))
        .route("/public/{ori}/{period}", get(route_get_latest))
        .route("/public/{ori}/{period}/versions/{version}", get(route_get_version))
        .route("/public/{ori}/{period}/versions/{version}/{file}", get(route_get_file));
    match config {
        Some(config) => {
            // Addresses seen are forgotten once their bucket is full again,
            // so the limiter's memory stays flat under a crowd.
            let limiter = config.limiter().clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    limiter.retain_recent();
                }
            });
            router.layer(tower_governor::GovernorLayer::new(config))
        }
        None => router,
    }
}

/// The administrators' pages: the agency's publications, the preview and
/// publishing; the same for the state's administrator under /state.
pub fn router(state: &AppState) -> Router<AppState> {
    let agency = Router::new()
        .route("/publications", get(route_get_publications).post(route_post_publish))
        .route("/publications/preview", get(route_get_preview))
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), crate::auth::access::ADMINISTRATORS),
            guard,
        ));
    // The state's: every agency's measures side by side.
    let statewide = Router::new()
        .route("/state/publications", get(route_get_state_publications).post(route_post_state_publish))
        .route("/state/publications/preview", get(route_get_state_preview))
        .route_layer(middleware::from_fn_with_state((state.clone(), STATE_PUBLISHERS), guard));
    agency.merge(statewide)
}

const STATE_PUBLISHERS: &[crate::auth::Role] = &[crate::auth::Role::StateAdministrator];

/// A public response as made once: its bytes, type and ETag.
struct Rendered {
    etag: String,
    content_type: &'static str,
    attachment: Option<String>,
    body: Bytes,
    /// The body gzipped once when made, for the clients that accept it
    /// (every browser): a year's page of 90 kB goes as about a tenth.
    gzip: Option<Bytes>,
    /// Seconds a cache may keep it: an immutable file long, a page that
    /// lists newer versions briefly.
    max_age: u32,
}

impl Rendered {
    fn compressed(mut self) -> Rendered {
        let text = self.content_type.starts_with("text/") || self.content_type == "application/json";
        if text && self.body.len() > 1024 {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            if encoder.write_all(&self.body).is_ok() {
                self.gzip = encoder.finish().ok().map(Bytes::from);
            }
        }
        self
    }
}

/// Whether the request accepts a gzipped body (`Accept-Encoding`, without
/// `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|part| {
            let mut bits = part.split(';').map(str::trim);
            let coding = bits.next().unwrap_or_default();
            let refused = bits.any(|b| b.replace(' ', "") == "q=0" || b.replace(' ', "") == "q=0.0");
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

/// Public responses made, by path, valid while no publication (nor
/// agency) was added: that is read again at most every few seconds, so a crowd
/// costs no query per request while a publication made on another app
/// server shows within `RECHECK`.
#[derive(Default)]
pub struct PublicCache {
    made: Mutex<HashMap<String, Arc<Rendered>>>,
    checked: Mutex<Option<(Instant, i64)>>,
}

const RECHECK: Duration = Duration::from_secs(5);
const CACHED: usize = 4096;

impl PublicCache {
    async fn fresh(&self, db: &crate::db::Db) -> Result<(), sqlx::Error> {
        let due = self.checked.lock().ok().and_then(|c| *c).is_none_or(|(at, _)| at.elapsed() >= RECHECK);
        if !due {
            return Ok(());
        }
        // A new publication, or a new agency on the index.
        let latest: i64 = crate::db::query_scalar(
            "SELECT COALESCE((SELECT MAX(id) FROM publications), 0) * 100000 + (SELECT COUNT(*) FROM agency)",
        )
        .fetch_one(db)
        .await?;
        if let Ok(mut checked) = self.checked.lock() {
            if checked.is_some_and(|(_, seen)| seen != latest) {
                if let Ok(mut made) = self.made.lock() {
                    made.clear();
                }
            }
            *checked = Some((Instant::now(), latest));
        }
        Ok(())
    }

    fn get(&self, path: &str) -> Option<Arc<Rendered>> {
        self.made.lock().ok().and_then(|m| m.get(path).cloned())
    }

    fn put(&self, path: &str, rendered: Rendered) -> Arc<Rendered> {
        let rendered = Arc::new(rendered.compressed());
        if let Ok(mut made) = self.made.lock() {
            if made.len() >= CACHED {
                made.clear();
            }
            made.insert(path.to_string(), rendered.clone());
        }
        rendered
    }
}

/// Serves `path` from the cache, making it with `make` on a miss; answers
/// 304 to a client that holds the same ETag.
async fn cached<F>(state: &AppState, headers: &HeaderMap, path: &str, make: F) -> AppResult<Response>
where
    F: std::future::Future<Output = AppResult<Option<Rendered>>>,
{
    let cache = &state.public;
    cache.fresh(&state.db).await?;
    let rendered = match cache.get(path) {
        Some(r) => r,
        None => match make.await? {
            Some(r) => cache.put(path, r),
            None => return Err(AppError::NotFound),
        },
    };
    let control = format!("public, max-age={}", rendered.max_age);
    let gzip = rendered.gzip.as_ref().filter(|_| accepts_gzip(headers));
    // Each encoding is its own representation, with its own tag.
    let etag = match gzip {
        Some(_) => format!("{}-gzip\"", rendered.etag.trim_end_matches('"')),
        None => rendered.etag.clone(),
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = gzip.unwrap_or(&rendered.body).clone().into_response();
        if gzip.is_some() {
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(rendered.content_type));
        if let Some(name) = &rendered.attachment {
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, tag);
    }
    if rendered.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Ok(control) = HeaderValue::from_str(&control) {
        h.insert(header::CACHE_CONTROL, control);
    }
    Ok(response)
}

fn page(etag_of: &str, html: String) -> Rendered {
    let etag = format!("\"{}\"", &super::open_data::sha256(format!("{etag_of}\n{html}").as_bytes())[..32]);
    Rendered {
        etag,
        content_type: "text/html; charset=utf-8",
        attachment: None,
        body: html.into(),
        gzip: None,
        max_age: 60,
    }
}

/// One agency (or the state) and its publications, for the index.
pub struct Publisher {
    pub ori: String,
    pub name: String,
    pub periods: Vec<Listed>,
}

#[derive(Template, WebTemplate)]
#[template(path = "public/index.html")]
struct IndexPage {
    publishers: Vec<Publisher>,
}

async fn route_get_index(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let make = async {
        let listed = store::list(&state.db).await?;
        let mut publishers: Vec<Publisher> = Vec::new();
        let newest = |agency: i64| {
            let mut seen: Vec<(String, String)> = Vec::new();
            listed
                .iter()
                .filter(|l| l.agency_id == agency)
                .filter(|l| {
                    let key = (l.period_from.clone(), l.period_to.clone());
                    let first = !seen.contains(&key);
                    seen.push(key);
                    first
                })
                .cloned()
                .collect::<Vec<_>>()
        };
        let state_periods = newest(crate::db::STATE_CHAIN);
        if !state_periods.is_empty() {
            publishers.push(Publisher {
                ori: STATE.into(),
                name: "Statewide".into(),
                periods: state_periods,
            });
        }
        for agency in crate::agency::store::named(&state.db).await? {
            publishers.push(Publisher { periods: newest(agency.id), ori: agency.ori, name: agency.name });
        }
        let html = IndexPage { publishers }.render().map_err(|e| AppError::Internal(e.into()))?;
        Ok(Some(page("index", html)))
    };
    cached(&state, &headers, "/public", make).await
}

/// The publisher an ORI in a URL names: an agency's id, or the state's chain.
async fn publisher(state: &AppState, ori: &str) -> AppResult<Option<i64>> {
    if ori == STATE {
        return Ok(Some(crate::db::STATE_CHAIN));
    }
    Ok(crate::agency::store::id_of(&state.db, ori).await?)
}

#[derive(Template, WebTemplate)]
#[template(path = "public/publication.html")]
pub struct PublicationPage {
    pub body: Body,
    pub publication: Option<Publication>,
    pub versions: Vec<Listed>,
    pub base: String,
    pub slug: String,
    /// The key that checks the signed checkpoint (`audit public-key`).
    pub verifier: String,
    pub files: Vec<(&'static str, String)>,
}

impl PublicationPage {
    /// The newest version, when it is newer than the one shown.
    fn newer(&self) -> Option<i64> {
        let shown = self.publication.as_ref().map(|p| p.version).unwrap_or(0);
        self.versions.first().map(|v| v.version).filter(|v| *v > shown)
    }
}

async fn publication_page(
    state: &AppState,
    ori: &str,
    slug: &str,
    version: Option<i64>,
) -> AppResult<Option<Rendered>> {
    let (Some(chain), Some(period)) = (publisher(state, ori).await?, super::period_of_slug(slug)) else {
        return Ok(None);
    };
    let Some(publication) = store::get(&state.db, chain, period, version).await? else { return Ok(None) };
    let versions = store::versions(&state.db, chain, period).await?;
    let origin = crate::audit::store::origin(&Scope::of_agency(&state.db, chain)).await?;
    let view = PublicationPage {
        body: publication.body(),
        base: format!("/public/{ori}/{slug}/versions/{}", publication.version),
        slug: slug.to_string(),
        verifier: state.signing_key.verifier(&origin).encode(),
        files: publication.files(),
        publication: Some(publication),
        versions,
    };
    let html = view.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some(page(&view.base, html)))
}

async fn route_get_latest(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((ori, slug)): Path<(String, String)>,
) -> AppResult<Response> {
    let path = format!("/public/{ori}/{slug}");
    cached(&state, &headers, &path, publication_page(&state, &ori, &slug, None)).await
}

async fn route_get_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((ori, slug, version)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let Some(version) = version.parse::<i64>().ok().filter(|v| *v > 0) else {
        return Err(AppError::NotFound);
    };
    let path = format!("/public/{ori}/{slug}/versions/{version}");
    cached(&state, &headers, &path, publication_page(&state, &ori, &slug, Some(version))).await
}

async fn route_get_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((ori, slug, version, file)): Path<(String, String, String, String)>,
) -> AppResult<Response> {
    let Some(version) = version.parse::<i64>().ok().filter(|v| *v > 0) else {
        return Err(AppError::NotFound);
    };
    let path = format!("/public/{ori}/{slug}/versions/{version}/{file}");
    let make = async {
        let (Some(chain), Some(period)) = (publisher(&state, &ori).await?, super::period_of_slug(&slug))
        else {
            return Ok(None);
        };
        let Some(p) = store::get(&state.db, chain, period, Some(version)).await? else { return Ok(None) };
        let name = |f: &str| format!("{}-{}-v{version}-{f}", ori.to_lowercase(), slug.to_lowercase());
        let (content_type, bytes, attachment): (&'static str, Bytes, Option<String>) = match file.as_str() {
            CSV_FILE => ("text/csv; charset=utf-8", p.measures_csv.clone().into(), Some(name(CSV_FILE))),
            JSON_FILE => ("application/json", p.measures_json.clone().into(), None),
            DICTIONARY_FILE => {
                ("text/csv; charset=utf-8", p.dictionary_csv.clone().into(), Some(name(DICTIONARY_FILE)))
            }
            PACKAGE_FILE => ("application/json", p.datapackage.clone().into(), None),
            PDF_FILE => {
                let bytes = state.files.read(&p.pdf_file).map_err(|e| AppError::Internal(e.into()))?;
                ("application/pdf", bytes.into(), Some(name(PDF_FILE)))
            }
            "checkpoint.txt" => ("text/plain; charset=utf-8", p.note.clone().into(), None),
            _ => return Ok(None),
        };
        let etag = format!("\"{}\"", &super::open_data::sha256(&bytes)[..32]);
        // A version's files never change: a year in any cache.
        Ok(Some(Rendered { etag, content_type, attachment, body: bytes, gzip: None, max_age: 31_536_000 }))
    };
    cached(&state, &headers, &path, make).await
}

// ---- The administrators' side ----

/// Who publishes: an agency (its scope) or the state (its chain).
struct Side {
    chain: Scope,
    state: bool,
    ori: String,
    today: time::Date,
}

impl Side {
    async fn agency(scope: Scope) -> AppResult<Side> {
        let profile = crate::agency::store::get(&scope).await?;
        Ok(Side { today: profile.today(), ori: profile.ori, chain: scope, state: false })
    }
    fn state(db: &crate::db::Db) -> Side {
        Side {
            chain: crate::state::store::state_chain(db),
            state: true,
            ori: STATE.into(),
            today: time::OffsetDateTime::now_utc().date(),
        }
    }
    /// Where its pages are.
    fn base(&self) -> &'static str {
        if self.state { "/state/publications" } else { "/publications" }
    }
    async fn draft(&self, period: Period) -> AppResult<Draft> {
        let draft = match self.state {
            true => store::state_draft(self.chain.db(), period).await,
            false => store::agency_draft(&self.chain, period).await,
        };
        draft.map_err(|e| AppError::Internal(e.into()))
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub correction: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "publications/list.html")]
struct ListPage {
    page: PageCtx,
    base: &'static str,
    ori: String,
    periods: Vec<Listed>,
    choices: Vec<(String, String)>,
    form: PublishForm,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "publications/preview.html")]
struct PreviewPage {
    page: PageCtx,
    base: &'static str,
    form: PublishForm,
    errors: FieldErrors,
    latest: i64,
    preview: PublicationPage,
}

/// The last whole months, quarters and years an administrator may
/// publish: (slug, label), newest first.
fn choices(today: time::Date) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let year = today.year();
    for y in [year - 1, year - 2] {
        if let Some(p) = super::period_of_slug(&y.to_string()) {
            out.push((super::slug(p), super::label(p)));
        }
    }
    for (_, from, to) in crate::reports::routes::quarters(today).into_iter().take(4) {
        if let (Some(f), Some(t)) = (crate::web::parse_date(&from), crate::web::parse_date(&to)) {
            if let Some(p) = Period::new(f, t) {
                out.push((super::slug(p), super::label(p)));
            }
        }
    }
    let mut month_end = today.replace_day(1).unwrap_or(today) - time::Duration::days(1);
    for _ in 0..6 {
        let from = month_end.replace_day(1).unwrap_or(month_end);
        if let Some(p) = Period::new(from, month_end) {
            out.push((super::slug(p), super::label(p)));
        }
        month_end = from - time::Duration::days(1);
    }
    out
}

async fn list_page(
    state: &AppState,
    side: &Side,
    page: PageCtx,
    form: PublishForm,
    errors: FieldErrors,
) -> AppResult<ListPage> {
    let mut periods: Vec<Listed> =
        store::list(&state.db).await?.into_iter().filter(|l| l.agency_id == side.chain.id()).collect();
    periods.sort_by(|a, b| (&b.period_from, b.version).cmp(&(&a.period_from, a.version)));
    let choices = choices(side.today);
    Ok(ListPage { page, base: side.base(), ori: side.ori.clone(), periods, choices, form, errors })
}

/// Checks the form: the period, or each wrong field marked.
async fn checked(side: &Side, form: &PublishForm) -> AppResult<Result<Period, FieldErrors>> {
    let mut errors = FieldErrors::default();
    let Some(period) = super::period_of_slug(form.period.trim()) else {
        errors.add("period", "Choose a whole month, quarter or year, written as 2026-03, 2026-Q1 or 2026.");
        return Ok(Err(errors));
    };
    match store::check(side.chain.db(), side.chain.id(), period, side.today, &form.correction).await {
        Ok(_) => Ok(Ok(period)),
        Err(e @ Refused::NeedsCorrection(_)) | Err(e @ Refused::NoteTooLong) => {
            errors.add("correction", e.to_string());
            Ok(Err(errors))
        }
        Err(e @ Refused::NotCalendar)
        | Err(e @ Refused::NotEnded(_))
        | Err(e @ Refused::OtherCadence(_))
        | Err(e @ Refused::OtherPublisher(_)) => {
            errors.add("period", e.to_string());
            Ok(Err(errors))
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

async fn preview_page(
    state: &AppState,
    side: &Side,
    page: PageCtx,
    form: PublishForm,
    errors: FieldErrors,
    period: Period,
) -> AppResult<PreviewPage> {
    let draft = side.draft(period).await?;
    let latest =
        store::versions(&state.db, side.chain.id(), period).await?.first().map(|l| l.version).unwrap_or(0);
    let preview = PublicationPage {
        body: draft.body,
        publication: None,
        versions: vec![],
        base: String::new(),
        slug: String::new(),
        verifier: String::new(),
        files: vec![],
    };
    Ok(PreviewPage { page, base: side.base(), form, errors, latest, preview })
}

async fn show_preview(state: &AppState, side: Side, page: PageCtx, form: PublishForm) -> AppResult<Response> {
    // The correction is asked for on the preview itself.
    let period = match checked(&side, &PublishForm { correction: "preview".into(), ..form.clone() }).await? {
        Ok(period) => period,
        Err(errors) => return Ok(unprocessable(list_page(state, &side, page, form, errors).await?)),
    };
    Ok(preview_page(state, &side, page, form, FieldErrors::default(), period).await?.into_response())
}

async fn publish(
    state: &AppState,
    side: Side,
    session: Session,
    actor: Actor,
    page: PageCtx,
    form: PublishForm,
) -> AppResult<Response> {
    let period = match checked(&side, &form).await? {
        Ok(period) => period,
        Err(errors) => {
            let Some(period) = super::period_of_slug(form.period.trim()) else {
                return Ok(unprocessable(list_page(state, &side, page, form, errors).await?));
            };
            return Ok(unprocessable(preview_page(state, &side, page, form, errors, period).await?));
        }
    };
    for _ in 0..5 {
        let draft = side.draft(period).await?;
        match store::publish(&side.chain, &draft, &form.correction, &actor, &state.files, &state.signing_key)
            .await
        {
            Ok(p) => {
                let message = format!(
                    "Published {} (version {}): it is public now, at the link below.",
                    super::label(period),
                    p.version
                );
                flash(&session, message).await?;
                return Ok(see_other(side.base()));
            }
            Err(Refused::Busy) => continue,
            Err(e) => return Err(AppError::Internal(e.into())),
        }
    }
    Err(AppError::Internal(Refused::Busy.into()))
}

async fn route_get_publications(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
) -> AppResult<ListPage> {
    let side = Side::agency(scope).await?;
    list_page(&state, &side, page, PublishForm::default(), FieldErrors::default()).await
}

async fn route_get_preview(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(form): Query<PublishForm>,
) -> AppResult<Response> {
    show_preview(&state, Side::agency(scope).await?, page, form).await
}

async fn route_post_publish(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<PublishForm>,
) -> AppResult<Response> {
    publish(&state, Side::agency(scope).await?, session, actor, page, form).await
}

async fn route_get_state_publications(State(state): State<AppState>, page: PageCtx) -> AppResult<ListPage> {
    let side = Side::state(&state.db);
    list_page(&state, &side, page, PublishForm::default(), FieldErrors::default()).await
}

async fn route_get_state_preview(
    State(state): State<AppState>,
    page: PageCtx,
    Query(form): Query<PublishForm>,
) -> AppResult<Response> {
    show_preview(&state, Side::state(&state.db), page, form).await
}

async fn route_post_state_publish(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<PublishForm>,
) -> AppResult<Response> {
    publish(&state, Side::state(&state.db), session, actor, page, form).await
}
