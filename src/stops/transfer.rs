//! The web side of stop imports and exports: an upload form for records
//! clerks (the file is streamed to disk, then imported as the command line
//! does), CSV downloads for everyone who reads stops, and the data
//! dictionary of both formats.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::import::{self, Format, NATIVE_COLUMNS, OPP_COLUMNS};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{access, guard};
use crate::error::{AppError, AppResult};
use crate::web::record_form::Choices;
use crate::web::{PageCtx, unprocessable};

/// The largest stop file accepted through the browser.
pub const IMPORT_LIMIT: usize = 1024 * 1024 * 1024;

pub fn router(state: &AppState) -> Router<AppState> {
    let writers = Router::new()
        .route("/stops/import", get(route_get_import).post(route_post_import))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORDS_WRITERS), guard))
        .layer(DefaultBodyLimit::max(IMPORT_LIMIT));
    let readers = Router::new()
        .route("/stops/export", post(route_post_export))
        .route("/data-dictionary", get(route_get_dictionary))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::RECORD_READERS), guard));
    writers.merge(readers)
}

#[derive(Template, WebTemplate)]
#[template(path = "stops/import.html")]
struct ImportPage {
    page: PageCtx,
    lines: Vec<String>,
    ok: bool,
}

async fn route_get_import(page: PageCtx) -> ImportPage {
    ImportPage { page, lines: Vec::new(), ok: false }
}

/// The uploaded file, in a private temporary file.
struct Upload {
    path: std::path::PathBuf,
    name: String,
    bytes: u64,
}

/// Streams the uploaded file to a private temporary file, chunk by chunk.
async fn receive(
    state: &AppState,
    mut multipart: Multipart,
) -> AppResult<(Option<Format>, bool, Option<Upload>)> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("The upload could not be read: {}", e.body_text()))
    };
    let (mut format, mut force, mut path) = (None, false, None);
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "format" => format = Format::parse(&field.text().await.map_err(bad)?),
            "force" => force = !field.text().await.map_err(bad)?.is_empty(),
            "file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                let dir = state.config.files_dir.join("imports");
                tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Internal(e.into()))?;
                let target = dir.join(crate::web::random_token(12));
                let mut file =
                    tokio::fs::File::create(&target).await.map_err(|e| AppError::Internal(e.into()))?;
                let mut bytes = 0;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    file.write_all(&chunk).await.map_err(|e| AppError::Internal(e.into()))?;
                    bytes += chunk.len() as u64;
                }
                file.flush().await.map_err(|e| AppError::Internal(e.into()))?;
                path = Some(Upload { path: target, name, bytes });
            }
            _ => {}
        }
    }
    Ok((format, force, path))
}

async fn route_post_import(
    State(state): State<AppState>,
    actor: Actor,
    scope: Scope,
    page: PageCtx,
    multipart: Multipart,
) -> AppResult<Response> {
    let (format, force, upload) = receive(&state, multipart).await?;
    let refusal = match (&format, &upload) {
        (_, None) => Some("Choose the CSV file to import."),
        // A form sent without a file chosen still has its (empty) part.
        (_, Some(u)) if u.bytes == 0 && u.name.is_empty() => Some("Choose the CSV file to import."),
        (_, Some(u)) if u.bytes == 0 => {
            Some("The file is empty: choose a CSV file with a header line and its stops.")
        }
        (None, _) => Some("Choose the file's format."),
        _ => None,
    };
    let (Some(format), Some(upload), None) = (format, &upload, refusal) else {
        if let Some(upload) = &upload {
            let _ = tokio::fs::remove_file(&upload.path).await;
        }
        let lines = refusal.into_iter().map(str::to_string).collect();
        return Ok(unprocessable(ImportPage { page, lines, ok: false }));
    };
    let result = import::import(&scope, &actor, &upload.path, format, force).await;
    let _ = tokio::fs::remove_file(&upload.path).await;
    let report = result?;
    let ok = report.problem_count == 0 && !report.already_imported;
    let lines = if report.already_imported {
        // The command line's `--force` is this form's checkbox.
        vec![format!(
            "This file was imported before (SHA-256 {}), so nothing was imported. To import it again on purpose, tick \"Import even if this same file was imported before\" and send it again.",
            report.sha256
        )]
    } else {
        import::summary(&report)
    };
    let view = ImportPage { page, lines, ok };
    Ok(if ok { view.into_response() } else { unprocessable(view) })
}

#[derive(Deserialize)]
struct ExportForm {
    #[serde(default)]
    format: String,
}

