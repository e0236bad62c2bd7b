//! `log`: the audit trail, and `log --check`, which proves its hash chain unbroken.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::LogArgs;
use crate::error::{Exit, invalid};
use crate::output::{human_time, pad, plural, sanitize, truncate, width};
use crate::store::{self, Event, EventFilter};
use crate::{Ctx, parse_time_or_ago, timestamp};

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView {
    seq: i64,
    at: String,
    event: String,
    account: Option<String>,
    id: Option<String>,
    /// Who wrote the event (`{"user", "host"}`); null on events from before actors
    /// were recorded.
    actor: serde_json::Value,
    detail: serde_json::Value,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            seq: e.seq,
            at: e.at,
            event: e.event,
            account: e.account,
            id: e.totp_id,
            actor: e
                .actor
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or(serde_json::Value::Null),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

use crate::store::head_text;

/// `log --accept-restore HEAD`: after a backup was restored on purpose, the store is
/// taken as it is at HEAD by every host from now on. The whole store is checked
/// first (this host's records of it aside: they describe what was rolled back), and
/// a keyed `restore_accepted` event says who accepted which head.
fn accept_restore(ctx: &Ctx, store: &mut store::Store, given: &str) -> Result<Exit> {
    let (seq, hash) = parse_head(given)?;
    let mut s = ctx.session_for(store, false, ctx.interactive, store::Purpose::AcceptRestore)?;
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
        store,
        &store::AuditOptions {
            head: None,
            full: true,
            interactive: ctx.interactive,
        },
    )?;
    let out = &ctx.out;
    if out.json {
        out.json(&serde_json::json!({
            "accepted": true,
            "head": audit.head.as_ref().map(|(s, h)| head_text(*s, h)),
            "events": audit.events,
            "enrollments": audit.enrollments,
        }))?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "{} accepted the store as restored at event #{seq}: every host takes it from its \
             next command on ({}, {} checked)",
            out.green("ok:"),
            plural(audit.events, "event"),
            plural(audit.enrollments, "enrollment")
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}

fn parse_head(text: &str) -> Result<(i64, Vec<u8>)> {
    let bad = || {
        invalid(format!(
            "'{}' is not a log head: give it as `log --head` printed it, SEQ:HASH",
            crate::otp::printable(text)
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

pub fn run(args: &LogArgs, ctx: &Ctx) -> Result<Exit> {
    let out = &ctx.out;
    let mut store = ctx.existing_store()?;
    if let Some(head) = &args.accept_restore {
        return accept_restore(ctx, &mut store, head);
    }
    if args.check {
        let kept = match &args.head {
            Some(Some(h)) => Some(parse_head(h)?),
            _ => None,
        };
        let audit = store::audit(
            &mut store,
            &store::AuditOptions {
                head: kept.as_ref().map(|(s, h)| (*s, h.as_slice())),
                full: args.full,
                interactive: ctx.interactive,
            },
        )?;
        let head = audit.head.as_ref().map(|(s, h)| head_text(*s, h));
        if out.json {
            out.json(&serde_json::json!({
                "intact": true,
                "events": audit.events,
                "enrollments": audit.enrollments,
                "authenticated": audit.authenticated,
                "head": head,
                "from": audit.from,
            }))?;
        } else {
            let mut w = out.stdout();
            let events = if audit.from > 0 {
                format!(
                    "{} since the last check (#{})",
                    plural(audit.events, "new event"),
                    audit.from
                )
            } else {
                plural(audit.events, "event")
            };
            writeln!(
                w,
                "{} the audit log is intact: {events}, {} checked against it{}",
                out.green("ok:"),
                plural(audit.enrollments, "enrollment"),
                match &kept {
                    Some((seq, _)) => format!("; it extends the head kept at event #{seq}"),
                    None => String::new(),
                }
            )?;
            if !audit.authenticated {
                writeln!(
                    w,
                    "note: this store predates authenticated logs; the first command that uses \
                     its key upgrades it"
                )?;
            }
            w.flush()?;
        }
        return Ok(Exit::Success);
    }
    if let Some(given) = &args.head {
        if given.is_some() {
            return Err(invalid(
                "--head H is checked with --check; --head alone prints the head",
            ));
        }
        let head = store.head()?;
        let text = head.as_ref().map(|h| head_text(h.seq, &h.hash));
        if out.json {
            out.json(&serde_json::json!({
                "seq": head.as_ref().map(|h| h.seq),
                "head": text,
            }))?;
        } else {
            let mut w = out.stdout();
            match text {
                Some(t) => writeln!(w, "{t}")?,
                None => writeln!(w, "no events")?,
            }
            w.flush()?;
        }
        return Ok(Exit::Success);
    }
    for name in &args.event {
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
            .map(|t| parse_time_or_ago(t, ctx.now))
            .transpose()?
            .map(timestamp))
    };
    let filter = EventFilter {
        account: args.account.clone(),
        since: time(&args.since)?,
        until: time(&args.until)?,
        events: args.event.clone(),
        limit: args.limit,
    };
    // The transaction first: a store refused prints its error alone.
    let mut tx = store.read()?;
    let mut w = out.stdout();
    if out.json {
        w.write_all(b"[")?;
        let mut first = true;
        tx.for_each_event(&filter, &mut |e| {
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut w, &EventView::from(e))?;
            Ok(())
        })?;
        w.write_all(b"]\n")?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    let mut account_width = width("ACCOUNT");
    let mut event_width = width("EVENT");
    let mut actor_width = width("BY");
    let mut rows = 0u64;
    tx.for_each_event(&filter, &mut |e| {
        account_width = account_width.max(width(&sanitize(e.account.as_deref().unwrap_or("-"))));
        event_width = event_width.max(width(&sanitize(&e.event)));
        actor_width = actor_width.max(width(&actor_text(e.actor.as_deref())));
        rows += 1;
        Ok(())
    })?;
    if rows == 0 {
        writeln!(w, "no events")?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    // On a terminal the table fits its width; into a pipe it is printed whole.
    let layout = Layout::fit(
        event_width,
        account_width,
        actor_width,
        out.tty.then_some(out.columns).flatten(),
    );
    writeln!(
        w,
        "{}",
        out.bold(&layout.line("SEQ", "TIME", "EVENT", "ACCOUNT", "BY", "DETAIL"))
    )?;
    tx.for_each_event(&filter, &mut |e| {
        writeln!(
            w,
            "{}",
            layout.line(
                &e.seq.to_string(),
                &human_time(&e.at),
                &sanitize(&e.event),
                &sanitize(e.account.as_deref().unwrap_or("-")),
                &actor_text(e.actor.as_deref()),
                &detail_text(&e.detail),
            )
        )?;
        Ok(())
    })?;
    w.flush()?;
    Ok(Exit::Success)
}

/// The narrowest the DETAIL and ACCOUNT columns are cut to before a column is left
/// out.
const MIN_DETAIL: usize = 12;
const MIN_ACCOUNT: usize = 12;

/// How the table's columns fit a terminal. SEQ, TIME and EVENT are always whole; the
/// account, who did it and the detail share the rest: the detail is cut first (to no
/// less than [`MIN_DETAIL`]), then BY is left out, then the account is cut (to no
/// less than [`MIN_ACCOUNT`]), then the detail is left out.
struct Layout {
    event: usize,
    account: usize,
    /// None: left out.
    by: Option<usize>,
    /// None: left out; `usize::MAX`: whole.
    detail: Option<usize>,
}

impl Layout {
    fn fit(event: usize, account: usize, by: usize, columns: Option<usize>) -> Layout {
        let whole = Layout {
            event,
            account,
            by: Some(by),
            detail: Some(usize::MAX),
        };
        let Some(columns) = columns else {
            return whole;
        };
        // "SEQ  TIME  EVENT  ", the two spaces before ACCOUNT included; then each
        // further column with the two spaces before it.
        let fixed = 6 + 2 + human_time("1970-01-01T00:00:00Z").len() + 2 + event + 2;
        let rest = columns.saturating_sub(fixed);
        if account + 2 + by + 2 + MIN_DETAIL <= rest {
            Layout {
                detail: Some(rest - account - 2 - by - 2),
                ..whole
            }
        } else if account + 2 + MIN_DETAIL <= rest {
            Layout {
                by: None,
                detail: Some(rest - account - 2),
                ..whole
            }
        } else if MIN_ACCOUNT + 2 + MIN_DETAIL <= rest {
            Layout {
                account: rest - 2 - MIN_DETAIL,
                by: None,
                detail: Some(MIN_DETAIL),
                ..whole
            }
        } else {
            Layout {
                account: account.min(rest.max(MIN_ACCOUNT)),
                by: None,
                detail: None,
                ..whole
            }
        }
    }

    fn line(
        &self,
        seq: &str,
        time: &str,
        event: &str,
        account: &str,
        by: &str,
        detail: &str,
    ) -> String {
        let mut line = format!(
            "{seq:>6}  {time:<23}  {}  {}",
            pad(event, self.event),
            pad(&truncate(account, self.account), self.account)
        );
        if let Some(w) = self.by {
            line.push_str("  ");
            line.push_str(&pad(by, w));
        }
        match self.detail {
            Some(w) => {
                line.push_str("  ");
                line.push_str(&truncate(detail, w));
            }
            None => line.truncate(line.trim_end().len()),
        }
        line.trim_end().to_string()
    }
}

/// `{"user":"alice","host":"web1"}` → `alice@web1`; `-` for events from before actors
/// were recorded.
fn actor_text(actor: Option<&str>) -> String {
    let Some(actor) = actor else {
        return "-".into();
    };
    match serde_json::from_str::<serde_json::Value>(actor) {
        Ok(v) => {
            let part = |k: &str| v.get(k).and_then(|p| p.as_str()).unwrap_or("?").to_string();
            sanitize(&format!("{}@{}", part("user"), part("host")))
        }
        Err(_) => sanitize(actor),
    }
}

/// `{"type":"totp","drift":0}` → `type=totp drift=0`.
fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{}={}", sanitize(k), sanitize(s)),
                other => format!("{}={}", sanitize(k), sanitize(&other.to_string())),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => sanitize(detail),
    }
}
