//! Supervision pages: the queue (supervisors decide, clerks see what came
//! back to them), the review page where a supervisor signs with their
//! password, bulk approval, and the measures page that reviewers and
//! auditors read.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;
use tower_sessions::Session;

use super::measures::{Inputs, Workload, bounds, supervision_measures, workload};
use super::store::{self, Record, Request, Reviewer, SignError};
use super::{DECISIONS, Decision, Item, RecordKind, SignOff, State as ItemState};
use crate::agency::{self, Scope};
use crate::app::AppState;
use crate::arrests::{Arrest, CustodyCheck, sees_personal_data};
use crate::audit::{Actor, Entry};
use crate::auth::{Role, guard, see_other};
use crate::db::now_unix;
use crate::error::{AppError, AppResult};
use crate::measures::{Measure, Period};
use crate::officers::{self, Officer};
use crate::stops::Stop;
use crate::web::{FieldErrors, PageCtx, flash, parse_date, unprocessable};

/// Who decides on 287(g) actions; administrators never sign (docs/security.md).
pub const SUPERVISORS: &[Role] = &[Role::Supervisor];
/// The queue: supervisors to decide, clerks to see what was returned.
pub const QUEUE_READERS: &[Role] = &[Role::Supervisor, Role::Clerk];
/// The supervision measures and every sign-off with its fingerprint.
pub const MEASURE_READERS: &[Role] = &[Role::Supervisor, Role::Reviewer, Role::Auditor, Role::Administrator];

pub fn router(state: &AppState) -> Router<AppState> {
    let layer = |roles: &'static [Role]| middleware::from_fn_with_state((state.clone(), roles), guard);
    let queue =
        Router::new().route("/supervision/queue", get(route_get_queue)).route_layer(layer(QUEUE_READERS));
    let sign = Router::new()
        .route("/supervision/review/{kind}/{id}", get(route_get_review).post(route_post_review))
        .route("/supervision/bulk", post(route_post_bulk))
        .route_layer(layer(SUPERVISORS));
    let read =
        Router::new().route("/supervision", get(route_get_measures)).route_layer(layer(MEASURE_READERS));
    let settings = Router::new()
        .route("/supervision/settings", post(route_post_settings))
        .route_layer(layer(crate::auth::access::ADMINISTRATORS));
    queue.merge(sign).merge(read).merge(settings)
}

/// The last counts of each agency, by its chain: (audit head, computed at,
/// (waiting, overdue, returned)).
pub type CountsCache = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<i64, (crate::audit::Head, i64, (usize, usize, usize))>>,
>;

/// Waiting, overdue and returned counts of the agency for the navigation.
pub async fn counts(
    state: &AppState,
    scope: &Scope,
    head: Option<crate::audit::Head>,
) -> AppResult<(usize, usize, usize)> {
    // Every supervisor's page shows these; they change only when a record
    // or decision changes (a new audit entry in the agency's chain) or as
    // time makes items overdue, so one computation serves for a minute at
    // the same head. A head of another chain than the agency's is not used.
    let head = match head {
        Some(head) if head.chain == scope.id() => head,
        _ => crate::audit::Head {
            chain: scope.id(),
            seq: crate::audit::store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0),
        },
    };
    let now = now_unix();
    let cached = state.queue_counts.lock().ok().and_then(|c| c.get(&head.chain).copied());
    if let Some((at_head, at, counts)) = cached {
        if at_head == head && now - at < 60 {
            return Ok(counts);
        }
    }
    let counts = compute_counts(scope).await?;
    if let Ok(mut cached) = state.queue_counts.lock() {
        cached.insert(head.chain, (head, now, counts));
    }
    Ok(counts)
}

async fn compute_counts(scope: &Scope) -> AppResult<(usize, usize, usize)> {
    let (time_zone, deadline) = settings(scope).await?;
    let items = store::items(scope, &[], &time_zone).await?;
    let now = now_unix();
    let waiting = items.iter().filter(|i| i.state.awaits_supervisor()).count();
    let overdue = items.iter().filter(|i| i.overdue(now, deadline)).count();
    let returned = items.iter().filter(|i| i.state == ItemState::Returned).count();
    Ok((waiting, overdue, returned))
}

