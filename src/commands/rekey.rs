//! `rekey`: seal every secret again under a new key, optionally switching between a
//! key file and a passphrase.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use zeroize::Zeroizing;

use super::ctx::Ctx;
use crate::base::error::{Exit, key_error};
use crate::base::text::plural;
use crate::cli::RekeyArgs;
use crate::ops::RekeyRequest;
use crate::vault::{PASSPHRASE_ENV, Protection};

/// The environment variable with the new passphrase when the store already has one.
pub const NEW_PASSPHRASE_ENV: &str = "TOTPCTL_NEW_PASSPHRASE";

pub fn run(args: &RekeyArgs, ctx: &mut Ctx) -> Result<Exit> {
    let interactive = ctx.interactive();
    let new_passphrase = |current: Protection| new_passphrase(interactive, current);
    let rekeyed = ctx.ops.rekey(
        &ctx.cx,
        &RekeyRequest {
            passphrase: args.passphrase,
            key_file: args.key_file,
            new_passphrase: &new_passphrase,
        },
    )?;
    let (count, target, key_file) = (
        rekeyed.view.enrollments,
        rekeyed.view.protection,
        rekeyed.key_file.clone(),
    );
    let out = &ctx.out;
    if out.json {
        out.json(&rekeyed.view)?;
    } else {
        let mut w = out.stdout();
        match target {
            "key-file" => writeln!(
                w,
                "Rekeyed {} under a new key file: {}",
                plural(count as u64, "enrollment"),
                key_file.display()
            )?,
            _ => writeln!(
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
fn new_passphrase(interactive: bool, current: Protection) -> Result<Zeroizing<String>> {
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
            if !interactive || !std::io::stdin().is_terminal() {
                return Err(key_error(format!(
                    "no new passphrase: set {NEW_PASSPHRASE_ENV} (or {PASSPHRASE_ENV} when \
                     leaving a key file), or run on a terminal to be asked"
                )));
            }
            let first = Zeroizing::new(
                crate::base::term::prompt_hidden("New passphrase: ")
                    .map_err(|e| key_error(format!("cannot read the passphrase: {e}")))?,
            );
            let second = Zeroizing::new(
                crate::base::term::prompt_hidden("Repeat the new passphrase: ")
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
