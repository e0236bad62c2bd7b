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
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Statement, Transaction};

use super::engine::{
    Engine, EventFilter, Insert, LastEvent, Record, Size, Stats, StoredEvent, StoredState, Tx,
};
use super::events::{Event, Head};
use super::postgres_schema as pg_schema;
use super::postgres_url::{Host, PgUrl, SslMode};
use super::{ListFilter, Totp, TotpRef, VaultRow, store_err};
use crate::otp::{Algorithm, Params};

/// The advisory lock that serialises log appends (and so every write).
const LOG_LOCK: i64 = 0x544F_5450_0000_0001;
/// The advisory lock that serialises migrations.
const MIGRATE_LOCK: i64 = 0x544F_5450_0000_0002;
/// Rows fetched from a portal at a time.
const BATCH: i32 = 1000;

/// Append-only migrations: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the schema of SQLite's version 2, authenticated from the start.
    "
    CREATE TABLE totpctl.config (
        key   text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE totpctl.vault (
        id         integer PRIMARY KEY CHECK (id = 1),
        protection text NOT NULL,
        kdf        text,
        salt       bytea,
        wrapped    bytea NOT NULL,
        version    bigint NOT NULL,
        updated_at text NOT NULL
    );
    CREATE TABLE totpctl.totps (
        id              text PRIMARY KEY,
        account         text NOT NULL UNIQUE,
        issuer          text NOT NULL,
        algorithm       text NOT NULL,
        digits          integer NOT NULL,
        period          integer NOT NULL,
        secret          bytea NOT NULL,
        verified        boolean NOT NULL DEFAULT false,
        last_step       bigint,
        last_used_at    text,
        failed_attempts integer NOT NULL DEFAULT 0,
        locked_until    text,
        created_at      text NOT NULL,
        updated_at      text NOT NULL,
        mac             bytea
    );
    CREATE INDEX totps_issuer ON totpctl.totps (lower(issuer), account);
    CREATE INDEX totps_locked ON totpctl.totps (locked_until) WHERE locked_until IS NOT NULL;
    CREATE TABLE totpctl.backup_codes (
        totp_id text NOT NULL REFERENCES totpctl.totps (id) ON DELETE CASCADE,
        hash    bytea NOT NULL,
        used_at text,
        PRIMARY KEY (totp_id, hash)
    );
    CREATE TABLE totpctl.events (
        seq     bigint PRIMARY KEY,
        at      text NOT NULL,
        event   text NOT NULL,
        account text,
        totp_id text,
        detail  text NOT NULL,
        actor   text,
        state   bytea,
        hash    bytea NOT NULL,
        mac     bytea
    );
    CREATE INDEX events_account ON totpctl.events (account);
    CREATE INDEX events_totp ON totpctl.events (totp_id, seq);
    CREATE INDEX events_at ON totpctl.events (at);
    CREATE INDEX events_config_changes ON totpctl.events (seq) WHERE event = 'config_changed';
    CREATE TABLE totpctl.log_head (
        id   integer PRIMARY KEY CHECK (id = 1),
        seq  bigint NOT NULL,
        hash bytea NOT NULL,
        mac  bytea
    );
    CREATE TABLE totpctl.meta (
        key   text PRIMARY KEY,
        value bytea NOT NULL
    );
    ",
    // 2: each enrollment's UTS #39 skeleton, indexed, and the accepted restores
    // (SQLite's version 4).
    "
    ALTER TABLE totpctl.totps ADD COLUMN skeleton text;
    CREATE INDEX totps_skeleton ON totpctl.totps (skeleton);
    CREATE INDEX events_restores ON totpctl.events (seq) WHERE event = 'restore_accepted';
    ",
];

/// totpctl's data tables, locked at the start of every transaction before its schema
/// is checked, so that no definition can change between the check and the end.
/// The migrations table is only read outside a migration: it is locked for reading.
const TABLES: &str = "ONLY totpctl.config, ONLY totpctl.vault, ONLY totpctl.totps, \
     ONLY totpctl.backup_codes, ONLY totpctl.events, ONLY totpctl.log_head, ONLY totpctl.meta";

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// An open PostgreSQL store.
pub struct Postgres {
    client: Client,
    url: PgUrl,
    /// The database had no totpctl schema when this command opened it to create one:
    /// the schema is made inside each write transaction until one commits, so that a
    /// command that fails leaves the database as it found it.
    pending_create: std::cell::Cell<bool>,
}