async fn settings(scope: &Scope) -> AppResult<(String, i64)> {
    let profile = agency::store::get(scope).await?;
    Ok((profile.time_zone, store::deadline_days(scope).await?))
}

// ---------------------------------------------------------------- queue

#[derive(Clone, Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    officer: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    overdue: String,
}

/// A queue row: the item, its fingerprint now, and whether the viewer may
/// decide on it.
pub struct QueueRow {
    pub item: Item,
    pub hash: String,
    pub own: Option<&'static str>,
    pub overdue: bool,
    pub age: String,
}

impl QueueRow {
    pub fn value(&self) -> String {
        let latest = self.item.latest.as_ref().map(|s| s.id).unwrap_or(0);
        format!("{}:{}:{}:{}", self.item.kind.as_str(), self.item.id, latest, self.hash)
    }
}

/// At most this many rows are shown; the counts say how many there are.
const QUEUE_ROWS: usize = 200;

#[derive(Template, WebTemplate)]
#[template(path = "supervision/queue.html")]
struct QueuePage {
    page: PageCtx,
    query: QueueQuery,
    officers: std::sync::Arc<Vec<Officer>>,
    rows: Vec<QueueRow>,
    waiting: usize,
    overdue: usize,
    returned: Vec<Item>,
    deadline: i64,
    supervisor: bool,
    errors: FieldErrors,
    selected: Vec<String>,
}

impl QueuePage {
    /// Keeps the boxes a refused bulk step had ticked.
    fn is_selected(&self, row: &QueueRow) -> bool {
        self.selected.contains(&row.value())
    }
}

async fn queue_page(
    state: &AppState,
    scope: &Scope,
    page: PageCtx,
    query: QueueQuery,
    errors: FieldErrors,
    selected: Vec<String>,
) -> AppResult<QueuePage> {
    let (time_zone, deadline) = settings(scope).await?;
    let officers = officers::routes::roster(state, &page).await?;
    let items = store::items(scope, &officers, &time_zone).await?;
    let now = now_unix();
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let supervisor = user.has(Role::Supervisor);
    let reviewer = store::reviewer(scope, user.id).await?;
    let written = store::written_by(scope, user.id).await?;
    let waiting_items: Vec<&Item> = items.iter().filter(|i| i.state.awaits_supervisor()).collect();
    let waiting = waiting_items.len();
    let overdue = waiting_items.iter().filter(|i| i.overdue(now, deadline)).count();
    let officer_filter: Option<i64> = query.officer.parse().ok();
    let mut rows = Vec::new();
    for item in waiting_items {
        let shown = officer_filter.is_none_or(|o| item.officer_id == Some(o))
            && (query.kind.is_empty() || query.kind == item.kind.as_str())
            && (query.overdue != "yes" || item.overdue(now, deadline));
        if !shown || rows.len() == QUEUE_ROWS {
            continue;
        }
        let record = store::load(scope, scope, item.kind, item.id).await?;
        // The records this supervisor wrote were found in one query above.
        let mine = written.contains(&(item.kind.as_str().to_string(), item.id));
        let authors: Vec<i64> = if mine { vec![reviewer.id] } else { Vec::new() };
        rows.push(QueueRow {
            hash: record.fingerprint(),
            own: super::self_review(reviewer.officer_id, reviewer.id, record.officer_id(), &authors),
            overdue: item.overdue(now, deadline),
            age: item.age_text(now),
            item: item.clone(),
        });
    }
    let returned = items.iter().filter(|i| i.state == ItemState::Returned).cloned().collect();
    Ok(QueuePage {
        page,
        query,
        officers,
        rows,
        waiting,
        overdue,
        returned,
        deadline,
        supervisor,
        errors,
        selected,
    })
}

async fn route_get_queue(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Query(query): Query<QueueQuery>,
) -> AppResult<QueuePage> {
    queue_page(&state, &scope, page, query, FieldErrors::default(), Vec::new()).await
}

/// "kind:id:latest:hash" from a queue checkbox.
fn parse_item(value: &str) -> Option<Request> {
    let mut parts = value.split(':');
    let kind = RecordKind::parse(parts.next()?)?;
    let id = parts.next()?.parse().ok()?;
    let seen_latest = parts.next()?.parse().ok()?;
    let seen_hash = parts.next()?.to_string();
    (seen_hash.len() == 64 && parts.next().is_none()).then_some(Request { kind, id, seen_hash, seen_latest })
}

