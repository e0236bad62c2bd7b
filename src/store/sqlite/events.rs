//! SQLite: the audit log: events, the head, and what the checks ask of them.

use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};

use super::super::engine::{Event, Head};
use super::super::engine::{EventFilter, EventLog, LastEvent, StoredEvent};
use super::tx::*;

/// The newest change of the settings, the newest accepted restore and the newest
/// change of the API tokens, each through its partial index (the literals let the
/// planner use them).
macro_rules! anchors_sql {
    () => {
        "(SELECT coalesce(max(seq), 0) FROM events WHERE event = 'config_changed'), \
         (SELECT coalesce(max(seq), 0) FROM events WHERE event = 'restore_accepted'), \
         (SELECT coalesce(max(seq), 0) FROM events \
           WHERE event IN ('token_created', 'token_revoked'))"
    };
}

/// The log's head with the anchors: one statement serves `head` and `anchors`, which a
/// write session both reads. No row when there is no head.
pub(super) const HEAD_AND_ANCHORS: &str = concat!(
    "SELECT seq, hash, mac, ",
    anchors_sql!(),
    " FROM log_head WHERE id = 1"
);

pub(super) const EVENT_COLUMNS: &str =
    "seq, at, event, account, totp_id, detail, actor, state, hash, mac";

/// An event from a row whose first columns are `seq, at, event, account, totp_id,
/// detail, actor, state`.
pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
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

pub(super) fn stored_event_from_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        event: event_from_row(r)?,
        hash: r.get(8)?,
        mac: r.get(9)?,
    })
}

/// The chain hash of the event before `e`, as a column after [`EVENT_COLUMNS`].
pub(super) const PREV_HASH: &str = "(SELECT p.hash FROM events p WHERE p.seq = e.seq - 1)";

pub(super) fn last_event_from_row(r: &Row<'_>) -> rusqlite::Result<LastEvent> {
    Ok(LastEvent {
        stored: stored_event_from_row(r)?,
        prev_hash: r.get(10)?,
    })
}

