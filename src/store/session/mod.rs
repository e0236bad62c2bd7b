//! A write session: one write transaction that holds the store's key. Every command
//! that changes a store goes through it, and it is the only way to change one, so
//! that no path writes without the key and every value that decides acceptance is
//! checked before it is used and authenticated when it is written.
//!
//! Its operations are the domain's ("find the enrollment", "save its state", "consume
//! a backup code", "append an event"); the SQL behind them is the engine's. Around
//! them:
//! - the engine has checked the store's schema when the transaction began;
//! - the store is checked against what this host saw of it (rollback.rs), and each
//!   enrollment found must be the one asked for, in the state its last event
//!   recorded;
//! - before it commits, the session reads back everything it wrote (confirm.rs);
//! - after it commits, this host's records move on (position.rs).
//!
//! A store written before it was authenticated (a version 1 key record) is upgraded
//! only by `totpctl upgrade` ([`Purpose::Upgrade`]): the log is checked, every secret
//! is sealed again bound to its account and parameters, and everything gets its MAC.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

pub(super) mod read;
mod tokens;
mod write;

use super::confirm::Written;
use super::engine::Tx;
use super::events::{self, Appender};
use super::handle::Store;
pub use super::rollback::Purpose;
use super::rollback::{self, Host, LogState};
use crate::base::error::{Error, integrity_error};
use crate::base::text::sanitize;
use crate::domain::actor::Actor;
use crate::domain::config::Settings;
use crate::domain::integrity::{self, Keys, Tag};
use crate::domain::model::Totp;
use crate::vault::{KeySource, Vault};

/// An enrollment as a session holds it: its row and its live backup-code hashes,
/// checked against their MAC when loaded.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub totp: Totp,
    pub backup_hashes: Vec<Vec<u8>>,
    /// The sealed secret, as loaded with the row; `None` before the enrollment is
    /// stored, where it was loaded without it, or where the stored value is not
    /// bytes (opening it then reads it again, and says what is wrong).
    pub sealed: Option<Vec<u8>>,
}

impl Enrollment {
    /// The digest of the whole state (src/integrity.rs).
    pub fn digest(&self) -> Tag {
        integrity::totp_digest(
            &self.totp,
            &integrity::backup_set_digest(&self.backup_hashes),
        )
    }
}

/// How to open a session.
pub struct Opening<'a> {
    pub now: &'a str,
    pub interactive: bool,
    /// Whether a store with no key record yet may get fresh keys (enroll, import,
    /// config, rekey); other commands need a store that has them.
    pub create_keys: bool,
    pub purpose: Purpose,
    /// Who is asking: every event this session appends names it.
    pub actor: &'a Actor,
}

/// A write transaction holding the store's key.
pub struct Session<'s> {
    tx: RefCell<Box<dyn Tx + 's>>,
    path: PathBuf,
    key_source: KeySource,
    vault: Vault,
    keys: Keys,
    now: String,
    log: Appender,
    settings: Settings,
    /// Whether this session made the store's keys (its first keyed command).
    pub created_keys: bool,
    /// Members added to the detail of every event (`"pam"` under PAM).
    extra_detail: serde_json::Map<String, Value>,
    host: Host,
    written: RefCell<Written>,
    /// Whether this session authenticated a version 1 store (`totpctl upgrade`).
    upgraded: bool,
    /// The API tokens, once checked in this transaction (each with its keyed hash):
    /// a batch of verifies checks them once. Dropped when this session changes them.
    checked_tokens: RefCell<Option<super::tokens::Checked>>,
}

