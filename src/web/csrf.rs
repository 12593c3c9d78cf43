//! Cross-site request forgery defence on every state-changing request: the
//! request must come from this site (Origin / Sec-Fetch-Site) and carry the
//! session's token (`_csrf` form field, `_csrf` query parameter for
//! multipart forms, or the `X-CSRF-Token` header). One middleware for the
//! whole router, so a new form cannot forget it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::app::AppState;
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::AppError;
use crate::web::CSRF_KEY;

pub async fn protect(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let expected = session.get::<String>(CSRF_KEY).await.ok().flatten();
    let same_site = from_this_site(request.headers());
    let (parts, body) = request.into_parts();
    let (submitted, body) = match submitted_token(&parts, body, state.config.body_limit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let token_ok = matches!((&expected, &submitted), (Some(e), Some(s)) if constant_time_eq(e, s));
    if same_site && token_ok {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let actor = Actor::from_parts(&parts);
    let reason = if same_site { "missing or wrong CSRF token" } else { "request from another site" };
    let event = Event::new("request.csrf_rejected", "route", parts.uri.path())
        .outcome(Outcome::Denied)
        .details(serde_json::json!({ "method": parts.method.as_str(), "reason": reason }));
    if let Err(err) = audit::record_alone(&state.db, &actor, event).await {
        return AppError::from(err).into_response();
    }
    AppError::BadRequest(
        "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and submit it again."
            .into(),
    )
    .into_response()
    .with_status(axum::http::StatusCode::FORBIDDEN)
}

trait WithStatus {
    fn with_status(self, status: axum::http::StatusCode) -> Response;
}
impl WithStatus for Response {
    fn with_status(mut self, status: axum::http::StatusCode) -> Response {
        *self.status_mut() = status;
        self
    }
}

/// A browser says where a request came from; refuse anything that says
/// another site. Clients that send neither header still need the token.
fn from_this_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    match url::Url::parse(origin) {
        Ok(url) => {
            let origin_host = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => return false,
            };
            origin_host.eq_ignore_ascii_case(host)
        }
        Err(_) => false,
    }
}

async fn submitted_token(
    parts: &axum::http::request::Parts,
    body: Body,
    limit: usize,
) -> Result<(Option<String>, Body), Response> {
    if let Some(token) = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Ok((Some(token.to_string()), body));
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "Request body too large").into_response()
        })?;
        let token = form_field(&bytes, "_csrf");
        return Ok((token, Body::from(bytes)));
    }
    let token = parts.uri.query().and_then(|q| form_field(q.as_bytes(), "_csrf"));
    Ok((token, body))
}

fn form_field(encoded: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn foreign_origin_is_refused() {
        assert!(!from_this_site(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")])));
        assert!(from_this_site(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!from_this_site(&headers(&[("host", "a"), ("sec-fetch-site", "cross-site")])));
        assert!(from_this_site(&headers(&[("host", "a")])));
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
