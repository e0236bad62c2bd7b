//! One account's routes, on Clerk's paths: its TOTP (enroll, show, remove), a code
//! checked, new backup codes, its lockout cleared.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::{PathPart, json_body, query, respond};
use crate::base::error::{Error, classify, invalid};
use crate::domain::otp::Algorithm;
use crate::domain::tokens::Scope;
use crate::ops::{BatchVerify, EnrollRequest, Operations, VerifyRequest};
use crate::server::App;
use crate::server::auth::Caller;
use crate::server::errors::ApiError;
use crate::server::log::TokenName;

/// What `POST /v1/users/{account}/totp` takes; every field may be left out (the
/// store's settings fill them in).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollBody {
    /// The issuer shown in authenticator apps.
    issuer: Option<String>,
    /// SHA1, SHA256 or SHA512.
    algorithm: Option<String>,
    /// 6 to 8.
    digits: Option<u8>,
    /// Seconds per code, 1 to 3600.
    period: Option<u32>,
    /// Bytes of secret, 16 to 64 (20 when left out).
    secret_size: Option<usize>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EnrollQuery {
    /// Replace a verified TOTP (and drop its backup codes): admin tokens only.
    #[serde(default)]
    force: bool,
}

/// Enroll the account: a fresh secret and its `otpauth://` URI, answered once.
#[utoipa::path(post, path = "/v1/users/{account}/totp", tag = "users",
    params(("account" = String, Path, description = "The account's name"), EnrollQuery),
    request_body(content = Option<EnrollBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "The enrollment, its secret and URI: the one time they are shown", body = crate::ops::views::EnrollView),
        (status = 409, description = "totp_already_enabled: a verified TOTP, and no force", body = crate::server::openapi::ErrorDoc),
    ),
    security(("token" = ["enroll"]), ("token" = ["admin"])))]
pub async fn enroll(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let q: EnrollQuery = query(&uri)?;
    let b: EnrollBody = json_body(&app, body, true).await?;
    let algorithm = b
        .algorithm
        .as_deref()
        .map(|a| {
            Algorithm::parse(a)
                .ok_or_else(|| invalid(format!("algorithm {a:?} is not SHA1, SHA256 or SHA512")))
        })
        .transpose()?;
    let req = EnrollRequest {
        account,
        issuer: b.issuer,
        algorithm,
        digits: b.digits,
        period: b.period,
        secret_size: b
            .secret_size
            .unwrap_or(crate::domain::otp::DEFAULT_SECRET_BYTES),
        force: q.force,
        qr_file: None,
    };
    let scope = if req.force {
        Scope::Admin
    } else {
        Scope::Enroll
    };
    let (enrolled, token) = app
        .call(caller, scope, move |l, cx, _| l.enroll(cx, &req))
        .await?;
    Ok(respond(StatusCode::OK, &enrolled.view, token))
}

/// The account's enrollment, never its secret.
#[utoipa::path(get, path = "/v1/users/{account}/totp", tag = "users",
    params(("account" = String, Path, description = "The account's name or enrollment id")),
    responses((status = 200, body = crate::ops::views::TotpView),
              (status = 404, description = "resource_not_found", body = crate::server::openapi::ErrorDoc)),
    security(("token" = ["read"])))]
pub async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
) -> Result<Response, ApiError> {
    let (view, token) = app
        .call(caller, Scope::Read, move |l, cx, _| l.show(cx, &account))
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

/// Delete the account's TOTP and its backup codes.
#[utoipa::path(delete, path = "/v1/users/{account}/totp", tag = "users",
    params(("account" = String, Path, description = "The account's name or enrollment id")),
    responses((status = 200, body = crate::ops::views::RemovedView),
              (status = 404, description = "resource_not_found", body = crate::server::openapi::ErrorDoc)),
    security(("token" = ["admin"])))]
pub async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
) -> Result<Response, ApiError> {
    let (view, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| l.remove(cx, &account))
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

/// What `POST /v1/users/{account}/verify_totp` takes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The TOTP code or backup code, as typed (spaces and hyphens are ignored).
    code: String,
    /// Check the code at this time (RFC 3339 or unix seconds): admin tokens only.
    at: Option<String>,
    /// Accept codes this many steps either side of now: admin tokens only.
    window: Option<u32>,
}

/// Check a code. 200 only for an accepted code; a rejected one is 422 with the
/// reason as the error's code and the count of rejected attempts.
#[utoipa::path(post, path = "/v1/users/{account}/verify_totp", tag = "users",
    params(("account" = String, Path, description = "The account's name (or, for a token that may read, its enrollment id)")),
    request_body = VerifyBody,
    responses(
        (status = 200, description = "Accepted: the verify document, with Clerk's `verified` and `code_type`", body = crate::server::openapi::VerifiedDoc),
        (status = 422, description = "Rejected: totp_incorrect_code, totp_replayed_code, totp_invalid_length or backup_code_used (an unknown account, to a token that may not read, is totp_incorrect_code too)", body = crate::server::openapi::ErrorDoc),
        (status = 423, description = "user_locked", body = crate::server::openapi::ErrorDoc),
        (status = 404, description = "resource_not_found (tokens that may read only)", body = crate::server::openapi::ErrorDoc),
    ),
    security(("token" = ["verify"])))]
