//! The one error type handlers return. Internal errors are logged with a
//! reference id and shown to the user only as that id.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::web::PageCtx;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
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

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    page: PageCtx,
    heading: &'static str,
    message: String,
    reference: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, heading, message, reference) = match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page or record at this address.".to_string(),
                None,
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Access denied",
                "Your role does not allow this page or action. The attempt has been recorded in the audit log. If you need access, ask an administrator.".to_string(),
                None,
            ),
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Request not accepted", why, None),
            AppError::Internal(err) => {
                let reference = crate::web::random_token(6);
                // The reference ties the user's report to this line; the
                // error text never holds request bodies or cookies.
                tracing::error!(reference = %reference, error = %format!("{err:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete the request. Nothing was saved. Give this reference to your administrator:".to_string(),
                    Some(reference),
                )
            }
        };
        let page = ErrorPage { page: PageCtx::default(), heading, message, reference };
        match page.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, heading).into_response(),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
