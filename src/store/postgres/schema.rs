//! PostgreSQL: totpctl's schema `totpctl` and its migrations, applied under their own
//! advisory lock so that racing first runs migrate once, inside the transaction that
//! needs them.

use anyhow::Result;
use postgres::{Client, Transaction};

use super::url::PgUrl;
use crate::base::error::store_err;

use super::catalog as pg_schema;
use super::connect::pg_err;

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock that serialises migrations.
pub(super) const MIGRATE_LOCK: i64 = 0x544F_5450_0000_0002;

/// Append-only migrations: entry `i` takes the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 3: the API tokens of `totpctl serve` (SQLite's version 5).
    "
    CREATE TABLE totpctl.tokens (
        name         text PRIMARY KEY,
        hash         bytea NOT NULL UNIQUE,
        scopes       text NOT NULL,
        created_at   text NOT NULL,
        expires_at   text,
        last_used_at text,
        mac          bytea NOT NULL
    );
    CREATE INDEX events_tokens ON totpctl.events (seq)
        WHERE event IN ('token_created', 'token_revoked');
    ",
];

pub(super) fn newer(url: &PgUrl, version: i64) -> anyhow::Error {
    store_err(format!(
        "{} was written by a newer totpctl (schema version {version}; this one knows up to \
         {VERSION}): upgrade totpctl to use it",
        url.redacted()
    ))
}

/// The version recorded in `totpctl.migrations`; 0 when there is none.
pub(super) fn schema_version(client: &mut Client, url: &PgUrl) -> Result<i64> {
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
pub(super) fn migrate_in(tx: &mut Transaction<'_>, url: &PgUrl) -> Result<()> {
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
            return Err(crate::base::error::integrity_error(format!(
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
                &[&id, &crate::domain::names::skeleton(&account)],
            )
            .map_err(e)?;
        }
    }
    Ok(())
}
