//! The auditor's pages: the log with filters, the head hash, verification
//! of the whole chain, and the JSON Lines export.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Deserialize;

use super::store::{self, Filter};
use super::{Actor, Entry, Event, Verdict};
use crate::agency::Scope;
use crate::app::AppState;
use crate::auth::{access, guard};
use crate::error::AppResult;
use crate::web::{PageCtx, Paging, parse_date};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/audit", get(route_get_audit))
        .route("/audit/verify", post(route_post_verify))
        .route("/audit/export", post(route_post_export))
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
}

impl At {
    fn agency_own() -> At {
        At { base: "/audit".into(), agency: None }
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
    Ok(ListPage {
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
    scope: Scope,
    page: PageCtx,
    Query(query): Query<AuditQuery>,
) -> AppResult<ListPage> {
    list_page(&scope, page, query, None, At::agency_own()).await
}

#[derive(Deserialize, Default)]
pub struct VerifyForm {
    /// A head the auditor holds (printed on a report); optional.
    #[serde(default)]
    expect_head: String,
}

async fn route_post_verify(
    scope: Scope,
    actor: Actor,
    page: PageCtx,
    axum::Form(form): axum::Form<VerifyForm>,
) -> AppResult<ListPage> {
    verify(&scope, &actor, page, form, At::agency_own()).await
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
