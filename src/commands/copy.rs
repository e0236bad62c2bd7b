//! `copy DEST`: the command line's front end of the copy operation
//! (`ops/local/copy.rs`), with a progress bar on a terminal.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::base::text::plural;
use crate::cli::CopyArgs;
use crate::ops::CopyRequest;

pub fn run(args: &CopyArgs, ctx: &mut Ctx) -> Result<Exit> {
    let bar = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("copying {bar:40} {pos}/{len} records")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = ctx.ops.copy(
        &ctx.cx,
        &CopyRequest {
            dest: args.dest.clone(),
            progress: Some(&progress),
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let copied = result?;
    let out = &ctx.out;
    if out.json {
        out.json(&copied.view)?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "Copied {} and {} into {}",
            plural(copied.view.enrollments, "enrollment"),
            plural(copied.view.events, "event"),
            copied.view.dest
        )?;
        writeln!(w, "{}", copied.key_note)?;
        // Two stores that both accept codes drift apart: a code used at one could be
        // used again at the other, and a lockout at one is not one at the other.
        writeln!(
            w,
            "{} {} still accepts codes on its own: once the copy is in use, retire it (move \
             it away, or point every host at the copy), so that a code used at one store \
             cannot be used again at the other",
            out.yellow("Note:"),
            copied.source.display()
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}
