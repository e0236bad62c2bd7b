//! `import`: bulk enrollment of existing secrets from otpauth:// URIs, all or nothing
//! (the rules are the import operation's, `ops/local/import/`); this front end names
//! the input, shows a progress bar on a terminal and prints the summary.

use std::io::{self, IsTerminal, Write};

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::{Error, Exit, classify, invalid};
use crate::base::text::plural;
use crate::cli::ImportArgs;
use crate::ops::{ImportInput, ImportRequest, MAX_WARNINGS, Progress};

pub fn run(args: &ImportArgs, ctx: &mut Ctx) -> Result<Exit> {
    let from_stdin = args.file.as_os_str() == "-";
    if from_stdin && io::stdin().is_terminal() {
        return Err(invalid(
            "no FILE given and stdin is a terminal: pass a file, or pipe the URIs in",
        ));
    }
    let total_bytes = (!from_stdin)
        .then(|| std::fs::metadata(&args.file).ok().map(|m| m.len()))
        .flatten();
    let bar = (!ctx.out.json && io::stderr().is_terminal()).then(|| Bar::new(total_bytes));
    let input = if from_stdin {
        ImportInput::Stream {
            reader: Box::new(io::stdin().lock()),
            name: "stdin".into(),
        }
    } else {
        ImportInput::File(args.file.clone())
    };
    let result = ctx.ops.import(
        &ctx.cx,
        &mut ImportRequest {
            input,
            total_bytes,
            unverified: args.unverified,
            skip_existing: args.skip_existing,
            dry_run: args.dry_run,
            progress: bar.as_ref().map(|b| b as &dyn Progress),
        },
    );
    if let Some(bar) = bar {
        bar.0.finish_and_clear();
    }
    let imported = match result {
        Ok(imported) => imported,
        Err(e) => return Err(list_bad_lines(e, ctx.out.json)),
    };
    let view = &imported.view;
    let backup_codes_on = imported.backup_codes_on;
    let warnings = &imported.warnings;
    let verified = view.verified;

    let mut err = io::stderr().lock();
    for warning in warnings {
        writeln!(err, "totpctl: warning: {warning}")?;
    }
    if view.weak_secrets > MAX_WARNINGS {
        writeln!(
            err,
            "totpctl: warning: {} more secrets shorter than 128 bits",
            view.weak_secrets - MAX_WARNINGS
        )?;
    }
    let out = &ctx.out;
    if out.json {
        out.json(view)?;
        return Ok(Exit::Success);
    }
    let mut w = out.stdout();
    writeln!(
        w,
        "{} {} as {}{}{}",
        if args.dry_run {
            "Checked: would import"
        } else {
            "Imported"
        },
        plural(view.imported, "account"),
        if verified { "verified" } else { "unverified" },
        if view.skipped > 0 {
            format!(", skipped {} already enrolled", view.skipped)
        } else {
            String::new()
        },
        if view.weak_secrets > 0 {
            format!(", {} with weak secrets", view.weak_secrets)
        } else {
            String::new()
        },
    )?;
    if view.without_backup_codes > 0 {
        let count = if view.without_backup_codes == 1 {
            "It has".to_string()
        } else {
            format!("All {} have", view.without_backup_codes)
        };
        if verified {
            writeln!(
                w,
                "{count} no backup codes; make them for each account with: {}",
                ctx.command_line(&["backup-codes", "ACCOUNT"])
            )?;
        } else if backup_codes_on {
            writeln!(
                w,
                "{count} no backup codes yet; each gets them with its first accepted code"
            )?;
        }
    }
    if args.dry_run {
        writeln!(w, "Dry run: nothing was changed.")?;
    }
    if let Some(made) = &imported.created {
        out.new_store(&mut w, &made.store, made.key_file.as_deref())?;
    }
    w.flush()?;
    Ok(Exit::Success)
}

/// For people, the bad lines of a refused import go to stderr one a line before the
/// error's summary; with --json they travel in the error object.
fn list_bad_lines(err: anyhow::Error, json: bool) -> anyhow::Error {
    if let Some(Error::BadLines {
        input,
        total,
        lines,
        ..
    }) = classify(&err)
        && !json
        && *total > 1
    {
        let mut stderr = io::stderr().lock();
        for (line, message) in lines {
            let _ = writeln!(stderr, "totpctl: {input} line {line}: {message}");
        }
        let more = total - lines.len() as u64;
        if more > 0 {
            let _ = writeln!(stderr, "totpctl: … and {}", plural(more, "more bad line"));
        }
    }
    err
}

/// The progress bar of an import on a terminal.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new(total_bytes: Option<u64>) -> Bar {
        let bar = match total_bytes {
            Some(len) => indicatif::ProgressBar::new(len).with_style(
                indicatif::ProgressStyle::with_template(
                    "importing {bar:40} {percent:>3}% {msg} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            ),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
        Bar(bar)
    }
}

impl Progress for Bar {
    fn update(&self, bytes: u64, imported: u64) {
        self.0.set_position(bytes);
        self.0.set_message(format!("{imported} accounts"));
    }
}
