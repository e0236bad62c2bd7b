//! `verify`: check a TOTP code or a backup code, with replay protection and lockout.
//!
//! Everything happens in one write transaction: the lockout check, the match, the
//! record of the accepted step (or consumed backup code, or rejected attempt) and the
//! audit events. Concurrent processes presenting one code are serialised by the
//! store's write lock, so exactly one of them sees the step as new.

use std::io::Write;

use anyhow::Result;
use chrono::Duration;
use serde::Serialize;
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::config::Settings;
use crate::error::{Error, Exit, invalid};
use crate::output::{plural, sanitize};
use crate::pam::{self, PamRequest};
use crate::store;
use crate::{Ctx, backup_codes, otp, parse_time, timestamp};

/// Why a code was rejected: Clerk's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Incorrect,
    Replayed,
    InvalidLength,
    UsedBackupCode,
}

impl Reason {
    fn code(self) -> &'static str {
        match self {
            Reason::Incorrect => "totp_incorrect_code",
            Reason::Replayed => "totp_replayed_code",
            Reason::InvalidLength => "totp_invalid_length",
            Reason::UsedBackupCode => "backup_code_used",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeType {
    Totp,
    BackupCode,
}

impl CodeType {
    fn as_str(self) -> &'static str {
        match self {
            CodeType::Totp => "totp",
            CodeType::BackupCode => "backup_code",
        }
    }
}

/// What `verify` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyView {
    id: String,
    account: String,
    valid: bool,
    code_type: Option<&'static str>,
    drift: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    verified: bool,
    backup_codes_remaining: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_codes: Option<Vec<String>>,
    failed_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<String>,
    /// Set only for a code checked at a future `--at`: nothing but the audit event was
    /// recorded, and the code still works when its time comes.
    #[serde(skip_serializing_if = "Option::is_none")]
    checked_at: Option<String>,
}

/// How long a verify may take unless `--timeout` says otherwise: connecting, waiting
/// for locks and retrying included.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Ends the process, failing closed with a `store_error`, if verify has not finished
/// by its deadline: a store that does not answer (a server that stopped, a lock held
/// by a stalled session, a disk that hangs) must not hold a login open. Whatever the
/// verify was doing is rolled back with the process.
pub struct Watchdog {
    done: std::sync::Arc<std::sync::Mutex<bool>>,
}

impl Watchdog {
    pub fn start(deadline: std::time::Duration, json: bool, store: String) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::Mutex::new(false));
        let watched = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(deadline);
            let finished = watched.lock().map(|d| *d).unwrap_or(true);
            if !finished {
                // Held while the process ends, so that verify prints nothing after it.
                let _hold = watched.lock();
                let err = Error::Store(format!(
                    "{store} did not answer within {} s (--timeout): nothing was accepted",
                    deadline.as_secs_f64()
                ));
                crate::report(&err.into(), json);
                std::process::exit(Exit::Error as i32);
            }
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Ok(mut d) = self.done.lock() {
            *d = true;
        }
    }
}

