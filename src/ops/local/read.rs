//! The operations that only read: `list`, `show`, `log` and `info`. They need no key
//! and show the store as it is stored (every operation that acts on it checks it
//! first).

use anyhow::Result;

use super::open::Local;
use crate::base::error::invalid;
use crate::base::text::sanitize;
use crate::base::time::{parse_time_or_ago, timestamp};
use crate::domain::model::ListFilter;
use crate::ops::context::Context;
use crate::ops::operations::{EventVisitor, ListVisitor};
use crate::ops::requests::{ListRequest, LogRequest};
use crate::ops::views::{Counts, InfoView, TotpView};
use crate::store::EventFilter;

/// The names of the events the store records, for `--event`.
pub const EVENTS: &[&str] = &[
    "enrolled",
    "code_accepted",
    "code_rejected",
    "verified",
    "locked",
    "unlocked",
    "backup_codes_generated",
    "backup_code_used",
    "removed",
    "imported",
    "config_changed",
    "rekeyed",
    "code_checked",
    "store_upgraded",
    "restore_accepted",
    "copied",
];

/// The enrollments `filter` selects, in account order, each pass of the visitor over
/// one snapshot. The transaction is opened before the visitor sees anything, so that
/// a store refused yields its error alone.
pub fn list(
    l: &Local,
    cx: &Context,
    req: &ListRequest,
    visitor: &mut dyn ListVisitor,
) -> Result<()> {
    let mut store = l.existing_store()?;
    let filter = ListFilter {
        verified: req.verified,
        issuer: req.issuer.clone(),
        locked_at: req.locked.then(|| cx.now_str()),
        no_backup_codes: req.no_backup_codes,
        unused_since: req
            .unused_since
            .as_deref()
            .map(|t| parse_time_or_ago(t, cx.now))
            .transpose()?
            .map(timestamp),
    };
    let mut tx = store.read()?;
    for pass in 0..visitor.passes() {
        tx.for_each_totp_ref(&filter, &mut |t| visitor.row(pass, t))?;
    }
    Ok(())
}

/// One enrollment, by account name or id.
pub fn show(l: &Local, _cx: &Context, account: &str) -> Result<TotpView> {
    let mut store = l.existing_store()?;
    Ok(TotpView::audit(store.get(account)?))
}

/// The events `filter` selects, oldest first, each pass over one snapshot.
pub fn log(
    l: &Local,
    cx: &Context,
    req: &LogRequest,
    visitor: &mut dyn EventVisitor,
) -> Result<()> {
    let mut store = l.existing_store()?;
    for name in &req.events {
        if !EVENTS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "unknown event '{}'; the events are: {}",
                sanitize(name),
                EVENTS.join(", ")
            )));
        }
    }
    let time = |t: &Option<String>| -> Result<Option<String>> {
        Ok(t.as_deref()
            .map(|t| parse_time_or_ago(t, cx.now))
            .transpose()?
            .map(timestamp))
    };
    let filter = EventFilter {
        account: req.account.clone(),
        since: time(&req.since)?,
        until: time(&req.until)?,
        events: req.events.clone(),
        limit: req.limit,
    };
    let mut tx = store.read()?;
    for pass in 0..visitor.passes() {
        tx.for_each_event(&filter, &mut |e| visitor.event(pass, e))?;
    }
    Ok(())
}

/// Where the store and its key are, what protects the key, the schema version and
/// the counts. Needs no key: nothing secret is read.
pub fn info(l: &Local, cx: &Context) -> Result<InfoView> {
    let mut store = l.existing_store()?;
    let key_file = store.key_source().key_file.clone();
    let stats = store.stats(&cx.now_str())?;
    let protection = store.read()?.vault_row()?.map(|v| v.protection);
    // A store whose key file is gone opens here (nothing secret is read) but verifies
    // nothing: the view says so, as verify would.
    let key_file_found = match (protection.as_deref(), &key_file) {
        (Some("key-file"), Some(file)) => Some(file.is_file()),
        _ => None,
    };
    Ok(InfoView {
        key_file_found,
        // The path, or the URL without its password.
        store: l.store_path().display().to_string(),
        key_file: match protection.as_deref() {
            Some("passphrase") => None,
            _ => key_file.map(|f| f.display().to_string()),
        },
        key_protection: protection,
        schema_version: stats.schema_version,
        enrollments: Counts {
            total: stats.total,
            verified: stats.verified,
            unverified: stats.unverified,
            locked: stats.locked,
            without_backup_codes: stats.without_backup_codes,
        },
        events: stats.events,
        last_event_at: stats.last_event_at,
    })
}