async fn route_post_bulk(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let selected: Vec<String> = pairs.iter().filter(|(k, _)| k == "item").map(|(_, v)| v.clone()).collect();
    let password = pairs.iter().find(|(k, _)| k == "password").map(|(_, v)| v.as_str()).unwrap_or("");
    let mut errors = FieldErrors::default();
    let requests: Vec<Request> = selected.iter().filter_map(|v| parse_item(v)).collect();
    if requests.is_empty() || requests.len() != selected.len() {
        errors.add("items", "Select at least one action to approve.");
    }
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    if password.is_empty() {
        errors.add("password", "Enter your password to sign.");
    }
    if errors.is_empty() {
        reauthenticate(&state, &scope, &actor, user.id, password, &mut errors).await?;
    }
    if errors.is_empty() {
        match sign(&scope, &actor, user.id, &requests, Decision::Approved, "").await? {
            Ok(ids) => {
                flash(
                    &session,
                    format!("{} actions approved, each with its own signed sign-off.", ids.len()),
                )
                .await?;
                return Ok(see_other("/supervision/queue"));
            }
            Err(why) => errors.add("items", format!("Nothing was signed. {why}")),
        }
    }
    let view = queue_page(&state, &scope, page, QueueQuery::default(), errors, selected).await?;
    Ok(unprocessable(view))
}

// --------------------------------------------------------------- review

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    hash: String,
    #[serde(default)]
    latest: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/review.html")]
struct ReviewPage {
    page: PageCtx,
    kind: RecordKind,
    id: i64,
    stop: Option<Stop>,
    arrest: Option<Arrest>,
    personal: bool,
    custody: CustodyCheck,
    officer: String,
    authority: Vec<(String, String)>,
    exception: String,
    history: Vec<Entry>,
    sign_offs: Vec<SignOff>,
    state: ItemState,
    hash: String,
    hashes: Vec<String>,
    latest: i64,
    own: Option<&'static str>,
    form: DecisionForm,
    errors: FieldErrors,
    problem: Option<String>,
    decisions: [(Decision, &'static str, &'static str); 3],
}

impl ReviewPage {
    fn chosen(&self, code: &str) -> bool {
        self.form.decision == code
    }
}

