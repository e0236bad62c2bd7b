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
use zeroize::Zeroizing;

use super::confirm::{self, Written};
use super::engine::{Insert, Tx};
use super::events::{self, Actor, Appender, NewEvent};
use super::position::Position;
pub use super::rollback::Purpose;
use super::rollback::{self, Host, LogState};
use super::{Store, Totp};
use crate::config::Settings;
use crate::error::{Error, integrity_error};
use crate::integrity::{self, Keys, Tag};
use crate::output::sanitize;
use crate::vault::{AfterCommit, KeySource, Protection, Vault};

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
                    return Err(crate::error::key_error(format!(
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
                    crate::output::command_line(Some(path.as_path()), &["upgrade"])
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
        let log =
            Appender::new(&mut *tx, &keys, &Actor::current(), how.now)?.map_err(|problem| {
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

    /// Finds an enrollment by account name or id, and checks it: it is the one asked
    /// for, it carries its MAC, it is in the state its last event recorded (a row
    /// restored from an older copy is not), and no older than this host saw it. An
    /// account that is not there is `None` only if the log says it was removed.
    pub fn find(&self, account_or_id: &str) -> Result<Option<Enrollment>> {
        self.lookup(account_or_id, true)
    }

    /// Like [`Session::find`], by account name only (`verify --pam`).
    pub fn find_by_name(&self, account: &str) -> Result<Option<Enrollment>> {
        self.lookup(account, false)
    }

    fn lookup(&self, key: &str, by_id: bool) -> Result<Option<Enrollment>> {
        let Some((mut totp, sealed)) = self.tx().find_sealed(key, by_id)? else {
            if !(by_id && uuid::Uuid::try_parse(key).is_ok()) {
                self.host
                    .check_absent(&mut **self.tx(), &self.keys, key, &self.path)?;
            }
            return Ok(None);
        };
        // The row answers for its own identity: a lookup the database was made to
        // answer with another row (a retyped column with an `=` of its own) is caught
        // here, whatever the row's MAC says.
        if totp.account != key && !(by_id && totp.id == key) {
            return Err(integrity_error(format!(
                "{}: asked for '{}', the store answered with the enrollment of '{}' ({}): its \
                 lookups were tampered with; nothing was accepted",
                self.path.display(),
                sanitize(key),
                sanitize(&totp.account),
                sanitize(&totp.id)
            )));
        }
        let backup_hashes = self.tx().backup_code_hashes(&totp.id)?;
        totp.backup_codes_remaining = backup_hashes.len() as u32;
        let e = Enrollment {
            totp,
            backup_hashes,
            sealed,
        };
        let last = check_enrollment(&mut **self.tx(), &self.keys, &e)?;
        self.host
            .check_account(&mut **self.tx(), &e.totp.account, &last, &self.path)?;
        Ok(Some(e))
    }

    /// Whether `account` (by name) is enrolled; decides nothing but a message.
    pub fn is_enrolled(&self, account: &str) -> Result<bool> {
        self.tx().is_enrolled(account)
    }

    /// An enrolled account other than `account` that looks like it (the same UTS #39
    /// skeleton, src/names.rs).
    pub fn account_like(&self, account: &str) -> Result<Option<String>> {
        self.tx()
            .account_like(&crate::names::skeleton(account), account)
    }

    /// Like [`Session::find`], but a missing account is `resource_not_found`.
    pub fn get(&self, account_or_id: &str) -> Result<Enrollment> {
        self.find(account_or_id)?
            .ok_or_else(|| Error::NotFound(sanitize(account_or_id)).into())
    }

    /// Opens an enrollment's secret.
    pub fn secret(&self, e: &Enrollment) -> Result<Zeroizing<Vec<u8>>> {
        let reread;
        let sealed = match &e.sealed {
            Some(sealed) => sealed,
            None => {
                reread = self.tx().sealed_secret(&e.totp.id)?;
                &reread
            }
        };
        self.vault.open(&e.totp, sealed)
    }

    /// The keyed hash a backup code of `e` is stored as.
    pub fn hash_code(&self, e: &Enrollment, code: &str) -> Vec<u8> {
        self.vault.hash_code(&e.totp.id, code).to_vec()
    }

    /// Writes the state of `e` (stamped `updated_at` now) with its new MAC. Returns
    /// false, writing nothing, if another writer changed the row since it was loaded.
    pub fn save(&mut self, e: &mut Enrollment) -> Result<bool> {
        let old_mac = e.totp.mac.take();
        e.totp.updated_at = self.now.clone();
        let mac = self.keys.totp_mac(&e.digest());
        let saved = self.tx().save_state(&e.totp, old_mac.as_deref(), &mac)?;
        e.totp.mac = Some(mac.to_vec());
        if saved {
            self.wrote(e)?;
        }
        Ok(saved)
    }

    /// Notes what `e` must hold now, for the read-back; its sealed secret is read
    /// from the transaction if it was not loaded.
    fn wrote(&self, e: &Enrollment) -> Result<()> {
        let reread;
        let sealed = match &e.sealed {
            Some(s) => Some(s.as_slice()),
            None => {
                reread = self.tx().sealed_secret(&e.totp.id).ok();
                reread.as_deref()
            }
        };
        self.written
            .borrow_mut()
            .enrollment(&e.totp, &e.backup_hashes, sealed);
        Ok(())
    }

    /// Consumes one backup code of `e` (the caller saves `e` after): returns whether
    /// it was live.
    pub fn consume_backup_code(&mut self, e: &mut Enrollment, hash: &[u8]) -> Result<bool> {
        let Some(i) = e.backup_hashes.iter().position(|h| h[..] == hash[..]) else {
            return Ok(false);
        };
        if !self.tx().use_backup_code(&e.totp.id, hash, &self.now)? {
            return Ok(false);
        }
        self.written.borrow_mut().consumed(&e.totp.id, hash);
        e.backup_hashes.swap_remove(i);
        e.totp.backup_codes_remaining = e.backup_hashes.len() as u32;
        Ok(true)
    }

    /// Whether `hash` is a backup code of `e`'s current set that was used already.
    pub fn backup_code_was_used(&self, e: &Enrollment, hash: &[u8]) -> Result<bool> {
        Ok(self.tx().backup_code_used_at(&e.totp.id, hash)?.is_some())
    }

    /// Replaces the backup codes of `e` (the caller saves `e` after).
    pub fn replace_backup_codes(&mut self, e: &mut Enrollment, hashes: Vec<Vec<u8>>) -> Result<()> {
        self.tx().replace_backup_codes(&e.totp.id, &hashes)?;
        e.backup_hashes = hashes;
        e.totp.backup_codes_remaining = e.backup_hashes.len() as u32;
        Ok(())
    }

    /// Inserts a new enrollment with its secret sealed to it; returns false, writing
    /// nothing, if its account is enrolled already. An account that looks like an
    /// enrolled one (src/names.rs) is refused, naming it.
    pub fn insert(&mut self, e: &mut Enrollment, secret: &[u8]) -> Result<bool> {
        let sealed = self.vault.seal(&e.totp, secret)?;
        let mac = self.keys.totp_mac(&e.digest());
        let skeleton = crate::names::skeleton(&e.totp.account);
        let inserted = match self.tx().insert_totp(&e.totp, &sealed, &mac, &skeleton)? {
            Insert::Inserted => true,
            Insert::Taken => false,
            Insert::LooksLike(other) => {
                return Err(crate::names::look_alike(&e.totp.account, &other));
            }
        };
        if inserted && !e.backup_hashes.is_empty() {
            self.tx()
                .replace_backup_codes(&e.totp.id, &e.backup_hashes)?;
        }
        e.totp.mac = Some(mac.to_vec());
        if inserted {
            self.written.borrow_mut().enrollment_as(
                &e.totp,
                &e.backup_hashes,
                Some(&sealed),
                &skeleton,
            );
        }
        e.sealed = Some(sealed);
        Ok(inserted)
    }

    /// Deletes an enrollment and its backup codes.
    pub fn delete(&mut self, e: &Enrollment) -> Result<()> {
        self.tx().delete_totp(&e.totp.id)?;
        self.written.borrow_mut().deleted(&e.totp.id);
        Ok(())
    }

    /// Changes a setting (checked by the caller) and authenticates the new set.
    pub fn set_config(&mut self, key: &str, value: &str) -> Result<Tag> {
        let tx = self.tx.get_mut();
        tx.set_config(key, value)?;
        let digest = integrity::config_digest(&tx.config_pairs()?);
        tx.set_meta("config_mac", &self.keys.config_mac(&digest))?;
        self.settings = load_settings(&mut **tx, &self.path, &self.keys)?;
        self.written.borrow_mut().config(digest);
        Ok(digest)
    }

    /// Adds `key: value` to the detail of every event this session appends from now
    /// on (where the request came from, for instance).
    pub fn add_to_every_detail(&mut self, key: &str, value: Value) {
        self.extra_detail.insert(key.to_string(), value);
    }

    /// Appends an audit event; with an enrollment, the event records the digest of the
    /// state it is in now (so append after saving).
    pub fn event(&mut self, name: &str, e: Option<&Enrollment>, mut detail: Value) -> Result<()> {
        if let Some(object) = detail.as_object_mut() {
            for (k, v) in &self.extra_detail {
                object.insert(k.clone(), v.clone());
            }
        }
        let state = e.map(Enrollment::digest);
        self.event_with_state(
            name,
            e.map(|e| e.totp.account.as_str()),
            e.map(|e| e.totp.id.as_str()),
            &detail.to_string(),
            state.as_ref(),
        )
    }

    /// Appends an event with its fields given one by one.
    pub fn event_with_state(
        &mut self,
        name: &str,
        account: Option<&str>,
        totp_id: Option<&str>,
        detail: &str,
        state: Option<&Tag>,
    ) -> Result<()> {
        self.log.append(
            &mut **self.tx.get_mut(),
            &self.keys,
            &NewEvent {
                event: name,
                account,
                totp_id,
                detail,
                state,
            },
        )?;
        if let (Some(account), Some(_)) = (account, totp_id) {
            let (seq, hash) = self.log.head();
            self.host.appended(
                account,
                Position {
                    seq,
                    hash: hash.to_vec(),
                },
            );
        }
        Ok(())
    }

    /// Checks the whole keyed chain, as `log --check` does: before a session vouches
    /// for the log (`log --accept-restore`).
    pub fn check_chain(&mut self) -> Result<()> {
        match events::check_chain(&mut **self.tx.get_mut(), Some(&self.keys))? {
            Ok(_) => Ok(()),
            Err(problem) => Err(Error::LogBroken {
                seq: problem.seq,
                reason: problem.reason,
            }
            .into()),
        }
    }

    /// Seals every secret under a fresh data key with the new protection, renews every
    /// MAC, and writes the new key record. The backup-code key is kept.
    pub fn rekey(
        &mut self,
        protection: Protection,
        passphrase: Option<&str>,
    ) -> Result<(usize, AfterCommit)> {
        // The log is authenticated under the old key first: a rekey must not give a
        // forged log a MAC under the new one.
        if let Err(problem) = events::check_chain(&mut **self.tx.get_mut(), Some(&self.keys))? {
            return Err(Error::LogBroken {
                seq: problem.seq,
                reason: problem.reason,
            }
            .into());
        }
        let new = self.vault.rotated(protection, passphrase)?;
        let new_keys = new.keys();
        let ids = self.tx().all_totp_ids()?;
        for id in &ids {
            let mut e = self.get(id)?;
            let secret = self.secret(&e)?;
            let sealed = new.seal(&e.totp, &secret)?;
            let mac = new_keys.totp_mac(&e.digest());
            {
                let mut tx = self.tx();
                tx.reseal(id, &sealed)?;
                tx.set_totp_mac(id, &mac)?;
            }
            e.totp.mac = Some(mac.to_vec());
            e.sealed = Some(sealed);
            self.wrote(&e)?;
        }
        let tx = &mut **self.tx.get_mut();
        let digest = integrity::config_digest(&tx.config_pairs()?);
        tx.set_meta("config_mac", &new_keys.config_mac(&digest))?;
        self.log.finish(tx, &self.keys)?;
        events::remac_all(tx, &new_keys)?;
        let after = new.write_record_for_rekey(tx, &self.key_source, &self.now)?;
        if let Some(row) = tx.vault_row()? {
            self.written.get_mut().vault(row);
        }
        self.vault = new;
        self.keys = new_keys;
        self.written.get_mut().config(digest);
        Ok((ids.len(), after))
    }

    /// Writes the log's head, reads back everything written, commits, and moves this
    /// host's records on.
    pub fn commit(mut self) -> Result<()> {
        let mut tx = self.tx.into_inner();
        self.log.finish(&mut *tx, &self.keys)?;
        confirm::confirm(
            &mut *tx,
            &self.keys,
            &self.written.borrow(),
            &self.log,
            &self.now,
            &self.path,
        )?;
        tx.commit()?;
        let (seq, hash) = self.log.head();
        self.host.after_commit(
            Some(Position {
                seq,
                hash: hash.to_vec(),
            }),
            self.log.anchors(),
        );
        Ok(())
    }
}

/// Checks an enrollment: its MAC, and that it is in the state its last event recorded
/// (a row restored from an older, once-valid copy is not). Returns that last event's
/// position.
pub(super) fn check_enrollment(tx: &mut dyn Tx, keys: &Keys, e: &Enrollment) -> Result<Position> {
    check_mac(keys, e)?;
    check_history(tx, keys, e)
}

/// Checks an enrollment's MAC, over its row and its live backup codes.
pub(super) fn check_mac(keys: &Keys, e: &Enrollment) -> Result<()> {
    let t = &e.totp;
    if !integrity::matches(t.mac.as_deref(), &keys.totp_mac(&e.digest())) {
        return Err(integrity_error(format!(
            "the enrollment of '{}' ({}) does not carry this store's MAC: its row or backup \
             codes were changed without the key; nothing was accepted",
            sanitize(&t.account),
            sanitize(&t.id)
        )));
    }
    Ok(())
}

/// Checks that an enrollment is in the state its last event recorded; returns that
/// event's position.
pub(super) fn check_history(tx: &mut dyn Tx, keys: &Keys, e: &Enrollment) -> Result<Position> {
    let t = &e.totp;
    let name = || format!("'{}' ({})", sanitize(&t.account), sanitize(&t.id));
    let digest = e.digest();
    match events::last_event_of(tx, keys, &t.account, &t.id)? {
        Ok(Some((last, _))) if last.event == "removed" => Err(integrity_error(format!(
            "the enrollment of {} was removed (event #{}) but its row is back: it was restored \
             from an older copy",
            name(),
            last.seq
        ))),
        Ok(Some((last, hash))) => match &last.state {
            Some(state) if state[..] != digest[..] => Err(integrity_error(format!(
                "the enrollment of {} is not in the state its last event (#{}) recorded: its rows \
                 were restored from an older copy; nothing was accepted",
                name(),
                last.seq
            ))),
            _ => Ok(Position {
                seq: last.seq,
                hash,
            }),
        },
        Ok(None) => Err(integrity_error(format!(
            "the enrollment of {} has no event in the audit log: it was not made by totpctl",
            name()
        ))),
        Err(seq) => Err(integrity_error(format!(
            "event #{seq}, the last of {}, does not check out: run `totpctl log --check`",
            name()
        ))),
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