pub fn run(args: &VerifyArgs, ctx: &Ctx) -> Result<Exit> {
    let at = args.at.as_deref().map(parse_time).transpose()?;
    // A code checked at a future --at is only checked: recording its step would move
    // the replay watermark past the real clock and turn every real code into a
    // "replay". So nothing changes but the audit trail, which records the check.
    let check_only = at.is_some_and(|at| at > ctx.now);
    if let Some(w) = args.window
        && w > otp::MAX_WINDOW
    {
        return Err(invalid(format!(
            "--window must be 0 to {}, not {w}",
            otp::MAX_WINDOW
        )));
    }
    // PAM mode (issue 12): the account and code come from pam_exec, nothing is
    // prompted or printed, and the events name the PAM service and remote host. The
    // token is read first, before anything can fail, so pam_exec's write never meets
    // a closed pipe.
    let pam_input = args
        .pam
        .then(|| -> Result<_> {
            let code = pam::read_authtok(std::io::stdin().lock())?;
            Ok((PamRequest::from_env()?, code))
        })
        .transpose()?;
    let pam_req = pam_input.as_ref().map(|(request, _)| request);
    let account: &str = match (pam_req, &args.account) {
        (Some(request), _) => &request.user,
        (None, Some(account)) => account,
        (None, None) => return Err(invalid("no ACCOUNT given")),
    };
    let interactive = ctx.interactive && pam_req.is_none();
    let mut store = ctx.existing_store()?;
    let now = ctx.now_str();
    // Ask only for the code of an account that exists and is not locked out, so that
    // neither a typo nor a lockout is reported after someone typed a code. This look
    // is unauthenticated and decides nothing: all is checked again, with the key,
    // under the write lock below.
    let input = if let Some((_, code)) = pam_input.as_ref() {
        Some(code.clone())
    } else if args.code.is_empty() {
        let t = store.get(account)?;
        if t.locked_until.as_deref().is_some_and(|u| u > now.as_str()) {
            None
        } else {
            Some(read_code(ctx, account)?)
        }
    } else {
        Some(zeroize::Zeroizing::new(args.code.concat()))
    };

    let mut s = ctx.session_with(&mut store, false, interactive)?;
    if let Some(request) = pam_req {
        s.add_to_every_detail("pam", request.detail());
    }
    // Under PAM the account is a user name, never an id, and an unknown one is
    // recorded as a rejected attempt, committed like a known one's, so that the two
    // take about as long and the log shows who was tried.
    let found = match pam_req {
        Some(_) => s.find_by_name(account)?,
        None => s.find(account)?,
    };
    let Some(mut e) = found else {
        if pam_req.is_some() {
            s.event_with_state(
                "code_rejected",
                Some(account),
                None,
                &with_pam(json!({ "reason": "resource_not_found" }), pam_req).to_string(),
                None,
            )?;
            s.commit()?;
        }
        return Err(Error::NotFound(sanitize(account)).into());
    };
    let settings = s.settings().clone();
    let before = e.totp.clone();

    if let Some(until) = e.totp.locked_until.clone() {
        if until > now {
            // Locked: the code is not looked at, but the attempt is on the record,
            // whichever way the code came.
            s.event(
                "code_rejected",
                Some(&e),
                json!({ "reason": "user_locked", "lockedUntil": until }),
            )?;
            s.commit()?;
            return Err(Error::Locked {
                account: sanitize(&e.totp.account),
                until,
                unlock: ctx.account_command("unlock", &e.totp.account),
            }
            .into());
        }
        // The lockout has run out: the count starts again, on the record.
        e.totp.failed_attempts = 0;
        e.totp.locked_until = None;
        save(&mut s, &mut e)?;
        s.event(
            "unlocked",
            Some(&e),
            json!({ "lockedUntil": until, "failedAttempts": before.failed_attempts, "expired": true }),
        )?;
    }
    let Some(input) = input else {
        // Locked when looked at, but no longer: the code was not read yet.
        s.commit()?;
        return Err(invalid(
            "the account's lockout ran out as the code was about to be asked: run verify again",
        ));
    };

    let window = args.window.unwrap_or(settings.window);
    let digits_only = otp::normalize_code(&input);
    let now_step = e.totp.params.step_at(at.unwrap_or(ctx.now).timestamp());

    // Backup codes first, as Clerk does.
    // Eight digits on a shorter TOTP are a scratch code imported from
    // google-authenticator (issue 12).
    let outcome: (CodeType, Result<Option<i64>, Reason>) = if let Some(code) =
        backup_codes::normalize_for(&input, e.totp.params.digits)
    {
        let hash = s.hash_code(&e, &code);
        let live = if check_only {
            e.backup_hashes.iter().any(|h| h[..] == hash[..])
        } else {
            s.consume_backup_code(&mut e, &hash)?
        };
        let result = if live {
            Ok(None)
        } else if s.backup_code_was_used(&e, &hash)? {
            Err(Reason::UsedBackupCode)
        } else {
            Err(Reason::Incorrect)
        };
        (CodeType::BackupCode, result)
    } else if digits_only.len() == usize::from(e.totp.params.digits)
        && digits_only.bytes().all(|b| b.is_ascii_digit())
    {
        let secret = s.secret(&e)?;
        let result = match otp::find_step(&e.totp.params, &secret, &digits_only, now_step, window) {
            Some(m) if e.totp.last_step.is_none_or(|last| m.step > last) => {
                if !check_only {
                    e.totp.last_step = Some(m.step);
                }
                Ok(Some(m.drift))
            }
            Some(_) => Err(Reason::Replayed),
            None => Err(Reason::Incorrect),
        };
        (CodeType::Totp, result)
    } else {
        (CodeType::Totp, Err(Reason::InvalidLength))
    };

    let (code_type, result) = outcome;
    let mut view = VerifyView {
        id: e.totp.id.clone(),
        account: e.totp.account.clone(),
        valid: result.is_ok(),
        code_type: Some(code_type.as_str()),
        drift: None,
        reason: None,
        verified: e.totp.verified,
        backup_codes_remaining: e.totp.backup_codes_remaining,
        backup_codes: None,
        failed_attempts: e.totp.failed_attempts,
        locked_until: None,
        checked_at: None,
    };
    // What the audit trail says of the time the code was checked at, if not now.
    let at_detail = at.map(timestamp);
    if check_only {
        view.checked_at = at_detail.clone();
        view.drift = result.ok().flatten();
        view.reason = result.err().map(Reason::code);
        if result == Err(Reason::InvalidLength) {
            view.code_type = None;
        }
        s.event(
            "code_checked",
            Some(&e),
            json!({
                "type": view.code_type,
                "valid": view.valid,
                "reason": view.reason,
                "at": at_detail,
                "recorded": false,
            }),
        )?;
        s.commit()?;
        if pam_req.is_none() {
            print(ctx, &view, &settings)?;
        }
        return Ok(if view.valid {
            Exit::Success
        } else {
            Exit::Rejected
        });
    }
    match result {
        Ok(drift) => {
            view.drift = drift;
            e.totp.last_used_at = Some(now.clone());
            e.totp.failed_attempts = 0;
            e.totp.locked_until = None;
            let newly_verified = !e.totp.verified;
            e.totp.verified = true;
            let mut fresh_codes = None;
            // Under PAM nobody could see fresh codes: they are made by `backup-codes`.
            if newly_verified
                && settings.backup_codes
                && e.backup_hashes.is_empty()
                && pam_req.is_none()
            {
                let codes = backup_codes::generate(settings.backup_code_count)?;
                let hashes = codes.iter().map(|c| s.hash_code(&e, c)).collect();
                s.replace_backup_codes(&mut e, hashes)?;
                fresh_codes = Some(codes);
            }
            save(&mut s, &mut e)?;
            view.failed_attempts = 0;
            view.verified = true;
            view.backup_codes_remaining = e.totp.backup_codes_remaining;
            s.event(
                "code_accepted",
                Some(&e),
                with_at(
                    json!({ "type": code_type.as_str(), "drift": drift }),
                    &at_detail,
                ),
            )?;
            if code_type == CodeType::BackupCode {
                s.event(
                    "backup_code_used",
                    Some(&e),
                    json!({ "remaining": e.totp.backup_codes_remaining }),
                )?;
            }
            if newly_verified {
                s.event("verified", Some(&e), json!({}))?;
            }
            if let Some(codes) = fresh_codes {
                s.event(
                    "backup_codes_generated",
                    Some(&e),
                    json!({ "count": codes.len() }),
                )?;
                view.backup_codes = Some(codes.iter().map(|c| backup_codes::display(c)).collect());
            }
        }
        Err(reason) => {
            view.reason = Some(reason.code());
            if reason == Reason::InvalidLength {
                view.code_type = None;
            }
            e.totp.failed_attempts = e.totp.failed_attempts.saturating_add(1);
            let failed = e.totp.failed_attempts;
            let locks = settings.lockout_attempts > 0 && failed >= settings.lockout_attempts;
            let until = locks.then(|| {
                timestamp(ctx.now + Duration::seconds(i64::from(settings.lockout_seconds)))
            });
            e.totp.locked_until = until.clone();
            save(&mut s, &mut e)?;
            view.failed_attempts = failed;
            s.event(
                "code_rejected",
                Some(&e),
                with_at(
                    json!({ "type": view.code_type, "reason": reason.code(), "failedAttempts": failed }),
                    &at_detail,
                ),
            )?;
            if let Some(until) = until {
                s.event(
                    "locked",
                    Some(&e),
                    json!({ "lockedUntil": until, "failedAttempts": failed }),
                )?;
                view.locked_until = Some(until);
            }
        }
    }
    s.commit()?;
    if pam_req.is_none() {
        print(ctx, &view, &settings)?;
    }
    Ok(if view.valid {
        Exit::Success
    } else {
        Exit::Rejected
    })
}

