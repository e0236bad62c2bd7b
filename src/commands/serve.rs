//! `serve`: the HTTPS front end (`crate::server`), started from the command line.
//! The store and its key are opened once here, before anything listens, so that a
//! wrong key or a missing store is said at once, on the terminal, and the
//! passphrase of a passphrase store is asked for then (or read from
//! TOTPCTL_PASSPHRASE) and held.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::output::Output;
use crate::base::error::{Exit, invalid};
use crate::cli::ServeArgs;
use crate::domain::actor::Actor;
use crate::ops::{Context, Local};
use crate::server::{self, Config};
use crate::store::{Access, Location};
use crate::vault::HeldKey;

/// How long a request may wait for the store unless --timeout says otherwise.
const DEFAULT_WAIT: Duration = Duration::from_secs(5);

pub fn run(
    args: &ServeArgs,
    location: Location,
    mut access: Access,
    out: &Output,
    interactive: bool,
) -> Result<Exit> {
    if args.workers == 0 || args.workers > 256 {
        return Err(invalid("--workers must be 1 to 256"));
    }
    if args.client_timeout == 0 || args.client_timeout > 3600 {
        return Err(invalid("--client-timeout must be 1 to 3600 seconds"));
    }
    if args.max_body < 1024 {
        return Err(invalid("--max-body must be at least 1024 bytes"));
    }
    let wait = access.wait.unwrap_or(DEFAULT_WAIT);
    access.wait = Some(wait);
    access.held = Some(Arc::new(HeldKey::new()));
    // The key, loaded once: every engine session of the server takes it from here.
    Local::new(location.clone(), access.clone()).open_with_key(&Context {
        now: chrono::Utc::now(),
        actor: Actor::current(),
        interactive,
        store_arg: None,
    })?;
    let config = Config {
        listen: args.listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        allow_plain_http: args.allow_plain_http,
        rate_limit: args.rate_limit,
        max_body: args.max_body,
        client_timeout: Duration::from_secs(args.client_timeout),
        max_connections: args.max_connections.max(1),
        workers: args.workers,
        deadline: wait + Duration::from_secs(5),
    };
    let label = location.label();
    server::run(config, location, access, |addr, tls| {
        let scheme = if tls { "https" } else { "http" };
        let note = format!(
            "serving {} on {scheme}://{addr} (the API at {scheme}://{addr}/v1/openapi.json); \
             SIGTERM or Ctrl-C stops it",
            label.display()
        );
        if out.json {
            let _ = out.json(&serde_json::json!({ "listening": format!("{scheme}://{addr}") }));
        }
        server::note(&note);
    })?;
    Ok(Exit::Success)
}
