//! `backup-codes`: replace an account's backup codes with a fresh set, shown once.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use crate::cli::BackupCodesArgs;
use crate::config::Settings;
use crate::error::{Error, Exit, invalid};
use crate::output::sanitize;
use crate::store::{self, SqlContext};
use crate::vault::Vault;
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
    let mut store = ctx.store_for(&args.account)?;
    let path = store.path().to_path_buf();
    let now = ctx.now_str();
    let tx = store.write()?;
    let totp = store::get(&tx, &path, &args.account)?;
    if !totp.verified {
        return Err(Error::BackupCodesNotAvailable {
            account: sanitize(&totp.account),
            verify: ctx.account_command("verify", &totp.account),
        }
        .into());
    }
    let count = match args.count {
        Some(n) => n,
        None => Settings::load(&tx, &path)?.backup_code_count,
    };
    let vault = Vault::unlock(&tx, &path, ctx.interactive)?;
    let codes = backup_codes::generate(count)?;
    let hashes: Vec<[u8; 32]> = codes.iter().map(|c| vault.hash_code(&totp.id, c)).collect();
    store::replace_backup_codes(&tx, &totp.id, &hashes).sql(&path)?;
    store::append_event(
        &tx,
        &now,
        "backup_codes_generated",
        Some(&totp.account),
        Some(&totp.id),
        json!({ "count": count, "replaced": totp.backup_codes_remaining }),
    )
    .sql(&path)?;
    tx.commit().sql(&path)?;

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
