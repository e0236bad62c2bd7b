//! Rollback refused by the host that saw the later state (see position.rs for what a
//! host keeps). A write session, and `log --check`, open the store through [`Host`]:
//! - the store's identity is read (authenticated under its key) or, for a store made
//!   before identities, given one;
//! - the place's record says which store this host saw there: a different one, an
//!   emptied one or an unauthenticated (version 1) form of it is refused;
//! - the log must still extend the newest event this host saw, unless a keyed
//!   `restore_accepted` event this host has not honoured yet says an admin restored
//!   a backup on purpose;
//! - each account the session serves must be at or past the newest event of it this
//!   host saw, and an account this host saw is never silently gone.
//!
//! What a host cannot see is a state it never saw: that limit, and `log --check` for
//! it, are in the README ("The database is untrusted input").

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;

use super::engine::Position;
use super::engine::Tx;
use super::events;
use super::host_accounts::{Key, Seen};
use super::position::{self, Binding, LogPosition, Positions};
use crate::base::error::integrity_error;
use crate::base::text::sanitize;
use crate::domain::integrity::{Anchors, Keys};
use crate::vault::{KeySource, Vault};

/// Why a session opens the store, as far as this host's records care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Purpose {
    /// Any command that uses the store.
    #[default]
    Use,
    /// `totpctl upgrade`: a version 1 store may be authenticated.
    Upgrade,
    /// `log --accept-restore`: the store is taken as it is now; this host's records
    /// of it start again from here.
    AcceptRestore,
    /// `copy`: a new store, filled from another, with an identity of its own.
    Copy,
}

/// `SEQ:HASH`, as `log --head` prints a position.
pub fn head_text(seq: i64, hash: &[u8]) -> String {
    format!("{seq}:{}", data_encoding::HEXLOWER.encode(hash))
}

/// The meta keys of the store's identity and its MAC.
const STORE_ID: &str = "store_id";
const STORE_ID_MAC: &str = "store_id_mac";

/// The store's identity and, when one was written, its meta values.
pub type Identity = (String, Option<[(String, Vec<u8>); 2]>);

/// The store's identity: the one it carries, checked against its MAC; a new one for
/// a store made before identities (or for a copy, `fresh`), written into the
/// transaction. In a read-only transaction (`write` false), a store without one has
/// `None`.
pub fn identity(
    tx: &mut dyn Tx,
    vault: &Vault,
    keys: &KeySource,
    fresh: bool,
    write: bool,
) -> Result<Option<Identity>> {
    let id = tx.meta(STORE_ID)?;
    let mac = tx.meta(STORE_ID_MAC)?;
    match (id, mac) {
        (Some(id), Some(mac)) if !fresh => {
            let text = String::from_utf8(id).unwrap_or_default();
            let valid = text.len() == 32
                && text.bytes().all(|b| b.is_ascii_hexdigit())
                && crate::domain::integrity::matches(Some(&mac), &vault.store_id_mac(&text));
            if !valid {
                return Err(integrity_error(format!(
                    "{}: the store's identity does not carry this store's MAC: it was written \
                     without the key; nothing was done",
                    keys.store.display()
                )));
            }
            Ok(Some((text, None)))
        }
        (id, _) => {
            if id.is_some() && !fresh {
                return Err(integrity_error(format!(
                    "{}: the store's identity lost its MAC: it was edited without the key",
                    keys.store.display()
                )));
            }
            // A store made before identities gets one; but not one this host knew
            // with another: that is an identity deleted to dodge its records.
            if !fresh && let Some(b) = position::binding_at(keys.state_dir.as_deref(), &keys.place)?
            {
                return Err(integrity_error(format!(
                    "{}: the store no longer carries its identity, but this host saw store {} \
                     here: it was removed without the key, or another store was put in its \
                     place; {}",
                    keys.store.display(),
                    b.store_id,
                    accept_hint(keys)
                )));
            }
            if !write {
                return Ok(None);
            }
            let id = data_encoding::HEXLOWER.encode(&crate::vault::random_bytes(16)?);
            let mac = vault.store_id_mac(&id);
            tx.set_meta(STORE_ID, id.as_bytes())?;
            tx.set_meta(STORE_ID_MAC, &mac)?;
            let written = [
                (STORE_ID.to_string(), id.as_bytes().to_vec()),
                (STORE_ID_MAC.to_string(), mac.to_vec()),
            ];
            Ok(Some((id, Some(written))))
        }
    }
}

