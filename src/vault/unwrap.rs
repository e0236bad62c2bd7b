//! Opening the store's key record: the data key unwrapped with the key file's key or
//! the passphrase's, under the record's own authenticated parameters; and a rekey
//! that was stopped between its commit and its key file's move, finished.

use std::fs;
use std::path::Path;

use anyhow::Result;

use super::keyfile::read_key_file;
use super::keys::*;
use super::passphrase::*;
use super::*;
use crate::base::error::{integrity_error, key_error};
use crate::store::engine::VaultRow;

pub(super) fn unwrap_row(row: &VaultRow, keys: &KeySource, interactive: bool) -> Result<Vault> {
    let store_path = keys.store.as_path();
    if !(1..=WRAP_VERSION).contains(&row.version) {
        return Err(integrity_error(format!(
            "the key record of {} has version {}, which this totpctl never writes",
            store_path.display(),
            row.version
        )));
    }
    match row.protection.as_str() {
        "key-file" => {
            let key_file = keys.key_file()?;
            let Some(kek) = read_key_file(key_file)? else {
                // A rekey from a passphrase that committed but was stopped before it
                // moved its new key file into place leaves only the pending file.
                return finish_interrupted_rekey(row, key_file).ok_or_else(|| {
                    key_error(format!(
                        "key file {} is missing, and this store's secrets are sealed with \
                         it: restore it, or point {KEY_FILE_ENV} at it",
                        key_file.display()
                    ))
                });
            };
            match unwrap_with(row, &kek, Protection::KeyFile) {
                Some(v) => Ok(v),
                None => finish_interrupted_rekey(row, key_file).ok_or_else(|| {
                    key_error(format!(
                        "the key in {} does not open {}: it is not the key this store was \
                         sealed with",
                        key_file.display(),
                        store_path.display()
                    ))
                }),
            }
        }
        "passphrase" if keys.pam => Err(key_error(format!(
            "{} is protected by a passphrase, which verify --pam never reads (the PAM \
             environment must not decide how the store opens): give the store a key file \
             with `totpctl rekey --key-file`, and name it with --key on the PAM line",
            store_path.display()
        ))),
        "passphrase" => {
            let passphrase = match keys.held.as_ref().and_then(|h| h.passphrase()) {
                Some(p) => p,
                None => read_passphrase(
                    &format!("Passphrase for {}: ", store_path.display()),
                    interactive,
                )?,
            };
            let kek = derive_kek(&passphrase, row)?;
            let vault = unwrap_with(row, &kek, Protection::Passphrase).ok_or_else(|| {
                key_error(format!(
                    "wrong passphrase for {}: nothing was checked or changed",
                    store_path.display()
                ))
            })?;
            if let Some(held) = &keys.held {
                held.remember_passphrase(&passphrase);
            }
            Ok(vault)
        }
        other => Err(crate::base::error::corrupt(
            store_path,
            format!("unknown key protection {other:?}"),
        )),
    }
}

fn unwrap_with(row: &VaultRow, kek: &Key, protection: Protection) -> Option<Vault> {
    if row.wrapped.len() < NONCE_LEN {
        return None;
    }
    let aad = wrap_aad(
        row.version,
        protection.as_str(),
        row.kdf.as_deref(),
        row.salt.as_deref(),
    );
    let nonce = XNonce::try_from(&row.wrapped[..NONCE_LEN]).ok()?;
    let keys = Zeroizing::new(
        cipher(kek)
            .decrypt(
                &nonce,
                Payload {
                    msg: &row.wrapped[NONCE_LEN..],
                    aad: &aad,
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
        kek: kek.clone(),
        kdf: row.kdf.clone(),
        salt: row.salt.clone(),
        version: row.version,
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
