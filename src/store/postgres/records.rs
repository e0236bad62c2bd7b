//! PostgreSQL: the store as a whole: settings, meta values, the key record, counts
//! and the engine's own checks.

use anyhow::Result;

use super::super::engine::VaultRow;
use super::super::engine::{Records, Stats};
use super::connect::pg_err;
use super::tx::*;
use crate::base::error::store_err;

impl Records for PgTx<'_> {
    fn config_pairs(&mut self) -> Result<Vec<(String, String)>> {
        self.all("SELECT key, value FROM ONLY totpctl.config", &[])?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect()
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO totpctl.config (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .map(drop)
    }

    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.opt(
            "SELECT value FROM ONLY totpctl.meta WHERE key = $1",
            &[&key],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO totpctl.meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .map(drop)
    }

    fn vault_row(&mut self) -> Result<Option<VaultRow>> {
        self.opt(
            "SELECT protection, kdf, salt, wrapped, version FROM ONLY totpctl.vault WHERE id = 1",
            &[],
        )?
        .map(|r| {
            Ok(VaultRow {
                protection: get(&r, 0)?,
                kdf: get(&r, 1)?,
                salt: get(&r, 2)?,
                wrapped: get(&r, 3)?,
                version: get(&r, 4)?,
            })
        })
        .transpose()
    }

    fn put_vault_row(&mut self, row: &VaultRow, now: &str) -> Result<()> {
        self.exec(
            "INSERT INTO totpctl.vault (id, protection, kdf, salt, wrapped, version, updated_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET protection = excluded.protection, kdf = excluded.kdf, \
                 salt = excluded.salt, wrapped = excluded.wrapped, version = excluded.version, \
                 updated_at = excluded.updated_at",
            &[
                &row.protection,
                &row.kdf,
                &row.salt,
                &row.wrapped,
                &row.version,
                &now,
            ],
        )
        .map(drop)
    }

    fn has_content(&mut self) -> Result<bool> {
        self.flush()?;
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM ONLY totpctl.totps) OR EXISTS (SELECT 1 FROM ONLY totpctl.events) \
                 OR EXISTS (SELECT 1 FROM ONLY totpctl.config) OR EXISTS (SELECT 1 FROM ONLY totpctl.meta)",
        )
    }

    fn has_integrity_data(&mut self) -> Result<bool> {
        self.flush()?;
        // Every PostgreSQL store is authenticated from its first key record on.
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM ONLY totpctl.meta) \
                 OR EXISTS (SELECT 1 FROM ONLY totpctl.totps WHERE mac IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM ONLY totpctl.events \
                            WHERE mac IS NOT NULL OR actor IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM ONLY totpctl.log_head WHERE mac IS NOT NULL)",
        )
    }

    fn stats(&mut self, now: &str) -> Result<Stats> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT (SELECT count(*) FROM ONLY totpctl.totps), \
                        (SELECT count(*) FROM ONLY totpctl.totps WHERE verified), \
                        (SELECT count(*) FROM ONLY totpctl.totps WHERE locked_until > $1), \
                        (SELECT count(*) FROM ONLY totpctl.totps t WHERE t.verified AND NOT EXISTS \
                            (SELECT 1 FROM ONLY totpctl.backup_codes b WHERE b.totp_id = t.id \
                             AND b.used_at IS NULL)), \
                        (SELECT count(*) FROM ONLY totpctl.events), \
                        (SELECT at FROM ONLY totpctl.events ORDER BY seq DESC LIMIT 1), \
                        (SELECT coalesce(max(version), 0)::bigint FROM ONLY totpctl.migrations)",
                &[&now],
            )?
            .ok_or_else(|| store_err("no counts".into()))?;
        let n = |i: usize| -> Result<u64> { Ok(get::<i64>(&r, i)? as u64) };
        let total = n(0)?;
        let verified = n(1)?;
        Ok(Stats {
            total,
            verified,
            unverified: total - verified,
            locked: n(2)?,
            without_backup_codes: n(3)?,
            events: n(4)?,
            last_event_at: get(&r, 5)?,
            schema_version: get(&r, 6)?,
        })
    }

    fn settle(&mut self) -> Result<()> {
        self.flush()?;
        // A deferred constraint trigger would run at commit, after the read-back.
        self.tx
            .batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
            .map_err(|e| pg_err(self.url, e))
    }

    fn deep_check(&mut self) -> Result<Option<String>> {
        // Only the server's owner can rebuild an index to leave rows out (a role that
        // owns a table can REINDEX it, which rebuilds it whole).
        Ok(None)
    }
}
