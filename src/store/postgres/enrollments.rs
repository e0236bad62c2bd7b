//! PostgreSQL: the enrollments (`totpctl.totps`) and their backup codes.

use std::collections::HashMap;

use anyhow::Result;
use postgres::Row;
use postgres::types::ToSql;

use super::super::engine::{Enrollments, Insert, StoredState};
use super::tx::*;
use crate::base::error::store_err;
use crate::domain::model::{ListFilter, Totp, TotpRef};
use crate::domain::otp::{Algorithm, Params};

/// A backup code as stored: its hash, and when it was used.
pub(super) type BackupCode = (Vec<u8>, Option<String>);

pub(super) const TOTP_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, \
     (SELECT count(*) FROM ONLY totpctl.backup_codes b WHERE b.totp_id = t.id AND b.used_at IS NULL), \
     t.mac";

/// The parameters at columns 3 to 5, checked as strictly as on input: a period of 0
/// or 1 digit in the table is damage (or an attack), never something to compute with.
pub(super) fn params_at(r: &Row) -> Result<Params> {
    let text: &str = get(r, 3)?;
    let algorithm = Algorithm::parse(text).ok_or_else(|| {
        store_err(format!(
            "enrollment row has unknown algorithm {:?}",
            crate::base::text::printable(text)
        ))
    })?;
    let digits: i32 = get(r, 4)?;
    let period: i32 = get(r, 5)?;
    let digits = u8::try_from(digits).unwrap_or(0);
    let period = u32::try_from(period).unwrap_or(0);
    Params::new(algorithm, digits, period)
        .map_err(|e| store_err(format!("an enrollment row is damaged: {e}")))
}

pub(super) fn count(r: &Row, i: usize) -> Result<u32> {
    let n: i64 = match r.try_get::<_, i64>(i) {
        Ok(n) => n,
        Err(_) => i64::from(get::<i32>(r, i)?),
    };
    u32::try_from(n).map_err(|_| store_err(format!("a count of {n} is out of range")))
}

pub(super) fn totp_from_row(r: &Row) -> Result<Totp> {
    totp_with_count(r, count(r, 13)?)
}

pub(super) fn totp_with_count(r: &Row, backup_codes_remaining: u32) -> Result<Totp> {
    Ok(Totp {
        id: get(r, 0)?,
        account: get(r, 1)?,
        issuer: get(r, 2)?,
        params: params_at(r)?,
        verified: get(r, 6)?,
        last_step: get(r, 7)?,
        last_used_at: get(r, 8)?,
        failed_attempts: count(r, 9)?,
        locked_until: get(r, 10)?,
        created_at: get(r, 11)?,
        updated_at: get(r, 12)?,
        backup_codes_remaining,
        mac: get(r, 14)?,
    })
}

pub(super) fn totp_ref_from_row(r: &Row) -> Result<TotpRef<'_>> {
    Ok(TotpRef {
        id: get(r, 0)?,
        account: get(r, 1)?,
        issuer: get(r, 2)?,
        params: params_at(r)?,
        verified: get(r, 6)?,
        last_used_at: get(r, 8)?,
        failed_attempts: count(r, 9)?,
        locked_until: get(r, 10)?,
        created_at: get(r, 11)?,
        updated_at: get(r, 12)?,
        backup_codes_remaining: count(r, 13)?,
    })
}

