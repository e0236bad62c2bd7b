//! `totpctl copy DEST`: the whole store into a new one, in either engine.
//!
//! The source is read in one snapshot (a read transaction) and DEST is written in one
//! write transaction that also opens DEST with the source's key, checks it like any
//! store and appends a keyed `copied` event: DEST is all there, checked and recorded,
//! or not there at all.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::CopyArgs;
use crate::error::{Error, Exit, invalid};
use crate::output::plural;
use crate::store::{Location, Record, Store, session::Opening};
use crate::vault::KeySource;

pub fn run(args: &CopyArgs, ctx: &Ctx) -> Result<Exit> {
    if args.dest.as_os_str().is_empty() {
        return Err(invalid(
            "DEST is empty: give a new file's path or a postgresql:// URL",
        ));
    }
    let dest_at = Location::parse(&args.dest, &ctx.access)?;
    let dest_label = dest_at.label();
    if dest_label == ctx.location.label() {
        return Err(invalid("DEST is the store itself: copy into a new store"));
    }
    if let Location::Sqlite(path) = &dest_at
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(Error::Store(format!(
            "{} already exists: copy writes a new store and never overwrites one; pick a new \
             path",
            path.display()
        ))
        .into());
    }
    let mut source = ctx.existing_store()?;
    let src_keys = source.key_source().clone();

    let mut dest = Store::open(&dest_at, &ctx.access)?;
    // From here on, a failure removes an SQLite DEST this command made.
    let result = copy_into(ctx, &mut source, &src_keys, &mut dest, &dest_at);
    if result.is_err()
        && let Location::Sqlite(path) = &dest_at
    {
        drop(dest);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let (enrollments, events, key_note) = result?;

    let out = &ctx.out;
    if out.json {
        out.json(&json!({
            "copied": true,
            "dest": dest_label.to_string_lossy(),
            "enrollments": enrollments,
            "events": events,
        }))?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "Copied {} and {} into {}",
            plural(enrollments, "enrollment"),
            plural(events, "event"),
            dest_label.display()
        )?;
        if let Some(note) = key_note {
            writeln!(w, "{note}")?;
        }
        // Two stores that both accept codes drift apart: a code used at one could be
        // used again at the other, and a lockout at one is not one at the other.
        writeln!(
            w,
            "{} {} still accepts codes on its own: once the copy is in use, retire it (move \
             it away, or point every host at the copy), so that a code used at one store \
             cannot be used again at the other",
            out.yellow("Note:"),
            source.path().display()
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

/// Copies every record of `source` into the empty `dest` and appends the `copied`
/// event, in one transaction on each side. Returns the counts and a note on the key.
fn copy_into(
    ctx: &Ctx,
    source: &mut Store,
    src_keys: &KeySource,
    dest: &mut Store,
    dest_at: &Location,
) -> Result<(u64, u64, Option<String>)> {
    if !dest.is_empty()? {
        return Err(Error::Store(format!(
            "{} already holds a totpctl store: copy writes only into a new SQLite file or a \
             database without totpctl data",
            dest.path().display()
        ))
        .into());
    }
    // DEST opens with the source's key: its own key file if one is named or beside
    // it, else the source's.
    let dest_keys = dest.key_source().clone();
    let mut copied_key = false;
    let key_file = match (&dest_keys.key_file, &src_keys.key_file) {
        (Some(d), Some(s)) if d != s && !d.exists() && s.exists() => {
            crate::vault::copy_key_file(s, d)?;
            copied_key = true;
            Some(d.clone())
        }
        (Some(d), _) if d.exists() => Some(d.clone()),
        (_, s) => s.clone(),
    };
    // What the copy needs to be opened: always said, since a snapshot kept without its
    // key is a store no one can verify with.
    let key_note = match key_file.as_ref().filter(|k| k.exists()) {
        Some(k) if dest_at.is_server() => format!(
            "Every host needs the key file: copy {} to each (mode 0600) and set \
             TOTPCTL_KEY_FILE there",
            k.display()
        ),
        Some(k) if copied_key => format!(
            "Key file copied to {}: keep it with the copy, and back it up apart from it",
            k.display()
        ),
        Some(k) => format!(
            "The copy opens with the key file {}: keep a copy of that file with it \
             (without it, no code can be verified against the copy)",
            k.display()
        ),
        None => {
            "The copy is protected by the source's passphrase (TOTPCTL_PASSPHRASE, or asked)".into()
        }
    };
    let state_dir = ctx
        .access
        .state_dir
        .clone()
        .or_else(|| crate::store::position::default_dir(key_file.as_deref(), dest_at));
    dest.set_key_source(KeySource {
        key_file,
        state_dir,
        ..dest_keys
    });

    let from = source.path().to_string_lossy().into_owned();
    let mut snapshot = source.read()?;
    crate::store::check_source(&mut *snapshot, src_keys, ctx.interactive)?;
    let total = snapshot.size()?.records;
    let progress = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("copying {bar:40} {pos}/{len} records")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut enrollments = 0u64;
    let mut events = 0u64;
    let now = ctx.now_str();
    let mut session = crate::store::Session::begin_filled(
        dest,
        &Opening {
            now: &now,
            interactive: ctx.interactive,
            create_keys: false,
            purpose: crate::store::Purpose::Copy,
        },
        &mut |tx| {
            snapshot.export(&mut |record| {
                match &record {
                    Record::Totp { .. } => enrollments += 1,
                    Record::Event(_) => events += 1,
                    _ => {}
                }
                tx.import(&record)?;
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                Ok(())
            })
        },
    )?;
    session.event(
        "copied",
        None,
        json!({
            "from": from,
            "enrollments": enrollments,
            "events": events,
        }),
    )?;
    session.commit()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok((enrollments, events, Some(key_note)))
}
