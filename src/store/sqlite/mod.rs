//! The SQLite engine: the store file (created atomically, 0600, in a 0700 directory,
//! checked before it is trusted), its migrations (sqlite_schema.rs), and every SQLite
//! statement behind [`Tx`].
//!
//! Concurrency: the store runs in WAL mode, so readers never wait for the writer, and
//! every write transaction takes the write lock up front (`BEGIN IMMEDIATE`) and waits
//! for it with a long busy timeout. A transaction that read and then wants to write can
//! therefore never be refused with "database is locked", a check-then-record (replay
//! protection, lockout counting) is atomic, and log appends are serialised.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::engine::{Engine, Tx};

use crate::base::error::store_err;
use crate::base::files;

mod enrollments;
mod events;
mod open;
mod records;
pub mod schema;
mod tokens;
mod transfer;
mod tx;

use open::{check_file, check_length, connect, create, open_fd, prove_open_files};

use tx::*;

/// How long a command waits for another process's write to finish before giving up,
/// unless told otherwise (`--timeout`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// An open SQLite store.
pub struct Sqlite {
    conn: Connection,
    /// The store as the user named it, for messages.
    path: PathBuf,
    /// Whether this command made the file.
    created: bool,
    /// The device and inode of the file opened, to tell whether the path still names
    /// it (a long-running process keeps the store open).
    file_id: (u64, u64),
}

impl Sqlite {
    /// Opens the store at `path`, creating it (and its directory, 0700) when no file is
    /// there. An existing file is used only if it is a totpctl store this build can
    /// read; anything else is refused without writing a byte to it. A write waits
    /// for another process's at most `busy`.
    pub fn open(path: &Path, busy: Duration, old_form: &dyn Fn() -> Result<()>) -> Result<Sqlite> {
        Sqlite::open_with(path, true, busy, old_form)?
            .ok_or_else(|| store_err(format!("{} vanished as it was created", path.display())))
    }

    /// Like [`Sqlite::open`], but a missing store is `None` and nothing is created: for
    /// commands that only read, or that need an enrollment to exist.
    pub fn open_existing(
        path: &Path,
        busy: Duration,
        old_form: &dyn Fn() -> Result<()>,
    ) -> Result<Option<Sqlite>> {
        Sqlite::open_with(path, false, busy, old_form)
    }

