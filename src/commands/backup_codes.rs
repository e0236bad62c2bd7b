//! `backup-codes`: replace an account's backup codes with a fresh set, shown once.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::base::text::sanitize;
use crate::cli::BackupCodesArgs;

pub fn run(args: &BackupCodesArgs, ctx: &mut Ctx) -> Result<Exit> {
    let view = ctx.ops.backup_codes(&ctx.cx, &args.account, args.count)?;
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
        return Ok(Exit::Success);
    }
    let mut w = out.stdout();
    writeln!(
        w,
        "New backup codes for {}, each good for one sign-in (all earlier codes no longer work):",
        out.bold(&sanitize(&view.account))
    )?;
    for code in &view.backup_codes {
        writeln!(w, "  {code}")?;
    }
    writeln!(
        w,
        "{} This is the only time these codes are shown: store them somewhere safe.",
        out.yellow("Note:")
    )?;
    w.flush()?;
    Ok(Exit::Success)
}
