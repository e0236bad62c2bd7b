//! SQLite: a transaction, what every statement of it shares, and its commit.

use std::path::Path;

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

use super::super::engine::Tx;

use crate::base::error::store_err;
use crate::domain::model::Totp;

/// Turns an SQLite error into one line that says what is wrong with which file.
pub fn sqlite_err(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode as C;
    let p = path.display();
    let msg = match e.sqlite_error_code() {
        Some(C::NotADatabase) => format!(
            "{p} is not a totpctl store (not an SQLite database, or damaged beyond reading): \
             point --store at a totpctl store, or restore this one from a backup"
        ),
        Some(C::DatabaseCorrupt) => {
            format!("{p} is damaged (SQLite reports corruption); restore it from a backup")
        }
        Some(C::ReadOnly) => read_only(path),
        Some(C::CannotOpen) => {
            format!("cannot open {p}: check that its directory exists and is writable")
        }
        Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => format!(
            "{p} stayed busy for as long as totpctl waits (--timeout): the wait for the \
             store's write lock ran out while another process held it; try again"
        ),
        Some(C::DiskFull) => format!("the disk holding {p} is full"),
        None if matches!(
            e,
            rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::Utf8Error(..)
        ) =>
        {
            format!(
                "{p} is damaged or was edited: a stored value is not one totpctl writes ({e}); \
                 restore it from a backup"
            )
        }
        _ => format!("store {p}: {e}"),
    };
    store_err(msg)
}

/// A transaction on an SQLite store.
pub(crate) struct SqliteTx<'c> {
    pub(crate) tx: Transaction<'c>,
    pub(crate) path: &'c Path,
}

impl SqliteTx<'_> {
    /// Inserts an enrollment's row unless its account is taken (the account's unique
    /// index answers that as part of the insert); returns whether it did.
    pub(crate) fn insert_row(
        &self,
        t: &Totp,
        sealed: &[u8],
        mac: &[u8],
        skeleton: &str,
    ) -> Result<bool> {
        let n = self.exec(
            "INSERT INTO totps (id, account, issuer, algorithm, digits, period, secret, \
                                verified, last_step, last_used_at, failed_attempts, \
                                locked_until, created_at, updated_at, mac, skeleton) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             ON CONFLICT (account) DO NOTHING",
            params![
                t.id,
                t.account,
                t.issuer,
                t.params.algorithm.as_str(),
                t.params.digits,
                t.params.period,
                sealed,
                t.verified,
                t.last_step,
                t.last_used_at,
                t.failed_attempts,
                t.locked_until,
                t.created_at,
                t.updated_at,
                mac,
                skeleton
            ],
        )?;
        Ok(n == 1)
    }

    /// The account of the enrollment `id`, enrolled or not: from its row, or else from
    /// the first event that names it (a scan, for an id that is no longer enrolled).
    pub(crate) fn account_of(&self, id: &str) -> Result<Option<String>> {
        let r = self
            .tx
            .query_row(
                "SELECT account FROM totps WHERE id = ?1 \
                 UNION ALL SELECT account FROM events WHERE totp_id = ?1 LIMIT 1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional();
        self.ok(r).map(Option::flatten)
    }

    pub(crate) fn ok<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| sqlite_err(self.path, e))
    }

    pub(crate) fn exec(&self, sql: &str, args: impl rusqlite::Params) -> Result<usize> {
        let r = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(args));
        self.ok(r)
    }

    pub(crate) fn flag(&self, sql: &str) -> Result<bool> {
        let r = self.tx.query_row(sql, [], |r| r.get(0));
        self.ok(r)
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| sqlite_err(path, e))
    }
}

pub(super) fn read_only(path: &Path) -> String {
    format!(
        "{} is read-only: totpctl needs to write to the store and its directory (check their \
         permissions, and that the file system is not mounted read-only)",
        path.display()
    )
}
