//! `verify`: a TOTP code or a backup code, checked once, on the record: replay
//! protection, lockout, the first accepted code verifying the enrollment and making
//! its backup codes.

use anyhow::Result;
use chrono::Duration;
use serde_json::json;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::base::text::sanitize;
use crate::base::time::timestamp;
use crate::domain::{backup_codes, otp};
use crate::ops::context::Context;
use crate::ops::requests::{Precheck, Verified, VerifyRequest};
use crate::ops::views::{CodeType, Reason, VerifyView};
use crate::store;

/// Whether a code should be asked for: the account exists, and is not locked now.
/// This look is unauthenticated and decides nothing: all is checked again, with the
/// key, under the write lock, by [`verify`].
pub fn precheck(l: &Local, cx: &Context, account: &str) -> Result<Precheck> {
    let mut store = l.existing_store()?;
    let t = store.get(account)?;
    let now = cx.now_str();
    Ok(Precheck {
        locked: t.locked_until.as_deref().is_some_and(|u| u > now.as_str()),
    })
}

pub fn verify(l: &Local, cx: &Context, args: &VerifyRequest) -> Result<Verified> {
    if let Some(w) = args.window {
        otp::check_window(w).map_err(invalid)?;
    }
    let interactive = cx.interactive && args.pam.is_none();
    let mut store = l.existing_store()?;
    let mut s = l.session_with(cx, &mut store, false, interactive)?;
    let answer = verify_in(&mut s, cx, args)?;
    // What was recorded is committed, whatever the answer; a session that recorded
    // nothing (an unknown account) is let go.
    if s.has_appended() {
        s.commit()?;
    }
    answer
}

/// One verify in a write session that may serve others before and after it (see
/// `serve`'s batches): the outer error means nothing of it may be committed; the
/// inner result is the answer, to be given once what it recorded is committed.
pub fn verify_in(
    s: &mut store::Session<'_>,
    cx: &Context,
    args: &VerifyRequest,
) -> Result<Result<Verified>> {
    let at = args.at;
    // A code checked at a future --at is only checked: recording its step would move
    // the replay watermark past the real clock and turn every real code into a
    // "replay". So nothing changes but the audit trail, which records the check.
    let check_only = at.is_some_and(|at| at > cx.now);
    if let Some(w) = args.window {
        if let Err(e) = otp::check_window(w) {
            return Ok(Err(invalid(e)));
        }
    }
    let pam = args.pam.as_ref();
    let account: &str = &args.account;
    let now = cx.now_str();
    let input = args.code.clone();

    if let Some(detail) = pam {
        s.add_to_every_detail("pam", detail.clone());
    }
    // Under PAM, and to a caller the account's existence is hidden from, the account
    // is a user name, never an id.
    let found = match pam.is_some() || args.hide_unknown {
        true => s.find_by_name(account)?,
        false => s.find(account)?,
    };
    let Some(mut e) = found else {
        if args.hide_unknown {
            return unknown_as_rejected(s, cx, account, input.as_deref().map(|c| c.as_str()));
        }
        // Under PAM an unknown account is recorded as a rejected attempt, committed
        // like a known one's, so that the two take about as long and the log shows
        // who was tried.
        if pam.is_some() {
            s.event_with_state(
                "code_rejected",
                Some(account),
                None,
                &with_pam(json!({ "reason": "resource_not_found" }), pam).to_string(),
                None,
            )?;
        }
        return Ok(Err(Error::NotFound(sanitize(account)).into()));
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
            return Ok(Err(Error::Locked {
                account: sanitize(&e.totp.account),
                until,
                unlock: cx.account_command("unlock", &e.totp.account),
            }
            .into()));
        }
        // The lockout has run out: the count starts again, on the record.
        e.totp.failed_attempts = 0;
        e.totp.locked_until = None;
        save(s, &mut e)?;
        s.event(
            "unlocked",
            Some(&e),
            json!({ "lockedUntil": until, "failedAttempts": before.failed_attempts, "expired": true }),
        )?;
    }
    let Some(input) = input else {
        // Locked when looked at, but no longer: the code was not read yet.
        return Ok(Err(invalid(
            "the account's lockout ran out as the code was about to be asked: run verify again",
        )));
    };

    let window = args.window.unwrap_or(settings.window);
    let digits_only = otp::normalize_code(&input);
    let now_step = e.totp.params.step_at(at.unwrap_or(cx.now).timestamp());

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
        return Ok(Ok(Verified {
            view,
            lockout_attempts: settings.lockout_attempts,
        }));
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
                && pam.is_none()
                && args.fresh_backup_codes
            {
                let codes = backup_codes::generate(settings.backup_code_count)?;
                let hashes = codes.iter().map(|c| s.hash_code(&e, c)).collect();
                s.replace_backup_codes(&mut e, hashes)?;
                fresh_codes = Some(codes);
            }
            save(s, &mut e)?;
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
                timestamp(cx.now + Duration::seconds(i64::from(settings.lockout_seconds)))
            });
            e.totp.locked_until = until.clone();
            save(s, &mut e)?;
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
    Ok(Ok(Verified {
        view,
        lockout_attempts: settings.lockout_attempts,
    }))
}

