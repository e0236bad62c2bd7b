//! What `verify --pam` needs from PAM's `pam_exec.so expose_authtok`: the account
//! from `PAM_USER`, the code from stdin (the authentication token, NUL-terminated),
//! and `PAM_SERVICE` and `PAM_RHOST` for the audit trail.
//!
//! pam_exec runs the command with the PAM environment, which a user can sometimes
//! influence (pam_env's `user_readenv`), so `verify --pam` takes nothing from it but
//! PAM's items ([`clear_environment_for_pam`]): the store, the key file, a password
//! file and a CA file are named on the command line of the PAM service file.
//!
//! A front end of the operations (`crate::ops`), as the command line is: [`verify`]
//! reads PAM's request, calls the verify operation, and prints nothing.

use std::io::Read;

use anyhow::Result;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::base::error::{Exit, invalid};
use crate::cli::VerifyArgs;
use crate::domain::otp;
use crate::ops::{Context, Operations, VerifyRequest};

/// `verify --pam`: the account from `PAM_USER`, the code from stdin, nothing
/// prompted or printed; exit 0 only for an accepted code. The token is read first,
/// before anything can fail, so that pam_exec's write never meets a closed pipe.
pub fn verify(args: &VerifyArgs, ops: &mut dyn Operations, cx: &Context) -> Result<Exit> {
    let at = args
        .at
        .as_deref()
        .map(crate::base::time::parse_time)
        .transpose()?;
    if let Some(w) = args.window {
        otp::check_window(w).map_err(invalid)?;
    }
    let code = read_authtok(std::io::stdin().lock())?;
    let request = PamRequest::from_env()?;
    let cx = Context {
        interactive: false,
        ..cx.clone()
    };
    let verified = ops.verify(
        &cx,
        &VerifyRequest {
            account: request.user.clone(),
            code: Some(code),
            at,
            window: args.window,
            pam: Some(request.detail()),
            fresh_backup_codes: false,
            hide_unknown: false,
        },
    )?;
    Ok(if verified.view.valid {
        Exit::Success
    } else {
        Exit::Rejected
    })
}

/// The most bytes of the token read: PAM_MAX_RESP_SIZE, all that pam_exec passes.
pub const MAX_AUTHTOK: usize = 512;
/// The longest PAM_SERVICE or PAM_RHOST kept in an event.
const MAX_ITEM: usize = 256;

/// The PAM items pam_exec puts in the environment: the only variables `verify --pam`
/// keeps.
const PAM_ITEMS: &[&str] = &[
    "PAM_USER",
    "PAM_SERVICE",
    "PAM_RHOST",
    "PAM_RUSER",
    "PAM_TTY",
    "PAM_TYPE",
];

/// Under `verify --pam`, empties the environment but for PAM's items. pam_exec runs
/// the command with the PAM environment, which a user can sometimes influence
/// (pam_env's `user_readenv`), so no variable may choose the store, the key, the
/// password, whom to trust or how long to wait: `TOTPCTL_*`, `PG*`, `SSL_*`, proxies
/// and `HOME` are all dropped. Called by `main` first, before anything (clap's
/// defaults from the environment included) reads a variable, and before any thread
/// is started.
pub fn clear_environment_for_pam(args: &[std::ffi::OsString]) {
    if !args.iter().skip(1).any(|a| a == "--pam") {
        return;
    }
    for (name, _) in std::env::vars_os() {
        if !PAM_ITEMS.iter().any(|item| name == *item) {
            // SAFETY: main calls this before the program starts any thread, so no
            // other thread can read the environment while it changes.
            unsafe { std::env::remove_var(&name) };
        }
    }
}

/// A verification request from pam_exec.
#[derive(Debug, Clone)]
pub struct PamRequest {
    /// `PAM_USER`: the account.
    pub user: String,
    /// `PAM_SERVICE`: sshd, sudo, login, …
    pub service: Option<String>,
    /// `PAM_RHOST`: the remote host, when the service has one.
    pub rhost: Option<String>,
}

impl PamRequest {
    /// Reads the request from the environment pam_exec sets, and checks that the
    /// store was named on the command line.
    pub fn from_env() -> Result<PamRequest> {
        let store_on_command_line = std::env::args_os()
            .any(|a| a == "--store" || a.to_string_lossy().starts_with("--store="));
        if !store_on_command_line {
            return Err(invalid(
                "verify --pam needs --store PATH on its command line (in the PAM service \
                 file): under PAM the environment may come from the user",
            ));
        }
        let user = match std::env::var("PAM_USER") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                return Err(invalid(
                    "verify --pam: PAM_USER is not set; run it from pam_exec.so",
                ));
            }
        };
        Ok(PamRequest {
            user,
            service: item("PAM_SERVICE"),
            rhost: item("PAM_RHOST"),
        })
    }

    /// The `"pam"` member added to the detail of the events this request writes.
    pub fn detail(&self) -> Value {
        json!({ "service": self.service, "rhost": self.rhost })
    }
}

fn item(name: &str) -> Option<String> {
    let value = std::env::var_os(name)?;
    let value = value.to_string_lossy();
    if value.is_empty() {
        return None;
    }
    Some(value.chars().take(MAX_ITEM).collect())
}

/// Reads the token pam_exec writes on stdin: up to the first NUL byte or newline
/// (pam_exec sends it NUL-terminated), at most [`MAX_AUTHTOK`] bytes. Never prompts.
pub fn read_authtok(reader: impl Read) -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_AUTHTOK));
    reader
        .take(MAX_AUTHTOK as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            invalid(format!(
                "verify --pam: cannot read the code from stdin: {e}"
            ))
        })?;
    let end = bytes
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(bytes.len());
    if end > MAX_AUTHTOK {
        return Err(invalid(format!(
            "verify --pam: the code on stdin is longer than {MAX_AUTHTOK} bytes"
        )));
    }
    let text = std::str::from_utf8(&bytes[..end])
        .map_err(|_| invalid("verify --pam: the code on stdin is not text"))?;
    let code = Zeroizing::new(text.trim_end_matches('\r').to_string());
    if code.trim().is_empty() {
        return Err(invalid("verify --pam: no code on stdin"));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_ends_at_nul_or_newline() {
        assert_eq!(read_authtok(&b"123456\0"[..]).unwrap().as_str(), "123456");
        assert_eq!(read_authtok(&b"123 456\n"[..]).unwrap().as_str(), "123 456");
        assert_eq!(read_authtok(&b"654321"[..]).unwrap().as_str(), "654321");
        assert_eq!(read_authtok(&b"1\0trailing"[..]).unwrap().as_str(), "1");
        assert!(read_authtok(&b"\0"[..]).is_err());
        assert!(read_authtok(&b""[..]).is_err());
        assert!(read_authtok(&[b'1'; 600][..]).is_err());
        assert!(read_authtok(&b"\xff\xfe\0"[..]).is_err());
    }
}
