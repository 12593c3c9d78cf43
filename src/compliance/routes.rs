//! The compliance roster and the training measures, for records clerks,
//! supervisors, reviewers and auditors; CSV export of the roster.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use time::Date;

use super::measures::training_measures;
use super::{Compliance, STATUSES, Status, assess};
use crate::agency::{self, MODELS, Scope};
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{access, guard};
use crate::error::AppResult;
use crate::measures::{Measure, Period};
use crate::officers::{self, Officer};
use crate::web::{PageCtx, format_date, spreadsheet_safe};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/compliance", get(route_get_compliance))
        .route("/compliance/export", post(route_post_export))
        .route_layer(middleware::from_fn_with_state((state.clone(), access::ROSTER_READERS), guard))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RosterQuery {
    #[serde(default)]
    model: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub struct RosterRow {
    pub officer: Officer,
    pub model: &'static str,
    pub compliance: Compliance,
}

/// Every designated officer for every model they hold, with the filters.
fn roster(
    officers: &[Officer],
    evidence: &officers::authorization::EvidenceSet,
    query: &RosterQuery,
    today: Date,
) -> Vec<RosterRow> {
    let mut rows = Vec::new();
    for officer in officers {
        let ev = evidence.of(officer.id);
        for (model, _) in MODELS.iter().filter(|(m, _)| ev.designations.iter().any(|d| d.model == *m)) {
            if !query.model.is_empty() && query.model != *model {
                continue;
            }
            let compliance = assess(officer, &ev, model, today);
            if !query.status.is_empty() && compliance.status.code() != query.status {
                continue;
            }
            rows.push(RosterRow { officer: officer.clone(), model, compliance });
        }
    }
    rows
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/roster.html")]
struct RosterPage {
    page: PageCtx,
    query: RosterQuery,
    period: Period,
    period_error: Option<&'static str>,
    measures: Vec<Measure>,
    rows: Vec<RosterRow>,
    counts: Vec<(&'static str, &'static str, usize)>,
    today: String,
    models: &'static [(&'static str, &'static str)],
    statuses: &'static [(Status, &'static str, &'static str)],
}

impl RosterPage {
    fn measures_caption(&self) -> String {
        format!(
            "Each measure with its definition and target; the previous period is {}",
            self.period.previous().label()
        )
    }
}

async fn route_get_compliance(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<RosterQuery>,
) -> AppResult<RosterPage> {
    let today = agency::store::get(&scope).await?.today();
    let (period, period_error) = crate::measures::period_from(&query.from, &query.to, today);
    let officers = officers::routes::roster(&state, &page).await?;
    let evidence = officers::routes::evidence(&state, &page).await?;
    let measures = training_measures(&officers, &evidence, period);
    let every_status = RosterQuery { model: query.model.clone(), ..Default::default() };
    let all = roster(&officers, &evidence, &every_status, today);
    let counts = STATUSES
        .iter()
        .map(|(s, code, label)| (*code, *label, all.iter().filter(|r| r.compliance.status == *s).count()))
        .collect();
    let rows = all
        .into_iter()
        .filter(|r| query.status.is_empty() || r.compliance.status.code() == query.status)
        .collect();
    Ok(RosterPage {
        page,
        query,
        period,
        period_error,
        measures,
        rows,
        counts,
        today: format_date(today),
        models: &MODELS,
        statuses: &STATUSES,
    })
}

async fn route_post_export(
    scope: Scope,
    actor: Actor,
    Form(query): Form<RosterQuery>,
) -> AppResult<Response> {
    let today = agency::store::get(&scope).await?.today();
    let officers = officers::store::list(&scope, &Default::default()).await?;
    let evidence = officers::store::evidence(&scope).await?;
    let rows = roster(&officers, &evidence, &query, today);
    let mut out = csv::Writer::from_writer(Vec::new());
    let header_row = ["badge", "last_name", "first_name", "model", "status", "reason", "next_due", "as_of"];
    let write = |out: &mut csv::Writer<Vec<u8>>, row: &[String]| {
        out.write_record(row.iter().map(|c| spreadsheet_safe(c)))
            .map_err(|e| crate::error::AppError::Internal(e.into()))
    };
    write(&mut out, &header_row.map(String::from))?;
    for r in &rows {
        write(
            &mut out,
            &[
                r.officer.badge.clone(),
                r.officer.last_name.clone(),
                r.officer.first_name.clone(),
                r.model.to_string(),
                r.compliance.status.label().to_string(),
                r.compliance.reason.clone(),
                r.compliance.next_due_text(),
                format_date(today),
            ],
        )?;
    }
    let body = out.into_inner().map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("{e}")))?;
    let details = serde_json::json!({ "rows": rows.len(), "model": query.model, "status": query.status });
    let mut tx = scope.begin_write().await?;
    audit::record(&mut tx, &actor, Event::new("roster.export", "compliance_roster", "").details(details))
        .await?;
    tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"compliance-roster-{}.csv\"", format_date(today)),
            ),
        ],
        body,
    )
        .into_response())
}
