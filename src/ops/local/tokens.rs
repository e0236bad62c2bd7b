//! `token create`, `token list`, `token revoke`: the API tokens of `serve`, made and
//! ended only with the key, on the store's own host. And the check every API request
//! passes first: its token, authenticated, unexpired, with the scope it needs.

use anyhow::Result;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::base::time::timestamp;
use crate::domain::tokens::{self, Scope, Scopes};
use crate::ops::context::Context;
use crate::ops::requests::NewStore;
use crate::ops::tokens::{Grant, TokenCreated, TokenRequest, TokenRevoked, TokenView, scope_names};
use crate::store;

pub fn create(l: &Local, cx: &Context, req: &TokenRequest) -> Result<TokenCreated> {
    tokens::check_name(&req.name).map_err(invalid)?;
    if req.scopes.is_empty() {
        return Err(invalid(
            "a token needs at least one --scope: verify, read, enroll or admin",
        ));
    }
    let scopes = Scopes::of(&req.scopes);
    let expires_at = req
        .expires
        .as_deref()
        .map(|e| tokens::expiry(cx.now, e).map(timestamp))
        .transpose()
        .map_err(invalid)?;
    // The first token of a new store may be its first keyed write: it makes the
    // store and its key, as a first enrollment does.
    let mut store = l.open_store()?;
    let mut s = l.session(cx, &mut store, true)?;
    let created = s.created_keys.then(|| NewStore {
        store: s.path().to_path_buf(),
        key_file: s.key_source().key_file.clone(),
    });
    let Some(text) = s.add_token(&req.name, scopes, expires_at.clone())? else {
        return Err(invalid(format!(
            "a token named {:?} exists already: revoke it first ({}), or choose another name",
            req.name,
            cx.command_line(&["token", "revoke", &req.name])
        )));
    };
    s.commit()?;
    Ok(TokenCreated {
        name: req.name.clone(),
        token: zeroize::Zeroizing::new(text),
        scopes: scope_names(scopes),
        created_at: cx.now_str(),
        expires_at,
        created,
    })
}

pub fn list(l: &Local, cx: &Context) -> Result<Vec<TokenView>> {
    let mut store = l.existing_store()?;
    let s = l.session(cx, &mut store, false)?;
    let now = cx.now_str();
    Ok(s.tokens()?
        .into_iter()
        .map(|t| TokenView {
            expired: t.expires_at.as_deref().is_some_and(|e| e <= now.as_str()),
            name: t.name,
            scopes: scope_names(t.scopes),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        })
        .collect())
}

pub fn revoke(l: &Local, cx: &Context, name: &str) -> Result<TokenRevoked> {
    let mut store = l.existing_store()?;
    let mut s = l.session(cx, &mut store, false)?;
    if !s.revoke_token(name)? {
        return Err(Error::Missing(format!(
            "no token named {:?}: `{}` lists them",
            crate::base::text::sanitize(name),
            cx.command_line(&["token", "list"])
        ))
        .into());
    }
    s.commit()?;
    Ok(TokenRevoked {
        name: name.to_string(),
        revoked: true,
    })
}

/// Checks an API request's token in its own session: see [`authorize_in`].
pub fn authorize(l: &Local, cx: &Context, presented: &str, needed: Scope) -> Result<Grant> {
    if !tokens::looks_like_token(presented) {
        return Err(unauthorized());
    }
    let mut store = l.existing_store()?;
    let mut s = l.session(cx, &mut store, false)?;
    // The outer error is the store's, the inner one the refusal.
    let (grant, touched) = authorize_in(&mut s, cx, presented, needed)??;
    if touched {
        s.commit()?;
    }
    Ok(grant)
}

/// Checks an API request's token in a write session (so that a token revoked a
/// moment ago is refused): it must be one of the store's, checked under the key,
/// unexpired, with a scope that allows `needed`. Notes its last use, to the minute
/// (the `bool`: whether that was written). The inner error is the answer to the
/// request (`unauthorized`, `forbidden`), with nothing written.
pub fn authorize_in(
    s: &mut store::Session<'_>,
    cx: &Context,
    presented: &str,
    needed: Scope,
) -> Result<Result<(Grant, bool)>> {
    if !tokens::looks_like_token(presented) {
        return Ok(Err(unauthorized()));
    }
    let Some(token) = s.authenticate(presented)? else {
        return Ok(Err(unauthorized()));
    };
    let now = cx.now_str();
    if token
        .expires_at
        .as_deref()
        .is_some_and(|e| e <= now.as_str())
    {
        return Ok(Err(Error::Unauthorized(format!(
            "the API token {:?} expired at {}: make a new one on the server's host",
            token.name,
            token.expires_at.as_deref().unwrap_or_default()
        ))
        .into()));
    }
    if !token.scopes.allow(needed) {
        return Ok(Err(Error::Forbidden(format!(
            "the API token {:?} has scope {}; this needs scope {} (or admin)",
            token.name, token.scopes, needed
        ))
        .into()));
    }
    // To the minute: at most one write per token per minute.
    let minute = format!("{}:00.000Z", &now[..16.min(now.len())]);
    let touched = token.last_used_at.as_deref() != Some(minute.as_str());
    if touched {
        s.touch_token(&token.name, &minute)?;
    }
    Ok(Ok((
        Grant {
            token: token.name,
            scopes: token.scopes,
        },
        touched,
    )))
}

fn unauthorized() -> anyhow::Error {
    Error::Unauthorized(
        "a valid API token is needed: send it as `Authorization: Bearer TOKEN` (made with \
         `totpctl token create` on the server's host)"
            .into(),
    )
    .into()
}
