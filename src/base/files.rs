//! The checks a file must pass before totpctl trusts it, as OpenSSH's StrictModes
//! makes them: the store and its journal files, the key file, the host's state files,
//! and every directory from the root down to each. Someone who could replace or write
//! any of them could make totpctl obey a store, key or record they planted, so each
//! file must be a regular file and each directory a directory, owned by the user
//! running totpctl or by root, and writable by no one else (a directory may be
//! writable by others when it is sticky, as /tmp is, since then no one can replace
//! what another user put in it). A symbolic link is resolved first: its target, and
//! the directories above the target, are what gets checked.
//!
//! Every check of a file is made on an opened descriptor (`fstat`), not on the path,
//! so that what is checked is what is read.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Opens `path` for reading without blocking on a FIFO and, with `no_follow`, without
/// following a symbolic link. `Ok(None)` when nothing is there.
pub fn open_for_check(path: &Path, no_follow: bool) -> io::Result<Option<File>> {
    let mut flags = libc_flags::O_NONBLOCK | libc_flags::O_CLOEXEC;
    if no_follow {
        flags |= libc_flags::O_NOFOLLOW;
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The open(2) flags used here, from nix's re-export of the C library's values.
mod libc_flags {
    use nix::fcntl::OFlag;
    pub const O_NONBLOCK: i32 = OFlag::O_NONBLOCK.bits();
    pub const O_CLOEXEC: i32 = OFlag::O_CLOEXEC.bits();
    pub const O_NOFOLLOW: i32 = OFlag::O_NOFOLLOW.bits();
}

/// What kind of file `meta` describes, for a message.
fn kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The effective user id of this process (asked once: totpctl never changes it).
pub fn euid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *EUID.get_or_init(|| nix::unistd::geteuid().as_raw())
}

/// Directories this process has checked already, as a directory above another
/// (`false`) or as the one files are made in (`true`): a command checks the store's,
/// the key file's and the state's, which share most of their chain, and a verify
/// should not inspect `/` five times.
static CHECKED: std::sync::Mutex<Vec<(PathBuf, bool)>> = std::sync::Mutex::new(Vec::new());

fn checked_already(dir: &Path, own: bool) -> bool {
    CHECKED
        .lock()
        .map(|c| c.iter().any(|(d, o)| d == dir && (*o || !own)))
        .unwrap_or(false)
}

fn remember_checked(dir: &Path, own: bool) {
    if let Ok(mut c) = CHECKED.lock() {
        c.push((dir.to_path_buf(), own));
    }
}

/// Checks an opened file: a regular file owned by the effective user (or root),
/// writable by no one else; with `private`, not readable by anyone else either.
/// Returns the one-line problem, with its fix, if there is one.
pub fn check_private_file(
    file: &File,
    path: &Path,
    what: &str,
    private: bool,
) -> Result<(), String> {
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot inspect {what} {}: {e}", path.display()))?;
    check_file_meta(&meta, path, what, private)
}

/// [`check_private_file`] on metadata already read from a descriptor.
pub fn check_file_meta(
    meta: &Metadata,
    path: &Path,
    what: &str,
    private: bool,
) -> Result<(), String> {
    if !meta.is_file() {
        return Err(format!(
            "{what} {} is {}, not a regular file: remove it, or point totpctl at the real file",
            path.display(),
            kind(meta)
        ));
    }
    check_owner_and_mode(meta, path, what, if private { 0o077 } else { 0o022 })
}

/// Resolves every symbolic link of `path` whose last component may not exist yet:
/// its directory is resolved (it must exist), and the name joined to it, itself
/// resolved when it is a link. The result is absolute and free of links.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A dangling link is followed as far as it goes: its target's directory
            // is what must exist.
            if let Ok(target) = std::fs::read_link(path) {
                let base = path.parent().unwrap_or(Path::new("."));
                return resolve(&base.join(target));
            }
            let name = path.file_name().ok_or(e)?;
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Ok(std::fs::canonicalize(dir)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// Checks every directory from the root down to `dir`, which is absolute and free of
/// symbolic links (see [`resolve`]): each a directory owned by the effective user or
/// by root, and writable by no one else unless it is sticky. With `own`, `dir` itself
/// must be writable by no one else even when sticky: it is where totpctl (or SQLite,
/// for its journal files) makes new files by name. `what` names `dir` in messages.
pub fn check_dir_chain(dir: &Path, what: &str, own: bool) -> Result<(), String> {
    let mut at = PathBuf::new();
    let components: Vec<Component<'_>> = dir.components().collect();
    for (i, c) in components.iter().enumerate() {
        at.push(c);
        if matches!(c, Component::CurDir) {
            continue;
        }
        let last = i + 1 == components.len();
        if checked_already(&at, own && last) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&at)
            .map_err(|e| format!("cannot inspect {}: {e}", at.display()))?;
        let name = if last {
            what.to_string()
        } else {
            format!("{what}'s parent directory")
        };
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{name} {} became a symbolic link while it was checked: someone is changing \
                 the path; check who can write its directories",
                at.display()
            ));
        }
        if !meta.is_dir() {
            return Err(format!("{} is not a directory", at.display()));
        }
        let sticky = meta.mode() & 0o1000 != 0;
        let forbidden = if sticky && !(own && last) { 0 } else { 0o022 };
        check_owner_and_mode(&meta, &at, &name, forbidden)?;
        remember_checked(&at, forbidden != 0);
    }
    Ok(())
}

/// Checks the directory that holds a store, and every directory above it: see
/// [`check_dir_chain`]. `dir` is resolved (symbolic links followed) first.
pub fn check_store_dir(dir: &Path) -> Result<(), String> {
    let resolved = resolve(dir).map_err(|e| {
        format!(
            "cannot inspect the store's directory {}: {e}",
            dir.display()
        )
    })?;
    check_dir_chain(&resolved, "the store's directory", true)
}

fn check_owner_and_mode(
    meta: &Metadata,
    path: &Path,
    what: &str,
    forbidden: u32,
) -> Result<(), String> {
    let p = path.display();
    let me = euid();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!(
            "{what} {p} belongs to user id {}, not to you (user id {me}) or root: totpctl only \
             trusts files of its own user; copy it, or run totpctl as its owner",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & forbidden != 0 {
        let fix = if meta.is_dir() { "go-w" } else { "600" };
        return Err(format!(
            "{what} {p} is {} by other users (mode {mode:o}): run `chmod {fix} {p}` first",
            if forbidden == 0o077 && mode & 0o044 != 0 {
                "readable"
            } else {
                "writable"
            }
        ));
    }
    Ok(())
}

/// A private file read whole: opened without following a symbolic link, checked on
/// its descriptor as [`check_private_file`] with `private`, and its directories as
/// [`check_dir_chain`]. `Ok(None)` when it does not exist. For the files a command
/// reads its trust from: a password file, a CA file, a token file.
pub fn read_trusted(
    path: &Path,
    what: &str,
    private: bool,
    limit: u64,
) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let resolved = resolve(dir).map_err(|e| format!("cannot inspect {}: {e}", dir.display()))?;
    check_dir_chain(&resolved, &format!("the directory of {what}"), false)?;
    let file = match open_for_check(path, true) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
            return Err(format!(
                "{what} {} is a symbolic link, which totpctl does not follow for it: name the \
                 file itself",
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read {what} {}: {e}", path.display())),
    };
    check_private_file(&file, path, what, private)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} {} is larger than {limit} bytes: it is not one totpctl reads",
            path.display()
        ));
    }
    Ok(Some(bytes))
}
