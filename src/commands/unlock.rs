//! `unlock`: clear an account's lockout.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::UnlockArgs;
use crate::error::{Error, Exit};
use crate::output::{TotpView, sanitize};

pub fn run(args: &UnlockArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    let now = ctx.now_str();
    let mut s = ctx.session(&mut store, false)?;
    let mut e = s.get(&args.account)?;
    let before = e.totp.clone();
    e.totp.failed_attempts = 0;
    e.totp.locked_until = None;
    if !s.save(&mut e)? {
        return Err(
            Error::Store("the enrollment changed under this command; try again".into()).into(),
        );
    }
    s.event(
        "unlocked",
        Some(&e),
        json!({ "lockedUntil": before.locked_until, "failedAttempts": before.failed_attempts }),
    )?;
    s.commit()?;
    let after = e.totp;
    let out = &ctx.out;
    if out.json {
        out.json(&TotpView::audit(after))?;
    } else {
        let mut w = out.stdout();
        let was_locked = before
            .locked_until
            .as_deref()
            .is_some_and(|u| u > now.as_str());
        writeln!(
            w,
            "{} {}",
            if was_locked {
                "Unlocked"
            } else {
                "Was not locked; reset the count of rejected codes of"
            },
            sanitize(&after.account)
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}
