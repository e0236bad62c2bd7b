//! PostgreSQL: a transaction, what every statement of it shares, and its commit.

use std::collections::HashMap;

use anyhow::Result;
use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

use super::super::engine::{StoredEvent, Tx};
use super::connect::{pg_err, pg_err_waiting};
use super::url::PgUrl;
use crate::base::error::store_err;

/// The advisory lock that serialises log appends (and so every write).
pub(crate) const LOG_LOCK: i64 = 0x544F_5450_0000_0001;

/// Rows fetched from a portal at a time.
pub(crate) const BATCH: i32 = 1000;

pub(crate) struct PgTx<'c> {
    pub(crate) tx: Transaction<'c>,
    pub(crate) url: &'c PgUrl,
    pub(crate) write: bool,
    pub(crate) log_locked: bool,
    /// The connection's prepared statements (see `Postgres::statements`).
    pub(crate) statements: &'c mut HashMap<&'static str, Statement>,
    /// Events appended but not sent yet: an import appends one per enrollment, and
    /// sending them in batches halves its round trips. Every read of the events, and
    /// the commit, sends them first.
    pub(crate) pending: Vec<StoredEvent>,
    /// Set when this transaction makes the schema: cleared once it commits.
    pub(crate) creates: Option<&'c std::cell::Cell<bool>>,
}

/// Events sent in one statement at most.
pub(crate) const EVENT_BATCH: usize = 1000;

pub(crate) type Args<'a> = [&'a (dyn ToSql + Sync)];

impl PgTx<'_> {
    pub(crate) fn stmt(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(|e| pg_err(self.url, e))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn exec(&mut self, sql: &'static str, args: &Args<'_>) -> Result<u64> {
        let s = self.stmt(sql)?;
        self.tx.execute(&s, args).map_err(|e| pg_err(self.url, e))
    }

    pub(crate) fn opt(&mut self, sql: &'static str, args: &Args<'_>) -> Result<Option<Row>> {
        self.opt_waiting(sql, args, "an answer from the server")
    }

    /// Like [`PgTx::opt`], naming what the statement may wait for.
    pub(crate) fn opt_waiting(
        &mut self,
        sql: &'static str,
        args: &Args<'_>,
        waited: &str,
    ) -> Result<Option<Row>> {
        let s = self.stmt(sql)?;
        self.tx
            .query_opt(&s, args)
            .map_err(|e| pg_err_waiting(self.url, e, waited))
    }

    pub(crate) fn all(&mut self, sql: &'static str, args: &Args<'_>) -> Result<Vec<Row>> {
        let s = self.stmt(sql)?;
        self.tx.query(&s, args).map_err(|e| pg_err(self.url, e))
    }

    pub(crate) fn flag(&mut self, sql: &'static str) -> Result<bool> {
        Ok(self
            .opt(sql, &[])?
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false))
    }

    /// Streams the rows of `sql` through a portal, a batch at a time.
    pub(crate) fn stream(
        &mut self,
        sql: &str,
        args: &Args<'_>,
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let url = self.url;
        let portal = self.tx.bind(sql, args).map_err(|e| pg_err(url, e))?;
        loop {
            let rows = self
                .tx
                .query_portal(&portal, BATCH)
                .map_err(|e| pg_err(url, e))?;
            if rows.is_empty() {
                return Ok(());
            }
            let last = rows.len() < BATCH as usize;
            for row in &rows {
                f(row)?;
            }
            if last {
                return Ok(());
            }
        }
    }

    /// Sends the pending events in one statement.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.pending);
        let col = |f: fn(&StoredEvent) -> Option<String>| -> Vec<Option<String>> {
            events.iter().map(f).collect()
        };
        let seqs: Vec<i64> = events.iter().map(|e| e.event.seq).collect();
        let ats = col(|e| Some(e.event.at.clone()));
        let names = col(|e| Some(e.event.event.clone()));
        let accounts = col(|e| e.event.account.clone());
        let totp_ids = col(|e| e.event.totp_id.clone());
        let details = col(|e| Some(e.event.detail.clone()));
        let actors = col(|e| e.event.actor.clone());
        let states: Vec<Option<Vec<u8>>> = events.iter().map(|e| e.event.state.clone()).collect();
        let hashes: Vec<Vec<u8>> = events.iter().map(|e| e.hash.clone()).collect();
        let macs: Vec<Option<Vec<u8>>> = events.iter().map(|e| e.mac.clone()).collect();
        self.exec(
            "INSERT INTO totpctl.events \
                 (seq, at, event, account, totp_id, detail, actor, state, hash, mac) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[], $10::bytea[])",
            &[
                &seqs, &ats, &names, &accounts, &totp_ids, &details, &actors, &states, &hashes,
                &macs,
            ],
        )?;
        Ok(())
    }

    pub(crate) fn corrupt(&self, what: impl std::fmt::Display) -> anyhow::Error {
        store_err(format!("{} is damaged: {what}", self.url.redacted()))
    }
}

pub(crate) fn get<'r, T: postgres::types::FromSql<'r>>(r: &'r Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| store_err(format!("a stored value does not read back: {e}")))
}

impl Tx for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> Result<()> {
        self.flush()?;
        let (url, creates) = (self.url, self.creates);
        self.tx.commit().map_err(|e| pg_err(url, e))?;
        if let Some(pending) = creates {
            pending.set(false);
        }
        Ok(())
    }
}
