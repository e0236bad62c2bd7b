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
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::base::error::{Error, integrity_error, key_error};
use crate::domain::integrity;
use crate::domain::model::Totp;
use crate::store::engine::{Tx, VaultRow};

pub mod held;
mod keyfile;
mod keys;
mod passphrase;
mod unwrap;

pub use held::HeldKey;
pub use keyfile::{check_new_key_file, copy_key_file, key_file_beside};
use keyfile::{create_key_file, read_key_file, write_key_file};
use keys::*;
pub use keys::{KEY_FILE_ENV, KeySource, PASSPHRASE_ENV, Protection, random_bytes};
use passphrase::*;
use unwrap::unwrap_row;

/// The first byte of a sealed secret: 2 binds it to its enrollment's account and
/// parameters; 1 (version 1 stores) to its id only.
const SEAL_VERSION: u8 = 2;
/// The version of key records this build writes (see `wrap_aad`).
const WRAP_VERSION: i64 = 2;
/// The unwrapped data keys of a store.
#[derive(Clone)]
pub struct Vault {
    data_key: Key,
    hash_key: Key,
    protection: Protection,
    /// The key-encryption key that opened them, kept to wrap them again in the
    /// authenticated form when a version 1 store is upgraded.
    kek: Key,
    kdf: Option<String>,
    salt: Option<Vec<u8>>,
    /// The version of the key record: 1 before the store was authenticated.
    version: i64,
}

