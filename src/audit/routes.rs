//! The auditor's pages: the log with filters, the head hash, verification
//! of the whole chain, and the JSON Lines export.

use askama::Template;
use askama_web::WebTemplate;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Deserialize;

use super::checkpoint::SigningKey;
use super::store::{self, Filter};
use super::{Actor, Entry, Event, Verdict};
use crate::agency::Scope;
use crate::app::AppState;
use crate::auth::{access, guard};
use crate::error::AppResult;
use crate::web::{PageCtx, Paging, parse_date};

pub fn router(state: &AppState) -> Router<AppState> {
    // Only the export check takes a file: only it gets the upload limit.
    let upload = crate::documents::routes::body_limit(state.config.upload_limit);
    let check = Router::new()
        .route("/audit/check-export", post(route_post_check_export))
        .layer(axum::extract::DefaultBodyLimit::max(upload));
    Router::new()
        .route("/audit", get(route_get_audit))
        .route("/audit/verify", post(route_post_verify))
        .route("/audit/export", post(route_post_export))
        .route("/audit/checkpoint", post(route_post_checkpoint))
        .route("/audit/prove", post(route_post_prove))
        .merge(check)
        .route_layer(middleware::from_fn_with_state((state.clone(), access::AUDITORS), guard))
}

const PER_PAGE: i64 = 50;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl AuditQuery {
    /// The log opened, not paged through.
    pub fn is_first_view(&self) -> bool {
        self.page.is_none()
    }

    fn filter(&self) -> (Filter, Vec<&'static str>) {
        let mut problems = Vec::new();
        let day_start =
            |v: &str| parse_date(v).map(|d| d.midnight().assume_utc().unix_timestamp() * 1_000_000);
        let from_us = if self.from.is_empty() { None } else { day_start(&self.from) };
        let to_us =
            if self.to.is_empty() { None } else { day_start(&self.to).map(|t| t + 86_400_000_000 - 1) };
        if !self.from.is_empty() && from_us.is_none() {
            problems.push("from");
        }
        if !self.to.is_empty() && to_us.is_none() {
            problems.push("to");
        }
        let filter = Filter {
            username: self.user.trim().to_string(),
            action: self.action.trim().to_string(),
            object_kind: self.kind.trim().to_string(),
            object_id: self.object.trim().to_string(),
            from_us,
            to_us,
        };
        (filter, problems)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/list.html")]
pub struct ListPage {
    page: PageCtx,
    /// Where the page and its forms are: /audit, or the state's view of an
    /// agency's log.
    base: String,
    /// The agency's name, when the state is reading its log.
    agency: Option<String>,
    query: AuditQuery,
    bad_dates: Vec<&'static str>,
    entries: Vec<Entry>,
    total: i64,
    paging: Paging,
    pages: i64,
    head: Option<(i64, String)>,
    actions: Vec<String>,
    kinds: Vec<String>,
    verdict: Option<Verdict>,
    /// The newest signed checkpoint of the chain, and the key to check it.
    checkpoint: Option<store::Signed>,
    verifier_key: String,
    /// The entry number typed in "Prove an entry", kept on an error.
    prove_entry: String,
    prove_error: Option<String>,
    /// "Check an export against a checkpoint": the checkpoint as pasted
    /// (kept on an error), what was wrong with the form, and the result.
    export_checkpoint: String,
    export_error: Option<String>,
    export_check: Option<(bool, String)>,
}

impl ListPage {
    fn link(&self, page: i64) -> String {
        let q = &self.query;
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", &q.user),
            ("action", &q.action),
            ("kind", &q.kind),
            ("object", &q.object),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            if !v.is_empty() {
                url.append_pair(k, v);
            }
        }
        url.append_pair("page", &page.to_string());
        format!("{}?{}", self.base, url.finish())
    }
}

/// Where a log page is shown: its address, and the agency's name when the
/// reader is the state's.
pub struct At {
    pub base: String,
    pub agency: Option<String>,
    /// The deployment's signing key, for checkpoints and proofs.
    pub key: Arc<SigningKey>,
}

impl At {
    fn agency_own(state: &AppState) -> At {
        At { base: "/audit".into(), agency: None, key: state.signing_key.clone() }
    }
}

/// The page of the log `scope` names, filtered by `query`.
pub async fn list_page(
    scope: &Scope,
    page: PageCtx,
    query: AuditQuery,
    verdict: Option<Verdict>,
    at: At,
) -> AppResult<ListPage> {
    let (filter, bad_dates) = query.filter();
    let total = store::count(scope, &filter).await?;
    let paging = Paging::new(query.page, PER_PAGE);
    let entries = store::page(scope, &filter, PER_PAGE, paging.offset()).await?;
    let verifier_key = at.key.verifier(&store::origin(scope).await?).encode();
    Ok(ListPage {
        checkpoint: store::latest_checkpoint(scope).await?,
        verifier_key,
        prove_entry: String::new(),
        prove_error: None,
        export_checkpoint: String::new(),
        export_error: None,
        export_check: None,
        page,
        base: at.base,
        agency: at.agency,
        bad_dates,
        entries,
        total,
        pages: paging.pages(total),
        paging,
        head: store::head(scope).await?,
        actions: store::distinct(scope, "action").await?,
        kinds: store::distinct(scope, "object_kind").await?,
        verdict,
        query,
    })
}

async fn route_get_audit(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<AuditQuery>,
) -> AppResult<ListPage> {
    list_page(&scope, page, query, None, At::agency_own(&state)).await
}

#[derive(Deserialize, Default)]
pub struct VerifyForm {
    /// A head the auditor holds (printed on a report); optional.
    #[serde(default)]
    expect_head: String,
}

async fn route_post_verify(
    State(state): State<AppState>,
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    axum::Form(form): axum::Form<VerifyForm>,
) -> AppResult<ListPage> {
    verify(&scope, &actor, page, form, At::agency_own(&state)).await
}

async fn route_post_checkpoint(State(state): State<AppState>, scope: Scope) -> AppResult<Response> {
    checkpoint(&scope, &state.signing_key).await
}

/// A checkpoint of the log at its head, signed now, as a file to keep.
pub async fn checkpoint(scope: &Scope, key: &SigningKey) -> AppResult<Response> {
    let Some(signed) = store::checkpoint(scope, key).await? else {
        return Err(crate::error::AppError::NotFound);
    };
    let origin = store::origin(scope).await?;
    let name = format!("checkpoint-{}-{}.txt", origin.trim_start_matches("oversight-ledger/"), signed.size);
    Ok(text_file(&name, signed.note))
}

#[derive(Deserialize, Default)]
pub struct ProveForm {
    #[serde(default)]
    entry: String,
}

async fn route_post_prove(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    axum::Form(form): axum::Form<ProveForm>,
) -> AppResult<Response> {
    prove(&scope, page, form, At::agency_own(&state)).await
}

/// The inclusion proof of one entry in the newest checkpoint (the one the
/// page shows; signed now if there is none or it predates the entry), as a file
/// (`tools/verify_audit.py inclusion` checks it); a number that names no
/// entry gets the page again with the number kept and a message.
pub async fn prove(scope: &Scope, page: PageCtx, form: ProveForm, at: At) -> AppResult<Response> {
    let head = store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0);
    let seq = form.entry.trim().parse::<i64>().ok().filter(|n| (1..=head).contains(n));
    let Some(seq) = seq else {
        let mut view = list_page(scope, page, AuditQuery::default(), None, at).await?;
        view.prove_error = Some(if head == 0 {
            "The log is empty: there is no entry to prove.".to_string()
        } else {
            format!("Enter an entry number from 1 to {head}.")
        });
        view.prove_entry = form.entry;
        return Ok(crate::web::unprocessable(view));
    };
    let signed = match store::latest_checkpoint(scope).await? {
        Some(latest) if latest.size >= seq as u64 => latest,
        _ => store::checkpoint(scope, &at.key).await?.ok_or(crate::error::AppError::NotFound)?,
    };
    let leaf = store::entry_hash(scope, seq).await?.ok_or(crate::error::AppError::NotFound)?;
    let hashes = store::inclusion_proof(scope, seq as u64, signed.size).await?;
    let origin = store::origin(scope).await?;
    let proof = super::proof::Inclusion { origin, seq: seq as u64, size: signed.size, leaf, hashes };
    Ok(text_file(&format!("entry-{seq}-in-{}.proof", signed.size), proof.encode()))
}

