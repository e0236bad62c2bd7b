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

use anyhow::Result;
use sha2::{Digest, Sha256};

use super::engine::{Event, Head, LastEvent, StoredEvent, Tx};
use crate::domain::actor::Actor;
use crate::domain::integrity::{self, Anchors, Keys, Tag};

/// The chain hash of an event, given the hash of the one before it.
pub(crate) fn event_hash(prev: &[u8], e: &Event) -> Tag {
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

fn put_head(tx: &mut dyn Tx, keys: &Keys, seq: i64, hash: &[u8], anchors: Anchors) -> Result<()> {
    let mac = keys.head_mac(seq, hash, anchors);
    tx.put_head(seq, hash, &mac)
}

/// Whether the head row (if any) carries a valid MAC for these anchors (or the MAC a
/// version before anchors gave it).
pub fn head_is_authentic(head: Option<&Head>, keys: &Keys, anchors: Anchors) -> bool {
    match head {
        None => true,
        Some(h) => {
            integrity::matches(h.mac.as_deref(), &keys.head_mac(h.seq, &h.hash, anchors))
                || integrity::matches(h.mac.as_deref(), &keys.head_mac_v2(h.seq, &h.hash))
        }
    }
}

/// Updates `anchors` for an event appended or read after them.
fn anchor(anchors: &mut Anchors, event: &str, seq: i64) {
    match event {
        "config_changed" => anchors.config = anchors.config.max(seq),
        "restore_accepted" => anchors.restore = anchors.restore.max(seq),
        "token_created" | "token_revoked" => anchors.tokens = anchors.tokens.max(seq),
        _ => {}
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
    /// The seq and chain hash of the head the session started from.
    start: i64,
    start_hash: Vec<u8>,
    /// The chain hash of each event appended, in order, for the read-back.
    appended: Vec<Vec<u8>>,
    /// The events the head answers for, as the session leaves them.
    anchors: Anchors,
}

impl Appender {
    /// Starts from the head of the chain, which must be authentic: events are never
    /// chained onto a head someone else wrote. The caller holds the write transaction;
    /// the log is locked first, so that no other writer appends after this head.
    pub fn new(
        tx: &mut dyn Tx,
        keys: &Keys,
        actor: &Actor,
        at: &str,
    ) -> Result<Result<Appender, String>> {
        tx.lock_log()?;
        let head = tx.head()?;
        let anchors = tx.anchors()?;
        if !head_is_authentic(head.as_ref(), keys, anchors) {
            return Ok(Err(
                "the audit log's head does not carry this store's MAC, or an event it \
                 answers for (the newest change of the settings or restore) was hidden"
                    .into(),
            ));
        }
        if head.is_none() && tx.has_events()? {
            return Ok(Err("the audit log's head is missing".into()));
        }
        // The event the head names must be there, as the head says it is.
        if let Some(h) = &head
            && tx.hash_at(h.seq)?.as_deref() != Some(h.hash.as_slice())
        {
            return Ok(Err(format!(
                "the audit log's head names event #{}, which is not there as it was",
                h.seq
            )));
        }
        let (seq, prev) = head.map_or((0, vec![0; 32]), |h| (h.seq, h.hash));
        Ok(Ok(Appender {
            seq,
            start_hash: prev.clone(),
            prev,
            pending: false,
            actor: actor.to_json(),
            at: at.to_string(),
            start: seq,
            appended: Vec::new(),
            anchors,
        }))
    }

    /// Names another actor for the events appended from now on (`serve` runs several
    /// clients' requests in one session).
    pub fn set_actor(&mut self, actor: &Actor) {
        self.actor = actor.to_json();
    }

    /// The events the head answers for, as this session leaves them.
    pub fn anchors(&self) -> Anchors {
        self.anchors
    }

    /// The head: the newest event's seq and hash (seq 0 and zeros on an empty log).
    pub fn head(&self) -> (i64, &[u8]) {
        (self.seq, &self.prev)
    }

    /// The seq and chain hash of the head the session started from, and the hash of
    /// every event appended since, in order.
    pub fn appended(&self) -> (i64, &[u8], &[Vec<u8>]) {
        (self.start, &self.start_hash, &self.appended)
    }

    /// Appends one event.
    pub fn append(&mut self, tx: &mut dyn Tx, keys: &Keys, e: &NewEvent<'_>) -> Result<()> {
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
        tx.insert_event(&event, &hash, &mac)?;
        anchor(&mut self.anchors, e.event, event.seq);
        self.seq = event.seq;
        self.prev.clear();
        self.prev.extend_from_slice(&hash);
        self.pending = true;
        self.appended.push(hash.to_vec());
        Ok(())
    }

    /// Writes the head row for the events appended.
    pub fn finish(&mut self, tx: &mut dyn Tx, keys: &Keys) -> Result<()> {
        if self.pending {
            put_head(tx, keys, self.seq, &self.prev, self.anchors)?;
            self.pending = false;
        }
        Ok(())
    }
}

/// An event that checked out, with its chain hash.
pub type Checked = (Event, Vec<u8>);

/// The newest event of an enrollment, if its MAC and hash check out: `Ok(None)` if it
/// has none, `Err` naming the event if it does not check out.
pub fn last_event_of(
    tx: &mut dyn Tx,
    keys: &Keys,
    account: &str,
    totp_id: &str,
) -> Result<Result<Option<Checked>, i64>> {
    Ok(checked(keys, tx.last_event_of(account, totp_id)?))
}

/// The newest event of this name, checked as [`last_event_of`] checks an enrollment's.
pub fn last_event_named(
    tx: &mut dyn Tx,
    keys: &Keys,
    event: &str,
) -> Result<Result<Option<Checked>, i64>> {
    Ok(checked(keys, tx.last_event_named(event)?))
}

/// The newest change of the API tokens, checked as [`last_event_named`] checks one.
pub fn last_token_change(tx: &mut dyn Tx, keys: &Keys) -> Result<Result<Option<Checked>, i64>> {
    Ok(checked(keys, tx.last_token_change()?))
}

/// The newest event about any enrollment of `account`, checked as [`last_event_of`]
/// checks an enrollment's.
pub fn last_event_of_account(
    tx: &mut dyn Tx,
    keys: &Keys,
    account: &str,
    enrolled: bool,
) -> Result<Result<Option<Checked>, i64>> {
    Ok(checked(keys, tx.last_event_of_account(account, enrolled)?))
}

/// Checks one stored event: its hash, recomputed over its fields and the stored hash
/// of the event before it, and its MAC.
fn checked(keys: &Keys, last: Option<LastEvent>) -> Result<Option<Checked>, i64> {
    let Some(LastEvent {
        stored: StoredEvent { event, hash, mac },
        prev_hash,
    }) = last
    else {
        return Ok(None);
    };
    let prev: Vec<u8> = if event.seq == 1 {
        vec![0; 32]
    } else {
        match prev_hash {
            Some(prev) => prev,
            None => return Err(event.seq),
        }
    };
    let recomputed = event_hash(&prev, &event);
    if recomputed[..] != hash[..]
        || !integrity::matches(mac.as_deref(), &keys.event_mac(event.seq, &hash))
    {
        return Err(event.seq);
    }
    Ok(Some((event, hash)))
}

/// Renews the MAC of every event and of the head under `keys`: after a rekey, or when a
/// store is first authenticated. The caller has checked the chain first, so what is
/// authenticated is what was there.
pub fn remac_all(tx: &mut dyn Tx, keys: &Keys) -> Result<()> {
    let mut rows: Vec<(i64, Vec<u8>)> = Vec::new();
    tx.for_each_stored_event(0, i64::MAX, &mut |e| {
        rows.push((e.event.seq, e.hash));
        Ok(())
    })?;
    for (seq, hash) in rows {
        tx.set_event_mac(seq, &keys.event_mac(seq, &hash))?;
    }
    if let Some(h) = tx.head()? {
        let anchors = tx.anchors()?;
        put_head(tx, keys, h.seq, &h.hash, anchors)?;
    }
    Ok(())
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// The first event that does not check out (or the seq where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// Where a check of the chain starts: after the event `seq` whose chain hash is
/// `hash`, already checked (`log --check` from where it last stopped).
pub struct From<'a> {
    pub seq: i64,
    pub hash: &'a [u8],
}

/// Recomputes the whole chain and, given the keys, checks every event's MAC and the
/// head's. Returns the number of events and the head, or the first problem.
pub fn check_chain(
    tx: &mut dyn Tx,
    keys: Option<&Keys>,
) -> Result<Result<(u64, Option<Head>), ChainProblem>> {
    check_chain_from(tx, keys, None, &mut |_| {})
}

/// Like [`check_chain`], from `from` on (the events up to it were checked before, and
/// are still all there: the caller counted them), calling `seen` with each event
/// checked. The count is of the events checked.
pub fn check_chain_from(
    tx: &mut dyn Tx,
    keys: Option<&Keys>,
    from: Option<From<'_>>,
    seen: &mut dyn FnMut(&Event),
) -> Result<Result<(u64, Option<Head>), ChainProblem>> {
    let (mut prev, mut expected_seq, mut seen_v2) = match &from {
        Some(f) => (f.hash.to_vec(), f.seq + 1, true),
        None => (vec![0u8; 32], 1i64, false),
    };
    let mut count = 0u64;
    let mut problem: Option<ChainProblem> = None;
    // The events the head answers for: from the events walked (a scan of the table,
    // whatever its indexes say), on top of the older ones for an incremental check.
    let mut anchors = match (&from, keys) {
        (Some(_), Some(_)) => tx.anchors()?,
        _ => Anchors::default(),
    };
    tx.for_each_stored_event(expected_seq - 1, i64::MAX, &mut |stored_event| {
        if problem.is_some() {
            return Ok(());
        }
        let StoredEvent {
            event: e,
            hash: stored,
            mac,
        } = stored_event;
        if e.seq != expected_seq {
            let reason = if e.seq > expected_seq {
                format!("events #{expected_seq} to #{} are missing", e.seq - 1)
            } else {
                format!("event #{} is out of order", e.seq)
            };
            problem = Some(ChainProblem {
                seq: expected_seq,
                reason,
            });
            return Ok(());
        }
        // Once events carry actors, an event without one was rewritten in the old
        // form to dodge the new fields.
        if e.actor.is_some() {
            seen_v2 = true;
        } else if seen_v2 {
            problem = Some(ChainProblem {
                seq: e.seq,
                reason: format!("event #{} lost its actor: it was rewritten", e.seq),
            });
            return Ok(());
        }
        let hash = event_hash(&prev, &e);
        if hash[..] != stored[..] {
            problem = Some(ChainProblem {
                seq: e.seq,
                reason: format!(
                    "event #{} does not match its hash: it, or the one before it, was altered",
                    e.seq
                ),
            });
            return Ok(());
        }
        if let Some(keys) = keys
            && !integrity::matches(mac.as_deref(), &keys.event_mac(e.seq, &hash))
        {
            problem = Some(ChainProblem {
                seq: e.seq,
                reason: format!(
                    "event #{} does not carry this store's MAC: it was written without the key",
                    e.seq
                ),
            });
            return Ok(());
        }
        seen(&e);
        anchor(&mut anchors, &e.event, e.seq);
        prev = stored;
        expected_seq += 1;
        count += 1;
        Ok(())
    })?;
    if let Some(p) = problem {
        return Ok(Err(p));
    }
    let head = tx.head()?;
    let last = expected_seq - 1;
    if let (Some(keys), Some(h)) = (keys, &head)
        && !head_is_authentic(Some(h), keys, anchors)
    {
        return Ok(Err(ChainProblem {
            seq: h.seq.max(1),
            reason: "the log head does not carry this store's MAC for the events it answers \
                     for: it was written without the key, or the newest change of the \
                     settings or restore was hidden"
                .into(),
        }));
    }
    match &head {
        None if last == 0 => Ok(Ok((0, None))),
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
