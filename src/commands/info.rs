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
use crate::store::{self, SqlContext, Stats};
use crate::vault;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InfoView {
    store: String,
    /// "key-file" or "passphrase"; null while the store has no key yet.
    key_protection: Option<String>,
    key_file: Option<String>,
    schema_version: i32,
    enrollments: Stats,
    events: u64,
    last_event_at: Option<String>,
}

pub fn run(_args: &InfoArgs, ctx: &Ctx) -> Result<Exit> {
    let store = ctx.existing_store()?;
    let path = store.path();
    let conn = store.conn();
    let protection = store::vault_row(conn).sql(path)?.map(|v| v.protection);
    let key_file = match protection.as_deref() {
        Some("passphrase") => None,
        _ => Some(vault::key_file_path(path).display().to_string()),
    };
    let (events, last_event_at) = store::event_stats(conn).sql(path)?;
    let view = InfoView {
        store: path.display().to_string(),
        key_protection: protection,
        key_file,
        schema_version: store.schema_version()?,
        enrollments: store::stats(conn, &ctx.now_str()).sql(path)?,
        events,
        last_event_at,
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
                (Some(_), Some(file)) => format!("key file {file}"),
                (_, Some(file)) => format!(
                    "none yet (the first enrollment uses {file}, making it if it is not there)"
                ),
                _ => "none yet".into(),
            },
        ),
        ("schema", format!("version {}", view.schema_version)),
        (
            "enrollments",
            format!(
                "{}: {} verified, {} unverified, {} locked, {} without backup codes",
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
