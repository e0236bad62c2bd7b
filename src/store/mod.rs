//! The SQLite store: opening and creating it, its migrations, and every query. This is
//! the only module that holds SQL.
//!
//! Concurrency: the store runs in WAL mode, so readers never wait for the writer, and
//! every command that writes takes the write lock up front (`BEGIN IMMEDIATE`) and
//! waits for it with a long busy timeout. A transaction that read and then wants to
//! write can therefore never be refused with "database is locked", and a
//! check-then-record (replay protection, lockout counting) is atomic.

mod events;
mod files;
mod queries;
mod schema;
pub mod session;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};

pub use events::{Actor, ChainProblem, Event, EventFilter, Head, for_each_event, head};
pub use files::{check_private_file, open_for_check};
pub use queries::*;
pub use session::{Audit, Enrollment, Session, audit};

use crate::error::Error;
use crate::otp::{Algorithm, Params};

/// How long a command waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory, 0700) when no file is
    /// there. An existing file is used only if it is a totpctl store this build can
    /// read; anything else is refused without writing a byte to it.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, true)?
            .ok_or_else(|| store_err(format!("{} vanished as it was created", path.display())))
    }

    /// Like [`Store::open`], but a missing store is `None` and nothing is created: for
    /// commands that only read, or that need an enrollment to exist.
    pub fn open_existing(path: &Path) -> Result<Option<Store>> {
        Store::open_with(path, false)
    }

    fn open_with(path: &Path, create_missing: bool) -> Result<Option<Store>> {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(store_err(format!(
                    "{} is a directory, not a store file: pass the path of a file, e.g. {}",
                    path.display(),
                    path.join("totpctl.db").display()
                )));
            }
            Ok(_) => {}
            // Nothing there, or a file where a directory of the path should be.
            Err(e)
                if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
                    && !create_missing =>
            {
                return Ok(None);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => create(path)?,
            // A file where the path needs a directory: creating it fails, and says so.
            Err(e) if e.kind() == ErrorKind::NotADirectory && create_missing => create(path)?,
            Err(e) => {
                return Err(store_err(format!(
                    "cannot read {}: {e}; check the permissions of its directories, or pass \
                     --store PATH",
                    path.display()
                )));
            }
        }
        check_file(path)?;
        check_length(path)?;
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.check_and_migrate()?;
        Ok(Some(store))
    }

    /// The path the store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for read-only queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The schema version of the store.
    pub fn schema_version(&self) -> Result<i32> {
        Ok(self.identity()?.1)
    }

    /// Starts a write transaction, holding the write lock from its first statement.
    pub fn write(&mut self) -> Result<Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sqlite_err(&path, e))
    }

    /// Maps an SQLite error on this store to a clear `store_error`.
    pub fn err(&self, e: rusqlite::Error) -> anyhow::Error {
        sqlite_err(&self.path, e)
    }

    fn check_and_migrate(&self) -> Result<()> {
        let (app_id, version) = self.identity()?;
        if app_id != schema::APPLICATION_ID {
            return Err(store_err(format!(
                "{} is not a totpctl store (it belongs to another application or is empty); \
                 point --store at a totpctl store or at a path where none exists yet",
                self.path.display()
            )));
        }
        if version > schema::VERSION {
            return Err(store_err(format!(
                "{} was written by a newer totpctl (schema version {version}; this one knows \
                 up to {}): upgrade totpctl to use it",
                self.path.display(),
                schema::VERSION
            )));
        }
        if version < schema::AUTHENTICATED
            && schema::has_authenticated_tables(&self.conn).map_err(|e| self.err(e))?
        {
            return Err(crate::error::integrity_error(format!(
                "{} says it is schema version {version}, but it holds the authenticated \
                 tables of version {}: its version was edited to take it back; restore it \
                 from a backup",
                self.path.display(),
                schema::AUTHENTICATED
            )));
        }
        if version < schema::VERSION {
            self.migrate()?;
        }
        Ok(())
    }

    /// Applies the pending migrations in one transaction that holds the write lock,
    /// re-reading the version under the lock so that racing processes migrate once.
    fn migrate(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        let result = self
            .identity()
            .and_then(|(_, version)| schema::migrate(&self.conn, version).map_err(|e| self.err(e)));
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.conn.execute_batch(end).map_err(|e| self.err(e));
        result.and(ended)
    }

    fn identity(&self) -> Result<(i32, i32)> {
        self.conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id), \
                        (SELECT user_version FROM pragma_user_version)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }
}

