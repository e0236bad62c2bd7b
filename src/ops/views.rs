//! What the operations return: the documents `--json` prints (SPEC §1), field for
//! field, so that every front end (the command line, the HTTP API) shows the same.
//! Documents that were built with `json!` keep its order: their fields are listed
//! alphabetically.

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::google_authenticator::NotCarried;
use crate::domain::model::{Totp, TotpRef};
use crate::store::Event;

/// The enrollment fields every view has (SPEC §1 "everywhere").
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpView {
    pub id: String,
    pub account: String,
    pub issuer: String,
    #[serde(deserialize_with = "known")]
    #[schema(value_type = String)]
    pub algorithm: Name,
    pub digits: u8,
    pub period: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_codes: Option<Vec<String>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditView>,
    pub created_at: String,
    pub updated_at: String,
}

/// The fields `list` and `show` add.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub backup_codes_remaining: u32,
    pub last_used_at: Option<String>,
    pub failed_attempts: u32,
    pub locked_until: Option<String>,
}

impl TotpView {
    /// The view of `list` and `show`: no secret, no URI, no backup code.
    pub fn audit(t: Totp) -> TotpView {
        TotpView {
            audit: Some(AuditView {
                backup_codes_remaining: t.backup_codes_remaining,
                last_used_at: t.last_used_at.clone(),
                failed_attempts: t.failed_attempts,
                locked_until: t.locked_until.clone(),
            }),
            ..TotpView::bare(t)
        }
    }

    /// Only the "everywhere" fields.
    pub fn bare(t: Totp) -> TotpView {
        TotpView {
            id: t.id,
            account: t.account,
            issuer: t.issuer,
            algorithm: t.params.algorithm.as_str(),
            digits: t.params.digits,
            period: t.params.period,
            secret: None,
            uri: None,
            verified: t.verified,
            backup_codes: None,
            audit: None,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// One row of `list --json`, serialised straight from the row the engine lends (the
/// fields and order of [`TotpView::audit`]; a test keeps the two the same).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem<'r> {
    pub id: &'r str,
    pub account: &'r str,
    pub issuer: &'r str,
    pub algorithm: &'static str,
    pub digits: u8,
    pub period: u32,
    pub verified: bool,
    pub backup_codes_remaining: u32,
    pub last_used_at: Option<&'r str>,
    pub failed_attempts: u32,
    pub locked_until: Option<&'r str>,
    pub created_at: &'r str,
    pub updated_at: &'r str,
}

impl<'r> From<&TotpRef<'r>> for ListItem<'r> {
    fn from(t: &TotpRef<'r>) -> Self {
        ListItem {
            id: t.id,
            account: t.account,
            issuer: t.issuer,
            algorithm: t.params.algorithm.as_str(),
            digits: t.params.digits,
            period: t.params.period,
            verified: t.verified,
            backup_codes_remaining: t.backup_codes_remaining,
            last_used_at: t.last_used_at,
            failed_attempts: t.failed_attempts,
            locked_until: t.locked_until,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// What `enroll --json` prints: the enrollment, its secret and URI, and the id of the
/// enrollment it replaced, if any.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrollView {
    #[serde(flatten)]
    pub totp: TotpView,
    pub replaced: Option<String>,
}

/// Why a code was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Incorrect,
    Replayed,
    InvalidLength,
    UsedBackupCode,
}

impl Reason {
    /// The stable code of the reason (SPEC §1).
    pub fn code(self) -> &'static str {
        match self {
            Reason::Incorrect => "totp_incorrect_code",
            Reason::Replayed => "totp_replayed_code",
            Reason::InvalidLength => "totp_invalid_length",
            Reason::UsedBackupCode => "backup_code_used",
        }
    }
}

/// What was checked: a TOTP code or a backup code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeType {
    Totp,
    BackupCode,
}

impl CodeType {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeType::Totp => "totp",
            CodeType::BackupCode => "backup_code",
        }
    }
}

/// What `verify` prints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    pub id: String,
    pub account: String,
    pub valid: bool,
    #[serde(deserialize_with = "known_or_null")]
    #[schema(value_type = Option<String>)]
    pub code_type: Option<Name>,
    pub drift: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_or_null"
    )]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Name>,
    pub verified: bool,
    pub backup_codes_remaining: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_codes: Option<Vec<String>>,
    pub failed_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Set only for a code checked at a future `--at`: nothing but the audit event was
    /// recorded, and the code still works when its time comes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

/// What `backup-codes` prints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCodesView {
    pub id: String,
    pub account: String,
    pub backup_codes: Vec<String>,
    pub backup_codes_remaining: u32,
}

/// What `remove` prints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemovedView {
    pub account: String,
    pub id: String,
    pub removed: bool,
}

/// One setting: `config KEY` and `config KEY VALUE`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigValue {
    pub key: String,
    pub value: serde_json::Value,
}

/// One event of `log --json`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub event: String,
    pub account: Option<String>,
    pub id: Option<String>,
    /// Who wrote the event (`{"user", "host"}`); null on events from before actors
    /// were recorded.
    pub actor: serde_json::Value,
    pub detail: serde_json::Value,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            seq: e.seq,
            at: e.at,
            event: e.event,
            account: e.account,
            id: e.totp_id,
            actor: e
                .actor
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or(serde_json::Value::Null),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// `log --head`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeadView {
    pub head: Option<String>,
    pub seq: Option<i64>,
}

