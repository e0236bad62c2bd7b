//! What this host has seen of each store, kept outside the database, so that a store
//! put back to an older state is refused by every host that saw the later one.
//!
//! A database writer can put back older rows with their valid MACs, cut the newest
//! events off the log together with the head that names them, or put back a whole
//! older copy of the store: each such state once was genuine, so no MAC gives it
//! away. What gives it away is a host that saw more. So each host keeps, in its state
//! directory, one folder per store identity (a random id the store carries,
//! authenticated under its key), holding:
//! - `log`: the newest event of the log this host has seen (its seq and chain hash),
//!   and the last `restore_accepted` event it honoured;
//! - `accounts`: for each account it has served, that account's newest event (a
//!   table on disk, see `host_accounts`);
//! - `checked`: how far `log --check` has checked the chain, so that the next check
//!   starts there.
//!
//! and, per place (an SQLite file's real path, or a server's host, port and
//! database), which store identity it saw there, so that an emptied store, a
//! different one, or an unauthenticated (version 1) form of one is never taken for
//! the store it saw. Each record carries a MAC under a key derived from the store's
//! backup-code key, which a rekey keeps, so a rekey does not orphan the records.
//!
//! Records are written after each commit without waiting for the disk: a new record
//! is made whole under a temporary name and renamed into place; an existing one is
//! overwritten in place with one write of its fixed length (a rename over it would
//! make ext4 start writing it out at once, ten times the cost). A record lost or torn
//! in a crash fails its MAC and counts as absent: it only loosens the check; and
//! since a record is written only after the store committed what it names, it never
//! refuses an honest store. The state directory, its folders and its files are
//! checked as the key file is (the directories once per process).

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::engine::Position;
use super::host_accounts::{self, HostAccounts, Key, Seen};
use crate::base::error::{integrity_error, key_error};
use crate::base::files;

/// The name of the default state directory, beside the key file.
pub const DIR_NAME: &str = "totpctl-state";
/// The environment variable that moves the state directory.
pub const STATE_DIR_ENV: &str = "TOTPCTL_STATE_DIR";

/// The newest event of the log this host has seen, and the last `restore_accepted`
/// event it honoured (0: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    pub at: Position,
    pub restore: i64,
}

/// Which store this host saw at a place, and whether it held events then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub store_id: String,
    pub had_events: bool,
}

/// This host's records of one store.
pub struct Positions {
    /// The state directory.
    dir: PathBuf,
    /// The store's place.
    place: String,
    store_id: String,
    key: Zeroizing<[u8; 32]>,
}

/// The file of a place's binding, named by a digest of the place.
fn place_file(dir: &Path, place: &str) -> PathBuf {
    let digest = Sha256::digest(format!("totpctl place\0{place}").as_bytes());
    dir.join("places")
        .join(data_encoding::HEXLOWER.encode(&digest[..16]))
}

