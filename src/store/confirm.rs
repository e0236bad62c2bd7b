//! Every write is confirmed: before a write session commits, it reads back, in the
//! same transaction, what it wrote (each enrollment's row with its MAC and sealed
//! secret, its backup codes and their state, every event it appended, the log's
//! head, the settings, the key record) and refuses to commit unless the store holds
//! exactly that.
//!
//! The schema check (see `Engine`) already refuses a store with a trigger or a rule
//! that could change a write behind totpctl's back; this is the second line, which
//! holds whatever the next such mechanism is: a silently skipped update, a changed
//! value, a vanished event.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use sha2::{Digest, Sha256};

use super::engine::VaultRow;
use super::engine::{StoredState, Tx};
use super::events::{self, Appender};
use crate::base::error::integrity_error;
use crate::domain::integrity::{self, Keys, Tag};
use crate::domain::model::Totp;

/// What a write session wrote, to be read back before it commits.
#[derive(Default)]
pub struct Written {
    /// Each enrollment written: the fingerprint of what it must hold, or `None` when
    /// it was deleted.
    enrollments: HashMap<String, Option<Tag>>,
    /// Backup codes consumed: the enrollment and the code's hash.
    consumed: Vec<(String, Vec<u8>)>,
    /// The settings' digest, when they were changed.
    config: Option<Tag>,
    vault: Option<VaultRow>,
    meta: Vec<(String, Vec<u8>)>,
    /// The digest of the set of API tokens, when they were changed.
    tokens: Option<Tag>,
}