/// `log --check`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckView {
    pub authenticated: bool,
    pub enrollments: u64,
    pub events: u64,
    pub from: i64,
    pub head: Option<String>,
    pub intact: bool,
    /// The seq of the head the check was asked to prove the log extends.
    #[serde(skip)]
    pub kept: Option<i64>,
}

/// `log --accept-restore`.
#[derive(Debug, Serialize)]
pub struct AcceptedView {
    pub accepted: bool,
    pub enrollments: u64,
    pub events: u64,
    pub head: Option<String>,
    /// The seq of the head accepted.
    #[serde(skip)]
    pub seq: i64,
}

/// What `import` prints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub imported: u64,
    pub skipped: u64,
    pub weak_secrets: u64,
    pub verified: bool,
    /// How many of the imported enrollments have no backup code (all of them).
    pub without_backup_codes: u64,
    pub dry_run: bool,
}

/// One account of `import --google-authenticator`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub account: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `imported`, `would_import` (dry run) or `skipped` (already enrolled).
    pub status: &'static str,
    pub algorithm: &'static str,
    pub digits: u8,
    pub period: u32,
    pub backup_codes: usize,
    pub not_carried_over: Vec<NotCarried>,
}

/// What `import --google-authenticator` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportGaView {
    pub source: &'static str,
    pub dry_run: bool,
    pub imported: u64,
    pub skipped: u64,
    pub verified: bool,
    pub accounts: Vec<AccountView>,
}

/// What `rekey` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RekeyView {
    pub backup_code_key_kept: bool,
    pub enrollments: usize,
    pub protection: &'static str,
    pub rekeyed: bool,
}

/// What `info` prints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfoView {
    pub store: String,
    /// "key-file" or "passphrase"; null while the store has no key yet.
    pub key_protection: Option<String>,
    pub key_file: Option<String>,
    /// Whether the key file is there: null with a passphrase or no key yet.
    pub key_file_found: Option<bool>,
    pub schema_version: i64,
    pub enrollments: Counts,
    pub events: u64,
    pub last_event_at: Option<String>,
}

/// The counts of `info`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub total: u64,
    pub verified: u64,
    pub unverified: u64,
    pub locked: u64,
    pub without_backup_codes: u64,
}

/// What `copy` prints.
#[derive(Debug, Serialize)]
pub struct CopyView {
    pub copied: bool,
    pub dest: String,
    pub enrollments: u64,
    pub events: u64,
}

/// What `upgrade` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeView {
    pub schema_version: i64,
    pub upgraded: bool,
}

/// A name a view holds as `&'static str` (an algorithm, a code type, a reason). (An
/// alias, so that serde does not take it for a string borrowed from its input.)
pub type Name = &'static str;

/// The names a view read back from a server (`ops::remote`) may hold.
const KNOWN: &[&str] = &[
    "SHA1",
    "SHA256",
    "SHA512",
    "totp",
    "backup_code",
    "totp_incorrect_code",
    "totp_replayed_code",
    "totp_invalid_length",
    "backup_code_used",
];

fn known<'de, D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
    let s = String::deserialize(d)?;
    KNOWN.iter().find(|k| **k == s).copied().ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{:?} is not a value this totpctl knows",
            crate::base::text::sanitize(&s)
        ))
    })
}

fn known_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Name>, D::Error> {
    #[derive(Deserialize)]
    struct Known(#[serde(deserialize_with = "known")] Name);
    Ok(Option::<Known>::deserialize(d)?.map(|k| k.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::otp::{Algorithm, Params};

    /// `list --json` and `show --json` print an enrollment the same way.
    #[test]
    fn list_item_serialises_as_the_audit_view() {
        let params = Params {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
        };
        for (last_used, locked) in [
            (None, None),
            (
                Some("2026-11-26T12:00:00.000Z"),
                Some("2026-11-26T13:00:00.000Z"),
            ),
        ] {
            let borrowed = TotpRef {
                id: "0192f1a2-7b3c-7def-8a9b-0123456789ab",
                account: "al\"ice\u{1b}@example.com",
                issuer: "Example Corp",
                params,
                verified: true,
                last_used_at: last_used,
                failed_attempts: 3,
                locked_until: locked,
                created_at: "2026-11-26T11:00:00.000Z",
                updated_at: "2026-11-26T12:00:00.000Z",
                backup_codes_remaining: 7,
            };
            let owned = Totp {
                id: borrowed.id.into(),
                account: borrowed.account.into(),
                issuer: borrowed.issuer.into(),
                params,
                verified: true,
                last_step: Some(1),
                last_used_at: last_used.map(Into::into),
                failed_attempts: 3,
                locked_until: locked.map(Into::into),
                created_at: borrowed.created_at.into(),
                updated_at: borrowed.updated_at.into(),
                backup_codes_remaining: 7,
                mac: None,
            };
            assert_eq!(
                serde_json::to_string(&ListItem::from(&borrowed)).unwrap(),
                serde_json::to_string(&TotpView::audit(owned)).unwrap()
            );
        }
    }
}