/// Saves an enrollment's new state. The session holds the write lock, so the row
/// cannot have changed since it was loaded; if it did, nothing is recorded.
fn save(s: &mut store::Session<'_>, e: &mut store::Enrollment) -> Result<()> {
    if s.save(e)? {
        Ok(())
    } else {
        Err(Error::Store(format!(
            "the enrollment of '{}' changed while it was being verified; nothing was \
             recorded: try again",
            sanitize(&e.totp.account)
        ))
        .into())
    }
}

/// Adds the `"pam"` member to an event's detail written outside `Session::event`.
fn with_pam(mut detail: serde_json::Value, pam: Option<&PamRequest>) -> serde_json::Value {
    if let Some(request) = pam {
        detail["pam"] = request.detail();
    }
    detail
}

/// Adds `"at"` to an event's detail when the code was checked at a time given with
/// --at, so the trail shows which time was used.
fn with_at(mut detail: serde_json::Value, at: &Option<String>) -> serde_json::Value {
    if let Some(at) = at {
        detail["at"] = at.clone().into();
    }
    detail
}

/// Times the prompt asks again after an empty answer.
const PROMPTS: usize = 3;

/// Reads the code from a no-echo prompt on a terminal (asking again after an empty
/// Enter, up to three times), else one line of stdin.
fn read_code(ctx: &Ctx, account: &str) -> Result<zeroize::Zeroizing<String>> {
    if ctx.interactive {
        for _ in 0..PROMPTS {
            let code = zeroize::Zeroizing::new(
                crate::prompt_hidden(&format!("Code for {}: ", sanitize(account))).map_err(
                    |e| match e.kind() {
                        std::io::ErrorKind::UnexpectedEof => invalid("no code given"),
                        _ => invalid(format!("cannot read the code: {e}")),
                    },
                )?,
            );
            if !code.trim().is_empty() {
                return Ok(code);
            }
        }
        return Err(invalid(format!(
            "no code given after {PROMPTS} empty answers"
        )));
    }
    if ctx.out.json && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(invalid(
            "no code given: with --json, pass CODE or pipe it on stdin",
        ));
    }
    let code = zeroize::Zeroizing::new(crate::read_stdin_line("code")?);
    if code.trim().is_empty() {
        return Err(invalid("no code given: pass CODE, or type or pipe it"));
    }
    Ok(code)
}