    /// `old_form` is asked before a store of schema version 0 or 1 (from before the
    /// store was authenticated) is migrated: it refuses one where this host saw an
    /// authenticated store.
    fn open_with(
        path: &Path,
        create_missing: bool,
        busy: Duration,
        old_form: &dyn Fn() -> Result<()>,
    ) -> Result<Option<Sqlite>> {
        let mut created = false;
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
            Err(e) if e.kind() == ErrorKind::NotFound => created = create(path)?,
            // A file where the path needs a directory: creating it fails, and says so.
            Err(e) if e.kind() == ErrorKind::NotADirectory && create_missing => {
                created = create(path)?
            }
            Err(e) => {
                return Err(store_err(format!(
                    "cannot read {}: {e}; check the permissions of its directories, or pass \
                     --store PATH",
                    path.display()
                )));
            }
        }
        // A symbolic link is followed here, once: the file it points to, its journal
        // files beside it and the directories above it are what is checked, and
        // SQLite is given that file's real path, never the link.
        let real = files::resolve(path)
            .map_err(|e| store_err(format!("cannot resolve {}: {e}", path.display())))?;
        let checked = check_file(&real, path)?;
        let conn = connect(&real, OpenFlags::SQLITE_OPEN_READ_WRITE, busy)?;
        if let Some(fd) = open_fd(&conn, rusqlite::ffi::SQLITE_FCNTL_FILE_POINTER)? {
            check_length(fd, path)?;
        }
        let store = Sqlite {
            conn,
            path: path.to_path_buf(),
            created,
            file_id: (checked.dev(), checked.ino()),
        };
        let (app_id, version) = store.identity()?;
        // SQLite has the file, and its write-ahead log, open now: prove they are the
        // ones checked, not files swapped in since.
        prove_open_files(&store.conn, &checked, &real, path)?;
        if app_id == schema::APPLICATION_ID && version < 2 {
            old_form()?;
        }
        store.check_and_migrate(app_id, version)?;
        Ok(Some(store))
    }

    /// Maps an SQLite error on this store to a clear `store_error`.
    fn err(&self, e: rusqlite::Error) -> anyhow::Error {
        sqlite_err(&self.path, e)
    }

    fn check_and_migrate(&self, app_id: i32, version: i32) -> Result<()> {
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
            return Err(crate::base::error::integrity_error(format!(
                "{} says it is schema version {version}, but it holds the authenticated \
                 tables of version {}: its version was edited to take it back; restore it \
                 from a backup",
                self.path.display(),
                schema::AUTHENTICATED
            )));
        }
        let mode: String = self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(crate::base::error::integrity_error(format!(
                "{}: its journal mode was changed to {}; totpctl makes its stores in WAL mode \
                 and uses no other",
                self.path.display(),
                crate::base::text::sanitize(&mode)
            )));
        }
        // The schema is checked in every transaction (see `begin`), and by a migration
        // under its lock before it runs: a trigger must not fire during a migration
        // either. Nothing is read before then.
        if version < schema::VERSION {
            self.migrate()?;
        }
        Ok(())
    }

    /// Refuses a store whose schema is not exactly what `version` has.
    fn check_schema(&self, version: i32) -> Result<()> {
        match schema::check(&self.conn, version).map_err(|e| self.err(e))? {
            Ok(()) => Ok(()),
            Err(_) if super::engine::schema_check_skipped() => Ok(()),
            Err(differences) => Err(crate::base::error::integrity_error(format!(
                "{}: the store's schema is not the one totpctl creates: {differences}; a \
                 database writer may have changed how it behaves, so nothing was read or \
                 written; restore it from a backup, or remove what was added",
                self.path.display()
            ))),
        }
    }

    /// Applies the pending migrations in one transaction that holds the write lock,
    /// re-reading the version under the lock so that racing processes migrate once.
    fn migrate(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        let result = self.identity().and_then(|(_, version)| {
            self.check_schema(version)?;
            schema::migrate(&self.conn, version).map_err(|e| self.err(e))
        });
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.conn.execute_batch(end).map_err(|e| self.err(e));
        result.and(ended)
    }

    /// The store's application id and schema version. Two plain PRAGMAs: they compile
    /// in a fraction of the time of one SELECT over the pragma table functions, and
    /// every command runs this.
    fn identity(&self) -> Result<(i32, i32)> {
        let pragma = |name: &str| -> Result<i32> {
            self.conn
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        Ok((pragma("application_id")?, pragma("user_version")?))
    }

    /// Starts a transaction and checks, as its first read, that the store is at this
    /// build's version and its schema is exactly what that version has.
    fn begin(&mut self, behavior: TransactionBehavior) -> Result<Box<dyn Tx + '_>> {
        let tx = self
            .conn
            .transaction_with_behavior(behavior)
            .map_err(|e| sqlite_err(&self.path, e))?;
        let version: i32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| sqlite_err(&self.path, e))?;
        if version != schema::VERSION {
            return Err(store_err(format!(
                "{} changed to schema version {version} while this command ran (this totpctl \
                 writes {}): run the command again, with the newest totpctl",
                self.path.display(),
                schema::VERSION
            )));
        }
        if let Err(differences) = schema::check(&tx, version)
            .map_err(|e| sqlite_err(&self.path, e))?
            .or_else(|d| super::engine::schema_check_skipped().then_some(()).ok_or(d))
        {
            return Err(crate::base::error::integrity_error(format!(
                "{}: the store's schema is not the one totpctl creates: {differences}; a \
                 database writer may have changed how it behaves, so nothing was read or \
                 written; restore it from a backup, or remove what was added",
                self.path.display()
            )));
        }
        Ok(Box::new(SqliteTx {
            tx,
            path: &self.path,
        }))
    }
}

impl Engine for Sqlite {
    fn write(&mut self) -> Result<Box<dyn Tx + '_>> {
        // `BEGIN IMMEDIATE` holds the write lock: no one can change the schema between
        // its check and the end of the transaction.
        self.begin(TransactionBehavior::Immediate)
    }

    fn read(&mut self) -> Result<Box<dyn Tx + '_>> {
        // A deferred transaction: its first read (the schema check) fixes the
        // snapshot (WAL), and writers go on meanwhile.
        self.begin(TransactionBehavior::Deferred)
    }

    fn schema_version(&mut self) -> Result<i64> {
        Ok(i64::from(self.identity()?.1))
    }

    fn is_empty(&mut self) -> Result<bool> {
        let mut tx = self.read()?;
        Ok(!tx.has_content()? && tx.vault_row()?.is_none())
    }

    fn is_new(&self) -> bool {
        self.created
    }

    fn is_current(&self) -> bool {
        // The path, followed as at opening, must still name the file opened: a store
        // replaced (restored, moved, copied over) is opened anew, never written on in
        // the old file nobody reads.
        files::resolve(&self.path)
            .and_then(fs::metadata)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.file_id)
    }
}
