//! `upgrade`: authenticate a version 1 store, explicitly, once.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::cli::UpgradeArgs;

pub fn run(_args: &UpgradeArgs, ctx: &mut Ctx) -> Result<Exit> {
    let view = ctx.ops.upgrade(&ctx.cx)?;
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
    } else {
        let mut w = out.stdout();
        if view.upgraded {
            writeln!(
                w,
                "Upgraded {}: every enrollment, setting and event now carries its MAC",
                ctx.store_path.display()
            )?;
        } else {
            writeln!(
                w,
                "{} is authenticated already: nothing to do",
                ctx.store_path.display()
            )?;
        }
        w.flush()?;
    }
    Ok(Exit::Success)
}