/// What an enrollment holds, as one digest: its state (every column but the sealed
/// secret, with its live backup codes), its MAC, its sealed secret and its skeleton.
fn fingerprint(
    totp: &Totp,
    live: &[Vec<u8>],
    sealed: Option<&[u8]>,
    skeleton: Option<&str>,
) -> Tag {
    let mut h = Sha256::new();
    h.update(b"totpctl written v1\0");
    h.update(integrity::totp_digest(
        totp,
        &integrity::backup_set_digest(live),
    ));
    for part in [totp.mac.as_deref(), sealed, skeleton.map(str::as_bytes)] {
        match part {
            Some(bytes) => {
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(bytes);
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    h.finalize().into()
}

impl Written {
    /// An enrollment written as `totp` (with its new MAC), these live backup codes and
    /// this sealed secret.
    pub fn enrollment(&mut self, totp: &Totp, live: &[Vec<u8>], sealed: Option<&[u8]>) {
        let skeleton = crate::domain::names::skeleton(&totp.account);
        self.enrollment_as(totp, live, sealed, &skeleton);
    }

    /// [`Written::enrollment`], with the account's skeleton computed already.
    pub fn enrollment_as(
        &mut self,
        totp: &Totp,
        live: &[Vec<u8>],
        sealed: Option<&[u8]>,
        skeleton: &str,
    ) {
        self.enrollments.insert(
            totp.id.clone(),
            Some(fingerprint(totp, live, sealed, Some(skeleton))),
        );
    }

    pub fn deleted(&mut self, id: &str) {
        self.enrollments.insert(id.to_string(), None);
    }

    pub fn consumed(&mut self, id: &str, hash: &[u8]) {
        self.consumed.push((id.to_string(), hash.to_vec()));
    }

    pub fn config(&mut self, digest: Tag) {
        self.config = Some(digest);
    }

    pub fn vault(&mut self, row: VaultRow) {
        self.vault = Some(row);
    }

    pub fn tokens(&mut self, set: Tag) {
        self.tokens = Some(set);
    }

    pub fn meta(&mut self, key: &str, value: &[u8]) {
        self.meta.push((key.to_string(), value.to_vec()));
    }
}

/// Reads back everything `written` and `log` say this session wrote, and refuses
/// (rolling nothing forward) unless the store holds exactly that. `now` is when the
/// consumed backup codes were marked used.
pub fn confirm(
    tx: &mut dyn Tx,
    keys: &Keys,
    written: &Written,
    log: &Appender,
    now: &str,
    path: &Path,
) -> Result<()> {
    let refuse = |what: String| {
        integrity_error(format!(
            "{}: the store did not keep what was just written ({what}): something in the \
             database changes writes behind totpctl's back; nothing was committed",
            path.display()
        ))
    };
    tx.settle()?;
    // A chunk of enrollments at a time, so that an import's read-back holds a chunk's
    // ids in memory, not a second copy of all of them.
    let all: Vec<&String> = written.enrollments.keys().collect();
    for chunk in all.chunks(CHUNK) {
        confirm_enrollments(tx, written, chunk, now, &refuse)?;
    }

    let (start, start_hash, hashes) = log.appended();
    let mut prev = start_hash.to_vec();
    let mut n = 0usize;
    let mut bad: Option<i64> = None;
    // One more than were appended: an event added behind them is seen.
    tx.for_each_stored_event(start, hashes.len() as i64 + 1, &mut |se| {
        let seq = se.event.seq;
        let expected = hashes.get(n);
        let ok = seq == start + 1 + n as i64
            && expected.is_some_and(|h| *h == se.hash)
            && events::event_hash(&prev, &se.event)[..] == se.hash[..]
            && integrity::matches(se.mac.as_deref(), &keys.event_mac(seq, &se.hash));
        if !ok && bad.is_none() {
            bad = Some(seq);
        }
        prev = se.hash;
        n += 1;
        Ok(())
    })?;
    if let Some(seq) = bad {
        return Err(refuse(format!("event #{seq}")));
    }
    if n != hashes.len() {
        return Err(refuse(format!(
            "{} events were appended, {n} are there",
            hashes.len()
        )));
    }
    if let Some(last) = hashes.last() {
        let seq = start + hashes.len() as i64;
        let head = tx.head()?;
        let ok = head.is_some_and(|h| {
            h.seq == seq
                && h.hash == *last
                && integrity::matches(h.mac.as_deref(), &keys.head_mac(seq, last, log.anchors()))
        });
        if !ok || tx.anchors()? != log.anchors() {
            return Err(refuse("the log's head".into()));
        }
    }
    if let Some(digest) = written.config {
        let pairs = tx.config_pairs()?;
        let stored = tx.meta("config_mac")?;
        if integrity::config_digest(&pairs) != digest
            || !integrity::matches(stored.as_deref(), &keys.config_mac(&digest))
        {
            return Err(refuse("the settings".into()));
        }
    }
    if let Some(row) = &written.vault {
        let stored = tx.vault_row()?;
        let same = stored.is_some_and(|s| {
            s.protection == row.protection
                && s.kdf == row.kdf
                && s.salt == row.salt
                && s.wrapped == row.wrapped
                && s.version == row.version
        });
        if !same {
            return Err(refuse("the key record".into()));
        }
    }
    if let Some(set) = written.tokens
        && super::tokens::set_digest(&tx.tokens()?, keys) != Ok(set)
    {
        return Err(refuse("the API tokens".into()));
    }
    for (key, value) in &written.meta {
        if tx.meta(key)?.as_deref() != Some(value.as_slice()) {
            return Err(refuse(format!("the store's {key}")));
        }
    }
    Ok(())
}

/// Enrollments read back a statement's worth at a time.
const CHUNK: usize = 1024;

/// Reads back the enrollments `ids` of `written`: each present exactly as written, or
/// gone if deleted; backup codes consumed marked used at `now`.
fn confirm_enrollments(
    tx: &mut dyn Tx,
    written: &Written,
    ids: &[&String],
    now: &str,
    refuse: &dyn Fn(String) -> anyhow::Error,
) -> Result<()> {
    let ids: Vec<String> = ids.iter().map(|id| (*id).clone()).collect();
    let mut present: HashSet<String> = HashSet::new();
    let mut problem: Option<String> = None;
    tx.stored_states(&ids, &mut |st: StoredState| {
        let id = st.totp.id.clone();
        let live: Vec<Vec<u8>> = st
            .codes
            .iter()
            .filter(|c| c.1.is_none())
            .map(|c| c.0.clone())
            .collect();
        let found = fingerprint(
            &st.totp,
            &live,
            st.sealed.as_deref(),
            st.skeleton.as_deref(),
        );
        let ok = match written.enrollments.get(&id) {
            Some(Some(expected)) => *expected == found,
            _ => false,
        };
        let used = written
            .consumed
            .iter()
            .filter(|(c, _)| *c == id)
            .all(|(_, hash)| {
                st.codes
                    .iter()
                    .any(|(h, at)| h == hash && at.as_deref() == Some(now))
            });
        if (!ok || !used) && problem.is_none() {
            problem = Some(format!(
                "the enrollment of '{}'",
                crate::base::text::sanitize(&st.totp.account)
            ));
        }
        present.insert(id);
        Ok(())
    })?;
    if let Some(what) = problem {
        return Err(refuse(what));
    }
    for id in &ids {
        let expected = written.enrollments.get(id).is_some_and(Option::is_some);
        if expected != present.contains(id) {
            return Err(refuse(format!(
                "enrollment {} {}",
                crate::base::text::sanitize(id),
                if expected {
                    "is gone"
                } else {
                    "is still there"
                }
            )));
        }
    }
    Ok(())
}
