//! The audit trail: append-only events in a keyed hash chain.
//!
//! Each event's hash covers its fields and the hash of the one before it, and each
//! hash carries an HMAC under the store's log key (src/integrity.rs), as does the head
//! row that names the newest event. Without the key, no edit, insertion, deletion,
//! reordering or cut-off end can be made to check out, and `log --check` names the
//! first event that does not. The hashes themselves are unkeyed, so that the head a
//! user keeps elsewhere (`log --head`) stays valid across a rekey, which only renews
//! the MACs.
//!
//! Events are written by the same transaction as the change they record. They hold
//! who (the actor), what, and the digest of the state the change left behind, never a
//! code, a secret or a backup code. Events written before the store was
//! authenticated (version 1) have no actor and no state, and are hashed as they were.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::integrity::{self, Keys, Tag};

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
    /// A JSON object naming who wrote the event; `None` on version 1 events.
    pub actor: Option<String>,
    /// The digest of the state the event left behind (an enrollment's, or the
    /// settings'), for the rollback cross-check.
    pub state: Option<Vec<u8>>,
}

/// Who wrote an event: the OS user and host of the process.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

impl Actor {
    /// The actor of this process.
    pub fn current() -> Actor {
        let uid = nix::unistd::geteuid();
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| format!("uid {uid}"));
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into());
        Actor { user, host }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The chain hash of an event, given the hash of the one before it.
