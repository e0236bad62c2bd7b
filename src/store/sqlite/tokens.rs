//! SQLite: the API tokens' rows.

use anyhow::Result;
use rusqlite::params;

use super::super::engine::{TokenRow, Tokens};
use super::tx::*;

impl Tokens for SqliteTx<'_> {
    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT name, hash, scopes, created_at, expires_at, last_used_at, mac \
                 FROM tokens ORDER BY name",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(TokenRow {
                        name: r.get(0)?,
                        hash: r.get(1)?,
                        scopes: r.get(2)?,
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        last_used_at: r.get(5)?,
                        mac: r.get(6)?,
                    })
                })?
                .collect()
            });
        self.ok(r)
    }

    fn insert_token(&mut self, t: &TokenRow) -> Result<bool> {
        self.exec(
            "INSERT INTO tokens (name, hash, scopes, created_at, expires_at, last_used_at, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING",
            params![
                t.name,
                t.hash,
                t.scopes,
                t.created_at,
                t.expires_at,
                t.last_used_at,
                t.mac
            ],
        )
        .map(|n| n == 1)
    }

    fn delete_token(&mut self, name: &str) -> Result<bool> {
        self.exec("DELETE FROM tokens WHERE name = ?1", [name])
            .map(|n| n == 1)
    }

    fn touch_token(&mut self, name: &str, at: &str) -> Result<()> {
        self.exec(
            "UPDATE tokens SET last_used_at = ?2 WHERE name = ?1",
            [name, at],
        )
        .map(drop)
    }
}
