//! `config`: show or change the store's settings.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::ConfigArgs;
use crate::config::{KEYS, Settings};
use crate::error::Exit;
use crate::output::sanitize;

pub fn run(args: &ConfigArgs, ctx: &Ctx) -> Result<Exit> {
    let out = &ctx.out;
    // Reading settings needs no key, and shows them as stored; every command that
    // acts on them checks them against their MAC first.
    let current = || -> Result<Settings> {
        let mut store = ctx.existing_store()?;
        Settings::from_pairs(&store.config_pairs()?, store.path())
    };
    match (&args.key, &args.value) {
        (None, _) => {
            let settings = current()?;
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
            let value = current()?.get(key)?;
            print_one(ctx, key, &value)?;
        }
        (Some(key), Some(value)) => {
            // Checked before the store is opened: a refused value is not a store error.
            Settings::default().set(key, value)?;
            // A store that is not there is store_not_found, never a new one: a mistyped
            // --store must not read as production's setting changed.
            let mut store = ctx.existing_store()?;
            let mut s = ctx.session(&mut store, false)?;
            let mut settings = s.settings().clone();
            let old = settings.get(key)?;
            let normal = settings.set(key, value)?;
            let digest = s.set_config(key, &normal)?;
            let new = settings.get(key)?;
            s.event_with_state(
                "config_changed",
                None,
                None,
                &json!({ "key": key, "old": old, "new": new }).to_string(),
                Some(&digest),
            )?;
            s.commit()?;
            print_one(ctx, key, &new)?;
        }
    }
    Ok(Exit::Success)
}

fn print_one(ctx: &Ctx, key: &str, value: &serde_json::Value) -> Result<()> {
    if ctx.out.json {
        ctx.out.json(&json!({ "key": key, "value": value }))
    } else {
        let mut w = ctx.out.stdout();
        writeln!(w, "{}", plain(value))?;
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
