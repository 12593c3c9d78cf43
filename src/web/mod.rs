//! What every page shares: the page context (signed-in user, navigation,
//! CSRF token, flash message), form error collection, and small parsers for
//! form fields.

pub mod csrf;
pub mod headers;
pub mod record_form;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use rand::RngCore;
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::{CurrentUser, Role};
use crate::error::AppError;

/// Session key of the CSRF token and the one-shot flash message.
pub const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";

/// A random hex string of `bytes` bytes from the OS generator.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

#[derive(Clone, Debug)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// Work waiting behind the link, e.g. "4 waiting, 1 overdue".
    pub note: String,
}

/// Everything the base layout needs.
#[derive(Clone, Debug, Default)]
pub struct PageCtx {
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub flash: Option<String>,
    pub nav: Vec<NavLink>,
    /// The audit head as the request began, when someone is signed in.
    pub head: Option<crate::audit::Head>,
}

impl PageCtx {
    pub fn has_role(&self, role: Role) -> bool {
        self.user.as_ref().is_some_and(|u| u.has(role))
    }
}

fn navigation(user: Option<&CurrentUser>, path: &str) -> Vec<NavLink> {
    let Some(user) = user else { return Vec::new() };
    let mut links = if user.agency.is_none() { state_links(user) } else { agency_links(user) };
    links.retain(|(_, _, shown)| *shown);
    let shown: Vec<(&'static str, &'static str)> =
        links.into_iter().map(|(href, label, _)| (href, label)).collect();
    // The current link is the longest one the path falls under; a review
    // page belongs to the queue it was opened from.
    let path = if path.starts_with("/supervision/review") { "/supervision/queue" } else { path };
    let current = shown
        .iter()
        .map(|(href, _)| *href)
        .filter(|href| {
            if *href == "/" { path == "/" } else { path == *href || path.starts_with(&format!("{href}/")) }
        })
        .max_by_key(|href| href.len());
    shown
        .into_iter()
        .map(|(href, label)| NavLink { href, label, current: Some(href) == current, note: String::new() })
        .collect()
}

/// A link of the menu: address, label, whether this user sees it.
type Link = (&'static str, &'static str, bool);

/// The state's pages, for a user of no agency.
fn state_links(user: &CurrentUser) -> Vec<Link> {
    use crate::auth::access;
    vec![
        ("/state", "State dashboard", user.has_any(access::STATE_VIEWERS)),
        ("/state/agencies", "Agencies", true),
        ("/state/reports", "Statewide reports", user.has_any(access::STATE_VIEWERS)),
        ("/state/reports/verify", "Verify a report", user.has_any(access::STATE_AUDITORS)),
        ("/state/publications", "Publications", user.has(crate::auth::Role::StateAdministrator)),
    ]
}

/// An agency's pages, for one of its users.
fn agency_links(user: &CurrentUser) -> Vec<Link> {
    let mut links = vec![("/", "Home", true), ("/officers", "Officers", true)];
    links.push(("/compliance", "Compliance", user.has_any(crate::auth::access::ROSTER_READERS)));
    links.push(("/stops", "Stops", user.has_any(crate::auth::access::RECORD_READERS)));
    links.push(("/arrests", "Arrests", user.has_any(crate::auth::access::RECORD_READERS)));
    links.push(("/complaints", "Complaints", user.has_any(crate::auth::access::RECORD_READERS)));
    links.push(("/documents", "Documents", true));
    links.push(("/courses", "Courses", user.has(Role::Administrator)));
    links.push(("/users", "Users", user.has(Role::Administrator)));
    links.push(("/agency", "Agency profile", user.has(Role::Administrator)));
    links.push((
        "/supervision/queue",
        "Sign-off queue",
        user.has_any(crate::supervision::routes::QUEUE_READERS),
    ));
    links.push(("/supervision", "Supervision", user.has_any(crate::supervision::routes::MEASURE_READERS)));
    links.push(("/dashboard", "Dashboard", user.has_any(crate::measures::routes::READERS)));
    links.push(("/early-warning", "Early warning", user.has_any(crate::measures::routes::WARNING_READERS)));
    links.push(("/logged-measures", "Logged measures", true));
    links.push(("/reports", "Reports", user.has_any(crate::reports::routes::READERS)));
    links.push(("/publications", "Publications", user.has(Role::Administrator)));
    links.push(("/audit", "Audit log", user.has(Role::Auditor)));
    links
}