impl<'s> Session<'s> {
    /// Takes the write lock, opens the key, and checks what every command relies on:
    /// the key record, the settings, the log's head, and the store against what this
    /// host saw of it.
    pub fn begin(store: &'s mut Store, how: &Opening<'_>) -> Result<Session<'s>> {
        Session::begin_filled(store, how, &mut |_| Ok(()))
    }

    /// Like [`Session::begin`], but `fill` writes into the transaction first, before
    /// anything is read or checked: `copy` fills an empty store with another's
    /// records, and the session then opens, checks and extends them like any store's.
    pub fn begin_filled(
        store: &'s mut Store,
        how: &Opening<'_>,
        fill: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<Session<'s>> {
        let path = store.path().to_path_buf();
        let key_source = store.key_source().clone();
        let new_file = store.is_new();
        let mut tx = store.write()?;
        fill(&mut *tx)?;
        let mut written = Written::default();
        let mut created_keys = false;
        let mut vault = match Vault::unlock(&mut *tx, &key_source, how.interactive)? {
            Some(v) => v,
            None => {
                if tx.has_content()? {
                    return Err(integrity_error(format!(
                        "{} holds enrollments, events or settings but no key record: the record \
                         was deleted; restore the store from a backup (no new key was made)",
                        path.display()
                    )));
                }
                rollback::refuse_emptied(&key_source, new_file || how.purpose == Purpose::Copy)?;
                if !how.create_keys {
                    return Err(crate::base::error::key_error(format!(
                        "{} has no key yet: nothing was enrolled",
                        path.display()
                    )));
                }
                created_keys = true;
                let v = Vault::init(&mut *tx, &key_source, how.now)?;
                let keys = v.keys();
                let digest = integrity::config_digest(&[]);
                tx.set_meta("config_mac", &keys.config_mac(&digest))?;
                written.config(digest);
                v
            }
        };
        // `upgrade` of a store authenticated already is any other use of it: it gets
        // every check, this host's records included.
        let purpose = match how.purpose {
            Purpose::Upgrade if !vault.is_legacy() => Purpose::Use,
            p => p,
        };
        let upgraded = if vault.is_legacy() {
            if tx.has_integrity_data()? {
                return Err(integrity_error(format!(
                    "{} has an old-style key record but authenticated data: the record was \
                     replaced with an older one; restore the store from a backup",
                    path.display()
                )));
            }
            rollback::refuse_downgrade(&key_source)?;
            if purpose != Purpose::Upgrade {
                return Err(Error::Store(format!(
                    "{} is a version 1 store, whose rows carry no MAC: authenticate it once \
                     with `{}` (it checks the log first), then run this command again",
                    path.display(),
                    crate::base::text::command_line(Some(path.as_path()), &["upgrade"])
                ))
                .into());
            }
            upgrade(&mut *tx, &key_source, &mut vault, how.now, &mut written)?;
            true
        } else {
            false
        };
        let keys = vault.keys();
        let settings = load_settings(&mut *tx, &path, &keys)?;
        check_settings_against_log(&mut *tx, &path, &keys)?;
        let log = Appender::new(&mut *tx, &keys, how.actor, how.now)?.map_err(|problem| {
            integrity_error(format!(
                "{}: {problem}; run `totpctl log --check`",
                path.display()
            ))
        })?;
        let (store_id, id_written) = rollback::identity(
            &mut *tx,
            &vault,
            &key_source,
            how.purpose == Purpose::Copy,
            true,
        )?
        .ok_or_else(|| integrity_error("the store's identity could not be made"))?;
        for (k, v) in id_written.iter().flatten() {
            written.meta(k, v);
        }
        let host = Host::open(
            &mut *tx,
            &vault,
            &keys,
            &key_source,
            &store_id,
            LogState {
                seq: log.head().0,
                hash: log.head().1,
                anchors: log.anchors(),
            },
            purpose,
        )?;
        let mut session = Session {
            tx: RefCell::new(tx),
            path,
            key_source,
            vault,
            keys,
            now: how.now.to_string(),
            log,
            settings,
            created_keys,
            extra_detail: serde_json::Map::new(),
            host,
            written: RefCell::new(written),
            upgraded,
            checked_tokens: RefCell::new(None),
        };
        if upgraded {
            session.event(
                "store_upgraded",
                None,
                serde_json::json!({ "from": 1, "to": 2 }),
            )?;
        }
        Ok(session)
    }

    /// Whether this session authenticated a version 1 store.
    pub fn upgraded(&self) -> bool {
        self.upgraded
    }

    /// The store's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checked settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Where the store's key comes from.
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// The log's head as this session leaves it: `SEQ:HASH`, or `None` on an empty log.
    pub fn head(&self) -> Option<String> {
        let (seq, hash) = self.log.head();
        (seq > 0).then(|| rollback::head_text(seq, hash))
    }

    fn tx(&self) -> std::cell::RefMut<'_, Box<dyn Tx + 's>> {
        self.tx.borrow_mut()
    }
}