impl Postgres {
    /// Connects, and migrates the schema when it is older; with `create_missing`
    /// false, a database without totpctl's tables is `None`.
    pub fn open(
        url: &PgUrl,
        create_missing: bool,
        access: &super::Access,
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
            statements: HashMap::new(),
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
        pg_schema::check_in(&mut tx.tx, url, VERSION)?;
        if write {
            tx.lock_log()?;
        }
        Ok(Box::new(tx))
    }
}

fn newer(url: &PgUrl, version: i64) -> anyhow::Error {
    store_err(format!(
        "{} was written by a newer totpctl (schema version {version}; this one knows up to \
         {VERSION}): upgrade totpctl to use it",
        url.redacted()
    ))
}

/// The version recorded in `totpctl.migrations`; 0 when there is none.
fn schema_version(client: &mut Client, url: &PgUrl) -> Result<i64> {
    let row = client
        .query_one(
            "SELECT CASE WHEN to_regclass('totpctl.migrations') IS NULL THEN NULL::bigint \
                    ELSE 1 END",
            &[],
        )
        .map_err(|e| pg_err(url, e))?;
    if row.get::<_, Option<i64>>(0).is_none() {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM ONLY totpctl.migrations",
            &[],
        )
        .map_err(|e| pg_err(url, e))?;
    Ok(row.get(0))
}

/// Applies the pending migrations in `tx` under the migration lock, re-reading the
/// version under the lock so that racing first runs migrate once. The caller commits.
fn migrate_in(tx: &mut Transaction<'_>, url: &PgUrl) -> Result<()> {
    let e = |e| pg_err(url, e);
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(e)?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS totpctl;
         CREATE TABLE IF NOT EXISTS totpctl.migrations (
             version    bigint PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .map_err(e)?;
    let current: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM ONLY totpctl.migrations",
            &[],
        )
        .map_err(e)?
        .get(0);
    if current > VERSION {
        return Err(newer(url, current));
    }
    if current > 0 {
        pg_schema::check_in(tx, url, current)?;
    } else {
        let tables: bool = tx
            .query_one(
                "SELECT to_regclass('totpctl.totps') IS NOT NULL \
                     OR to_regclass('totpctl.events') IS NOT NULL",
                &[],
            )
            .map_err(e)?
            .get(0);
        if tables {
            return Err(crate::error::integrity_error(format!(
                "{}: totpctl's tables are there but its record of their versions \
                 (totpctl.migrations) was emptied: the store was tampered with; restore it \
                 from a backup",
                url.redacted()
            )));
        }
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql).map_err(e)?;
        tx.execute(
            "INSERT INTO totpctl.migrations (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )
        .map_err(e)?;
    }
    if current < 2 {
        // Version 2: the skeleton of every enrollment already there.
        let rows = tx
            .query(
                "SELECT id, account FROM ONLY totpctl.totps WHERE skeleton IS NULL",
                &[],
            )
            .map_err(e)?;
        for row in rows {
            let (id, account): (String, String) = (row.get(0), row.get(1));
            tx.execute(
                "UPDATE ONLY totpctl.totps SET skeleton = $2 WHERE id = $1",
                &[&id, &crate::names::skeleton(&account)],
            )
            .map_err(e)?;
        }
    }
    Ok(())
}