/// The sign-off queue's counts beside its link: what waits for a
/// supervisor and what came back to a clerk.
async fn queue_note(
    state: &AppState,
    user: &CurrentUser,
    head: Option<crate::audit::Head>,
) -> Result<String, AppError> {
    let Some(scope) = crate::agency::Scope::of_user(&state.db, user) else { return Ok(String::new()) };
    let mut parts = Vec::new();
    let returned = if user.has(Role::Supervisor) {
        let (waiting, overdue, returned) = crate::supervision::routes::counts(state, &scope, head).await?;
        parts.push(format!("{waiting} waiting"));
        if overdue > 0 {
            parts.push(format!("{overdue} overdue"));
        }
        returned
    } else {
        // A clerk needs only the returned count: a cheaper question, and
        // one that changes only with the records.
        state.lookups.returned.get(head, || crate::supervision::store::returned_count(&scope)).await?
    };
    if user.has(Role::Clerk) && returned > 0 {
        parts.push(format!("{returned} returned"));
    }
    Ok(parts.join(", "))
}

/// Returns the session's CSRF token, creating one on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = random_token(32);
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

/// Leaves a message for the next page the user sees.
pub async fn flash(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session.insert(FLASH_KEY, message.into()).await?;
    Ok(())
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        let user = parts.extensions.get::<CurrentUser>().cloned();
        let head = parts.extensions.get::<crate::audit::Head>().copied();
        PageCtx::of(state, &session, user, head, parts.uri.path()).await
    }
}

impl PageCtx {
    /// The context of a page at `path` for this session and user; the
    /// error page layer calls it after the request itself is gone.
    pub async fn of(
        state: &AppState,
        session: &Session,
        user: Option<CurrentUser>,
        head: Option<crate::audit::Head>,
        path: &str,
    ) -> Result<Self, AppError> {
        let csrf = csrf_token(session).await?;
        // `remove` marks the session changed even when nothing was there,
        // which would turn every page view into a session write.
        let flash = match session.get::<String>(FLASH_KEY).await? {
            Some(_) => session.remove::<String>(FLASH_KEY).await?,
            None => None,
        };
        let mut nav = navigation(user.as_ref(), path);
        if let (Some(user), Some(link)) = (&user, nav.iter_mut().find(|l| l.href == "/supervision/queue")) {
            link.note = queue_note(state, user, head).await?;
        }
        Ok(PageCtx { user, csrf, flash, nav, head })
    }
}

/// A form page: 200 when first shown, 422 when it comes back with errors,
/// so tests and tools can tell a refused submission from a fresh form.
pub fn form_response(
    errors: &FieldErrors,
    view: impl axum::response::IntoResponse,
) -> axum::response::Response {
    if errors.is_empty() { view.into_response() } else { unprocessable(view) }
}

/// A page shown again because what was submitted was refused.
/// A download: `body` as a file named `name` of type `content_type`.
pub fn attachment(
    name: &str,
    content_type: &str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body.into(),
    )
        .into_response()
}

pub fn unprocessable(view: impl axum::response::IntoResponse) -> axum::response::Response {
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, view).into_response()
}

/// The form of an error summary that names no fields (`error_summary`).
pub const NO_FIELDS: &[(&str, &str)] = &[];

/// Field-by-field validation messages, all collected before the form is
/// shown again, in the order they were found (validation checks a form's
/// fields in the order the form shows them).
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// Keeps the first message of a field.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if !self.has(field) {
            self.0.push((field, message.into()));
        }
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter().map(|(f, m)| (f, m))
    }

    /// The error summary's lines, (field, "Label: message"), in the order
    /// of `form`: each field's name and label as the form shows them.
    /// Fields the form does not list follow, as found and unlabelled.
    pub fn summary<'f>(&self, form: impl AsRef<[(&'f str, &'f str)]>) -> Vec<(&'static str, String)> {
        let form = form.as_ref();
        let position = |field: &str| form.iter().position(|(f, _)| *f == field).unwrap_or(form.len());
        let mut lines: Vec<(usize, &'static str, String)> = self
            .0
            .iter()
            .map(|(field, message)| {
                let line = match form.iter().find(|(f, _)| f == field) {
                    Some((_, label)) => format!("{label}: {}", lower_first(message)),
                    None => message.clone(),
                };
                (position(field), *field, line)
            })
            .collect();
        // Stable: fields at one position (none listed) keep their order.
        lines.sort_by_key(|(at, _, _)| *at);
        lines.into_iter().map(|(_, field, line)| (field, line)).collect()
    }
}