impl EventLog for SqliteTx<'_> {
    fn lock_log(&mut self) -> Result<()> {
        // `BEGIN IMMEDIATE` holds the database's one write lock already.
        Ok(())
    }

    fn head(&mut self) -> Result<Option<Head>> {
        let r = self.tx.prepare_cached(HEAD_AND_ANCHORS).and_then(|mut s| {
            s.query_row([], |r| {
                Ok(Head {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    mac: r.get(2)?,
                })
            })
            .optional()
        });
        self.ok(r)
    }

    fn put_head(&mut self, seq: i64, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO log_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 mac = excluded.mac",
            params![seq, hash, mac],
        )
        .map(drop)
    }

    fn has_events(&mut self) -> Result<bool> {
        self.flag("SELECT EXISTS (SELECT 1 FROM events)")
    }

    fn insert_event(&mut self, e: &Event, hash: &[u8], mac: &[u8]) -> Result<()> {
        self.exec(
            "INSERT INTO events (seq, at, event, account, totp_id, detail, actor, state, hash, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                e.seq, e.at, e.event, e.account, e.totp_id, e.detail, e.actor, e.state, hash,
                mac
            ],
        )
        .map(drop)
    }

    fn set_event_mac(&mut self, seq: i64, mac: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE events SET mac = ?2 WHERE seq = ?1",
            params![seq, mac],
        )
        .map(drop)
    }

    fn hash_at(&mut self, seq: i64) -> Result<Option<Vec<u8>>> {
        let r = self
            .tx
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional());
        self.ok(r)
    }

    fn last_event_of(&mut self, account: &str, totp_id: &str) -> Result<Option<LastEvent>> {
        // Found through the (account, totp_id) index.
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
             WHERE account = ?1 AND totp_id = ?2 ORDER BY seq DESC LIMIT 1"
        );
        let r = self.tx.prepare_cached(&sql).and_then(|mut s| {
            s.query_row([account, totp_id], last_event_from_row)
                .optional()
        });
        self.ok(r)
    }

    fn for_each_stored_event(
        &mut self,
        after: i64,
        limit: i64,
        f: &mut dyn FnMut(StoredEvent) -> Result<()>,
    ) -> Result<()> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        let mut stmt = self.ok(self.tx.prepare_cached(&sql))?;
        let mut rows = self.ok(stmt.query([after, limit]))?;
        while let Some(r) = rows.next().map_err(|e| sqlite_err(self.path, e))? {
            f(stored_event_from_row(r).map_err(|e| sqlite_err(self.path, e))?)?;
        }
        Ok(())
    }

    fn for_each_event(
        &mut self,
        filter: &EventFilter,
        f: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        let mut sql = String::from(
            "SELECT seq, at, event, account, totp_id, detail, actor, state FROM events WHERE 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(account) = &filter.account {
            // Through the (account, totp_id) index: an enrollment id stands for its
            // account, which every event naming the id carries too.
            let owner = match uuid::Uuid::try_parse(account) {
                Ok(_) => self.account_of(account)?,
                Err(_) => None,
            };
            sql.push_str(" AND account IN (?, ?) AND (account = ? OR totp_id = ?)");
            args.push(account.clone().into());
            args.push(owner.unwrap_or_else(|| account.clone()).into());
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
        let mut stmt = self.ok(self.tx.prepare(&sql))?;
        let mut rows = self.ok(stmt.query(rusqlite::params_from_iter(args)))?;
        while let Some(r) = rows.next().map_err(|e| sqlite_err(self.path, e))? {
            f(event_from_row(r).map_err(|e| sqlite_err(self.path, e))?)?;
        }
        Ok(())
    }

    fn vanished_enrollments(&mut self) -> Result<Vec<(i64, String)>> {
        // One pass over the (account, totp_id) index, which is in group order: every
        // event of an enrollment carries its account (`log --check` has checked the
        // chain that binds them before it asks).
        let r = self
            .tx
            .prepare(
                "SELECT e.seq, e.totp_id \
                 FROM (SELECT max(seq) AS seq FROM events WHERE totp_id IS NOT NULL \
                       GROUP BY account, totp_id) l \
                 JOIN events e ON e.seq = l.seq \
                 WHERE e.event <> 'removed' \
                   AND NOT EXISTS (SELECT 1 FROM totps t WHERE t.id = e.totp_id) \
                 ORDER BY e.seq",
            )
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        self.ok(r)
    }

    fn last_event_named(&mut self, event: &str) -> Result<Option<LastEvent>> {
        // `config_changed` is found through its partial index, which the literal in
        // the statement lets the planner use; any other name (`restore_accepted`, only
        // looked for after a rollback) by a scan.
        let sql = if event == "config_changed" {
            format!(
                "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
                 WHERE event = 'config_changed' AND ?1 = ?1 ORDER BY seq DESC LIMIT 1"
            )
        } else {
            format!(
                "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
                 WHERE event = ?1 ORDER BY seq DESC LIMIT 1"
            )
        };
        let r = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([event], last_event_from_row).optional());
        self.ok(r)
    }

    fn last_token_change(&mut self) -> Result<Option<LastEvent>> {
        // Through its partial index, whose condition the statement repeats.
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
             WHERE event IN ('token_created', 'token_revoked') ORDER BY seq DESC LIMIT 1"
        );
        let r = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([], last_event_from_row).optional());
        self.ok(r)
    }

    fn events_after(&mut self, after: i64) -> Result<u64> {
        let r = self
            .tx
            .prepare_cached("SELECT count(*) FROM events WHERE seq > ?1")
            .and_then(|mut s| s.query_row([after], |r| r.get::<_, i64>(0)));
        self.ok(r).map(|n| n as u64)
    }

    fn anchors(&mut self) -> Result<crate::domain::integrity::Anchors> {
        let anchors = |r: &Row<'_>, at: usize| {
            Ok(crate::domain::integrity::Anchors {
                config: r.get(at)?,
                restore: r.get(at + 1)?,
                tokens: r.get(at + 2)?,
            })
        };
        let with_head = self
            .tx
            .prepare_cached(HEAD_AND_ANCHORS)
            .and_then(|mut s| s.query_row([], |r| anchors(r, 3)).optional());
        // A store with no head yet (or one whose head was deleted): on their own.
        let r = match with_head {
            Ok(None) => self
                .tx
                .prepare_cached(concat!("SELECT ", anchors_sql!()))
                .and_then(|mut s| s.query_row([], |r| anchors(r, 0))),
            other => other.map(|a| a.expect("matched")),
        };
        self.ok(r)
    }

    fn events_through(&mut self, seq: i64) -> Result<u64> {
        let r = self
            .tx
            .prepare_cached("SELECT count(*) FROM events WHERE seq <= ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get::<_, i64>(0)));
        self.ok(r).map(|n| n as u64)
    }

    fn last_event_of_account(
        &mut self,
        account: &str,
        enrolled: bool,
    ) -> Result<Option<LastEvent>> {
        // Through the (account, totp_id) index: every event of the account's.
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, {PREV_HASH} FROM events e \
             WHERE account = ?1 AND totp_id IS {} NULL ORDER BY seq DESC LIMIT 1",
            if enrolled { "NOT" } else { "" }
        );
        let r = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([account], last_event_from_row).optional());
        self.ok(r)
    }
}
