//! The store as a command holds it: its engine, chosen from its location, opened
//! (or made) after the checks that come before any engine reads it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::access::Access;
use super::engine::{Engine, Head, Stats, Tx};
use super::location::Location;
use super::{position, postgres, rollback, sqlite};
use crate::base::error::{Error, store_err};
use crate::domain::model::Totp;
use crate::vault::KeySource;

/// An open store of either engine.
pub struct Store {
    engine: Box<dyn Engine>,
    label: PathBuf,
    keys: KeySource,
}

impl Store {
    /// Opens the store, creating it when none is there. An existing store is used
    /// only if it is a totpctl store this build can read; anything else is refused
    /// untouched.
    pub fn open(at: &Location, access: &Access) -> Result<Store> {
        if let Location::Sqlite(p) = at
            && !p.exists()
        {
            // A key file kept elsewhere (`--key`): its directory must be there, as the
            // store's is made with the store.
            let keys = at.key_source(access);
            if keys.key_file.as_deref().and_then(Path::parent) != p.parent() {
                crate::vault::check_new_key_file(&keys)?;
            }
        }
        let engine: Box<dyn Engine> = match at {
            Location::Sqlite(p) => Box::new(sqlite::Sqlite::open(p, sqlite_wait(access), &|| {
                refuse_old_form(at, access)
            })?),
            Location::Postgres(u) => Box::new(
                postgres::Postgres::open(u, true, access)?
                    .ok_or_else(|| store_err(format!("{} vanished", u.redacted())))?,
            ),
        };
        Ok(Store::with(engine, at, access))
    }

    /// Like [`Store::open`], but a missing store is `None` and nothing is created.
    pub fn open_existing(at: &Location, access: &Access) -> Result<Option<Store>> {
        let engine: Option<Box<dyn Engine>> = match at {
            Location::Sqlite(p) => sqlite::Sqlite::open_existing(p, sqlite_wait(access), &|| {
                refuse_old_form(at, access)
            })?
            .map(|s| Box::new(s) as Box<dyn Engine>),
            Location::Postgres(u) => {
                postgres::Postgres::open(u, false, access)?.map(|s| Box::new(s) as Box<dyn Engine>)
            }
        };
        Ok(engine.map(|e| Store::with(e, at, access)))
    }

    fn with(engine: Box<dyn Engine>, at: &Location, access: &Access) -> Store {
        Store {
            engine,
            label: at.label(),
            keys: at.key_source(access),
        }
    }

    /// The store as messages name it: its path, or its URL without the password.
    pub fn path(&self) -> &Path {
        &self.label
    }

    /// Whether the store opened is still the one at its location: a process that keeps
    /// it open opens it anew when not.
    pub fn is_current(&self) -> bool {
        self.engine.is_current()
    }

    /// Whether this command made the store: an SQLite file that was not there.
    pub fn is_new(&self) -> bool {
        self.engine.is_new()
    }

    /// Where the store's key comes from.
    pub fn key_source(&self) -> &KeySource {
        &self.keys
    }

    /// Takes the key from elsewhere (`copy`: DEST opens with the source's key).
    pub fn set_key_source(&mut self, keys: KeySource) {
        self.keys = keys;
    }

    /// The schema version of the store.
    pub fn schema_version(&mut self) -> Result<i64> {
        self.engine.schema_version()
    }

    /// Starts a write transaction.
    pub fn write(&mut self) -> Result<Box<dyn Tx + '_>> {
        self.engine.write()
    }

    /// Starts a read-only transaction on one snapshot.
    pub fn read(&mut self) -> Result<Box<dyn Tx + '_>> {
        self.engine.read()
    }

    /// Whether the store holds nothing yet.
    pub fn is_empty(&mut self) -> Result<bool> {
        self.engine.is_empty()
    }

    /// Finds an enrollment by account name or id (reading only).
    pub fn find(&mut self, account_or_id: &str) -> Result<Option<Totp>> {
        self.read()?.find(account_or_id)
    }

    /// Like [`Store::find`], but a missing account is `resource_not_found`.
    pub fn get(&mut self, account_or_id: &str) -> Result<Totp> {
        self.find(account_or_id)?
            .ok_or_else(|| Error::NotFound(crate::base::text::sanitize(account_or_id)).into())
    }

    /// Whether `account` (by name) is enrolled.
    pub fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        self.read()?.is_enrolled(account)
    }

    /// An enrolled account other than `account` that looks like it (src/names.rs).
    pub fn account_like(&mut self, account: &str) -> Result<Option<String>> {
        self.read()?
            .account_like(&crate::domain::names::skeleton(account), account)
    }

    /// The stored settings, unchecked (reading only).
    pub fn config_pairs(&mut self) -> Result<Vec<(String, String)>> {
        self.read()?.config_pairs()
    }

    /// The head of the audit log.
    pub fn head(&mut self) -> Result<Option<Head>> {
        self.read()?.head()
    }

    /// Counts for `info`, with `now` deciding what is locked.
    pub fn stats(&mut self, now: &str) -> Result<Stats> {
        self.read()?.stats(now)
    }
}

/// Whether `err` is a transient conflict (serialization failure, deadlock, lock not
/// available) after which the whole command may run again.
pub fn is_retryable(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<postgres::Retryable>().is_some())
}

/// Refuses, before SQLite migrates its schema, an unauthenticated version 1 SQLite
/// store where this host saw an authenticated one: an old form of the store put back
/// to dodge its MACs. The engine asks this of a store whose header says version 0 or
/// 1 (it reads the header through its own descriptor: see `sqlite::open`).
fn refuse_old_form(at: &Location, access: &Access) -> Result<()> {
    rollback::refuse_downgrade(&at.key_source(access))
}

/// Refuses a store that is not there where this host saw one holding events: it was
/// removed (a database's tables dropped or emptied, a file deleted), and reading that
/// as "no store" would read every account as not enrolled.
pub fn refuse_vanished(at: &Location, access: &Access) -> Result<()> {
    let keys = at.key_source(access);
    if let Some(b) = position::binding_at(keys.state_dir.as_deref(), &keys.place)?
        && b.had_events
    {
        return Err(crate::base::error::integrity_error(format!(
            "{} is gone, but this host saw store {} there holding events: it was removed or \
             emptied; restore it from a backup (if you removed it on purpose, this host \
             forgets it when you remove {})",
            at.label().display(),
            b.store_id,
            keys.state_dir
                .as_deref()
                .map_or_else(String::new, |d| d.display().to_string())
        )));
    }
    Ok(())
}

/// How long an SQLite command waits for another's write: `--timeout`, else long
/// enough for any write totpctl makes (a large import holds the lock for seconds).
fn sqlite_wait(access: &Access) -> std::time::Duration {
    access.wait.unwrap_or(sqlite::BUSY_TIMEOUT)
}
