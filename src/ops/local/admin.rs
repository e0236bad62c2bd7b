//! The operations that change one enrollment or a setting on an admin's word:
//! `backup-codes`, `remove`, `unlock`, `config`.

use anyhow::Result;
use serde_json::json;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::base::text::sanitize;
use crate::domain::backup_codes;
use crate::domain::config::Settings;
use crate::ops::context::Context;
use crate::ops::requests::Unlocked;
use crate::ops::views::{BackupCodesView, ConfigValue, RemovedView, TotpView};

/// A fresh set of backup codes for a verified enrollment, replacing the old set.
pub fn backup_codes(
    l: &Local,
    cx: &Context,
    account: &str,
    count: Option<u32>,
) -> Result<BackupCodesView> {
    if let Some(n) = count
        && !(1..=backup_codes::MAX_COUNT).contains(&n)
    {
        return Err(invalid(format!(
            "--count must be 1 to {}, not {n}",
            backup_codes::MAX_COUNT
        )));
    }
    let mut store = l.existing_store()?;
    let mut s = l.session(cx, &mut store, false)?;
    let mut e = s.get(account)?;
    if !e.totp.verified {
        return Err(Error::BackupCodesNotAvailable {
            account: sanitize(&e.totp.account),
            verify: cx.account_command("verify", &e.totp.account),
        }
        .into());
    }
    let count = count.unwrap_or(s.settings().backup_code_count);
    let replaced = e.totp.backup_codes_remaining;
    let codes = backup_codes::generate(count)?;
    let hashes = codes.iter().map(|c| s.hash_code(&e, c)).collect();
    s.replace_backup_codes(&mut e, hashes)?;
    if !s.save(&mut e)? {
        return Err(
            Error::Store("the enrollment changed under this command; try again".into()).into(),
        );
    }
    s.event(
        "backup_codes_generated",
        Some(&e),
        json!({ "count": count, "replaced": replaced }),
    )?;
    s.commit()?;
    let totp = e.totp;
    Ok(BackupCodesView {
        id: totp.id,
        account: totp.account,
        backup_codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        backup_codes_remaining: count,
    })
}

/// Deletes an enrollment and its backup codes, on the record.
pub fn remove(l: &Local, cx: &Context, account: &str) -> Result<RemovedView> {
    let mut store = l.existing_store()?;
    let mut s = l.session(cx, &mut store, false)?;
    let e = s.get(account)?;
    s.delete(&e)?;
    s.event_with_state(
        "removed",
        Some(&e.totp.account),
        Some(&e.totp.id),
        &json!({ "verified": e.totp.verified, "backupCodes": e.totp.backup_codes_remaining })
            .to_string(),
        None,
    )?;
    s.commit()?;
    let t = e.totp;
    Ok(RemovedView {
        account: t.account,
        id: t.id,
        removed: true,
    })
}

/// Clears a lockout and the count of rejected codes.
pub fn unlock(l: &Local, cx: &Context, account: &str) -> Result<Unlocked> {
    let mut store = l.existing_store()?;
    let now = cx.now_str();
    let mut s = l.session(cx, &mut store, false)?;
    let mut e = s.get(account)?;
    let before = e.totp.clone();
    e.totp.failed_attempts = 0;
    e.totp.locked_until = None;
    if !s.save(&mut e)? {
        return Err(
            Error::Store("the enrollment changed under this command; try again".into()).into(),
        );
    }
    s.event(
        "unlocked",
        Some(&e),
        json!({ "lockedUntil": before.locked_until, "failedAttempts": before.failed_attempts }),
    )?;
    s.commit()?;
    let was_locked = before
        .locked_until
        .as_deref()
        .is_some_and(|u| u > now.as_str());
    Ok(Unlocked {
        view: TotpView::audit(e.totp),
        was_locked,
    })
}

/// The settings as stored. Reading them needs no key; every operation that acts on
/// them checks them against their MAC first.
pub fn settings(l: &Local, _cx: &Context) -> Result<Settings> {
    let mut store = l.existing_store()?;
    Settings::from_pairs(&store.config_pairs()?, store.path())
}

pub fn setting(l: &Local, cx: &Context, key: &str) -> Result<ConfigValue> {
    let value = settings(l, cx)?.get(key)?;
    Ok(ConfigValue {
        key: key.to_string(),
        value,
    })
}

/// Changes one setting, on the record. A store that is not there is
/// `store_not_found`, never a new one: a mistyped store must not read as
/// production's setting changed.
pub fn set_setting(l: &Local, cx: &Context, key: &str, value: &str) -> Result<ConfigValue> {
    // Checked before the store is opened: a refused value is not a store error.
    Settings::default().set(key, value)?;
    let mut store = l.existing_store()?;
    let mut s = l.session(cx, &mut store, false)?;
    let mut settings = s.settings().clone();
    let old = settings.get(key)?;
    let normal = settings.set(key, value)?;
    let digest = s.set_config(key, &normal)?;
    let new = settings.get(key)?;
    s.event_with_state(
        "config_changed",
        None,
        None,
        &json!({ "key": key, "old": old, "new": new }).to_string(),
        Some(&digest),
    )?;
    s.commit()?;
    Ok(ConfigValue {
        key: key.to_string(),
        value: new,
    })
}