/// An account that is not enrolled, answered to a caller who must not learn that
/// (a verify-scoped API token) exactly as a wrong code is: the attempt is recorded,
/// its count goes up, and at the store's lockout threshold the name is locked as an
/// account would be. The count and the lock live in the audit trail (the newest
/// event of the name), so that every server over the store keeps the same ones.
fn unknown_as_rejected(
    s: &mut store::Session<'_>,
    cx: &Context,
    account: &str,
    input: Option<&str>,
) -> Result<Result<Verified>> {
    let settings = s.settings().clone();
    let now = cx.now_str();
    let (mut failed, locked) = match s.last_unenrolled_event(account)? {
        Some(last) if last.event == "code_rejected" => {
            let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap_or_default();
            if detail["reason"] == "resource_not_found" {
                let failed = detail["failedAttempts"].as_u64().unwrap_or(0);
                let until = detail["lockedUntil"].as_str().map(str::to_string);
                (u32::try_from(failed).unwrap_or(u32::MAX), until)
            } else {
                (0, None)
            }
        }
        _ => (0, None),
    };
    if let Some(until) = locked {
        if until > now {
            s.event_with_state(
                "code_rejected",
                Some(account),
                None,
                &json!({ "reason": "resource_not_found", "failedAttempts": failed,
                         "lockedUntil": until })
                .to_string(),
                None,
            )?;
            return Ok(Err(Error::Locked {
                account: sanitize(account),
                until,
                unlock: cx.account_command("unlock", account),
            }
            .into()));
        }
        failed = 0;
    }
    failed = failed.saturating_add(1);
    let until = (settings.lockout_attempts > 0 && failed >= settings.lockout_attempts)
        .then(|| timestamp(cx.now + Duration::seconds(i64::from(settings.lockout_seconds))));
    s.event_with_state(
        "code_rejected",
        Some(account),
        None,
        &json!({ "reason": "resource_not_found", "failedAttempts": failed,
                 "lockedUntil": until })
        .to_string(),
        None,
    )?;
    // The reason a code of this shape gets from an account of the store's default
    // digits.
    let input = input.unwrap_or("");
    let digits = otp::normalize_code(input);
    let (code_type, reason) = if backup_codes::normalize_for(input, settings.digits).is_some() {
        (Some(CodeType::BackupCode.as_str()), Reason::Incorrect)
    } else if digits.len() == usize::from(settings.digits)
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        (Some(CodeType::Totp.as_str()), Reason::Incorrect)
    } else {
        (None, Reason::InvalidLength)
    };
    Ok(Ok(Verified {
        view: VerifyView {
            id: String::new(),
            account: account.to_string(),
            valid: false,
            code_type,
            drift: None,
            reason: Some(reason.code()),
            verified: false,
            backup_codes_remaining: 0,
            backup_codes: None,
            failed_attempts: failed,
            locked_until: until,
            checked_at: None,
        },
        lockout_attempts: settings.lockout_attempts,
    }))
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
fn with_pam(mut detail: serde_json::Value, pam: Option<&serde_json::Value>) -> serde_json::Value {
    if let Some(pam) = pam {
        detail["pam"] = pam.clone();
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
