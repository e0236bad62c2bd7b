//! `token create`, `token list`, `token revoke`: the API tokens of `serve`.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use super::ctx::Ctx;
use super::output::note;
use crate::base::error::Exit;
use crate::base::text::{human_time, pad, sanitize, width};
use crate::cli::{ScopeArg, TokenAction, TokenArgs, TokenCreateArgs};
use crate::domain::tokens::Scope;
use crate::ops::TokenRequest;

pub fn run(args: &TokenArgs, ctx: &mut Ctx) -> Result<Exit> {
    match &args.action {
        TokenAction::Create(a) => create(a, ctx),
        TokenAction::List => list(ctx),
        TokenAction::Revoke { name } => revoke(name, ctx),
    }
}

fn create(args: &TokenCreateArgs, ctx: &mut Ctx) -> Result<Exit> {
    let req = TokenRequest {
        name: args.name.clone(),
        scopes: args
            .scopes
            .iter()
            .map(|s| match s {
                ScopeArg::Verify => Scope::Verify,
                ScopeArg::Read => Scope::Read,
                ScopeArg::Enroll => Scope::Enroll,
                ScopeArg::Admin => Scope::Admin,
            })
            .collect(),
        expires: args.expires.clone(),
    };
    let created = ctx.ops.token_create(&ctx.cx, &req)?;
    let out = &ctx.out;
    if out.json {
        out.json(&created)?;
    } else {
        // The token alone on stdout, so that `> FILE` keeps it and nothing else; what
        // people should know goes to stderr.
        let mut w = out.stdout();
        writeln!(w, "{}", created.token.as_str())?;
        w.flush()?;
        let expiry = match &created.expires_at {
            Some(at) => format!("expires {}", human_time(at)),
            None => "never expires; revoke it when its holder no longer needs it".into(),
        };
        note(&format!(
            "made API token {:?} with scope {} ({expiry}). This is the only time it is \
             shown: the store keeps only its hash. Give it to its holder in a file only they \
             can read (mode 0600).",
            created.name,
            created.scopes.join(","),
        ));
        if std::io::stdout().is_terminal() {
            note("to keep it in a file instead: totpctl token create NAME --scope … > FILE");
        }
    }
    if let Some(new) = &created.created
        && !out.json
    {
        let mut w = std::io::stderr().lock();
        out.new_store(&mut w, &new.store, new.key_file.as_deref())?;
    }
    Ok(Exit::Success)
}

fn list(ctx: &mut Ctx) -> Result<Exit> {
    let tokens = ctx.ops.token_list(&ctx.cx)?;
    let out = &ctx.out;
    if out.json {
        out.json(&tokens)?;
        return Ok(Exit::Success);
    }
    let mut w = out.stdout();
    if tokens.is_empty() {
        writeln!(
            w,
            "No API tokens. Make one with: {}",
            ctx.cx
                .command_line(&["token", "create", "NAME", "--scope", "verify"])
        )?;
        w.flush()?;
        return Ok(Exit::Success);
    }
    let rows: Vec<[String; 5]> = tokens
        .iter()
        .map(|t| {
            [
                sanitize(&t.name),
                t.scopes.join(","),
                human_time(&t.created_at),
                t.last_used_at.as_deref().map_or("never".into(), human_time),
                match (&t.expires_at, t.expired) {
                    (Some(at), true) => format!("{} (expired)", human_time(at)),
                    (Some(at), false) => human_time(at),
                    (None, _) => "never".into(),
                },
            ]
        })
        .collect();
    let heads = ["NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES"];
    let mut widths = heads.map(width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 < cells.len() {
                s.push_str(&pad(cell, w));
                s.push_str("  ");
            } else {
                s.push_str(cell);
            }
        }
        s
    };
    writeln!(w, "{}", out.bold(&line(heads)))?;
    for row in &rows {
        writeln!(w, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    w.flush()?;
    Ok(Exit::Success)
}

fn revoke(name: &str, ctx: &mut Ctx) -> Result<Exit> {
    let view = ctx.ops.token_revoke(&ctx.cx, name)?;
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "Revoked API token {:?}: the next request that presents it is refused",
            sanitize(&view.name)
        )?;
        w.flush()?;
    }
    Ok(Exit::Success)
}