fn event_hash(prev: &[u8], e: &Event) -> Tag {
    let fields = [
        Some(e.at.as_str()),
        Some(e.event.as_str()),
        e.account.as_deref(),
        e.totp_id.as_deref(),
        Some(e.detail.as_str()),
    ];
    let mut h = Sha256::new();
    match &e.actor {
        None => h.update(b"totpctl event v1\0"),
        Some(_) => h.update(b"totpctl event v2\0"),
    }
    h.update(prev);
    h.update(e.seq.to_be_bytes());
    let v2 = e.actor.as_deref().map(|a| [Some(a)]);
    let extra: &[Option<&str>] = match &v2 {
        Some(a) => a,
        None => &[],
    };
    for field in fields.iter().chain(extra) {
        match field {
            Some(text) => {
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    if e.actor.is_some() {
        match &e.state {
            Some(state) => {
                h.update((state.len() as u64).to_be_bytes());
                h.update(state);
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    h.finalize().into()
}

/// An event to append.
pub struct NewEvent<'a> {
    pub event: &'a str,
    pub account: Option<&'a str>,
    pub totp_id: Option<&'a str>,
    pub detail: &'a str,
    pub state: Option<&'a Tag>,
}

/// The head of the chain: the newest event's seq and hash, and their MAC.
#[derive(Debug, Clone)]
pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub mac: Option<Vec<u8>>,
}

pub fn head(conn: &Connection) -> rusqlite::Result<Option<Head>> {
    conn.prepare_cached("SELECT seq, hash, mac FROM log_head WHERE id = 1")?
        .query_row([], |r| {
            Ok(Head {
                seq: r.get(0)?,
                hash: r.get(1)?,
                mac: r.get(2)?,
            })
        })
        .optional()
}

fn put_head(conn: &Connection, keys: &Keys, seq: i64, hash: &[u8]) -> rusqlite::Result<()> {
    let mac = keys.head_mac(seq, hash);
    conn.prepare_cached(
        "INSERT INTO log_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             mac = excluded.mac",
    )?
    .execute(params![seq, hash, &mac[..]])?;
    Ok(())
}

/// Whether the head row (if any) carries a valid MAC.
pub fn head_is_authentic(head: Option<&Head>, keys: &Keys) -> bool {
    match head {
        None => true,
        Some(h) => integrity::matches(h.mac.as_deref(), &keys.head_mac(h.seq, &h.hash)),
    }
}

/// The writing end of the chain, kept by a write session: the newest seq and hash are
/// held in memory and the head row is written once, by [`Appender::finish`], however
/// many events the session appends. A session that does not finish leaves the head
/// stale, which `log --check` reports, so the session finishes before it commits.
pub struct Appender {
    seq: i64,
    prev: Vec<u8>,
    pending: bool,
    actor: String,
    at: String,
}

impl Appender {
    /// Starts from the head of the chain, which must be authentic: events are never
    /// chained onto a head someone else wrote. The caller holds the write transaction.
    pub fn new(
        conn: &Connection,
        keys: &Keys,
        actor: &Actor,
        at: &str,
    ) -> rusqlite::Result<Result<Appender, String>> {
        let head = head(conn)?;
        if !head_is_authentic(head.as_ref(), keys) {
            return Ok(Err(
                "the audit log's head does not carry this store's MAC".into()
            ));
        }
        if head.is_none() && has_events(conn)? {
            return Ok(Err("the audit log's head is missing".into()));
        }
        let (seq, prev) = head.map_or((0, vec![0; 32]), |h| (h.seq, h.hash));
        Ok(Ok(Appender {
            seq,
            prev,
            pending: false,
            actor: actor.to_json(),
            at: at.to_string(),
        }))
    }

    /// Appends one event.
    pub fn append(
        &mut self,
        conn: &Connection,
        keys: &Keys,
        e: &NewEvent<'_>,
    ) -> rusqlite::Result<()> {
        let event = Event {
            seq: self.seq + 1,
            at: self.at.clone(),
            event: e.event.to_string(),
            account: e.account.map(str::to_string),
            totp_id: e.totp_id.map(str::to_string),
            detail: e.detail.to_string(),
            actor: Some(self.actor.clone()),
            state: e.state.map(|s| s.to_vec()),
        };
        let hash = event_hash(&self.prev, &event);
        let mac = keys.event_mac(event.seq, &hash);
        conn.prepare_cached(
            "INSERT INTO events (seq, at, event, account, totp_id, detail, actor, state, hash, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            event.seq,
            event.at,
            event.event,
            event.account,
            event.totp_id,
            event.detail,
            event.actor,
            event.state,
            &hash[..],
            &mac[..]
        ])?;
        self.seq = event.seq;
        self.prev.clear();
        self.prev.extend_from_slice(&hash);
        self.pending = true;
        Ok(())
    }

    /// Writes the head row for the events appended.
    pub fn finish(&mut self, conn: &Connection, keys: &Keys) -> rusqlite::Result<()> {
        if self.pending {
            put_head(conn, keys, self.seq, &self.prev)?;
            self.pending = false;
        }
        Ok(())
    }
}

fn has_events(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))
}

/// The newest event of an enrollment, if its MAC and hash check out: `Ok(None)` if it
/// has none, `Err` naming the event if it does not check out.
pub fn last_event_of(
    conn: &Connection,
    keys: &Keys,
    totp_id: &str,
) -> rusqlite::Result<Result<Option<Event>, i64>> {
    last_checked(
        conn,
        keys,
        "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac \
         FROM events WHERE totp_id = ?1 ORDER BY seq DESC LIMIT 1",
        [totp_id],
    )
}

/// The newest change of the settings, checked as [`last_event_of`] checks an
/// enrollment's (through the partial index on `config_changed` events).
pub fn last_config_change(
    conn: &Connection,
    keys: &Keys,
) -> rusqlite::Result<Result<Option<Event>, i64>> {
    last_checked(
        conn,
        keys,
        "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac \
         FROM events WHERE event = 'config_changed' ORDER BY seq DESC LIMIT 1",
        [],
    )
}

/// Runs a query for one event row and checks it: its hash, recomputed over its fields
/// and the stored hash of the event before it, and its MAC.
fn last_checked<P: rusqlite::Params>(
    conn: &Connection,
    keys: &Keys,
    sql: &str,
    params: P,
) -> rusqlite::Result<Result<Option<Event>, i64>> {
    let row = conn
        .prepare_cached(sql)?
        .query_row(params, |r| {
            Ok((
                event_from_row(r)?,
                r.get::<_, Vec<u8>>(8)?,
                r.get::<_, Option<Vec<u8>>>(9)?,
            ))
        })
        .optional()?;
    let Some((event, hash, mac)) = row else {
        return Ok(Ok(None));
    };
    let prev: Vec<u8> = if event.seq == 1 {
        vec![0; 32]
    } else {
        match conn
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")?
            .query_row([event.seq - 1], |r| r.get(0))
            .optional()?
        {
            Some(prev) => prev,
            None => return Ok(Err(event.seq)),
        }
    };
    let recomputed = event_hash(&prev, &event);
    if recomputed[..] != hash[..]
        || !integrity::matches(mac.as_deref(), &keys.event_mac(event.seq, &hash))
    {
        return Ok(Err(event.seq));
    }
    Ok(Ok(Some(event)))
}

/// Renews the MAC of every event and of the head under `keys`: after a rekey, or when a
/// store is first authenticated. The caller has checked the chain first, so what is
/// authenticated is what was there.
pub fn remac_all(conn: &Connection, keys: &Keys) -> rusqlite::Result<()> {
    let rows: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT seq, hash FROM events ORDER BY seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare_cached("UPDATE events SET mac = ?2 WHERE seq = ?1")?;
    for (seq, hash) in rows {
        update.execute(params![seq, &keys.event_mac(seq, &hash)[..]])?;
    }
    if let Some(h) = head(conn)? {
        put_head(conn, keys, h.seq, &h.hash)?;
    }
    Ok(())
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
    let mut sql = String::from(
        "SELECT seq, at, event, account, totp_id, detail, actor, state FROM events WHERE 1",
    );
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
/// detail, actor, state`.
fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        account: r.get(3)?,
        totp_id: r.get(4)?,
        detail: r.get(5)?,
        actor: r.get(6)?,
        state: r.get(7)?,
    })
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// The first event that does not check out (or the seq where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// Recomputes the whole chain and, given the keys, checks every event's MAC and the
/// head's. Returns the number of events and the head, or the first problem.
pub fn check_chain(
    conn: &Connection,
    keys: Option<&Keys>,
) -> rusqlite::Result<Result<(u64, Option<Head>), ChainProblem>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac \
         FROM events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = vec![0u8; 32];
    let mut expected_seq = 1i64;
    let mut count = 0u64;
    let mut seen_v2 = false;
    while let Some(r) = rows.next()? {
        let e = event_from_row(r)?;
        let stored: Vec<u8> = r.get(8)?;
        let mac: Option<Vec<u8>> = r.get(9)?;
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
        // Once events carry actors, an event without one was rewritten in the old
        // form to dodge the new fields.
        if e.actor.is_some() {
            seen_v2 = true;
        } else if seen_v2 {
            return Ok(Err(ChainProblem {
                seq: e.seq,
                reason: format!("event #{} lost its actor: it was rewritten", e.seq),
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
        if let Some(keys) = keys
            && !integrity::matches(mac.as_deref(), &keys.event_mac(e.seq, &hash))
        {
            return Ok(Err(ChainProblem {
                seq: e.seq,
                reason: format!(
                    "event #{} does not carry this store's MAC: it was written without the key",
                    e.seq
                ),
            }));
        }
        prev = stored;
        expected_seq += 1;
        count += 1;
    }
    let head = head(conn)?;
    let last = expected_seq - 1;
    if let (Some(keys), Some(h)) = (keys, &head)
        && !head_is_authentic(Some(h), keys)
    {
        return Ok(Err(ChainProblem {
            seq: h.seq.max(1),
            reason: "the log head does not carry this store's MAC: it was written without the key"
                .into(),
        }));
    }
    match &head {
        None if count == 0 => Ok(Ok((0, None))),
        None => Ok(Err(ChainProblem {
            seq: last,
            reason: "the log head is missing".into(),
        })),
        Some(h) if h.seq > last => Ok(Err(ChainProblem {
            seq: last + 1,
            reason: format!(
                "events #{} to #{} were deleted from the end",
                last + 1,
                h.seq
            ),
        })),
        Some(h) if h.seq != last || h.hash != prev => Ok(Err(ChainProblem {
            seq: last,
            reason: format!("the log head does not match event #{last}"),
        })),
        Some(_) => Ok(Ok((count, head))),
    }
}

/// The chain hash recorded for event `seq`, for `log --check --head`.
pub fn hash_at(conn: &Connection, seq: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT hash FROM events WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()
}

/// The newest event of each enrollment named in the log whose row is gone, unless
/// that event is its removal: rows deleted behind totpctl's back.
pub fn vanished_enrollments(conn: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    conn.prepare(
        "SELECT e.seq, e.totp_id FROM events e \
         WHERE e.totp_id IS NOT NULL \
           AND e.seq = (SELECT max(x.seq) FROM events x WHERE x.totp_id = e.totp_id) \
           AND e.event <> 'removed' \
           AND NOT EXISTS (SELECT 1 FROM totps t WHERE t.id = e.totp_id) \
         ORDER BY e.seq",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}
