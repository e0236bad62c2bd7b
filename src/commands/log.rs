//! `log`: the audit trail, and `log --check`, which proves its hash chain unbroken.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::LogArgs;
use crate::error::{Error, Exit, invalid};
use crate::output::{human_time, pad, plural, sanitize, width};
use crate::store::{self, Event, EventFilter, SqlContext};
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
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView {
    seq: i64,
    at: String,
    event: String,
    account: Option<String>,
    id: Option<String>,
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
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

pub fn run(args: &LogArgs, ctx: &Ctx) -> Result<Exit> {
    let out = &ctx.out;
    let Some(store) = ctx.existing_store()? else {
        // No store, no events: nothing is created just to say so.
        if out.json {
            out.json(&if args.check {
                serde_json::json!({ "intact": true, "events": 0 })
            } else {
                serde_json::json!([])
            })?;
        } else {
            let mut w = out.stdout();
            writeln!(w, "no events")?;
            w.flush()?;
        }
        return Ok(Exit::Success);
    };
    if args.check {
        let checked = store::check_chain(store.conn()).sql(store.path())?;
        return match checked {
            Ok(count) => {
                if out.json {
                    out.json(&serde_json::json!({ "intact": true, "events": count }))?;
                } else {
                    let mut w = out.stdout();
                    writeln!(
                        w,
                        "{} the audit log is intact: {}",
                        out.green("ok:"),
                        plural(count, "event")
                    )?;
                    w.flush()?;
                }
                Ok(Exit::Success)
            }
            Err(problem) => Err(Error::LogBroken {
                seq: problem.seq,
                reason: problem.reason,
            }
            .into()),
        };
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
    let mut w = out.stdout();
    if out.json {
        w.write_all(b"[")?;
        let mut first = true;
        store::for_each_event(store.conn(), &filter, |e| {
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
    let tx = store.conn().unchecked_transaction().sql(store.path())?;
    let mut account_width = width("ACCOUNT");
    let mut event_width = width("EVENT");
    let mut rows = 0u64;
    store::for_each_event(&tx, &filter, |e| {
        account_width = account_width.max(width(&sanitize(e.account.as_deref().unwrap_or("-"))));
        event_width = event_width.max(width(&e.event));
        rows += 1;
        Ok(())
    })?;
    if rows == 0 {
        writeln!(w, "no events")?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    writeln!(
        w,
        "{}",
        out.bold(&format!(
            "{:>6}  {:<23}  {}  {}  DETAIL",
            "SEQ",
            "TIME",
            pad("EVENT", event_width),
            pad("ACCOUNT", account_width)
        ))
    )?;
    store::for_each_event(&tx, &filter, |e| {
        let account = sanitize(e.account.as_deref().unwrap_or("-"));
        writeln!(
            w,
            "{:>6}  {:<23}  {}  {}  {}",
            e.seq,
            human_time(&e.at),
            pad(&e.event, event_width),
            pad(&account, account_width),
            detail_text(&e.detail)
        )?;
        Ok(())
    })?;
    w.flush()?;
    Ok(Exit::Success)
}

/// `{"type":"totp","drift":0}` → `type=totp drift=0`.
fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={}", sanitize(s)),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => sanitize(detail),
    }
}
