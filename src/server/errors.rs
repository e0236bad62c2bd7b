//! Errors as HTTP answers: the status that fits each stable code, and the same
//! `{"error": {"code", "message", …}}` document the command line prints with --json.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::base::error::{Error, classify, json_body};

/// An error on its way to the client.
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    /// Seconds to wait before asking again (429).
    pub retry_after: Option<u64>,
}

/// The status of an error: 400 bad input, 401 no valid token, 403 a token without
/// the scope, 404 not enrolled, 409 a state that forbids it, 413 too large, 423
/// locked, 429 too many requests, 500 the store does not check out or the key does
/// not open it, 503 the store cannot be reached.
pub fn status_of(e: Option<&Error>) -> StatusCode {
    match e {
        Some(Error::InvalidArgument(_) | Error::BadLines { .. } | Error::Problems { .. }) => {
            StatusCode::BAD_REQUEST
        }
        Some(Error::NotFound(_) | Error::Missing(_)) => StatusCode::NOT_FOUND,
        Some(Error::AlreadyEnabled(_) | Error::BackupCodesNotAvailable { .. }) => {
            StatusCode::CONFLICT
        }
        Some(Error::Locked { .. }) => StatusCode::LOCKED,
        Some(Error::Unauthorized(_)) => StatusCode::UNAUTHORIZED,
        Some(Error::Forbidden(_)) => StatusCode::FORBIDDEN,
        Some(Error::PayloadTooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(Error::RateLimited(_)) => StatusCode::TOO_MANY_REQUESTS,
        Some(Error::Rejected { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(Error::Integrity(_) | Error::LogBroken { .. } | Error::Key(_)) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Some(Error::Store(_) | Error::StoreNotFound(_)) | None => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError {
            status: status_of(classify(&e)),
            body: json_body(&e),
            retry_after: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        anyhow::Error::from(e).into()
    }
}

impl ApiError {
    /// An error of the HTTP layer itself (a timeout, a body that cannot be read), with
    /// a code of its own.
    pub fn http(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({ "code": code, "message": message.into() }),
            retry_after: None,
        }
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            format!("{}\n", json!({ "error": self.body })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}
