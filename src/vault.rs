//! Secrets at rest (SPEC §5).
//!
//! The store holds two random 32-byte data keys, sealed together ("wrapped") under a
//! key-encryption key that never enters the database: either the contents of a key
//! file kept beside it, or a key derived from a passphrase with Argon2id. One data key
//! seals each TOTP secret with XChaCha20-Poly1305, bound to its row by the row's id as
//! associated data, so a sealed secret copied onto another row does not open. The other
//! keys the HMAC-SHA-256 under which backup codes are stored. A wrong key fails to
//! unwrap, and nothing is accepted or changed.
//!
//! Rekeying seals every secret again under a new data key and wraps the keys under the
//! new key-encryption key; the backup-code key is carried over, since the codes
//! themselves are known only to their owners.

use std::fs;
use std::io::{ErrorKind, IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, key_error};
use crate::store::{self, SqlContext, VaultRow};

/// The environment variable that moves the key file.
pub const KEY_FILE_ENV: &str = "TOTPCTL_KEY_FILE";
/// The environment variable that supplies a passphrase.
pub const PASSPHRASE_ENV: &str = "TOTPCTL_PASSPHRASE";

const KEY_PREFIX: &str = "TOTPCTL-KEY-1-";
const NONCE_LEN: usize = 24;
const SEAL_VERSION: u8 = 1;
/// Argon2id parameters for new passphrase stores: 64 MiB, 3 passes, 1 lane.
const ARGON2_M_KIB: u32 = 64 * 1024;
const ARGON2_T: u32 = 3;
const ARGON2_P: u32 = 1;

type Key = Zeroizing<[u8; 32]>;

/// How a store's keys are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    KeyFile,
    Passphrase,
}

impl Protection {
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::KeyFile => "key-file",
            Protection::Passphrase => "passphrase",
        }
    }
}

/// The unwrapped data keys of a store.
pub struct Vault {
    data_key: Key,
    hash_key: Key,
    protection: Protection,
}

/// Where a store's key file lives: `TOTPCTL_KEY_FILE`, else the store's path with
/// `.key` appended.
pub fn key_file_path(store: &Path) -> PathBuf {
    match std::env::var_os(KEY_FILE_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let mut p = store.as_os_str().to_owned();
            p.push(".key");
            PathBuf::from(p)
        }
    }
}

