//! Errors of the REST layer: [`RestError`] when the server cannot start, and [`HttpError`],
//! the `{"errors": ["message"]}` answer (Flink's `ErrorResponseBody`) every failed request gets.
//!
//! Invariant: whatever goes wrong in a request (bad input, unknown path, wrong method, a
//! JobManager error, a panicking handler) the client receives JSON of that one shape, with
//! exactly one message naming the problem.

use crate::view::ApiError;
use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::SocketAddr;

/// Why [`super::RestServer::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot bind the REST API to {addr} (rest.address / rest.port): {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The server's runtime or thread could not be started.
    #[error("cannot start the REST API's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A failed request: a status code and the one message of Flink's `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    /// Any status.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub(crate) fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub(crate) fn not_found(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500 for a handler that panicked or was cancelled.
    pub(crate) fn from_join(error: tokio::task::JoinError) -> HttpError {
        let what = if error.is_panic() {
            let payload = error.into_panic();
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string());
            format!("the request handler panicked: {text}")
        } else {
            "the request handler was cancelled".to_string()
        };
        tracing::error!("REST API: {what}");
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Internal server error: {what}"),
        )
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> HttpError {
        let status = match &e {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError::new(status, e.to_string())
    }
}

/// Flink's `ErrorResponseBody`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: [&'a str; 1],
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            errors: [&self.message],
        };
        (self.status, Json(body)).into_response()
    }
}

/// The fallback for paths no route matches: 404 `Not found: /path` (Flink's words).
pub(crate) async fn not_found(uri: Uri) -> HttpError {
    HttpError::not_found(format!("Not found: {}", uri.path()))
}

/// Outermost middleware: runs the request in its own task so that a panic becomes a 500 and
/// not a dropped connection, and gives axum's bare 405 answers the `{"errors"}` body, naming
/// the method, the path and the methods allowed there (the `Allow` header is kept).
pub(crate) async fn guard(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => return HttpError::from_join(e).into_response(),
    };
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let allowed = allow
        .as_ref()
        .and_then(|a| a.to_str().ok())
        .unwrap_or("")
        .replace(',', ", ");
    let mut answer = HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {path} (allowed: {allowed})"),
    )
    .into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(ALLOW, allow);
    }
    answer
}
