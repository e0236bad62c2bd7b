//! `log --check`: the whole store checked with its key, reading only.
//!
//! It checks the keyed chain and its head, every enrollment against its MAC, its last
//! event and its skeleton, the settings against theirs and their last change, that
//! no enrollment the log knows vanished, and the store against what this host saw of
//! it. It is incremental: each host records how far it checked the chain, and the
//! next check starts there, after proving that the events up to that point are all
//! still there and the last of them unchanged; only the enrollments that events since
//! then touched are checked again. `--full` checks everything, as a first check does.

use std::collections::BTreeSet;

use anyhow::Result;

use super::engine::Position;
use super::engine::StoredState;
use super::events::{self, From};
use super::handle::Store;
use super::position::Positions;
use super::rollback::{self, Host, LogState, Purpose};
use super::session::read::{check_history, check_mac};
use super::session::{Enrollment, check_settings_against_log, load_settings};
use crate::base::error::{Error, integrity_error};
use crate::base::text::sanitize;
use crate::vault::Vault;

/// Enrollments read back at a time.
const BATCH: usize = 1024;

/// What `log --check` found.
pub struct Audit {
    /// Events checked.
    pub events: u64,
    /// Enrollments checked against their MACs and last events.
    pub enrollments: u64,
    /// The head: the newest event's seq and chain hash.
    pub head: Option<(i64, Vec<u8>)>,
    /// False on a store no keyed command has upgraded yet: only the unkeyed chain
    /// could be checked.
    pub authenticated: bool,
    /// The seq of the event the check started after: 0 for a whole check.
    pub from: i64,
}

/// How `log --check` checks.
#[derive(Default)]
pub struct AuditOptions<'a> {
    /// A head kept elsewhere (`--check --head H`): the log must still extend it.
    pub head: Option<(i64, &'a [u8])>,
    /// Check the whole chain and every enrollment, not only what changed since the
    /// last check on this host.
    pub full: bool,
    pub interactive: bool,
}

