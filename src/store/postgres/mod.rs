//! The PostgreSQL engine: a connection (rustls, libpq's URI and environment), its
//! migrations, and every PostgreSQL statement behind [`Tx`].
//!
//! Tables live in the schema `totpctl`, so a database shared with an application does
//! not collide with it. Concurrency across hosts:
//! - a write transaction takes a transaction-scoped advisory lock before it reads the
//!   log's head, so the audit chain is appended in commit order without forks (a
//!   `SELECT … ORDER BY seq DESC LIMIT 1 FOR UPDATE` would not serialise appends: two
//!   writers can both lock the same last row and append after it);
//! - the enrollment is read `FOR UPDATE` and saved with a compare-and-swap on its
//!   MAC, so the check and the record of a code happen in one transaction that holds
//!   the row: exactly once, across any number of hosts;
//! - migrations run under their own advisory lock, so racing first runs migrate once;
//! - reads for `list`, `log` and `copy` run in one REPEATABLE READ snapshot and
//!   stream through a portal, a batch at a time, never collecting the rows.

use std::collections::HashMap;

use anyhow::Result;
use postgres::{Client, IsolationLevel};

use super::engine::{Engine, EventLog, Tx};
use crate::base::error::store_err;
use catalog as pg_schema;
use url::PgUrl;

mod catalog;
mod connect;
mod enrollments;
mod events;
mod records;
mod schema;
mod tls;
mod tokens;
mod transfer;
mod tx;
pub mod url;

pub use connect::Retryable;
use connect::{connect, pg_err, pg_err_waiting};
use schema::{migrate_in, newer, schema_version};

use tx::*;

/// totpctl's data tables, locked at the start of every transaction before its schema
/// is checked, so that no definition can change between the check and the end.
/// The migrations table is only read outside a migration: it is locked for reading.
const TABLES: &str = "ONLY totpctl.config, ONLY totpctl.vault, ONLY totpctl.totps, \
     ONLY totpctl.backup_codes, ONLY totpctl.events, ONLY totpctl.log_head, ONLY totpctl.meta";

pub use schema::VERSION;

/// An open PostgreSQL store.
pub struct Postgres {
    client: Client,
    url: PgUrl,
    /// The database had no totpctl schema when this command opened it to create one:
    /// the schema is made inside each write transaction until one commits, so that a
    /// command that fails leaves the database as it found it.
    pending_create: std::cell::Cell<bool>,
    /// The statements prepared on this connection, kept for its life: a server's
    /// connection runs the same few statements in every transaction.
    statements: HashMap<&'static str, postgres::Statement>,
}

impl Postgres {
    /// Connects, and migrates the schema when it is older; with `create_missing`
    /// false, a database without totpctl's tables is `None`.
    pub fn open(
        url: &PgUrl,
        create_missing: bool,
        access: &crate::store::access::Access,
    ) -> Result<Option<Postgres>> {
        let mut client = connect(url, access)?;
        let version = schema_version(&mut client, url)?;
        if version > VERSION {
            return Err(newer(url, version));
        }
        if version == 0 && !create_missing {
            return Ok(None);
        }
        if version > 0 {
            // Before a migration runs on it, as in every transaction after.
            pg_schema::check(&mut client, url, version)?;
            if version < VERSION {
                let mut tx = client.transaction().map_err(|e| pg_err(url, e))?;
                migrate_in(&mut tx, url)?;
                tx.commit().map_err(|e| pg_err(url, e))?;
            }
        }
        Ok(Some(Postgres {
            client,
            url: url.clone(),
            pending_create: std::cell::Cell::new(version == 0),
            statements: HashMap::new(),
        }))
    }

    /// Whether the schema is still to be made: not there yet (another command may
    /// have made it meanwhile).
    fn schema_missing(&mut self) -> Result<bool> {
        if !self.pending_create.get() {
            return Ok(false);
        }
        let missing = schema_version(&mut self.client, &self.url)? == 0;
        self.pending_create.set(missing);
        Ok(missing)
    }

    /// Starts a transaction: totpctl's tables locked (against any change of their
    /// definitions, not against other commands), their definitions checked, and for
    /// a write, the log's lock taken.
    fn tx(&mut self, write: bool) -> Result<Box<dyn Tx + '_>> {
        if !write && self.schema_missing()? {
            return Err(store_err(format!(
                "{} has no totpctl tables yet: nothing was written",
                self.url.redacted()
            )));
        }
        let url = &self.url;
        let statements = &mut self.statements;
        let tx = if write {
            self.client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()
        } else {
            self.client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
        }
        .map_err(|e| pg_err(url, e))?;
        let mut tx = PgTx {
            tx,
            url,
            write,
            log_locked: false,
            statements,
            pending: Vec::new(),
            creates: None,
        };
        if write && self.pending_create.get() {
            // Made in this transaction: gone again if it rolls back.
            migrate_in(&mut tx.tx, url)?;
            tx.creates = Some(&self.pending_create);
        }
        // ROW EXCLUSIVE conflicts with every lock that DDL takes on a table (CREATE
        // TRIGGER, CREATE RULE, CREATE POLICY, ALTER TABLE, …) and with no lock another
        // command takes; ACCESS SHARE, all a read-only transaction may take, with every
        // change that affects what a SELECT returns.
        let mode = if write {
            "ROW EXCLUSIVE"
        } else {
            "ACCESS SHARE"
        };
        tx.tx
            .batch_execute(&format!(
                "LOCK TABLE {TABLES} IN {mode} MODE; \
                 LOCK TABLE ONLY totpctl.migrations IN ACCESS SHARE MODE"
            ))
            .map_err(|e| pg_err_waiting(url, e, "the locks on totpctl's tables"))?;
        let check = tx.stmt(pg_schema::QUERY)?;
        let rows = tx
            .tx
            .query(&check, &[])
            .map_err(|e| pg_schema::waiting(url, e))?;
        pg_schema::check_rows(&rows, url, VERSION)?;
        if write {
            tx.lock_log()?;
        }
        Ok(Box::new(tx))
    }
}

impl Engine for Postgres {
    fn write(&mut self) -> Result<Box<dyn Tx + '_>> {
        self.tx(true)
    }

    fn read(&mut self) -> Result<Box<dyn Tx + '_>> {
        self.tx(false)
    }

    fn schema_version(&mut self) -> Result<i64> {
        schema_version(&mut self.client, &self.url)
    }

    fn is_empty(&mut self) -> Result<bool> {
        if self.schema_missing()? {
            return Ok(true);
        }
        let mut tx = self.read()?;
        Ok(!tx.has_content()? && tx.vault_row()?.is_none())
    }
}
