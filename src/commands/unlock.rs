//! `unlock`: clear an account's lockout.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::base::text::sanitize;
use crate::cli::UnlockArgs;

pub fn run(args: &UnlockArgs, ctx: &mut Ctx) -> Result<Exit> {
    let unlocked = ctx.ops.unlock(&ctx.cx, &args.account)?;
    let out = &ctx.out;
    if out.json {
        out.json(&unlocked.view)?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "{} {}",
            if unlocked.was_locked {
                "Unlocked"
            } else {
                "Was not locked; reset the count of rejected codes of"
            },
            sanitize(&unlocked.view.account)
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}
