//! This host's records of the accounts it has served: for each, the newest event of
//! it this host saw (its seq and chain hash). One file per store, `accounts`, in the
//! store's folder of the state directory (see [`super::position`]).
//!
//! A verify reads one record and writes one, so the file is a hash table on disk that
//! either takes one read and one write of a few bytes: fixed-size records in buckets
//! of one page, an account's home bucket chosen by its key, overflow into the next
//! buckets. When it fills up, it is rebuilt twice the size under a temporary name and
//! renamed into place, a bounded number of pages in memory at a time.
//!
//! Nothing waits for the disk, and nothing is locked: two processes that write the
//! same empty slot at once, or one that writes while another rebuilds, lose one
//! record. A record lost, torn or edited (it fails its MAC) counts as absent, which
//! only loosens the check, as the module [`super::position`] explains.
//!
//! Layout: a header of [`HEADER`] bytes (magic, number of buckets, records counted),
//! then the buckets, each [`BUCKET`] bytes holding [`SLOTS`] records of [`SLOT`]
//! bytes: the account's key (16, a keyed hash of its name; all zero is an empty slot),
//! the seq (8, big-endian), the event's chain hash (32) and a MAC (16) of those under
//! the store's position key and identity.

use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::engine::Position;
use crate::base::error::key_error;
use crate::base::files;

const MAGIC: &[u8; 24] = b"totpctl-host-accounts 1\n";
const HEADER: u64 = 64;
const BUCKET: usize = 4096;
const SLOT: usize = 72;
const SLOTS: usize = BUCKET / SLOT;
/// Buckets probed from an account's home before the table counts as full.
const PROBE: u64 = 8;
/// The buckets of a new table, and the most records it holds before it doubles.
const FIRST_BUCKETS: u64 = 16;
const MAX_LOAD: f64 = 0.8;
/// Pages held in memory while many records are written.
const CACHE_PAGES: usize = 256;

/// The key of an account's record.
pub type Key = [u8; 16];
/// What a record holds: the seq and chain hash of the account's newest event seen.
pub type Seen = (i64, [u8; 32]);

/// The key of `account`'s record: a keyed hash of its name under the position key, so
/// the file does not say which accounts this host served.
pub fn account_key(key: &[u8; 32], account: &str) -> Key {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    m.update(b"totpctl host account name\0");
    m.update(account.as_bytes());
    let mut k: Key = m.finalize().into_bytes()[..16]
        .try_into()
        .expect("16 bytes");
    // All zero marks an empty slot.
    if k == [0; 16] {
        k[0] = 1;
    }
    k
}

/// One account's record.
struct Record {
    key: Key,
    seq: i64,
    hash: [u8; 32],
}

/// The accounts' records of one store.
pub struct HostAccounts<'a> {
    path: PathBuf,
    key: &'a [u8; 32],
    store_id: &'a str,
}

/// The file opened: its handle, buckets and records counted.
struct Table {
    file: File,
    buckets: u64,
    count: u64,
}

/// What an insert into a full stretch of buckets reports.
struct Full;

