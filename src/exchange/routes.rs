//! The browser side of record exchange: downloads for everyone who reads
//! records (without names and dates of birth for roles that may not see
//! them) and an upload form for records clerks.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Multipart;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;

use super::Kind;
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{access, guard};
use crate::error::{AppError, AppResult};
use crate::web::{PageCtx, unprocessable};

/// The largest record file accepted through the browser: axum's default
/// body limit, which this router keeps.
const IMPORT_LIMIT: usize = 2 * 1024 * 1024;

pub fn router(state: &AppState) -> Router<AppState> {
    let readers = Router::new()
        .route("/records/export", post(route_post_export))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORD_READERS), guard));
    let writers = Router::new()
        .route("/records/import", get(route_get_import).post(route_post_import))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard));
    readers.merge(writers)
}

#[derive(Deserialize)]
struct ExportForm {
    #[serde(default)]
    kind: String,
}

async fn route_post_export(
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<ExportForm>,
) -> AppResult<Response> {
    let kind =
        Kind::parse(&form.kind).ok_or_else(|| AppError::BadRequest("Choose what to export.".into()))?;
    let personal = page.user.as_ref().is_some_and(|u| crate::arrests::sees_personal_data(&u.roles));
    let event = Event::new(&format!("{}.export", kind.name()), kind.name(), "")
        .details(serde_json::json!({ "via": "web", "personal_data": personal && kind == Kind::Arrests }));
    audit::record_in(&scope, &actor, event).await?;
    let (body, _) = super::export(&scope, kind, personal).await?;
    let name =
        format!("{}-{}.csv", kind.name(), crate::web::format_date(time::OffsetDateTime::now_utc().date()));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "exchange/import.html")]
struct ImportPage {
    page: PageCtx,
    lines: Vec<String>,
    ok: bool,
}

async fn route_get_import(page: PageCtx) -> ImportPage {
    ImportPage { page, lines: Vec::new(), ok: false }
}

async fn route_post_import(
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    mut multipart: Multipart,
) -> AppResult<Response> {
    // The file is read whole (its rows are checked together before any is
    // written), within axum's default body limit.
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            crate::documents::routes::too_large(IMPORT_LIMIT)
        } else {
            AppError::BadRequest(format!("The upload could not be read: {}", e.body_text()))
        }
    };
    let (mut kind, mut bytes, mut force) = (None, None, false);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "kind" => kind = Kind::parse(&field.text().await.map_err(bad)?),
            "file" => bytes = Some(field.bytes().await.map_err(bad)?),
            "force" => force = !field.text().await.map_err(bad)?.is_empty(),
            _ => {}
        }
    }
    let (Some(kind), Some(bytes)) = (kind, bytes) else {
        return Ok(unprocessable(ImportPage {
            page,
            lines: vec!["Choose what the file holds and the file.".into()],
            ok: false,
        }));
    };
    if bytes.is_empty() {
        let lines = vec!["The file is empty: choose the CSV file to import.".into()];
        return Ok(unprocessable(ImportPage { page, lines, ok: false }));
    }
    let (lines, ok) = super::import(&scope, &actor, kind, &bytes, force, super::AGAIN_WEB).await?;
    let view = ImportPage { page, lines, ok };
    Ok(if ok { view.into_response() } else { unprocessable(view) })
}
