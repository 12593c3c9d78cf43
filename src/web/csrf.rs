//! Cross-site request forgery defence on every state-changing request: the
//! request must come from this site (Origin / Sec-Fetch-Site) and carry the
//! session's token (the `_csrf` form field, the first part of a multipart
//! form, or the `X-CSRF-Token` header). Never in the address, where it
//! would stay in the address bar, the history and server logs. One
//! middleware for the whole router, so a new form cannot forget it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
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
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| AppError::TooLarge(crate::error::FORM_TOO_LARGE.into()).into_response())?;
        let token = form_field(&bytes, "_csrf");
        return Ok((token, Body::from(bytes)));
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(boundary) = multipart_boundary(content_type) {
        return multipart_token(body, &boundary).await;
    }
    Ok((None, body))
}

/// The most of a multipart body read to find the token: the hidden
/// field's part is a few hundred bytes.
const FIRST_PART_LIMIT: usize = 8 * 1024;

/// The token of a multipart form, which every upload form here sends as
/// its first part (the hidden `_csrf` field comes first in the form), so
/// the check reads the body's first bytes and passes them on with the
/// rest: a file is streamed, never held here.
async fn multipart_token(body: Body, boundary: &str) -> Result<(Option<String>, Body), Response> {
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let end_of_part = format!("\r\n--{boundary}");
    while head.len() < FIRST_PART_LIMIT && memchr::memmem::find(&head, end_of_part.as_bytes()).is_none() {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => {
                return Err(
                    (axum::http::StatusCode::BAD_REQUEST, "Request body could not be read").into_response()
                );
            }
            None => break,
        }
    }
    let token = first_part_value(&head, boundary, "_csrf");
    let first =
        futures_util::stream::once(async move { Ok::<_, axum::Error>(axum::body::Bytes::from(head)) });
    Ok((token, Body::from_stream(first.chain(stream))))
}

/// `boundary` of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_string())
    })
}

/// The value of the body's first part when that part is the field `name`.
fn first_part_value(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let find = |haystack: &[u8], needle: &str| memchr::memmem::find(haystack, needle.as_bytes());
    let opening = format!("--{boundary}\r\n");
    let start = find(body, &opening)? + opening.len();
    let headers_end = start + find(&body[start..], "\r\n\r\n")?;
    let headers = std::str::from_utf8(&body[start..headers_end]).ok()?;
    let named = headers.lines().any(|line| {
        let (key, value) = line.split_once(':').unwrap_or_default();
        key.trim().eq_ignore_ascii_case("content-disposition")
            && value.split(';').any(|p| p.trim() == format!("name=\"{name}\""))
    });
    if !named {
        return None;
    }
    let value_start = headers_end + 4;
    let value_end = value_start + find(&body[value_start..], &format!("\r\n--{boundary}"))?;
    String::from_utf8(body[value_start..value_end].to_vec()).ok()
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
    fn the_token_is_the_first_part_of_a_multipart_form() {
        let ct = "multipart/form-data; boundary=----WebKitFormBoundaryX7";
        let boundary = multipart_boundary(ct).unwrap();
        assert_eq!(boundary, "----WebKitFormBoundaryX7");
        assert_eq!(multipart_boundary("multipart/form-data; boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(multipart_boundary("application/x-www-form-urlencoded"), None);
        let body = "------WebKitFormBoundaryX7\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nabc123\r\n\
             ------WebKitFormBoundaryX7\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nx\r\n\
             ------WebKitFormBoundaryX7--\r\n";
        assert_eq!(first_part_value(body.as_bytes(), &boundary, "_csrf").as_deref(), Some("abc123"));
        // A token later in the body, or a file named like the field, is not read.
        let later = body.replacen("name=\"_csrf\"", "name=\"note\"", 1);
        assert_eq!(first_part_value(later.as_bytes(), &boundary, "_csrf"), None);
        let file = body.replacen("name=\"_csrf\"", "name=\"f\"; filename=\"_csrf\"", 1);
        assert_eq!(first_part_value(file.as_bytes(), &boundary, "_csrf"), None);
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
