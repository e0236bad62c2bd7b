//! PostgreSQL: the audit log: events, the head, and what the checks ask of them.

use anyhow::Result;
use postgres::Row;
use postgres::types::ToSql;

use super::super::engine::{Event, Head};
use super::super::engine::{EventFilter, EventLog, LastEvent, StoredEvent};
use super::connect::pg_err_waiting;
use super::enrollments::*;
use super::tx::*;
use crate::base::error::store_err;

pub(super) const EVENT_COLUMNS: &str =
    "seq, at, event, account, totp_id, detail, actor, state, hash, mac";

pub(super) fn event_from_row(r: &Row) -> Result<Event> {
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

pub(super) fn stored_event_from_row(r: &Row) -> Result<StoredEvent> {
    Ok(StoredEvent {
        event: event_from_row(r)?,
        hash: get(r, 8)?,
        mac: get(r, 9)?,
    })
}

pub(super) fn last_event_from_row(r: &Row) -> Result<LastEvent> {
    Ok(LastEvent {
        stored: stored_event_from_row(r)?,
        prev_hash: get(r, 10)?,
    })
}

impl EventLog for PgTx<'_> {
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
        limit: i64,
        f: &mut dyn FnMut(StoredEvent) -> Result<()>,
    ) -> Result<()> {
        self.flush()?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM ONLY totpctl.events WHERE seq > $1 ORDER BY seq \
             LIMIT $2"
        );
        self.stream(&sql, &[&after, &limit], &mut |r| {
            f(stored_event_from_row(r)?)
        })
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

    fn last_token_change(&mut self) -> Result<Option<LastEvent>> {
        self.flush()?;
        self.opt(
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE event IN ('token_created', 'token_revoked') \
             ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .map(|r| last_event_from_row(&r))
        .transpose()
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

    fn anchors(&mut self) -> Result<crate::domain::integrity::Anchors> {
        self.flush()?;
        let r = self
            .opt(
                "SELECT (SELECT coalesce(max(seq), 0) FROM ONLY totpctl.events \
                         WHERE event = 'config_changed')::bigint, \
                        (SELECT coalesce(max(seq), 0) FROM ONLY totpctl.events \
                         WHERE event = 'restore_accepted')::bigint, \
                        (SELECT coalesce(max(seq), 0) FROM ONLY totpctl.events \
                         WHERE event IN ('token_created', 'token_revoked'))::bigint",
                &[],
            )?
            .ok_or_else(|| store_err("no anchors".into()))?;
        Ok(crate::domain::integrity::Anchors {
            config: get(&r, 0)?,
            restore: get(&r, 1)?,
            tokens: get(&r, 2)?,
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

    fn last_event_of_account(
        &mut self,
        account: &str,
        enrolled: bool,
    ) -> Result<Option<LastEvent>> {
        self.flush()?;
        let sql = if enrolled {
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE account = $1 AND totp_id IS NOT NULL \
             ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq, at, event, account, totp_id, detail, actor, state, hash, mac, \
                    (SELECT p.hash FROM ONLY totpctl.events p WHERE p.seq = e.seq - 1) \
             FROM ONLY totpctl.events e WHERE account = $1 AND totp_id IS NULL \
             ORDER BY seq DESC LIMIT 1"
        };
        self.opt(sql, &[&account])?
            .map(|r| last_event_from_row(&r))
            .transpose()
    }
}
