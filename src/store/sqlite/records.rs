//! SQLite: the store as a whole: settings, meta values, the key record, counts and
//! the engine's own checks.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::super::engine::VaultRow;
use super::super::engine::{Records, Stats};
use super::tx::*;

impl Records for SqliteTx<'_> {
    fn config_pairs(&mut self) -> Result<Vec<(String, String)>> {
        let r = self
            .tx
            .prepare_cached("SELECT key, value FROM config")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        self.ok(r)
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO config (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
        .map(drop)
    }

    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let r = self
            .tx
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map(drop)
    }

    fn vault_row(&mut self) -> Result<Option<VaultRow>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT protection, kdf, salt, wrapped, version FROM vault WHERE id = 1",
            )
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(VaultRow {
                        protection: r.get(0)?,
                        kdf: r.get(1)?,
                        salt: r.get(2)?,
                        wrapped: r.get(3)?,
                        version: r.get(4)?,
                    })
                })
                .optional()
            });
        self.ok(r)
    }

    fn put_vault_row(&mut self, row: &VaultRow, now: &str) -> Result<()> {
        self.exec(
            "INSERT INTO vault (id, protection, kdf, salt, wrapped, version, updated_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET protection = excluded.protection, kdf = excluded.kdf, \
                 salt = excluded.salt, wrapped = excluded.wrapped, version = excluded.version, \
                 updated_at = excluded.updated_at",
            params![
                row.protection,
                row.kdf,
                row.salt,
                row.wrapped,
                row.version,
                now
            ],
        )
        .map(drop)
    }

    fn has_content(&mut self) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM totps) OR EXISTS (SELECT 1 FROM events) \
                 OR EXISTS (SELECT 1 FROM config) OR EXISTS (SELECT 1 FROM meta)",
        )
    }

    fn has_integrity_data(&mut self) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM meta) \
                 OR EXISTS (SELECT 1 FROM totps WHERE mac IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM events WHERE mac IS NOT NULL OR actor IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM log_head WHERE mac IS NOT NULL)",
        )
    }

    fn stats(&mut self, now: &str) -> Result<Stats> {
        let r = self.tx.query_row(
            "SELECT (SELECT count(*) FROM totps), \
                    (SELECT count(*) FROM totps WHERE verified), \
                    (SELECT count(*) FROM totps WHERE locked_until > ?1), \
                    (SELECT count(*) FROM totps t WHERE t.verified AND NOT EXISTS \
                        (SELECT 1 FROM backup_codes b WHERE b.totp_id = t.id \
                         AND b.used_at IS NULL)), \
                    (SELECT count(*) FROM events), \
                    (SELECT at FROM events ORDER BY seq DESC LIMIT 1), \
                    (SELECT user_version FROM pragma_user_version)",
            [now],
            |r| {
                let total: i64 = r.get(0)?;
                let verified: i64 = r.get(1)?;
                Ok(Stats {
                    total: total as u64,
                    verified: verified as u64,
                    unverified: (total - verified) as u64,
                    locked: r.get::<_, i64>(2)? as u64,
                    without_backup_codes: r.get::<_, i64>(3)? as u64,
                    events: r.get::<_, i64>(4)? as u64,
                    last_event_at: r.get(5)?,
                    schema_version: r.get(6)?,
                })
            },
        );
        self.ok(r)
    }

    fn settle(&mut self) -> Result<()> {
        // SQLite checks every constraint of totpctl's schema at once, and the schema
        // check allows no deferred one.
        Ok(())
    }

    fn deep_check(&mut self) -> Result<Option<String>> {
        let r = self
            .tx
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get::<_, String>(0));
        let answer = self.ok(r)?;
        Ok((answer != "ok").then_some(answer))
    }
}