fn print(ctx: &Ctx, view: &VerifyView, settings: &Settings) -> Result<()> {
    let out = &ctx.out;
    if out.json {
        return out.json(view);
    }
    let mut w = out.stdout();
    let account = sanitize(&view.account);
    if view.valid {
        let what = match (view.code_type, view.drift) {
            (Some("backup_code"), _) => format!(
                "backup code accepted for {account}; {} left",
                plural(u64::from(view.backup_codes_remaining), "backup code")
            ),
            (_, drift) => {
                let drift = match drift {
                    Some(0) | None => String::new(),
                    Some(d) if d.abs() == 1 => format!(" (drift {d:+} step)"),
                    Some(d) => format!(" (drift {d:+} steps)"),
                };
                match &view.checked_at {
                    Some(at) => format!(
                        "TOTP code valid for {account} at {}{drift}: checked only, as that \
                         time is still to come; nothing was recorded, and the code still \
                         works then",
                        crate::output::human_time(at)
                    ),
                    None => format!("TOTP code accepted for {account}{drift}"),
                }
            }
        };
        writeln!(w, "{} {what}", out.green("✓"))?;
        if let Some(codes) = &view.backup_codes {
            writeln!(w)?;
            writeln!(
                w,
                "2FA is now enabled for {account}. Backup codes, each good for one sign-in:"
            )?;
            for code in codes {
                writeln!(w, "  {code}")?;
            }
            writeln!(
                w,
                "{} This is the only time these codes are shown: store them somewhere safe.",
                out.yellow("Note:")
            )?;
        }
    } else {
        let reason = match view.reason {
            Some("totp_replayed_code") => "the code was already used (replayed)",
            Some("totp_invalid_length") => "that is neither a TOTP code nor a backup code",
            Some("backup_code_used") => "that backup code was already used",
            _ => "the code is incorrect",
        };
        if let Some(at) = &view.checked_at {
            writeln!(
                w,
                "{} not valid for {account} at {}: {reason} (checked only, as that time is \
                 still to come; nothing was recorded)",
                out.red("✗"),
                crate::output::human_time(at)
            )?;
        } else {
            writeln!(w, "{} rejected for {account}: {reason}", out.red("✗"))?;
        }
        if view.checked_at.is_some() {
            // Nothing was counted against the account.
        } else if let Some(until) = &view.locked_until {
            writeln!(
                w,
                "{account} is now locked until {} after {}; an admin can clear it with: {}",
                crate::output::human_time(until),
                plural(u64::from(view.failed_attempts), "rejected code"),
                ctx.account_command("unlock", &view.account)
            )?;
        } else if settings.lockout_attempts > 0 {
            let left = settings
                .lockout_attempts
                .saturating_sub(view.failed_attempts);
            writeln!(
                w,
                "{} left before lockout",
                plural(u64::from(left), "attempt")
            )?;
        }
    }
    w.flush()?;
    Ok(())
}
