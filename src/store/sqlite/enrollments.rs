//! SQLite: the enrollments (`totps`) and their backup codes.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::super::engine::{Enrollments, Insert, StoredState};
use super::tx::*;
use crate::domain::model::{ListFilter, Totp, TotpRef};
use crate::domain::otp::{Algorithm, Params};

pub(super) const TOTP_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, \
     (SELECT count(*) FROM backup_codes b WHERE b.totp_id = t.id AND b.used_at IS NULL), t.mac";

pub(super) fn algorithm_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Algorithm> {
    let text = match r.get_ref(i)?.as_str() {
        Ok(t) => t,
        Err(_) => return Err(not_text(r.get::<_, String>(i).err(), i)),
    };
    Algorithm::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown algorithm {text:?}").into(),
        )
    })
}

pub(super) fn not_text(e: Option<rusqlite::Error>, i: usize) -> rusqlite::Error {
    e.unwrap_or(rusqlite::Error::InvalidColumnType(
        i,
        String::new(),
        rusqlite::types::Type::Null,
    ))
}

/// The parameters at columns 3 to 5, checked as strictly as on input: a period of 0
/// or 1 digit in the file is damage (or an attack), never something to compute with.
pub(super) fn params_at(r: &Row<'_>) -> rusqlite::Result<Params> {
    let algorithm = algorithm_at(r, 3)?;
    Params::new(algorithm, r.get(4)?, r.get(5)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Integer, e.into())
    })
}

pub(super) fn totp_from_row(r: &Row<'_>) -> rusqlite::Result<Totp> {
    totp_with_count(r, r.get(13)?)
}

/// The columns of an enrollment a write session loads: [`TOTP_COLUMNS`] with the
/// sealed secret where the count of live backup codes was (the session counts the
/// hashes it loads anyway, and so compiles no subquery).
/// Every backup code of an enrollment, with when it was used.
pub(super) const BACKUP_CODES_OF: &str =
    "SELECT hash, used_at FROM backup_codes WHERE totp_id = ?1";

pub(super) const SEALED_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, t.secret, t.mac";

pub(super) fn sealed_from_row(r: &Row<'_>) -> rusqlite::Result<(Totp, Option<Vec<u8>>)> {
    // A secret that is not a blob (SQLite does not enforce the declared type) is
    // left to the commands that open it: `remove` of such a row still works.
    let sealed = match r.get_ref(13)? {
        rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
        _ => None,
    };
    Ok((totp_with_count(r, 0)?, sealed))
}

pub(super) fn totp_with_count(r: &Row<'_>, backup_codes_remaining: u32) -> rusqlite::Result<Totp> {
    Ok(Totp {
        id: r.get(0)?,
        account: r.get(1)?,
        issuer: r.get(2)?,
        params: params_at(r)?,
        verified: r.get(6)?,
        last_step: r.get(7)?,
        last_used_at: r.get(8)?,
        failed_attempts: r.get(9)?,
        locked_until: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        backup_codes_remaining,
        mac: r.get(14)?,
    })
}

/// Finds an enrollment by account name or (with `by_id`) id: `columns` of it, read by
/// `from_row`.
pub(super) fn find<T>(
    conn: &Connection,
    columns: &str,
    account_or_id: &str,
    by_id: bool,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    // Two small statements rather than one UNION: every command that names an
    // account compiles the first, and only a miss compiles the second, which halves
    // the SQL that a verify compiles to find its enrollment.
    let by_account = format!("SELECT {columns} FROM totps t WHERE t.account = ?1");
    if let Some(t) = conn
        .prepare_cached(&by_account)?
        .query_row([account_or_id], from_row)
        .optional()?
    {
        return Ok(Some(t));
    }
    if !by_id {
        return Ok(None);
    }
    let by_id = format!("SELECT {columns} FROM totps t WHERE t.id = ?1");
    conn.prepare_cached(&by_id)?
        .query_row([account_or_id], from_row)
        .optional()
}

/// Whether `account` (by name, not id) is enrolled.
pub(super) fn is_enrolled(conn: &Connection, account: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM totps WHERE account = ?1)")?
        .query_row([account], |r| r.get(0))
}