/// The file a rekey writes the new key to before it commits.
fn pending_path(key_file: &Path) -> PathBuf {
    let mut p = key_file.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

impl Vault {
    /// Unwraps the data keys of the store with the key at hand (the key file, or the
    /// passphrase). `Ok(None)` when the store has no key record yet; the caller
    /// decides whether that is a new store or a tampered one.
    pub fn unlock(tx: &mut dyn Tx, keys: &KeySource, interactive: bool) -> Result<Option<Vault>> {
        let Some(row) = tx.vault_row()? else {
            return Ok(None);
        };
        if let Some(held) = &keys.held
            && let Some(v) = held.cached(&row)
        {
            return Ok(Some(v));
        }
        let v = unwrap_row(&row, keys, interactive)?;
        if let Some(held) = &keys.held {
            held.keep(&row, &v);
        }
        Ok(Some(v))
    }

    /// Fresh keys for a new store, protected by its key file (which is created, 0600,
    /// if it does not exist yet), and their record written. The caller holds the write
    /// transaction and has made sure the store is empty.
    pub fn init(tx: &mut dyn Tx, keys: &KeySource, now: &str) -> Result<Vault> {
        let key_file = keys.key_file.as_deref().ok_or_else(|| {
            key_error(format!(
                "{} is a server store, so its key file cannot go beside it: set \
                 {KEY_FILE_ENV} (or --key) to where this first enrollment should make it, \
                 for example /etc/totpctl/key in a directory made with `mkdir -m 700 \
                 /etc/totpctl`; every host that uses the store then needs a copy of that \
                 file (or set {PASSPHRASE_ENV} and run `totpctl rekey --passphrase` first)",
                keys.store.display()
            ))
        })?;
        // A directory that is not there is said as such, with the way to make it.
        check_new_key_file(keys)?;
        let kek = match read_key_file(key_file)? {
            Some(kek) => kek,
            None => create_key_file(key_file)?,
        };
        let vault = Vault {
            data_key: random_key()?,
            hash_key: random_key()?,
            protection: Protection::KeyFile,
            kek,
            kdf: None,
            salt: None,
            version: WRAP_VERSION,
        };
        let row = vault.wrap()?;
        tx.put_vault_row(&row, now)?;
        Ok(vault)
    }

    /// Whether the key record predates the authenticated store (version 1).
    pub fn is_legacy(&self) -> bool {
        self.version < WRAP_VERSION
    }

    /// Wraps the keys again in the authenticated form, under the same key-encryption
    /// key: the last step of upgrading a version 1 store.
    pub fn upgrade_record(&mut self, tx: &mut dyn Tx, _keys: &KeySource, now: &str) -> Result<()> {
        self.version = WRAP_VERSION;
        let row = self.wrap()?;
        tx.put_vault_row(&row, now)
    }

    /// The MAC keys derived from the data key.
    pub fn keys(&self) -> crate::domain::integrity::Keys {
        crate::domain::integrity::Keys::derive(&self.data_key)
    }

    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// Seals a TOTP secret to its enrollment: its id, account, issuer and parameters
    /// are the associated data (src/integrity.rs).
    pub fn seal(&self, t: &Totp, secret: &[u8]) -> Result<Vec<u8>> {
        let nonce = random_nonce()?;
        let aad = integrity::secret_aad(t);
        let ct = cipher(&self.data_key)
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

    /// Opens the sealed secret of an enrollment; it opens only on the row it was
    /// sealed for, with the account and parameters it was sealed with.
    pub fn open(&self, t: &Totp, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.open_with(sealed, SEAL_VERSION, &integrity::secret_aad(t))
            .ok_or_else(|| {
                integrity_error(format!(
                    "the sealed secret of '{}' ({}) does not open with this store's key for \
                     that account and its parameters: the row was altered or copied from \
                     elsewhere; nothing was accepted",
                    crate::base::text::sanitize(&t.account),
                    crate::base::text::sanitize(&t.id)
                ))
            })
    }

    /// Opens a secret sealed by a version 1 store, bound to its row id only; used
    /// once, to seal it again in the authenticated form.
    pub fn open_legacy(&self, t: &Totp, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let aad = [b"totpctl secret v1\0".as_slice(), t.id.as_bytes()].concat();
        self.open_with(sealed, 1, &aad).ok_or_else(|| {
            integrity_error(format!(
                "the sealed secret of '{}' does not open with this store's key",
                crate::base::text::sanitize(&t.account)
            ))
        })
    }

    fn open_with(&self, sealed: &[u8], version: u8, aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != version {
            return None;
        }
        let nonce = XNonce::try_from(&sealed[1..1 + NONCE_LEN]).ok()?;
        cipher(&self.data_key)
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// The key of this host's records of the store (src/store/position.rs) and of the
    /// store's identity: derived from the backup-code key, which a rekey keeps, so
    /// that neither has to be made again after one.
    pub fn position_key(&self) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.hash_key.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(b"totpctl position key v1");
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// The MAC of the store's identity.
    pub fn store_id_mac(&self, id: &str) -> [u8; 32] {
        let key = self.position_key();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(b"totpctl store id\0");
        mac.update(id.as_bytes());
        mac.finalize().into_bytes().into()
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

    /// The keyed hash an API token is stored as: under the backup-code key too, which
    /// a rekey keeps, so that tokens outlive a rekey (their text is never stored).
    pub fn hash_token(&self, token: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.hash_key.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(b"totpctl api token v1\0");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A new vault for a rekey: a fresh data key (so the secrets' seals and every MAC
    /// are renewed), the backup-code key kept (the codes are stored only as hashes under
    /// it), and the new protection. With a passphrase, the key-encryption key is derived
    /// from it with fresh salt; with a key file, a fresh key is made, to be written by
    /// [`Vault::write_record_for_rekey`].
    pub fn rotated(&self, protection: Protection, passphrase: Option<&str>) -> Result<Vault> {
        let (kek, kdf, salt) = match (protection, passphrase) {
            (Protection::Passphrase, Some(passphrase)) => {
                let mut salt = vec![0u8; SALT_LEN];
                getrandom::fill(&mut salt)
                    .context("the operating system's random source failed")?;
                let kdf = kdf_string();
                let mut kek = Zeroizing::new([0u8; 32]);
                argon2_params()?
                    .hash_password_into(passphrase.as_bytes(), &salt, kek.as_mut())
                    .map_err(|e| key_error(format!("deriving the key failed: {e}")))?;
                (kek, Some(kdf), Some(salt))
            }
            (Protection::Passphrase, None) => {
                return Err(key_error("a passphrase store needs a new passphrase"));
            }
            (Protection::KeyFile, _) => (random_key()?, None, None),
        };
        Ok(Vault {
            data_key: random_key()?,
            hash_key: self.hash_key.clone(),
            protection,
            kek,
            kdf,
            salt,
            version: WRAP_VERSION,
        })
    }

    /// Wraps the data keys under the key-encryption key, bound to how they are
    /// protected and to the record's version, so that an authenticated store's record
    /// cannot be passed off as a version 1 one.
    fn wrap(&self) -> Result<VaultRow> {
        let mut keys = Zeroizing::new([0u8; 64]);
        keys[..32].copy_from_slice(self.data_key.as_ref());
        keys[32..].copy_from_slice(self.hash_key.as_ref());
        let nonce = random_nonce()?;
        let aad = wrap_aad(
            self.version,
            self.protection.as_str(),
            self.kdf.as_deref(),
            self.salt.as_deref(),
        );
        let ct = cipher(&self.kek)
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
            protection: self.protection.as_str().to_string(),
            kdf: self.kdf.clone(),
            salt: self.salt.clone(),
            wrapped,
            version: self.version,
        })
    }
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new_from_slice(&key[..]).expect("the key is 32 bytes")
}

fn wrap_aad(version: i64, protection: &str, kdf: Option<&str>, salt: Option<&[u8]>) -> Vec<u8> {
    if version < WRAP_VERSION {
        return [b"totpctl vault v1\0".as_slice(), protection.as_bytes()].concat();
    }
    let mut aad = b"totpctl vault v2\0".to_vec();
    for part in [
        protection.as_bytes(),
        kdf.unwrap_or("").as_bytes(),
        salt.unwrap_or(&[]),
    ] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

/// What a rekey leaves to do once its transaction has committed.
pub enum AfterCommit {
    /// Move the new key file into place.
    InstallKeyFile { pending: PathBuf, key_file: PathBuf },
    /// The store now uses a passphrase: the old key file is no longer needed.
    RemoveKeyFile { key_file: PathBuf },
    /// Nothing (a passphrase store on a server, with no key file named).
    Nothing,
}

impl Vault {
    /// Writes the key record of a rotated vault ([`Vault::rotated`]) inside the
    /// rekey's transaction. A new key file is written beside the old one and installed
    /// by [`finish_rekey`] after commit, so a rekey stopped at any point leaves a store
    /// that opens with the old key or the new one.
    pub fn write_record_for_rekey(
        &self,
        tx: &mut dyn Tx,
        keys: &KeySource,
        now: &str,
    ) -> Result<AfterCommit> {
        let after = match self.protection {
            Protection::Passphrase => match &keys.key_file {
                Some(key_file) => AfterCommit::RemoveKeyFile {
                    key_file: key_file.clone(),
                },
                None => AfterCommit::Nothing,
            },
            Protection::KeyFile => {
                let key_file = keys.key_file()?.to_path_buf();
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
                write_key_file(&pending, &self.kek)?;
                AfterCommit::InstallKeyFile { pending, key_file }
            }
        };
        tx.put_vault_row(&self.wrap()?, now)?;
        Ok(after)
    }
}

/// Completes a committed rekey. If this fails or is interrupted, the next command
/// still opens the store (it finishes an interrupted rekey itself).
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
        AfterCommit::Nothing => Ok(()),
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