pub async fn verify(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
    body: Body,
) -> Result<Response, ApiError> {
    let b: VerifyBody = json_body(&app, body, false).await?;
    let at =
        b.at.as_deref()
            .map(crate::base::time::parse_time)
            .transpose()?;
    let item = BatchVerify {
        actor: caller.actor,
        token: caller.token,
        req: VerifyRequest {
            account,
            code: Some(Zeroizing::new(b.code)),
            at,
            window: b.window,
            pam: None,
            fresh_backup_codes: false,
            hide_unknown: true,
        },
    };
    let answer = app.pool.verify(app.deadline, item).await;
    let outcome = match &answer {
        Ok((_, v)) if v.view.valid => "accepted",
        Ok(_) => "rejected",
        Err(e) => match classify(e) {
            Some(Error::Locked { .. }) => "locked",
            Some(Error::NotFound(_)) => "not_found",
            Some(Error::Unauthorized(_) | Error::Forbidden(_) | Error::RateLimited(_)) => "refused",
            Some(Error::InvalidArgument(_)) => "invalid",
            _ => "error",
        },
    };
    app.metrics.verify(outcome);
    let (grant, verified) = answer?;
    let view = &verified.view;
    if view.valid {
        // The verify document, and Clerk's answer: `verified` (the enrollment is,
        // after an accepted code) and `code_type`.
        let mut doc = serde_json::to_value(view).map_err(anyhow::Error::from)?;
        doc["code_type"] = json!(view.code_type);
        return Ok(respond(StatusCode::OK, &doc, grant.token));
    }
    // To a token that may not read, a code of the wrong length is a wrong code: an
    // enrollment's own number of digits would tell it from a name not enrolled,
    // which is judged by the store's default.
    let reason = match view.reason.unwrap_or("totp_incorrect_code") {
        "totp_invalid_length" if !grant.allows(Scope::Read) => "totp_incorrect_code",
        r => r,
    };
    let mut message = match reason {
        "totp_replayed_code" => "the code was used already".to_string(),
        "totp_invalid_length" => "the code does not have the number of digits of this TOTP".into(),
        "backup_code_used" => "the backup code was used already".into(),
        _ => "the code is not correct".into(),
    };
    match (&view.locked_until, verified.lockout_attempts) {
        (Some(until), _) => message.push_str(&format!("; the account is locked until {until}")),
        (None, 0) => {}
        (None, n) => message.push_str(&format!(
            "; {} rejected of {n} before a lockout",
            view.failed_attempts
        )),
    }
    let mut e = ApiError::http(StatusCode::UNPROCESSABLE_ENTITY, reason, message);
    e.body["failedAttempts"] = json!(view.failed_attempts);
    if let Some(until) = &view.locked_until {
        e.body["lockedUntil"] = json!(until);
    }
    // A token that may read gets the verify document too (a remote `verify --json`
    // prints it, as a local one does); a verify token learns nothing that would tell
    // a known account from an unknown one.
    if grant.allows(Scope::Read) {
        e.body["verify"] = serde_json::to_value(view).map_err(anyhow::Error::from)?;
        e.body["lockoutAttempts"] = json!(verified.lockout_attempts);
    }
    let mut r = axum::response::IntoResponse::into_response(e);
    r.extensions_mut().insert(TokenName(grant.token));
    Ok(r)
}

/// What `POST /v1/users/{account}/backup_codes` takes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupCodesBody {
    /// How many codes [default: the store's `backup-code-count`].
    count: Option<u32>,
}

/// Replace the account's backup codes with a fresh set, answered once.
#[utoipa::path(post, path = "/v1/users/{account}/backup_codes", tag = "users",
    params(("account" = String, Path, description = "The account's name or enrollment id")),
    request_body(content = Option<BackupCodesBody>, content_type = "application/json"),
    responses((status = 200, body = crate::ops::views::BackupCodesView),
              (status = 409, description = "backup_codes_not_available: the TOTP is not verified yet", body = crate::server::openapi::ErrorDoc)),
    security(("token" = ["admin"])))]
pub async fn backup_codes(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
    body: Body,
) -> Result<Response, ApiError> {
    let b: BackupCodesBody = json_body(&app, body, true).await?;
    let (view, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| {
            l.backup_codes(cx, &account, b.count)
        })
        .await?;
    Ok(respond(StatusCode::OK, &view, token))
}

/// Clear the account's lockout and its count of rejected codes.
#[utoipa::path(post, path = "/v1/users/{account}/unlock", tag = "users",
    params(("account" = String, Path, description = "The account's name or enrollment id")),
    responses((status = 200, body = crate::ops::views::TotpView)),
    security(("token" = ["admin"])))]
pub async fn unlock(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathPart(account): PathPart,
) -> Result<Response, ApiError> {
    let (unlocked, token) = app
        .call(caller, Scope::Admin, move |l, cx, _| l.unlock(cx, &account))
        .await?;
    Ok(respond(StatusCode::OK, &unlocked.view, token))
}