pub(super) fn query_totps(
    conn: &Connection,
    filter: &ListFilter,
    f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut sql = format!("SELECT {TOTP_COLUMNS} FROM totps t WHERE 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(v) = filter.verified {
        sql.push_str(" AND t.verified = ?");
        args.push(i64::from(v).into());
    }
    if let Some(issuer) = &filter.issuer {
        sql.push_str(" AND t.issuer = ? COLLATE NOCASE");
        args.push(issuer.clone().into());
    }
    if let Some(now) = &filter.locked_at {
        sql.push_str(" AND t.locked_until > ?");
        args.push(now.clone().into());
    }
    if filter.no_backup_codes {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM backup_codes b WHERE b.totp_id = t.id)");
    }
    if let Some(before) = &filter.unused_since {
        sql.push_str(" AND (t.last_used_at IS NULL OR t.last_used_at < ?)");
        args.push(before.clone().into());
    }
    sql.push_str(" ORDER BY t.account");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

pub(super) fn totp_ref_from_row<'r>(r: &'r Row<'_>) -> rusqlite::Result<TotpRef<'r>> {
    // On a value that is not text, the error is the one `get::<String>` gives.
    let text = |i: usize| -> rusqlite::Result<&'r str> {
        match r.get_ref(i)?.as_str() {
            Ok(t) => Ok(t),
            Err(_) => Err(not_text(r.get::<_, String>(i).err(), i)),
        }
    };
    let opt_text = |i: usize| -> rusqlite::Result<Option<&'r str>> {
        match r.get_ref(i)?.as_str_or_null() {
            Ok(t) => Ok(t),
            Err(_) => Err(not_text(r.get::<_, Option<String>>(i).err(), i)),
        }
    };
    Ok(TotpRef {
        id: text(0)?,
        account: text(1)?,
        issuer: text(2)?,
        params: params_at(r)?,
        verified: r.get(6)?,
        last_used_at: opt_text(8)?,
        failed_attempts: r.get(9)?,
        locked_until: opt_text(10)?,
        created_at: text(11)?,
        updated_at: text(12)?,
        backup_codes_remaining: r.get(13)?,
    })
}

