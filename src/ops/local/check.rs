//! The audit trail's checks: `log --head`, `log --check` and `log --accept-restore`.

use anyhow::Result;

use super::open::Local;
use crate::base::error::invalid;
use crate::ops::context::Context;
use crate::ops::requests::CheckRequest;
use crate::ops::views::{AcceptedView, CheckView, HeadView};
use crate::store::{self, head_text};

/// The log's head, to keep elsewhere.
pub fn head(l: &Local, _cx: &Context) -> Result<HeadView> {
    let mut store = l.existing_store()?;
    let head = store.head()?;
    Ok(HeadView {
        head: head.as_ref().map(|h| head_text(h.seq, &h.hash)),
        seq: head.as_ref().map(|h| h.seq),
    })
}

/// Checks the store with its key: the chain, every enrollment, and (with a head kept
/// elsewhere) that the log extends it.
pub fn check(l: &Local, cx: &Context, req: &CheckRequest) -> Result<CheckView> {
    let mut store = l.existing_store()?;
    let kept = req.head.as_deref().map(parse_head).transpose()?;
    let audit = store::audit(
        &mut store,
        &store::AuditOptions {
            head: kept.as_ref().map(|(s, h)| (*s, h.as_slice())),
            full: req.full,
            interactive: cx.interactive,
        },
    )?;
    Ok(CheckView {
        authenticated: audit.authenticated,
        enrollments: audit.enrollments,
        events: audit.events,
        from: audit.from,
        head: audit.head.as_ref().map(|(s, h)| head_text(*s, h)),
        intact: true,
        kept: kept.map(|(seq, _)| seq),
    })
}

/// After a backup was restored on purpose, the store is taken as it is at HEAD by
/// every host from now on. The whole store is checked first (this host's records of
/// it aside: they describe what was rolled back), and a keyed `restore_accepted`
/// event says who accepted which head.
pub fn accept_restore(l: &Local, cx: &Context, given: &str) -> Result<AcceptedView> {
    let mut store = l.existing_store()?;
    let (seq, hash) = parse_head(given)?;
    let mut s = l.session_for(
        cx,
        &mut store,
        false,
        cx.interactive,
        store::Purpose::AcceptRestore,
    )?;
    s.check_chain()?;
    let head = s.head();
    if head.as_deref() != Some(head_text(seq, &hash).as_str()) {
        return Err(invalid(format!(
            "the store's head is {}, not {}: check the store you mean to accept, then give \
             its head as `totpctl log --head` prints it",
            head.as_deref().unwrap_or("empty"),
            head_text(seq, &hash)
        )));
    }
    s.event(
        "restore_accepted",
        None,
        serde_json::json!({ "head": head_text(seq, &hash) }),
    )?;
    s.commit()?;
    // The whole store checked as it now stands, this host's records moved to it.
    let audit = store::audit(
        &mut store,
        &store::AuditOptions {
            head: None,
            full: true,
            interactive: cx.interactive,
        },
    )?;
    Ok(AcceptedView {
        accepted: true,
        enrollments: audit.enrollments,
        events: audit.events,
        head: audit.head.as_ref().map(|(s, h)| head_text(*s, h)),
        seq,
    })
}

/// A head as `log --head` prints it: `SEQ:HASH`.
fn parse_head(text: &str) -> Result<(i64, Vec<u8>)> {
    let bad = || {
        invalid(format!(
            "'{}' is not a log head: give it as `log --head` printed it, SEQ:HASH",
            crate::base::text::printable(text)
        ))
    };
    let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
    let seq: i64 = seq.parse().ok().filter(|s| *s >= 1).ok_or_else(bad)?;
    let hash = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hash.as_bytes())
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or_else(bad)?;
    Ok((seq, hash))
}