async fn route_post_export(
    State(state): State<AppState>,
    actor: Actor,
    scope: Scope,
    Form(form): Form<ExportForm>,
) -> AppResult<Response> {
    let format = Format::parse(&form.format)
        .ok_or_else(|| AppError::BadRequest("Choose the export format.".into()))?;
    let event = Event::new("stop.export", "stop", "")
        .details(serde_json::json!({ "format": format.name(), "via": "web" }));
    audit::record_in(&scope, &actor, event).await?;
    let body = spooled(&state, &scope, format).await?;
    let name = format!(
        "stops-{}-{}.csv",
        format.name(),
        crate::web::format_date(time::OffsetDateTime::now_utc().date())
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

/// Writes the agency's export to a private temporary file a batch at a
/// time, then streams the file: a million stops never sit in memory. The
/// file is unlinked as soon as it is open, so nothing is left behind.
async fn spooled(state: &AppState, scope: &Scope, format: Format) -> AppResult<axum::body::Body> {
    let internal = |e: std::io::Error| AppError::Internal(e.into());
    let dir = state.config.files_dir.join("exports");
    tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
    let path = dir.join(crate::web::random_token(12));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(internal)?);
    let written = super::export::export(scope, format, file).await;
    let opened = tokio::fs::File::open(&path).await;
    let _ = tokio::fs::remove_file(&path).await;
    written?;
    let file = opened.map_err(internal)?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok(axum::body::Body::from_stream(chunks))
}

/// One column of the native format: name, meaning, codes.
pub struct Column {
    pub name: &'static str,
    pub meaning: &'static str,
    pub codes: Choices,
}

#[derive(Template, WebTemplate)]
#[template(path = "stops/dictionary.html")]
struct DictionaryPage {
    page: PageCtx,
    native: Vec<Column>,
    opp: &'static [&'static str],
    others: Vec<(&'static str, &'static [&'static str], &'static str)>,
}

async fn route_get_dictionary(page: PageCtx) -> DictionaryPage {
    let meaning = |name: &str| -> (&'static str, Choices) {
        match name {
            "stop_date" => ("Date of the stop, YYYY-MM-DD (required)", &[]),
            "stop_time" => ("Time, HH:MM on the 24-hour clock; empty when unknown", &[]),
            "duration_minutes" => ("Duration in whole minutes", &[]),
            "location" => ("Block or intersection, never a residence address", &[]),
            "district" => ("District or beat", &[]),
            "lat" | "lng" => ("Decimal degrees, optional", &[]),
            "stop_type" => ("Type of stop; unknown for imports without one", super::STOP_TYPES),
            "officer_badge" => ("Badge number of the officer (must be on the roster)", &[]),
            "assignment" => ("Officer's assignment type", &[]),
            "years_of_service" => ("Officer's years of service", &[]),
            "perceived_race" => (
                "Perceived race or ethnicity, codes separated by ';' (also asian_pacific_islander and other from Open Policing); empty when unknown",
                super::RACES,
            ),
            "perceived_gender" => ("Perceived gender; empty when unknown", super::GENDERS),
            "perceived_age" => ("Perceived age in years", &[]),
            "reason" => ("Primary reason for the stop", super::REASONS),
            "traffic_violation" => {
                ("Kind of traffic violation, with reason traffic_violation", super::TRAFFIC_KINDS)
            }
            "reason_narrative" | "result_narrative" => ("Text, at most 250 characters", &[]),
            "actions" => ("Actions taken, codes separated by ';'", super::ACTIONS),
            "search_basis" => (
                "Basis for a search, codes separated by ';' (also probable_cause, other)",
                super::SEARCH_BASES,
            ),
            "contraband" => ("Contraband or evidence found, codes separated by ';'", super::CONTRABAND),
            "results" => ("Results, codes separated by ';'", super::RESULTS),
            "exception" => {
                ("Why the officer was not authorized for a 287(g) action that day; empty otherwise", &[])
            }
            _ => ("Flag: 1 yes, 0 no", &[]),
        }
    };
    let native = NATIVE_COLUMNS.iter().map(|name| {
        let (meaning, codes) = meaning(name);
        Column { name, meaning, codes }
    });
    let others: Vec<(&'static str, &'static [&'static str], &'static str)> = vec![
        (
            "Arrests",
            &crate::exchange::ARREST_COLUMNS,
            "Dates YYYY-MM-DD and times HH:MM; the officer by badge; the linked stop by its number; flags 1 or 0; offense_class felony, misdemeanor or infraction; priority_level 1, 2, 3 or none; arrest_type on_view, warrant or summons; a transfer or a release (date and time), not both; perceived_race codes separated by ';'. person_name and person_dob are left out of downloads for roles that may not see them.",
        ),
        (
            "Complaints",
            &crate::exchange::COMPLAINT_COLUMNS,
            "channel in_person, phone, mail, email, online or referral; allegation excessive_force, profiling, unlawful_stop_search_arrest, discourtesy or other; officer_badges separated by ';'; forwarded_to ice_opr and/or dhs_crcl with forwarded_on; disposition pending, sustained, not_sustained, exonerated or unfounded, with closed_on once closed.",
        ),
        (
            "Pay periods",
            &crate::exchange::PAY_COLUMNS,
            "One row per officer and pay period (at most a month); money in dollars; 287(g) overtime hours.",
        ),
        (
            "Quarterly leads",
            &crate::exchange::LEADS_COLUMNS,
            "quarter as YYYY-Qn; leads located at most leads received.",
        ),
    ];
    DictionaryPage { page, native: native.collect(), opp: &OPP_COLUMNS, others }
}
