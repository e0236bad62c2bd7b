//! The API tokens of `serve`, checked before any is believed.
//!
//! A database writer without the key must not be able to mint a token, widen one's
//! scopes, lengthen its life, or bring one back after it was revoked. So each row is
//! under a MAC (everything but its last use, which decides nothing), and each change
//! of the tokens (`token_created`, `token_revoked`) records the digest of the whole
//! set it left behind: a row deleted, added, or put back with the MAC it once had no
//! longer matches the newest change, which the log's head answers for (its anchors),
//! and is refused. The token's text is never stored: only its keyed hash.

use std::path::Path;

use anyhow::Result;
use subtle::ConstantTimeEq;

use super::engine::{TokenRow, Tx};
use super::events;
use crate::base::error::integrity_error;
use crate::base::text::sanitize;
use crate::domain::integrity::{self, Keys, Tag};
use crate::domain::tokens::Scopes;

/// A token as checked: what its row says, less its hash.
#[derive(Debug, Clone)]
pub struct Token {
    pub name: String,
    pub scopes: Scopes,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// The digest of one row: what its MAC is over.
pub fn row_digest(r: &TokenRow) -> Tag {
    integrity::token_digest(
        &r.name,
        &r.hash,
        &r.scopes,
        &r.created_at,
        r.expires_at.as_deref(),
    )
}

/// The digest of the whole set, if every row carries its MAC; else the name of the
/// first that does not.
pub fn set_digest(rows: &[TokenRow], keys: &Keys) -> Result<Tag, String> {
    let mut digests = Vec::with_capacity(rows.len());
    for r in rows {
        let d = row_digest(r);
        if !integrity::matches(Some(&r.mac), &keys.token_mac(&d)) {
            return Err(r.name.clone());
        }
        digests.push(d);
    }
    Ok(integrity::token_set_digest(&digests))
}

/// Every token of the store, checked: each row's MAC and scopes, and the set against
/// the state the newest change of the tokens recorded. Anything else is an
/// `integrity_error`, and no token is believed.
/// The tokens, checked, each with its keyed hash.
pub type Checked = Vec<(Token, Vec<u8>)>;

pub fn load(tx: &mut dyn Tx, keys: &Keys, path: &Path) -> Result<Checked> {
    let rows = tx.tokens()?;
    let recorded = recorded(tx, keys, path)?;
    let set = set_digest(&rows, keys).map_err(|name| {
        integrity_error(format!(
            "the API token {:?} of {} does not carry this store's MAC: it was made or changed \
             without the key; no token is accepted until it is revoked (`totpctl token revoke \
             NAME` on the server's host)",
            sanitize(&name),
            path.display()
        ))
    })?;
    match recorded {
        None if !rows.is_empty() => {
            return Err(integrity_error(format!(
                "{} holds API tokens that no event made: they were put there without the key; \
                 no token is accepted until they are revoked",
                path.display()
            )));
        }
        Some((seq, state)) if state != set => {
            return Err(integrity_error(format!(
                "the API tokens of {} are not those their last change (event #{seq}) recorded: \
                 a token was added, deleted or put back without the key; no token is accepted",
                path.display()
            )));
        }
        _ => {}
    }
    rows.into_iter()
        .map(|r| {
            let scopes = Scopes::parse(&r.scopes)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    integrity_error(format!(
                        "the API token {:?} of {} has scopes {:?}, which totpctl never writes",
                        sanitize(&r.name),
                        path.display(),
                        sanitize(&r.scopes)
                    ))
                })?;
            Ok((
                Token {
                    name: r.name,
                    scopes,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    last_used_at: r.last_used_at,
                },
                r.hash,
            ))
        })
        .collect()
}

/// The seq of the newest change of the tokens and the set digest it recorded, checked;
/// `None` when the tokens never changed.
pub fn recorded(tx: &mut dyn Tx, keys: &Keys, path: &Path) -> Result<Option<(i64, Tag)>> {
    match events::last_token_change(tx, keys)? {
        Err(seq) => Err(integrity_error(format!(
            "event #{seq}, the last change of the API tokens of {}, does not check out: run \
             `totpctl log --check`; no token is accepted",
            path.display()
        ))),
        Ok(None) => Ok(None),
        Ok(Some((last, _))) => {
            let state: Tag = last
                .state
                .as_deref()
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| {
                    integrity_error(format!(
                        "event #{}, the last change of the API tokens of {}, records no state",
                        last.seq,
                        path.display()
                    ))
                })?;
            Ok(Some((last.seq, state)))
        }
    }
}

/// The token whose keyed hash is `hash`, compared with every row's in constant time
/// (no early exit), so that how long it takes says nothing of how close a guess was.
pub fn find_by_hash(tokens: &[(Token, Vec<u8>)], hash: &[u8]) -> Option<Token> {
    let mut found = None;
    for (t, h) in tokens {
        if bool::from(h.as_slice().ct_eq(hash)) && found.is_none() {
            found = Some(t.clone());
        }
    }
    found
}
