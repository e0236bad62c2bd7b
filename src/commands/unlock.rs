//! `unlock`: clear an account's lockout.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::UnlockArgs;
use crate::error::Exit;
use crate::output::{TotpView, sanitize};
use crate::store::{self, SqlContext};
use crate::vault::Vault;

pub fn run(args: &UnlockArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.store_for(&args.account)?;
    let path = store.path().to_path_buf();
    let now = ctx.now_str();
    let tx = store.write()?;
    let before = store::get(&tx, &path, &args.account)?;
    Vault::require(&tx, &path, ctx.interactive)?;
    store::unlock(&tx, &before.id, &now).sql(&path)?;
    store::append_event(
        &tx,
        &now,
        "unlocked",
        Some(&before.account),
        Some(&before.id),
        json!({ "lockedUntil": before.locked_until, "failedAttempts": before.failed_attempts }),
    )
    .sql(&path)?;
    let after = store::get(&tx, &path, &before.id)?;
    tx.commit().sql(&path)?;
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