/// Which store this host saw at `place`, if any: read without a key, since the store
/// there may not open with one any more. Used only to refuse.
pub fn binding_at(dir: Option<&Path>, place: &str) -> Result<Option<Binding>> {
    let Some(dir) = dir else { return Ok(None) };
    let Some(text) = read(&place_file(dir, place))? else {
        return Ok(None);
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.as_slice() {
        ["totpctl-place", "1", id, events, _mac] => Ok(Some(Binding {
            store_id: (*id).to_string(),
            had_events: *events == "1",
        })),
        // Torn in a crash: as if it were not there.
        _ => Ok(None),
    }
}

/// Removes this host's record of what it saw at `place` (a new store made there on
/// purpose).
pub fn forget_place(dir: Option<&Path>, place: &str) -> Result<()> {
    let Some(dir) = dir else { return Ok(()) };
    match fs::remove_file(place_file(dir, place)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(key_error(format!(
            "cannot remove this host's record of {place}: {e}"
        ))),
    }
}

fn damaged(path: &Path) -> anyhow::Error {
    integrity_error(format!(
        "this host's record {} is not one totpctl writes: remove it if you trust the store \
         as it is now",
        path.display()
    ))
}

impl Positions {
    /// This host's records of the store `store_id` at `place`, in `dir`, under `key`
    /// (derived from the store's backup-code key).
    pub fn new(dir: PathBuf, place: &str, store_id: &str, key: Zeroizing<[u8; 32]>) -> Positions {
        Positions {
            dir,
            place: place.to_string(),
            store_id: store_id.to_string(),
            key,
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn store_dir(&self) -> PathBuf {
        self.dir.join(&self.store_id)
    }

    /// The accounts' records, in the store's folder (made, 0700, when `make`).
    fn accounts(&self, make: bool) -> Result<Option<HostAccounts<'_>>> {
        let dir = self.store_dir();
        if !dir.exists() {
            if !make {
                return Ok(None);
            }
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| key_error(format!("cannot make {}: {e}", dir.display())))?;
        }
        check_dir(&dir)?;
        Ok(Some(HostAccounts::new(&dir, &self.key, &self.store_id)))
    }

    fn mac(&self, kind: &str, name: &str, fields: &[&str]) -> String {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_ref())
            .expect("HMAC takes any key");
        for part in [kind, &self.store_id, name].iter().chain(fields) {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part.as_bytes());
        }
        data_encoding::HEXLOWER.encode(&m.finalize().into_bytes())
    }

    /// Reads a record `kind` of `name` from `path`: its fields, if its MAC checks out.
    fn read_record(&self, path: &Path, kind: &str, name: &str) -> Result<Option<Vec<String>>> {
        let Some(text) = read(path)? else {
            return Ok(None);
        };
        let mut fields: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let ok =
            fields.len() >= 3 && fields[0] == format!("totpctl-{kind}") && fields[1] == "1" && {
                let mac = fields.pop().unwrap_or_default();
                let body: Vec<&str> = fields[2..].iter().map(String::as_str).collect();
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    mac.as_bytes(),
                    self.mac(kind, name, &body).as_bytes(),
                ))
            };
        // A record torn in a crash, or edited: it counts as absent, which only loosens
        // the check (whoever could edit it could as well remove it).
        if !ok {
            return Ok(None);
        }
        Ok(Some(fields.split_off(2)))
    }

    fn write_record(&self, path: &Path, kind: &str, name: &str, fields: &[&str]) -> Result<()> {
        let mac = self.mac(kind, name, fields);
        let text = format!("totpctl-{kind} 1 {} {mac}\n", fields.join(" "));
        write(path, &text)
    }

    /// Which store this host saw at this place.
    pub fn binding(&self) -> Result<Option<Binding>> {
        binding_at(Some(&self.dir), &self.place)
    }

    /// Records that this place holds this store.
    pub fn bind(&self, had_events: bool) -> Result<()> {
        let events = if had_events { "1" } else { "0" };
        self.write_record(
            &place_file(&self.dir, &self.place),
            "place",
            &self.place,
            &[&self.store_id, events],
        )
    }

    /// The newest log position this host has seen of the store.
    pub fn log(&self) -> Result<Option<LogPosition>> {
        let path = self.store_dir().join("log");
        let Some(fields) = self.read_record(&path, "log", "log")? else {
            return Ok(None);
        };
        match fields.as_slice() {
            [seq, hash, restore] => Ok(Some(LogPosition {
                at: position(seq, hash).ok_or_else(|| damaged(&path))?,
                restore: restore.parse().map_err(|_| damaged(&path))?,
            })),
            _ => Err(damaged(&path)),
        }
    }

    /// Records the newest log position seen, unless another process of this host
    /// recorded a newer one meanwhile.
    pub fn save_log(&self, log: &LogPosition) -> Result<()> {
        if let Ok(Some(current)) = self.log()
            && current.at.seq > log.at.seq
            && current.restore == log.restore
        {
            return Ok(());
        }
        let seq = log.at.seq.to_string();
        let hash = data_encoding::HEXLOWER.encode(&log.at.hash);
        let restore = log.restore.to_string();
        self.write_record(
            &self.store_dir().join("log"),
            "log",
            "log",
            &[&seq, &hash, &restore],
        )
    }

    /// How far `log --check` has checked the chain on this host.
    pub fn checked(&self) -> Result<Option<Position>> {
        let path = self.store_dir().join("checked");
        let Some(fields) = self.read_record(&path, "checked", "checked")? else {
            return Ok(None);
        };
        match fields.as_slice() {
            [seq, hash] => Ok(Some(position(seq, hash).ok_or_else(|| damaged(&path))?)),
            _ => Err(damaged(&path)),
        }
    }

    pub fn save_checked(&self, at: &Position) -> Result<()> {
        let seq = at.seq.to_string();
        let hash = data_encoding::HEXLOWER.encode(&at.hash);
        self.write_record(
            &self.store_dir().join("checked"),
            "checked",
            "checked",
            &[&seq, &hash],
        )
    }

    /// The key of `account`'s record.
    pub fn account_key(&self, account: &str) -> Key {
        host_accounts::account_key(&self.key, account)
    }

    /// The newest event of `account` this host has seen.
    pub fn account(&self, account: &str) -> Result<Option<Position>> {
        match self.accounts(false)? {
            Some(a) => a.get(account),
            None => Ok(None),
        }
    }

    /// Records the newest event seen of each account, each only if it is newer than
    /// what is recorded already (another process of this host may have been quicker).
    pub fn save_accounts(&self, seen: &HashMap<Key, Seen>) -> Result<()> {
        if seen.is_empty() {
            return Ok(());
        }
        match self.accounts(true)? {
            Some(a) => a.save(seen),
            None => Ok(()),
        }
    }

    /// Forgets every account's record (a restore was accepted: they describe a
    /// history the store no longer has).
    pub fn forget_accounts(&self) -> Result<()> {
        match self.accounts(false)? {
            Some(a) => a.clear(),
            None => Ok(()),
        }
    }
}

