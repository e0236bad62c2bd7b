//! `log`: the audit trail, and `log --check`, which proves its hash chain unbroken.

use std::io::{BufWriter, StdoutLock, Write};

use anyhow::Result;

use super::ctx::Ctx;
use super::output::Output;
use crate::base::error::{Exit, invalid};
use crate::base::text::{human_time, pad, plural, sanitize, truncate, width};
use crate::cli::LogArgs;
use crate::ops::views::EventView;
use crate::ops::{CheckRequest, EventVisitor, LogRequest};
use crate::store::Event;

pub fn run(args: &LogArgs, ctx: &mut Ctx) -> Result<Exit> {
    if let Some(head) = &args.accept_restore {
        let view = ctx.ops.accept_restore(&ctx.cx, head)?;
        let out = &ctx.out;
        if out.json {
            out.json(&view)?;
        } else {
            let mut w = out.stdout();
            writeln!(
                w,
                "{} accepted the store as restored at event #{}: every host takes it from \
                 its next command on ({}, {} checked)",
                out.green("ok:"),
                view.seq,
                plural(view.events, "event"),
                plural(view.enrollments, "enrollment")
            )?;
            w.flush()?;
        }
        return Ok(Exit::Success);
    }
    if args.check {
        let audit = ctx.ops.log_check(
            &ctx.cx,
            &CheckRequest {
                head: args.head.clone().flatten(),
                full: args.full,
            },
        )?;
        let out = &ctx.out;
        if out.json {
            out.json(&audit)?;
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
                match audit.kept {
                    Some(seq) => format!("; it extends the head kept at event #{seq}"),
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
        let head = ctx.ops.log_head(&ctx.cx)?;
        let out = &ctx.out;
        if out.json {
            out.json(&head)?;
        } else {
            let mut w = out.stdout();
            match &head.head {
                Some(t) => writeln!(w, "{t}")?,
                None => writeln!(w, "no events")?,
            }
            w.flush()?;
        }
        return Ok(Exit::Success);
    }
    let req = LogRequest {
        account: args.account.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        events: args.event.clone(),
        limit: args.limit,
    };
    if ctx.out.json {
        // Nothing is written before the store has given its first event or its
        // answer, so that a store refused prints its error alone.
        let mut json = JsonEvents {
            w: None,
            first: true,
            out: &ctx.out,
        };
        ctx.ops.log(&ctx.cx, &req, &mut json)?;
        let w = json.w.get_or_insert_with(|| ctx.out.stdout());
        if json.first {
            w.write_all(b"[")?;
        }
        w.write_all(b"]\n")?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    let mut table = Table {
        account: width("ACCOUNT"),
        event: width("EVENT"),
        actor: width("BY"),
        rows: 0,
        layout: None,
        out: &ctx.out,
        w: ctx.out.stdout(),
    };
    ctx.ops.log(&ctx.cx, &req, &mut table)?;
    if table.rows == 0 {
        writeln!(table.w, "no events")?;
    }
    table.w.flush()?;
    Ok(Exit::Success)
}

/// `log --json`: `[` on the first event, a comma before each one after it.
struct JsonEvents<'o> {
    w: Option<BufWriter<StdoutLock<'static>>>,
    first: bool,
    out: &'o Output,
}

impl EventVisitor for JsonEvents<'_> {
    fn event(&mut self, _pass: usize, e: Event) -> Result<()> {
        let out = self.out;
        let w = self.w.get_or_insert_with(|| out.stdout());
        w.write_all(if self.first { b"[" } else { b"," })?;
        self.first = false;
        serde_json::to_writer(&mut *w, &EventView::from(e))?;
        Ok(())
    }
}

/// The table of `log`: the first pass measures the columns, the second prints.
struct Table<'a> {
    account: usize,
    event: usize,
    actor: usize,
    rows: u64,
    layout: Option<Layout>,
    out: &'a Output,
    w: BufWriter<StdoutLock<'static>>,
}

impl EventVisitor for Table<'_> {
    fn passes(&self) -> usize {
        2
    }

    fn event(&mut self, pass: usize, e: Event) -> Result<()> {
        let account = sanitize(e.account.as_deref().unwrap_or("-"));
        if pass == 0 {
            self.account = self.account.max(width(&account));
            self.event = self.event.max(width(&sanitize(&e.event)));
            self.actor = self.actor.max(width(&actor_text(e.actor.as_deref())));
            self.rows += 1;
            return Ok(());
        }
        if self.layout.is_none() {
            // On a terminal the table fits its width; into a pipe it is printed whole.
            let layout = Layout::fit(
                self.event,
                self.account,
                self.actor,
                self.out.tty.then_some(self.out.columns).flatten(),
            );
            writeln!(
                self.w,
                "{}",
                self.out
                    .bold(&layout.line("SEQ", "TIME", "EVENT", "ACCOUNT", "BY", "DETAIL"))
            )?;
            self.layout = Some(layout);
        }
        let layout = self.layout.as_ref().expect("made above");
        writeln!(
            self.w,
            "{}",
            layout.line(
                &e.seq.to_string(),
                &human_time(&e.at),
                &sanitize(&e.event),
                &account,
                &actor_text(e.actor.as_deref()),
                &detail_text(&e.detail),
            )
        )?;
        Ok(())
    }
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

/// `{"user":"alice","host":"web1"}` → `alice@web1`, `{"token":"pam","address":
/// "10.0.0.5",…}` → `token:pam@10.0.0.5`; `-` for events from before actors were
/// recorded.
fn actor_text(actor: Option<&str>) -> String {
    let Some(actor) = actor else {
        return "-".into();
    };
    match serde_json::from_str::<serde_json::Value>(actor) {
        Ok(v) => {
            let part = |k: &str| v.get(k).and_then(|p| p.as_str()).unwrap_or("?").to_string();
            // Through `serve`: the token and the client's address are who asked.
            if v.get("token").is_some() {
                return sanitize(&format!("token:{}@{}", part("token"), part("address")));
            }
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
