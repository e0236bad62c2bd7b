//! `totpctl serve`: the operations over HTTPS, a third front end beside the command
//! line and PAM. One process holds the store's key (loaded once) and its engine
//! sessions; applications and hosts ask it with scoped API tokens.
//!
//! The layers, each doing one thing:
//! - `listen.rs`: connections (TLS, the header and handshake timeouts, the
//!   connection limit, the graceful stop);
//! - `api.rs`: the routes, each a thin handler that reads the request, calls one
//!   operation through [`App::call`] and writes the view or the error
//!   (`errors.rs`); `stream.rs` for the lists;
//! - `auth.rs`: the caller (token, address, claims) and the rate limit;
//! - `pool.rs`: the engine sessions, off the async threads, and the verify batches;
//! - `metrics.rs`, `openapi.rs`, `log.rs`: what the server tells about itself.
//!
//! No SQL, no crypto and no rule of 2FA here: the operations (`crate::ops`) hold them.

pub mod api;
mod auth;
mod errors;
mod listen;
mod log;
mod metrics;
pub mod openapi;
mod pool;
mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use governor::DefaultKeyedRateLimiter;

pub use self::log::note;

use self::auth::Caller;
use self::errors::ApiError;
use self::metrics::Metrics;
use self::pool::Pool;
use crate::base::error::invalid;
use crate::domain::actor::Actor;
use crate::domain::tokens::Scope;
use crate::ops::{Context, Grant, Local};
use crate::store::{Access, Location};

/// How to serve.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The certificate chain and the private key, PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub allow_plain_http: bool,
    /// Requests per second per token; 0: no limit.
    pub rate_limit: u32,
    pub max_body: usize,
    /// How long a client has for a TLS handshake, a request's headers, its body.
    pub client_timeout: Duration,
    pub max_connections: usize,
    pub workers: usize,
    /// How long a request may wait for the store.
    pub deadline: Duration,
}

/// What every request shares.
pub struct App {
    pool: Pool,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    rate_limit: u32,
    metrics: Metrics,
    /// This process, as the events it writes name it (with each caller's token,
    /// address and claims added).
    actor: Actor,
    max_body: usize,
    deadline: Duration,
    client_timeout: Duration,
    /// Refused tokens per client address.
    failed_auth: auth::FailedAuth,
}

impl App {
    /// Runs `f` for `caller` on a worker's store, once its token is checked (in the
    /// store, under the key) and allows `scope`. The events `f` writes name the token
    /// and the client. Gives what `f` returned and the token's name.
    pub async fn call<T: Send + 'static>(
        &self,
        caller: Caller,
        scope: Scope,
        f: impl FnOnce(&mut Local, &Context, &Grant) -> Result<T> + Send + 'static,
    ) -> Result<(T, String), ApiError> {
        let Caller { token, actor } = caller;
        self.pool
            .run(self.deadline, move |l| {
                let cx = Context {
                    now: Utc::now(),
                    actor,
                    interactive: false,
                    store_arg: None,
                };
                let grant = l.authorize(&cx, &token, scope)?;
                let cx = Context {
                    actor: Actor {
                        token: Some(grant.token.clone()),
                        ..cx.actor
                    },
                    ..cx
                };
                f(l, &cx, &grant).map(|v| (v, grant.token))
            })
            .await
            .map_err(ApiError::from)
    }
}

/// Serves until SIGTERM or SIGINT. `ready` is told the address once the server
/// listens (the port, when 0 was asked for).
pub fn run(
    config: Config,
    location: Location,
    access: Access,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<()> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(listen::tls_acceptor(cert, key)?),
        None if !config.listen.ip().is_loopback() && !config.allow_plain_http => {
            return Err(invalid(format!(
                "refusing plain HTTP on {}, which is not a loopback address: tokens would cross \
                 the network in the clear; give --tls-cert and --tls-key (or \
                 --allow-plain-http behind a TLS proxy on this host)",
                config.listen
            )));
        }
        None => None,
    };
    let metrics = Metrics::new();
    let pool = Pool::start(&location, &access, config.workers, &metrics)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers.clamp(2, 8))
        .thread_name("totpctl-http")
        .enable_all()
        .build()
        .context("cannot start the server's threads")?;
    let app = Arc::new(App {
        pool,
        limiter: auth::limiter(config.rate_limit),
        rate_limit: config.rate_limit,
        metrics,
        actor: Actor::current(),
        max_body: config.max_body,
        deadline: config.deadline,
        client_timeout: config.client_timeout,
        failed_auth: auth::FailedAuth::default(),
    });
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| invalid(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr()?;
        ready(addr, tls.is_some());
        // The rate limiter forgets tokens it has not seen lately.
        let pruning = app.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if let Some(l) = &pruning.limiter {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
                pruning.failed_auth.prune();
            }
        });
        listen::serve(
            listener,
            tls,
            api::router(app.clone()),
            &config,
            shutdown_signal(),
        )
        .await
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    // Every connection is closed: the workers finish what they were given.
    if let Ok(app) = Arc::try_unwrap(app) {
        app.pool.shutdown();
    }
    served
}

/// SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    log::note("stopping: finishing the requests in flight");
}
