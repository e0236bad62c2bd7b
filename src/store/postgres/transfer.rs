//! PostgreSQL: the whole store record by record, for `copy`.

use anyhow::Result;

use super::super::engine::{EventLog, Record, Records, Size, Tokens, Transfer};
use super::enrollments::*;
use super::tx::*;
use crate::base::error::store_err;

impl Transfer for PgTx<'_> {
    fn size(&mut self) -> Result<Size> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT (SELECT count(*) FROM ONLY totpctl.totps) \
                      + (SELECT count(*) FROM ONLY totpctl.backup_codes) \
                      + (SELECT count(*) FROM ONLY totpctl.events) \
                      + (SELECT count(*) FROM ONLY totpctl.config) \
                      + (SELECT count(*) FROM ONLY totpctl.meta) + 2",
                &[],
            )?
            .ok_or_else(|| store_err("no counts".into()))?;
        Ok(Size {
            records: get::<i64>(&r, 0)? as u64,
        })
    }

    fn export(&mut self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        if let Some(row) = self.vault_row()? {
            f(Record::Vault(row))?;
        }
        for (key, value) in self.config_pairs()? {
            f(Record::Config { key, value })?;
        }
        self.stream(
            "SELECT key, value FROM ONLY totpctl.meta ORDER BY key",
            &[],
            &mut |r| {
                f(Record::Meta {
                    key: get(r, 0)?,
                    value: get(r, 1)?,
                })
            },
        )?;
        let sql =
            format!("SELECT {TOTP_COLUMNS}, t.secret FROM ONLY totpctl.totps t ORDER BY t.id");
        self.stream(&sql, &[], &mut |r| {
            f(Record::Totp {
                totp: totp_from_row(r)?,
                sealed: get(r, 15)?,
            })
        })?;
        self.stream(
            "SELECT totp_id, hash, used_at FROM ONLY totpctl.backup_codes ORDER BY totp_id",
            &[],
            &mut |r| {
                f(Record::BackupCode {
                    totp_id: get(r, 0)?,
                    hash: get(r, 1)?,
                    used_at: get(r, 2)?,
                })
            },
        )?;
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
                let n = self.exec(
                    "INSERT INTO totpctl.totps (id, account, issuer, algorithm, digits, period, \
                         secret, verified, last_step, last_used_at, failed_attempts, \
                         locked_until, created_at, updated_at, mac, skeleton) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                             $16)",
                    &[
                        &totp.id,
                        &totp.account,
                        &totp.issuer,
                        &totp.params.algorithm.as_str(),
                        &i32::from(totp.params.digits),
                        &(totp.params.period as i32),
                        sealed,
                        &totp.verified,
                        &totp.last_step,
                        &totp.last_used_at,
                        &(totp.failed_attempts as i32),
                        &totp.locked_until,
                        &totp.created_at,
                        &totp.updated_at,
                        &totp.mac,
                        &crate::domain::names::skeleton(&totp.account),
                    ],
                )?;
                debug_assert_eq!(n, 1);
                Ok(())
            }
            Record::BackupCode {
                totp_id,
                hash,
                used_at,
            } => self
                .exec(
                    "INSERT INTO totpctl.backup_codes (totp_id, hash, used_at) \
                     VALUES ($1, $2, $3)",
                    &[totp_id, hash, used_at],
                )
                .map(drop),
            Record::Config { key, value } => self.set_config(key, value),
            Record::Meta { key, value } => self.set_meta(key, value),
            Record::Event(e) => {
                let ev = &e.event;
                self.exec(
                    "INSERT INTO totpctl.events \
                         (seq, at, event, account, totp_id, detail, actor, state, hash, mac) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &ev.seq,
                        &ev.at,
                        &ev.event,
                        &ev.account,
                        &ev.totp_id,
                        &ev.detail,
                        &ev.actor,
                        &ev.state,
                        &e.hash,
                        &e.mac,
                    ],
                )
                .map(drop)
            }
            Record::Token(token) => self.insert_token(token).map(drop),
            Record::Head(h) => self
                .exec(
                    "INSERT INTO totpctl.log_head (id, seq, hash, mac) VALUES (1, $1, $2, $3)",
                    &[&h.seq, &h.hash, &h.mac],
                )
                .map(drop),
        }
    }
}
