//! The store: one interface ([`engine::Tx`]), two engines (SQLite in `sqlite*.rs`,
//! PostgreSQL in `postgres*.rs`, the only modules that hold SQL), and above them,
//! written once, the write session (session.rs) and the keyed audit chain
//! (events.rs). The engine is chosen once, from `--store`: a `postgres://` or
//! `postgresql://` URL is a PostgreSQL store, anything else an SQLite file. Commands
//! receive a [`Store`] and never see a connection; see engine.rs for why the
//! interface is the domain's operations.

pub mod engine;
mod events;
mod files;
mod postgres;
mod postgres_tls;
pub mod postgres_url;
pub mod session;
mod sqlite;
mod sqlite_schema;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use engine::{Engine, EventFilter, Record, Stats, StoredEvent, Tx};
pub use events::{Actor, ChainProblem, Event, Head};
pub use files::{check_private_file, open_for_check};
pub use session::{Audit, Enrollment, Session, audit};

use crate::error::Error;
use crate::otp::Params;
use crate::vault::KeySource;

/// Where a store is, as given by `--store` or `TOTPCTL_STORE`.
#[derive(Debug, Clone)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<postgres_url::PgUrl>),
}

impl Location {
    /// Reads `--store`: a URL of a server, else a path.
    pub fn parse(arg: &Path) -> Result<Location> {
        match arg.to_str() {
            Some(text) if postgres_url::is_url(text) => Ok(Location::Postgres(Box::new(
                postgres_url::PgUrl::parse(text)?,
            ))),
            _ => Ok(Location::Sqlite(arg.to_path_buf())),
        }
    }

    /// Whether the store is on a server.
    pub fn is_server(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// The store as messages name it.
    pub fn label(&self) -> PathBuf {
        match self {
            Location::Sqlite(p) => p.clone(),
            Location::Postgres(u) => PathBuf::from(u.redacted()),
        }
    }

    /// Where the key file is: `TOTPCTL_KEY_FILE`, else beside an SQLite file.
    pub fn key_source(&self) -> KeySource {
        let env = std::env::var_os(crate::vault::KEY_FILE_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        match self {
            Location::Sqlite(p) => KeySource {
                store: p.clone(),
                key_file: Some(env.unwrap_or_else(|| crate::vault::key_file_beside(p))),
            },
            // A server has no "beside the store": the key file is named, or absent.
            Location::Postgres(u) => KeySource {
                store: PathBuf::from(u.redacted()),
                key_file: env,
            },
        }
    }
}

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
    pub fn open(at: &Location) -> Result<Store> {
        let engine: Box<dyn Engine> = match at {
            Location::Sqlite(p) => Box::new(sqlite::Sqlite::open(p)?),
            Location::Postgres(u) => Box::new(
                postgres::Postgres::open(u, true)?
                    .ok_or_else(|| store_err(format!("{} vanished", u.redacted())))?,
            ),
        };
        Ok(Store::with(engine, at))
    }

    /// Like [`Store::open`], but a missing store is `None` and nothing is created.
    pub fn open_existing(at: &Location) -> Result<Option<Store>> {
        let engine: Option<Box<dyn Engine>> = match at {
            Location::Sqlite(p) => {
                sqlite::Sqlite::open_existing(p)?.map(|s| Box::new(s) as Box<dyn Engine>)
            }
            Location::Postgres(u) => {
                postgres::Postgres::open(u, false)?.map(|s| Box::new(s) as Box<dyn Engine>)
            }
        };
        Ok(engine.map(|e| Store::with(e, at)))
    }

    fn with(engine: Box<dyn Engine>, at: &Location) -> Store {
        Store {
            engine,
            label: at.label(),
            keys: at.key_source(),
        }
    }

    /// The store as messages name it: its path, or its URL without the password.
    pub fn path(&self) -> &Path {
        &self.label
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
            .ok_or_else(|| Error::NotFound(crate::output::sanitize(account_or_id)).into())
    }

    /// Whether `account` (by name) is enrolled.
    pub fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        self.read()?.is_enrolled(account)
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

/// An enrollment as stored, without its sealed secret.
#[derive(Debug, Clone)]
pub struct Totp {
    pub id: String,
    pub account: String,
    pub issuer: String,
    pub params: Params,
    pub verified: bool,
    pub last_step: Option<i64>,
    pub last_used_at: Option<String>,
    pub failed_attempts: u32,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub backup_codes_remaining: u32,
    /// The MAC over the row's state and live backup codes (src/integrity.rs); `None`
    /// on a store no keyed command has upgraded yet.
    pub mac: Option<Vec<u8>>,
}

/// An enrollment borrowed from the row the engine is on: nothing is copied, for
/// streaming many rows straight to the output.
#[derive(Debug, Clone, Copy)]
pub struct TotpRef<'r> {
    pub id: &'r str,
    pub account: &'r str,
    pub issuer: &'r str,
    pub params: Params,
    pub verified: bool,
    pub last_used_at: Option<&'r str>,
    pub failed_attempts: u32,
    pub locked_until: Option<&'r str>,
    pub created_at: &'r str,
    pub updated_at: &'r str,
    pub backup_codes_remaining: u32,
}

/// Which enrollments `list` shows.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub verified: Option<bool>,
    /// Only this issuer, ignoring the case of ASCII letters.
    pub issuer: Option<String>,
    /// Only those locked at this time.
    pub locked_at: Option<String>,
    /// Only those without a live backup code.
    pub no_backup_codes: bool,
    /// Only those never used, or last used before this RFC 3339 time.
    pub unused_since: Option<String>,
}

/// The row that says how the store's data keys are protected.
#[derive(Debug, Clone)]
pub struct VaultRow {
    pub protection: String,
    pub kdf: Option<String>,
    pub salt: Option<Vec<u8>>,
    pub wrapped: Vec<u8>,
    /// 1: wrapped before the store was authenticated; 2: bound to the authenticated
    /// schema (see `vault::wrap_aad`).
    pub version: i64,
}

/// An error for a store whose content this build cannot make sense of.
pub fn corrupt(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(Error::Store(format!(
        "{} is damaged: {what}",
        path.display()
    )))
}

/// Whether `err` is a transient conflict (serialization failure, deadlock, lock not
/// available) after which the whole command may run again.
pub fn is_retryable(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<postgres::Retryable>().is_some())
}

fn store_err(msg: String) -> anyhow::Error {
    Error::Store(msg).into()
}
