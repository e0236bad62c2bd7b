//! `list` and `show`: enrollments for audit, never a secret.

use std::io::{self, BufWriter, Write};

use anyhow::Result;

use super::ctx::Ctx;
use super::output::Output;
use crate::base::error::Exit;
use crate::base::text::{human_time, pad, sanitize, truncate, width};
use crate::cli::{ListArgs, ShowArgs};
use crate::domain::model::TotpRef;
use crate::ops::views::ListItem;
use crate::ops::{ListRequest, ListVisitor};

pub fn run(args: &ListArgs, ctx: &mut Ctx) -> Result<Exit> {
    let now = ctx.cx.now_str();
    let req = ListRequest {
        verified: match (args.verified, args.unverified) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        issuer: args.issuer.clone(),
        locked: args.locked,
        no_backup_codes: args.no_backup_codes,
        unused_since: args.unused_since.clone(),
    };
    if ctx.out.json {
        // Streamed: each row is serialised from the borrowed row into a large buffer
        // on the locked stdout, however large the store. Nothing is written before
        // the store has given its first row or its answer, so that a store refused
        // prints its error alone.
        let mut json = JsonRows {
            w: None,
            first: true,
        };
        ctx.ops.list(&ctx.cx, &req, &mut json)?;
        let w = json
            .w
            .get_or_insert_with(|| BufWriter::with_capacity(1 << 16, io::stdout().lock()));
        if json.first {
            w.write_all(b"[")?;
        }
        w.write_all(b"]\n")?;
        w.flush()?;
        return Ok(Exit::Success);
    }

    // Two passes over one snapshot: the first measures the columns, the second
    // prints, so the table is aligned without holding the rows.
    let mut table = Table {
        widths: COLUMNS.map(width),
        rows: 0,
        layout: None,
        columns: ctx.out.tty.then_some(ctx.out.columns).flatten(),
        out: &ctx.out,
        w: ctx.out.stdout(),
        now: &now,
    };
    ctx.ops.list(&ctx.cx, &req, &mut table)?;
    if table.rows == 0 {
        writeln!(
            table.w,
            "no enrollments{}",
            if filtered(args) { " match" } else { "" }
        )?;
    }
    table.w.flush()?;
    Ok(Exit::Success)
}

/// `list --json`: `[` on the first row, a comma before each row after it.
struct JsonRows<'o> {
    w: Option<BufWriter<io::StdoutLock<'o>>>,
    first: bool,
}

impl ListVisitor for JsonRows<'_> {
    fn row(&mut self, _pass: usize, t: &TotpRef<'_>) -> Result<()> {
        let w = self
            .w
            .get_or_insert_with(|| BufWriter::with_capacity(1 << 16, io::stdout().lock()));
        w.write_all(if self.first { b"[" } else { b"," })?;
        self.first = false;
        serde_json::to_writer(&mut *w, &ListItem::from(t))?;
        Ok(())
    }
}

/// The table of `list`: the first pass measures, the second prints.
struct Table<'a> {
    widths: [usize; COLUMNS.len()],
    rows: u64,
    layout: Option<Layout>,
    columns: Option<usize>,
    out: &'a Output,
    w: BufWriter<io::StdoutLock<'static>>,
    now: &'a str,
}

impl ListVisitor for Table<'_> {
    fn passes(&self) -> usize {
        2
    }

    fn row(&mut self, pass: usize, t: &TotpRef<'_>) -> Result<()> {
        let cells = cells(t, self.now);
        if pass == 0 {
            for (i, cell) in cells.iter().enumerate() {
                self.widths[i] = self.widths[i].max(width(cell));
            }
            self.rows += 1;
            return Ok(());
        }
        if self.layout.is_none() {
            // On a terminal the table fits its width; into a pipe it is printed whole.
            let layout = Layout::fit(self.widths, self.columns);
            writeln!(
                self.w,
                "{}",
                self.out.bold(&layout.line(&COLUMNS.map(String::from)))
            )?;
            self.layout = Some(layout);
        }
        let layout = self.layout.as_ref().expect("made above");
        writeln!(self.w, "{}", layout.line(&cells))?;
        Ok(())
    }
}

/// Which columns are shown, and how wide.
struct Layout {
    widths: [usize; COLUMNS.len()],
    shown: [bool; COLUMNS.len()],
}

/// Columns dropped, in this order, when the terminal is too narrow for all of them.
const DROP_ORDER: [usize; 5] = [5, 3, 1, 4, 6];
/// The narrowest the ACCOUNT and ISSUER columns are cut to before a column is dropped.
const MIN_ACCOUNT: usize = 16;
const MIN_ISSUER: usize = 10;
/// Spaces between columns.
const GAP: usize = 2;

