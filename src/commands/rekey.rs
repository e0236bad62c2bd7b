//! `rekey`: seal every secret again under a new key, optionally switching between a
//! key file and a passphrase.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde_json::json;
use zeroize::Zeroizing;

use crate::Ctx;
use crate::cli::RekeyArgs;
use crate::error::{Exit, key_error};
use crate::output::plural;
use crate::store::Store;
use crate::vault::{self, PASSPHRASE_ENV, Protection};

/// The environment variable with the new passphrase when the store already has one.
pub const NEW_PASSPHRASE_ENV: &str = "TOTPCTL_NEW_PASSPHRASE";

pub fn run(args: &RekeyArgs, ctx: &Ctx) -> Result<Exit> {
    // Only a passphrase may be chosen before the first enrollment, on a new store;
    // it is asked for (and checked) before the store is made, so that a refused one
    // leaves nothing behind.
    let (mut store, early) = match Store::open_existing(&ctx.location, &ctx.access)? {
        Some(store) => (store, None),
        None if args.passphrase => {
            let passphrase = new_passphrase(ctx, Protection::KeyFile)?;
            (ctx.open_store()?, Some(passphrase))
        }
        None => (ctx.existing_store()?, None),
    };
    let mut s = ctx.session(&mut store, args.passphrase)?;
    let from = s.vault().protection();
    let target = if args.passphrase {
        Protection::Passphrase
    } else if args.key_file {
        Protection::KeyFile
    } else {
        from
    };
    let passphrase = match (target, early) {
        (Protection::Passphrase, Some(early)) => Some(early),
        (Protection::Passphrase, None) => Some(new_passphrase(ctx, from)?),
        (Protection::KeyFile, _) => None,
    };
    let (count, after) = s.rekey(target, passphrase.as_deref().map(String::as_str))?;
    s.event(
        "rekeyed",
        None,
        json!({ "from": from.as_str(), "to": target.as_str(), "enrollments": count }),
    )?;
    let key_file = s.key_source().key_file.clone().unwrap_or_default();
    s.commit()?;
    vault::finish_rekey(after)?;

    let out = &ctx.out;
    if out.json {
        out.json(&json!({
            "rekeyed": true,
            "protection": target.as_str(),
            "enrollments": count,
            "backupCodeKeyKept": true,
        }))?;
    } else {
        let mut w = out.stdout();
        match target {
            Protection::KeyFile => writeln!(
                w,
                "Rekeyed {} under a new key file: {}",
                plural(count as u64, "enrollment"),
                key_file.display()
            )?,
            Protection::Passphrase => writeln!(
                w,
                "Rekeyed {} under a passphrase; the key file is gone",
                plural(count as u64, "enrollment")
            )?,
        }
        // Backup codes exist only as hashes under their key, so it cannot be renewed
        // without new codes: say what a leaked key still opens.
        writeln!(
            w,
            "Every secret and MAC is under a new data key. The backup-code key is kept, so \
             the codes people hold still work; if the old key leaked, also give each \
             account new codes: {}",
            ctx.command_line(&["backup-codes", "ACCOUNT"])
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

/// The new passphrase: from the environment for scripts, else asked twice.
fn new_passphrase(ctx: &Ctx, current: Protection) -> Result<Zeroizing<String>> {
    // From a key file, TOTPCTL_PASSPHRASE names the new passphrase; from a passphrase
    // it names the current one, and the new one needs its own variable.
    let env = match current {
        Protection::KeyFile => std::env::var(NEW_PASSPHRASE_ENV)
            .or_else(|_| std::env::var(PASSPHRASE_ENV))
            .ok(),
        Protection::Passphrase => std::env::var(NEW_PASSPHRASE_ENV).ok(),
    };
    let passphrase = match env {
        Some(p) => Zeroizing::new(p),
        None => {
            if !ctx.interactive || !std::io::stdin().is_terminal() {
                return Err(key_error(format!(
                    "no new passphrase: set {NEW_PASSPHRASE_ENV} (or {PASSPHRASE_ENV} when \
                     leaving a key file), or run on a terminal to be asked"
                )));
            }
            let first = Zeroizing::new(
                crate::prompt_hidden("New passphrase: ")
                    .map_err(|e| key_error(format!("cannot read the passphrase: {e}")))?,
            );
            let second = Zeroizing::new(
                crate::prompt_hidden("Repeat the new passphrase: ")
                    .map_err(|e| key_error(format!("cannot read the passphrase: {e}")))?,
            );
            if *first != *second {
                return Err(key_error("the two passphrases differ; nothing was changed"));
            }
            first
        }
    };
    if passphrase.chars().count() < 8 {
        return Err(key_error(
            "the new passphrase is shorter than 8 characters; nothing was changed",
        ));
    }
    Ok(passphrase)
}