fn accept_hint(keys: &KeySource) -> String {
    format!(
        "if you restored or replaced it on purpose, check it with `totpctl log --check` and \
         accept it with `totpctl log --accept-restore HEAD` (HEAD as `totpctl log --head` \
         prints it); this host's records are in {}",
        keys.state_dir.as_deref().map_or_else(
            || "(no state directory)".into(),
            |d| d.display().to_string()
        )
    )
}

/// Refuses a store without keys where this host saw one holding events: an emptied
/// store is never a new one. `new_file` is true when this command made the store
/// (an SQLite file that did not exist): only its owner could have removed the old one.
pub fn refuse_emptied(keys: &KeySource, new_file: bool) -> Result<()> {
    let dir = keys.state_dir.as_deref();
    match position::binding_at(dir, &keys.place)? {
        Some(Binding {
            store_id,
            had_events: true,
        }) if !new_file => Err(integrity_error(format!(
            "{} is empty, but this host saw store {store_id} here holding events: it was \
             emptied; restore it from a backup. If you emptied it on purpose to start a new \
             store here, first remove this host's record of the old one: {}",
            keys.store.display(),
            forget_command(keys)
        ))),
        Some(_) => position::forget_place(dir, &keys.place),
        None => Ok(()),
    }
}

/// The command that removes this host's record of a place.
fn forget_command(keys: &KeySource) -> String {
    match &keys.state_dir {
        Some(dir) => format!(
            "rm -r {}",
            crate::base::text::shell_word(&dir.display().to_string())
        ),
        None => "(no state directory is in use)".into(),
    }
}

/// Refuses an unauthenticated (version 1) store where this host saw an authenticated
/// one: a downgrade.
pub fn refuse_downgrade(keys: &KeySource) -> Result<()> {
    if let Some(b) = position::binding_at(keys.state_dir.as_deref(), &keys.place)? {
        return Err(integrity_error(format!(
            "{} is an unauthenticated (version 1) store, but this host saw the authenticated \
             store {} here: an old form of the store was put back to dodge its MACs; restore \
             the authenticated store from a backup (to take this one anyway, first remove \
             this host's records: {})",
            keys.store.display(),
            b.store_id,
            forget_command(keys)
        )));
    }
    Ok(())
}

/// The store's log as a session or a check found it: its head (seq and chain hash)
/// and the events the head answers for.
#[derive(Debug, Clone, Copy)]
pub struct LogState<'a> {
    pub seq: i64,
    pub hash: &'a [u8],
    pub anchors: Anchors,
}

/// This host's view of one store during a session.
pub struct Host {
    positions: Option<Positions>,
    purpose: Purpose,
    /// Whether this host's account records describe a history the store no longer
    /// has (a restore honoured or accepted now).
    forget: bool,
    /// The newest event of each account this session served, by its record's key
    /// (only when this host keeps records).
    served: RefCell<HashMap<Key, Seen>>,
    /// Whether the place's record must be written.
    bind: bool,
}

impl Host {
    /// Checks the store against what this host saw of it (see the module doc), with
    /// the session's keys and its log's head.
    pub fn open(
        tx: &mut dyn Tx,
        vault: &Vault,
        keys: &Keys,
        source: &KeySource,
        store_id: &str,
        log: LogState<'_>,
        purpose: Purpose,
    ) -> Result<Host> {
        let positions = source
            .state_dir
            .clone()
            .map(|dir| Positions::new(dir, &source.place, store_id, vault.position_key()));
        let mut host = Host {
            positions: None,
            purpose,
            forget: purpose == Purpose::AcceptRestore,
            served: RefCell::new(HashMap::new()),
            bind: false,
        };
        let Some(positions) = positions else {
            return Ok(host);
        };
        let binding = positions.binding()?;
        host.bind = binding
            .as_ref()
            .is_none_or(|b| b.store_id != store_id || !b.had_events);
        if purpose == Purpose::Use
            && let Some(b) = &binding
            && b.store_id != store_id
        {
            return Err(integrity_error(format!(
                "{} is not the store this host saw there (store {}; this one is {store_id}): \
                 another store was put in its place; {}",
                source.store.display(),
                b.store_id,
                accept_hint(source)
            )));
        }
        if purpose == Purpose::Use {
            host.check_log(tx, keys, source, &positions, log)?;
        }
        host.positions = Some(positions);
        Ok(host)
    }

