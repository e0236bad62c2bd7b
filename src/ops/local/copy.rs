//! `copy DEST`: the whole store into a new one, in either engine.
//!
//! The source is read in one snapshot (a read transaction) and DEST is written in one
//! write transaction that also opens DEST with the source's key, checks it like any
//! store and appends a keyed `copied` event: DEST is all there, checked and recorded,
//! or not there at all.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::ops::context::Context;
use crate::ops::requests::{Copied, CopyRequest};
use crate::ops::views::CopyView;
use crate::store::{Location, Record, Store, session::Opening};
use crate::vault::KeySource;

pub fn copy(l: &Local, cx: &Context, args: &CopyRequest<'_>) -> Result<Copied> {
    if args.dest.as_os_str().is_empty() {
        return Err(invalid(
            "DEST is empty: give a new file's path or a postgresql:// URL",
        ));
    }
    let dest_at = Location::parse(&args.dest, &l.access)?;
    let dest_label = dest_at.label();
    if dest_label == l.location.label() {
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
    let mut source = l.existing_store()?;
    let source_label = source.path().to_path_buf();
    let src_keys = source.key_source().clone();

    let mut dest = Store::open(&dest_at, &l.access)?;
    // From here on, a failure removes an SQLite DEST this command made.
    let result = copy_into(l, cx, args, &mut source, &src_keys, &mut dest, &dest_at);
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

    Ok(Copied {
        view: CopyView {
            copied: true,
            dest: dest_label.to_string_lossy().into_owned(),
            enrollments,
            events,
        },
        key_note: key_note.unwrap_or_default(),
        source: source_label,
    })
}

/// Copies every record of `source` into the empty `dest` and appends the `copied`
/// event, in one transaction on each side. Returns the counts and a note on the key.
fn copy_into(
    l: &Local,
    cx: &Context,
    args: &CopyRequest<'_>,
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
    let state_dir = l
        .access
        .state_dir
        .clone()
        .or_else(|| crate::store::location::default_dir(key_file.as_deref(), dest_at));
    dest.set_key_source(KeySource {
        key_file,
        state_dir,
        ..dest_keys
    });

    let from = source.path().to_string_lossy().into_owned();
    let mut snapshot = source.read()?;
    crate::store::check_source(&mut *snapshot, src_keys, cx.interactive)?;
    let total = snapshot.size()?.records;
    let mut done = 0u64;
    let mut enrollments = 0u64;
    let mut events = 0u64;
    let now = cx.now_str();
    let mut session = crate::store::Session::begin_filled(
        dest,
        &Opening {
            now: &now,
            interactive: cx.interactive,
            create_keys: false,
            purpose: crate::store::Purpose::Copy,
            actor: &cx.actor,
        },
        &mut |tx| {
            snapshot.export(&mut |record| {
                match &record {
                    Record::Totp { .. } => enrollments += 1,
                    Record::Event(_) => events += 1,
                    _ => {}
                }
                tx.import(&record)?;
                done += 1;
                if let Some(progress) = args.progress {
                    progress(done, total);
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
    Ok((enrollments, events, Some(key_note)))
}
