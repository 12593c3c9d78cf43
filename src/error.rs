//! The one error type handlers return, and the layer that shows every
//! error response, the framework's own included, as the product's page.
//! Internal errors are logged with a reference id and shown to the user
//! only as that id.

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::web::PageCtx;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The address exists but does not take this method (`GET /logout`).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A file or form over its limit; the text says which limit.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(err.into())
    }
}

/// What a body over the form limit is told (the framework's own 413s too).
pub const FORM_TOO_LARGE: &str = "The form is too large for this server to accept, so nothing was saved. Shorten what you entered and send it again.";

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    page: PageCtx,
    heading: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

/// What an error page says. It travels on the response, so `pages` can
/// show it again with the user's navigation and sign-out.
#[derive(Clone, Debug)]
pub struct ErrorView {
    heading: &'static str,
    message: String,
    reference: Option<String>,
}

impl ErrorView {
    fn new(heading: &'static str, message: impl Into<String>) -> Self {
        Self { heading, message: message.into(), reference: None }
    }

    /// The page for an error response the framework made itself: a record
    /// number in the address that is not a number, a form it could not
    /// read, a body over a limit.
    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::new(
                "Request not accepted",
                "This address or form could not be read, so nothing was changed. Check the address: a record's number is a whole number, as in /stops/12.",
            ),
            StatusCode::NOT_FOUND => AppError::NotFound.view(),
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed.view(),
            StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(FORM_TOO_LARGE.into()).view(),
            status if status.is_server_error() => Self::new(
                "Something went wrong",
                "The server could not complete the request. Nothing was saved. Try again in a moment.",
            ),
            _ => Self::new(
                "Request not accepted",
                "The server could not complete the request, so nothing was changed. Go back and try again.",
            ),
        }
    }

    fn render(&self, page: PageCtx) -> Result<String, askama::Error> {
        ErrorPage {
            page,
            heading: self.heading,
            message: &self.message,
            reference: self.reference.as_deref(),
        }
        .render()
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn view(self) -> ErrorView {
        match self {
            AppError::NotFound => {
                ErrorView::new("Page not found", "There is no page or record at this address.")
            }
            AppError::Forbidden => ErrorView::new(
                "Access denied",
                "Your role does not allow this page or action. The attempt has been recorded in the audit log. If you need access, ask an administrator.",
            ),
            AppError::MethodNotAllowed => ErrorView::new(
                "Page not available this way",
                "This address only takes a form sent from a page, such as the Sign out button, so nothing was changed.",
            ),
            AppError::BadRequest(why) => ErrorView::new("Request not accepted", why),
            AppError::TooLarge(why) => ErrorView::new("Too large to accept", why),
            AppError::Internal(err) => {
                let reference = crate::web::random_token(6);
                // The reference ties the user's report to this line; the
                // error text never holds request bodies or cookies.
                tracing::error!(reference = %reference, error = %format!("{err:#}"), "internal error");
                ErrorView {
                    reference: Some(reference),
                    ..ErrorView::new(
                        "Something went wrong",
                        "The server could not complete the request. Nothing was saved. Give this reference to your administrator:",
                    )
                }
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let view = self.view();
        // Without navigation: `pages` renders it again with the user's, and
        // this is what is left where that layer does not reach.
        let mut response = match view.render(PageCtx::default()) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, view.heading).into_response(),
        };
        response.extensions_mut().insert(view);
        response
    }
}

/// The layer that gives every error response the product's page with the
/// signed-in user's navigation and sign-out: the errors handlers return,
/// and those axum makes itself (a path that does not parse, a form it
/// cannot read), which are plain text. Pages a handler rendered itself (a
/// form shown again with its errors) pass as they are.
pub async fn pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let user = request.extensions().get::<CurrentUser>().cloned();
    let head = request.extensions().get::<crate::audit::Head>().copied();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let view = match response.extensions().get::<ErrorView>() {
        Some(view) => view.clone(),
        None if is_html(&response) => return response,
        None => ErrorView::for_status(status),
    };
    let page = match &session {
        Some(session) => PageCtx::of(&state, session, user, head, uri.path()).await.unwrap_or_default(),
        None => PageCtx::default(),
    };
    let Ok(body) = view.render(page) else { return response };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(parts, Body::from(body))
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

pub type AppResult<T> = Result<T, AppError>;
