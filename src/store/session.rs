//! A write session: one write transaction that holds the store's key. Every command
//! that changes a store goes through it, and it is the only way to change one, so
//! that no path writes without the key and every value that decides acceptance is
//! checked before it is used and authenticated when it is written.
//!
//! Its operations are the domain's ("find the enrollment", "save its state", "consume
//! a backup code", "append an event"); the SQL behind them is the engine's.
//!
//! Opening a session on a store written before it was authenticated (a version 1 key
//! record) upgrades it in the same transaction: the log is checked, every secret is
//! sealed again bound to its account and parameters, and everything gets its MAC.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;
use zeroize::Zeroizing;

use super::engine::Tx;
use super::events::{self, Actor, Appender, NewEvent};
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
}

impl<'s> Session<'s> {
    /// Takes the write lock, opens the key, and checks what every command relies on:
    /// the key record, the settings and the log's head.
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
        let mut tx = store.write()?;
        fill(&mut *tx)?;
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
                v
            }
        };
        let upgraded = if vault.is_legacy() {
            if tx.has_integrity_data()? {
                return Err(integrity_error(format!(
                    "{} has an old-style key record but authenticated data: the record was \
                     replaced with an older one; restore the store from a backup",
                    path.display()
                )));
            }
            upgrade(&mut *tx, &key_source, &mut vault, how.now)?;
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

    fn tx(&self) -> std::cell::RefMut<'_, Box<dyn Tx + 's>> {
        self.tx.borrow_mut()
    }

    /// Finds an enrollment by account name or id, and checks it: its MAC, and that it
    /// is in the state its last event recorded (a row restored from an older copy is
    /// not).
    pub fn find(&self, account_or_id: &str) -> Result<Option<Enrollment>> {
        let Some((mut totp, sealed)) = self.tx().find_sealed(account_or_id)? else {
            return Ok(None);
        };
        let backup_hashes = self.tx().backup_code_hashes(&totp.id)?;
        totp.backup_codes_remaining = backup_hashes.len() as u32;
        let e = Enrollment {
            totp,
            backup_hashes,
            sealed,
        };
        self.check(&e)?;
        Ok(Some(e))
    }

    /// Whether `account` (by name) is enrolled; decides nothing but a message.
    pub fn is_enrolled(&self, account: &str) -> Result<bool> {
        self.tx().is_enrolled(account)
    }

    /// Like [`Session::find`], but a missing account is `resource_not_found`.
    pub fn get(&self, account_or_id: &str) -> Result<Enrollment> {
        self.find(account_or_id)?
            .ok_or_else(|| Error::NotFound(sanitize(account_or_id)).into())
    }

    fn check(&self, e: &Enrollment) -> Result<()> {
        check_enrollment(&mut **self.tx(), &self.keys, e)
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
        Ok(saved)
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
    /// nothing, if its account is enrolled already.
    pub fn insert(&mut self, e: &mut Enrollment, secret: &[u8]) -> Result<bool> {
        let sealed = self.vault.seal(&e.totp, secret)?;
        let mac = self.keys.totp_mac(&e.digest());
        let inserted = self.tx().insert_totp(&e.totp, &sealed, &mac)?;
        if inserted && !e.backup_hashes.is_empty() {
            self.tx()
                .replace_backup_codes(&e.totp.id, &e.backup_hashes)?;
        }
        e.totp.mac = Some(mac.to_vec());
        e.sealed = Some(sealed);
        Ok(inserted)
    }

    /// Deletes an enrollment and its backup codes.
    pub fn delete(&mut self, e: &Enrollment) -> Result<()> {
        self.tx().delete_totp(&e.totp.id)
    }

    /// Changes a setting (checked by the caller) and authenticates the new set.
    pub fn set_config(&mut self, key: &str, value: &str) -> Result<Tag> {
        let tx = self.tx.get_mut();
        tx.set_config(key, value)?;
        let digest = integrity::config_digest(&tx.config_pairs()?);
        tx.set_meta("config_mac", &self.keys.config_mac(&digest))?;
        self.settings = load_settings(&mut **tx, &self.path, &self.keys)?;
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
        )
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
            let e = self.get(id)?;
            let secret = self.secret(&e)?;
            let sealed = new.seal(&e.totp, &secret)?;
            let mut tx = self.tx();
            tx.reseal(id, &sealed)?;
            tx.set_totp_mac(id, &new_keys.totp_mac(&e.digest()))?;
        }
        let tx = &mut **self.tx.get_mut();
        let digest = integrity::config_digest(&tx.config_pairs()?);
        tx.set_meta("config_mac", &new_keys.config_mac(&digest))?;
        self.log.finish(tx, &self.keys)?;
        events::remac_all(tx, &new_keys)?;
        let after = new.write_record_for_rekey(tx, &self.key_source, &self.now)?;
        self.vault = new;
        self.keys = new_keys;
        Ok((ids.len(), after))
    }

    /// Writes the log's head and commits.
    pub fn commit(mut self) -> Result<()> {
        let mut tx = self.tx.into_inner();
        self.log.finish(&mut *tx, &self.keys)?;
        tx.commit()
    }
}