/// Checks the settings against the state their last change recorded: settings put
/// back from an older copy (with the MAC they had then) are refused, not obeyed.
pub(super) fn check_settings_against_log(tx: &mut dyn Tx, path: &Path, keys: &Keys) -> Result<()> {
    match events::last_event_named(tx, keys, "config_changed")? {
        Ok(Some((last, _))) => match &last.state {
            Some(state) if state[..] != integrity::config_digest(&tx.config_pairs()?)[..] => {
                Err(integrity_error(format!(
                    "the settings of {} are not those their last change (event #{}) recorded: \
                     they were restored from an older copy; nothing was done",
                    path.display(),
                    last.seq
                )))
            }
            _ => Ok(()),
        },
        Ok(None) => Ok(()),
        Err(seq) => Err(integrity_error(format!(
            "event #{seq}, the last change of the settings of {}, does not check out: run \
             `totpctl log --check`",
            path.display()
        ))),
    }
}

/// Loads the settings and checks them against their MAC: a setting edited, added or
/// deleted without the key is refused, never obeyed (a deleted one does not fall back
/// to its default).
pub(super) fn load_settings(tx: &mut dyn Tx, path: &Path, keys: &Keys) -> Result<Settings> {
    let pairs = tx.config_pairs()?;
    let digest = integrity::config_digest(&pairs);
    let stored = tx.meta("config_mac")?;
    if !integrity::matches(stored.as_deref(), &keys.config_mac(&digest)) {
        return Err(integrity_error(format!(
            "the settings of {} do not carry this store's MAC: a setting was added, changed or \
             deleted without the key ({}); nothing was done",
            path.display(),
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", sanitize(k), sanitize(v)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Settings::from_pairs(&pairs, path)
}

/// Authenticates a version 1 store: checks its (unkeyed) log, seals every secret
/// again bound to its account and parameters, gives every enrollment, the settings
/// and every event their MACs, and wraps the keys in the authenticated form.
fn upgrade(
    tx: &mut dyn Tx,
    key_source: &KeySource,
    vault: &mut Vault,
    now: &str,
    written: &mut Written,
) -> Result<()> {
    if let Err(problem) = events::check_chain(tx, None)? {
        return Err(Error::LogBroken {
            seq: problem.seq,
            reason: format!(
                "{}; the store cannot be upgraded to the authenticated format until this is \
                 resolved",
                problem.reason
            ),
        }
        .into());
    }
    let keys = vault.keys();
    for id in tx.all_totp_ids()? {
        let totp = tx
            .find(&id)?
            .ok_or_else(|| integrity_error(format!("enrollment {id} vanished")))?;
        let backup_hashes = tx.backup_code_hashes(&id)?;
        let e = Enrollment {
            totp,
            backup_hashes,
            sealed: None,
        };
        let sealed = tx.sealed_secret(&id)?;
        let secret = vault.open_legacy(&e.totp, &sealed)?;
        let sealed = vault.seal(&e.totp, &secret)?;
        let mac = keys.totp_mac(&e.digest());
        tx.reseal(&id, &sealed)?;
        tx.set_totp_mac(&id, &mac)?;
        let mut totp = e.totp.clone();
        totp.mac = Some(mac.to_vec());
        written.enrollment(&totp, &e.backup_hashes, Some(&sealed));
    }
    let pairs = tx.config_pairs()?;
    // Values were checked when set; a bad one means the file was edited.
    Settings::from_pairs(&pairs, &key_source.store)?;
    let digest = integrity::config_digest(&pairs);
    tx.set_meta("config_mac", &keys.config_mac(&digest))?;
    written.config(digest);
    events::remac_all(tx, &keys)?;
    vault.upgrade_record(tx, key_source, now)?;
    if let Some(row) = tx.vault_row()? {
        written.vault(row);
    }
    Ok(())
}
