//! The checks a file must pass before totpctl trusts it: a store file and its
//! directory, and a key file. Someone who could replace or write either could make
//! totpctl obey a store or key they planted, so each must be a regular file (the
//! directory a directory), owned by the user running totpctl, and writable by no one
//! else. Every check is made on an opened descriptor (`fstat`), not on the path, so
//! that what is checked is what is read.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

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

/// The effective user id of this process.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Checks an opened file: a regular file owned by the effective user, writable by no
/// one else; with `private`, not readable by anyone else either. Returns the one-line
/// problem, with its fix, if there is one.
pub fn check_private_file(
    file: &File,
    path: &Path,
    what: &str,
    private: bool,
) -> Result<(), String> {
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot inspect {what} {}: {e}", path.display()))?;
    let p = path.display();
    if !meta.is_file() {
        return Err(format!(
            "{what} {p} is {}, not a regular file: remove it, or point totpctl at the real file",
            kind(&meta)
        ));
    }
    check_owner_and_mode(&meta, path, what, if private { 0o077 } else { 0o022 })
}

/// Checks the directory that holds a store: a directory owned by the effective user
/// and writable by no one else (anyone who can write it can replace the store).
pub fn check_store_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        format!(
            "cannot inspect the store's directory {}: {e}",
            dir.display()
        )
    })?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    check_owner_and_mode(&meta, dir, "the store's directory", 0o022)
}

fn check_owner_and_mode(
    meta: &Metadata,
    path: &Path,
    what: &str,
    forbidden: u32,
) -> Result<(), String> {
    let p = path.display();
    let me = euid();
    if meta.uid() != me {
        return Err(format!(
            "{what} {p} belongs to user id {}, not to you (user id {me}): totpctl only trusts \
             files of its own user; copy it, or run totpctl as its owner",
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
