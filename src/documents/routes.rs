//! The document library: list, upload (records clerks), document page with
//! versions and history, and downloads for the roles that may read them.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::files::{FileStore, Incoming};
use super::store::{self, NewDocument, Upload};
use super::{Document, KINDS, Version, check_sniffed, readable, safe_file_name, size_text};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{CurrentUser, Role, access, guard, see_other};
use crate::error::{AppError, AppResult};
use crate::officers::{self, Officer};
use crate::web::{FieldErrors, PageCtx, flash};

pub fn router(state: &AppState) -> Router<AppState> {
    let body_limit = DefaultBodyLimit::max(body_limit(state.config.upload_limit));
    let readers = Router::new()
        .route("/documents", get(route_get_documents))
        .route("/documents/{id}", get(route_get_document))
        .route("/documents/{id}/versions/{version}/download", get(route_get_download))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::AGENCY_USERS), guard));
    let writers = Router::new()
        .route("/documents/new", get(route_get_new).post(route_post_new))
        .route("/documents/{id}/versions", post(route_post_version))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard))
        .layer(body_limit);
    readers.merge(writers)
}

/// Refuses and audits a request for a document the role may not read.
async fn check_readable(
    state: &AppState,
    actor: &Actor,
    user: &CurrentUser,
    doc: &Document,
) -> AppResult<()> {
    if readable(&doc.kind, &user.roles) {
        return Ok(());
    }
    crate::auth::deny(&state.db, actor, &format!("document {}", doc.id)).await
}

