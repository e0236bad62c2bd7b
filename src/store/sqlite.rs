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
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use super::engine::{
    Engine, EventFilter, Insert, LastEvent, Record, Size, Stats, StoredEvent, StoredState, Tx,
};
use super::events::{Event, Head};
use super::sqlite_schema as schema;
use super::{ListFilter, Totp, TotpRef, VaultRow, files, store_err};
use crate::otp::{Algorithm, Params};

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
}

impl Sqlite {
    /// Opens the store at `path`, creating it (and its directory, 0700) when no file is
    /// there. An existing file is used only if it is a totpctl store this build can
    /// read; anything else is refused without writing a byte to it. A write waits
    /// for another process's at most `busy`.
    pub fn open(path: &Path, busy: Duration) -> Result<Sqlite> {
        Sqlite::open_with(path, true, busy)?
            .ok_or_else(|| store_err(format!("{} vanished as it was created", path.display())))
    }

    /// Like [`Sqlite::open`], but a missing store is `None` and nothing is created: for
    /// commands that only read, or that need an enrollment to exist.
    pub fn open_existing(path: &Path, busy: Duration) -> Result<Option<Sqlite>> {
        Sqlite::open_with(path, false, busy)
    }

    fn open_with(path: &Path, create_missing: bool, busy: Duration) -> Result<Option<Sqlite>> {
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
        let file = check_file(&real, path)?;
        let checked = file
            .metadata()
            .map_err(|e| store_err(format!("cannot inspect {}: {e}", path.display())))?;
        check_length(file, path)?;
        let conn = connect(&real, OpenFlags::SQLITE_OPEN_READ_WRITE, busy)?;
        let store = Sqlite {
            conn,
            path: path.to_path_buf(),
            created,
        };
        let (app_id, version) = store.identity()?;
        // SQLite has the file, and its write-ahead log, open now: prove they are the
        // ones checked, not files swapped in since.
        prove_open_files(&store.conn, &checked, &real, path)?;
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
            return Err(crate::error::integrity_error(format!(
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
            return Err(crate::error::integrity_error(format!(
                "{}: its journal mode was changed to {}; totpctl makes its stores in WAL mode \
                 and uses no other",
                self.path.display(),
                crate::output::sanitize(&mode)
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
            Err(differences) => Err(crate::error::integrity_error(format!(
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
            return Err(crate::error::integrity_error(format!(
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

/// Proves that the files SQLite has open are the ones [`check_file`] checked: the
/// store (the same device and inode as `checked`), and its write-ahead log (a regular
/// file of this user or root that no one else can write, on the same device). SQLite
/// opens them by path after the checks, and a file swapped in between would otherwise
/// be used unseen.
fn prove_open_files(
    conn: &Connection,
    checked: &fs::Metadata,
    real: &Path,
    path: &Path,
) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let fstat = |fd: i32| -> Result<fs::Metadata> {
        // SAFETY: `fd` is one of SQLite's open descriptors, borrowed only for fstat;
        // ManuallyDrop keeps the File from closing it.
        let file = std::mem::ManuallyDrop::new(unsafe {
            <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        file.metadata()
            .map_err(|e| store_err(format!("cannot inspect the store SQLite opened: {e}")))
    };
    let main = open_fd(conn, rusqlite::ffi::SQLITE_FCNTL_FILE_POINTER)?
        .ok_or_else(|| store_err(format!("{}: SQLite did not open the store", path.display())))?;
    let opened = fstat(main)?;
    if (opened.dev(), opened.ino()) != (checked.dev(), checked.ino()) {
        return Err(crate::error::integrity_error(format!(
            "{} was replaced by another file between its checks and its opening: someone \
             is swapping files in {}; nothing was read",
            path.display(),
            real.parent().unwrap_or(Path::new("/")).display()
        )));
    }
    if let Some(fd) = open_fd(conn, rusqlite::ffi::SQLITE_FCNTL_JOURNAL_POINTER)? {
        let journal = fstat(fd)?;
        let mut name = real.as_os_str().to_owned();
        name.push("-wal");
        files::check_file_meta(&journal, Path::new(&name), "store's journal", false)
            .map_err(store_err)?;
        if journal.dev() != checked.dev() {
            return Err(crate::error::integrity_error(format!(
                "the journal SQLite opened for {} is not beside it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The descriptor of the file SQLite holds for `op` (the store, or its journal or
/// write-ahead log), if it has one open.
fn open_fd(conn: &Connection, op: std::ffi::c_int) -> Result<Option<i32>> {
    use rusqlite::ffi;
    /// The head of SQLite's `unixFile` (sqlite3.c), whose first members have been
    /// these four since the unix VFS was written: the descriptor is the fourth.
    #[repr(C)]
    struct UnixFileHead {
        methods: *const ffi::sqlite3_io_methods,
        vfs: *const ffi::sqlite3_vfs,
        inode: *const std::ffi::c_void,
        h: std::ffi::c_int,
    }
    // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS, which lives as long as
    // the process; only its name is read.
    let vfs_name = unsafe {
        let vfs = ffi::sqlite3_vfs_find(std::ptr::null());
        if vfs.is_null() || (*vfs).zName.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr((*vfs).zName).to_bytes().to_vec())
        }
    };
    if vfs_name.as_deref() != Some(b"unix") {
        return Err(store_err(
            "SQLite's default file layer is not \"unix\": totpctl cannot prove which file it opened"
                .into(),
        ));
    }
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is this connection's, open for the call; FILE_POINTER and
    // JOURNAL_POINTER write one `sqlite3_file*` into the pointer given. A file of the
    // unix VFS is a `unixFile`, allocated whole by SQLite, so its head can be read
    // while the connection is open; `methods` is NULL when the file is not open.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            op,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        );
        if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
            return Ok(None);
        }
        let head = file.cast::<UnixFileHead>();
        let fd = (*head).h;
        Ok((fd >= 0).then_some(fd))
    }
}

/// Refuses a store that someone else could have planted or written: see
/// [`files`]. `real` is the store's path with every link resolved; `path` names it in
/// messages. The file is opened without blocking, so a FIFO at the path is refused at
/// once instead of hanging. Returns the checked file, for [`check_length`] and
/// [`prove_open_files`].
fn check_file(real: &Path, path: &Path) -> Result<fs::File> {
    let dir = real.parent().unwrap_or(Path::new("/"));
    files::check_dir_chain(dir, "the store's directory", true).map_err(store_err)?;
    let file = files::open_for_check(real, true)
        .map_err(|e| store_err(format!("cannot open {}: {e}", path.display())))?
        .ok_or_else(|| store_err(format!("{} vanished as it was opened", path.display())))?;
    files::check_private_file(&file, path, "store", false).map_err(store_err)?;
    // SQLite's own files beside it hold committed pages too: the same rules.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = real.as_os_str().to_owned();
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
    Ok(file)
}

/// Refuses an SQLite file cut short in the middle of a page. SQLite itself refuses a
/// file that lacks whole pages its header counts, but reads a partial last page as if
/// the rest were zeros, and would go on to use (and write to) the damaged store.
/// It reads the descriptor [`check_file`] checked, not the path again.
fn check_length(mut file: fs::File, path: &Path) -> Result<()> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let len = match file
        .metadata()
        .and_then(|m| file.read_exact(&mut header).map(|()| m.len()))
    {
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

/// Opens a connection with the settings every command relies on. `path` is the
/// store's real path: a symbolic link there now is refused, not followed.
fn connect(path: &Path, flags: OpenFlags, busy: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )
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
    conn.busy_timeout(busy).map_err(|e| sqlite_err(path, e))?;
    // FULL: a commit reaches the disk before the command reports success, so an
    // accepted code's step survives a power loss and cannot be replayed after it.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| sqlite_err(path, e))?;
    Ok(conn)
}

/// Creates a new store at `path` atomically: it is built under a temporary name in the
/// same directory and linked into place, so no process ever sees a half-made store,
/// and when several race to create it, one wins and the others use its store.
/// Returns whether this process's store is the one in place (another may have won).
fn create(path: &Path) -> Result<bool> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The directories that exist already are checked before anything is made in
    // them, so that a refused store leaves nothing behind.
    let existing = dir
        .ancestors()
        .find(|d| d.as_os_str().is_empty() || d.is_dir());
    if let Some(existing) = existing {
        let existing = if existing.as_os_str().is_empty() {
            Path::new(".")
        } else {
            existing
        };
        let resolved = files::resolve(existing)
            .map_err(|e| store_err(format!("cannot inspect {}: {e}", existing.display())))?;
        files::check_dir_chain(&resolved, "the store's directory", existing == dir)
            .map_err(store_err)?;
    }
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
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
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
            "{p} stayed busy for as long as totpctl waits (--timeout): the wait for the \
             store's write lock ran out while another process held it; try again"
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
    totp_with_count(r, r.get(13)?)
}

/// The columns of an enrollment a write session loads: [`TOTP_COLUMNS`] with the
/// sealed secret where the count of live backup codes was (the session counts the
/// hashes it loads anyway, and so compiles no subquery).
/// Every backup code of an enrollment, with when it was used.
const BACKUP_CODES_OF: &str = "SELECT hash, used_at FROM backup_codes WHERE totp_id = ?1";

/// The newest change of the settings and the newest accepted restore, each through
/// its partial index (the literals let the planner use them).
macro_rules! anchors_sql {
    () => {
        "(SELECT coalesce(max(seq), 0) FROM events WHERE event = 'config_changed'), \
         (SELECT coalesce(max(seq), 0) FROM events WHERE event = 'restore_accepted')"
    };
}

/// The log's head with the anchors: one statement serves `head` and `anchors`, which a
/// write session both reads. No row when there is no head.
const HEAD_AND_ANCHORS: &str = concat!(
    "SELECT seq, hash, mac, ",
    anchors_sql!(),
    " FROM log_head WHERE id = 1"
);

const SEALED_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, t.secret, t.mac";

fn sealed_from_row(r: &Row<'_>) -> rusqlite::Result<(Totp, Option<Vec<u8>>)> {
    // A secret that is not a blob (SQLite does not enforce the declared type) is
    // left to the commands that open it: `remove` of such a row still works.
    let sealed = match r.get_ref(13)? {
        rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
        _ => None,
    };
    Ok((totp_with_count(r, 0)?, sealed))
}

fn totp_with_count(r: &Row<'_>, backup_codes_remaining: u32) -> rusqlite::Result<Totp> {
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
        backup_codes_remaining,
        mac: r.get(14)?,
    })
}

/// Finds an enrollment by account name or (with `by_id`) id: `columns` of it, read by
/// `from_row`.
fn find<T>(
    conn: &Connection,
    columns: &str,
    account_or_id: &str,
    by_id: bool,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    // Two small statements rather than one UNION: every command that names an
    // account compiles the first, and only a miss compiles the second, which halves
    // the SQL that a verify compiles to find its enrollment.
    let by_account = format!("SELECT {columns} FROM totps t WHERE t.account = ?1");
    if let Some(t) = conn
        .prepare_cached(&by_account)?
        .query_row([account_or_id], from_row)
        .optional()?
    {
        return Ok(Some(t));
    }
    if !by_id {
        return Ok(None);
    }
    let by_id = format!("SELECT {columns} FROM totps t WHERE t.id = ?1");
    conn.prepare_cached(&by_id)?
        .query_row([account_or_id], from_row)
        .optional()
}

/// Whether `account` (by name, not id) is enrolled.
fn is_enrolled(conn: &Connection, account: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM totps WHERE account = ?1)")?
        .query_row([account], |r| r.get(0))
}

fn query_totps(
    conn: &Connection,
    filter: &ListFilter,
    f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
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
}

/// A transaction on an SQLite store.
struct SqliteTx<'c> {
    tx: Transaction<'c>,
    path: &'c Path,
}

impl SqliteTx<'_> {
    /// Inserts an enrollment's row unless its account is taken (the account's unique
    /// index answers that as part of the insert); returns whether it did.
    fn insert_row(&self, t: &Totp, sealed: &[u8], mac: &[u8], skeleton: &str) -> Result<bool> {
        let n = self.exec(
            "INSERT INTO totps (id, account, issuer, algorithm, digits, period, secret, \
                                verified, last_step, last_used_at, failed_attempts, \
                                locked_until, created_at, updated_at, mac, skeleton) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             ON CONFLICT (account) DO NOTHING",
            params![
                t.id,
                t.account,
                t.issuer,
                t.params.algorithm.as_str(),
                t.params.digits,
                t.params.period,
                sealed,
                t.verified,
                t.last_step,
                t.last_used_at,
                t.failed_attempts,
                t.locked_until,
                t.created_at,
                t.updated_at,
                mac,
                skeleton
            ],
        )?;
        Ok(n == 1)
    }

    /// The account of the enrollment `id`, enrolled or not: from its row, or else from
    /// the first event that names it (a scan, for an id that is no longer enrolled).
    fn account_of(&self, id: &str) -> Result<Option<String>> {
        let r = self
            .tx
            .query_row(
                "SELECT account FROM totps WHERE id = ?1 \
                 UNION ALL SELECT account FROM events WHERE totp_id = ?1 LIMIT 1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional();
        self.ok(r).map(Option::flatten)
    }

    fn ok<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| sqlite_err(self.path, e))
    }

    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> Result<usize> {
        let r = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(args));
        self.ok(r)
    }

    fn flag(&self, sql: &str) -> Result<bool> {
        let r = self.tx.query_row(sql, [], |r| r.get(0));
        self.ok(r)
    }
}

const EVENT_COLUMNS: &str = "seq, at, event, account, totp_id, detail, actor, state, hash, mac";

/// An event from a row whose first columns are `seq, at, event, account, totp_id,
/// detail, actor, state`.
fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        account: r.get(3)?,
        totp_id: r.get(4)?,
        detail: r.get(5)?,
        actor: r.get(6)?,
        state: r.get(7)?,
    })
}

fn stored_event_from_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        event: event_from_row(r)?,
        hash: r.get(8)?,
        mac: r.get(9)?,
    })
}

/// The chain hash of the event before `e`, as a column after [`EVENT_COLUMNS`].
const PREV_HASH: &str = "(SELECT p.hash FROM events p WHERE p.seq = e.seq - 1)";

fn last_event_from_row(r: &Row<'_>) -> rusqlite::Result<LastEvent> {
    Ok(LastEvent {
        stored: stored_event_from_row(r)?,
        prev_hash: r.get(10)?,
    })
}

fn totp_ref_from_row<'r>(r: &'r Row<'_>) -> rusqlite::Result<TotpRef<'r>> {
    // On a value that is not text, the error is the one `get::<String>` gives.
    let text = |i: usize| -> rusqlite::Result<&'r str> {
        match r.get_ref(i)?.as_str() {
            Ok(t) => Ok(t),
            Err(_) => Err(not_text(r.get::<_, String>(i).err(), i)),
        }
    };
    let opt_text = |i: usize| -> rusqlite::Result<Option<&'r str>> {
        match r.get_ref(i)?.as_str_or_null() {
            Ok(t) => Ok(t),
            Err(_) => Err(not_text(r.get::<_, Option<String>>(i).err(), i)),
        }
    };
    Ok(TotpRef {
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
}

impl Tx for SqliteTx<'_> {
    fn find(&mut self, account_or_id: &str) -> Result<Option<Totp>> {
        // The write transaction holds the database's write lock already.
        self.ok(find(
            &self.tx,
            TOTP_COLUMNS,
            account_or_id,
            true,
            totp_from_row,
        ))
    }

    fn find_sealed(
        &mut self,
        account_or_id: &str,
        by_id: bool,
    ) -> Result<Option<(Totp, Option<Vec<u8>>)>> {
        self.ok(find(
            &self.tx,
            SEALED_COLUMNS,
            account_or_id,
            by_id,
            sealed_from_row,
        ))
    }

    fn account_like(&mut self, skeleton: &str, account: &str) -> Result<Option<String>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT account FROM totps WHERE skeleton = ?1 AND account <> ?2 LIMIT 1",
            )
            .and_then(|mut s| s.query_row([skeleton, account], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn stored_states(
        &mut self,
        ids: &[String],
        f: &mut dyn FnMut(StoredState) -> Result<()>,
    ) -> Result<()> {
        let path = self.path;
        let err = |e| sqlite_err(path, e);
        let mut row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SEALED_COLUMNS}, t.skeleton FROM totps t WHERE t.id = ?1"
            ))
            .map_err(err)?;
        let mut codes = self.tx.prepare_cached(BACKUP_CODES_OF).map_err(err)?;
        for id in ids {
            let Some((mut totp, sealed, skeleton)) = row
                .query_row([id], |r| {
                    let (totp, sealed) = sealed_from_row(r)?;
                    Ok((totp, sealed, r.get::<_, Option<String>>(15)?))
                })
                .optional()
                .map_err(err)?
            else {
                continue;
            };
            let codes: Vec<(Vec<u8>, Option<String>)> = codes
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(err)?;
            totp.backup_codes_remaining = codes.iter().filter(|c| c.1.is_none()).count() as u32;
            f(StoredState {
                totp,
                sealed,
                codes,
                skeleton,
            })?;
        }
        Ok(())
    }

