//! PostgreSQL: the API tokens' rows.

use anyhow::Result;

use super::super::engine::{TokenRow, Tokens};
use super::tx::*;

impl Tokens for PgTx<'_> {
    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        self.all(
            "SELECT name, hash, scopes, created_at, expires_at, last_used_at, mac \
             FROM ONLY totpctl.tokens ORDER BY name COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(TokenRow {
                name: get(r, 0)?,
                hash: get(r, 1)?,
                scopes: get(r, 2)?,
                created_at: get(r, 3)?,
                expires_at: get(r, 4)?,
                last_used_at: get(r, 5)?,
                mac: get(r, 6)?,
            })
        })
        .collect()
    }

    fn insert_token(&mut self, t: &TokenRow) -> Result<bool> {
        self.exec(
            "INSERT INTO totpctl.tokens \
                 (name, hash, scopes, created_at, expires_at, last_used_at, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
            &[
                &t.name,
                &t.hash,
                &t.scopes,
                &t.created_at,
                &t.expires_at,
                &t.last_used_at,
                &t.mac,
            ],
        )
        .map(|n| n == 1)
    }

    fn delete_token(&mut self, name: &str) -> Result<bool> {
        self.exec("DELETE FROM ONLY totpctl.tokens WHERE name = $1", &[&name])
            .map(|n| n == 1)
    }

    fn touch_token(&mut self, name: &str, at: &str) -> Result<()> {
        self.exec(
            "UPDATE ONLY totpctl.tokens SET last_used_at = $2 WHERE name = $1",
            &[&name, &at],
        )
        .map(drop)
    }
}
