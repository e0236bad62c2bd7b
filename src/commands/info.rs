//! `info`: where the store and its key are, what protects the key, the schema
//! version, and the counts an admin asks for first. Needs no key: nothing secret is
//! read.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use super::output::warn;
use crate::base::error::Exit;
use crate::base::text::{human_time, plural};
use crate::cli::InfoArgs;

pub fn run(_args: &InfoArgs, ctx: &mut Ctx) -> Result<Exit> {
    let view = ctx.ops.info(&ctx.cx)?;
    // A store whose key file is gone opens (nothing secret is read) but verifies
    // nothing: say so, as verify would.
    if view.key_file_found == Some(false) {
        warn(&format!(
            "the key file {} is missing: no code can be verified until it is restored from \
             its backup (or TOTPCTL_KEY_FILE / --key names where it is)",
            view.key_file.as_deref().unwrap_or("?")
        ));
    }
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
        return Ok(Exit::Success);
    }
    let mut w = out.stdout();
    let e = &view.enrollments;
    let rows = [
        ("store", view.store.clone()),
        (
            "key",
            match (view.key_protection.as_deref(), &view.key_file) {
                (Some("passphrase"), _) => "a passphrase (TOTPCTL_PASSPHRASE, or asked)".into(),
                (Some(_), Some(file)) if view.key_file_found == Some(false) => {
                    format!("key file {file} (MISSING)")
                }
                (Some(_), Some(file)) => format!("key file {file}"),
                (_, Some(file)) => format!(
                    "none yet (the first enrollment uses {file}, making it if it is not there)"
                ),
                (Some(_), None) => "a key file: set TOTPCTL_KEY_FILE to it".into(),
                _ => "none yet".into(),
            },
        ),
        ("schema", format!("version {}", view.schema_version)),
        (
            "enrollments",
            format!(
                "{}: {} verified, {} unverified, {} locked, {} verified without backup codes",
                e.total, e.verified, e.unverified, e.locked, e.without_backup_codes
            ),
        ),
        (
            "events",
            match &view.last_event_at {
                Some(at) => format!(
                    "{}, the last at {}",
                    plural(view.events, "event"),
                    human_time(at)
                ),
                None => "none".into(),
            },
        ),
    ];
    for (name, value) in rows {
        writeln!(
            w,
            "{}  {}",
            out.bold(&format!("{name:<12}")),
            crate::base::text::sanitize(&value)
        )?;
    }
    w.flush()?;
    Ok(Exit::Success)
}