/// Checks a whole store with its key, reading only (see the module doc). The first
/// problem is the error.
pub fn audit(store: &mut Store, how: &AuditOptions<'_>) -> Result<Audit> {
    let path = store.path().to_path_buf();
    let path = path.as_path();
    let key_source = store.key_source().clone();
    let mut transaction = store.read()?;
    let tx = &mut *transaction;
    let vault = match Vault::unlock(tx, &key_source, how.interactive)? {
        Some(v) => Some(v),
        None if tx.has_content()? => {
            return Err(integrity_error(format!(
                "{} holds enrollments, events or settings but no key record: the record was \
                 deleted; restore the store from a backup",
                path.display()
            )));
        }
        None => {
            rollback::refuse_emptied(&key_source, false)?;
            None
        }
    };
    if vault.as_ref().is_some_and(Vault::is_legacy) {
        rollback::refuse_downgrade(&key_source)?;
    }
    let keys = vault.as_ref().filter(|v| !v.is_legacy()).map(Vault::keys);
    let stored_head = tx.head()?;

    // This host's records of the store, if it has an identity yet.
    let identity = match &vault {
        Some(vault) if keys.is_some() => {
            rollback::identity(tx, vault, &key_source, false, false)?.map(|(id, _)| id)
        }
        _ => None,
    };
    let positions = match (&vault, &identity, &key_source.state_dir) {
        (Some(vault), Some(id), Some(dir)) => Some(Positions::new(
            dir.clone(),
            &key_source.place,
            id,
            vault.position_key(),
        )),
        _ => None,
    };

    // Where the chain check starts: after the last check on this host, if the events
    // up to it are all still there and the last of them unchanged; else the whole
    // chain is checked, to name the first event that is not.
    let mut start = match &positions {
        Some(p) if !how.full && keys.is_some() => p.checked().unwrap_or(None),
        _ => None,
    };
    if let Some(c) = &start
        && (tx.events_through(c.seq)? != c.seq as u64
            || tx.hash_at(c.seq)?.as_deref() != Some(c.hash.as_slice()))
    {
        start = None;
    }
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let (events, last) = events::check_chain_from(
        tx,
        keys.as_ref(),
        start.as_ref().map(|c| From {
            seq: c.seq,
            hash: &c.hash,
        }),
        &mut |e| {
            if let Some(id) = &e.totp_id {
                touched.insert(id.clone());
            }
        },
    )?
    .map_err(|p| Error::LogBroken {
        seq: p.seq,
        reason: p.reason,
    })?;

    // The store must be the one this host saw, no older.
    let mut host = None;
    if let (Some(vault), Some(keys), Some(id)) = (&vault, &keys, &identity) {
        let (seq, hash) = stored_head
            .as_ref()
            .map_or((0, &[0u8; 32][..]), |h| (h.seq, h.hash.as_slice()));
        let log = LogState {
            seq,
            hash,
            anchors: tx.anchors()?,
        };
        host = Some(Host::open(
            tx,
            vault,
            keys,
            &key_source,
            id,
            log,
            Purpose::Use,
        )?);
    }
    if let Some((seq, hash)) = how.head {
        let ours = tx.hash_at(seq)?;
        if ours.as_deref() != Some(hash) {
            return Err(Error::LogBroken {
                seq,
                reason: format!(
                    "the log does not extend the head you kept ({}): {}",
                    rollback::head_text(seq, hash),
                    if ours.is_none() {
                        "it has no such event; the store was rolled back"
                    } else {
                        "that event differs; the log was rewritten or the store rolled back"
                    }
                ),
            }
            .into());
        }
    }
    let mut enrollments = 0;
    if let Some(keys) = &keys {
        load_settings(tx, path, keys)?;
        check_settings_against_log(tx, path, keys)?;
        // Every enrollment's MAC and skeleton; its state against its last event only
        // where events since the last check touched it (or all of them, on a whole
        // check): an older row put back without events is refused by verify anyway.
        let ids = tx.all_totp_ids()?;
        let full = start.is_none();
        // A whole check first proves the engine's own structures sound (SQLite: every
        // index holds what its table holds), since an enrollment's last event is found
        // through an index: one rebuilt to leave events out would hide them.
        if full && let Some(problem) = tx.deep_check()? {
            return Err(integrity_error(format!(
                "{}: the database's own structures do not check out ({}): an index was \
                 rebuilt or edited to hide rows; restore the store from a backup",
                path.display(),
                sanitize(&problem)
            )));
        }
        // A batch of enrollments at a time, each then checked against its last event:
        // an engine cannot run a second query while it streams the first.
        let mut states: Vec<StoredState> = Vec::with_capacity(ids.len().min(BATCH));
        for chunk in ids.chunks(BATCH) {
            states.clear();
            tx.stored_states(chunk, &mut |st| {
                states.push(st);
                Ok(())
            })?;
            for st in states.drain(..) {
                let skeleton = crate::domain::names::skeleton(&st.totp.account);
                if st.skeleton.as_deref() != Some(skeleton.as_str()) {
                    return Err(integrity_error(format!(
                        "the skeleton of '{}' ({}) is not the one its account has: it was edited \
                         without the key, which would let a look-alike account be enrolled",
                        sanitize(&st.totp.account),
                        sanitize(&st.totp.id)
                    )));
                }
                let backup_hashes = st
                    .codes
                    .iter()
                    .filter(|c| c.1.is_none())
                    .map(|c| c.0.clone())
                    .collect();
                let e = Enrollment {
                    totp: st.totp,
                    backup_hashes,
                    sealed: None,
                };
                check_mac(keys, &e)?;
                if full || touched.contains(&e.totp.id) {
                    let last = check_history(tx, keys, &e)?;
                    // No older than this host saw it; and from now on this host
                    // knows it, whether or not it ever serves it.
                    if let Some(host) = &host {
                        host.check_account(tx, &e.totp.account, &last, path)?;
                    }
                }
                enrollments += 1;
            }
        }
        if let Some((seq, id)) = tx.vanished_enrollments()?.first() {
            return Err(integrity_error(format!(
                "enrollment {} (last event #{seq}) is gone from the store, but the log never \
                 removed it: its rows were deleted without the key",
                sanitize(id)
            )));
        }
    }
    let store_anchors = tx.anchors()?;
    drop(transaction);
    if let (Some(host), Some(h)) = (&host, &last) {
        let at = Position {
            seq: h.seq,
            hash: h.hash.clone(),
        };
        if let Some(p) = &positions {
            let _ = p.save_checked(&at);
        }
        let anchors = store_anchors;
        host.after_commit(Some(at), anchors);
    }
    Ok(Audit {
        events,
        enrollments,
        head: last.map(|h| (h.seq, h.hash)),
        authenticated: keys.is_some(),
        from: start.map_or(0, |c| c.seq),
    })
}
