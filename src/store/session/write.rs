//! A session's writes: enrollments saved under their new MACs, backup codes, the
//! settings, events appended to the keyed chain, a rekey, and the commit that reads
//! every write back first.

use anyhow::Result;
use serde_json::Value;

use super::super::confirm;
use super::super::engine::{Insert, Position};
use super::super::events::{self, NewEvent};
use super::{Enrollment, Session, load_settings};
use crate::base::error::Error;
use crate::domain::integrity::{self, Tag};
use crate::vault::{AfterCommit, Protection};

impl<'s> Session<'s> {
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
        let skeleton = crate::domain::names::skeleton(&e.totp.account);
        let inserted = match self.tx().insert_totp(&e.totp, &sealed, &mac, &skeleton)? {
            Insert::Inserted => true,
            Insert::Taken => false,
            Insert::LooksLike(other) => {
                return Err(crate::domain::names::look_alike(&e.totp.account, &other));
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

    /// Whether this session appended any event (anything to commit).
    pub fn has_appended(&self) -> bool {
        !self.log.appended().2.is_empty()
    }

    /// Starts the next request of a session that serves several (`serve`'s batches):
    /// its events name `actor`, and carry no detail added for the one before.
    pub fn next_request(&mut self, actor: &crate::domain::actor::Actor) {
        self.log.set_actor(actor);
        self.extra_detail.clear();
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
        // The API tokens keep their hashes (under the backup-code key, which is kept)
        // and get MACs under the new key.
        super::super::tokens::load(tx, &self.keys, &self.path)?;
        for mut row in tx.tokens()? {
            row.mac = new_keys
                .token_mac(&super::super::tokens::row_digest(&row))
                .to_vec();
            tx.delete_token(&row.name)?;
            tx.insert_token(&row)?;
        }
        if let Some((_, set)) = super::super::tokens::recorded(tx, &self.keys, &self.path)? {
            self.written.get_mut().tokens(set);
        }
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
