//! PostgreSQL: connecting (the session's options in the startup packet, TLS, the
//! password), and what a server's errors mean to a command.

use anyhow::Result;
use postgres::Client;

use super::url::{Host, PgUrl, SslMode};
use crate::base::error::store_err;

/// The session's settings, given in the startup packet so that they take precedence
/// over anything the role or the database sets (`ALTER ROLE … SET`):
/// - `search_path`: pg_catalog first, then only the session's own temporary schema
///   (which is never searched for functions or operators), so that no function,
///   operator or type the role can create is ever resolved in place of a built-in;
///   totpctl's tables are always named with their schema;
/// - `synchronous_commit`: an accepted code's record is on disk before the command
///   says so, whatever the role's default;
/// - `row_security` off: a table a policy applies to is an error, never filtered rows;
/// - `transform_null_equals` off, as every statement is written for;
/// - the waits: every lock wait bounded, and every statement of a command that is not
///   a bulk one.
pub(super) fn session_options(access: &crate::store::access::Access) -> String {
    let wait = access.wait().as_millis().max(1);
    let statement = if access.bulk { 0 } else { wait };
    format!(
        "-c search_path=pg_catalog,pg_temp -c synchronous_commit=on -c row_security=off \
         -c transform_null_equals=off -c lock_timeout={wait} -c statement_timeout={statement} \
         -c idle_in_transaction_session_timeout={}",
        wait.max(60_000)
    )
}

/// Connects with the URI's settings: TLS through rustls as `sslmode` says, the
/// password from the URI, `PGPASSWORD` or `.pgpass`, and `connect_timeout` (no longer
/// than the command's wait), and the session's settings ([`session_options`]).
pub(super) fn connect(url: &PgUrl, access: &crate::store::access::Access) -> Result<Client> {
    let mut config = postgres::Config::new();
    config.options(&session_options(access));
    match &url.host {
        Host::Tcp(h) => config.host(h),
        Host::Socket(dir) => config.host_path(dir),
    };
    config
        .port(url.port)
        .user(&url.user)
        .dbname(&url.dbname)
        .application_name(&url.application_name)
        .connect_timeout(match access.wait {
            Some(wait) => url.connect_timeout.min(wait),
            None => url.connect_timeout,
        })
        .keepalives(true)
        .ssl_mode(match url.sslmode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
    if let Some(p) = url.password() {
        config.password(p);
    }
    let tls = super::tls::connector(url)?;
    config.connect(tls).map_err(|e| connect_err(url, e))
}

pub(super) fn connect_err(url: &PgUrl, e: postgres::Error) -> anyhow::Error {
    store_err(format!(
        "cannot connect to PostgreSQL at {}: {}",
        url.redacted(),
        describe(&e)
    ))
}

/// One line about a PostgreSQL error: the server's message, or the client's and its
/// cause. Neither ever holds the password.
pub(super) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

/// A failure that the whole transaction may be retried after.
#[derive(Debug)]
pub struct Retryable(pub String);

impl std::fmt::Display for Retryable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Retryable {}

pub(super) fn pg_err(url: &PgUrl, e: postgres::Error) -> anyhow::Error {
    pg_err_waiting(url, e, "an answer from the server")
}

/// Like [`pg_err`], naming what the statement waited for when a timeout ended it.
pub(super) fn pg_err_waiting(url: &PgUrl, e: postgres::Error, waited: &str) -> anyhow::Error {
    use postgres::error::SqlState;
    let message = format!("store {}: {}", url.redacted(), describe(&e));
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return anyhow::Error::new(Retryable(message.clone())).context(message);
        }
        // lock_timeout, statement_timeout and idle_in_transaction_session_timeout: a
        // wait ran out. Running the command again would only wait again.
        if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
            return store_err(format!(
                "store {}: gave up waiting for {waited} (--timeout): another session holds \
                 it, or the server is overloaded; nothing was changed",
                url.redacted()
            ));
        }
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return store_err(format!(
            "lost the connection to PostgreSQL at {}: {}",
            url.redacted(),
            describe(&e)
        ));
    }
    store_err(message)
}