/// Refuses a store that someone else could have planted or written: see
/// [`files`]. The file is opened without blocking, so a FIFO at the path is refused at
/// once instead of hanging.
fn check_file(path: &Path) -> Result<()> {
    let file = files::open_for_check(path, false)
        .map_err(|e| store_err(format!("cannot open {}: {e}", path.display())))?
        .ok_or_else(|| store_err(format!("{} vanished as it was opened", path.display())))?;
    files::check_private_file(&file, path, "store", false).map_err(store_err)?;
    // SQLite's own files beside it hold committed pages too: the same rules.
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        match files::open_for_check(&side, true) {
            Ok(Some(f)) => {
                files::check_private_file(&f, &side, "store's journal", false).map_err(store_err)?
            }
            Ok(None) => {}
            Err(e) => {
                return Err(store_err(format!(
                    "cannot open {} (the store's journal; a symbolic link is refused): {e}",
                    side.display()
                )));
            }
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    files::check_store_dir(dir).map_err(store_err)
}

/// Refuses an SQLite file cut short in the middle of a page. SQLite itself refuses a
/// file that lacks whole pages its header counts, but reads a partial last page as if
/// the rest were zeros, and would go on to use (and write to) the damaged store.
fn check_length(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let len = match fs::File::open(path).and_then(|mut f| {
        let len = f.metadata()?.len();
        f.read_exact(&mut header).map(|()| len)
    }) {
        Ok(len) => len,
        // Shorter than a header, or unreadable: SQLite says which.
        Err(_) => return Ok(()),
    };
    if &header[..16] != b"SQLite format 3\0" {
        return Ok(());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    if page_size >= 512 && len % page_size != 0 {
        return Err(store_err(format!(
            "{} is damaged: it ends in the middle of a page (the file was cut short); \
             restore it from a backup",
            path.display()
        )));
    }
    Ok(())
}

/// Opens a connection with the settings every command relies on.
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| sqlite_err(path, e))?;
    // SQLite quietly falls back to read-only when it cannot write the file; say so now
    // rather than fail on the first statement with a vaguer message about the WAL.
    if flags.contains(OpenFlags::SQLITE_OPEN_READ_WRITE)
        && conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| sqlite_err(path, e))?
    {
        return Err(store_err(read_only(path)));
    }
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sqlite_err(path, e))?;
    // FULL: a commit reaches the disk before the command reports success, so an
    // accepted code's step survives a power loss and cannot be replayed after it.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| sqlite_err(path, e))?;
    Ok(conn)
}

/// Creates a new store at `path` atomically: it is built under a temporary name in the
/// same directory and linked into place, so no process ever sees a half-made store,
/// and when several race to create it, one wins and the others use its store.
fn create(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                store_err(format!(
                    "cannot create the store's directory {}: {e}; create it yourself, or pass \
                     --store PATH in a directory you can write",
                    dir.display()
                ))
            })?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "totpctl.db".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()));
    let result = build_new_store(&tmp).and_then(|()| match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(store_err(format!("cannot create {}: {e}", path.display()))),
    });
    let _ = fs::remove_file(&tmp);
    result
}

fn build_new_store(tmp: &Path) -> Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(|e| store_err(format!("cannot create {}: {e}", tmp.display())))?;
    let conn = Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| sqlite_err(tmp, e))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .map_err(|e| sqlite_err(tmp, e))?;
    let tx = conn
        .unchecked_transaction()
        .map_err(|e| sqlite_err(tmp, e))?;
    tx.pragma_update(None, "application_id", schema::APPLICATION_ID)
        .map_err(|e| sqlite_err(tmp, e))?;
    schema::migrate(&tx, 0).map_err(|e| sqlite_err(tmp, e))?;
    tx.commit().map_err(|e| sqlite_err(tmp, e))?;
    conn.close().map_err(|(_, e)| sqlite_err(tmp, e))?;
    Ok(())
}

fn store_err(msg: String) -> anyhow::Error {
    Error::Store(msg).into()
}

fn read_only(path: &Path) -> String {
    format!(
        "{} is read-only: totpctl needs to write to the store and its directory (check their \
         permissions, and that the file system is not mounted read-only)",
        path.display()
    )
}