/// Checks an enrollment: its MAC, and that it is in the state its last event recorded
/// (a row restored from an older, once-valid copy is not).
fn check_enrollment(tx: &mut dyn Tx, keys: &Keys, e: &Enrollment) -> Result<()> {
    let t = &e.totp;
    let name = || format!("'{}' ({})", sanitize(&t.account), sanitize(&t.id));
    let digest = e.digest();
    if !integrity::matches(t.mac.as_deref(), &keys.totp_mac(&digest)) {
        return Err(integrity_error(format!(
            "the enrollment of {} does not carry this store's MAC: its row or backup codes were \
             changed without the key; nothing was accepted",
            name()
        )));
    }
    match events::last_event_of(tx, keys, &t.account, &t.id)? {
        Ok(Some(last)) if last.event == "removed" => Err(integrity_error(format!(
            "the enrollment of {} was removed (event #{}) but its row is back: it was restored \
             from an older copy",
            name(),
            last.seq
        ))),
        Ok(Some(last)) => match &last.state {
            Some(state) if state[..] != digest[..] => Err(integrity_error(format!(
                "the enrollment of {} is not in the state its last event (#{}) recorded: its rows \
                 were restored from an older copy; nothing was accepted",
                name(),
                last.seq
            ))),
            _ => Ok(()),
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
}

/// Checks a whole store with its key, reading only: the keyed chain and its head,
/// every enrollment against its MAC and its last event, the settings against theirs
/// and their last change, and that no enrollment the log knows vanished. With `head`
/// (a seq and chain hash kept elsewhere), also that the log still extends it. The
/// first problem is the error.
pub fn audit(store: &mut Store, interactive: bool, head: Option<(i64, &[u8])>) -> Result<Audit> {
    let path = store.path().to_path_buf();
    let path = path.as_path();
    let key_source = store.key_source().clone();
    let mut tx = store.read()?;
    let tx = &mut *tx;
    let vault = match Vault::unlock(tx, &key_source, interactive)? {
        Some(v) => Some(v),
        None if tx.has_content()? => {
            return Err(integrity_error(format!(
                "{} holds enrollments, events or settings but no key record: the record was \
                 deleted; restore the store from a backup",
                path.display()
            )));
        }
        None => None,
    };
    let keys = vault.as_ref().filter(|v| !v.is_legacy()).map(Vault::keys);
    let (events, last) = events::check_chain(tx, keys.as_ref())?.map_err(|p| Error::LogBroken {
        seq: p.seq,
        reason: p.reason,
    })?;
    if let Some((seq, hash)) = head {
        let ours = tx.hash_at(seq)?;
        if ours.as_deref() != Some(hash) {
            return Err(Error::LogBroken {
                seq,
                reason: format!(
                    "the log does not extend the head you kept ({seq}:{}): {}",
                    data_encoding::HEXLOWER.encode(hash),
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
        // One enrollment at a time, by id: an engine cannot run a second query while
        // it streams the first.
        for id in tx.all_totp_ids()? {
            let Some(totp) = tx.find(&id)? else { continue };
            let backup_hashes = tx.backup_code_hashes(&totp.id)?;
            check_enrollment(
                tx,
                keys,
                &Enrollment {
                    totp,
                    backup_hashes,
                    sealed: None,
                },
            )?;
            enrollments += 1;
        }
        if let Some((seq, id)) = tx.vanished_enrollments()?.first() {
            return Err(integrity_error(format!(
                "enrollment {} (last event #{seq}) is gone from the store, but the log never \
                 removed it: its rows were deleted without the key",
                sanitize(id)
            )));
        }
    }
    Ok(Audit {
        events,
        enrollments,
        head: last.map(|h| (h.seq, h.hash)),
        authenticated: keys.is_some(),
    })
}

/// Checks the settings against the state their last change recorded: settings put
/// back from an older copy (with the MAC they had then) are refused, not obeyed.
fn check_settings_against_log(tx: &mut dyn Tx, path: &Path, keys: &Keys) -> Result<()> {
    match events::last_config_change(tx, keys)? {
        Ok(Some(last)) => match &last.state {
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
fn load_settings(tx: &mut dyn Tx, path: &Path, keys: &Keys) -> Result<Settings> {
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
fn upgrade(tx: &mut dyn Tx, key_source: &KeySource, vault: &mut Vault, now: &str) -> Result<()> {
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
        tx.reseal(&id, &vault.seal(&e.totp, &secret)?)?;
        tx.set_totp_mac(&id, &keys.totp_mac(&e.digest()))?;
    }
    let pairs = tx.config_pairs()?;
    // Values were checked when set; a bad one means the file was edited.
    Settings::from_pairs(&pairs, &key_source.store)?;
    tx.set_meta(
        "config_mac",
        &keys.config_mac(&integrity::config_digest(&pairs)),
    )?;
    events::remac_all(tx, &keys)?;
    vault.upgrade_record(tx, key_source, now)
}
