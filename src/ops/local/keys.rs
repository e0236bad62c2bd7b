//! The operations on the store's key: `rekey` and `upgrade`.

use anyhow::Result;
use serde_json::json;

use super::open::Local;
use crate::ops::context::Context;
use crate::ops::requests::{RekeyRequest, Rekeyed};
use crate::ops::views::{RekeyView, UpgradeView};
use crate::store::{Purpose, Store};
use crate::vault::{self, Protection};

/// Seals every secret again under a new key, optionally switching between a key file
/// and a passphrase.
pub fn rekey(l: &Local, cx: &Context, req: &RekeyRequest<'_>) -> Result<Rekeyed> {
    // Only a passphrase may be chosen before the first enrollment, on a new store;
    // it is asked for (and checked) before the store is made, so that a refused one
    // leaves nothing behind.
    let (mut store, early) = match Store::open_existing(&l.location, &l.access)? {
        Some(store) => (l.hold(store), None),
        None if req.passphrase => {
            let passphrase = (req.new_passphrase)(Protection::KeyFile)?;
            (l.open_store()?, Some(passphrase))
        }
        None => (l.existing_store()?, None),
    };
    let mut s = l.session(cx, &mut store, req.passphrase)?;
    let from = s.vault().protection();
    let target = if req.passphrase {
        Protection::Passphrase
    } else if req.key_file {
        Protection::KeyFile
    } else {
        from
    };
    let passphrase = match (target, early) {
        (Protection::Passphrase, Some(early)) => Some(early),
        (Protection::Passphrase, None) => Some((req.new_passphrase)(from)?),
        (Protection::KeyFile, _) => None,
    };
    let (count, after) = s.rekey(target, passphrase.as_deref().map(String::as_str))?;
    s.event(
        "rekeyed",
        None,
        json!({ "from": from.as_str(), "to": target.as_str(), "enrollments": count }),
    )?;
    let key_file = s.key_source().key_file.clone().unwrap_or_default();
    s.commit()?;
    vault::finish_rekey(after)?;
    Ok(Rekeyed {
        view: RekeyView {
            backup_code_key_kept: true,
            enrollments: count,
            protection: target.as_str(),
            rekeyed: true,
        },
        key_file,
    })
}

/// Authenticates a version 1 store, explicitly, once. A store authenticated already
/// is left as it is.
pub fn upgrade(l: &Local, cx: &Context) -> Result<UpgradeView> {
    let mut store = l.existing_store()?;
    let s = l.session_for(cx, &mut store, false, cx.interactive, Purpose::Upgrade)?;
    let upgraded = s.upgraded();
    s.commit()?;
    Ok(UpgradeView {
        schema_version: 2,
        upgraded,
    })
}