async fn route_post_check_export(
    State(state): State<AppState>,
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    multipart: axum::extract::Multipart,
) -> AppResult<Response> {
    let submitted =
        crate::documents::routes::read_form(multipart, Some(&state.files), state.config.upload_limit).await?;
    let mut view = list_page(&scope, page, AuditQuery::default(), None, At::agency_own(&state)).await?;
    view.export_checkpoint = submitted.fields.get("checkpoint").cloned().unwrap_or_default();
    match check_export(&state, &scope, submitted).await? {
        Ok(found) => {
            let outcome = if found.is_ok() { super::Outcome::Success } else { super::Outcome::Failure };
            let event = Event::new("audit.check_export", "audit_log", "")
                .outcome(outcome)
                .details(serde_json::json!({ "result": found.message() }));
            super::record_in(&scope, &actor, event).await?;
            view.export_check = Some((found.is_ok(), found.message()));
            Ok(view.into_response())
        }
        Err(why) => {
            view.export_error = Some(why);
            Ok(crate::web::unprocessable(view))
        }
    }
}

/// An uploaded export checked against a pasted checkpoint of this log, as
/// `oversight audit verify FILE --checkpoint C` does; the upload is read
/// once and removed. Err: what to fix in the form.
async fn check_export(
    state: &AppState,
    scope: &Scope,
    submitted: crate::documents::routes::Submitted,
) -> AppResult<Result<super::proof::ExportCheck, String>> {
    let note = submitted.fields.get("checkpoint").map(|n| n.trim().replace("\r\n", "\n")).unwrap_or_default();
    let Some((_, incoming)) = submitted.file else {
        return Ok(Err("Choose the exported log (the .jsonl file the export button downloads).".into()));
    };
    let stored = incoming.keep().await.map_err(|e| crate::error::AppError::Internal(e.into()))?;
    let bytes = state.files.read(&stored.name);
    state.files.remove(&stored.name);
    let bytes = bytes.map_err(|e| crate::error::AppError::Internal(e.into()))?;
    if note.is_empty() {
        return Ok(Err("Paste the signed checkpoint to check the export against.".into()));
    }
    let verifier = state.signing_key.verifier(&store::origin(scope).await?);
    let checkpoint = match verifier.open(&format!("{note}\n")) {
        Ok(c) => c,
        Err(why) => {
            return Ok(Err(format!(
                "The checkpoint is not one of this log signed by this deployment: {why}."
            )));
        }
    };
    Ok(Ok(super::proof::check_export(bytes.as_slice(), &checkpoint)))
}

