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
use subtle::ConstantTimeEq;

use crate::cli::VerifyArgs;
use crate::config::Settings;
use crate::error::{Error, Exit, invalid};
use crate::output::sanitize;
use crate::pam::{self, PamRequest};
use crate::store::{self, SqlContext};
use crate::vault::Vault;
use crate::{Ctx, backup_codes, otp, parse_time, timestamp};

/// Why a code was rejected: Clerk's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Incorrect,
    Replayed,
    InvalidLength,
}

impl Reason {
    fn code(self) -> &'static str {
        match self {
            Reason::Incorrect => "totp_incorrect_code",
            Reason::Replayed => "totp_replayed_code",
            Reason::InvalidLength => "totp_invalid_length",
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
}

pub fn run(args: &VerifyArgs, ctx: &Ctx) -> Result<Exit> {
    let at = args.at.as_deref().map(parse_time).transpose()?;
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
    let mut store = ctx.store_for(account)?;
    let path = store.path().to_path_buf();
    let now = ctx.now_str();
    let input = if let Some((_, code)) = pam_input.as_ref() {
        code.clone()
    } else if args.code.is_empty() {
        // Ask only for the code of an account that exists and is not locked out, so
        // that neither a typo nor a lockout is reported after someone typed a code.
        // Both are checked again under the write lock below.
        let t = store::get(store.conn(), &path, account)?;
        if let Some(until) = t.locked_until.filter(|u| *u > now) {
            return Err(Error::Locked {
                account: sanitize(&t.account),
                until,
            }
            .into());
        }
        read_code(ctx, account)?
    } else {
        zeroize::Zeroizing::new(args.code.concat())
    };

    let tx = store.write()?;
    let mut totp = store::get(&tx, &path, account)?;
    let settings = Settings::load(&tx, &path)?;

    if let Some(until) = totp.locked_until.clone() {
        if until > now {
            // Locked: the code is not looked at.
            store::append_event(
                &tx,
                &now,
                "code_rejected",
                Some(&totp.account),
                Some(&totp.id),
                pam::with_pam(
                    json!({ "reason": "user_locked", "lockedUntil": until }),
                    pam_req,
                ),
            )
            .sql(&path)?;
            tx.commit().sql(&path)?;
            return Err(Error::Locked {
                account: sanitize(&totp.account),
                until,
            }
            .into());
        }
        // The lockout has run out: the count starts again, on the record.
        store::unlock(&tx, &totp.id, &now).sql(&path)?;
        store::append_event(
            &tx,
            &now,
            "unlocked",
            Some(&totp.account),
            Some(&totp.id),
            pam::with_pam(json!({ "lockedUntil": until, "failedAttempts": totp.failed_attempts, "expired": true }), pam_req),
        )
        .sql(&path)?;
        totp.failed_attempts = 0;
        totp.locked_until = None;
    }

    let vault = Vault::unlock(&tx, &path, interactive)?;
    let window = args.window.unwrap_or(settings.window);
    let digits_only = otp::normalize_code(&input);

    // Backup codes first, as Clerk does.
    // Eight digits on a shorter TOTP are a scratch code imported from
    // google-authenticator (issue 12).
    let outcome: (CodeType, Result<Option<i64>, Reason>) = if let Some(code) =
        backup_codes::normalize_for(&input, totp.params.digits)
    {
        let hash = vault.hash_code(&totp.id, &code);
        let known = store::backup_code_hashes(&tx, &totp.id).sql(&path)?;
        let mut matched = false;
        for stored in &known {
            matched |= bool::from(stored.as_slice().ct_eq(&hash[..]));
        }
        let consumed =
            matched && store::consume_backup_code(&tx, &totp.id, &hash, &now).sql(&path)?;
        (
            CodeType::BackupCode,
            if consumed {
                Ok(None)
            } else {
                Err(Reason::Incorrect)
            },
        )
    } else if digits_only.len() == usize::from(totp.params.digits)
        && digits_only.bytes().all(|b| b.is_ascii_digit())
    {
        let sealed = store::sealed_secret(&tx, &totp.id).sql(&path)?;
        let secret = vault.open(&totp.id, &sealed)?;
        let now_step = totp.params.step_at(at.unwrap_or(ctx.now).timestamp());
        let result = match otp::find_step(&totp.params, &secret, &digits_only, now_step, window) {
            Some(m) if store::accept_step(&tx, &totp.id, m.step, &now).sql(&path)? => {
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
        id: totp.id.clone(),
        account: totp.account.clone(),
        valid: result.is_ok(),
        code_type: Some(code_type.as_str()),
        drift: None,
        reason: None,
        verified: totp.verified,
        backup_codes_remaining: totp.backup_codes_remaining,
        backup_codes: None,
        failed_attempts: totp.failed_attempts,
        locked_until: None,
    };
    let account = Some(totp.account.as_str());
    let id = Some(totp.id.as_str());
    match result {
        Ok(drift) => {
            view.drift = drift;
            view.failed_attempts = 0;
            store::append_event(
                &tx,
                &now,
                "code_accepted",
                account,
                id,
                pam::with_pam(
                    json!({ "type": code_type.as_str(), "drift": drift }),
                    pam_req,
                ),
            )
            .sql(&path)?;
            if code_type == CodeType::BackupCode {
                view.backup_codes_remaining = totp.backup_codes_remaining.saturating_sub(1);
                store::append_event(
                    &tx,
                    &now,
                    "backup_code_used",
                    account,
                    id,
                    pam::with_pam(json!({ "remaining": view.backup_codes_remaining }), pam_req),
                )
                .sql(&path)?;
            }
            if !totp.verified {
                view.verified = true;
                store::append_event(
                    &tx,
                    &now,
                    "verified",
                    account,
                    id,
                    pam::with_pam(json!({}), pam_req),
                )
                .sql(&path)?;
                // Under PAM they could not be shown: 'backup-codes' makes them later.
                if settings.backup_codes && totp.backup_codes_remaining == 0 && pam_req.is_none() {
                    let codes = backup_codes::generate(settings.backup_code_count)?;
                    let hashes: Vec<[u8; 32]> =
                        codes.iter().map(|c| vault.hash_code(&totp.id, c)).collect();
                    store::replace_backup_codes(&tx, &totp.id, &hashes).sql(&path)?;
                    store::append_event(
                        &tx,
                        &now,
                        "backup_codes_generated",
                        account,
                        id,
                        pam::with_pam(json!({ "count": codes.len() }), pam_req),
                    )
                    .sql(&path)?;
                    view.backup_codes_remaining = settings.backup_code_count;
                    view.backup_codes =
                        Some(codes.iter().map(|c| backup_codes::display(c)).collect());
                }
            }
        }
        Err(reason) => {
            view.reason = Some(reason.code());
            if reason == Reason::InvalidLength {
                view.code_type = None;
            }
            let failed = store::count_failure(&tx, &totp.id, &now).sql(&path)?;
            view.failed_attempts = failed;
            store::append_event(
                &tx,
                &now,
                "code_rejected",
                account,
                id,
                pam::with_pam(json!({ "type": view.code_type, "reason": reason.code(), "failedAttempts": failed }), pam_req),
            )
            .sql(&path)?;
            if settings.lockout_attempts > 0 && failed >= settings.lockout_attempts {
                let until =
                    timestamp(ctx.now + Duration::seconds(i64::from(settings.lockout_seconds)));
                store::lock(&tx, &totp.id, &until).sql(&path)?;
                store::append_event(
                    &tx,
                    &now,
                    "locked",
                    account,
                    id,
                    pam::with_pam(
                        json!({ "lockedUntil": until, "failedAttempts": failed }),
                        pam_req,
                    ),
                )
                .sql(&path)?;
                view.locked_until = Some(until);
            }
        }
    }
    tx.commit().sql(&path)?;
    // Under PAM nothing goes to stdout: the exit status is the answer.
    if pam_req.is_none() {
        print(ctx, &view, &settings)?;
    }
    Ok(if view.valid {
        Exit::Success
    } else {
        Exit::Rejected
    })
}

/// Reads the code from a no-echo prompt on a terminal, else one line of stdin.
fn read_code(ctx: &Ctx, account: &str) -> Result<zeroize::Zeroizing<String>> {
    let code = if ctx.interactive {
        rpassword::prompt_password(format!("Code for {}: ", sanitize(account)))
            .map_err(|e| invalid(format!("cannot read the code: {e}")))?
    } else if ctx.out.json && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(invalid(
            "no code given: with --json, pass CODE or pipe it on stdin",
        ));
    } else {
        crate::read_stdin_line("code")?
    };
    let code = zeroize::Zeroizing::new(code);
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
                view.backup_codes_remaining
            ),
            (_, Some(0)) | (_, None) => format!("TOTP code accepted for {account}"),
            (_, Some(d)) => format!("TOTP code accepted for {account} (drift {d:+} step)"),
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
            _ => "the code is incorrect",
        };
        writeln!(w, "{} rejected for {account}: {reason}", out.red("✗"))?;
        if let Some(until) = &view.locked_until {
            writeln!(
                w,
                "{account} is now locked until {} after {} rejected codes",
                crate::output::human_time(until),
                view.failed_attempts
            )?;
        } else if settings.lockout_attempts > 0 {
            writeln!(
                w,
                "{} of {} attempts before lockout",
                view.failed_attempts, settings.lockout_attempts
            )?;
        }
    }
    w.flush()?;
    Ok(())
}