impl<'a> HostAccounts<'a> {
    /// The records in `dir` (the store's folder, checked by the caller) of the store
    /// `store_id`, under its position key.
    pub fn new(dir: &Path, key: &'a [u8; 32], store_id: &'a str) -> HostAccounts<'a> {
        HostAccounts {
            path: dir.join("accounts"),
            key,
            store_id,
        }
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.key).expect("HMAC takes any key")
    }

    fn account_key(&self, account: &str) -> Key {
        account_key(self.key, account)
    }

    fn mac(&self, r: &Record) -> [u8; 16] {
        let mut m = self.hmac();
        m.update(b"totpctl host account 1\0");
        m.update(&(self.store_id.len() as u64).to_be_bytes());
        m.update(self.store_id.as_bytes());
        m.update(&r.key);
        m.update(&r.seq.to_be_bytes());
        m.update(&r.hash);
        m.finalize().into_bytes()[..16]
            .try_into()
            .expect("16 bytes")
    }

    fn encode(&self, r: &Record) -> [u8; SLOT] {
        let mut slot = [0u8; SLOT];
        slot[..16].copy_from_slice(&r.key);
        slot[16..24].copy_from_slice(&r.seq.to_be_bytes());
        slot[24..56].copy_from_slice(&r.hash);
        slot[56..72].copy_from_slice(&self.mac(r));
        slot
    }

    /// The record in `slot`, if its MAC checks out.
    fn decode(&self, slot: &[u8]) -> Option<Record> {
        let r = Record {
            key: slot[..16].try_into().ok()?,
            seq: i64::from_be_bytes(slot[16..24].try_into().ok()?),
            hash: slot[24..56].try_into().ok()?,
        };
        let ok: bool = subtle::ConstantTimeEq::ct_eq(&slot[56..72], &self.mac(&r)[..]).into();
        (ok && r.seq >= 0).then_some(r)
    }

    /// Opens the table, `None` when there is none yet. A file that is not a table
    /// (torn in a crash as it was made) is as if absent: the next write replaces it.
    fn open(&self, write: bool) -> Result<Option<Table>> {
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.fail("read", e)),
        };
        files::check_private_file(&file, &self.path, "this host's record", false)
            .map_err(key_error)?;
        let mut header = [0u8; HEADER as usize];
        if file.read_exact_at(&mut header, 0).is_err() || &header[..24] != MAGIC {
            return Ok(None);
        }
        let buckets = u64::from_be_bytes(header[24..32].try_into().expect("8 bytes"));
        let count = u64::from_be_bytes(header[32..40].try_into().expect("8 bytes"));
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if buckets == 0 || len != HEADER + buckets * BUCKET as u64 {
            return Ok(None);
        }
        Ok(Some(Table {
            file,
            buckets,
            count,
        }))
    }

    fn fail(&self, what: &str, e: std::io::Error) -> anyhow::Error {
        key_error(format!(
            "cannot {what} this host's record {}: {e}; check the state directory (--state-dir)",
            self.path.display()
        ))
    }

    /// The newest event of `account` this host has seen.
    pub fn get(&self, account: &str) -> Result<Option<Position>> {
        let Some(table) = self.open(false)? else {
            return Ok(None);
        };
        let key = self.account_key(account);
        let mut page = vec![0u8; BUCKET];
        for b in probe(&key, table.buckets) {
            if table.file.read_exact_at(&mut page, offset(b)).is_err() {
                return Ok(None);
            }
            for slot in page.chunks_exact(SLOT) {
                if slot[..16] == key {
                    return Ok(self.decode(slot).map(|r| Position {
                        seq: r.seq,
                        hash: r.hash.to_vec(),
                    }));
                }
                if slot[..16] == [0; 16] {
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// Records the newest event seen of each account, each only if it is newer than
    /// the one recorded (another process of this host may have been quicker).
    pub fn save(&self, seen: &HashMap<Key, Seen>) -> Result<()> {
        let mut records: Vec<Record> = seen
            .iter()
            .map(|(key, (seq, hash))| Record {
                key: *key,
                seq: *seq,
                hash: *hash,
            })
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        let mut table = match self.open(true)? {
            Some(t) => t,
            None => self.create(FIRST_BUCKETS)?,
        };
        let wanted = table.count + records.len() as u64;
        if wanted as f64 > MAX_LOAD * (table.buckets * SLOTS as u64) as f64 {
            table = self.grow(table, wanted)?;
        }
        // In the order of their home buckets, so that many records are written a page
        // at a time.
        records.sort_by_key(|r| home(&r.key, table.buckets));
        loop {
            let mut pages = Pages::new(&table.file);
            let mut added = 0;
            let mut rest = None;
            for (i, r) in records.iter().enumerate() {
                match pages.insert(self, table.buckets, r) {
                    Ok(new) => added += u64::from(new),
                    Err(Full) => {
                        rest = Some(i);
                        break;
                    }
                }
            }
            pages.flush().map_err(|e| self.fail("write", e))?;
            if added > 0 {
                table.count += added;
                write_count(&table).map_err(|e| self.fail("write", e))?;
            }
            let Some(i) = rest else { return Ok(()) };
            records.drain(..i);
            drop(pages);
            // Full before its load says so (records clustered, or counted low by a
            // race): twice the size at least.
            let wanted = (table.count + records.len() as u64).max(table.buckets * SLOTS as u64);
            table = self.grow(table, wanted)?;
            records.sort_by_key(|r| home(&r.key, table.buckets));
        }
    }

    /// Forgets every record (a restore was accepted: they describe a history the store
    /// no longer has).
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.fail("remove", e)),
        }
    }

    /// Makes an empty table of `buckets` buckets under a temporary name.
    fn make(&self, buckets: u64) -> Result<(PathBuf, Table)> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".accounts.{}.tmp", uuid::Uuid::now_v7().simple()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| self.fail("write", e))?;
        let mut header = [0u8; HEADER as usize];
        header[..24].copy_from_slice(MAGIC);
        header[24..32].copy_from_slice(&buckets.to_be_bytes());
        let made = file
            .set_len(HEADER + buckets * BUCKET as u64)
            .and_then(|()| file.write_all_at(&header, 0));
        if let Err(e) = made {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.fail("write", e));
        }
        Ok((
            tmp,
            Table {
                file,
                buckets,
                count: 0,
            },
        ))
    }

    fn install(&self, tmp: &Path) -> Result<()> {
        std::fs::rename(tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(tmp);
            self.fail("write", e)
        })
    }

    fn create(&self, buckets: u64) -> Result<Table> {
        let (tmp, table) = self.make(buckets)?;
        self.install(&tmp)?;
        Ok(table)
    }

    /// Rebuilds the table with room for `wanted` records, reading the old one a page at
    /// a time. Records that fail their MAC are dropped.
    fn grow(&self, old: Table, wanted: u64) -> Result<Table> {
        let mut buckets = old.buckets.max(FIRST_BUCKETS);
        while wanted as f64 > MAX_LOAD * (buckets * SLOTS as u64) as f64 {
            buckets *= 2;
        }
        loop {
            let (tmp, mut new) = self.make(buckets)?;
            let mut pages = Pages::new(&new.file);
            let mut page = vec![0u8; BUCKET];
            let mut full = false;
            'copy: for b in 0..old.buckets {
                if old.file.read_exact_at(&mut page, offset(b)).is_err() {
                    break;
                }
                for slot in page.chunks_exact(SLOT) {
                    if let Some(r) = self.decode(slot) {
                        match pages.insert(self, buckets, &r) {
                            Ok(added) => new.count += u64::from(added),
                            Err(Full) => {
                                full = true;
                                break 'copy;
                            }
                        }
                    }
                }
            }
            if full {
                drop(pages);
                let _ = std::fs::remove_file(&tmp);
                buckets *= 2;
                continue;
            }
            let written = pages.flush().and_then(|()| write_count(&new));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(self.fail("write", e));
            }
            self.install(&tmp)?;
            return Ok(new);
        }
    }
}

