//! The SQLite store: opening and creating it, its migrations, and every query. This is
//! the only module that holds SQL.
//!
//! Concurrency: the store runs in WAL mode, so readers never wait for the writer, and
//! every command that writes takes the write lock up front (`BEGIN IMMEDIATE`) and
//! waits for it with a long busy timeout. A transaction that read and then wants to
//! write can therefore never be refused with "database is locked", and a
//! check-then-record (replay protection, lockout counting) is atomic.

mod events;
mod schema;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

pub use events::{
    Appender as EventAppender, ChainProblem, Event, EventFilter, append as append_event,
    check_chain, for_each_event,
};

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
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(store_err(format!(
                    "{} is a directory, not a store file: pass the path of a file, e.g. {}",
                    path.display(),
                    path.join("totpctl.db").display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && !create_missing => return Ok(None),
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
}

const TOTP_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, \
     (SELECT count(*) FROM backup_codes b WHERE b.totp_id = t.id)";

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

fn totp_from_row(r: &Row<'_>) -> rusqlite::Result<Totp> {
    let algorithm = algorithm_at(r, 3)?;
    Ok(Totp {
        id: r.get(0)?,
        account: r.get(1)?,
        issuer: r.get(2)?,
        params: Params {
            algorithm,
            digits: r.get(4)?,
            period: r.get(5)?,
        },
        verified: r.get(6)?,
        last_step: r.get(7)?,
        last_used_at: r.get(8)?,
        failed_attempts: r.get(9)?,
        locked_until: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        backup_codes_remaining: r.get(13)?,
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

/// Like [`find`], but a missing account is the `resource_not_found` error.
pub fn get(conn: &Connection, path: &Path, account_or_id: &str) -> Result<Totp> {
    find(conn, account_or_id)
        .map_err(|e| sqlite_err(path, e))?
        .ok_or_else(|| Error::NotFound(crate::output::sanitize(account_or_id)).into())
}

/// The sealed secret of an enrollment.
pub fn sealed_secret(conn: &Connection, id: &str) -> rusqlite::Result<Vec<u8>> {
    conn.prepare_cached("SELECT secret FROM totps WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
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
        let algorithm = algorithm_at(r, 3)?;
        f(&TotpRef {
            id: text(0)?,
            account: text(1)?,
            issuer: text(2)?,
            params: Params {
                algorithm,
                digits: r.get(4)?,
                period: r.get(5)?,
            },
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

/// A new enrollment to insert.
pub struct NewTotp<'a> {
    pub id: &'a str,
    pub account: &'a str,
    pub issuer: &'a str,
    pub params: Params,
    pub sealed_secret: &'a [u8],
    pub verified: bool,
    pub now: &'a str,
}

/// Inserts one new enrollment (enroll).
pub fn insert_totp(conn: &Connection, t: &NewTotp<'_>) -> rusqlite::Result<()> {
    // The caller removed any enrollment of the account in this transaction, so an
    // insert that adds nothing means the store changed under it: refuse.
    match Inserter::new(conn)?.insert_new(t)? {
        true => Ok(()),
        false => Err(rusqlite::Error::StatementChangedRows(0)),
    }
}

/// Inserts many enrollments in one write transaction (import), with its statement
/// prepared once for the whole run.
pub struct Inserter<'c> {
    insert: rusqlite::CachedStatement<'c>,
}

impl<'c> Inserter<'c> {
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Inserter<'c>> {
        // The account's unique index answers "is it enrolled already?" as part of the
        // insert, instead of a separate lookup per account.
        let insert = conn.prepare_cached(
            "INSERT INTO totps (id, account, issuer, algorithm, digits, period, secret, \
                                verified, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (account) DO NOTHING",
        )?;
        Ok(Inserter { insert })
    }

    /// Inserts `t` unless its account is enrolled already; returns whether it did.
    pub fn insert_new(&mut self, t: &NewTotp<'_>) -> rusqlite::Result<bool> {
        let inserted = self.insert.execute(params![
            t.id,
            t.account,
            t.issuer,
            t.params.algorithm.as_str(),
            t.params.digits,
            t.params.period,
            t.sealed_secret,
            t.verified,
            t.now
        ])?;
        Ok(inserted == 1)
    }
}

/// Deletes an enrollment and, through the foreign key, its backup codes.
pub fn delete_totp(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM totps WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Records an accepted TOTP step, only if it is later than the last accepted one.
/// Returns false when it is not (a replay). Resets the lockout count.
pub fn accept_step(conn: &Connection, id: &str, step: i64, now: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE totps SET last_step = ?2, last_used_at = ?3, updated_at = ?3, \
                    verified = 1, failed_attempts = 0, locked_until = NULL \
             WHERE id = ?1 AND (last_step IS NULL OR last_step < ?2)",
        )?
        .execute(params![id, step, now])?;
    Ok(changed == 1)
}

/// Records an accepted backup code: it is consumed, and the lockout count reset.
/// Returns false if the code was consumed by someone else first.
pub fn consume_backup_code(
    conn: &Connection,
    id: &str,
    hash: &[u8],
    now: &str,
) -> rusqlite::Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM backup_codes WHERE totp_id = ?1 AND hash = ?2")?
        .execute(params![id, hash])?;
    if deleted == 1 {
        conn.prepare_cached(
            "UPDATE totps SET last_used_at = ?2, updated_at = ?2, failed_attempts = 0, \
                    locked_until = NULL WHERE id = ?1",
        )?
        .execute(params![id, now])?;
    }
    Ok(deleted == 1)
}

/// The backup-code hashes of an enrollment.
pub fn backup_code_hashes(conn: &Connection, id: &str) -> rusqlite::Result<Vec<Vec<u8>>> {
    conn.prepare_cached("SELECT hash FROM backup_codes WHERE totp_id = ?1")?
        .query_map([id], |r| r.get(0))?
        .collect()
}

/// Replaces the whole set of backup codes of an enrollment.
pub fn replace_backup_codes(
    conn: &Connection,
    id: &str,
    hashes: &[[u8; 32]],
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM backup_codes WHERE totp_id = ?1")?
        .execute([id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO backup_codes (totp_id, hash) VALUES (?1, ?2)")?;
    for hash in hashes {
        insert.execute(params![id, &hash[..]])?;
    }
    Ok(())
}

/// Counts one rejected code. Returns the new count.
pub fn count_failure(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<u32> {
    conn.prepare_cached(
        "UPDATE totps SET failed_attempts = failed_attempts + 1, updated_at = ?2 \
         WHERE id = ?1 RETURNING failed_attempts",
    )?
    .query_row(params![id, now], |r| r.get(0))
}

/// Locks an enrollment until `until`.
pub fn lock(conn: &Connection, id: &str, until: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE totps SET locked_until = ?2 WHERE id = ?1")?
        .execute(params![id, until])?;
    Ok(())
}

/// Clears a lockout and the count of rejected codes.
pub fn unlock(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE totps SET failed_attempts = 0, locked_until = NULL, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Every enrollment's id and sealed secret, for rekeying.
pub fn all_sealed_secrets(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<u8>)>> {
    conn.prepare("SELECT id, secret FROM totps")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Replaces an enrollment's sealed secret (same secret, new key).
pub fn reseal(conn: &Connection, id: &str, sealed: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE totps SET secret = ?2 WHERE id = ?1")?
        .execute(params![id, sealed])?;
    Ok(())
}

/// The stored settings, as (key, value) pairs.
pub fn config_pairs(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT key, value FROM config")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

pub fn set_config(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO config (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// The row that says how the store's data key is protected.
#[derive(Debug, Clone)]
pub struct VaultRow {
    pub protection: String,
    pub kdf: Option<String>,
    pub salt: Option<Vec<u8>>,
    pub wrapped: Vec<u8>,
}

pub fn vault_row(conn: &Connection) -> rusqlite::Result<Option<VaultRow>> {
    conn.prepare_cached("SELECT protection, kdf, salt, wrapped FROM vault WHERE id = 1")?
        .query_row([], |r| {
            Ok(VaultRow {
                protection: r.get(0)?,
                kdf: r.get(1)?,
                salt: r.get(2)?,
                wrapped: r.get(3)?,
            })
        })
        .optional()
}

pub fn put_vault_row(conn: &Connection, row: &VaultRow, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO vault (id, protection, kdf, salt, wrapped, updated_at) \
         VALUES (1, ?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET protection = excluded.protection, kdf = excluded.kdf, \
             salt = excluded.salt, wrapped = excluded.wrapped, updated_at = excluded.updated_at",
    )?
    .execute(params![row.protection, row.kdf, row.salt, row.wrapped, now])?;
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