/// The session's settings, given in the startup packet so that they take precedence
/// over anything the role or the database sets (`ALTER ROLE … SET`):
/// - `search_path`: pg_catalog first, then only the session's own temporary schema
///   (which is never searched for functions or operators), so that no function,
///   operator or type the role can create is ever resolved in place of a built-in;
///   totpctl's tables are always named with their schema;
/// - `synchronous_commit`: an accepted code's record is on disk before the command
///   says so, whatever the role's default;
/// - `row_security` off: a table a policy applies to is an error, never filtered rows;
/// - `transform_null_equals` off, as every statement is written for;
/// - the waits: every lock wait bounded, and every statement of a command that is not
///   a bulk one.
fn session_options(access: &super::Access) -> String {
    let wait = access.wait().as_millis().max(1);
    let statement = if access.bulk { 0 } else { wait };
    format!(
        "-c search_path=pg_catalog,pg_temp -c synchronous_commit=on -c row_security=off \
         -c transform_null_equals=off -c lock_timeout={wait} -c statement_timeout={statement} \
         -c idle_in_transaction_session_timeout={}",
        wait.max(60_000)
    )
}

/// Connects with the URI's settings: TLS through rustls as `sslmode` says, the
/// password from the URI, `PGPASSWORD` or `.pgpass`, and `connect_timeout` (no longer
/// than the command's wait), and the session's settings ([`session_options`]).
fn connect(url: &PgUrl, access: &super::Access) -> Result<Client> {
    let mut config = postgres::Config::new();
    config.options(&session_options(access));
    match &url.host {
        Host::Tcp(h) => config.host(h),
        Host::Socket(dir) => config.host_path(dir),
    };
    config
        .port(url.port)
        .user(&url.user)
        .dbname(&url.dbname)
        .application_name(&url.application_name)
        .connect_timeout(match access.wait {
            Some(wait) => url.connect_timeout.min(wait),
            None => url.connect_timeout,
        })
        .keepalives(true)
        .ssl_mode(match url.sslmode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
    if let Some(p) = url.password() {
        config.password(p);
    }
    let tls = super::postgres_tls::connector(url)?;
    config.connect(tls).map_err(|e| connect_err(url, e))
}

fn connect_err(url: &PgUrl, e: postgres::Error) -> anyhow::Error {
    store_err(format!(
        "cannot connect to PostgreSQL at {}: {}",
        url.redacted(),
        describe(&e)
    ))
}

/// One line about a PostgreSQL error: the server's message, or the client's and its
/// cause. Neither ever holds the password.
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

/// A failure that the whole transaction may be retried after.
#[derive(Debug)]
pub struct Retryable(pub String);

impl std::fmt::Display for Retryable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Retryable {}

fn pg_err(url: &PgUrl, e: postgres::Error) -> anyhow::Error {
    pg_err_waiting(url, e, "an answer from the server")
}

/// Like [`pg_err`], naming what the statement waited for when a timeout ended it.
pub(super) fn pg_err_waiting(url: &PgUrl, e: postgres::Error, waited: &str) -> anyhow::Error {
    use postgres::error::SqlState;
    let message = format!("store {}: {}", url.redacted(), describe(&e));
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return anyhow::Error::new(Retryable(message.clone())).context(message);
        }
        // lock_timeout, statement_timeout and idle_in_transaction_session_timeout: a
        // wait ran out. Running the command again would only wait again.
        if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
            return store_err(format!(
                "store {}: gave up waiting for {waited} (--timeout): another session holds \
                 it, or the server is overloaded; nothing was changed",
                url.redacted()
            ));
        }
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return store_err(format!(
            "lost the connection to PostgreSQL at {}: {}",
            url.redacted(),
            describe(&e)
        ));
    }
    store_err(message)
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

struct PgTx<'c> {
    tx: Transaction<'c>,
    url: &'c PgUrl,
    write: bool,
    log_locked: bool,
    statements: HashMap<&'static str, Statement>,
    /// Events appended but not sent yet: an import appends one per enrollment, and
    /// sending them in batches halves its round trips. Every read of the events, and
    /// the commit, sends them first.
    pending: Vec<StoredEvent>,
    /// Set when this transaction makes the schema: cleared once it commits.
    creates: Option<&'c std::cell::Cell<bool>>,
}

/// A backup code as stored: its hash, and when it was used.
type BackupCode = (Vec<u8>, Option<String>);

/// Events sent in one statement at most.
const EVENT_BATCH: usize = 1000;