/// The home bucket of a key.
fn home(key: &Key, buckets: u64) -> u64 {
    u64::from_le_bytes(key[..8].try_into().expect("8 bytes")) % buckets
}

/// The buckets a key may be in, from its home.
fn probe(key: &Key, buckets: u64) -> impl Iterator<Item = u64> {
    let start = home(key, buckets);
    (0..PROBE.min(buckets)).map(move |i| (start + i) % buckets)
}

fn offset(bucket: u64) -> u64 {
    HEADER + bucket * BUCKET as u64
}

fn write_count(table: &Table) -> std::io::Result<()> {
    table.file.write_all_at(&table.count.to_be_bytes(), 32)
}

/// Pages of a table read and changed in memory, written back on [`Pages::flush`] or
/// when more than [`CACHE_PAGES`] are held: each with the slots changed in it, written
/// one by one when they are few, so that a record another process wrote meanwhile in
/// the same page is not overwritten with what this one read.
struct Pages<'f> {
    file: &'f File,
    held: HashMap<u64, (Box<[u8]>, Vec<usize>)>,
}

impl<'f> Pages<'f> {
    fn new(file: &'f File) -> Pages<'f> {
        Pages {
            file,
            held: HashMap::new(),
        }
    }

    fn page(&mut self, bucket: u64) -> std::io::Result<&mut (Box<[u8]>, Vec<usize>)> {
        if !self.held.contains_key(&bucket) {
            if self.held.len() >= CACHE_PAGES {
                self.flush()?;
            }
            let mut page = vec![0u8; BUCKET].into_boxed_slice();
            self.file.read_exact_at(&mut page, offset(bucket))?;
            self.held.insert(bucket, (page, Vec::new()));
        }
        Ok(self.held.get_mut(&bucket).expect("just inserted"))
    }

    /// Puts `r` in its slot: over the account's record if that is older, else in the
    /// first empty slot from its home. Whether a slot was taken; `Full` when none of
    /// the probed buckets has room. A page that cannot be read is skipped, as a record
    /// lost.
    fn insert(&mut self, t: &HostAccounts<'_>, buckets: u64, r: &Record) -> Result<bool, Full> {
        for b in probe(&r.key, buckets) {
            let Ok((page, dirty)) = self.page(b) else {
                return Ok(false);
            };
            for (i, slot) in page.chunks_exact_mut(SLOT).enumerate() {
                let empty = slot[..16] == [0; 16];
                if empty || slot[..16] == r.key {
                    if !empty && t.decode(slot).is_some_and(|old| old.seq >= r.seq) {
                        return Ok(false);
                    }
                    slot.copy_from_slice(&t.encode(r));
                    dirty.push(i);
                    return Ok(empty);
                }
            }
        }
        Err(Full)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for (bucket, (page, dirty)) in self.held.drain() {
            if dirty.len() > 4 {
                self.file.write_all_at(&page, offset(bucket))?;
                continue;
            }
            for i in dirty {
                let slot = &page[i * SLOT..(i + 1) * SLOT];
                self.file
                    .write_all_at(slot, offset(bucket) + (i * SLOT) as u64)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
