//! What the operations take (plain inputs, checked by the front end as far as it
//! can) and what the larger ones give back besides their view.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use super::views::{EnrollView, TotpView, VerifyView};
use crate::domain::otp::Algorithm;
use crate::vault::Protection;

/// `enroll`: the account and the parameters asked for (the store's settings fill in
/// the rest).
#[derive(Debug, Clone, Default)]
pub struct EnrollRequest {
    pub account: String,
    pub issuer: Option<String>,
    pub algorithm: Option<Algorithm>,
    pub digits: Option<u8>,
    pub period: Option<u32>,
    /// Bytes of secret.
    pub secret_size: usize,
    /// Replace a verified enrollment.
    pub force: bool,
    /// Also write the QR code to this image (.png or .svg), in place before the
    /// enrollment commits and removed if it does not.
    pub qr_file: Option<PathBuf>,
}

/// A store (and key file) an operation made.
#[derive(Debug, Clone)]
pub struct NewStore {
    pub store: PathBuf,
    pub key_file: Option<PathBuf>,
}

/// The enrollment an `enroll` replaced.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub id: String,
    pub was_verified: bool,
    /// It was locked out, and the lockout went with it.
    pub lock_cleared: bool,
}

/// What `enroll` did.
#[derive(Debug)]
pub struct Enrolled {
    pub view: EnrollView,
    pub replaced: Option<Replaced>,
    /// The image written, if one was asked for.
    pub qr_image: Option<PathBuf>,
    /// The store and key this enrollment made, on a store's first enrollment.
    pub created: Option<NewStore>,
}

/// `list`: which enrollments, as given (times are read after the store is opened,
/// so that a store that is not there is said first).
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub verified: Option<bool>,
    /// Only this issuer, ignoring the case of ASCII letters.
    pub issuer: Option<String>,
    /// Only those locked now.
    pub locked: bool,
    pub no_backup_codes: bool,
    /// Only those never used, or last used before this time (a span before now, unix
    /// seconds or RFC 3339).
    pub unused_since: Option<String>,
}

/// `log`: which events, as given.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub account: Option<String>,
    /// Times as given: a span before now, unix seconds or RFC 3339.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Event names; each must be one of [`crate::ops::EVENTS`].
    pub events: Vec<String>,
    /// The newest N of them.
    pub limit: Option<u64>,
}

/// What `verify` can tell before a code is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Precheck {
    /// Locked out now: no code is asked, the attempt is recorded all the same.
    pub locked: bool,
}

/// `verify`: the account and the code, as typed.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    pub account: String,
    /// The code; `None` when the account was locked when the front end looked
    /// ([`Precheck`]), so that only the attempt is recorded.
    pub code: Option<Zeroizing<String>>,
    /// Check the code at this time instead of now; a time still to come only checks.
    pub at: Option<DateTime<Utc>>,
    /// The window, instead of the store's setting.
    pub window: Option<u32>,
    /// From PAM: the detail every event records (`{"service", "rhost"}`). The account
    /// is then a user name (never an id), an unknown one is recorded as a rejected
    /// attempt, and no backup codes are made (nobody could see them).
    pub pam: Option<serde_json::Value>,
    /// Whether the first accepted code may make backup codes and show them (not to
    /// a caller who may only verify).
    pub fresh_backup_codes: bool,
    /// Whether the caller must not learn which accounts are enrolled: the account is
    /// then a name, never an id, and an unknown one is answered as a wrong code is.
    pub hide_unknown: bool,
}

/// What `verify` decided.
#[derive(Debug)]
pub struct Verified {
    pub view: VerifyView,
    /// The store's lockout threshold (0: none), for "N attempts left".
    pub lockout_attempts: u32,
}

/// What `unlock` did.
#[derive(Debug)]
pub struct Unlocked {
    pub view: TotpView,
    /// Whether the account was locked (else only its count was reset).
    pub was_locked: bool,
}

/// `log --check`.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    /// A head kept elsewhere (`log --head`) the log must extend.
    pub head: Option<String>,
    /// Check everything, not only what is new since this host's last check.
    pub full: bool,
}

/// Where `import` reads its lines.
pub enum ImportInput<'a> {
    /// A file, read twice when the store is new (checked whole before it is made).
    File(PathBuf),
    /// A stream (stdin, a request body), named for messages; held in memory when it
    /// must be read twice.
    Stream {
        reader: Box<dyn std::io::Read + 'a>,
        name: String,
    },
}

/// How far an import has got, for a progress bar.
pub trait Progress {
    /// Bytes read so far, and accounts imported so far.
    fn update(&self, bytes: u64, imported: u64);
}

/// `import`: `otpauth://` URIs, one a line.
pub struct ImportRequest<'a> {
    pub input: ImportInput<'a>,
    /// The input's size, when known (a progress bar's end).
    pub total_bytes: Option<u64>,
    pub unverified: bool,
    pub skip_existing: bool,
    pub dry_run: bool,
    pub progress: Option<&'a dyn Progress>,
}

/// What `import` did: its view, warnings for stderr, whether the store makes backup
/// codes on a first accepted code, and the store it made, if any.
pub struct Imported {
    pub view: super::views::ImportView,
    pub warnings: Vec<String>,
    pub backup_codes_on: bool,
    pub created: Option<NewStore>,
}

/// `import --google-authenticator`.
#[derive(Debug, Clone, Default)]
pub struct ImportGaRequest {
    pub files: Vec<PathBuf>,
    /// The account of a single file, instead of its owner's name.
    pub account: Option<String>,
    pub unverified: bool,
    pub skip_existing: bool,
    pub dry_run: bool,
}

/// What `import --google-authenticator` did.
pub struct ImportedGa {
    pub view: super::views::ImportGaView,
    pub created: Option<NewStore>,
}

/// `rekey`: the protection wanted, and how to get a new passphrase (from the
/// environment or a prompt: the front end's business), given the current protection.
pub struct RekeyRequest<'a> {
    pub passphrase: bool,
    pub key_file: bool,
    pub new_passphrase: &'a dyn Fn(Protection) -> Result<Zeroizing<String>>,
}

/// What `rekey` did.
pub struct Rekeyed {
    pub view: super::views::RekeyView,
    pub key_file: PathBuf,
}

/// `copy DEST`.
pub struct CopyRequest<'a> {
    pub dest: PathBuf,
    /// Records copied so far, of the total, for a progress bar.
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

/// What `copy` did: its view, and the notes on the key and the source.
pub struct Copied {
    pub view: super::views::CopyView,
    pub key_note: String,
    pub source: PathBuf,
}
