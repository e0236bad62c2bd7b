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
    // 4: each enrollment's UTS #39 skeleton (src/names.rs), indexed, so that a new
    // account that looks like an enrolled one is found with one lookup. It decides
    // nothing on its own: `log --check` recomputes it from the authenticated account.
    // `migrate` fills it for the enrollments already there. And the accepted
    // restores, found at once as the settings' changes are: the log's head answers
    // for the newest of each (src/integrity.rs, `Anchors`).
    "
    ALTER TABLE totps ADD COLUMN skeleton TEXT;
    CREATE INDEX totps_skeleton ON totps (skeleton);
    CREATE INDEX events_restores ON events (seq) WHERE event = 'restore_accepted';
    ",
    // 5: the API tokens of `totpctl serve` (src/store/tokens.rs): a keyed hash of
    // each, never the token; each row under its MAC, and the whole set recorded by
    // the newest change of the tokens, found at once as the settings' is (and
    // answered for by the log's head).
    "
    CREATE TABLE tokens (
        name         TEXT PRIMARY KEY NOT NULL,
        hash         BLOB NOT NULL UNIQUE,
        scopes       TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT,
        last_used_at TEXT,               -- to the minute; decides nothing
        mac          BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX events_tokens ON events (seq) WHERE event IN ('token_created', 'token_revoked');
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
    if from < 4 {
        fill_skeletons(conn)?;
    }
    conn.pragma_update(None, "user_version", VERSION)
}

/// Computes the skeleton of every enrollment that has none (version 4).
fn fill_skeletons(conn: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT id, account FROM totps WHERE skeleton IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE totps SET skeleton = ?2 WHERE id = ?1")?;
    for (id, account) in rows {
        update.execute([id, crate::domain::names::skeleton(&account)])?;
    }
    Ok(())
}

/// The digest of the schema each version creates (see [`schema_digest`]), for
/// versions 1 to [`VERSION`]. The test below recomputes them from [`MIGRATIONS`].
const DIGESTS: [&str; VERSION as usize] = [
    "6e021c4e7028d4d7a4d9632cb9cdf2786f409376dba639ff449a0ece939ed99b",
    "4387a21decfc80090ce719f701086c490d41e067ba1c776113be5eaf3e3a530e",
    "95f5aa1caaec339345a125703492fa2f7014045194bede4d037ee05e913e744e",
    "f9579a0d24f99c043f20e318682cebb375830fb524c1474ca2fd80e13fd72e8b",
    "199ba272d2c555db6d69c17c29fe4846a5cd607030e6ddc8586ed10d18d6d5fc",
];

/// One object of a store's schema, as `sqlite_schema` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaObject {
    pub kind: String,
    pub name: String,
    pub table: String,
    /// Its SQL with every run of white space made one space; `None` for the indexes
    /// SQLite makes itself.
    pub sql: Option<String>,
}

/// Every object of the schema, in (type, name) order.
pub fn objects(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    conn.prepare_cached("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")?
        .query_map([], |r| {
            Ok(SchemaObject {
                kind: r.get(0)?,
                name: r.get(1)?,
                table: r.get(2)?,
                sql: r.get::<_, Option<String>>(3)?.map(|s| normal(&s)),
            })
        })?
        .collect()
}

/// `sql` with every run of white space made one space, and none at either end. Every
/// transaction runs this over the whole schema: one pass, one allocation.
fn normal(sql: &str) -> String {
    // SQLite's white space is ASCII's; other bytes (UTF-8 included) are kept as they are.
    let mut out = Vec::with_capacity(sql.len());
    let mut space = false;
    for &b in sql.as_bytes() {
        if b.is_ascii_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(b' ');
                space = false;
            }
            out.push(b);
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A digest of a schema's objects: what a store of a version must have, exactly.
fn schema_digest(objects: &[SchemaObject]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for o in objects {
        for part in [Some(&o.kind), Some(&o.name), Some(&o.table), o.sql.as_ref()] {
            match part {
                Some(text) => {
                    h.update((text.len() as u64).to_be_bytes());
                    h.update(text.as_bytes());
                }
                None => h.update(u64::MAX.to_be_bytes()),
            }
        }
    }
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// The objects a store of `version` has when totpctl made it: its migrations applied
/// to an empty database in memory. Only computed to say what differs.
fn expected_objects(version: i32) -> rusqlite::Result<Vec<SchemaObject>> {
    let conn = Connection::open_in_memory()?;
    for sql in MIGRATIONS
        .iter()
        .take(usize::try_from(version).unwrap_or(0))
    {
        conn.execute_batch(sql)?;
    }
    objects(&conn)
}

/// Checks that the store's schema is exactly the one totpctl creates for `version`:
/// no table, index, trigger or view more or less, none changed. Returns what differs,
/// one object after another, for the `integrity_error`.
pub fn check(conn: &Connection, version: i32) -> rusqlite::Result<Result<(), String>> {
    let found = objects(conn)?;
    let expected_digest = usize::try_from(version)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| DIGESTS.get(i));
    if expected_digest.is_some_and(|d| *d == schema_digest(&found)) {
        return Ok(Ok(()));
    }
    let expected = expected_objects(version)?;
    Ok(Err(differences(&expected, &found)))
}

/// The objects of `found` that `expected` lacks or has otherwise, and those missing.
fn differences(expected: &[SchemaObject], found: &[SchemaObject]) -> String {
    let key = |o: &SchemaObject| (o.kind.clone(), o.name.clone());
    let mut parts = Vec::new();
    for f in found {
        match expected.iter().find(|e| key(e) == key(f)) {
            None => parts.push(format!(
                "{} '{}' on {} is not one totpctl creates",
                f.kind,
                crate::base::text::sanitize(&f.name),
                crate::base::text::sanitize(&f.table)
            )),
            Some(e) if e != f => parts.push(format!(
                "{} '{}' was changed",
                f.kind,
                crate::base::text::sanitize(&f.name)
            )),
            Some(_) => {}
        }
    }
    for e in expected {
        if !found.iter().any(|f| key(f) == key(e)) {
            parts.push(format!("{} '{}' is missing", e.kind, e.name));
        }
    }
    if parts.is_empty() {
        parts.push("its schema is not the one totpctl creates".into());
    }
    parts.join("; ")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The digests are those of the migrations: a new migration needs its digest.
    #[test]
    fn digests_are_those_of_the_migrations() {
        let computed: Vec<String> = (1..=VERSION)
            .map(|v| schema_digest(&expected_objects(v).unwrap()))
            .collect();
        assert_eq!(computed, DIGESTS.to_vec(), "DIGESTS must be {computed:#?}");
    }

    #[test]
    fn a_trigger_is_named() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, 0).unwrap();
        assert_eq!(check(&conn, VERSION).unwrap(), Ok(()));
        conn.execute_batch("CREATE TRIGGER keep AFTER UPDATE ON totps BEGIN SELECT 1; END;")
            .unwrap();
        let problem = check(&conn, VERSION).unwrap().unwrap_err();
        assert!(problem.contains("trigger 'keep' on totps"), "{problem}");
    }
}
