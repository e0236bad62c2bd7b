//! The SQL that changes a store, and the reads that only keyed commands make. Every
//! function runs inside the caller's write transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::Totp;

/// Inserts enrollments, with the statement prepared once (import inserts many).
pub struct Inserter<'c> {
    insert: rusqlite::CachedStatement<'c>,
}

impl<'c> Inserter<'c> {
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Inserter<'c>> {
        // The account's unique index answers "is it enrolled already?" as part of the
        // insert, instead of a separate lookup per account.
        let insert = conn.prepare_cached(
            "INSERT INTO totps (id, account, issuer, algorithm, digits, period, secret, \
                                verified, last_step, last_used_at, failed_attempts, \
                                locked_until, created_at, updated_at, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (account) DO NOTHING",
        )?;
        Ok(Inserter { insert })
    }

    /// Inserts `t` with its sealed secret and MAC unless its account is enrolled
    /// already; returns whether it did.
    pub fn insert(&mut self, t: &Totp, sealed: &[u8], mac: &[u8]) -> rusqlite::Result<bool> {
        let inserted = self.insert.execute(params![
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
            mac
        ])?;
        Ok(inserted == 1)
    }
}

/// Deletes an enrollment and, through the foreign key, its backup codes.
pub fn delete_totp(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM totps WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Writes an enrollment's state and its new MAC, only if the row still carries
/// `old_mac`: a compare-and-swap, so that of two writers that loaded the same state
/// only one records its change (replay protection and failure counting rest on it).
/// Returns whether it did.
pub fn save_state(
    conn: &Connection,
    t: &Totp,
    old_mac: Option<&[u8]>,
    mac: &[u8],
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE totps SET verified = ?2, last_step = ?3, last_used_at = ?4, \
                    failed_attempts = ?5, locked_until = ?6, updated_at = ?7, mac = ?8 \
             WHERE id = ?1 AND mac IS ?9",
        )?
        .execute(params![
            t.id,
            t.verified,
            t.last_step,
            t.last_used_at,
            t.failed_attempts,
            t.locked_until,
            t.updated_at,
            mac,
            old_mac
        ])?;
    Ok(changed == 1)
}

/// Sets an enrollment's MAC alone (upgrading a store, rekeying).
pub fn set_totp_mac(conn: &Connection, id: &str, mac: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE totps SET mac = ?2 WHERE id = ?1")?
        .execute(params![id, mac])?;
    Ok(())
}

/// The sealed secret of an enrollment.
pub fn sealed_secret(conn: &Connection, id: &str) -> rusqlite::Result<Vec<u8>> {
    conn.prepare_cached("SELECT secret FROM totps WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
}

/// Replaces an enrollment's sealed secret (same secret, new key or binding).
pub fn reseal(conn: &Connection, id: &str, sealed: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE totps SET secret = ?2 WHERE id = ?1")?
        .execute(params![id, sealed])?;
    Ok(())
}

/// Every enrollment's id, for upgrading and rekeying.
pub fn all_totp_ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT id FROM totps ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect()
}

/// The hashes of an enrollment's live (unused) backup codes.
pub fn backup_code_hashes(conn: &Connection, id: &str) -> rusqlite::Result<Vec<Vec<u8>>> {
    conn.prepare_cached("SELECT hash FROM backup_codes WHERE totp_id = ?1 AND used_at IS NULL")?
        .query_map([id], |r| r.get(0))?
        .collect()
}

/// Marks one live backup code used; returns whether it was live.
pub fn use_backup_code(
    conn: &Connection,
    id: &str,
    hash: &[u8],
    now: &str,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE backup_codes SET used_at = ?3 \
             WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NULL",
        )?
        .execute(params![id, hash, now])?;
    Ok(changed == 1)
}

/// When a backup code of the current set was used, if it was. Only a message depends
/// on it ("already used" rather than "incorrect"): it never decides acceptance.
pub fn backup_code_used_at(
    conn: &Connection,
    id: &str,
    hash: &[u8],
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT used_at FROM backup_codes WHERE totp_id = ?1 AND hash = ?2 AND used_at IS NOT NULL",
    )?
    .query_row(params![id, hash], |r| r.get(0))
    .optional()
}

/// Replaces the whole set of backup codes of an enrollment.
pub fn replace_backup_codes(
    conn: &Connection,
    id: &str,
    hashes: &[Vec<u8>],
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM backup_codes WHERE totp_id = ?1")?
        .execute([id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO backup_codes (totp_id, hash) VALUES (?1, ?2)")?;
    for hash in hashes {
        insert.execute(params![id, hash])?;
    }
    Ok(())
}

/// The stored settings, as (key, value) pairs.
pub fn config_pairs(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT key, value FROM config")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

pub fn set_config(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO config (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// A value of the `meta` table; `None` on a store older than the table, too.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

pub fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Whether the store holds anything a key must have written: an enrollment, an event
/// or a setting. Such a store without a key record was tampered with.
pub fn has_content(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM totps) OR EXISTS (SELECT 1 FROM events) \
             OR EXISTS (SELECT 1 FROM config) OR EXISTS (SELECT 1 FROM meta)",
        [],
        |r| r.get(0),
    )
}

/// Whether any integrity data was ever written: a store with some has been
/// upgraded, and must never be taken for one that has not.
pub fn has_integrity_data(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta) OR EXISTS (SELECT 1 FROM totps WHERE mac IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM events WHERE mac IS NOT NULL OR actor IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM log_head WHERE mac IS NOT NULL)",
        [],
        |r| r.get(0),
    )
}

/// The row that says how the store's data keys are protected.
#[derive(Debug, Clone)]
pub struct VaultRow {
    pub protection: String,
    pub kdf: Option<String>,
    pub salt: Option<Vec<u8>>,
    pub wrapped: Vec<u8>,
    /// 1: wrapped before the store was authenticated; 2: bound to the authenticated
    /// schema (see `vault::wrap_aad`).
    pub version: i64,
}

pub fn vault_row(conn: &Connection) -> rusqlite::Result<Option<VaultRow>> {
    conn.prepare_cached("SELECT protection, kdf, salt, wrapped, version FROM vault WHERE id = 1")?
        .query_row([], |r| {
            Ok(VaultRow {
                protection: r.get(0)?,
                kdf: r.get(1)?,
                salt: r.get(2)?,
                wrapped: r.get(3)?,
                version: r.get(4)?,
            })
        })
        .optional()
}

pub fn put_vault_row(conn: &Connection, row: &VaultRow, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO vault (id, protection, kdf, salt, wrapped, version, updated_at) \
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (id) DO UPDATE SET protection = excluded.protection, kdf = excluded.kdf, \
             salt = excluded.salt, wrapped = excluded.wrapped, version = excluded.version, \
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        row.protection,
        row.kdf,
        row.salt,
        row.wrapped,
        row.version,
        now
    ])?;
    Ok(())
}
