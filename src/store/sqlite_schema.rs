//! The schema and its migrations. Migrations are append-only: each entry takes a store
//! from version `i` to `i + 1`, and the caller runs them inside one transaction, so a
//! store is always at one whole version.

use rusqlite::Connection;

/// `PRAGMA application_id` of every totpctl store ("TOTP"), so that another
/// application's SQLite file is never mistaken for one.
pub const APPLICATION_ID: i32 = 0x544F_5450;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE config (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    -- How the data key is protected: one row once the first secret is sealed.
    CREATE TABLE vault (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        protection TEXT NOT NULL,       -- 'key-file' or 'passphrase'
        kdf        TEXT,                -- Argon2id parameters, for a passphrase
        salt       BLOB,
        wrapped    BLOB NOT NULL,       -- the data keys, sealed under the key
        updated_at TEXT NOT NULL
    );

    CREATE TABLE totps (
        id              TEXT PRIMARY KEY NOT NULL,
        account         TEXT NOT NULL UNIQUE,
        issuer          TEXT NOT NULL,
        algorithm       TEXT NOT NULL,
        digits          INTEGER NOT NULL,
        period          INTEGER NOT NULL,
        secret          BLOB NOT NULL,  -- nonce || AEAD ciphertext, bound to id
        verified        INTEGER NOT NULL DEFAULT 0,
        last_step       INTEGER,        -- last accepted TOTP step (replay protection)
        last_used_at    TEXT,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until    TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX totps_issuer ON totps (issuer, account);
    CREATE INDEX totps_locked ON totps (locked_until) WHERE locked_until IS NOT NULL;

    -- Keyed hashes only: a copy of the file reveals no code.
    CREATE TABLE backup_codes (
        totp_id TEXT NOT NULL REFERENCES totps (id) ON DELETE CASCADE,
        hash    BLOB NOT NULL,
        PRIMARY KEY (totp_id, hash)
    ) WITHOUT ROWID;

    -- The audit trail: append-only, each row's hash chained to the one before.
    CREATE TABLE events (
        seq     INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        event   TEXT NOT NULL,
        account TEXT,
        totp_id TEXT,
        detail  TEXT NOT NULL,
        hash    BLOB NOT NULL
    );
    CREATE INDEX events_account ON events (account);
    CREATE INDEX events_totp ON events (totp_id);
    CREATE INDEX events_at ON events (at);

    -- The newest event's seq and hash: cutting events off the end is detected too.
    CREATE TABLE log_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash BLOB NOT NULL
    );
    ",
    // 2: everything that decides acceptance is authenticated under the store's key
    // (src/integrity.rs), the audit chain is keyed, and events name their actor and
    // the state they left behind. The MAC columns stay NULL until the first command
    // holding the key fills them (see `Upgrade` in src/store/session.rs), so that
    // list, show and log can still read a store that no keyed command has opened.
    "
    ALTER TABLE totps ADD COLUMN mac BLOB;
    ALTER TABLE vault ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE events ADD COLUMN actor TEXT;
    ALTER TABLE events ADD COLUMN state BLOB;
    ALTER TABLE events ADD COLUMN mac BLOB;
    ALTER TABLE log_head ADD COLUMN mac BLOB;
    -- A used backup code is kept, marked, so that it can be told from a wrong one.
    ALTER TABLE backup_codes ADD COLUMN used_at TEXT;

    -- The settings' last change, found at once by every write session, which checks
    -- the settings against the state that event recorded.
    CREATE INDEX events_config_changes ON events (seq) WHERE event = 'config_changed';

    -- Authenticated values that belong to the store as a whole ('config_mac').
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    ",
    // 3: one index on the events instead of three, so that appending an event (every
    // accepted code) writes two pages fewer. (account, totp_id) finds an enrollment's
    // last event, which every write session checks, and an account's events for
    // `log ACCOUNT`. The index on `at` was never chosen by the planner (`log` reads in
    // seq order), and an enrollment's events are found through its account.
    "
    DROP INDEX IF EXISTS events_account;
    DROP INDEX IF EXISTS events_totp;
    DROP INDEX IF EXISTS events_at;
    CREATE INDEX IF NOT EXISTS events_enrollment ON events (account, totp_id);
    ",
];

/// The first version whose data is authenticated. A store that has the tables of this
/// version but claims an older one had its version edited: it is refused, never
/// migrated again.
pub const AUTHENTICATED: i32 = 2;

/// The schema version this build writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Applies the migrations after `from`, then records the new version. The caller
/// holds the transaction.
pub fn migrate(conn: &Connection, from: i32) -> rusqlite::Result<()> {
    // The caller refuses a store whose version was taken back below the tables it
    // has (see `has_authenticated_tables`), so each migration runs on the schema it
    // was written for.
    let from = usize::try_from(from).unwrap_or(0);
    for sql in MIGRATIONS.iter().skip(from) {
        conn.execute_batch(sql)?;
    }
    conn.pragma_update(None, "user_version", VERSION)
}

/// Whether the store has the tables of the authenticated schema, whatever its
/// `user_version` says.
pub fn has_authenticated_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}
