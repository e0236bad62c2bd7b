//! `backup-codes`: replace an account's backup codes with a fresh set, shown once.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use crate::cli::BackupCodesArgs;
use crate::error::{Error, Exit, invalid};
use crate::output::sanitize;
use crate::{Ctx, backup_codes};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupCodesView {
    id: String,
    account: String,
    backup_codes: Vec<String>,
    backup_codes_remaining: u32,
}

pub fn run(args: &BackupCodesArgs, ctx: &Ctx) -> Result<Exit> {
    if let Some(n) = args.count
        && !(1..=backup_codes::MAX_COUNT).contains(&n)
    {
        return Err(invalid(format!(
            "--count must be 1 to {}, not {n}",
            backup_codes::MAX_COUNT
        )));
    }
    let mut store = ctx.existing_store()?;
    let mut s = ctx.session(&mut store, false)?;
    let mut e = s.get(&args.account)?;
    if !e.totp.verified {
        return Err(Error::BackupCodesNotAvailable {
            account: sanitize(&e.totp.account),
            verify: ctx.account_command("verify", &e.totp.account),
        }
        .into());
    }
    let count = args.count.unwrap_or(s.settings().backup_code_count);
    let replaced = e.totp.backup_codes_remaining;
    let codes = backup_codes::generate(count)?;
    let hashes = codes.iter().map(|c| s.hash_code(&e, c)).collect();
    s.replace_backup_codes(&mut e, hashes)?;
    if !s.save(&mut e)? {
        return Err(
            Error::Store("the enrollment changed under this command; try again".into()).into(),
        );
    }
    s.event(
        "backup_codes_generated",
        Some(&e),
        json!({ "count": count, "replaced": replaced }),
    )?;
    s.commit()?;
    let totp = e.totp;

    let view = BackupCodesView {
        id: totp.id,
        account: totp.account,
        backup_codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        backup_codes_remaining: count,
    };
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
