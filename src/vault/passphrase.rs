//! Passphrases: read from the environment or the terminal, and stretched with
//! Argon2id into the key that wraps the data keys.

use std::io::IsTerminal;

use anyhow::Result;
use zeroize::Zeroizing;

use crate::base::error::{integrity_error, key_error};
use crate::store::engine::VaultRow;

use super::keys::*;

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
    crate::base::term::prompt_hidden(prompt)
        .map(Zeroizing::new)
        .map_err(|e| key_error(format!("cannot read the passphrase: {e}")))
}

/// The one Argon2id parameter set this program writes, as its key record names it.
pub(super) fn kdf_string() -> String {
    format!("argon2id,v=19,m={ARGON2_M_KIB},t={ARGON2_T},p={ARGON2_P}")
}

pub(super) fn argon2_params() -> Result<argon2::Argon2<'static>> {
    let params = argon2::Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(32))
        .map_err(|e| key_error(format!("bad Argon2 parameters: {e}")))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// Derives the key-encryption key from a passphrase. The stored parameters are input
/// like any other: only the set this program writes is accepted, so an edited cost can
/// neither hang the command (holding the write lock) nor weaken the derivation.
pub(super) fn derive_kek(passphrase: &str, row: &VaultRow) -> Result<Key> {
    let kdf = row.kdf.as_deref().unwrap_or_default();
    if kdf != kdf_string() {
        return Err(integrity_error(format!(
            "the key record's passphrase parameters {:?} are not the ones totpctl writes ({}): \
             the record was edited",
            crate::base::text::sanitize(kdf),
            kdf_string()
        )));
    }
    let salt = row.salt.as_deref().unwrap_or_default();
    if salt.len() != SALT_LEN {
        return Err(integrity_error(
            "the key record's passphrase salt is not the 16 bytes totpctl writes: the record \
             was edited",
        ));
    }
    let mut kek = Zeroizing::new([0u8; 32]);
    argon2_params()?
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
        .map_err(|e| key_error(format!("deriving the key failed: {e}")))?;
    Ok(kek)
}
