//! Who is calling: the bearer token (checked against the store by the operation
//! itself, in its session), the address the connection came from, and what the
//! client says of itself. The per-token rate limit is applied here, before any
//! work: a token over its rate gets 429 at once.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::App;
use super::errors::ApiError;
use crate::base::error::Error;
use crate::domain::actor::{Actor, Claimed};

/// The address a connection came from, put on each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A request's caller, before its token is checked.
pub struct Caller {
    /// The token presented (`Authorization: Bearer …`).
    pub token: String,
    /// The server's own actor, with the client's address and claims.
    pub actor: Actor,
}

/// The headers a client may name itself with, recorded as claimed.
pub const CLAIM_HEADERS: [(&str, &str); 4] = [
    ("x-totpctl-client-user", "user"),
    ("x-totpctl-client-host", "host"),
    ("x-totpctl-client-service", "service"),
    ("x-totpctl-client-rhost", "rhost"),
];

/// The longest claim kept.
const MAX_CLAIM: usize = 256;

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Caller, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::from(Error::Unauthorized(
                "this needs an API token: send `Authorization: Bearer TOKEN` (made with \
                 `totpctl token create` on the server's host)"
                    .into(),
            ))
        })?;
        if let Some(limiter) = &app.limiter
            && let Err(not_until) = limiter.check_key(&token)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut e = ApiError::from(Error::RateLimited(format!(
                "this token made more than {} requests a second: try again in {} ms",
                app.rate_limit,
                wait.as_millis().max(1)
            )));
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
        }
        let address = parts
            .extensions
            .get::<Peer>()
            .map(|p| p.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut claimed = Claimed::default();
        for (header, field) in CLAIM_HEADERS {
            let value = parts
                .headers
                .get(header)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(MAX_CLAIM).collect::<String>())
                .filter(|v| !v.is_empty());
            match field {
                "user" => claimed.user = value,
                "host" => claimed.host = value,
                "service" => claimed.service = value,
                _ => claimed.rhost = value,
            }
        }
        Ok(Caller {
            token: token.clone(),
            actor: app.actor.via_api("", &address, claimed),
        })
    }
}

/// The token of `Authorization: Bearer TOKEN`; at most 256 bytes are looked at.
fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 256)
        .then(|| token.to_string())
}

/// The per-token rate limiter: `per_second` requests a second, in bursts of as many.
pub fn limiter(per_second: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_second).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_second(n)))
}

/// Requests refused for their token (401), counted per client address: an address
/// that makes more than [`FAILED_PER_SECOND`] in a second gets 429 for the rest of
/// that second and the next, before any work. Guessing or flooding with made-up
/// tokens is then bounded, though each made-up token would have a rate limit of its
/// own.
#[derive(Default)]
pub struct FailedAuth {
    /// Address → (the second counted, failures in it, blocked until that second).
    seen: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (i64, u32, i64)>>,
}

/// Failed authentications an address may make in one second.
pub const FAILED_PER_SECOND: u32 = 20;

impl FailedAuth {
    fn second() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// Whether `ip` is refused now.
    pub fn blocked(&self, ip: std::net::IpAddr) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&ip)
            .is_some_and(|(_, _, until)| *until >= Self::second())
    }

    /// Counts a refused token from `ip`.
    pub fn record(&self, ip: std::net::IpAddr) {
        let now = Self::second();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(ip).or_insert((now, 0, 0));
        if entry.0 != now {
            *entry = (now, 0, entry.2);
        }
        entry.1 += 1;
        if entry.1 > FAILED_PER_SECOND {
            entry.2 = now + 1;
        }
    }

    /// Forgets addresses not seen lately.
    pub fn prune(&self) {
        let now = Self::second();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, (second, _, until)| *second >= now - 60 || *until >= now);
    }
}
