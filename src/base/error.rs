//! The errors a caller can branch on: each carries its exit status and a stable
//! snake_case code for `--json` output (SPEC §3).
//!
//! Anything else (I/O on a path, an SQLite failure) travels as `anyhow::Error` with
//! context and is reported as `store_error` unless it wraps one of these.

use std::path::Path;
use std::process::ExitCode;

/// The process exit statuses of SPEC §3, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `verify`, the code was accepted.
    Success = 0,
    /// `verify`: the code was rejected.
    Rejected = 1,
    /// Bad arguments or input, store or key problem.
    Error = 2,
    /// `verify`: the account is locked out.
    Locked = 3,
    /// The account or id does not exist.
    NotFound = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error with a stable identity.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("no TOTP enrolled for '{0}'")]
    NotFound(String),
    /// Something other than an enrollment is not there (an API token): the message
    /// says what.
    #[error("{0}")]
    Missing(String),
    #[error(
        "'{0}' already has a verified TOTP; pass --force to replace it (its backup codes go too)"
    )]
    AlreadyEnabled(String),
    #[error(
        "'{account}' has no verified TOTP yet: verify a code first ({verify}), then \
         generate backup codes"
    )]
    BackupCodesNotAvailable {
        account: String,
        /// The `totpctl verify …` command line, ready to paste.
        verify: String,
    },
    #[error(
        "'{account}' is locked after too many rejected codes until {}; an admin can \
         clear it with: {unlock}",
        crate::base::text::human_time(until)
    )]
    Locked {
        account: String,
        until: String,
        /// The `totpctl unlock …` command line that clears it, ready to paste.
        unlock: String,
    },
    #[error("{summary}")]
    BadLines {
        summary: String,
        /// The input the lines are of (a file's path, `stdin`).
        input: String,
        total: u64,
        /// The first of them: line number and what is wrong.
        lines: Vec<(u64, String)>,
    },
    /// Several problems with an input, each its own line for people; the message
    /// carries them all.
    #[error("{summary}: {}", problems.join("; "))]
    Problems {
        summary: String,
        problems: Vec<String>,
    },
    #[error("{0}")]
    Key(String),
    #[error("the audit log is broken at event #{seq}: {reason}")]
    LogBroken { seq: i64, reason: String },
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    StoreNotFound(String),
    #[error("{0}")]
    Integrity(String),
    /// An API request without a valid token (none, unknown, expired, revoked).
    #[error("{0}")]
    Unauthorized(String),
    /// An API token without the scope a request needs.
    #[error("{0}")]
    Forbidden(String),
    /// A code a server rejected, told to a client that may only verify: the reason
    /// and the count of rejected attempts, nothing more.
    #[error("{message}")]
    Rejected {
        reason: String,
        message: String,
        failed_attempts: Option<u64>,
        locked_until: Option<String>,
    },
    /// An API request larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// An API token over its rate limit.
    #[error("{0}")]
    RateLimited(String),
}

impl Error {
    /// The stable JSON error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) | Error::BadLines { .. } | Error::Problems { .. } => {
                "invalid_argument"
            }
            Error::NotFound(_) | Error::Missing(_) => "resource_not_found",
            Error::AlreadyEnabled(_) => "totp_already_enabled",
            Error::BackupCodesNotAvailable { .. } => "backup_codes_not_available",
            Error::Locked { .. } => "user_locked",
            Error::Key(_) => "key_error",
            Error::LogBroken { .. } => "log_chain_broken",
            Error::Store(_) => "store_error",
            Error::StoreNotFound(_) => "store_not_found",
            Error::Integrity(_) => "integrity_error",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::RateLimited(_) => "rate_limited",
            Error::Rejected { reason, .. } => match reason.as_str() {
                "totp_replayed_code" => "totp_replayed_code",
                "totp_invalid_length" => "totp_invalid_length",
                "backup_code_used" => "backup_code_used",
                _ => "totp_incorrect_code",
            },
        }
    }

    /// The exit status this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::NotFound(_) | Error::Missing(_) => Exit::NotFound,
            Error::Locked { .. } => Exit::Locked,
            Error::Rejected { .. } => Exit::Rejected,
            _ => Exit::Error,
        }
    }
}

/// Shorthand for an `invalid_argument` error.
pub fn invalid(msg: impl Into<String>) -> anyhow::Error {
    Error::InvalidArgument(msg.into()).into()
}

/// Shorthand for a `key_error`.
pub fn key_error(msg: impl Into<String>) -> anyhow::Error {
    Error::Key(msg.into()).into()
}

/// Shorthand for an `integrity_error`: the store holds something its key did not
/// write.
pub fn integrity_error(msg: impl Into<String>) -> anyhow::Error {
    Error::Integrity(msg.into()).into()
}

/// The body of the JSON error every front end gives (`{"error": BODY}`): the stable
/// code and the one-line message, with what a caller branches on besides (when a
/// lockout ends, which event broke the log, which input lines are bad).
pub fn json_body(err: &anyhow::Error) -> serde_json::Value {
    let typed = classify(err);
    let code = typed.map_or("store_error", Error::code);
    let mut body = serde_json::json!({ "code": code, "message": one_line(err) });
    match typed {
        Some(Error::Locked { until, .. }) => body["lockedUntil"] = until.clone().into(),
        Some(Error::Rejected {
            failed_attempts,
            locked_until,
            ..
        }) => {
            body["failedAttempts"] = (*failed_attempts).into();
            if let Some(until) = locked_until {
                body["lockedUntil"] = until.clone().into();
            }
        }
        Some(Error::LogBroken { seq, .. }) => body["event"] = (*seq).into(),
        Some(Error::BadLines { total, lines, .. }) => {
            body["badLines"] = (*total).into();
            body["lines"] = lines
                .iter()
                .map(|(line, message)| serde_json::json!({ "line": line, "message": message }))
                .collect();
        }
        _ => {}
    }
    body
}

/// Finds the typed error inside an `anyhow` chain, if there is one.
pub fn classify(err: &anyhow::Error) -> Option<&Error> {
    err.chain().find_map(|e| e.downcast_ref::<Error>())
}

/// Turns an error chain into the one line shown to people: the outermost context
/// first, causes after it, without repeating a cause that the context already quotes.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace(['\n', '\r'], " ")
}

/// An error for a store whose content this build cannot make sense of.
pub fn corrupt(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(Error::Store(format!(
        "{} is damaged: {what}",
        path.display()
    )))
}

/// Shorthand for a `store_error`.
pub fn store_err(msg: String) -> anyhow::Error {
    Error::Store(msg).into()
}
