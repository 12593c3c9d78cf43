//! The reports page: reviewers and auditors generate and download reports,
//! reviewers comment on them, auditors verify a file they were given.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::Report;
use super::store::{self, Comment, Verdict};
use crate::agency::Scope;
use crate::app::AppState;
use crate::audit::{Actor, Event};
use crate::auth::{Role, guard, see_other};
use crate::error::{AppError, AppResult};
use crate::measures::Period;
use crate::web::{FieldErrors, PageCtx, flash, unprocessable};

/// Who reads issued reports and their comments.
pub const READERS: &[Role] = &[Role::Reviewer, Role::Auditor, Role::Administrator];
/// Who generates them: the oversight panel and the auditor.
pub const GENERATORS: &[Role] = &[Role::Reviewer, Role::Auditor];

pub fn router(state: &AppState) -> Router<AppState> {
    let layer = |roles: &'static [Role]| middleware::from_fn_with_state((state.clone(), roles), guard);
    let read = Router::new()
        .route("/reports", get(route_get_reports))
        .route("/reports/{id}/download", get(route_get_download))
        .route_layer(layer(READERS));
    let generate = Router::new().route("/reports", post(route_post_reports)).route_layer(layer(GENERATORS));
    let comment = Router::new()
        .route("/reports/{id}/comments", post(route_post_comment))
        .route_layer(layer(&[Role::Reviewer]));
    let prove = Router::new()
        .route("/reports/{id}/prove-record", get(route_get_prove).post(route_post_prove))
        .route_layer(layer(crate::auth::access::AUDITORS));
    let verify = Router::new()
        .route("/reports/verify", get(route_get_verify).post(route_post_verify))
        .layer(DefaultBodyLimit::max(crate::documents::routes::body_limit(state.config.upload_limit)))
        .route_layer(layer(crate::auth::access::AUDITORS));
    read.merge(generate).merge(comment).merge(prove).merge(verify)
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

impl GenerateForm {
    /// The period asked for, or each wrong field marked.
    pub fn period(&self) -> Result<Period, FieldErrors> {
        let mut errors = FieldErrors::default();
        let from = crate::web::parse_date(&self.from);
        let to = crate::web::parse_date(&self.to);
        if from.is_none() {
            errors.add("from", "Enter the first day as YYYY-MM-DD.");
        }
        if to.is_none() {
            errors.add("to", "Enter the last day as YYYY-MM-DD.");
        }
        let period = from.zip(to).and_then(|(f, t)| Period::new(f, t));
        if from.is_some() && to.is_some() && period.is_none() {
            errors.add("to", "The last day must not be before the first.");
        }
        period.filter(|_| errors.is_empty()).ok_or(errors)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/list.html")]
struct ListPage {
    page: PageCtx,
    reports: Vec<Report>,
    comments: Vec<Comment>,
    form: GenerateForm,
    errors: FieldErrors,
    quarters: Vec<(String, String, String)>,
    can_generate: bool,
    can_comment: bool,
    can_prove: bool,
    /// A refused comment: the report, the text as typed, and why.
    refused: Option<RefusedComment>,
}

pub struct RefusedComment {
    report_id: i64,
    body: String,
    errors: FieldErrors,
}

/// The field of a refused comment: its textarea's id, so the error
/// summary's link lands on it.
const COMMENT_FIELD: &str = "comment";

impl ListPage {
    fn comments_of(&self, report: &Report) -> Vec<&Comment> {
        self.comments.iter().filter(|c| c.report_id == report.id).collect()
    }

    /// The refused comment when it was written on `report`.
    fn refused_on(&self, report: &Report) -> Option<&RefusedComment> {
        self.refused.as_ref().filter(|r| r.report_id == report.id)
    }

    /// The comment box's id: the refused one carries the error field's
    /// name, the others one per report.
    fn comment_id(&self, report: &Report) -> String {
        match self.refused_on(report) {
            Some(_) => COMMENT_FIELD.to_string(),
            None => format!("comment-{}", report.id),
        }
    }
}

/// The last eight whole quarters, newest first: (label, from, to).
pub fn quarters(today: time::Date) -> Vec<(String, String, String)> {
    let mut start = Period::quarter_to_date(today).from;
    let mut out = Vec::new();
    for _ in 0..8 {
        let end = start - time::Duration::days(1);
        start = Period::quarter_to_date(end).from;
        let q = (start.month() as u8 - 1) / 3 + 1;
        out.push((
            format!("{} Q{q}", start.year()),
            crate::web::format_date(start),
            crate::web::format_date(end),
        ));
    }
    out
}

async fn list_page(
    scope: &Scope,
    page: PageCtx,
    form: GenerateForm,
    errors: FieldErrors,
) -> AppResult<ListPage> {
    let today = crate::agency::store::get(scope).await?.today();
    Ok(ListPage {
        reports: store::list(scope).await?,
        comments: store::comments(scope).await?,
        quarters: quarters(today),
        can_generate: page.user.as_ref().is_some_and(|u| u.has_any(GENERATORS)),
        can_comment: page.has_role(Role::Reviewer),
        can_prove: page.has_role(Role::Auditor),
        refused: None,
        form,
        errors,
        page,
    })
}

async fn route_get_reports(scope: Scope, page: PageCtx) -> AppResult<ListPage> {
    list_page(&scope, page, GenerateForm::default(), FieldErrors::default()).await
}

async fn route_post_reports(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<GenerateForm>,
) -> AppResult<Response> {
    let period = match form.period() {
        Ok(period) => period,
        Err(errors) => return Ok(unprocessable(list_page(&scope, page, form, errors).await?)),
    };
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let (report, _) =
        store::generate(&scope, &state.files, &actor, &user.display_name, period, &state.signing_key)
            .await
            .map_err(AppError::Internal)?;
    flash(&session, format!("Report {} for {} generated.", report.number, report.period_text())).await?;
    Ok(see_other("/reports"))
}

async fn route_get_download(
    State(state): State<AppState>,
    scope: Scope,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    download(&state, &scope, &actor, id).await
}

/// One of the agency's reports as a PDF attachment; the download is
/// recorded in the agency's log (whoever downloads it, the state too).
pub async fn download(state: &AppState, scope: &Scope, actor: &Actor, id: i64) -> AppResult<Response> {
    let report = store::get(scope, id).await?;
    let bytes = state.files.read(&report.file_name).map_err(|e| AppError::Internal(e.into()))?;
    let event =
        Event::new("report.download", "report", id).details(serde_json::json!({ "number": report.number }));
    crate::audit::record_in(scope, actor, event).await?;
    Ok(pdf_attachment(&format!("oversight-report-{}.pdf", report.number), bytes))
}

/// A PDF as a download named `name`.
pub fn pdf_attachment(name: &str, bytes: Vec<u8>) -> Response {
    crate::web::attachment(name, "application/pdf", bytes)
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

async fn route_post_comment(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    let report = store::get(&scope, id).await?;
    let body = form.body.trim();
    let mut errors = FieldErrors::default();
    if body.is_empty() {
        errors.add(COMMENT_FIELD, "Write the comment before adding it.");
    } else if body.chars().count() > 2000 {
        errors.add(
            COMMENT_FIELD,
            format!("A comment is at most 2,000 characters; this one has {}.", body.chars().count()),
        );
    }
    if !errors.is_empty() {
        let mut view = list_page(&scope, page, GenerateForm::default(), FieldErrors::default()).await?;
        view.refused = Some(RefusedComment { report_id: report.id, body: form.body, errors });
        return Ok(unprocessable(view));
    }
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    store::add_comment(&scope, &actor, report.id, user.id, &user.display_name, body).await?;
    flash(&session, format!("Comment added to report {}.", report.number)).await?;
    Ok(see_other(&format!("/reports#report-{id}")))
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/verify.html")]
pub struct VerifyPage {
    page: PageCtx,
    verdict: Option<Verdict>,
    errors: FieldErrors,
    /// Where the form posts, the page it came from, and whose reports a
    /// file is checked against: the agency's, or the deployment's (the
    /// state auditor's page).
    action: &'static str,
    back: &'static str,
    back_text: &'static str,
    issuer: &'static str,
}

impl VerifyPage {
    fn agency(page: PageCtx, verdict: Option<Verdict>, errors: FieldErrors) -> Self {
        let (action, back, back_text) = ("/reports/verify", "/reports", "Oversight reports");
        VerifyPage { page, verdict, errors, action, back, back_text, issuer: "this system" }
    }

    pub fn state(page: PageCtx, verdict: Option<Verdict>, errors: FieldErrors) -> Self {
        let (action, back, back_text) = ("/state/reports/verify", "/state/reports", "Statewide reports");
        VerifyPage {
            page,
            verdict,
            errors,
            action,
            back,
            back_text,
            issuer: "this deployment (any agency or the state)",
        }
    }
}

async fn route_get_verify(page: PageCtx) -> VerifyPage {
    VerifyPage::agency(page, None, FieldErrors::default())
}

/// The uploaded file's SHA-256, hashed as it streams in (nothing of it is
/// kept), or the page saying a file is needed.
pub async fn uploaded_sha256(
    state: &AppState,
    multipart: Multipart,
) -> AppResult<Result<String, FieldErrors>> {
    let submitted = crate::documents::routes::read_form(multipart, None, state.config.upload_limit).await?;
    let Some((_, file)) = submitted.file else {
        let mut errors = FieldErrors::default();
        errors.add("file", "Choose the report's PDF file.");
        return Ok(Err(errors));
    };
    Ok(Ok(file.sha256()))
}

async fn route_post_verify(
    State(state): State<AppState>,
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    multipart: Multipart,
) -> AppResult<Response> {
    let sha256 = match uploaded_sha256(&state, multipart).await? {
        Ok(sha256) => sha256,
        Err(errors) => return Ok(unprocessable(VerifyPage::agency(page, None, errors))),
    };
    let verdict = store::verify_sha256(&scope, sha256, &state.signing_key).await?;
    store::record_verification(&state.db, &actor, &verdict).await?;
    Ok(VerifyPage::agency(page, Some(verdict), FieldErrors::default()).into_response())
}

/// The record to prove part of a report, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProveForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    record_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/prove.html")]
struct ProvePage {
    page: PageCtx,
    report: Report,
    form: ProveForm,
    errors: FieldErrors,
    /// Each kind's code and how the list names it.
    kinds: Vec<(&'static str, String)>,
}

async fn route_get_prove(scope: Scope, page: PageCtx, Path(id): Path<i64>) -> AppResult<ProvePage> {
    let report = store::get(&scope, id).await?;
    let form = ProveForm { kind: "stop".into(), record_id: String::new() };
    Ok(ProvePage { page, report, form, errors: FieldErrors::default(), kinds: kinds() })
}

/// The proof as a text download, or the form again with what was typed
/// and why no proof could be given (docs/fingerprints.md).
async fn route_post_prove(
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<ProveForm>,
) -> AppResult<Response> {
    let report = store::get(&scope, id).await?;
    let mut errors = FieldErrors::default();
    if !store::RECORD_KINDS.contains(&form.kind.as_str()) {
        errors.add("kind", "Choose the kind of record.");
    }
    let record_id = form.record_id.trim().parse::<i64>().ok().filter(|n| *n > 0);
    if record_id.is_none() {
        errors.add("record_id", "Enter the record's number, a whole number such as 4821.");
    }
    if let (Some(record_id), true) = (record_id, errors.is_empty()) {
        match store::prove_record(&scope, &actor, &report.file_sha256, &form.kind, record_id).await {
            Ok(proved) => return Ok(proof_attachment(&proved)),
            Err(store::NoRecordProof::Database(e)) => return Err(e.into()),
            Err(why) => errors.add("record_id", format!("No proof: {why}.")),
        }
    }
    Ok(unprocessable(ProvePage { page, report, form, errors, kinds: kinds() }))
}

fn kinds() -> Vec<(&'static str, String)> {
    store::RECORD_KINDS.iter().map(|k| (*k, k.replace('_', " "))).collect()
}

fn proof_attachment(proved: &store::ProvedRecord) -> Response {
    let (report, proof) = (&proved.report, &proved.proof);
    let name = format!("record-proof-{}-{}-{}.txt", report.number, proof.kind, proof.id);
    crate::web::attachment(&name, "text/plain; charset=utf-8", proved.text())
}