/// The officer's standing on the action's date for each model they hold.
async fn authority(scope: &Scope, record: &Record, officers: &[Officer]) -> AppResult<Vec<(String, String)>> {
    let (Some(id), Some(date)) = (record.officer_id(), parse_date(record.date())) else {
        return Ok(vec![("Officer".into(), "no officer recorded".into())]);
    };
    let Some(officer) = officers.iter().find(|o| o.id == id) else { return Ok(Vec::new()) };
    let evidence = officers::store::evidence(scope).await?;
    let ev = evidence.of(id);
    let mut models: Vec<String> = ev.designations.iter().map(|d| d.model.clone()).collect();
    models.dedup();
    if models.is_empty() {
        return Ok(vec![("287(g)".into(), "not authorized: no 287(g) designation".into())]);
    }
    Ok(models
        .into_iter()
        .map(|m| {
            let standing = officers::authorization::standing(officer, &ev, &m, date);
            let text = if standing.is_authorized() {
                format!("authorized on {}", record.date())
            } else {
                format!("not authorized on {}: {}", record.date(), standing.reason())
            };
            (m, text)
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn review_page(
    state: &AppState,
    scope: &Scope,
    page: PageCtx,
    kind: RecordKind,
    id: i64,
    form: DecisionForm,
    errors: FieldErrors,
    problem: Option<String>,
) -> AppResult<ReviewPage> {
    let record = store::load(scope, scope, kind, id).await?;
    if !record.is_action() {
        return Err(AppError::NotFound);
    }
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let reviewer = store::reviewer(scope, user.id).await?;
    let officers = officers::routes::roster(state, &page).await?;
    let sign_offs = store::for_record(scope, kind, id).await?;
    let hash = record.fingerprint();
    let latest = sign_offs.last();
    let state_now = ItemState::of(latest, latest.is_none_or(|s| record.matches(s)));
    let personal = sees_personal_data(&user.roles);
    let today = agency::store::get(scope).await?.today();
    let now = time::PrimitiveDateTime::new(today, time::OffsetDateTime::now_utc().time());
    let (stop, arrest, custody) = match &record {
        Record::Stop(s) => (Some(s.clone()), None, CustodyCheck::NotApplicable),
        Record::Arrest(a) => {
            let a = if personal { a.clone() } else { a.clone().without_personal_data() };
            (None, Some(a.clone()), a.custody_check(now))
        }
    };
    Ok(ReviewPage {
        kind,
        id,
        stop,
        arrest,
        personal,
        custody,
        officer: officers::label_of(&officers, record.officer_id()),
        authority: authority(scope, &record, &officers).await?,
        exception: record.exception().to_string(),
        history: crate::audit::store::history_of(scope, kind.as_str(), id).await?,
        latest: latest.map(|s| s.id).unwrap_or(0),
        own: store::self_review_reason(scope, &reviewer, &record).await?,
        state: state_now,
        sign_offs,
        hashes: record.fingerprints(),
        hash,
        form,
        errors,
        problem,
        decisions: DECISIONS,
        page,
    })
}

fn kind_of(kind: &str) -> AppResult<RecordKind> {
    RecordKind::parse(kind).ok_or(AppError::NotFound)
}

async fn route_get_review(
    State(state): State<AppState>,
    scope: Scope,
    page: PageCtx,
    Path((kind, id)): Path<(String, i64)>,
) -> AppResult<ReviewPage> {
    let kind = kind_of(&kind)?;
    review_page(&state, &scope, page, kind, id, DecisionForm::default(), FieldErrors::default(), None).await
}

/// Checks the signer's password again (CJIS: re-authentication for
/// sensitive actions); a wrong one counts toward the account's lockout.
async fn reauthenticate(
    state: &AppState,
    scope: &Scope,
    actor: &Actor,
    user_id: i64,
    password: &str,
    errors: &mut FieldErrors,
) -> AppResult<()> {
    let account = crate::users::store::get(scope, user_id).await?;
    if !state.hasher.verify(password, Some(&account.password_hash)).await? {
        crate::users::store::sign_in_failed(
            &state.db,
            actor,
            Some(&account),
            "wrong password when signing a review",
        )
        .await?;
        errors.add("password", "The password is not right. Nothing was signed.");
    }
    Ok(())
}

/// Signs, and records a refused self-review in the audit log on its own.
async fn sign(
    scope: &Scope,
    actor: &Actor,
    user_id: i64,
    requests: &[Request],
    decision: Decision,
    comment: &str,
) -> AppResult<Result<Vec<i64>, SignError>> {
    let reviewer: Reviewer = store::reviewer(scope, user_id).await?;
    let (time_zone, _) = settings(scope).await?;
    match store::sign(scope, actor, &reviewer, requests, decision, comment, &time_zone).await {
        Ok(ids) => Ok(Ok(ids)),
        Err(SignError::Db(e)) => Err(e.into()),
        Err(SignError::SelfReview(label, id, why)) => {
            let kind = RecordKind::parse(&label.to_lowercase()).unwrap_or(RecordKind::Stop);
            store::refuse_self_review(scope, actor, kind, id, why).await?;
            Ok(Err(SignError::SelfReview(label, id, why)))
        }
        Err(other) => Ok(Err(other)),
    }
}

async fn route_post_review(
    State(state): State<AppState>,
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Path((kind, id)): Path<(String, i64)>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    let kind = kind_of(&kind)?;
    let user = page.user.clone().ok_or(AppError::Forbidden)?;
    let mut errors = FieldErrors::default();
    let decision = Decision::parse(&form.decision);
    if decision.is_none() {
        errors.add("decision", "Choose approve, return for correction or refer.");
    }
    let comment = form.comment.trim().to_string();
    if decision.is_some_and(Decision::needs_comment) && comment.is_empty() {
        errors.add("comment", "Say what must be corrected, or why and to whom you refer it.");
    }
    if comment.chars().count() > 1000 {
        errors.add("comment", "Keep the comment under 1,000 characters.");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password to sign.");
    }
    // The password is checked only once everything else is right, so a
    // slip in the comment never counts toward the lockout.
    if errors.is_empty() {
        reauthenticate(&state, &scope, &actor, user.id, &form.password, &mut errors).await?;
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let mut problem = None;
    if let (true, Some(decision)) = (errors.is_empty(), decision) {
        let request = Request { kind, id, seen_hash: form.hash.clone(), seen_latest: form.latest };
        match sign(&scope, &actor, user.id, &[request], decision, &comment).await? {
            Ok(_) => {
                flash(&session, format!("{} {id}: {} and signed.", kind.label(), decision_done(decision)))
                    .await?;
                return Ok(see_other("/supervision/queue"));
            }
            Err(why @ SignError::SelfReview(..)) => {
                status = StatusCode::FORBIDDEN;
                problem = Some(format!("Refused and recorded in the audit log. {why}."));
            }
            Err(why) => {
                status = StatusCode::CONFLICT;
                problem = Some(format!("Nothing was signed: {why}. The page now shows the current version."));
            }
        }
    }
    let form = DecisionForm { password: String::new(), ..form };
    let view = review_page(&state, &scope, page, kind, id, form, errors, problem).await?;
    Ok((status, view).into_response())
}

fn decision_done(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "approved",
        Decision::Returned => "returned for correction",
        Decision::Referred => "referred",
    }
}

// ------------------------------------------------------------- measures

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/measures.html")]
struct MeasuresPage {
    page: PageCtx,
    period: Period,
    period_error: Option<&'static str>,
    measures: Vec<Measure>,
    workload: Vec<Workload>,
    sign_offs: Vec<SignOff>,
    more: usize,
    deadline: i64,
    deadline_error: Option<String>,
}

impl MeasuresPage {
    fn measures_caption(&self) -> String {
        format!(
            "Each measure with its definition and target; the previous period is {}; the deadline is {}",
            self.period.previous().label(),
            crate::web::counted(self.deadline, "day", "days")
        )
    }
}

/// At most this many decisions are listed on the page.
const LISTED: usize = 500;

async fn measures_page(
    scope: &Scope,
    page: PageCtx,
    query: &PeriodQuery,
    deadline_error: Option<String>,
) -> AppResult<MeasuresPage> {
    let (time_zone, deadline) = settings(scope).await?;
    let today = agency::today_in(&time_zone);
    let (period, period_error) = crate::measures::period_from(&query.from, &query.to, today);
    let items = store::items(scope, &[], &time_zone).await?;
    let (start, end) = bounds(period, &time_zone);
    let (before, _) = bounds(period.previous(), &time_zone);
    let sign_offs = store::signed_between(scope, before, end).await?;
    let blocked = store::blocked_between(scope, before, end).await?;
    let inputs = Inputs {
        actions: &items,
        sign_offs: &sign_offs,
        blocked: &blocked,
        deadline_days: deadline,
        time_zone: &time_zone,
    };
    let in_period: Vec<SignOff> = sign_offs.iter().filter(|s| s.signed_at >= start).rev().cloned().collect();
    let more = in_period.len().saturating_sub(LISTED);
    Ok(MeasuresPage {
        measures: supervision_measures(&inputs, period),
        workload: workload(&inputs, period),
        sign_offs: in_period.into_iter().take(LISTED).collect(),
        more,
        period,
        period_error,
        deadline,
        deadline_error,
        page,
    })
}

async fn route_get_measures(
    scope: Scope,
    page: PageCtx,
    Query(query): Query<PeriodQuery>,
) -> AppResult<MeasuresPage> {
    measures_page(&scope, page, &query, None).await
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    days: String,
}

async fn route_post_settings(
    scope: Scope,
    session: Session,
    actor: Actor,
    page: PageCtx,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    match form.days.trim().parse::<i64>() {
        Ok(days) if (1..=30).contains(&days) => {
            crate::agency::store::set_sign_off_days(&scope, &actor, days).await?;
            flash(&session, format!("Sign-off deadline set to {days} days.")).await?;
            Ok(see_other("/supervision"))
        }
        _ => {
            let error = Some(format!("Enter whole days from 1 to 30 (you entered \"{}\").", form.days));
            Ok(unprocessable(measures_page(&scope, page, &PeriodQuery::default(), error).await?))
        }
    }
}
