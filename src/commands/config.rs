//! `config`: show or change the store's settings.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::base::text::sanitize;
use crate::cli::ConfigArgs;
use crate::domain::config::KEYS;
use crate::ops::views::ConfigValue;

pub fn run(args: &ConfigArgs, ctx: &mut Ctx) -> Result<Exit> {
    match (&args.key, &args.value) {
        (None, _) => {
            let settings = ctx.ops.settings(&ctx.cx)?;
            let out = &ctx.out;
            if out.json {
                out.json(&settings)?;
            } else {
                let all = serde_json::to_value(&settings)?;
                let mut w = out.stdout();
                for key in KEYS {
                    writeln!(w, "{key:<18} {}", plain(&all[*key]))?;
                }
                w.flush()?;
            }
        }
        (Some(key), None) => {
            let value = ctx.ops.setting(&ctx.cx, key)?;
            print_one(ctx, &value)?;
        }
        (Some(key), Some(value)) => {
            let value = ctx.ops.set_setting(&ctx.cx, key, value)?;
            print_one(ctx, &value)?;
        }
    }
    Ok(Exit::Success)
}

fn print_one(ctx: &Ctx, value: &ConfigValue) -> Result<()> {
    if ctx.out.json {
        ctx.out.json(value)
    } else {
        let mut w = ctx.out.stdout();
        writeln!(w, "{}", plain(&value.value))?;
        w.flush()?;
        Ok(())
    }
}

/// A setting's value as people read it: strings unquoted, booleans as on/off.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => sanitize(s),
        serde_json::Value::Bool(b) => if *b { "on" } else { "off" }.into(),
        other => other.to_string(),
    }
}
