//! SQLite: the whole store record by record, for `copy`.

use anyhow::Result;
use rusqlite::params;

use super::super::engine::{EventLog, Record, Records, Size, Tokens, Transfer};
use super::enrollments::*;
use super::tx::*;
use crate::base::error::store_err;

impl Transfer for SqliteTx<'_> {
    fn size(&mut self) -> Result<Size> {
        let r = self.tx.query_row(
            "SELECT (SELECT count(*) FROM totps) + (SELECT count(*) FROM backup_codes) \
                  + (SELECT count(*) FROM events) + (SELECT count(*) FROM config) \
                  + (SELECT count(*) FROM meta) + 2",
            [],
            |r| r.get::<_, i64>(0),
        );
        Ok(Size {
            records: self.ok(r)? as u64,
        })
    }

    fn export(&mut self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let path = self.path;
        let err = |e| sqlite_err(path, e);
        if let Some(row) = self.vault_row()? {
            f(Record::Vault(row))?;
        }
        for (key, value) in self.config_pairs()? {
            f(Record::Config { key, value })?;
        }
        {
            let mut stmt = self.ok(self.tx.prepare("SELECT key, value FROM meta ORDER BY key"))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::Meta {
                    key: r.get(0).map_err(err)?,
                    value: r.get(1).map_err(err)?,
                })?;
            }
        }
        {
            let sql = format!("SELECT {TOTP_COLUMNS}, t.secret FROM totps t ORDER BY t.id");
            let mut stmt = self.ok(self.tx.prepare(&sql))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::Totp {
                    totp: totp_from_row(r).map_err(err)?,
                    sealed: r.get(15).map_err(err)?,
                })?;
            }
        }
        {
            let mut stmt = self.ok(self
                .tx
                .prepare("SELECT totp_id, hash, used_at FROM backup_codes ORDER BY totp_id"))?;
            let mut rows = self.ok(stmt.query([]))?;
            while let Some(r) = rows.next().map_err(err)? {
                f(Record::BackupCode {
                    totp_id: r.get(0).map_err(err)?,
                    hash: r.get(1).map_err(err)?,
                    used_at: r.get(2).map_err(err)?,
                })?;
            }
        }
        for token in self.tokens()? {
            f(Record::Token(token))?;
        }
        self.for_each_stored_event(0, i64::MAX, &mut |e| f(Record::Event(e)))?;
        if let Some(h) = self.head()? {
            f(Record::Head(h))?;
        }
        Ok(())
    }

    fn import(&mut self, r: &Record) -> Result<()> {
        match r {
            Record::Vault(row) => {
                self.put_vault_row(row, &crate::base::time::timestamp(chrono::Utc::now()))
            }
            Record::Totp { totp, sealed } => {
                let mac = totp.mac.clone().unwrap_or_default();
                if !self.insert_row(
                    totp,
                    sealed,
                    &mac,
                    &crate::domain::names::skeleton(&totp.account),
                )? {
                    return Err(store_err(format!(
                        "{}: account {} twice in the source",
                        self.path.display(),
                        crate::base::text::sanitize(&totp.account)
                    )));
                }
                if totp.mac.is_none() {
                    self.exec("UPDATE totps SET mac = NULL WHERE id = ?1", [&totp.id])?;
                }
                Ok(())
            }
            Record::BackupCode {
                totp_id,
                hash,
                used_at,
            } => self
                .exec(
                    "INSERT INTO backup_codes (totp_id, hash, used_at) VALUES (?1, ?2, ?3)",
                    params![totp_id, hash, used_at],
                )
                .map(drop),
            Record::Config { key, value } => self.set_config(key, value),
            Record::Meta { key, value } => self.set_meta(key, value),
            Record::Event(e) => self
                .exec(
                    "INSERT INTO events (seq, at, event, account, totp_id, detail, actor, state, \
                                         hash, mac) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        e.event.seq,
                        e.event.at,
                        e.event.event,
                        e.event.account,
                        e.event.totp_id,
                        e.event.detail,
                        e.event.actor,
                        e.event.state,
                        e.hash,
                        e.mac
                    ],
                )
                .map(drop),
            Record::Token(token) => self.insert_token(token).map(drop),
            Record::Head(h) => self
                .exec(
                    "INSERT INTO log_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3)",
                    params![h.seq, h.hash, h.mac],
                )
                .map(drop),
        }
    }
}
