//! The routes about the store as a whole: the lists (streamed), the audit trail,
//! the settings, import, info; and the server's own: health, metrics, its OpenAPI
//! document.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Result;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{PathPart, json_body, query, read_body, respond};
use crate::domain::tokens::Scope;
use crate::ops::views::{EventView, ListItem};
use crate::ops::{
    CheckRequest, EventVisitor, ImportInput, ImportRequest, ListRequest, ListVisitor, LogRequest,
    Operations,
};
use crate::server::App;
use crate::server::auth::Caller;
use crate::server::errors::ApiError;
use crate::server::stream::{Sink, json_array};
use crate::store::Event;

/// The filters of `GET /v1/totps`: those of `totpctl list`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    /// Only verified (true) or unverified (false) enrollments.
    verified: Option<bool>,
    /// Only this issuer (ASCII letters in any case).
    issuer: Option<String>,
    /// Only those locked out now.
    #[serde(default)]
    locked: bool,
    /// Only verified ones with no backup codes left.
    #[serde(default)]
    no_backup_codes: bool,
    /// Only those not used since then: a span before now (90d), unix seconds or RFC 3339.
    unused_since: Option<String>,
}

/// Every enrollment the filters select, in account order, as `list --json` prints
/// them: streamed, never a secret.
#[utoipa::path(get, path = "/v1/totps", tag = "store", params(ListQuery),
    responses((status = 200, body = Vec<crate::ops::views::TotpView>)),
    security(("token" = ["read"])))]
pub async fn totps(State(app): State<Arc<App>>, caller: Caller, uri: Uri) -> Response {
    let q: ListQuery = match query(&uri) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let req = ListRequest {
        verified: q.verified,
        issuer: q.issuer,
        locked: q.locked,
        no_backup_codes: q.no_backup_codes,
        unused_since: q.unused_since,
    };
    json_array(app, caller, Scope::Read, move |l, cx, sink| {
        l.list(cx, &req, &mut Rows(sink))
    })
    .await
}

struct Rows<'s>(&'s mut Sink);

impl ListVisitor for Rows<'_> {
    fn row(&mut self, _pass: usize, t: &crate::domain::model::TotpRef<'_>) -> Result<()> {
        self.0.item(&serde_json::to_vec(&ListItem::from(t))?)
    }
}

/// The filters of `GET /v1/events`: those of `totpctl log`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only this account's events.
    account: Option<String>,
    /// Only events at or after this time: a span before now (24h), unix seconds or RFC 3339.
    since: Option<String>,
    /// Only events before this time.
    until: Option<String>,
    /// Only these events, comma-separated (code_accepted,code_rejected).
    event: Option<String>,
    /// Only the newest N.
    limit: Option<u64>,
}

/// The audit trail, oldest first, as `log --json` prints it: streamed.
#[utoipa::path(get, path = "/v1/events", tag = "store", params(LogQuery),
    responses((status = 200, body = Vec<crate::ops::views::EventView>)),
    security(("token" = ["read"])))]
pub async fn events(State(app): State<Arc<App>>, caller: Caller, uri: Uri) -> Response {
    let q: LogQuery = match query(&uri) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let req = LogRequest {
        account: q.account,
        since: q.since,
        until: q.until,
        events: q
            .event
            .map(|e| e.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        limit: q.limit,
    };
    json_array(app, caller, Scope::Read, move |l, cx, sink| {
        l.log(cx, &req, &mut Events(sink))
    })
    .await
}

struct Events<'s>(&'s mut Sink);

impl EventVisitor for Events<'_> {
    fn event(&mut self, _pass: usize, e: Event) -> Result<()> {
        self.0.item(&serde_json::to_vec(&EventView::from(e))?)
    }
}

/// The log's head, to keep elsewhere and check the log against later.
#[utoipa::path(get, path = "/v1/log/head", tag = "store",
    responses((status = 200, body = crate::ops::views::HeadView)),
    security(("token" = ["admin"])))]
pub async fn log_head(State(app): State<Arc<App>>, caller: Caller) -> Result<Response, ApiError> {
    let (view, token) = app
        .call(caller, Scope::Admin, |l, cx, _| l.log_head(cx))
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    /// A head kept elsewhere (SEQ:HASH) the log must extend.
    head: Option<String>,
    /// Check everything, not only what is new since the server's last check.
    #[serde(default)]
    full: bool,
}

/// Check the whole store with its key, as `log --check` does.
#[utoipa::path(post, path = "/v1/log/check", tag = "store", params(CheckQuery),
    responses((status = 200, body = crate::ops::views::CheckView),
              (status = 500, description = "log_chain_broken or integrity_error", body = crate::server::openapi::ErrorDoc)),
    security(("token" = ["admin"])))]