    fn deep_check(&mut self) -> Result<Option<String>> {
        let r = self
            .tx
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get::<_, String>(0));
        let answer = self.ok(r)?;
        Ok((answer != "ok").then_some(answer))
    }

    fn settle(&mut self) -> Result<()> {
        // SQLite checks every constraint of totpctl's schema at once, and the schema
        // check allows no deferred one.
        Ok(())
    }

    fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        self.ok(is_enrolled(&self.tx, account))
    }

    fn all_totp_ids(&mut self) -> Result<Vec<String>> {
        let r = self
            .tx
            .prepare("SELECT id FROM totps ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        self.ok(r)
    }

    fn sealed_secret(&mut self, id: &str) -> Result<Vec<u8>> {
        let r = self
            .tx
            .prepare_cached("SELECT secret FROM totps WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)));
        self.ok(r)
    }

    fn insert_totp(
        &mut self,
        t: &Totp,
        sealed: &[u8],
        mac: &[u8],
        skeleton: &str,
    ) -> Result<Insert> {
        if let Some(other) = self.account_like(skeleton, &t.account)? {
            return Ok(Insert::LooksLike(other));
        }
        Ok(if self.insert_row(t, sealed, mac, skeleton)? {
            Insert::Inserted
        } else {
            Insert::Taken
        })
    }

    fn save_state(&mut self, t: &Totp, old_mac: Option<&[u8]>, mac: &[u8]) -> Result<bool> {
        let n = self.exec(
            "UPDATE totps SET verified = ?2, last_step = ?3, last_used_at = ?4, \
                    failed_attempts = ?5, locked_until = ?6, updated_at = ?7, mac = ?8 \
             WHERE id = ?1 AND mac IS ?9",
            params![
                t.id,
                t.verified,
                t.last_step,
                t.last_used_at,
                t.failed_attempts,
                t.locked_until,
                t.updated_at,
                mac,
                old_mac
            ],
        )?;
        Ok(n == 1)
    }

    fn set_totp_mac(&mut self, id: &str, mac: &[u8]) -> Result<()> {
        self.exec("UPDATE totps SET mac = ?2 WHERE id = ?1", params![id, mac])
            .map(drop)
    }

    fn reseal(&mut self, id: &str, sealed: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE totps SET secret = ?2 WHERE id = ?1",
            params![id, sealed],
        )
        .map(drop)
    }

    fn delete_totp(&mut self, id: &str) -> Result<()> {
        // The foreign key deletes the backup codes.
        self.exec("DELETE FROM totps WHERE id = ?1", [id]).map(drop)
    }

    fn for_each_totp(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(Totp) -> Result<()>,
    ) -> Result<()> {
        query_totps(&self.tx, filter, &mut |row| f(totp_from_row(row)?))
    }

    fn for_each_totp_ref(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(&TotpRef<'_>) -> Result<()>,
    ) -> Result<()> {
        query_totps(&self.tx, filter, &mut |row| f(&totp_ref_from_row(row)?))
    }

    fn backup_code_hashes(&mut self, id: &str) -> Result<Vec<Vec<u8>>> {
        // The statement the read-back uses (`stored_states`): one statement compiled,
        // not two, in a command that reads an enrollment and writes it.
        let r = self
            .tx
            .prepare_cached(BACKUP_CODES_OF)
            .and_then(|mut s| {
                s.query_map([id], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map(|codes| {
                codes
                    .into_iter()
                    .filter(|(_, used)| used.is_none())
                    .map(|(hash, _)| hash)
                    .collect()
            });
        self.ok(r)
    }

    fn use_backup_code(&mut self, id: &str, hash: &[u8], now: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE backup_codes SET used_at = ?3 \
             WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NULL",
            params![id, hash, now],
        )?;
        Ok(n == 1)
    }

    fn backup_code_used_at(&mut self, id: &str, hash: &[u8]) -> Result<Option<String>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT used_at FROM backup_codes \
                 WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NOT NULL",
            )
            .and_then(|mut s| s.query_row(params![id, hash], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn replace_backup_codes(&mut self, id: &str, hashes: &[Vec<u8>]) -> Result<()> {
        self.exec("DELETE FROM backup_codes WHERE totp_id = ?1", [id])?;
        for hash in hashes {
            self.exec(
                "INSERT INTO backup_codes (totp_id, hash) VALUES (?1, ?2)",
                params![id, hash],
            )?;
        }
        Ok(())
    }

    fn config_pairs(&mut self) -> Result<Vec<(String, String)>> {
        let r = self
            .tx
            .prepare_cached("SELECT key, value FROM config")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        self.ok(r)
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO config (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
        .map(drop)
    }

    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let r = self
            .tx
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map(drop)
    }

    fn vault_row(&mut self) -> Result<Option<VaultRow>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT protection, kdf, salt, wrapped, version FROM vault WHERE id = 1",
            )
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(VaultRow {
                        protection: r.get(0)?,
                        kdf: r.get(1)?,
                        salt: r.get(2)?,
                        wrapped: r.get(3)?,
                        version: r.get(4)?,
                    })
                })
                .optional()
            });
        self.ok(r)
    }

    fn put_vault_row(&mut self, row: &VaultRow, now: &str) -> Result<()> {
        self.exec(
            "INSERT INTO vault (id, protection, kdf, salt, wrapped, version, updated_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET protection = excluded.protection, kdf = excluded.kdf, \
                 salt = excluded.salt, wrapped = excluded.wrapped, version = excluded.version, \
                 updated_at = excluded.updated_at",
            params![
                row.protection,
                row.kdf,
                row.salt,
                row.wrapped,
                row.version,
                now
            ],
        )
        .map(drop)
    }

    fn has_content(&mut self) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM totps) OR EXISTS (SELECT 1 FROM events) \
                 OR EXISTS (SELECT 1 FROM config) OR EXISTS (SELECT 1 FROM meta)",
        )
    }

    fn has_integrity_data(&mut self) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM meta) \
                 OR EXISTS (SELECT 1 FROM totps WHERE mac IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM events WHERE mac IS NOT NULL OR actor IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM log_head WHERE mac IS NOT NULL)",
        )
    }

    fn lock_log(&mut self) -> Result<()> {
        // `BEGIN IMMEDIATE` holds the database's one write lock already.
        Ok(())
    }

    fn head(&mut self) -> Result<Option<Head>> {
        let r = self.tx.prepare_cached(HEAD_AND_ANCHORS).and_then(|mut s| {
            s.query_row([], |r| {
                Ok(Head {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    mac: r.get(2)?,
                })
            })
            .optional()
        });
        self.ok(r)
    }

    fn put_head(&mut self, seq: i64, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO log_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 mac = excluded.mac",
            params![seq, hash, mac],
        )
        .map(drop)
    }

    fn has_events(&mut self) -> Result<bool> {
        self.flag("SELECT EXISTS (SELECT 1 FROM events)")
    }

    fn insert_event(&mut self, e: &Event, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO events (seq, at, event, account, totp_id, detail, actor, state, hash, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                e.seq, e.at, e.event, e.account, e.totp_id, e.detail, e.actor, e.state, hash,
                mac
            ],
        )
        .map(drop)
    }

    fn set_event_mac(&mut self, seq: i64, mac: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE events SET mac = ?2 WHERE seq = ?1",
            params![seq, mac],
        )
        .map(drop)
    }

    fn hash_at(&mut self, seq: i64) -> Result<Option<Vec<u8>>> {
        let r = self
            .tx
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn last_event_of(&mut self, account: &str, totp_id: &str) -> Result<Option<LastEvent>> {
        // Found through the (account, totp_id) index.
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
             WHERE account = ?1 AND totp_id = ?2 ORDER BY seq DESC LIMIT 1"
        );
        let r = self.tx.prepare_cached(&sql).and_then(|mut s| {
            s.query_row([account, totp_id], last_event_from_row)
                .optional()
        });
        self.ok(r)
    }

    fn for_each_stored_event(
        &mut self,
        after: i64,
        f: &mut dyn FnMut(StoredEvent) -> Result<()>,
    ) -> Result<()> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq");
        let mut stmt = self.ok(self.tx.prepare_cached(&sql))?;
        let mut rows = self.ok(stmt.query([after]))?;
        while let Some(r) = rows.next().map_err(|e| sqlite_err(self.path, e))? {
            f(stored_event_from_row(r).map_err(|e| sqlite_err(self.path, e))?)?;
        }
        Ok(())
    }

    fn for_each_event(
        &mut self,
        filter: &EventFilter,
        f: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        let mut sql = String::from(
            "SELECT seq, at, event, account, totp_id, detail, actor, state FROM events WHERE 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(account) = &filter.account {
            // Through the (account, totp_id) index: an enrollment id stands for its
            // account, which every event naming the id carries too.
            let owner = match uuid::Uuid::try_parse(account) {
                Ok(_) => self.account_of(account)?,
                Err(_) => None,
            };
            sql.push_str(" AND account IN (?, ?) AND (account = ? OR totp_id = ?)");
            args.push(account.clone().into());
            args.push(owner.unwrap_or_else(|| account.clone()).into());
            args.push(account.clone().into());
            args.push(account.clone().into());
        }
        if let Some(since) = &filter.since {
            sql.push_str(" AND at >= ?");
            args.push(since.clone().into());
        }
        if let Some(until) = &filter.until {
            sql.push_str(" AND at <= ?");
            args.push(until.clone().into());
        }
        if !filter.events.is_empty() {
            sql.push_str(" AND event IN (");
            for (i, name) in filter.events.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(name.clone().into());
            }
            sql.push(')');
        }
        if let Some(limit) = filter.limit {
            sql = format!("SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?)");
            args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        }
        sql.push_str(" ORDER BY seq");
        let mut stmt = self.ok(self.tx.prepare(&sql))?;
        let mut rows = self.ok(stmt.query(rusqlite::params_from_iter(args)))?;
        while let Some(r) = rows.next().map_err(|e| sqlite_err(self.path, e))? {
            f(event_from_row(r).map_err(|e| sqlite_err(self.path, e))?)?;
        }
        Ok(())
    }

    fn vanished_enrollments(&mut self) -> Result<Vec<(i64, String)>> {
        // One pass over the (account, totp_id) index, which is in group order: every
        // event of an enrollment carries its account (`log --check` has checked the
        // chain that binds them before it asks).
        let r = self
            .tx
            .prepare(
                "SELECT e.seq, e.totp_id \
                 FROM (SELECT max(seq) AS seq FROM events WHERE totp_id IS NOT NULL \
                       GROUP BY account, totp_id) l \
                 JOIN events e ON e.seq = l.seq \
                 WHERE e.event <> 'removed' \
                   AND NOT EXISTS (SELECT 1 FROM totps t WHERE t.id = e.totp_id) \
                 ORDER BY e.seq",
            )
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        self.ok(r)
    }

    fn last_event_named(&mut self, event: &str) -> Result<Option<LastEvent>> {
        // `config_changed` is found through its partial index, which the literal in
        // the statement lets the planner use; any other name (`restore_accepted`, only
        // looked for after a rollback) by a scan.
        let sql = if event == "config_changed" {
            format!(
                "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
                 WHERE event = 'config_changed' AND ?1 = ?1 ORDER BY seq DESC LIMIT 1"
            )
        } else {
            format!(
                "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
                 WHERE event = ?1 ORDER BY seq DESC LIMIT 1"
            )
        };
        let r = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([event], last_event_from_row).optional());
        self.ok(r)
    }

    fn events_after(&mut self, after: i64) -> Result<u64> {
        let r = self
            .tx
            .prepare_cached("SELECT count(*) FROM events WHERE seq > ?1")
            .and_then(|mut s| s.query_row([after], |r| r.get::<_, i64>(0)));
        self.ok(r).map(|n| n as u64)
    }

    fn anchors(&mut self) -> Result<crate::integrity::Anchors> {
        let anchors = |r: &Row<'_>, at: usize| {
            Ok(crate::integrity::Anchors {
                config: r.get(at)?,
                restore: r.get(at + 1)?,
            })
        };
        let with_head = self
            .tx
            .prepare_cached(HEAD_AND_ANCHORS)
            .and_then(|mut s| s.query_row([], |r| anchors(r, 3)).optional());
        // A store with no head yet (or one whose head was deleted): on their own.
        let r = match with_head {
            Ok(None) => self
                .tx
                .prepare_cached(concat!("SELECT ", anchors_sql!()))
                .and_then(|mut s| s.query_row([], |r| anchors(r, 0))),
            other => other.map(|a| a.expect("matched")),
        };
        self.ok(r)
    }

    fn events_through(&mut self, seq: i64) -> Result<u64> {
        let r = self
            .tx
            .prepare_cached("SELECT count(*) FROM events WHERE seq <= ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get::<_, i64>(0)));
        self.ok(r).map(|n| n as u64)
    }

    fn last_event_of_account(&mut self, account: &str) -> Result<Option<LastEvent>> {
        // Through the (account, totp_id) index: every event of the account's.
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
             WHERE account = ?1 AND totp_id IS NOT NULL ORDER BY seq DESC LIMIT 1"
        );
        let r = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([account], last_event_from_row).optional());
        self.ok(r)
    }

    fn stats(&mut self, now: &str) -> Result<Stats> {
        let r = self.tx.query_row(
            "SELECT (SELECT count(*) FROM totps), \
                    (SELECT count(*) FROM totps WHERE verified), \
                    (SELECT count(*) FROM totps WHERE locked_until > ?1), \
                    (SELECT count(*) FROM totps t WHERE t.verified AND NOT EXISTS \
                        (SELECT 1 FROM backup_codes b WHERE b.totp_id = t.id \
                         AND b.used_at IS NULL)), \
                    (SELECT count(*) FROM events), \
                    (SELECT at FROM events ORDER BY seq DESC LIMIT 1), \
                    (SELECT user_version FROM pragma_user_version)",
            [now],
            |r| {
                let total: i64 = r.get(0)?;
                let verified: i64 = r.get(1)?;
                Ok(Stats {
                    total: total as u64,
                    verified: verified as u64,
                    unverified: (total - verified) as u64,
                    locked: r.get::<_, i64>(2)? as u64,
                    without_backup_codes: r.get::<_, i64>(3)? as u64,
                    events: r.get::<_, i64>(4)? as u64,
                    last_event_at: r.get(5)?,
                    schema_version: r.get(6)?,
                })
            },
        );
        self.ok(r)
    }

    fn size(&mut self) -> Result<Size> {
        let r = self.tx.query_row(
            "SELECT (SELECT count(*) FROM totps) + (SELECT count(*) FROM backup_codes) \
                  + (SELECT count(*) FROM events) + (SELECT count(*) FROM config) \
                  + (SELECT count(*) FROM meta) + 2",
            [],
            |r| r.get::<_, i64>(0),
        );
        Ok(Size {
            records: self.ok(r)? as u64,
        })
    }

    fn export(&mut self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let path = self.path;
        let err = |e| sqlite_err(path, e);
        if let Some(row) = self.vault_row()? {
            f(Record::Vault(row))?;
        }
        for (key, value) in self.config_pairs()? {
            f(Record::Config { key, value })?;
        }
        {
            let mut stmt = self.ok(self.tx.prepare("SELECT key, value FROM meta ORDER BY key"))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::Meta {
                    key: r.get(0).map_err(err)?,
                    value: r.get(1).map_err(err)?,
                })?;
            }
        }
        {
            let sql = format!("SELECT {TOTP_COLUMNS}, t.secret FROM totps t ORDER BY t.id");
            let mut stmt = self.ok(self.tx.prepare(&sql))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::Totp {
                    totp: totp_from_row(r).map_err(err)?,
                    sealed: r.get(15).map_err(err)?,
                })?;
            }
        }
        {
            let mut stmt = self.ok(self
                .tx
                .prepare("SELECT totp_id, hash, used_at FROM backup_codes ORDER BY totp_id"))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::BackupCode {
                    totp_id: r.get(0).map_err(err)?,
                    hash: r.get(1).map_err(err)?,
                    used_at: r.get(2).map_err(err)?,
                })?;
            }
        }
        self.for_each_stored_event(0, &mut |e| f(Record::Event(e)))?;
        if let Some(h) = self.head()? {
            f(Record::Head(h))?;
        }
        Ok(())
    }

    fn import(&mut self, r: &Record) -> Result<()> {
        match r {
            Record::Vault(row) => self.put_vault_row(row, &crate::timestamp(chrono::Utc::now())),
            Record::Totp { totp, sealed } => {
                let mac = totp.mac.clone().unwrap_or_default();
                if !self.insert_row(totp, sealed, &mac, &crate::names::skeleton(&totp.account))? {
                    return Err(store_err(format!(
                        "{}: account {} twice in the source",
                        self.path.display(),
                        crate::output::sanitize(&totp.account)
                    )));
                }
                if totp.mac.is_none() {
                    self.exec("UPDATE totps SET mac = NULL WHERE id = ?1", [&totp.id])?;
                }
                Ok(())
            }
            Record::BackupCode {
                totp_id,
                hash,
                used_at,
            } => self
                .exec(
                    "INSERT INTO backup_codes (totp_id, hash, used_at) VALUES (?1, ?2, ?3)",
                    params![totp_id, hash, used_at],
                )
                .map(drop),
            Record::Config { key, value } => self.set_config(key, value),
            Record::Meta { key, value } => self.set_meta(key, value),
            Record::Event(e) => self
                .exec(
                    "INSERT INTO events (seq, at, event, account, totp_id, detail, actor, state, \
                                         hash, mac) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        e.event.seq,
                        e.event.at,
                        e.event.event,
                        e.event.account,
                        e.event.totp_id,
                        e.event.detail,
                        e.event.actor,
                        e.event.state,
                        e.hash,
                        e.mac
                    ],
                )
                .map(drop),
            Record::Head(h) => self
                .exec(
                    "INSERT INTO log_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3)",
                    params![h.seq, h.hash, h.mac],
                )
                .map(drop),
        }
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| sqlite_err(path, e))
    }
}