fn text_file(name: &str, body: String) -> Response {
    crate::web::attachment(name, "text/plain; charset=utf-8", body)
}

/// Verification reads the whole chain, checks that it reaches the head
/// the auditor holds (when given), and records in the chain that it was
/// run.
pub async fn verify(
    scope: &Scope,
    actor: &Actor,
    page: PageCtx,
    form: VerifyForm,
    at: At,
) -> AppResult<ListPage> {
    let held = Some(form.expect_head.trim()).filter(|h| !h.is_empty());
    let verdict = store::verify_expecting(scope, held).await?;
    let outcome = if verdict.is_ok() { super::Outcome::Success } else { super::Outcome::Failure };
    let event = Event::new("audit.verify", "audit_log", "")
        .outcome(outcome)
        .details(serde_json::json!({ "result": verdict.message() }));
    super::record_in(scope, actor, event).await?;
    list_page(scope, page, AuditQuery::default(), Some(verdict), at).await
}

async fn route_post_export(scope: Scope, actor: Actor) -> AppResult<Response> {
    export(&scope, &actor).await
}

/// The export's own audit entry is written first, in the chain exported,
/// so the file ends with the record of its making.
pub async fn export(scope: &Scope, actor: &Actor) -> AppResult<Response> {
    super::record_in(
        scope,
        actor,
        Event::new("audit.export", "audit_log", "").details(serde_json::json!({ "format": "jsonl" })),
    )
    .await?;
    let mut body = Vec::new();
    store::export(scope, &mut body).await?;
    let name = format!("audit-log-{}.jsonl", crate::web::format_date(time::OffsetDateTime::now_utc().date()));
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}