/// The SQL and arguments of `list`'s filter.
pub(super) fn totp_query(filter: &ListFilter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut sql = format!("SELECT {TOTP_COLUMNS} FROM ONLY totpctl.totps t WHERE true");
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut arg = |sql: &mut String, text: &str, v: Box<dyn ToSql + Sync>| {
        args.push(v);
        sql.push_str(&text.replace('?', &format!("${}", args.len())));
    };
    if let Some(v) = filter.verified {
        arg(&mut sql, " AND t.verified = ?", Box::new(v));
    }
    if let Some(issuer) = &filter.issuer {
        // SQLite's NOCASE: ASCII letters only.
        arg(
            &mut sql,
            " AND translate(t.issuer, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
             'abcdefghijklmnopqrstuvwxyz') = translate(?, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
             'abcdefghijklmnopqrstuvwxyz')",
            Box::new(issuer.clone()),
        );
    }
    if let Some(now) = &filter.locked_at {
        arg(&mut sql, " AND t.locked_until > ?", Box::new(now.clone()));
    }
    if filter.no_backup_codes {
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM ONLY totpctl.backup_codes b WHERE b.totp_id = t.id)",
        );
    }
    if let Some(before) = &filter.unused_since {
        arg(
            &mut sql,
            " AND (t.last_used_at IS NULL OR t.last_used_at < ?)",
            Box::new(before.clone()),
        );
    }
    // Byte order, as SQLite's: independent of the database's collation.
    sql.push_str(" ORDER BY t.account COLLATE \"C\"");
    (sql, args)
}

pub(super) fn refs(args: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref()).collect()
}

