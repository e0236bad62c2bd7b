//! The API's OpenAPI 3.1 document, generated from the handlers and the views they
//! answer with (utoipa). It is served at /v1/openapi.json and committed as
//! `openapi.json`; a test fails when the two differ.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::api;

/// An error answer: `{"error": {"code", "message", …}}`, the document the command line
/// prints with --json.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDoc {
    error: ErrorBody,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The stable code: invalid_argument, resource_not_found, totp_already_enabled,
    /// backup_codes_not_available, user_locked, unauthorized, forbidden,
    /// payload_too_large, rate_limited, request_timeout, integrity_error,
    /// log_chain_broken, key_error, store_error, store_not_found; for a rejected code
    /// its reason (totp_incorrect_code, totp_replayed_code, totp_invalid_length,
    /// backup_code_used).
    code: String,
    /// One line, for people.
    message: String,
    /// A rejected code: the account's rejected attempts in a row.
    failed_attempts: Option<u32>,
    /// user_locked, or a code whose rejection locked the account: until when.
    locked_until: Option<String>,
}

/// An accepted code: the verify document, with Clerk's `code_type`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VerifiedDoc {
    #[schema(inline)]
    #[serde(flatten)]
    verify: crate::ops::views::VerifyView,
    /// `totp` or `backup_code`, as Clerk names it.
    code_type: String,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token made with `totpctl token create NAME --scope SCOPE` on \
                         the server's host. The scopes a call needs are listed with it.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "totpctl",
        description = "The server side of authenticator-app two-factor authentication, over \
                       HTTPS: `totpctl serve`. Bodies are the documents `totpctl … --json` \
                       prints; errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        api::users::enroll,
        api::users::show,
        api::users::remove,
        api::users::verify,
        api::users::backup_codes,
        api::users::unlock,
        api::store::totps,
        api::store::events,
        api::store::log_head,
        api::store::log_check,
        api::store::config,
        api::store::set_config,
        api::store::import,
        api::store::info,
        api::store::healthz,
        api::store::metrics,
    ),
    components(schemas(ErrorDoc, VerifiedDoc)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The document, as served and committed.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut text = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    /// The committed `openapi.json` is the document the code generates. Regenerate it
    /// with `TOTPCTL_BLESS=1 cargo test --lib openapi`.
    #[test]
    fn the_committed_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let current = super::document();
        if std::env::var_os("TOTPCTL_BLESS").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "openapi.json is stale: regenerate it with `TOTPCTL_BLESS=1 cargo test --lib openapi` \
             and commit it"
        );
    }
}
