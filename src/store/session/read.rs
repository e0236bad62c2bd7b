//! A session's reads of enrollments: found by account or id, checked against their
//! MACs and their history before anything is decided on them.

use anyhow::Result;
use zeroize::Zeroizing;

use super::super::engine::{Position, Tx};
use super::super::events::{self};
use super::{Enrollment, Session};
use crate::base::error::{Error, integrity_error};
use crate::base::text::sanitize;
use crate::domain::integrity::{self, Keys};

impl<'s> Session<'s> {
    /// The newest event about the name `account` alone, with no enrollment (the
    /// attempts on a name that is not enrolled), checked: its hash and MAC.
    pub fn last_unenrolled_event(&self, account: &str) -> Result<Option<crate::store::Event>> {
        let mut tx = self.tx();
        match events::last_event_of_account(&mut **tx, &self.keys, account, false)? {
            Ok(last) => Ok(last.map(|(e, _)| e)),
            Err(seq) => Err(integrity_error(format!(
                "event #{seq}, the newest about '{}', does not check out: run `totpctl log \
                 --check`",
                sanitize(account)
            ))),
        }
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
            .account_like(&crate::domain::names::skeleton(account), account)
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

    /// Whether `hash` is a backup code of `e`'s current set that was used already.
    pub fn backup_code_was_used(&self, e: &Enrollment, hash: &[u8]) -> Result<bool> {
        Ok(self.tx().backup_code_used_at(&e.totp.id, hash)?.is_some())
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
pub(crate) fn check_mac(keys: &Keys, e: &Enrollment) -> Result<()> {
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
pub(crate) fn check_history(tx: &mut dyn Tx, keys: &Keys, e: &Enrollment) -> Result<Position> {
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
