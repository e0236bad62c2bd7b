//! `upgrade`: authenticate a version 1 store, explicitly, once.

use std::io::Write;

use anyhow::Result;

use crate::Ctx;
use crate::cli::UpgradeArgs;
use crate::error::Exit;
use crate::store::Purpose;

pub fn run(_args: &UpgradeArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    let s = ctx.session_for(&mut store, false, ctx.interactive, Purpose::Upgrade)?;
    // A store already authenticated is left as it is.
    let upgraded = s.upgraded();
    s.commit()?;
    let out = &ctx.out;
    if out.json {
        out.json(&serde_json::json!({ "upgraded": upgraded, "schemaVersion": 2 }))?;
    } else {
        let mut w = out.stdout();
        if upgraded {
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
