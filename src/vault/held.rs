//! A key held in memory by a long-running process (`serve`): the passphrase read once
//! when it starts, and the data keys as last unwrapped, reused for as long as the
//! store's key record is exactly the one they came from. A changed record (a rekey
//! on the host, or an edit) is unwrapped anew, with the key file read again or the
//! passphrase held.

use std::sync::Mutex;

use zeroize::Zeroizing;

use super::Vault;
use crate::store::engine::VaultRow;

#[derive(Default)]
pub struct HeldKey {
    /// The passphrase that opened the store, once one has.
    passphrase: Mutex<Option<Zeroizing<String>>>,
    unlocked: Mutex<Option<(VaultRow, Vault)>>,
}

impl HeldKey {
    /// A key to hold: nothing is held until the store is first opened (the key file
    /// read, or the passphrase asked for).
    pub fn new() -> HeldKey {
        HeldKey::default()
    }

    pub(super) fn passphrase(&self) -> Option<Zeroizing<String>> {
        self.passphrase
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Keeps the passphrase that opened the store, to open it again after a rekey.
    pub(super) fn remember_passphrase(&self, passphrase: &Zeroizing<String>) {
        *self.passphrase.lock().unwrap_or_else(|p| p.into_inner()) = Some(passphrase.clone());
    }

    /// The data keys unwrapped from exactly `row`, if they are held.
    pub(super) fn cached(&self, row: &VaultRow) -> Option<Vault> {
        let held = self.unlocked.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref()
            .filter(|(r, _)| r == row)
            .map(|(_, v)| v.clone())
    }

    pub(super) fn keep(&self, row: &VaultRow, vault: &Vault) {
        *self.unlocked.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((row.clone(), vault.clone()));
    }
}

impl std::fmt::Debug for HeldKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a key or the passphrase.
        f.debug_struct("HeldKey").finish_non_exhaustive()
    }
}
