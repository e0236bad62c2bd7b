//! An enrollment as every layer sees it: the row of `totps` with its parameters, a
//! borrowed form for streaming, and the filters of `list`.

use crate::domain::otp::Params;

/// An enrollment as stored, without its sealed secret.
#[derive(Debug, Clone)]
pub struct Totp {
    pub id: String,
    pub account: String,
    pub issuer: String,
    pub params: Params,
    pub verified: bool,
    pub last_step: Option<i64>,
    pub last_used_at: Option<String>,
    pub failed_attempts: u32,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub backup_codes_remaining: u32,
    /// The MAC over the row's state and live backup codes (src/integrity.rs); `None`
    /// on a store no keyed command has upgraded yet.
    pub mac: Option<Vec<u8>>,
}

/// An enrollment borrowed from the row the engine is on: nothing is copied, for
/// streaming many rows straight to the output.
#[derive(Debug, Clone, Copy)]
pub struct TotpRef<'r> {
    pub id: &'r str,
    pub account: &'r str,
    pub issuer: &'r str,
    pub params: Params,
    pub verified: bool,
    pub last_used_at: Option<&'r str>,
    pub failed_attempts: u32,
    pub locked_until: Option<&'r str>,
    pub created_at: &'r str,
    pub updated_at: &'r str,
    pub backup_codes_remaining: u32,
}

/// Which enrollments `list` shows.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub verified: Option<bool>,
    /// Only this issuer, ignoring the case of ASCII letters.
    pub issuer: Option<String>,
    /// Only those locked at this time.
    pub locked_at: Option<String>,
    /// Only those without a live backup code.
    pub no_backup_codes: bool,
    /// Only those never used, or last used before this RFC 3339 time.
    pub unused_since: Option<String>,
}
