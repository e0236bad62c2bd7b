//! Verifies asked of `serve`, several in one write session with one durable commit
//! (group commit): each is checked, decided and recorded in turn, exactly as alone
//! (the second of two requests with the same code sees the first's step recorded,
//! and is a replay), and none is answered before the commit that records it.
//!
//! If anything goes wrong that is not an answer (a store error, a row that does not
//! check out), the whole session is let go, nothing of it committed, and each verify
//! is run again in a session of its own, so that one bad request costs the others
//! nothing but time.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::open::Local;
use super::tokens::authorize_in;
use super::verify::verify_in;
use crate::domain::actor::Actor;
use crate::domain::tokens::Scope;
use crate::ops::context::Context;
use crate::ops::requests::{Verified, VerifyRequest};
use crate::ops::tokens::Grant;

/// One verify asked of `serve`.
pub struct BatchVerify {
    /// Who asks, as the server saw them: its user and host, the client's address
    /// and what the client claims (the token's name is added once it is checked).
    pub actor: Actor,
    /// The token presented.
    pub token: String,
    pub req: VerifyRequest,
}

/// Runs `items`, all at `now`, and answers each, in order.
pub fn verify_batch(
    l: &Local,
    now: DateTime<Utc>,
    items: &[BatchVerify],
) -> Vec<Result<(Grant, Verified)>> {
    match run(l, now, items) {
        Ok(answers) => answers,
        Err(e) if items.len() == 1 => vec![Err(e)],
        // The store may be what failed (a connection lost): the singles open it
        // afresh.
        Err(_) => {
            l.forget();
            items
                .iter()
                .map(|item| {
                    run(l, now, std::slice::from_ref(item))
                        .and_then(|mut a| a.pop().expect("one answer per verify"))
                })
                .collect()
        }
    }
}

fn run(
    l: &Local,
    now: DateTime<Utc>,
    items: &[BatchVerify],
) -> Result<Vec<Result<(Grant, Verified)>>> {
    let Some(first) = items.first() else {
        return Ok(Vec::new());
    };
    let cx = |actor: Actor| Context {
        now,
        actor,
        interactive: false,
        store_arg: None,
    };
    let mut store = l.existing_store()?;
    let mut s = l.session(&cx(first.actor.clone()), &mut store, false)?;
    let mut touched = false;
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        let asking = cx(item.actor.clone());
        // Another time or window is an admin's: refused, like any scope a token
        // lacks, before its use is noted.
        let needed = if item.req.at.is_some() || item.req.window.is_some() {
            Scope::Admin
        } else {
            Scope::Verify
        };
        let (grant, t) = match authorize_in(&mut s, &asking, &item.token, needed)? {
            Ok(granted) => granted,
            Err(refused) => {
                answers.push(Err(refused));
                continue;
            }
        };
        touched |= t;
        let cx = cx(Actor {
            token: Some(grant.token.clone()),
            ..item.actor.clone()
        });
        s.next_request(&cx.actor);
        let req = for_grant(&item.req, &grant);
        let answer = verify_in(&mut s, &cx, &req)?;
        answers.push(answer.map(|v| (grant, v)));
    }
    if s.has_appended() || touched {
        s.commit()?;
    }
    Ok(answers)
}

/// What a token's scopes change in a verify: only a token that may read learns
/// that an account is not enrolled (the others get a wrong code's answer), and
/// only an admin token is shown the backup codes a first accepted code makes.
fn for_grant(req: &VerifyRequest, grant: &Grant) -> VerifyRequest {
    VerifyRequest {
        account: req.account.clone(),
        code: req.code.clone(),
        at: req.at,
        window: req.window,
        pam: req.pam.clone(),
        fresh_backup_codes: grant.allows(Scope::Admin),
        hide_unknown: !grant.allows(Scope::Read),
    }
}