impl Enrollments for SqliteTx<'_> {
    fn find(&mut self, account_or_id: &str) -> Result<Option<Totp>> {
        // The write transaction holds the database's write lock already.
        self.ok(find(
            &self.tx,
            TOTP_COLUMNS,
            account_or_id,
            true,
            totp_from_row,
        ))
    }

    fn find_sealed(
        &mut self,
        account_or_id: &str,
        by_id: bool,
    ) -> Result<Option<(Totp, Option<Vec<u8>>)>> {
        self.ok(find(
            &self.tx,
            SEALED_COLUMNS,
            account_or_id,
            by_id,
            sealed_from_row,
        ))
    }

    fn account_like(&mut self, skeleton: &str, account: &str) -> Result<Option<String>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT account FROM totps WHERE skeleton = ?1 AND account <> ?2 LIMIT 1",
            )
            .and_then(|mut s| s.query_row([skeleton, account], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn stored_states(
        &mut self,
        ids: &[String],
        f: &mut dyn FnMut(StoredState) -> Result<()>,
    ) -> Result<()> {
        let path = self.path;
        let err = |e| sqlite_err(path, e);
        let mut row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SEALED_COLUMNS}, t.skeleton FROM totps t WHERE t.id = ?1"
            ))
            .map_err(err)?;
        let mut codes = self.tx.prepare_cached(BACKUP_CODES_OF).map_err(err)?;
        for id in ids {
            let Some((mut totp, sealed, skeleton)) = row
                .query_row([id], |r| {
                    let (totp, sealed) = sealed_from_row(r)?;
                    Ok((totp, sealed, r.get::<_, Option<String>>(15)?))
                })
                .optional()
                .map_err(err)?
            else {
                continue;
            };
            let codes: Vec<(Vec<u8>, Option<String>)> = codes
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(err)?;
            totp.backup_codes_remaining = codes.iter().filter(|c| c.1.is_none()).count() as u32;
            f(StoredState {
                totp,
                sealed,
                codes,
                skeleton,
            })?;
        }
        Ok(())
    }

    fn is_enrolled(&mut self, account: &str) -> Result<bool> {
        self.ok(is_enrolled(&self.tx, account))
    }

    fn all_totp_ids(&mut self) -> Result<Vec<String>> {
        let r = self
            .tx
            .prepare("SELECT id FROM totps ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        self.ok(r)
    }

    fn sealed_secret(&mut self, id: &str) -> Result<Vec<u8>> {
        let r = self
            .tx
            .prepare_cached("SELECT secret FROM totps WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)));
        self.ok(r)
    }

    fn insert_totp(
        &mut self,
        t: &Totp,
        sealed: &[u8],
        mac: &[u8],
        skeleton: &str,
    ) -> Result<Insert> {
        if let Some(other) = self.account_like(skeleton, &t.account)? {
            return Ok(Insert::LooksLike(other));
        }
        Ok(if self.insert_row(t, sealed, mac, skeleton)? {
            Insert::Inserted
        } else {
            Insert::Taken
        })
    }

    fn save_state(&mut self, t: &Totp, old_mac: Option<&[u8]>, mac: &[u8]) -> Result<bool> {
        let n = self.exec(
            "UPDATE totps SET verified = ?2, last_step = ?3, last_used_at = ?4, \
                    failed_attempts = ?5, locked_until = ?6, updated_at = ?7, mac = ?8 \
             WHERE id = ?1 AND mac IS ?9",
            params![
                t.id,
                t.verified,
                t.last_step,
                t.last_used_at,
                t.failed_attempts,
                t.locked_until,
                t.updated_at,
                mac,
                old_mac
            ],
        )?;
        Ok(n == 1)
    }

    fn set_totp_mac(&mut self, id: &str, mac: &[u8]) -> Result<()> {
        self.exec("UPDATE totps SET mac = ?2 WHERE id = ?1", params![id, mac])
            .map(drop)
    }

    fn reseal(&mut self, id: &str, sealed: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE totps SET secret = ?2 WHERE id = ?1",
            params![id, sealed],
        )
        .map(drop)
    }

    fn delete_totp(&mut self, id: &str) -> Result<()> {
        // The foreign key deletes the backup codes.
        self.exec("DELETE FROM totps WHERE id = ?1", [id]).map(drop)
    }

    fn for_each_totp(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(Totp) -> Result<()>,
    ) -> Result<()> {
        query_totps(&self.tx, filter, &mut |row| f(totp_from_row(row)?))
    }

    fn for_each_totp_ref(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(&TotpRef<'_>) -> Result<()>,
    ) -> Result<()> {
        query_totps(&self.tx, filter, &mut |row| f(&totp_ref_from_row(row)?))
    }

    fn backup_code_hashes(&mut self, id: &str) -> Result<Vec<Vec<u8>>> {
        // The statement the read-back uses (`stored_states`): one statement compiled,
        // not two, in a command that reads an enrollment and writes it.
        let r = self
            .tx
            .prepare_cached(BACKUP_CODES_OF)
            .and_then(|mut s| {
                s.query_map([id], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map(|codes| {
                codes
                    .into_iter()
                    .filter(|(_, used)| used.is_none())
                    .map(|(hash, _)| hash)
                    .collect()
            });
        self.ok(r)
    }

    fn use_backup_code(&mut self, id: &str, hash: &[u8], now: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE backup_codes SET used_at = ?3 \
             WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NULL",
            params![id, hash, now],
        )?;
        Ok(n == 1)
    }

    fn backup_code_used_at(&mut self, id: &str, hash: &[u8]) -> Result<Option<String>> {
        let r = self
            .tx
            .prepare_cached(
                "SELECT used_at FROM backup_codes \
                 WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NOT NULL",
            )
            .and_then(|mut s| s.query_row(params![id, hash], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn replace_backup_codes(&mut self, id: &str, hashes: &[Vec<u8>]) -> Result<()> {
        self.exec("DELETE FROM backup_codes WHERE totp_id = ?1", [id])?;
        for hash in hashes {
            self.exec(
                "INSERT INTO backup_codes (totp_id, hash) VALUES (?1, ?2)",
                params![id, hash],
            )?;
        }
        Ok(())
    }
}