/// Turns an SQLite error into one line that says what is wrong with which file.
pub fn sqlite_err(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode as C;
    let p = path.display();
    let msg = match e.sqlite_error_code() {
        Some(C::NotADatabase) => format!(
            "{p} is not a totpctl store (not an SQLite database, or damaged beyond reading): \
             point --store at a totpctl store, or restore this one from a backup"
        ),
        Some(C::DatabaseCorrupt) => {
            format!("{p} is damaged (SQLite reports corruption); restore it from a backup")
        }
        Some(C::ReadOnly) => read_only(path),
        Some(C::CannotOpen) => {
            format!("cannot open {p}: check that its directory exists and is writable")
        }
        Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => format!(
            "{p} stayed busy for {}s: another process holds a long write; try again",
            BUSY_TIMEOUT.as_secs()
        ),
        Some(C::DiskFull) => format!("the disk holding {p} is full"),
        None if matches!(
            e,
            rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::Utf8Error(..)
        ) =>
        {
            format!(
                "{p} is damaged or was edited: a stored value is not one totpctl writes ({e}); \
                 restore it from a backup"
            )
        }
        _ => format!("store {p}: {e}"),
    };
    store_err(msg)
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

const TOTP_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, \
     (SELECT count(*) FROM backup_codes b WHERE b.totp_id = t.id AND b.used_at IS NULL), t.mac";

fn algorithm_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Algorithm> {
    let text = match r.get_ref(i)?.as_str() {
        Ok(t) => t,
        Err(_) => return Err(not_text(r.get::<_, String>(i).err(), i)),
    };
    Algorithm::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown algorithm {text:?}").into(),
        )
    })
}

fn not_text(e: Option<rusqlite::Error>, i: usize) -> rusqlite::Error {
    e.unwrap_or(rusqlite::Error::InvalidColumnType(
        i,
        String::new(),
        rusqlite::types::Type::Null,
    ))
}

/// The parameters at columns 3 to 5, checked as strictly as on input: a period of 0
/// or 1 digit in the file is damage (or an attack), never something to compute with.
fn params_at(r: &Row<'_>) -> rusqlite::Result<Params> {
    let algorithm = algorithm_at(r, 3)?;
    Params::new(algorithm, r.get(4)?, r.get(5)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Integer, e.into())
    })
}

fn totp_from_row(r: &Row<'_>) -> rusqlite::Result<Totp> {
    Ok(Totp {
        id: r.get(0)?,
        account: r.get(1)?,
        issuer: r.get(2)?,
        params: params_at(r)?,
        verified: r.get(6)?,
        last_step: r.get(7)?,
        last_used_at: r.get(8)?,
        failed_attempts: r.get(9)?,
        locked_until: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        backup_codes_remaining: r.get(13)?,
        mac: r.get(14)?,
    })
}

/// Finds an enrollment by account name or id.
pub fn find(conn: &Connection, account_or_id: &str) -> rusqlite::Result<Option<Totp>> {
    // Two small statements rather than one UNION: every command that names an
    // account compiles the first, and only a miss compiles the second, which halves
    // the SQL that a verify compiles to find its enrollment.
    let by_account = format!("SELECT {TOTP_COLUMNS} FROM totps t WHERE t.account = ?1");
    if let Some(t) = conn
        .prepare_cached(&by_account)?
        .query_row([account_or_id], totp_from_row)
        .optional()?
    {
        return Ok(Some(t));
    }
    let by_id = format!("SELECT {TOTP_COLUMNS} FROM totps t WHERE t.id = ?1");
    conn.prepare_cached(&by_id)?
        .query_row([account_or_id], totp_from_row)
        .optional()
}

/// What `info` counts.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total: u64,
    pub verified: u64,
    pub unverified: u64,
    /// Locked at the time given.
    pub locked: u64,
    /// With no live backup code.
    pub without_backup_codes: u64,
}

/// Counts the enrollments, in one pass over the table.
pub fn stats(conn: &Connection, now: &str) -> rusqlite::Result<Stats> {
    conn.query_row(
        "SELECT count(*), \
                coalesce(sum(verified <> 0), 0), \
                coalesce(sum(verified = 0), 0), \
                coalesce(sum(locked_until IS NOT NULL AND locked_until > ?1), 0), \
                coalesce(sum(NOT EXISTS (SELECT 1 FROM backup_codes b \
                                         WHERE b.totp_id = t.id AND b.used_at IS NULL)), 0) \
         FROM totps t",
        [now],
        |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok(Stats {
                total: n(0)?,
                verified: n(1)?,
                unverified: n(2)?,
                locked: n(3)?,
                without_backup_codes: n(4)?,
            })
        },
    )
}

