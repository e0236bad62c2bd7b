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

use std::path::{Path, PathBuf};

use anyhow::Result;
use rusqlite::Transaction;
use serde_json::Value;
use zeroize::Zeroizing;

use super::events::{self, Actor, Appender, NewEvent};
use super::{SqlContext, Store, Totp, queries};
use crate::config::Settings;
use crate::error::{Error, integrity_error};
use crate::integrity::{self, Keys, Tag};
use crate::output::sanitize;
use crate::vault::{AfterCommit, Protection, Vault};

/// An enrollment as a session holds it: its row and its live backup-code hashes,
/// checked against their MAC when loaded.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub totp: Totp,
    pub backup_hashes: Vec<Vec<u8>>,
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
    tx: Transaction<'s>,
    path: PathBuf,
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
        let path = store.path().to_path_buf();
        let tx = store.write()?;
        let mut created_keys = false;
        let mut vault = match Vault::unlock(&tx, &path, how.interactive)? {
            Some(v) => v,
            None => {
                if queries::has_content(&tx).sql(&path)? {
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
                let v = Vault::init(&tx, &path, how.now)?;
                let keys = v.keys();
                let digest = integrity::config_digest(&[]);
                queries::set_meta(&tx, "config_mac", &keys.config_mac(&digest)).sql(&path)?;
                v
            }
        };
        let upgraded = if vault.is_legacy() {
            if queries::has_integrity_data(&tx).sql(&path)? {
                return Err(integrity_error(format!(
                    "{} has an old-style key record but authenticated data: the record was \
                     replaced with an older one; restore the store from a backup",
                    path.display()
                )));
            }
            upgrade(&tx, &path, &mut vault, how.now)?;
            true
        } else {
            false
        };
        let keys = vault.keys();
        let settings = load_settings(&tx, &path, &keys)?;
        check_settings_against_log(&tx, &path, &keys)?;
        let log = Appender::new(&tx, &keys, &Actor::current(), how.now)
            .sql(&path)?
            .map_err(|problem| {
                integrity_error(format!(
                    "{}: {problem}; run `totpctl log --check`",
                    path.display()
                ))
            })?;
        let mut session = Session {
            tx,
            path,
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

    /// Finds an enrollment by account name or id, and checks it: its MAC, and that it
    /// is in the state its last event recorded (a row restored from an older copy is
    /// not).
    pub fn find(&self, account_or_id: &str) -> Result<Option<Enrollment>> {
        let Some(totp) = super::find(&self.tx, account_or_id).sql(&self.path)? else {
            return Ok(None);
        };
        let backup_hashes = queries::backup_code_hashes(&self.tx, &totp.id).sql(&self.path)?;
        let e = Enrollment {
            totp,
            backup_hashes,
        };
        self.check(&e)?;
        Ok(Some(e))
    }

    /// Whether `account` (by name) is enrolled; decides nothing but a message.
    pub fn is_enrolled(&self, account: &str) -> Result<bool> {
        super::is_enrolled(&self.tx, account).sql(&self.path)
    }

    /// Like [`Session::find`], but a missing account is `resource_not_found`.
    pub fn get(&self, account_or_id: &str) -> Result<Enrollment> {
        self.find(account_or_id)?
            .ok_or_else(|| Error::NotFound(sanitize(account_or_id)).into())
    }

    fn check(&self, e: &Enrollment) -> Result<()> {
        check_enrollment(&self.tx, &self.path, &self.keys, e)
    }

    /// Opens an enrollment's secret.
    pub fn secret(&self, e: &Enrollment) -> Result<Zeroizing<Vec<u8>>> {
        let sealed = queries::sealed_secret(&self.tx, &e.totp.id).sql(&self.path)?;
        self.vault.open(&e.totp, &sealed)
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
        let saved =
            queries::save_state(&self.tx, &e.totp, old_mac.as_deref(), &mac).sql(&self.path)?;
        e.totp.mac = Some(mac.to_vec());
        Ok(saved)
    }

    /// Consumes one backup code of `e` (the caller saves `e` after): returns whether
    /// it was live.
    pub fn consume_backup_code(&mut self, e: &mut Enrollment, hash: &[u8]) -> Result<bool> {
        let Some(i) = e.backup_hashes.iter().position(|h| h[..] == hash[..]) else {
            return Ok(false);
        };
        if !queries::use_backup_code(&self.tx, &e.totp.id, hash, &self.now).sql(&self.path)? {
            return Ok(false);
        }
        e.backup_hashes.swap_remove(i);
        e.totp.backup_codes_remaining = e.backup_hashes.len() as u32;
        Ok(true)
    }

    /// Whether `hash` is a backup code of `e`'s current set that was used already.
    pub fn backup_code_was_used(&self, e: &Enrollment, hash: &[u8]) -> Result<bool> {
        Ok(queries::backup_code_used_at(&self.tx, &e.totp.id, hash)
            .sql(&self.path)?
            .is_some())
    }

    /// Replaces the backup codes of `e` (the caller saves `e` after).
    pub fn replace_backup_codes(&mut self, e: &mut Enrollment, hashes: Vec<Vec<u8>>) -> Result<()> {
        queries::replace_backup_codes(&self.tx, &e.totp.id, &hashes).sql(&self.path)?;
        e.backup_hashes = hashes;
        e.totp.backup_codes_remaining = e.backup_hashes.len() as u32;
        Ok(())
    }

    /// Inserts a new enrollment with its secret sealed to it; returns false, writing
    /// nothing, if its account is enrolled already.
    pub fn insert(&mut self, e: &mut Enrollment, secret: &[u8]) -> Result<bool> {
        let sealed = self.vault.seal(&e.totp, secret)?;
        let mac = self.keys.totp_mac(&e.digest());
        let inserted = queries::Inserter::new(&self.tx)
            .and_then(|mut ins| ins.insert(&e.totp, &sealed, &mac))
            .sql(&self.path)?;
        if inserted && !e.backup_hashes.is_empty() {
            queries::replace_backup_codes(&self.tx, &e.totp.id, &e.backup_hashes)
                .sql(&self.path)?;
        }
        e.totp.mac = Some(mac.to_vec());
        Ok(inserted)
    }

    /// Deletes an enrollment and its backup codes.
    pub fn delete(&mut self, e: &Enrollment) -> Result<()> {
        queries::delete_totp(&self.tx, &e.totp.id).sql(&self.path)
    }

    /// Changes a setting (checked by the caller) and authenticates the new set.
    pub fn set_config(&mut self, key: &str, value: &str) -> Result<Tag> {
        queries::set_config(&self.tx, key, value).sql(&self.path)?;
        let digest = integrity::config_digest(&queries::config_pairs(&self.tx).sql(&self.path)?);
        queries::set_meta(&self.tx, "config_mac", &self.keys.config_mac(&digest))
            .sql(&self.path)?;
        self.settings = load_settings(&self.tx, &self.path, &self.keys)?;
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
        self.log
            .append(
                &self.tx,
                &self.keys,
                &NewEvent {
                    event: name,
                    account,
                    totp_id,
                    detail,
                    state,
                },
            )
            .sql(&self.path)
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
        if let Err(problem) = events::check_chain(&self.tx, Some(&self.keys)).sql(&self.path)? {
            return Err(Error::LogBroken {
                seq: problem.seq,
                reason: problem.reason,
            }
            .into());
        }
        let new = self.vault.rotated(protection, passphrase)?;
        let new_keys = new.keys();
        let ids = queries::all_totp_ids(&self.tx).sql(&self.path)?;
        for id in &ids {
            let e = self.get(id)?;
            let secret = self.secret(&e)?;
            queries::reseal(&self.tx, id, &new.seal(&e.totp, &secret)?).sql(&self.path)?;
            queries::set_totp_mac(&self.tx, id, &new_keys.totp_mac(&e.digest())).sql(&self.path)?;
        }
        let digest = integrity::config_digest(&queries::config_pairs(&self.tx).sql(&self.path)?);
        queries::set_meta(&self.tx, "config_mac", &new_keys.config_mac(&digest)).sql(&self.path)?;
        self.log.finish(&self.tx, &self.keys).sql(&self.path)?;
        events::remac_all(&self.tx, &new_keys).sql(&self.path)?;
        let after = new.write_record_for_rekey(&self.tx, &self.path, &self.now)?;
        self.vault = new;
        self.keys = new_keys;
        Ok((ids.len(), after))
    }

    /// Writes the log's head and commits.
    pub fn commit(mut self) -> Result<()> {
        self.log.finish(&self.tx, &self.keys).sql(&self.path)?;
        self.tx.commit().sql(&self.path)
    }
}

/// Checks an enrollment: its MAC, and that it is in the state its last event recorded
/// (a row restored from an older, once-valid copy is not).
fn check_enrollment(
    conn: &rusqlite::Connection,
    path: &Path,
    keys: &Keys,
    e: &Enrollment,
) -> Result<()> {
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
    match events::last_event_of(conn, keys, &t.id).sql(path)? {
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
pub fn audit(store: &Store, interactive: bool, head: Option<(i64, &[u8])>) -> Result<Audit> {
    let path = store.path();
    let tx = store.conn().unchecked_transaction().sql(path)?;
    let vault = match Vault::unlock(&tx, path, interactive)? {
        Some(v) => Some(v),
        None if queries::has_content(&tx).sql(path)? => {
            return Err(integrity_error(format!(
                "{} holds enrollments, events or settings but no key record: the record was \
                 deleted; restore the store from a backup",
                path.display()
            )));
        }
        None => None,
    };
    let keys = vault.as_ref().filter(|v| !v.is_legacy()).map(Vault::keys);
    let (events, last) = events::check_chain(&tx, keys.as_ref())
        .sql(path)?
        .map_err(|p| Error::LogBroken {
            seq: p.seq,
            reason: p.reason,
        })?;
    if let Some((seq, hash)) = head {
        let ours = events::hash_at(&tx, seq).sql(path)?;
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
        load_settings(&tx, path, keys)?;
        check_settings_against_log(&tx, path, keys)?;
        super::for_each_totp(&tx, &super::ListFilter::default(), |totp| {
            let backup_hashes = queries::backup_code_hashes(&tx, &totp.id).sql(path)?;
            check_enrollment(
                &tx,
                path,
                keys,
                &Enrollment {
                    totp,
                    backup_hashes,
                },
            )?;
            enrollments += 1;
            Ok(())
        })?;
        if let Some((seq, id)) = events::vanished_enrollments(&tx).sql(path)?.first() {
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

/// Loads the settings and checks them against their MAC: a setting edited, added or
/// deleted without the key is refused, never obeyed (a deleted one does not fall back
/// to its default).
fn load_settings(tx: &rusqlite::Connection, path: &Path, keys: &Keys) -> Result<Settings> {
    let pairs = queries::config_pairs(tx).sql(path)?;
    let digest = integrity::config_digest(&pairs);
    let stored = queries::meta(tx, "config_mac").sql(path)?;
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

/// Checks the settings against the state their last change recorded: settings put
/// back from an older copy (with the MAC they had then) are refused, not obeyed.
fn check_settings_against_log(tx: &rusqlite::Connection, path: &Path, keys: &Keys) -> Result<()> {
    match events::last_config_change(tx, keys).sql(path)? {
        Ok(Some(last)) => match &last.state {
            Some(state)
                if state[..]
                    != integrity::config_digest(&queries::config_pairs(tx).sql(path)?)[..] =>
            {
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

/// Authenticates a version 1 store: checks its (unkeyed) log, seals every secret
/// again bound to its account and parameters, gives every enrollment, the settings
/// and every event their MACs, and wraps the keys in the authenticated form.
fn upgrade(tx: &rusqlite::Connection, path: &Path, vault: &mut Vault, now: &str) -> Result<()> {
    if let Err(problem) = events::check_chain(tx, None).sql(path)? {
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
    for id in queries::all_totp_ids(tx).sql(path)? {
        let totp = super::find(tx, &id)
            .sql(path)?
            .ok_or_else(|| integrity_error(format!("enrollment {id} vanished")))?;
        let backup_hashes = queries::backup_code_hashes(tx, &id).sql(path)?;
        let e = Enrollment {
            totp,
            backup_hashes,
        };
        let sealed = queries::sealed_secret(tx, &id).sql(path)?;
        let secret = vault.open_legacy(&e.totp, &sealed)?;
        queries::reseal(tx, &id, &vault.seal(&e.totp, &secret)?).sql(path)?;
        queries::set_totp_mac(tx, &id, &keys.totp_mac(&e.digest())).sql(path)?;
    }
    let pairs = queries::config_pairs(tx).sql(path)?;
    // Values were checked when set; a bad one means the file was edited.
    Settings::from_pairs(&pairs, path)?;
    queries::set_meta(
        tx,
        "config_mac",
        &keys.config_mac(&integrity::config_digest(&pairs)),
    )
    .sql(path)?;
    events::remac_all(tx, &keys).sql(path)?;
    vault.upgrade_record(tx, path, now)
}