/// The file a rekey writes the new key to before it commits.
fn pending_path(key_file: &Path) -> PathBuf {
    let mut p = key_file.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

impl Vault {
    /// Unwraps the data keys of the store. Fails with `key_error` when the store has no
    /// keys yet, or the key at hand does not open them.
    pub fn unlock(conn: &Connection, store_path: &Path, interactive: bool) -> Result<Vault> {
        let row = store::vault_row(conn).sql(store_path)?.ok_or_else(|| {
            key_error(format!(
                "{} has no sealed secrets yet (nothing was enrolled)",
                store_path.display()
            ))
        })?;
        unwrap_row(&row, store_path, interactive)
    }

    /// Proves the key at hand opens the store before a change that needs no secret
    /// (remove, unlock, config): whoever cannot open the store cannot change it
    /// either. A store with nothing sealed yet has no key to check.
    pub fn require(conn: &Connection, store_path: &Path, interactive: bool) -> Result<()> {
        match store::vault_row(conn).sql(store_path)? {
            Some(row) => unwrap_row(&row, store_path, interactive).map(drop),
            None => Ok(()),
        }
    }

    /// Like [`Vault::unlock`], but a store without keys gets fresh ones, protected by
    /// its key file (which is created, 0600, if it does not exist yet). The caller
    /// holds the write transaction.
    pub fn unlock_or_init(
        conn: &Connection,
        store_path: &Path,
        interactive: bool,
        now: &str,
    ) -> Result<Vault> {
        if let Some(row) = store::vault_row(conn).sql(store_path)? {
            return unwrap_row(&row, store_path, interactive);
        }
        let key_file = key_file_path(store_path);
        let kek = match read_key_file(&key_file)? {
            Some(kek) => kek,
            None => create_key_file(&key_file)?,
        };
        let vault = Vault {
            data_key: random_key()?,
            hash_key: random_key()?,
            protection: Protection::KeyFile,
        };
        let row = vault.wrap(&kek, Protection::KeyFile, None, None)?;
        store::put_vault_row(conn, &row, now).sql(store_path)?;
        Ok(vault)
    }

    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// Seals a TOTP secret for the row `id`.
    pub fn seal(&self, id: &str, secret: &[u8]) -> Result<Vec<u8>> {
        let nonce = random_nonce()?;
        let cipher = cipher(&self.data_key);
        let aad = secret_aad(id);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing a secret failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens the sealed secret of row `id`.
    pub fn open(&self, id: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let broken = || {
            key_error(format!(
                "the sealed secret of enrollment {id} does not open with this store's key: \
                 the row was altered or copied from elsewhere"
            ))
        };
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEAL_VERSION {
            return Err(broken());
        }
        let nonce = XNonce::try_from(&sealed[1..1 + NONCE_LEN]).map_err(|_| broken())?;
        let cipher = cipher(&self.data_key);
        let aad = secret_aad(id);
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| broken())
    }

    /// The keyed hash a backup code of row `id` is stored as.
    pub fn hash_code(&self, id: &str, code: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.hash_key.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(b"totpctl backup code v1\0");
        mac.update(id.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A copy with a fresh data key (the backup-code key is kept), for rekeying.
    pub fn rotated(&self, protection: Protection) -> Result<Vault> {
        Ok(Vault {
            data_key: random_key()?,
            hash_key: self.hash_key.clone(),
            protection,
        })
    }

    /// Wraps the data keys under `kek`.
    fn wrap(
        &self,
        kek: &Key,
        protection: Protection,
        kdf: Option<String>,
        salt: Option<Vec<u8>>,
    ) -> Result<VaultRow> {
        let mut keys = Zeroizing::new([0u8; 64]);
        keys[..32].copy_from_slice(self.data_key.as_ref());
        keys[32..].copy_from_slice(self.hash_key.as_ref());
        let nonce = random_nonce()?;
        let aad = wrap_aad(protection.as_str());
        let ct = cipher(kek)
            .encrypt(
                &nonce,
                Payload {
                    msg: keys.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("wrapping the store's keys failed"))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&ct);
        Ok(VaultRow {
            protection: protection.as_str().to_string(),
            kdf,
            salt,
            wrapped,
        })
    }
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new_from_slice(&key[..]).expect("the key is 32 bytes")
}

fn secret_aad(id: &str) -> Vec<u8> {
    [b"totpctl secret v1\0".as_slice(), id.as_bytes()].concat()
}

fn wrap_aad(protection: &str) -> Vec<u8> {
    [b"totpctl vault v1\0".as_slice(), protection.as_bytes()].concat()
}

fn unwrap_row(row: &VaultRow, store_path: &Path, interactive: bool) -> Result<Vault> {
    match row.protection.as_str() {
        "key-file" => {
            let key_file = key_file_path(store_path);
            let Some(kek) = read_key_file(&key_file)? else {
                // A rekey from a passphrase that committed but was stopped before it
                // moved its new key file into place leaves only the pending file.
                return finish_interrupted_rekey(row, &key_file).ok_or_else(|| {
                    key_error(format!(
                        "key file {} is missing, and this store's secrets are sealed with \
                         it: restore it, or point {KEY_FILE_ENV} at it",
                        key_file.display()
                    ))
                });
            };
            match unwrap_with(row, &kek, Protection::KeyFile) {
                Some(v) => Ok(v),
                None => finish_interrupted_rekey(row, &key_file).ok_or_else(|| {
                    key_error(format!(
                        "the key in {} does not open {}: it is not the key this store was \
                         sealed with",
                        key_file.display(),
                        store_path.display()
                    ))
                }),
            }
        }
        "passphrase" => {
            let passphrase = read_passphrase(
                &format!("Passphrase for {}: ", store_path.display()),
                interactive,
            )?;
            let kek = derive_kek(&passphrase, row)?;
            unwrap_with(row, &kek, Protection::Passphrase).ok_or_else(|| {
                key_error(format!(
                    "wrong passphrase for {}: nothing was checked or changed",
                    store_path.display()
                ))
            })
        }
        other => Err(crate::store::corrupt(
            store_path,
            format!("unknown key protection {other:?}"),
        )),
    }
}

fn unwrap_with(row: &VaultRow, kek: &Key, protection: Protection) -> Option<Vault> {
    if row.wrapped.len() < NONCE_LEN {
        return None;
    }
    let nonce = XNonce::try_from(&row.wrapped[..NONCE_LEN]).ok()?;
    let keys = Zeroizing::new(
        cipher(kek)
            .decrypt(
                &nonce,
                Payload {
                    msg: &row.wrapped[NONCE_LEN..],
                    aad: &wrap_aad(protection.as_str()),
                },
            )
            .ok()?,
    );
    if keys.len() != 64 {
        return None;
    }
    let mut data_key = Zeroizing::new([0u8; 32]);
    let mut hash_key = Zeroizing::new([0u8; 32]);
    data_key.copy_from_slice(&keys[..32]);
    hash_key.copy_from_slice(&keys[32..]);
    Some(Vault {
        data_key,
        hash_key,
        protection,
    })
}

/// A rekey that committed its transaction but was stopped before it moved the new
/// key file into place leaves that file beside the old one: if it opens the store,
/// finish the move.
fn finish_interrupted_rekey(row: &VaultRow, key_file: &Path) -> Option<Vault> {
    let pending = pending_path(key_file);
    let kek = read_key_file(&pending).ok()??;
    let vault = unwrap_with(row, &kek, Protection::KeyFile)?;
    // Best effort: the store opens with the pending key either way.
    let _ = fs::rename(&pending, key_file);
    Some(vault)
}

/// Reads a key file; `None` if there is none.
fn read_key_file(path: &Path) -> Result<Option<Key>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(key_error(format!(
                "cannot read key file {}: {e}",
                path.display()
            )));
        }
    };
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o600);
    if mode & 0o077 != 0 {
        return Err(key_error(format!(
            "key file {} is readable by other users (mode {:o}): run `chmod 600 {}` first",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
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

/// Writes a new random key to `path`, created 0600; fails if the file exists.
fn create_key_file(path: &Path) -> Result<Key> {
    let key = random_key()?;
    write_key_file(path, &key)?;
    Ok(key)
}

fn write_key_file(path: &Path, key: &Key) -> Result<()> {
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
        .map_err(|e| key_error(format!("cannot write key file {}: {e}", path.display())))
        .and_then(|()| {
            fs::hard_link(&tmp, path)
                .map_err(|e| key_error(format!("cannot create key file {}: {e}", path.display())))
        });
    let _ = fs::remove_file(&tmp);
    result
}

/// Reads a passphrase from `TOTPCTL_PASSPHRASE`, else from the terminal with no echo.
pub fn read_passphrase(prompt: &str, interactive: bool) -> Result<Zeroizing<String>> {
    if let Some(p) = std::env::var_os(PASSPHRASE_ENV) {
        return p
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| key_error(format!("{PASSPHRASE_ENV} is not valid UTF-8")));
    }
    if !interactive || !std::io::stdin().is_terminal() {
        return Err(key_error(format!(
            "this store is protected by a passphrase: set {PASSPHRASE_ENV}, or run on a terminal \
             to be asked for it"
        )));
    }
    crate::prompt_hidden(prompt)
        .map(Zeroizing::new)
        .map_err(|e| key_error(format!("cannot read the passphrase: {e}")))
}

fn argon2_params(m: u32, t: u32, p: u32) -> Result<argon2::Argon2<'static>> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| key_error(format!("bad Argon2 parameters: {e}")))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

fn derive_kek(passphrase: &str, row: &VaultRow) -> Result<Key> {
    let kdf = row.kdf.as_deref().unwrap_or_default();
    let parse = |name: &str| -> Option<u32> {
        kdf.split(',')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    };
    let (Some(m), Some(t), Some(p)) = (parse("m"), parse("t"), parse("p")) else {
        return Err(key_error(format!("unreadable Argon2id parameters {kdf:?}")));
    };
    let salt = row.salt.as_deref().unwrap_or_default();
    let mut kek = Zeroizing::new([0u8; 32]);
    argon2_params(m, t, p)?
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
        .map_err(|e| key_error(format!("deriving the key failed: {e}")))?;
    Ok(kek)
}

/// What a rekey leaves to do once its transaction has committed.
pub enum AfterCommit {
    /// Move the new key file into place.
    InstallKeyFile { pending: PathBuf, key_file: PathBuf },
    /// The store now uses a passphrase: the old key file is no longer needed.
    RemoveKeyFile { key_file: PathBuf },
}

/// Seals every secret of the store again under a new data key and wraps the keys for
/// `protection`. Runs inside the caller's write transaction; the new key file, if
/// any, is written beside the old one and installed by [`finish_rekey`] after commit.
pub fn rekey(
    conn: &Connection,
    store_path: &Path,
    old: &Vault,
    protection: Protection,
    new_passphrase: Option<&str>,
    now: &str,
) -> Result<(Vault, AfterCommit)> {
    let new = old.rotated(protection)?;
    for (id, sealed) in store::all_sealed_secrets(conn).sql(store_path)? {
        let secret = old.open(&id, &sealed)?;
        store::reseal(conn, &id, &new.seal(&id, &secret)?).sql(store_path)?;
    }
    let key_file = key_file_path(store_path);
    let (row, after) = match (protection, new_passphrase) {
        (Protection::Passphrase, Some(passphrase)) => {
            let mut salt = vec![0u8; 16];
            getrandom::fill(&mut salt).context("the operating system's random source failed")?;
            let kdf = format!("argon2id,v=19,m={ARGON2_M_KIB},t={ARGON2_T},p={ARGON2_P}");
            let mut kek = Zeroizing::new([0u8; 32]);
            argon2_params(ARGON2_M_KIB, ARGON2_T, ARGON2_P)?
                .hash_password_into(passphrase.as_bytes(), &salt, kek.as_mut())
                .map_err(|e| key_error(format!("deriving the key failed: {e}")))?;
            let row = new.wrap(&kek, protection, Some(kdf), Some(salt))?;
            (row, AfterCommit::RemoveKeyFile { key_file })
        }
        _ => {
            let pending = pending_path(&key_file);
            match fs::remove_file(&pending) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(key_error(format!(
                        "cannot remove the stale {}: {e}",
                        pending.display()
                    )));
                }
            }
            let kek = create_key_file(&pending)?;
            let row = new.wrap(&kek, Protection::KeyFile, None, None)?;
            (row, AfterCommit::InstallKeyFile { pending, key_file })
        }
    };
    store::put_vault_row(conn, &row, now).sql(store_path)?;
    Ok((new, after))
}

/// Completes a committed rekey. If this fails or is interrupted, the next command
/// still opens the store (see [`finish_interrupted_rekey`]).
pub fn finish_rekey(after: AfterCommit) -> Result<()> {
    match after {
        AfterCommit::InstallKeyFile { pending, key_file } => fs::rename(&pending, &key_file)
            .with_context(|| {
                format!(
                    "the store was rekeyed, but moving {} to {} failed; the next command will \
                     retry",
                    pending.display(),
                    key_file.display()
                )
            }),
        AfterCommit::RemoveKeyFile { key_file } => match fs::remove_file(&key_file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Key(format!(
                "the store now uses a passphrase, but the old key file {} could not be \
                 removed: {e}",
                key_file.display()
            ))
            .into()),
        },
    }
}

fn random_key() -> Result<Key> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).context("the operating system's random source failed")?;
    Ok(key)
}

fn random_nonce() -> Result<XNonce> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).context("the operating system's random source failed")?;
    Ok(XNonce::from(nonce))
}

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut buf).context("the operating system's random source failed")?;
    Ok(buf)
}
