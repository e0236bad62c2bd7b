//! The routes of the API, under /v1, and what every handler shares: reading a
//! body within the limits, reading a query string, writing a view. Each handler
//! reads its request, calls one operation through [`App::call`] (or the verify
//! queue), and writes the document the command line prints with --json, or the
//! error with the status that fits it.

pub mod store;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::App;
use super::errors::ApiError;
use super::log::TokenName;
use crate::base::error::Error;

/// Every route, with the layers every request passes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/v1/users/{account}/totp",
            post(users::enroll).get(users::show).delete(users::remove),
        )
        .route("/v1/users/{account}/verify_totp", post(users::verify))
        .route(
            "/v1/users/{account}/backup_codes",
            post(users::backup_codes),
        )
        .route("/v1/users/{account}/unlock", post(users::unlock))
        .route("/v1/totps", get(store::totps))
        .route("/v1/events", get(store::events))
        .route("/v1/log/head", get(store::log_head))
        .route("/v1/log/check", post(store::log_check))
        .route("/v1/config", get(store::config))
        .route("/v1/config/{key}", put(store::set_config))
        .route("/v1/import", post(store::import))
        .route("/v1/info", get(store::info))
        .route("/v1/openapi.json", get(store::openapi))
        .route("/healthz", get(store::healthz))
        .route("/metrics", get(store::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::log::requests,
        ))
        .with_state(app)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "resource_not_found",
        format!(
            "no such API path: {}; the API is described at /v1/openapi.json",
            crate::base::text::sanitize(uri.path())
        ),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_argument",
        "this path does not take that method; see /v1/openapi.json",
    )
}

/// The one parameter of a path (`{account}`, `{key}`), percent-decoded; one that is
/// not UTF-8 is a JSON `invalid_argument`, as every other bad input.
pub struct PathPart(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathPart {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(part)) => Ok(PathPart(part)),
            Err(e) => Err(ApiError::from(Error::InvalidArgument(format!(
                "the path is not one this call takes: {}",
                crate::base::text::sanitize(&e.body_text())
            )))),
        }
    }
}

/// A view as the answer, with the token's name for the log line.
pub fn respond<T: Serialize>(status: StatusCode, view: &T, token: String) -> Response {
    let mut body = match serde_json::to_vec(view) {
        Ok(b) => b,
        Err(e) => return ApiError::from(anyhow::Error::from(e)).into_response(),
    };
    body.push(b'\n');
    let mut r = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    r.extensions_mut().insert(TokenName(token));
    r
}

/// The body, whole, within the server's size limit and the client timeout: 413
/// beyond the one, 408 beyond the other.
pub async fn read_body(app: &App, body: Body) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::from(Error::PayloadTooLarge(format!(
            "the request body is larger than the {} bytes this server takes (--max-body)",
            app.max_body
        )))
    };
    match tokio::time::timeout(app.client_timeout, axum::body::to_bytes(body, app.max_body)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let limited = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if limited {
                too_large()
            } else {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_argument",
                    "the request body could not be read",
                )
            })
        }
        Err(_) => Err(ApiError::http(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                app.client_timeout.as_secs()
            ),
        )),
    }
}

/// A JSON body of type `T`; an empty body is `T::default()` when `optional`.
pub async fn json_body<T: DeserializeOwned + Default>(
    app: &App,
    body: Body,
    optional: bool,
) -> Result<T, ApiError> {
    let bytes = read_body(app, body).await?;
    if optional && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::from(Error::InvalidArgument(format!(
            "the request body is not the JSON this call takes: {e} (see /v1/openapi.json)"
        )))
    })
}

/// The query string as `T`.
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| {
            ApiError::from(Error::InvalidArgument(format!(
                "the query string is not one this call takes: {}",
                crate::base::text::sanitize(&e.body_text())
            )))
        })
}