/// The number of events and the time of the newest.
pub fn event_stats(conn: &Connection) -> rusqlite::Result<(u64, Option<String>)> {
    conn.query_row(
        "SELECT count(*), (SELECT at FROM events ORDER BY seq DESC LIMIT 1) FROM events",
        [],
        |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?)),
    )
}

/// Whether `account` (by name, not id) is enrolled.
pub fn is_enrolled(conn: &Connection, account: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM totps WHERE account = ?1)")?
        .query_row([account], |r| r.get(0))
}

/// Like [`find`], but a missing account is the `resource_not_found` error.
pub fn get(conn: &Connection, path: &Path, account_or_id: &str) -> Result<Totp> {
    find(conn, account_or_id)
        .map_err(|e| sqlite_err(path, e))?
        .ok_or_else(|| Error::NotFound(crate::output::sanitize(account_or_id)).into())
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

/// Calls `f` for each enrollment matching `filter`, in account order, one row in
/// memory at a time.
pub fn for_each_totp(
    conn: &Connection,
    filter: &ListFilter,
    mut f: impl FnMut(Totp) -> Result<()>,
) -> Result<()> {
    query_totps(conn, filter, |row| f(totp_from_row(row)?))
}

/// An enrollment borrowed from the row SQLite is on: nothing is copied, for
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

/// Like [`for_each_totp`], but lends each row instead of copying it out.
pub fn for_each_totp_ref(
    conn: &Connection,
    filter: &ListFilter,
    mut f: impl FnMut(&TotpRef<'_>) -> Result<()>,
) -> Result<()> {
    query_totps(conn, filter, |r| {
        // On a value that is not text, the error is the one `get::<String>` gives.
        let text = |i: usize| -> rusqlite::Result<&str> {
            match r.get_ref(i)?.as_str() {
                Ok(t) => Ok(t),
                Err(_) => Err(not_text(r.get::<_, String>(i).err(), i)),
            }
        };
        let opt_text = |i: usize| -> rusqlite::Result<Option<&str>> {
            match r.get_ref(i)?.as_str_or_null() {
                Ok(t) => Ok(t),
                Err(_) => Err(not_text(r.get::<_, Option<String>>(i).err(), i)),
            }
        };
        f(&TotpRef {
            id: text(0)?,
            account: text(1)?,
            issuer: text(2)?,
            params: params_at(r)?,
            verified: r.get(6)?,
            last_used_at: opt_text(8)?,
            failed_attempts: r.get(9)?,
            locked_until: opt_text(10)?,
            created_at: text(11)?,
            updated_at: text(12)?,
            backup_codes_remaining: r.get(13)?,
        })
    })
}

fn query_totps(
    conn: &Connection,
    filter: &ListFilter,
    mut f: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut sql = format!("SELECT {TOTP_COLUMNS} FROM totps t WHERE 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(v) = filter.verified {
        sql.push_str(" AND t.verified = ?");
        args.push(i64::from(v).into());
    }
    if let Some(issuer) = &filter.issuer {
        sql.push_str(" AND t.issuer = ? COLLATE NOCASE");
        args.push(issuer.clone().into());
    }
    if let Some(now) = &filter.locked_at {
        sql.push_str(" AND t.locked_until > ?");
        args.push(now.clone().into());
    }
    if filter.no_backup_codes {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM backup_codes b WHERE b.totp_id = t.id)");
    }
    if let Some(before) = &filter.unused_since {
        sql.push_str(" AND (t.last_used_at IS NULL OR t.last_used_at < ?)");
        args.push(before.clone().into());
    }
    sql.push_str(" ORDER BY t.account");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

/// An error for a store whose content this build cannot make sense of.
pub fn corrupt(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(Error::Store(format!(
        "{} is damaged: {what}",
        path.display()
    )))
}

/// Attaches the store path to an SQLite error.
pub trait SqlContext<T> {
    fn sql(self, store: &Path) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn sql(self, store: &Path) -> Result<T> {
        self.map_err(|e| sqlite_err(store, e))
    }
}
