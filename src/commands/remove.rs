//! `remove`: delete an account's TOTP and its backup codes.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::RemoveArgs;
use crate::error::{Exit, invalid};
use crate::output::sanitize;

pub fn run(args: &RemoveArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    if !args.yes {
        // Look the account up first, so a typo is "not found", not a question.
        let t = store.get(&args.account)?;
        if !confirm(ctx, &t.account)? {
            // A "no" is an answer, not an error.
            let mut w = ctx.out.stdout();
            writeln!(w, "Nothing removed")?;
            w.flush()?;
            return Ok(Exit::Success);
        }
    }
    let mut s = ctx.session(&mut store, false)?;
    let e = s.get(&args.account)?;
    s.delete(&e)?;
    s.event_with_state(
        "removed",
        Some(&e.totp.account),
        Some(&e.totp.id),
        &json!({ "verified": e.totp.verified, "backupCodes": e.totp.backup_codes_remaining })
            .to_string(),
        None,
    )?;
    s.commit()?;
    let t = e.totp;
    let out = &ctx.out;
    if out.json {
        out.json(&json!({ "id": t.id, "account": t.account, "removed": true }))?;
    } else {
        let mut w = out.stdout();
        writeln!(w, "Removed {} and its backup codes", sanitize(&t.account))?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

/// Asks on the terminal; true when the answer is yes.
fn confirm(ctx: &Ctx, account: &str) -> Result<bool> {
    if !ctx.interactive || !std::io::stderr().is_terminal() {
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
