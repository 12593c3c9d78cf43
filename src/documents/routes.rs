//! The document library: list, upload (records clerks), document page with
//! versions and history, and downloads for the roles that may read them.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::store::{self, NewDocument, Upload};
use super::{Document, KINDS, Version, check_type, readable, safe_file_name, size_text};
use crate::app::AppState;
use crate::audit::{Actor, Entry};
use crate::auth::{CurrentUser, Role, access, guard, see_other};
use crate::error::{AppError, AppResult};
use crate::officers::{self, Officer};
use crate::web::{FieldErrors, PageCtx, flash};

pub fn router(state: &AppState) -> Router<AppState> {
    // Multipart bodies may be as large as the upload limit allows.
    let body_limit = DefaultBodyLimit::max(state.config.upload_limit + 64 * 1024);
    let readers = Router::new()
        .route("/documents", get(route_get_documents))
        .route("/documents/{id}", get(route_get_document))
        .route("/documents/{id}/versions/{version}/download", get(route_get_download))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::SIGNED_IN), guard));
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

async fn route_get_documents(State(state): State<AppState>, page: PageCtx) -> AppResult<ListPage> {
    let user = user(&page)?;
    let all = store::list(&state.db).await?;
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
    page: PageCtx,
    document: Document,
    error: Option<String>,
) -> AppResult<ShowPage> {
    let officer = match document.officer_id {
        Some(id) => Some(officers::store::get(&state.db, id).await?),
        None => None,
    };
    Ok(ShowPage {
        versions: store::versions(&state.db, document.id).await?,
        history: store::history(&state.db, document.id).await?,
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
    page: PageCtx,
    Path(id): Path<i64>,
) -> AppResult<ShowPage> {
    let document = store::get(&state.db, id).await?;
    check_readable(&state, &actor, &user(&page)?, &document).await?;
    show_page(&state, page, document, None).await
}

async fn route_get_download(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    Path((id, version)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let document = store::get(&state.db, id).await?;
    check_readable(&state, &actor, &user(&page)?, &document).await?;
    let version = store::version(&state.db, id, version).await?;
    let bytes = state.files.read(&version.stored_name).map_err(|e| AppError::Internal(e.into()))?;
    store::downloaded(&state.db, &actor, &version).await?;
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
    page: PageCtx,
    form: NewQuery,
    title: String,
    errors: FieldErrors,
) -> AppResult<Response> {
    let officers = officers::store::choices(&state.db, None).await?;
    let limit = format!(
        "PDF, PNG, JPEG, plain text or CSV, at most {}.",
        size_text(state.config.upload_limit as u64)
    );
    let view = NewPage { page, form, title, errors: errors.clone(), kinds: &KINDS, officers, limit };
    Ok(crate::web::form_response(&errors, view))
}

async fn route_get_new(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<NewQuery>,
) -> AppResult<Response> {
    new_page(&state, page, query, String::new(), FieldErrors::default()).await
}

/// A multipart form as read: its text fields and its file.
pub(crate) struct Submitted {
    pub(crate) fields: HashMap<String, String>,
    pub(crate) file: Option<(String, Vec<u8>)>,
    pub(crate) too_large: bool,
}

impl Submitted {
    fn field(&self, name: &str) -> String {
        self.fields.get(name).map(|v| v.trim().to_string()).unwrap_or_default()
    }
}

pub(crate) async fn read_form(mut multipart: Multipart, limit: usize) -> AppResult<Submitted> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("The upload could not be read: {}", e.body_text()))
    };
    let mut submitted = Submitted { fields: HashMap::new(), file: None, too_large: false };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            let value = field.text().await.map_err(bad)?;
            submitted.fields.insert(name, value);
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > limit {
                // Stop reading: nothing of an oversized file is kept.
                submitted.too_large = true;
                return Ok(submitted);
            }
            bytes.extend_from_slice(&chunk);
        }
        if !file_name.is_empty() || !bytes.is_empty() {
            submitted.file = Some((file_name, bytes));
        }
    }
    Ok(submitted)
}

/// Checks the file part of a form; the error names what to do.
fn check_file(
    submitted: &Submitted,
    limit: usize,
    errors: &mut FieldErrors,
) -> Option<(String, Vec<u8>, &'static str)> {
    if submitted.too_large {
        errors.add(
            "file",
            format!("The file is larger than the {} limit. Nothing was stored.", size_text(limit as u64)),
        );
        return None;
    }
    let Some((name, bytes)) = &submitted.file else {
        errors.add("file", "Choose a file to upload.");
        return None;
    };
    if bytes.is_empty() {
        errors.add("file", "The file is empty.");
        return None;
    }
    match check_type(name, bytes) {
        Ok(content_type) => Some((name.clone(), bytes.clone(), content_type)),
        Err(why) => {
            errors.add("file", why);
            None
        }
    }
}

/// Writes the file, then its rows; if the rows fail, the file goes too.
async fn store_upload<F, Fut>(
    state: &AppState,
    name: String,
    bytes: &[u8],
    content_type: &str,
    note: String,
    save: F,
) -> AppResult<i64>
where
    F: FnOnce(Upload) -> Fut,
    Fut: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    let stored = state.files.write(bytes).map_err(|e| AppError::Internal(e.into()))?;
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
    page: PageCtx,
    multipart: Multipart,
) -> AppResult<Response> {
    let limit = state.config.upload_limit;
    let submitted = read_form(multipart, limit).await?;
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
            Ok(id) if officers::store::get(&state.db, id).await.is_ok() => Some(id),
            _ => {
                errors.add("officer_id", "Choose an officer from the list.");
                None
            }
        },
    };
    let training_record_id = match (submitted.field("training_record_id").as_str(), officer_id) {
        ("", _) => None,
        (v, Some(officer)) => match v.parse::<i64>() {
            Ok(id) if crate::training::store::record(&state.db, officer, id).await.is_ok() => Some(id),
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
    let file = check_file(&submitted, limit, &mut errors);
    let form = NewQuery {
        officer_id: submitted.field("officer_id"),
        training_record_id: submitted.field("training_record_id"),
        kind: kind.clone(),
    };
    let Some((name, bytes, content_type)) = file.filter(|_| errors.is_empty()) else {
        return new_page(&state, page, form, title, errors).await;
    };
    let doc = NewDocument { title, kind, officer_id, training_record_id };
    let db = state.db.clone();
    let id = store_upload(&state, name, &bytes, content_type, String::new(), |upload| async move {
        store::create(&db, &actor, &doc, &upload).await
    })
    .await?;
    flash(&session, "Document uploaded.").await?;
    Ok(see_other(&format!("/documents/{id}")))
}

async fn route_post_version(
    State(state): State<AppState>,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> AppResult<Response> {
    let document = store::get(&state.db, id).await?;
    let limit = state.config.upload_limit;
    let submitted = read_form(multipart, limit).await?;
    let mut errors = FieldErrors::default();
    let note = submitted.field("note");
    let Some((name, bytes, content_type)) = check_file(&submitted, limit, &mut errors) else {
        let message = errors.get("file").unwrap_or_default().to_string();
        return Ok(crate::web::unprocessable(show_page(&state, page, document, Some(message)).await?));
    };
    let db = state.db.clone();
    let version = store_upload(&state, name, &bytes, content_type, note, |upload| async move {
        store::add_version(&db, &actor, id, &upload).await
    })
    .await?;
    flash(&session, format!("Version {version} uploaded.")).await?;
    Ok(see_other(&format!("/documents/{id}")))
}
