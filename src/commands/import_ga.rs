//! `import --google-authenticator`: the command line's front end of the
//! google-authenticator import (`ops/local/import_ga.rs`): the files named, and what
//! came over and what did not, printed.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::{Error, Exit, classify, invalid};
use crate::base::text::sanitize;
use crate::cli::ImportArgs;
use crate::ops::ImportGaRequest;
use crate::ops::views::ImportGaView;

pub fn run(args: &ImportArgs, ctx: &mut Ctx) -> Result<Exit> {
    let result = ctx.ops.import_ga(
        &ctx.cx,
        &ImportGaRequest {
            files: args.google_authenticator.clone(),
            account: args.account.clone(),
            unverified: args.unverified,
            skip_existing: args.skip_existing,
            dry_run: args.dry_run,
        },
    );
    let imported = match result {
        Ok(imported) => imported,
        Err(e) => return Err(refusal(e, ctx.out.json)),
    };
    print(ctx, &imported.view)?;
    if let Some(made) = &imported.created
        && !ctx.out.json
    {
        let mut w = ctx.out.stdout();
        ctx.out
            .new_store(&mut w, &made.store, made.key_file.as_deref())?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

/// A refused import: for people every problem gets its own line on stderr, then the
/// summary; with --json the one error message carries them all.
fn refusal(err: anyhow::Error, json: bool) -> anyhow::Error {
    match classify(&err) {
        Some(Error::Problems { summary, problems }) if !json => {
            let mut stderr = std::io::stderr().lock();
            for problem in problems {
                let _ = writeln!(stderr, "totpctl: {problem}");
            }
            invalid(summary.clone())
        }
        _ => err,
    }
}

fn print(ctx: &Ctx, view: &ImportGaView) -> Result<()> {
    let out = &ctx.out;
    if out.json {
        return out.json(view);
    }
    let mut w = out.stdout();
    let n = view.imported;
    let accounts = if n == 1 { "account" } else { "accounts" };
    let how = if view.verified {
        "verified"
    } else {
        "unverified"
    };
    if view.dry_run {
        writeln!(
            w,
            "Would import {n} {accounts} from google-authenticator files as {how} \
             (dry run: nothing was changed)"
        )?;
    } else {
        writeln!(
            w,
            "Imported {n} {accounts} from google-authenticator files as {how}"
        )?;
    }
    for a in &view.accounts {
        let file = sanitize(&a.file);
        let account = out.bold(&sanitize(&a.account));
        if a.status == "skipped" {
            writeln!(w, "  {account} ({file}): skipped, already enrolled")?;
            continue;
        }
        writeln!(
            w,
            "  {account} ({file}): {} {}-digit codes every {} s, {} scratch code{} as backup codes",
            a.algorithm,
            a.digits,
            a.period,
            a.backup_codes,
            if a.backup_codes == 1 { "" } else { "s" }
        )?;
        for note in &a.not_carried_over {
            writeln!(
                w,
                "    {} {}: {}",
                out.yellow("not carried over:"),
                note.option,
                note.instead
            )?;
        }
    }
    w.flush()?;
    Ok(())
}