    /// Refuses a log that no longer extends the newest event this host saw, or that
    /// lost events after it, unless a restore newer than any this host passed was
    /// accepted since.
    fn check_log(
        &mut self,
        tx: &mut dyn Tx,
        keys: &Keys,
        source: &KeySource,
        positions: &Positions,
        LogState { seq, hash, anchors }: LogState<'_>,
    ) -> Result<()> {
        let Some(seen) = positions.log()? else {
            return Ok(());
        };
        let extends = match seq.cmp(&seen.at.seq) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => hash == seen.at.hash.as_slice(),
            std::cmp::Ordering::Greater => {
                tx.hash_at(seen.at.seq)?.as_deref() == Some(seen.at.hash.as_slice())
                    // Every event since is there: none hidden for this command's length.
                    && tx.events_after(seen.at.seq)? == (seq - seen.at.seq) as u64
            }
        };
        if extends {
            return Ok(());
        }
        // The newest restore the head answers for, if this host has not passed it.
        if anchors.restore > seen.restore {
            return match events::last_event_named(tx, keys, "restore_accepted")? {
                Ok(Some((e, _))) if e.seq == anchors.restore => {
                    self.forget = true;
                    Ok(())
                }
                _ => Err(integrity_error(format!(
                    "{} was rolled back below what this host saw (event #{}), and its last \
                     restore_accepted (#{}) does not check out: run `totpctl log --check`",
                    source.store.display(),
                    seen.at.seq,
                    anchors.restore
                ))),
            };
        }
        Err(integrity_error(format!(
            "{} was rolled back: this host saw its log reach event #{} and the log now {}; a \
             database writer may have put back an older copy to replay codes or undo a \
             lockout, so nothing was accepted or changed; {}",
            source.store.display(),
            seen.at.seq,
            if seq < seen.at.seq {
                format!("ends at #{seq}")
            } else if tx.hash_at(seen.at.seq)?.as_deref() == Some(seen.at.hash.as_slice()) {
                format!("lacks events after #{}", seen.at.seq)
            } else {
                format!("has another event #{}", seen.at.seq)
            },
            accept_hint(source)
        )))
    }

    /// Refuses an enrollment of `account` whose newest event (`last`) is older than
    /// the newest this host saw of it, or not the one it saw at that seq.
    pub fn check_account(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        last: &Position,
        path: &Path,
    ) -> Result<()> {
        self.serve(account, last);
        let Some(positions) = &self.positions else {
            return Ok(());
        };
        if self.forget || self.purpose != Purpose::Use {
            return Ok(());
        }
        let Some(seen) = positions.account(account)? else {
            return Ok(());
        };
        let ok = match last.seq.cmp(&seen.seq) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => last.hash == seen.hash,
            std::cmp::Ordering::Greater => {
                tx.hash_at(seen.seq)?.as_deref() == Some(seen.hash.as_slice())
            }
        };
        if ok {
            return Ok(());
        }
        Err(integrity_error(format!(
            "{}: the enrollment of '{}' was rolled back: this host saw its history reach event \
             #{}, and the store's last event of it is #{}; its rows were put back from an older \
             copy, so nothing was accepted (if a backup was restored on purpose, accept it with \
             `totpctl log --accept-restore HEAD`)",
            path.display(),
            sanitize(account),
            seen.seq,
            last.seq
        )))
    }

    /// Decides what an account that is not in the store means: "not enrolled" only if
    /// its last enrollment's last event is its removal (checked under the key) and
    /// this host saw nothing of it after that. Anything else is an enrollment deleted
    /// without the key.
    pub fn check_absent(
        &self,
        tx: &mut dyn Tx,
        keys: &Keys,
        account: &str,
        path: &Path,
    ) -> Result<()> {
        let gone = |why: String| {
            integrity_error(format!(
                "{}: '{}' is not in the store, but {why}: its rows were deleted without the key; \
                 nothing was accepted (restore the store from a backup)",
                path.display(),
                sanitize(account)
            ))
        };
        let seen = match &self.positions {
            Some(p) if !self.forget && self.purpose == Purpose::Use => p.account(account)?,
            _ => None,
        };
        match events::last_event_of_account(tx, keys, account, true)? {
            Err(seq) => Err(gone(format!("its last event #{seq} does not check out"))),
            Ok(Some((e, _))) if e.event != "removed" => Err(gone(format!(
                "its last event (#{}, {}) is not its removal",
                e.seq,
                sanitize(&e.event)
            ))),
            Ok(Some((e, hash))) => match seen {
                Some(s) if s.seq > e.seq || (s.seq == e.seq && s.hash != hash) => Err(gone(
                    format!("this host saw its history reach event #{}", s.seq),
                )),
                _ => {
                    self.serve(account, &Position { seq: e.seq, hash });
                    Ok(())
                }
            },
            Ok(None) => match seen {
                Some(s) => Err(gone(format!(
                    "this host served it (its event #{} was the last it saw)",
                    s.seq
                ))),
                None => Ok(()),
            },
        }
    }

    /// Records that this session appended event `at` about `account`.
    pub fn appended(&self, account: &str, at: Position) {
        self.serve(account, &at);
    }

    /// Notes `at` as the newest event of `account` this session saw.
    fn serve(&self, account: &str, at: &Position) {
        let (Some(positions), Ok(hash)) = (&self.positions, at.hash.as_slice().try_into()) else {
            return;
        };
        let mut served = self.served.borrow_mut();
        let seen = served
            .entry(positions.account_key(account))
            .or_insert((at.seq, hash));
        if at.seq >= seen.0 {
            *seen = (at.seq, hash);
        }
    }

    /// After the commit: this host's records move on to what the session saw and
    /// wrote: the head, with the newest restore it answers for (passed, honoured or
    /// accepted: only a newer one is honoured after), and each account served. Best
    /// effort: a record that cannot be written only loosens the next check, and the
    /// store has committed already, so a failure is not the user's.
    pub fn after_commit(&self, head: Option<Position>, anchors: Anchors) {
        let Some(positions) = &self.positions else {
            return;
        };
        let _ = (|| -> Result<()> {
            if self.forget {
                positions.forget_accounts()?;
            }
            if let Some(at) = &head {
                positions.save_log(&LogPosition {
                    at: at.clone(),
                    restore: anchors.restore,
                })?;
            }
            positions.save_accounts(&self.served.borrow())?;
            if self.bind || self.forget {
                positions.bind(head.as_ref().is_some_and(|h| h.seq > 0))?;
            }
            Ok(())
        })();
    }
}

/// Checks a store read without a session (`copy`'s source) against what this host saw
/// of it: it must be the store this host saw, no older. A rolled-back store copied
/// would carry its rollback into the copy, under a new identity no host knows.
pub fn check_source(tx: &mut dyn Tx, source: &KeySource, interactive: bool) -> Result<()> {
    let Some(vault) = Vault::unlock(tx, source, interactive)? else {
        return refuse_emptied(source, false);
    };
    if vault.is_legacy() {
        return refuse_downgrade(source);
    }
    let keys = vault.keys();
    let Some((id, _)) = identity(tx, &vault, source, false, false)? else {
        return Ok(());
    };
    let head = tx.head()?;
    let (seq, hash) = head
        .as_ref()
        .map_or((0, &[0u8; 32][..]), |h| (h.seq, h.hash.as_slice()));
    let anchors = tx.anchors()?;
    let log = LogState { seq, hash, anchors };
    Host::open(tx, &vault, &keys, source, &id, log, Purpose::Use).map(drop)
}