fn user(page: &PageCtx) -> AppResult<CurrentUser> {
    page.user.clone().ok_or(AppError::Forbidden)
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/list.html")]
struct ListPage {
    page: PageCtx,
    documents: Vec<Document>,
    hidden: usize,
}

async fn route_get_documents(scope: Scope, page: PageCtx) -> AppResult<ListPage> {
    let user = user(&page)?;
    let all = store::list(&scope).await?;
    let total = all.len();
    let documents: Vec<Document> = all.into_iter().filter(|d| readable(&d.kind, &user.roles)).collect();
    Ok(ListPage { hidden: total - documents.len(), documents, page })
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/show.html")]
struct ShowPage {
    page: PageCtx,
    document: Document,
    officer: Option<Officer>,
    versions: Vec<Version>,
    history: Vec<Entry>,
    can_upload: bool,
    limit: String,
    error: Option<String>,
}

async fn show_page(
    state: &AppState,
    scope: &Scope,
    page: PageCtx,
    document: Document,
    error: Option<String>,
) -> AppResult<ShowPage> {
    let officer = match document.officer_id {
        Some(id) => Some(officers::store::get(scope, id).await?),
        None => None,
    };
    Ok(ShowPage {
        versions: store::versions(scope, document.id).await?,
        history: store::history(scope, document.id).await?,
        can_upload: page.has_role(Role::Clerk),
        limit: size_text(state.config.upload_limit as u64),
        page,
        document,
        officer,
        error,
    })
}

async fn route_get_document(
    State(state): State<AppState>,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
) -> AppResult<ShowPage> {
    let document = store::get(&scope, id).await?;
    check_readable(&state, &actor, &user(&page)?, &document).await?;
    show_page(&state, &scope, page, document, None).await
}

async fn route_get_download(
    State(state): State<AppState>,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path((id, version)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let document = store::get(&scope, id).await?;
    check_readable(&state, &actor, &user(&page)?, &document).await?;
    let version = store::version(&scope, id, version).await?;
    let bytes = state.files.read(&version.stored_name).map_err(|e| AppError::Internal(e.into()))?;
    store::downloaded(&scope, &actor, &version).await?;
    let name = safe_file_name(&version.original_name);
    Ok((
        [
            (header::CONTENT_TYPE, version.content_type.clone()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    officer_id: String,
    #[serde(default)]
    training_record_id: String,
    #[serde(default)]
    kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/new.html")]
struct NewPage {
    page: PageCtx,
    form: NewQuery,
    title: String,
    errors: FieldErrors,
    kinds: &'static [(&'static str, &'static str, bool)],
    officers: Vec<Officer>,
    limit: String,
}

async fn new_page(
    state: &AppState,
    scope: &Scope,
    page: PageCtx,
    form: NewQuery,
    title: String,
    errors: FieldErrors,
) -> AppResult<Response> {
    let officers = officers::store::choices(scope, None).await?;
    let limit = format!(
        "PDF, PNG, JPEG, plain text or CSV, at most {}.",
        size_text(state.config.upload_limit as u64)
    );
    let view = NewPage { page, form, title, errors: errors.clone(), kinds: &KINDS, officers, limit };
    Ok(crate::web::form_response(&errors, view))
}

async fn route_get_new(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<NewQuery>,
) -> AppResult<Response> {
    new_page(&state, &scope, page, query, String::new(), FieldErrors::default()).await
}

/// A multipart form as read: its text fields and its file, received into
/// a temporary file (or only hashed) as it streamed in.
pub(crate) struct Submitted {
    pub(crate) fields: HashMap<String, String>,
    pub(crate) file: Option<(String, Incoming)>,
}

impl Submitted {
    fn field(&self, name: &str) -> String {
        self.fields.get(name).map(|v| v.trim().to_string()).unwrap_or_default()
    }
}

/// The most the text fields of an upload form hold together: a title and
/// a note are far less.
const FIELDS_LIMIT: usize = 64 * 1024;

/// The body limit of an upload route. The file's own limit is checked as
/// it streams; past it the rest of the body is read and dropped, so the
/// browser, still sending, receives the 413 page rather than a reset
/// connection. This bounds that reading: a file up to about four times
/// the limit gets the page.
pub(crate) fn body_limit(upload_limit: usize) -> usize {
    upload_limit.saturating_mul(4).saturating_add(1024 * 1024)
}

/// Reads the rest of a refused multipart body and drops it (see
/// [`body_limit`]); nothing of it is kept.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// The text of a size limit: "25 MiB", or "4 KiB" for a small one.
fn limit_text(limit: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if limit >= MIB && limit % MIB == 0 { format!("{} MiB", limit / MIB) } else { size_text(limit as u64) }
}

/// The refusal of a file over `limit`: 413 with the product's page.
pub(crate) fn too_large(limit: usize) -> AppError {
    AppError::TooLarge(format!(
        "The file is larger than the limit of {}, so nothing was stored. Choose a smaller file.",
        limit_text(limit)
    ))
}

/// Reads a multipart form, streaming its `file` part chunk by chunk into
/// the file store's temporary file (`into` the store) or only through the
/// hash (`None`), never whole in memory. A file over `limit`, or text
/// fields over [`FIELDS_LIMIT`], get 413; the temporary file is removed.
pub(crate) async fn read_form(
    mut multipart: Multipart,
    into: Option<&FileStore>,
    limit: usize,
) -> AppResult<Submitted> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            AppError::BadRequest(format!("The upload could not be read: {}", e.body_text()))
        }
    };
    let mut submitted = Submitted { fields: HashMap::new(), file: None };
    let mut text = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                text += chunk.len();
                if text > FIELDS_LIMIT {
                    drop(field);
                    drain(&mut multipart).await;
                    return Err(AppError::TooLarge(crate::error::FORM_TOO_LARGE.into()));
                }
                value.extend_from_slice(&chunk);
            }
            submitted.fields.insert(name, String::from_utf8_lossy(&value).into_owned());
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().to_string();
        let mut incoming = match into {
            Some(files) => files.receive(limit as u64).await.map_err(|e| AppError::Internal(e.into()))?,
            None => Incoming::digest_only(limit as u64),
        };
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if !incoming.push(&chunk).await.map_err(|e| AppError::Internal(e.into()))? {
                // Dropping `incoming` removes what was written of it.
                drop(incoming);
                while let Ok(Some(_)) = field.chunk().await {}
                drop(field);
                drain(&mut multipart).await;
                return Err(too_large(limit));
            }
        }
        if !file_name.is_empty() || incoming.size() > 0 {
            submitted.file = Some((file_name, incoming));
        }
    }
    Ok(submitted)
}

/// Checks the file part of a form; the error names what to do.
fn check_file(submitted: Submitted, errors: &mut FieldErrors) -> Option<(String, Incoming, &'static str)> {
    let Some((name, incoming)) = submitted.file else {
        errors.add("file", "Choose a file to upload.");
        return None;
    };
    if incoming.size() == 0 {
        errors.add("file", "The file is empty.");
        return None;
    }
    match check_sniffed(&name, incoming.sniff()) {
        Ok(content_type) => Some((name, incoming, content_type)),
        Err(why) => {
            errors.add("file", why);
            None
        }
    }
}

/// Moves the received file into place, then writes its rows; if the rows
/// fail, the file goes too.
async fn store_upload<F, Fut>(
    state: &AppState,
    name: String,
    incoming: Incoming,
    content_type: &str,
    note: String,
    save: F,
) -> AppResult<i64>
where
    F: FnOnce(Upload) -> Fut,
    Fut: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    let stored = incoming.keep().await.map_err(|e| AppError::Internal(e.into()))?;
    let upload = Upload {
        original_name: name,
        stored_name: stored.name.clone(),
        content_type: content_type.to_string(),
        size_bytes: stored.size as i64,
        sha256: stored.sha256,
        note,
    };
    match save(upload).await {
        Ok(id) => Ok(id),
        Err(e) => {
            state.files.remove(&stored.name);
            Err(e.into())
        }
    }
}

async fn route_post_new(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    multipart: Multipart,
) -> AppResult<Response> {
    let submitted = read_form(multipart, Some(&state.files), state.config.upload_limit).await?;
    let mut errors = FieldErrors::default();
    let title = submitted.field("title");
    if title.is_empty() || title.chars().count() > 200 {
        errors.add("title", "Enter a title (up to 200 characters).");
    }
    let kind = submitted.field("kind");
    if !KINDS.iter().any(|(c, _, _)| *c == kind) {
        errors.add("kind", "Choose the kind of document.");
    }
    let officer_id = match submitted.field("officer_id").as_str() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(id) if officers::store::get(&scope, id).await.is_ok() => Some(id),
            _ => {
                errors.add("officer_id", "Choose an officer from the list.");
                None
            }
        },
    };
    let training_record_id = match (submitted.field("training_record_id").as_str(), officer_id) {
        ("", _) => None,
        (v, Some(officer)) => match v.parse::<i64>() {
            Ok(id) if crate::training::store::record(&scope, officer, id).await.is_ok() => Some(id),
            _ => {
                errors.add("officer_id", "The training record does not belong to this officer.");
                None
            }
        },
        (_, None) => {
            errors.add("officer_id", "A certificate for a training record needs its officer.");
            None
        }
    };
    let form = NewQuery {
        officer_id: submitted.field("officer_id"),
        training_record_id: submitted.field("training_record_id"),
        kind: kind.clone(),
    };
    let file = check_file(submitted, &mut errors);
    let Some((name, incoming, content_type)) = file.filter(|_| errors.is_empty()) else {
        return new_page(&state, &scope, page, form, title, errors).await;
    };
    let doc = NewDocument { title, kind, officer_id, training_record_id };
    let id = store_upload(&state, name, incoming, content_type, String::new(), |upload| async move {
        store::create(&scope, &actor, &doc, &upload).await
    })
    .await?;
    flash(&session, "Document uploaded.").await?;
    Ok(see_other(&format!("/documents/{id}")))
}

async fn route_post_version(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> AppResult<Response> {
    let document = store::get(&scope, id).await?;
    let submitted = read_form(multipart, Some(&state.files), state.config.upload_limit).await?;
    let mut errors = FieldErrors::default();
    let note = submitted.field("note");
    let Some((name, incoming, content_type)) = check_file(submitted, &mut errors) else {
        let message = errors.get("file").unwrap_or_default().to_string();
        return Ok(crate::web::unprocessable(
            show_page(&state, &scope, page, document, Some(message)).await?,
        ));
    };
    let version = store_upload(&state, name, incoming, content_type, note, |upload| async move {
        store::add_version(&scope, &actor, id, &upload).await
    })
    .await?;
    flash(&session, format!("Version {version} uploaded.")).await?;
    Ok(see_other(&format!("/documents/{id}")))
}
