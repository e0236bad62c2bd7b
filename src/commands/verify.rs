//! `verify`: check a TOTP code or a backup code, on the record (the rules are the
//! verify operation's, `ops/local/verify.rs`); this is the command line's front end:
//! the code from the argument, a no-echo prompt or stdin, and the answer printed.
//! `verify --pam` is PAM's front end (`crate::pam`).

use std::io::Write;

use anyhow::Result;
use zeroize::Zeroizing;

use super::ctx::Ctx;
use crate::base::error::{Error, Exit, invalid};
use crate::base::text::{plural, sanitize};
use crate::base::time::parse_time;
use crate::cli::VerifyArgs;
use crate::domain::otp;
use crate::ops::VerifyRequest;
use crate::ops::views::VerifyView;

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

pub fn run(args: &VerifyArgs, ctx: &mut Ctx) -> Result<Exit> {
    let at = args.at.as_deref().map(parse_time).transpose()?;
    if let Some(w) = args.window {
        otp::check_window(w).map_err(invalid)?;
    }
    let Some(account) = &args.account else {
        return Err(invalid("no ACCOUNT given"));
    };
    // Ask only for the code of an account that exists and is not locked out, so that
    // neither a typo nor a lockout is reported after someone typed a code.
    let code: Option<Zeroizing<String>> = if args.code.is_empty() {
        if ctx.ops.verify_precheck(&ctx.cx, account)?.locked {
            None
        } else {
            Some(read_code(ctx, account)?)
        }
    } else {
        Some(Zeroizing::new(args.code.concat()))
    };
    let verified = ctx.ops.verify(
        &ctx.cx,
        &VerifyRequest {
            account: account.clone(),
            code,
            at,
            window: args.window,
            pam: None,
            fresh_backup_codes: true,
            hide_unknown: false,
        },
    )?;
    print(ctx, &verified.view, verified.lockout_attempts)?;
    Ok(if verified.view.valid {
        Exit::Success
    } else {
        Exit::Rejected
    })
}

/// Times the prompt asks again after an empty answer.
const PROMPTS: usize = 3;

/// Reads the code from a no-echo prompt on a terminal (asking again after an empty
/// Enter, up to three times), else one line of stdin.
fn read_code(ctx: &Ctx, account: &str) -> Result<zeroize::Zeroizing<String>> {
    if ctx.interactive() {
        for _ in 0..PROMPTS {
            let code = zeroize::Zeroizing::new(
                crate::base::term::prompt_hidden(&format!("Code for {}: ", sanitize(account)))
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::UnexpectedEof => invalid("no code given"),
                        _ => invalid(format!("cannot read the code: {e}")),
                    })?,
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
    let code = zeroize::Zeroizing::new(crate::base::term::read_stdin_line("code")?);
    if code.trim().is_empty() {
        return Err(invalid("no code given: pass CODE, or type or pipe it"));
    }
    Ok(code)
}

fn print(ctx: &Ctx, view: &VerifyView, lockout_attempts: u32) -> Result<()> {
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
                        crate::base::text::human_time(at)
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
                crate::base::text::human_time(at)
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
                crate::base::text::human_time(until),
                plural(u64::from(view.failed_attempts), "rejected code"),
                ctx.account_command("unlock", &view.account)
            )?;
        } else if lockout_attempts > 0 {
            let left = lockout_attempts.saturating_sub(view.failed_attempts);
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
