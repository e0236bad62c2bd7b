//! The audit trail: append-only events, each hashed together with the hash of the one
//! before it, and a head row holding the newest hash, so that editing, deleting,
//! inserting or reordering rows, or cutting the end off, breaks the chain.
//!
//! Events are written by the same transaction as the change they record. They hold
//! who and what, never a code, a secret or a backup code.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One event of the trail.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub event: String,
    pub account: Option<String>,
    pub totp_id: Option<String>,
    /// A JSON object with the event's particulars (code type, reason, …).
    pub detail: String,
}

/// The hash of an event given the hash of the one before it.
fn event_hash(prev: &[u8], e: &Event) -> [u8; 32] {
    hash_parts(
        prev,
        e.seq,
        [
            Some(e.at.as_str()),
            Some(e.event.as_str()),
            e.account.as_deref(),
            e.totp_id.as_deref(),
            Some(e.detail.as_str()),
        ],
    )
}

/// The chain's hash over an event's fields (at, event, account, totp_id, detail).
fn hash_parts(prev: &[u8], seq: i64, fields: [Option<&str>; 5]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"totpctl event v1\0");
    h.update(prev);
    h.update(seq.to_be_bytes());
    for field in fields {
        match field {
            Some(text) => {
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    h.finalize().into()
}

/// Appends an event. The caller holds the write transaction.
pub fn append(
    conn: &Connection,
    at: &str,
    event: &str,
    account: Option<&str>,
    totp_id: Option<&str>,
    detail: Value,
) -> rusqlite::Result<()> {
    let mut appender = Appender::new(conn)?;
    appender.append(at, event, account, totp_id, &detail.to_string())?;
    appender.finish()
}

/// Appends many events in one write transaction: the newest seq and hash are kept in
/// memory and the head row is written once, by [`Appender::finish`], instead of being
/// read and rewritten for every event. The chain it writes is the one [`append`]
/// writes. Dropping an appender without `finish` leaves the head stale, which
/// `log --check` reports, so the caller must call it before committing.
pub struct Appender<'c> {
    insert: rusqlite::CachedStatement<'c>,
    conn: &'c Connection,
    seq: i64,
    prev: Vec<u8>,
    pending: bool,
}

impl<'c> Appender<'c> {
    /// Reads the head of the chain. The caller holds the write transaction.
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Appender<'c>> {
        let head: Option<(i64, Vec<u8>)> = conn
            .prepare_cached("SELECT seq, hash FROM log_head WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        // A head of another length is hashed as it is, as `log --check` does: the
        // chain it starts then fails the check rather than this append.
        let (seq, prev) = head.unwrap_or((0, vec![0; 32]));
        let insert = conn.prepare_cached(
            "INSERT INTO events (seq, at, event, account, totp_id, detail, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        Ok(Appender {
            insert,
            conn,
            seq,
            prev,
            pending: false,
        })
    }

    /// Appends one event; `detail` is its JSON object, as text.
    pub fn append(
        &mut self,
        at: &str,
        event: &str,
        account: Option<&str>,
        totp_id: Option<&str>,
        detail: &str,
    ) -> rusqlite::Result<()> {
        let seq = self.seq + 1;
        let hash = hash_parts(
            &self.prev,
            seq,
            [Some(at), Some(event), account, totp_id, Some(detail)],
        );
        self.insert
            .execute(params![seq, at, event, account, totp_id, detail, &hash[..]])?;
        self.seq = seq;
        self.prev.clear();
        self.prev.extend_from_slice(&hash);
        self.pending = true;
        Ok(())
    }

    /// Writes the head row for the events appended.
    pub fn finish(self) -> rusqlite::Result<()> {
        if !self.pending {
            return Ok(());
        }
        self.conn
            .prepare_cached(
                "INSERT INTO log_head (id, seq, hash) VALUES (1, ?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            )?
            .execute(params![self.seq, &self.prev[..]])?;
        Ok(())
    }
}

/// Which events `log` shows.
#[derive(Debug, Default)]
pub struct EventFilter {
    /// Events whose account name or enrollment id is this.
    pub account: Option<String>,
    /// Events at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Events at or before this RFC 3339 time.
    pub until: Option<String>,
    /// Only events with one of these names; all when empty.
    pub events: Vec<String>,
    /// Only the newest N.
    pub limit: Option<u64>,
}

/// Calls `f` for each matching event, oldest first, one row in memory at a time.
pub fn for_each_event(
    conn: &Connection,
    filter: &EventFilter,
    mut f: impl FnMut(Event) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut sql =
        String::from("SELECT seq, at, event, account, totp_id, detail FROM events WHERE 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(account) = &filter.account {
        sql.push_str(" AND (account = ? OR totp_id = ?)");
        args.push(account.clone().into());
        args.push(account.clone().into());
    }
    if let Some(since) = &filter.since {
        sql.push_str(" AND at >= ?");
        args.push(since.clone().into());
    }
    if let Some(until) = &filter.until {
        sql.push_str(" AND at <= ?");
        args.push(until.clone().into());
    }
    if !filter.events.is_empty() {
        sql.push_str(" AND event IN (");
        for (i, name) in filter.events.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            args.push(name.clone().into());
        }
        sql.push(')');
    }
    if let Some(limit) = filter.limit {
        sql = format!("SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?)");
        args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    }
    sql.push_str(" ORDER BY seq");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        f(event_from_row(r)?)?;
    }
    Ok(())
}

/// An event from a row whose first columns are `seq, at, event, account, totp_id,
/// detail`.
fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        account: r.get(3)?,
        totp_id: r.get(4)?,
        detail: r.get(5)?,
    })
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// The first event that does not check out (or the seq where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// Recomputes the whole chain. Returns the number of events checked, or the first
/// problem.
pub fn check_chain(conn: &Connection) -> rusqlite::Result<Result<u64, ChainProblem>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, event, account, totp_id, detail, hash FROM events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = vec![0u8; 32];
    let mut expected_seq = 1i64;
    let mut count = 0u64;
    while let Some(r) = rows.next()? {
        let e = event_from_row(r)?;
        let stored: Vec<u8> = r.get(6)?;
        if e.seq != expected_seq {
            let reason = if e.seq > expected_seq {
                format!("events #{expected_seq} to #{} are missing", e.seq - 1)
            } else {
                format!("event #{} is out of order", e.seq)
            };
            return Ok(Err(ChainProblem {
                seq: expected_seq,
                reason,
            }));
        }
        let hash = event_hash(&prev, &e);
        if hash[..] != stored[..] {
            return Ok(Err(ChainProblem {
                seq: e.seq,
                reason: format!(
                    "event #{} does not match its hash: it, or the one before it, was altered",
                    e.seq
                ),
            }));
        }
        prev = stored;
        expected_seq += 1;
        count += 1;
    }
    let head: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT seq, hash FROM log_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let last = expected_seq - 1;
    match head {
        None if count == 0 => Ok(Ok(0)),
        None => Ok(Err(ChainProblem {
            seq: last,
            reason: "the log head is missing".into(),
        })),
        Some((seq, _)) if seq > last => Ok(Err(ChainProblem {
            seq: last + 1,
            reason: format!("events #{} to #{seq} were deleted from the end", last + 1),
        })),
        Some((seq, hash)) if seq != last || hash != prev => Ok(Err(ChainProblem {
            seq: last,
            reason: format!("the log head does not match event #{last}"),
        })),
        Some(_) => Ok(Ok(count)),
    }
}