type Args<'a> = [&'a (dyn ToSql + Sync)];

impl PgTx<'_> {
    fn stmt(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(|e| pg_err(self.url, e))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn exec(&mut self, sql: &'static str, args: &Args<'_>) -> Result<u64> {
        let s = self.stmt(sql)?;
        self.tx.execute(&s, args).map_err(|e| pg_err(self.url, e))
    }

    fn opt(&mut self, sql: &'static str, args: &Args<'_>) -> Result<Option<Row>> {
        self.opt_waiting(sql, args, "an answer from the server")
    }

    /// Like [`PgTx::opt`], naming what the statement may wait for.
    fn opt_waiting(
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

    fn all(&mut self, sql: &'static str, args: &Args<'_>) -> Result<Vec<Row>> {
        let s = self.stmt(sql)?;
        self.tx.query(&s, args).map_err(|e| pg_err(self.url, e))
    }

    fn flag(&mut self, sql: &'static str) -> Result<bool> {
        Ok(self
            .opt(sql, &[])?
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false))
    }

    /// Streams the rows of `sql` through a portal, a batch at a time.
    fn stream(
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
    fn flush(&mut self) -> Result<()> {
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

    fn corrupt(&self, what: impl std::fmt::Display) -> anyhow::Error {
        store_err(format!("{} is damaged: {what}", self.url.redacted()))
    }
}

const TOTP_COLUMNS: &str = "t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, \
     t.verified, t.last_step, t.last_used_at, t.failed_attempts, t.locked_until, \
     t.created_at, t.updated_at, \
     (SELECT count(*) FROM ONLY totpctl.backup_codes b WHERE b.totp_id = t.id AND b.used_at IS NULL), \
     t.mac";

const EVENT_COLUMNS: &str = "seq, at, event, account, totp_id, detail, actor, state, hash, mac";

fn get<'r, T: postgres::types::FromSql<'r>>(r: &'r Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| store_err(format!("a stored value does not read back: {e}")))
}

/// The parameters at columns 3 to 5, checked as strictly as on input: a period of 0
/// or 1 digit in the table is damage (or an attack), never something to compute with.
fn params_at(r: &Row) -> Result<Params> {
    let text: &str = get(r, 3)?;
    let algorithm = Algorithm::parse(text).ok_or_else(|| {
        store_err(format!(
            "enrollment row has unknown algorithm {:?}",
            crate::otp::printable(text)
        ))
    })?;
    let digits: i32 = get(r, 4)?;
    let period: i32 = get(r, 5)?;
    let digits = u8::try_from(digits).unwrap_or(0);
    let period = u32::try_from(period).unwrap_or(0);
    Params::new(algorithm, digits, period)
        .map_err(|e| store_err(format!("an enrollment row is damaged: {e}")))
}

fn count(r: &Row, i: usize) -> Result<u32> {
    let n: i64 = match r.try_get::<_, i64>(i) {
        Ok(n) => n,
        Err(_) => i64::from(get::<i32>(r, i)?),
    };
    u32::try_from(n).map_err(|_| store_err(format!("a count of {n} is out of range")))
}

fn totp_from_row(r: &Row) -> Result<Totp> {
    totp_with_count(r, count(r, 13)?)
}

fn totp_with_count(r: &Row, backup_codes_remaining: u32) -> Result<Totp> {
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

fn totp_ref_from_row(r: &Row) -> Result<TotpRef<'_>> {
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

fn event_from_row(r: &Row) -> Result<Event> {
    Ok(Event {
        seq: get(r, 0)?,
        at: get(r, 1)?,
        event: get(r, 2)?,
        account: get(r, 3)?,
        totp_id: get(r, 4)?,
        detail: get(r, 5)?,
        actor: get(r, 6)?,
        state: get(r, 7)?,
    })
}

fn stored_event_from_row(r: &Row) -> Result<StoredEvent> {
    Ok(StoredEvent {
        event: event_from_row(r)?,
        hash: get(r, 8)?,
        mac: get(r, 9)?,
    })
}

fn last_event_from_row(r: &Row) -> Result<LastEvent> {
    Ok(LastEvent {
        stored: stored_event_from_row(r)?,
        prev_hash: get(r, 10)?,
    })
}

/// The SQL and arguments of `list`'s filter.
fn totp_query(filter: &ListFilter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
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

fn refs(args: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref()).collect()
}

impl Tx for PgTx<'_> {
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

    fn deep_check(&mut self) -> Result<Option<String>> {
        // Only the server's owner can rebuild an index to leave rows out (a role that
        // owns a table can REINDEX it, which rebuilds it whole).
        Ok(None)
    }

    fn settle(&mut self) -> Result<()> {
        self.flush()?;
        // A deferred constraint trigger would run at commit, after the read-back.
        self.tx
            .batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
            .map_err(|e| pg_err(self.url, e))
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

    fn lock_log(&mut self) -> Result<()> {
        if self.write && !self.log_locked {
            let s = self.stmt("SELECT pg_advisory_xact_lock($1)")?;
            self.tx
                .execute(&s, &[&LOG_LOCK])
                .map_err(|e| pg_err_waiting(self.url, e, "the audit log's lock"))?;
            self.log_locked = true;
        }
        Ok(())
    }

    fn head(&mut self) -> Result<Option<Head>> {
        self.opt(
            "SELECT seq, hash, mac FROM ONLY totpctl.log_head WHERE id = 1",
            &[],
        )?
        .map(|r| {
            Ok(Head {
                seq: get(&r, 0)?,
                hash: get(&r, 1)?,
                mac: get(&r, 2)?,
            })
        })
        .transpose()
    }

    fn put_head(&mut self, seq: i64, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO totpctl.log_head (id, seq, hash, mac) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 mac = excluded.mac",
            &[&seq, &hash, &mac],
        )
        .map(drop)
    }

    fn has_events(&mut self) -> Result<bool> {
        self.flush()?;
        self.flag("SELECT EXISTS (SELECT 1 FROM ONLY totpctl.events)")
    }

    fn insert_event(&mut self, e: &Event, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.pending.push(StoredEvent {
            event: e.clone(),
            hash: hash.to_vec(),
            mac: Some(mac.to_vec()),
        });
        if self.pending.len() >= EVENT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn set_event_mac(&mut self, seq: i64, mac: &[u8]) -> Result<()> {
        self.flush()?;
        self.exec(
            "UPDATE ONLY totpctl.events SET mac = $2 WHERE seq = $1",
            &[&seq, &mac],
        )
        .map(drop)
    }

    fn hash_at(&mut self, seq: i64) -> Result<Option<Vec<u8>>> {
        self.flush()?;
        self.opt(
            "SELECT hash FROM ONLY totpctl.events WHERE seq = $1",
            &[&seq],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn last_event_of(&mut self, account: &str, totp_id: &str) -> Result<Option<LastEvent>> {
        self.flush()?;
        self.opt(
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE totp_id = $2 AND account = $1 \
             ORDER BY seq DESC LIMIT 1",
            &[&account, &totp_id],
        )?
        .map(|r| last_event_from_row(&r))
        .transpose()
    }

    fn for_each_stored_event(
        &mut self,
        after: i64,
        f: &mut dyn FnMut(StoredEvent) -> Result<()>,
    ) -> Result<()> {
        self.flush()?;
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM ONLY totpctl.events WHERE seq > $1 ORDER BY seq");
        self.stream(&sql, &[&after], &mut |r| f(stored_event_from_row(r)?))
    }

    fn events_after(&mut self, after: i64) -> Result<u64> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT count(*) FROM ONLY totpctl.events WHERE seq > $1",
                &[&after],
            )?
            .ok_or_else(|| store_err("no count".into()))?;
        Ok(get::<i64>(&r, 0)? as u64)
    }

    fn anchors(&mut self) -> Result<crate::integrity::Anchors> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT (SELECT coalesce(max(seq), 0) FROM ONLY totpctl.events \
                         WHERE event = 'config_changed')::bigint, \
                        (SELECT coalesce(max(seq), 0) FROM ONLY totpctl.events \
                         WHERE event = 'restore_accepted')::bigint",
                &[],
            )?
            .ok_or_else(|| store_err("no anchors".into()))?;
        Ok(crate::integrity::Anchors {
            config: get(&r, 0)?,
            restore: get(&r, 1)?,
        })
    }

    fn events_through(&mut self, seq: i64) -> Result<u64> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT count(*) FROM ONLY totpctl.events WHERE seq <= $1",
                &[&seq],
            )?
            .ok_or_else(|| store_err("no count".into()))?;
        Ok(get::<i64>(&r, 0)? as u64)
    }

    fn last_event_of_account(&mut self, account: &str) -> Result<Option<LastEvent>> {
        self.flush()?;
        self.opt(
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE account = $1 AND totp_id IS NOT NULL \
             ORDER BY seq DESC LIMIT 1",
            &[&account],
        )?
        .map(|r| last_event_from_row(&r))
        .transpose()
    }

    fn for_each_event(
        &mut self,
        filter: &EventFilter,
        f: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        self.flush()?;
        let mut sql = String::from(
            "SELECT seq, at, event, account, totp_id, detail, actor, state \
             FROM ONLY totpctl.events WHERE true",
        );
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(account) = &filter.account {
            args.push(Box::new(account.clone()));
            let n = args.len();
            sql.push_str(&format!(" AND (account = ${n} OR totp_id = ${n})"));
        }
        if let Some(since) = &filter.since {
            args.push(Box::new(since.clone()));
            sql.push_str(&format!(" AND at >= ${}", args.len()));
        }
        if let Some(until) = &filter.until {
            args.push(Box::new(until.clone()));
            sql.push_str(&format!(" AND at <= ${}", args.len()));
        }
        if !filter.events.is_empty() {
            args.push(Box::new(filter.events.clone()));
            sql.push_str(&format!(" AND event = ANY(${})", args.len()));
        }
        if let Some(limit) = filter.limit {
            args.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
            sql = format!(
                "SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ${}) newest",
                args.len()
            );
        }
        sql.push_str(" ORDER BY seq");
        self.stream(&sql, &refs(&args), &mut |r| f(event_from_row(r)?))
    }

    fn vanished_enrollments(&mut self) -> Result<Vec<(i64, String)>> {
        self.flush()?;
        self.all(
            "SELECT e.seq, e.totp_id FROM ONLY totpctl.events e \
             WHERE e.totp_id IS NOT NULL \
               AND e.seq = (SELECT max(x.seq) FROM ONLY totpctl.events x WHERE x.totp_id = e.totp_id) \
               AND e.event <> 'removed' \
               AND NOT EXISTS (SELECT 1 FROM ONLY totpctl.totps t WHERE t.id = e.totp_id) \
             ORDER BY e.seq",
            &[],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect()
    }

    fn last_event_named(&mut self, event: &str) -> Result<Option<LastEvent>> {
        self.flush()?;
        // `config_changed` through its partial index, which the literal lets the
        // planner use; any other name (`restore_accepted`, only looked for after a
        // rollback) by a scan.
        let sql = if event == "config_changed" {
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE event = 'config_changed' AND $1 = $1 \
             ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE event = $1 ORDER BY seq DESC LIMIT 1"
        };
        self.opt(sql, &[&event])?
            .map(|r| last_event_from_row(&r))
            .transpose()
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
        self.for_each_stored_event(0, &mut |e| f(Record::Event(e)))?;
        if let Some(h) = self.head()? {
            f(Record::Head(h))?;
        }
        Ok(())
    }

    fn import(&mut self, r: &Record) -> Result<()> {
        match r {
            Record::Vault(row) => self.put_vault_row(row, &crate::timestamp(chrono::Utc::now())),
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
                        &crate::names::skeleton(&totp.account),
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
            Record::Head(h) => self
                .exec(
                    "INSERT INTO totpctl.log_head (id, seq, hash, mac) VALUES (1, $1, $2, $3)",
                    &[&h.seq, &h.hash, &h.mac],
                )
                .map(drop),
        }
    }

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
