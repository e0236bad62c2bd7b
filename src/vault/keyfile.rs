//! Key files: read, made (whole, 0600, never over another) and checked as OpenSSH's
//! StrictModes checks its files.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use zeroize::Zeroizing;

use crate::base::error::key_error;

use super::keys::*;

/// The default key file of an SQLite store: its path with `.key` appended.
pub fn key_file_beside(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// Copies a key file (checked as any key file is) to a new path, created 0600: `copy`
/// gives an SQLite DEST the source's key beside it.
pub fn copy_key_file(from: &Path, to: &Path) -> Result<()> {
    let key = read_key_file(from)?.ok_or_else(|| {
        key_error(format!(
            "key file {} is missing: restore it, or point {KEY_FILE_ENV} at it",
            from.display()
        ))
    })?;
    write_key_file(to, &key)
}

/// The largest key file read: a key is one short line and a comment.
const MAX_KEY_FILE: u64 = 4096;

/// Reads a key file; `None` if there is none. The file is opened without following a
/// symbolic link and checked on the opened descriptor: a regular file, owned by this
/// user, with no permission for anyone else.
pub(super) fn read_key_file(path: &Path) -> Result<Option<Key>> {
    use std::io::Read;
    check_key_dir(path)?;
    let file = match crate::base::files::open_for_check(path, true) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
            return Err(key_error(format!(
                "key file {} is a symbolic link, which totpctl does not follow for its key: \
                 point {KEY_FILE_ENV} at the file itself",
                path.display()
            )));
        }
        Err(e) => {
            return Err(key_error(format!(
                "cannot read key file {}: {e}",
                path.display()
            )));
        }
    };
    crate::base::files::check_private_file(&file, path, "key file", true).map_err(key_error)?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|e| key_error(format!("cannot read key file {}: {e}", path.display())))?;
    let not_a_key = || {
        key_error(format!(
            "{} is not a totpctl key file (no {KEY_PREFIX} line)",
            path.display()
        ))
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(KEY_PREFIX))
        .ok_or_else(not_a_key)?;
    let bytes = Zeroizing::new(
        data_encoding::BASE32_NOPAD
            .decode(&line.as_bytes()[KEY_PREFIX.len()..])
            .map_err(|_| not_a_key())?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(not_a_key());
    }
    key.copy_from_slice(&bytes);
    Ok(Some(key))
}

/// Refuses, before a new store is made, a key file the first enrollment could not
/// make or could not trust: in a directory that does not exist (the error says how to
/// make it), or one others can write. A refused first command then leaves no empty
/// store behind, which a later command would read as "nobody is enrolled".
pub fn check_new_key_file(keys: &KeySource) -> Result<()> {
    let Some(path) = keys.key_file.as_deref() else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(missing_key_dir(path, dir));
    }
    check_key_dir(path)
}

fn missing_key_dir(path: &Path, dir: &Path) -> anyhow::Error {
    key_error(format!(
        "cannot make the key file {}: its directory {} does not exist; make it first, \
         readable by no one else: mkdir -m 700 {} (nothing was created)",
        path.display(),
        dir.display(),
        crate::base::text::shell_word(&dir.to_string_lossy())
    ))
}

/// Checks the directories of a key file as StrictModes does (src/store/files.rs):
/// whoever could write one of them could swap the key for one they made. A directory
/// that does not exist yet holds no key to check.
fn check_key_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let resolved = match crate::base::files::resolve(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(key_error(format!(
                "cannot inspect the key file's directory {}: {e}",
                dir.display()
            )));
        }
    };
    crate::base::files::check_dir_chain(&resolved, "the key file's directory", false)
        .map_err(key_error)
}

/// Writes a new random key to `path`, created 0600; fails if the file exists.
pub(super) fn create_key_file(path: &Path) -> Result<Key> {
    let key = random_key()?;
    write_key_file(path, &key)?;
    Ok(key)
}

pub(super) fn write_key_file(path: &Path, key: &Key) -> Result<()> {
    let text = Zeroizing::new(format!(
        "# totpctl key file: it opens the secrets of one store. Keep it secret, and keep\n\
         # a backup apart from the store: without it the enrollments cannot be verified.\n\
         {KEY_PREFIX}{}\n",
        data_encoding::BASE32_NOPAD.encode(key.as_ref())
    ));
    // Written whole under a temporary name and linked into place, so that a process
    // killed half-way never leaves an empty or partial key file that would lock the
    // store out; the link fails, like create_new, if a key file is already there.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", uuid::Uuid::now_v7().simple()));
    let tmp = PathBuf::from(tmp);
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .map_err(|e| {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if e.kind() == ErrorKind::NotFound && !dir.exists() {
                return missing_key_dir(path, dir);
            }
            key_error(format!("cannot write key file {}: {e}", path.display()))
        })
        .and_then(|()| {
            fs::hard_link(&tmp, path)
                .map_err(|e| key_error(format!("cannot create key file {}: {e}", path.display())))
        });
    let _ = fs::remove_file(&tmp);
    result
}
