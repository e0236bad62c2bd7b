//! `list` and `show`: enrollments for audit, never a secret.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{ListArgs, ShowArgs};
use crate::error::Exit;
use crate::output::{TotpView, human_time, pad, sanitize, truncate, width};
use crate::store::{ListFilter, Totp, TotpRef};
use crate::{Ctx, parse_time_or_ago, timestamp};

pub fn run(args: &ListArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    let filter = ListFilter {
        verified: match (args.verified, args.unverified) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        issuer: args.issuer.clone(),
        locked_at: args.locked.then(|| ctx.now_str()),
        no_backup_codes: args.no_backup_codes,
        unused_since: args
            .unused_since
            .as_deref()
            .map(|t| parse_time_or_ago(t, ctx.now))
            .transpose()?
            .map(timestamp),
    };
    let out = &ctx.out;
    if out.json {
        // Streamed: each row is serialised from the borrowed SQLite row into a large
        // buffer on the locked stdout, however large the store.
        // The transaction first: a store refused prints its error alone.
        let mut tx = store.read()?;
        let mut w = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        w.write_all(b"[")?;
        let mut first = true;
        tx.for_each_totp_ref(&filter, &mut |t| {
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut w, &ListItem::from(t))?;
            Ok(())
        })?;
        w.write_all(b"]\n")?;
        w.flush()?;
        return Ok(Exit::Success);
    }

    let mut w = out.stdout();
    // Two passes in one read transaction: the first measures the columns, the second
    // prints, so the table is aligned without holding the rows.
    let mut tx = store.read()?;
    let mut widths = [0usize; COLUMNS.len()];
    for (i, h) in COLUMNS.iter().enumerate() {
        widths[i] = width(h);
    }
    let mut rows = 0u64;
    tx.for_each_totp(&filter, &mut |t| {
        for (i, cell) in cells(&t, &ctx.now_str()).iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
        rows += 1;
        Ok(())
    })?;
    if rows == 0 {
        writeln!(
            w,
            "no enrollments{}",
            if filtered(args) { " match" } else { "" }
        )?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    // On a terminal the table fits its width; into a pipe it is printed whole.
    let layout = Layout::fit(widths, out.tty.then_some(out.columns).flatten());
    writeln!(w, "{}", out.bold(&layout.line(&COLUMNS.map(String::from))))?;
    let now = ctx.now_str();
    tx.for_each_totp(&filter, &mut |t| {
        writeln!(w, "{}", layout.line(&cells(&t, &now)))?;
        Ok(())
    })?;
    w.flush()?;
    Ok(Exit::Success)
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListItem<'r> {
    id: &'r str,
    account: &'r str,
    issuer: &'r str,
    algorithm: &'static str,
    digits: u8,
    period: u32,
    verified: bool,
    backup_codes_remaining: u32,
    last_used_at: Option<&'r str>,
    failed_attempts: u32,
    locked_until: Option<&'r str>,
    created_at: &'r str,
    updated_at: &'r str,
}

impl<'r> From<&TotpRef<'r>> for ListItem<'r> {
    fn from(t: &TotpRef<'r>) -> Self {
        ListItem {
            id: t.id,
            account: t.account,
            issuer: t.issuer,
            algorithm: t.params.algorithm.as_str(),
            digits: t.params.digits,
            period: t.params.period,
            verified: t.verified,
            backup_codes_remaining: t.backup_codes_remaining,
            last_used_at: t.last_used_at,
            failed_attempts: t.failed_attempts,
            locked_until: t.locked_until,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

const COLUMNS: [&str; 7] = [
    "ACCOUNT",
    "ISSUER",
    "VERIFIED",
    "BACKUP CODES",
    "LAST USED",
    "FAILED",
    "LOCKED UNTIL",
];

fn cells(t: &Totp, now: &str) -> [String; 7] {
    [
        sanitize(&t.account),
        sanitize(&t.issuer),
        if t.verified { "yes" } else { "no" }.into(),
        t.backup_codes_remaining.to_string(),
        t.last_used_at.as_deref().map_or("never".into(), human_time),
        t.failed_attempts.to_string(),
        match t.locked_until.as_deref() {
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

pub fn show(args: &ShowArgs, ctx: &Ctx) -> Result<Exit> {
    let mut store = ctx.existing_store()?;
    let t = store.get(&args.account)?;
    let out = &ctx.out;
    if out.json {
        out.json(&TotpView::audit(t))?;
        return Ok(Exit::Success);
    }
    let now = ctx.now_str();
    let mut w = out.stdout();
    let locked = match t.locked_until.as_deref() {
        Some(until) if until > now.as_str() => format!("until {}", human_time(until)),
        _ => "no".into(),
    };
    let fields = [
        ("account", sanitize(&t.account)),
        ("id", sanitize(&t.id)),
        ("issuer", sanitize(&t.issuer)),
        (
            "parameters",
            format!(
                "{}, {} digits, every {} s",
                t.params.algorithm, t.params.digits, t.params.period
            ),
        ),
        ("verified", if t.verified { "yes" } else { "no" }.into()),
        (
            "backup codes",
            format!("{} remaining", t.backup_codes_remaining),
        ),
        (
            "last used",
            t.last_used_at.as_deref().map_or("never".into(), human_time),
        ),
        ("failed attempts", t.failed_attempts.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Algorithm, Params};

    /// `list --json` and `show --json` print an enrollment the same way.
    #[test]
    fn list_item_serialises_as_the_audit_view() {
        let params = Params {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
        };
        for (last_used, locked) in [
            (None, None),
            (
                Some("2026-11-26T12:00:00.000Z"),
                Some("2026-11-26T13:00:00.000Z"),
            ),
        ] {
            let borrowed = TotpRef {
                id: "0192f1a2-7b3c-7def-8a9b-0123456789ab",
                account: "al\"ice\u{1b}@example.com",
                issuer: "Example Corp",
                params,
                verified: true,
                last_used_at: last_used,
                failed_attempts: 3,
                locked_until: locked,
                created_at: "2026-11-26T11:00:00.000Z",
                updated_at: "2026-11-26T12:00:00.000Z",
                backup_codes_remaining: 7,
            };
            let owned = Totp {
                id: borrowed.id.into(),
                account: borrowed.account.into(),
                issuer: borrowed.issuer.into(),
                params,
                verified: true,
                last_step: Some(1),
                last_used_at: last_used.map(Into::into),
                failed_attempts: 3,
                locked_until: locked.map(Into::into),
                created_at: borrowed.created_at.into(),
                updated_at: borrowed.updated_at.into(),
                backup_codes_remaining: 7,
                mac: None,
            };
            assert_eq!(
                serde_json::to_string(&ListItem::from(&borrowed)).unwrap(),
                serde_json::to_string(&TotpView::audit(owned)).unwrap()
            );
        }
    }
}