pub async fn log_check(
    State(app): State<Arc<App>>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: CheckQuery = query(&uri)?;
    let req = CheckRequest {
        head: q.head,
        full: q.full,
    };
    let (view, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| l.log_check(cx, &req))
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

/// Every setting, as `config --json` prints them.
#[utoipa::path(get, path = "/v1/config", tag = "store",
    responses((status = 200, body = crate::domain::config::Settings)),
    security(("token" = ["admin"])))]
pub async fn config(State(app): State<Arc<App>>, caller: Caller) -> Result<Response, ApiError> {
    let (settings, token) = app
        .call(caller, Scope::Admin, |l, cx, _| l.settings(cx))
        .await?;
    Ok(respond(StatusCode::OK, &settings, token))
}

/// What `PUT /v1/config/{key}` takes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigBody {
    /// The new value, as `totpctl config KEY VALUE` takes it.
    value: String,
}

/// Change one setting.
#[utoipa::path(put, path = "/v1/config/{key}", tag = "store",
    params(("key" = String, Path, description = "The setting: issuer, digits, period, algorithm, window, lockout-attempts, lockout-seconds, backup-codes, backup-code-count")),
    request_body = ConfigBody,
    responses((status = 200, body = crate::ops::views::ConfigValue)),
    security(("token" = ["admin"])))]
pub async fn set_config(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(key): PathPart,
    body: Body,
) -> Result<Response, ApiError> {
    let b: ConfigBody = json_body(&app, body, false).await?;
    let (view, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| {
            l.set_setting(cx, &key, &b.value)
        })
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportQuery {
    /// Import them as unverified (a first code must be verified).
    #[serde(default)]
    unverified: bool,
    /// Leave accounts enrolled already as they are, instead of refusing the import.
    #[serde(default)]
    skip_existing: bool,
    /// Check everything and change nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Enroll existing secrets from `otpauth://` URIs, one a line (text/plain): all or
/// nothing, as `totpctl import`.
#[utoipa::path(post, path = "/v1/import", tag = "store", params(ImportQuery),
    request_body(content = String, content_type = "text/plain", description = "otpauth:// URIs, one a line"),
    responses((status = 200, body = crate::ops::views::ImportView),
              (status = 400, description = "invalid_argument, with every bad line", body = crate::server::openapi::ErrorDoc)),
    security(("token" = ["admin"])))]
pub async fn import(
    State(app): State<Arc<App>>,
    caller: Caller,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let q: ImportQuery = query(&uri)?;
    let bytes = read_body(&app, body).await?;
    let (imported, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| {
            let total = bytes.len() as u64;
            let mut req = ImportRequest {
                input: ImportInput::Stream {
                    reader: Box::new(std::io::Cursor::new(bytes)),
                    name: "the request body".into(),
                },
                total_bytes: Some(total),
                unverified: q.unverified,
                skip_existing: q.skip_existing,
                dry_run: q.dry_run,
                progress: None,
            };
            l.import(cx, &mut req)
        })
        .await?;
    Ok(respond(StatusCode::OK, &imported.view, token))
}

/// Where the store is, its schema version and its counts, as `info --json`.
#[utoipa::path(get, path = "/v1/info", tag = "store",
    responses((status = 200, body = crate::ops::views::InfoView)),
    security(("token" = ["read"])))]
pub async fn info(State(app): State<Arc<App>>, caller: Caller) -> Result<Response, ApiError> {
    let (view, token) = app.call(caller, Scope::Read, |l, cx, _| l.info(cx)).await?;
    Ok(respond(StatusCode::OK, &view, token))
}

/// The API, described (OpenAPI 3.1).
pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        crate::server::openapi::document(),
    )
        .into_response()
}

/// When the store was last reached, in unix milliseconds, with the answer: the
/// health check touches the store at most once a second, however often it is asked.
static HEALTHY_AT: AtomicI64 = AtomicI64::new(0);

/// Whether the server can reach its store: 200 `{"status":"ok"}` or 503. No token.
#[utoipa::path(get, path = "/healthz", tag = "server",
    responses((status = 200, description = "The store answers"),
              (status = 503, description = "store_error", body = crate::server::openapi::ErrorDoc)))]
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    let now = chrono::Utc::now().timestamp_millis();
    if now - HEALTHY_AT.load(Ordering::Relaxed) >= 1000 {
        match app.pool.run(app.deadline, |l| l.ping()).await {
            Ok(()) => HEALTHY_AT.store(now, Ordering::Relaxed),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        "{\"status\":\"ok\"}\n",
    )
        .into_response()
}

/// Prometheus text: verifies by outcome, requests by status, latency, engine
/// sessions busy, store errors. No token: it names no account.
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response()
}
