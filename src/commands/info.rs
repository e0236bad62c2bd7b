//! `info`: where the store and its key are, what protects the key, the schema
//! version, and the counts an admin asks for first. Needs no key: nothing secret is
//! read.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::Ctx;
use crate::cli::InfoArgs;
use crate::error::Exit;
use crate::output::{human_time, plural};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InfoView {
    store: String,
    /// "key-file" or "passphrase"; null while the store has no key yet.
    key_protection: Option<String>,
    key_file: Option<String>,
    /// Whether the key file is there: null with a passphrase or no key yet.
    key_file_found: Option<bool>,
    schema_version: i64,
    enrollments: Counts,
    events: u64,
    last_event_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Counts {
    total: u64,
    verified: u64,
    unverified: u64,
    locked: u64,
    without_backup_codes: u64,
}

pub fn run(_args: &InfoArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    let key_file = store.key_source().key_file.clone();
    let stats = store.stats(&ctx.now_str())?;
    let protection = store.read()?.vault_row()?.map(|v| v.protection);
    // A store whose key file is gone opens here (nothing secret is read) but verifies
    // nothing: say so, as verify would.
    let key_file_found = match (protection.as_deref(), &key_file) {
        (Some("key-file"), Some(file)) => Some(file.is_file()),
        _ => None,
    };
    if key_file_found == Some(false) {
        let file = key_file.as_deref().unwrap_or(std::path::Path::new("?"));
        crate::output::warn(&format!(
            "the key file {} is missing: no code can be verified until it is restored from \
             its backup (or TOTPCTL_KEY_FILE / --key names where it is)",
            file.display()
        ));
    }
    let view = InfoView {
        key_file_found,
        // The path, or the URL without its password.
        store: ctx.store_path.display().to_string(),
        key_file: match protection.as_deref() {
            Some("passphrase") => None,
            _ => key_file.map(|f| f.display().to_string()),
        },
        key_protection: protection,
        schema_version: stats.schema_version,
        enrollments: Counts {
            total: stats.total,
            verified: stats.verified,
            unverified: stats.unverified,
            locked: stats.locked,
            without_backup_codes: stats.without_backup_codes,
        },
        events: stats.events,
        last_event_at: stats.last_event_at,
    };
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
            crate::output::sanitize(&value)
        )?;
    }
    w.flush()?;
    Ok(Exit::Success)
}
