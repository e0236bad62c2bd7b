//! What the vault's parts share: where a store's key comes from ([`KeySource`]), how
//! it is protected, the key type, and fresh randomness.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chacha20poly1305::XNonce;
use zeroize::Zeroizing;

use crate::base::error::key_error;

/// The environment variable that moves the key file.
pub const KEY_FILE_ENV: &str = "TOTPCTL_KEY_FILE";

/// The environment variable that supplies a passphrase.
pub const PASSPHRASE_ENV: &str = "TOTPCTL_PASSPHRASE";

pub(super) const KEY_PREFIX: &str = "TOTPCTL-KEY-1-";

pub(super) const NONCE_LEN: usize = 24;

pub(super) const SALT_LEN: usize = 16;

/// Argon2id parameters for new passphrase stores: 64 MiB, 3 passes, 1 lane.
pub(super) const ARGON2_M_KIB: u32 = 64 * 1024;

pub(super) const ARGON2_T: u32 = 3;

pub(super) const ARGON2_P: u32 = 1;

pub type Key = Zeroizing<[u8; 32]>;

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

/// Where a store's key comes from, decided at the edge from the command line and the
/// environment (see `store::Location::key_source`): the vault never derives it from
/// the store itself, because a server has no "beside the store".
#[derive(Debug, Clone)]
pub struct KeySource {
    /// The store as messages name it (a path, or a URL without its password).
    pub store: PathBuf,
    /// The key file: `--key` or `TOTPCTL_KEY_FILE`, else beside an SQLite store;
    /// `None` for a server store without either.
    pub key_file: Option<PathBuf>,
    /// Where this host keeps what it has seen of the store (src/store/position.rs):
    /// `--state-dir` or `TOTPCTL_STATE_DIR`, else beside the key file. `None` when
    /// nothing names one (a passphrase store on a server, without either).
    pub state_dir: Option<PathBuf>,
    /// The store's place, as this host's records name it.
    pub place: String,
    /// Under `verify --pam`: a passphrase is never read.
    pub pam: bool,
    /// A key held by a long-running process (`serve`), in memory; `None` for a
    /// command, which reads its key anew.
    pub held: Option<std::sync::Arc<super::HeldKey>>,
}

impl KeySource {
    /// The key file, or the `key_error` that says what to set.
    pub fn key_file(&self) -> Result<&Path> {
        self.key_file.as_deref().ok_or_else(|| {
            key_error(format!(
                "{} is a server store, so no key file can be beside it: set {KEY_FILE_ENV} to \
                 the store's key file (a copy of the one the first enrollment made, mode \
                 0600), or {PASSPHRASE_ENV} for a passphrase-protected store",
                self.store.display()
            ))
        })
    }
}

pub(super) fn random_key() -> Result<Key> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).context("the operating system's random source failed")?;
    Ok(key)
}

pub(super) fn random_nonce() -> Result<XNonce> {
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