/// "Enter the date" after a label reads "Date: enter the date"; a first
/// word in capitals ("ICE") or a quotation keeps its case.
fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second) if first.is_uppercase() && second.is_none_or(|c| !c.is_uppercase()) => {
            first.to_lowercase().chain(message[first.len_utf8()..].chars()).collect()
        }
        _ => message.to_string(),
    }
}

/// A count with its noun: "1 stop", "2 stops", "0 stops".
pub fn counted(n: impl std::fmt::Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    let noun = if n == "1" { one } else { many };
    format!("{n} {noun}")
}

/// Parses an optional `YYYY-MM-DD` field; an empty value is `None`, a bad
/// one adds an error.
pub fn optional_date(
    errors: &mut FieldErrors,
    field: &'static str,
    label: &str,
    value: &str,
) -> Option<time::Date> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match parse_date(value) {
        Some(date) => Some(date),
        None => {
            errors.add(field, format!("{label} must be a date written YYYY-MM-DD."));
            None
        }
    }
}

pub fn parse_date(value: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value.trim(), &format).ok()
}

pub fn format_date(date: time::Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// A UTC instant (unix seconds) as `YYYY-MM-DD HH:MM UTC`.
pub fn format_instant(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// A CSV cell that a spreadsheet will not run as a formula: cells that
/// begin with = + - @, a tab or a carriage return get a leading apostrophe
/// (docs/formats.md, "CSV exports").
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_string() }
}

/// Only a path on this site may be a return address after sign-in, so a
/// crafted link cannot send the user elsewhere.
pub fn safe_local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n'])
        && !next.contains("://");
    ok.then_some(next)
}

/// Page number and size from a query string, with the SQL offset.
#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn new(page: Option<i64>, per_page: i64) -> Self {
        Self { page: page.unwrap_or(1).max(1), per_page }
    }
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
    pub fn pages(&self, total: i64) -> i64 {
        ((total + self.per_page - 1) / self.per_page).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_addresses() {
        assert_eq!(safe_local_path("/officers?page=2"), Some("/officers?page=2"));
        assert_eq!(safe_local_path("//evil.example/x"), None);
        assert_eq!(safe_local_path("https://evil.example/"), None);
        assert_eq!(safe_local_path("/\\evil.example"), None);
        assert_eq!(safe_local_path("officers"), None);
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("-1+2"), "'-1+2");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("\tx"), "'\tx");
        assert_eq!(spreadsheet_safe("Nguyễn"), "Nguyễn");
    }

    #[test]
    fn the_summary_follows_the_form_and_names_each_field() {
        let mut errors = FieldErrors::default();
        errors.add("lng", "Enter decimal degrees between -180 and 180.");
        errors.add("note", "Use at most 40 characters.");
        errors.add("lat", "Enter decimal degrees between -90 and 90.");
        errors.add("lat", "A second message for a field is not kept.");
        errors.add("ice", "ICE was contacted: say when.");
        let form = [("lat", "Latitude"), ("lng", "Longitude"), ("ice", "ICE contact")];
        let lines = errors.summary(form);
        assert_eq!(
            lines,
            vec![
                ("lat", "Latitude: enter decimal degrees between -90 and 90.".to_string()),
                ("lng", "Longitude: enter decimal degrees between -180 and 180.".to_string()),
                ("ice", "ICE contact: ICE was contacted: say when.".to_string()),
                ("note", "Use at most 40 characters.".to_string()),
            ]
        );
        let found: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(found, ["lng", "note", "lat", "ice"], "as found, without a form");
    }

    #[test]
    fn counts_take_the_noun_of_their_number() {
        assert_eq!(counted(1, "stop", "stops"), "1 stop");
        assert_eq!(counted(0usize, "stop", "stops"), "0 stops");
        assert_eq!(counted(2u64, "problem", "problems"), "2 problems");
        assert_eq!(counted(-1, "day", "days"), "-1 days");
    }

    #[test]
    fn dates_parse_strictly() {
        assert!(parse_date("2025-02-28").is_some());
        assert!(parse_date("2025-02-30").is_none());
        assert!(parse_date("02/28/2025").is_none());
    }
}
