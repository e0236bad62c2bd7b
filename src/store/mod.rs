//! The store: one interface ([`engine::Tx`]), two engines (SQLite in `sqlite*.rs`,
//! PostgreSQL in `postgres*.rs`, the only modules that hold SQL), and above them,
//! written once, the write session (session.rs) and the keyed audit chain
//! (events.rs). The engine is chosen once, from `--store`: a `postgres://` or
//! `postgresql://` URL is a PostgreSQL store, anything else an SQLite file. Commands
//! receive a [`Store`] and never see a connection; see engine.rs for why the
//! interface is the domain's operations.

mod audit;
mod confirm;
pub mod engine;
mod events;
pub mod files;
mod host_accounts;
pub mod position;
mod postgres;
mod postgres_schema;
mod postgres_tls;
pub mod postgres_url;
mod rollback;
pub mod session;
mod sqlite;
mod sqlite_schema;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use audit::{Audit, AuditOptions, audit};
pub use engine::{Engine, EventFilter, Record, Stats, StoredEvent, StoredState, Tx};
pub use events::{Actor, ChainProblem, Event, Head};
pub use files::{check_private_file, open_for_check};
pub use rollback::{Purpose, check_source, head_text};
pub use session::{Enrollment, Session};

use crate::error::Error;
use crate::otp::Params;
use crate::vault::KeySource;

/// How a command may reach its store, beyond where it is: the files it takes its
/// trust from and how long it may wait. Decided once, at the edge, from the command
/// line and the environment (none of which `verify --pam` reads).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The key file: `--key` or `TOTPCTL_KEY_FILE`; else beside an SQLite store.
    pub key_file: Option<PathBuf>,
    /// Where this host keeps what it has seen of each store: `--state-dir` or
    /// `TOTPCTL_STATE_DIR`; else beside the key file.
    pub state_dir: Option<PathBuf>,
    /// A PostgreSQL password file (`.pgpass` format), checked like the key file.
    pub password_file: Option<PathBuf>,
    /// The certificate authority a PostgreSQL server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// How long any one wait for a lock may last.
    pub wait: Option<std::time::Duration>,
    /// Whether a statement may run as long as it needs (bulk commands: import,
    /// copy, list, `log --check`); others are bounded by `wait` too.
    pub bulk: bool,
    /// Under `verify --pam`: nothing from the environment, no passphrase.
    pub pam: bool,
}

impl Access {
    /// The longest any one wait may last.
    pub fn wait(&self) -> std::time::Duration {
        self.wait.unwrap_or(DEFAULT_WAIT)
    }
}

/// How long a wait for a lock may last unless `--timeout` says otherwise.
pub const DEFAULT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
    pub fn parse(arg: &Path, access: &Access) -> Result<Location> {
        match arg.to_str() {
            Some(text) if postgres_url::is_url(text) => Ok(Location::Postgres(Box::new(
                postgres_url::PgUrl::parse(text, access)?,
            ))),
            _ => Ok(Location::Sqlite(arg.to_path_buf())),
        }
    }

    /// The store's place as this host's records name it: an SQLite file's real path
    /// (links resolved), or a server's host, port and database.
    pub fn place(&self) -> String {
        match self {
            Location::Sqlite(p) => files::resolve(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned(),
            Location::Postgres(u) => u.place(),
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

    /// Where the key file is: `--key` (or `TOTPCTL_KEY_FILE`), else beside an
    /// SQLite file; and where this host's records of the store are.
    pub fn key_source(&self, access: &Access) -> KeySource {
        let named = access
            .key_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        let (store, key_file) = match self {
            Location::Sqlite(p) => (
                p.clone(),
                Some(named.unwrap_or_else(|| crate::vault::key_file_beside(p))),
            ),
            // A server has no "beside the store": the key file is named, or absent.
            Location::Postgres(u) => (PathBuf::from(u.redacted()), named),
        };
        let state_dir = access
            .state_dir
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| position::default_dir(key_file.as_deref(), self));
        KeySource {
            store,
            key_file,
            state_dir,
            place: self.place(),
            pam: access.pam,
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
    pub fn open(at: &Location, access: &Access) -> Result<Store> {
        refuse_old_form(at, access)?;
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
            Location::Sqlite(p) => Box::new(sqlite::Sqlite::open(p, sqlite_wait(access))?),
            Location::Postgres(u) => Box::new(
                postgres::Postgres::open(u, true, access)?
                    .ok_or_else(|| store_err(format!("{} vanished", u.redacted())))?,
            ),
        };
        Ok(Store::with(engine, at, access))
    }

    /// Like [`Store::open`], but a missing store is `None` and nothing is created.
    pub fn open_existing(at: &Location, access: &Access) -> Result<Option<Store>> {
        refuse_old_form(at, access)?;
        let engine: Option<Box<dyn Engine>> = match at {
            Location::Sqlite(p) => sqlite::Sqlite::open_existing(p, sqlite_wait(access))?
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
            .ok_or_else(|| Error::NotFound(crate::output::sanitize(account_or_id)).into())
    }

    /// Whether `account` (by name) is enrolled.
    pub fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        self.read()?.is_enrolled(account)
    }

    /// An enrolled account other than `account` that looks like it (src/names.rs).
    pub fn account_like(&mut self, account: &str) -> Result<Option<String>> {
        self.read()?
            .account_like(&crate::names::skeleton(account), account)
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

/// Refuses, before SQLite opens it (and migrates its schema), an unauthenticated
/// version 1 SQLite store where this host saw an authenticated one: an old form of
/// the store put back to dodge its MACs. The version is read from the file's header.
fn refuse_old_form(at: &Location, access: &Access) -> Result<()> {
    let Location::Sqlite(path) = at else {
        return Ok(());
    };
    let mut header = [0u8; 100];
    // Without blocking on a FIFO, and only a regular file: the engine refuses the rest.
    let read = match files::open_for_check(path, false) {
        Ok(Some(mut f)) if f.metadata().is_ok_and(|m| m.is_file()) => {
            use std::io::Read;
            f.read_exact(&mut header).is_ok()
        }
        _ => false,
    };
    if !read || &header[..16] != b"SQLite format 3\0" {
        return Ok(());
    }
    let version = i32::from_be_bytes([header[60], header[61], header[62], header[63]]);
    if version >= 2 {
        return Ok(());
    }
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
        return Err(crate::error::integrity_error(format!(
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