fn position(seq: &str, hash: &str) -> Option<Position> {
    Some(Position {
        seq: seq.parse().ok().filter(|s: &i64| *s >= 0)?,
        hash: data_encoding::HEXLOWER.decode(hash.as_bytes()).ok()?,
    })
}

/// The length every record is padded to, so that one is overwritten whole.
const RECORD_LEN: usize = 256;

/// Directories checked already by this process (see [`check_dir`]).
static CHECKED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Checks a directory of the state as [`files::check_dir_chain`] does, once per
/// process: every directory above it for the state directory itself, and the folder
/// alone below it (totpctl made it, 0700, in a directory checked already).
fn check_dir(dir: &Path) -> Result<()> {
    if CHECKED
        .lock()
        .map(|c| c.iter().any(|d| d == dir))
        .unwrap_or(false)
    {
        return Ok(());
    }
    let resolved = files::resolve(dir).map_err(|e| {
        key_error(format!(
            "cannot inspect this host's state directory {}: {e}",
            dir.display()
        ))
    })?;
    files::check_dir_chain(&resolved, "this host's state directory", true).map_err(key_error)?;
    if let Ok(mut c) = CHECKED.lock() {
        c.push(dir.to_path_buf());
    }
    Ok(())
}

/// Reads a record, checked as the key file is (a regular file of this user or root,
/// not a link, in directories no one else can write); `None` when it is not there.
fn read(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        return Ok(None);
    }
    check_dir(dir)?;
    let file = match files::open_for_check(path, true) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) => {
            return Err(key_error(format!(
                "cannot read this host's record {} (a symbolic link is refused): {e}",
                path.display()
            )));
        }
    };
    files::check_private_file(&file, path, "this host's record", false).map_err(key_error)?;
    let mut bytes = Vec::with_capacity(RECORD_LEN);
    file.take(RECORD_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| key_error(format!("cannot read {}: {e}", path.display())))?;
    // A record torn in a crash reads as damaged, and its MAC says so.
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Writes a record without waiting for the disk: overwritten in place when it exists
/// (one write of [`RECORD_LEN`] bytes), else made whole under a temporary name and
/// renamed into place, its directories made (0700) first.
fn write(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| {
        key_error(format!(
            "cannot write this host's record {}: {e}; check the state directory (--state-dir)",
            path.display()
        ))
    };
    let mut bytes = text.as_bytes().to_vec();
    if bytes.len() > RECORD_LEN {
        return Err(key_error(format!(
            "this host's record {} would be longer than {RECORD_LEN} bytes",
            path.display()
        )));
    }
    bytes.resize(RECORD_LEN, b' ');
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail)?;
    }
    check_dir(dir)?;
    match fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
    {
        Ok(file) => {
            files::check_private_file(&file, path, "this host's record", false)
                .map_err(key_error)?;
            return file.write_all_at(&bytes, 0).map_err(fail);
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::now_v7().simple()));
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}
