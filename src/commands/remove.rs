//! `remove`: delete an account's TOTP and its backup codes.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::{Exit, invalid};
use crate::base::text::sanitize;
use crate::cli::RemoveArgs;

pub fn run(args: &RemoveArgs, ctx: &mut Ctx) -> Result<Exit> {
    if !args.yes {
        // Look the account up first, so a typo is "not found", not a question.
        let t = ctx.ops.show(&ctx.cx, &args.account)?;
        if !confirm(ctx, &t.account)? {
            // A "no" is an answer, not an error.
            let mut w = ctx.out.stdout();
            writeln!(w, "Nothing removed")?;
            w.flush()?;
            return Ok(Exit::Success);
        }
    }
    let view = ctx.ops.remove(&ctx.cx, &args.account)?;
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "Removed {} and its backup codes",
            sanitize(&view.account)
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

/// Asks on the terminal; true when the answer is yes.
fn confirm(ctx: &Ctx, account: &str) -> Result<bool> {
    if !ctx.interactive() || !std::io::stderr().is_terminal() {
        return Err(invalid(format!(
            "refusing to remove {} without confirmation: pass --yes",
            sanitize(account)
        )));
    }
    eprint!(
        "Remove the TOTP and backup codes of {}? This cannot be undone. [y/N] ",
        sanitize(account)
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let read = std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| invalid(format!("cannot read the answer: {e}")))?;
    if read == 0 || !answer.ends_with('\n') {
        // Ctrl-D: the terminal did not move to a new line.
        eprintln!();
    }
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
