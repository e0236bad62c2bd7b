//! SQLite: making a store file and opening one, trusting nothing on the way. A new
//! store is built under a temporary name and linked into place; an existing one, its
//! directories and its journal files are checked as OpenSSH's StrictModes checks its
//! files, and the files SQLite then has open are proven to be the ones checked.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use rusqlite::{Connection, OpenFlags};

use super::schema;
use crate::base::error::store_err;
use crate::base::files;

use super::tx::*;

/// Proves that the files SQLite has open are the ones [`check_file`] checked: the
/// store (the same device and inode as `checked`), and its write-ahead log (a regular
/// file of this user or root that no one else can write, on the same device). SQLite
/// opens them by path after the checks, and a file swapped in between would otherwise
/// be used unseen.
pub(super) fn prove_open_files(
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
        return Err(crate::base::error::integrity_error(format!(
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
            return Err(crate::base::error::integrity_error(format!(
                "the journal SQLite opened for {} is not beside it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The descriptor of the file SQLite holds for `op` (the store, or its journal or
/// write-ahead log), if it has one open.
pub(super) fn open_fd(conn: &Connection, op: std::ffi::c_int) -> Result<Option<i32>> {
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

/// Checks the store at `real` before SQLite opens it: its directories, and the file
/// and its journal files beside it, as [`files`] checks them. `path` names it in
/// messages. Nothing is opened here, only looked at (`lstat`): closing a descriptor
/// of the store would drop every lock this process holds on it, the locks of the
/// other connections of a server included, and another process would then take
/// itself for the last one and delete the write-ahead log under them. What SQLite
/// then opens is proven to be this file by [`prove_open_files`], on SQLite's own
/// descriptors. Returns what was checked.
pub(super) fn check_file(real: &Path, path: &Path) -> Result<fs::Metadata> {
    let dir = real.parent().unwrap_or(Path::new("/"));
    files::check_dir_chain(dir, "the store's directory", true).map_err(store_err)?;
    let meta = match fs::symlink_metadata(real) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(store_err(format!(
                "{} vanished as it was opened",
                path.display()
            )));
        }
        Err(e) => return Err(store_err(format!("cannot open {}: {e}", path.display()))),
    };
    files::check_file_meta(&meta, path, "store", false).map_err(store_err)?;
    // SQLite's own files beside it hold committed pages too: the same rules.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = real.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        match fs::symlink_metadata(&side) {
            Ok(m) => {
                files::check_file_meta(&m, &side, "store's journal", false).map_err(store_err)?
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(store_err(format!(
                    "cannot open {} (the store's journal): {e}",
                    side.display()
                )));
            }
        }
    }
    Ok(meta)
}

/// Refuses a store cut short in the middle of a page, read through the descriptor
/// SQLite opened (`fd`), which is borrowed, never closed.
pub(super) fn check_length(fd: i32, path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    // SAFETY: `fd` is SQLite's open descriptor of the store, borrowed for a pread
    // and an fstat; ManuallyDrop keeps the File from closing it.
    let file = std::mem::ManuallyDrop::new(unsafe {
        <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
    });
    let mut header = [0u8; 100];
    let len = match file
        .metadata()
        .and_then(|m| file.read_exact_at(&mut header, 0).map(|()| m.len()))
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
pub(super) fn connect(path: &Path, flags: OpenFlags, busy: Duration) -> Result<Connection> {
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
pub(super) fn create(path: &Path) -> Result<bool> {
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

pub(super) fn build_new_store(tmp: &Path) -> Result<()> {
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