impl Layout {
    /// Fits columns of these natural widths into `columns` (None: no limit). Long
    /// accounts and issuers are cut first; then columns are dropped in
    /// [`DROP_ORDER`]; an account column alone is cut to the width.
    fn fit(natural: [usize; COLUMNS.len()], columns: Option<usize>) -> Layout {
        let mut layout = Layout {
            widths: natural,
            shown: [true; COLUMNS.len()],
        };
        let Some(columns) = columns else {
            return layout;
        };
        let mut drop = DROP_ORDER.iter();
        loop {
            let fixed: usize = (2..COLUMNS.len())
                .filter(|&i| layout.shown[i])
                .map(|i| natural[i] + GAP)
                .sum();
            let issuer_min = natural[1].min(MIN_ISSUER);
            let issuer_gap = if layout.shown[1] { GAP } else { 0 };
            let budget = columns.saturating_sub(fixed + issuer_gap);
            let issuer_need = if layout.shown[1] { issuer_min } else { 0 };
            let account_min = natural[0].min(MIN_ACCOUNT);
            if budget >= account_min + issuer_need {
                // The issuer gets at most a third of what is left, the account the rest.
                let issuer = if layout.shown[1] {
                    natural[1].min(issuer_min.max(budget / 3))
                } else {
                    0
                };
                layout.widths[1] = issuer;
                layout.widths[0] = natural[0].min(budget - issuer);
                return layout;
            }
            match drop.next() {
                Some(&i) => layout.shown[i] = false,
                None => {
                    layout.widths[0] = natural[0].min(budget.max(1));
                    return layout;
                }
            }
        }
    }

    /// One row of the table: the shown cells, each cut and padded to its width.
    fn line(&self, cells: &[String; COLUMNS.len()]) -> String {
        let parts: Vec<String> = (0..COLUMNS.len())
            .filter(|&i| self.shown[i])
            .map(|i| pad(&truncate(&cells[i], self.widths[i]), self.widths[i]))
            .collect();
        parts.join(&" ".repeat(GAP)).trim_end().to_string()
    }
}

/// One element of `list --json`: the fields, in the order, of `TotpView::audit` (the
/// JSON of `show`), borrowed from the row instead of copied into a `Totp` (see the
/// test below, which keeps the two the same).
const COLUMNS: [&str; 7] = [
    "ACCOUNT",
    "ISSUER",
    "VERIFIED",
    "BACKUP CODES",
    "LAST USED",
    "FAILED",
    "LOCKED UNTIL",
];

fn cells(t: &TotpRef<'_>, now: &str) -> [String; 7] {
    [
        sanitize(t.account),
        sanitize(t.issuer),
        if t.verified { "yes" } else { "no" }.into(),
        t.backup_codes_remaining.to_string(),
        t.last_used_at.map_or("never".into(), human_time),
        t.failed_attempts.to_string(),
        match t.locked_until {
            Some(until) if until > now => human_time(until),
            _ => "-".into(),
        },
    ]
}

fn filtered(args: &ListArgs) -> bool {
    args.verified
        || args.unverified
        || args.issuer.is_some()
        || args.locked
        || args.no_backup_codes
        || args.unused_since.is_some()
}

pub fn show(args: &ShowArgs, ctx: &mut Ctx) -> Result<Exit> {
    let t = ctx.ops.show(&ctx.cx, &args.account)?;
    let out = &ctx.out;
    if out.json {
        out.json(&t)?;
        return Ok(Exit::Success);
    }
    let audit = t.audit.as_ref().expect("show gives the audit fields");
    let now = ctx.cx.now_str();
    let mut w = out.stdout();
    let locked = match audit.locked_until.as_deref() {
        Some(until) if until > now.as_str() => format!("until {}", human_time(until)),
        _ => "no".into(),
    };
    let fields = [
        ("account", sanitize(&t.account)),
        ("id", sanitize(&t.id)),
        ("issuer", sanitize(&t.issuer)),
        (
            "parameters",
            format!("{}, {} digits, every {} s", t.algorithm, t.digits, t.period),
        ),
        ("verified", if t.verified { "yes" } else { "no" }.into()),
        (
            "backup codes",
            format!("{} remaining", audit.backup_codes_remaining),
        ),
        (
            "last used",
            audit
                .last_used_at
                .as_deref()
                .map_or("never".into(), human_time),
        ),
        ("failed attempts", audit.failed_attempts.to_string()),
        ("locked", locked),
        ("created", human_time(&t.created_at)),
        ("updated", human_time(&t.updated_at)),
    ];
    for (name, value) in fields {
        writeln!(w, "{}  {value}", out.bold(&format!("{name:<15}")))?;
    }
    w.flush()?;
    Ok(Exit::Success)
}