impl Enrollments for PgTx<'_> {
    fn find(&mut self, account_or_id: &str) -> Result<Option<Totp>> {
        // In a write transaction the row stays locked until commit: the check and
        // the record of a code are one step, whichever host runs them.
        let row = if self.write {
            match self.opt(
                "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                        t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                        t.locked_until, t.created_at, t.updated_at, \
                        (SELECT count(*) FROM ONLY totpctl.backup_codes b \
                         WHERE b.totp_id = t.id AND b.used_at IS NULL), t.mac \
                 FROM ONLY totpctl.totps t WHERE t.account = $1 FOR UPDATE OF t",
                &[&account_or_id],
            )? {
                Some(r) => Some(r),
                None => self.opt(
                    "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                            t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                            t.locked_until, t.created_at, t.updated_at, \
                            (SELECT count(*) FROM ONLY totpctl.backup_codes b \
                             WHERE b.totp_id = t.id AND b.used_at IS NULL), t.mac \
                     FROM ONLY totpctl.totps t WHERE t.id = $1 FOR UPDATE OF t",
                    &[&account_or_id],
                )?,
            }
        } else {
            self.opt(
                "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                        t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                        t.locked_until, t.created_at, t.updated_at, \
                        (SELECT count(*) FROM ONLY totpctl.backup_codes b \
                         WHERE b.totp_id = t.id AND b.used_at IS NULL), t.mac \
                 FROM ONLY totpctl.totps t WHERE t.account = $1 OR t.id = $1 \
                 ORDER BY (t.account = $1) DESC LIMIT 1",
                &[&account_or_id],
            )?
        };
        row.as_ref().map(totp_from_row).transpose()
    }

    fn find_sealed(
        &mut self,
        account_or_id: &str,
        by_id: bool,
    ) -> Result<Option<(Totp, Option<Vec<u8>>)>> {
        // Only a write session loads this, and it locks the row as `find` does there;
        // column 13, the count in `find`, is the sealed secret here.
        let row = match self.opt_waiting(
            "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                    t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                    t.locked_until, t.created_at, t.updated_at, t.secret, t.mac \
             FROM ONLY totpctl.totps t WHERE t.account = $1 FOR UPDATE OF t",
            &[&account_or_id],
            "the enrollment's row lock",
        )? {
            Some(r) => Some(r),
            None if !by_id => None,
            None => self.opt_waiting(
                "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                        t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                        t.locked_until, t.created_at, t.updated_at, t.secret, t.mac \
                 FROM ONLY totpctl.totps t WHERE t.id = $1 FOR UPDATE OF t",
                &[&account_or_id],
                "the enrollment's row lock",
            )?,
        };
        row.as_ref()
            .map(|r| Ok((totp_with_count(r, 0)?, Some(get(r, 13)?))))
            .transpose()
    }

    fn account_like(&mut self, skeleton: &str, account: &str) -> Result<Option<String>> {
        self.opt(
            "SELECT account FROM ONLY totpctl.totps WHERE skeleton = $1 AND account <> $2 \
             LIMIT 1",
            &[&skeleton, &account],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn stored_states(
        &mut self,
        ids: &[String],
        f: &mut dyn FnMut(StoredState) -> Result<()>,
    ) -> Result<()> {
        self.flush()?;
        // A batch of ids a statement: an import confirms every enrollment it wrote.
        for chunk in ids.chunks(BATCH as usize) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let mut codes: HashMap<String, Vec<BackupCode>> = HashMap::new();
            for r in self.all(
                "SELECT totp_id, hash, used_at FROM ONLY totpctl.backup_codes \
                 WHERE totp_id = ANY($1)",
                &[&chunk],
            )? {
                codes
                    .entry(get(&r, 0)?)
                    .or_default()
                    .push((get(&r, 1)?, get(&r, 2)?));
            }
            for r in self.all(
                "SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
                        t.verified, t.last_step, t.last_used_at, t.failed_attempts, \
                        t.locked_until, t.created_at, t.updated_at, t.secret, t.mac, t.skeleton \
                 FROM ONLY totpctl.totps t WHERE t.id = ANY($1)",
                &[&chunk],
            )? {
                let mut totp = totp_with_count(&r, 0)?;
                let codes = codes.remove(&totp.id).unwrap_or_default();
                totp.backup_codes_remaining = codes.iter().filter(|c| c.1.is_none()).count() as u32;
                f(StoredState {
                    totp,
                    sealed: Some(get(&r, 13)?),
                    codes,
                    skeleton: get(&r, 15)?,
                })?;
            }
        }
        Ok(())
    }

    fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        Ok(self
            .opt(
                "SELECT 1 FROM ONLY totpctl.totps WHERE account = $1",
                &[&account],
            )?
            .is_some())
    }

    fn all_totp_ids(&mut self) -> Result<Vec<String>> {
        self.all(
            "SELECT id FROM ONLY totpctl.totps ORDER BY id COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn sealed_secret(&mut self, id: &str) -> Result<Vec<u8>> {
        match self.opt(
            "SELECT secret FROM ONLY totpctl.totps WHERE id = $1",
            &[&id],
        )? {
            Some(r) => get(&r, 0),
            None => Err(self.corrupt(format!("enrollment {id} vanished"))),
        }
    }

    fn insert_totp(
        &mut self,
        t: &Totp,
        sealed: &[u8],
        mac: &[u8],
        skeleton: &str,
    ) -> Result<Insert> {
        // One round trip: the look-alike lookup and the insert see one snapshot, taken
        // after this transaction got the log's lock, which every writer takes first.
        let row = self
            .opt(
                "WITH look_alike AS ( \
                 SELECT account FROM ONLY totpctl.totps \
                 WHERE skeleton = $16::text AND account <> $2::text LIMIT 1 \
             ), inserted AS ( \
                 INSERT INTO totpctl.totps (id, account, issuer, algorithm, digits, period, \
                     secret, verified, last_step, last_used_at, failed_attempts, locked_until, \
                     created_at, updated_at, mac, skeleton) \
                 SELECT $1::text, $2::text, $3::text, $4::text, $5::integer, $6::integer, \
                     $7::bytea, $8::boolean, $9::bigint, $10::text, $11::integer, $12::text, \
                     $13::text, $14::text, $15::bytea, $16::text \
                 WHERE NOT EXISTS (SELECT 1 FROM look_alike) \
                 ON CONFLICT (account) DO NOTHING RETURNING 1 \
             ) \
             SELECT (SELECT account FROM look_alike), (SELECT count(*) FROM inserted)",
                &[
                    &t.id,
                    &t.account,
                    &t.issuer,
                    &t.params.algorithm.as_str(),
                    &i32::from(t.params.digits),
                    &(t.params.period as i32),
                    &sealed,
                    &t.verified,
                    &t.last_step,
                    &t.last_used_at,
                    &(t.failed_attempts as i32),
                    &t.locked_until,
                    &t.created_at,
                    &t.updated_at,
                    &mac,
                    &skeleton,
                ],
            )?
            .ok_or_else(|| store_err("no answer to an insert".into()))?;
        let like: Option<String> = get(&row, 0)?;
        let count: i64 = get(&row, 1)?;
        Ok(match (like, count) {
            (Some(other), _) => Insert::LooksLike(other),
            (None, 1) => Insert::Inserted,
            _ => Insert::Taken,
        })
    }

    fn save_state(&mut self, t: &Totp, old_mac: Option<&[u8]>, mac: &[u8]) -> Result<bool> {
        let n = self.exec(
            "UPDATE ONLY totpctl.totps SET verified = $2, last_step = $3, last_used_at = $4, \
                    failed_attempts = $5, locked_until = $6, updated_at = $7, mac = $8 \
             WHERE id = $1 AND mac IS NOT DISTINCT FROM $9",
            &[
                &t.id,
                &t.verified,
                &t.last_step,
                &t.last_used_at,
                &(t.failed_attempts as i32),
                &t.locked_until,
                &t.updated_at,
                &mac,
                &old_mac,
            ],
        )?;
        Ok(n == 1)
    }

    fn set_totp_mac(&mut self, id: &str, mac: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE ONLY totpctl.totps SET mac = $2 WHERE id = $1",
            &[&id, &mac],
        )
        .map(drop)
    }

    fn reseal(&mut self, id: &str, sealed: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE ONLY totpctl.totps SET secret = $2 WHERE id = $1",
            &[&id, &sealed],
        )
        .map(drop)
    }

    fn delete_totp(&mut self, id: &str) -> Result<()> {
        self.exec("DELETE FROM ONLY totpctl.totps WHERE id = $1", &[&id])
            .map(drop)
    }

    fn for_each_totp(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(Totp) -> Result<()>,
    ) -> Result<()> {
        let (sql, args) = totp_query(filter);
        self.stream(&sql, &refs(&args), &mut |r| f(totp_from_row(r)?))
    }

    fn for_each_totp_ref(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(&TotpRef<'_>) -> Result<()>,
    ) -> Result<()> {
        let (sql, args) = totp_query(filter);
        self.stream(&sql, &refs(&args), &mut |r| f(&totp_ref_from_row(r)?))
    }

    fn backup_code_hashes(&mut self, id: &str) -> Result<Vec<Vec<u8>>> {
        self.all(
            "SELECT hash FROM ONLY totpctl.backup_codes WHERE totp_id = $1 AND used_at IS NULL",
            &[&id],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn use_backup_code(&mut self, id: &str, hash: &[u8], now: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE ONLY totpctl.backup_codes SET used_at = $3 \
             WHERE totp_id = $1 AND hash = $2 AND used_at IS NULL",
            &[&id, &hash, &now],
        )?;
        Ok(n == 1)
    }

    fn backup_code_used_at(&mut self, id: &str, hash: &[u8]) -> Result<Option<String>> {
        self.opt(
            "SELECT used_at FROM ONLY totpctl.backup_codes \
             WHERE totp_id = $1 AND hash = $2 AND used_at IS NOT NULL",
            &[&id, &hash],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn replace_backup_codes(&mut self, id: &str, hashes: &[Vec<u8>]) -> Result<()> {
        self.exec(
            "DELETE FROM ONLY totpctl.backup_codes WHERE totp_id = $1",
            &[&id],
        )?;
        for hash in hashes {
            self.exec(
                "INSERT INTO totpctl.backup_codes (totp_id, hash) VALUES ($1, $2)",
                &[&id, hash],
            )?;
        }
        Ok(())
    }
}
