//! The arguments of the server's commands: `token` (its API tokens) and `serve`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Make, list and revoke the API tokens of `totpctl serve`.
///
/// A token is made on the server's host, with the store's key, and printed once: the
/// store keeps only a keyed hash of it, under a MAC, so that nobody who can write the
/// database but lacks the key can mint one, widen one, or bring back a revoked one.
/// No API call manages tokens. Give each client its own (a PAM host a verify token,
/// an admin's laptop a read or admin one), so that each can be revoked alone.
///
/// Scopes: verify checks codes (what a PAM host or a login service holds; its
/// answers never carry backup codes, and an unknown account is answered as a wrong
/// code); read lists, shows, logs and gives info; enroll creates or replaces an
/// unverified enrollment; admin does everything.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl token create bastion-1 --scope verify > /etc/totpctl/verify.token
  totpctl token create laptop --scope read --expires 90d
  totpctl token list
  totpctl token revoke bastion-1")]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token and print it, once (on stdout, alone: redirect it to a file)
    Create(TokenCreateArgs),
    /// List the tokens: names, scopes, creation, last use and expiry, never a token
    List,
    /// Revoke a token: the next request that presents it is refused
    Revoke {
        /// The token's name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A name for the token, unique in the store: who holds it (1 to 64 of
    /// A-Z a-z 0-9 . _ @ -)
    pub name: String,
    /// What the token may do; repeat for several
    #[arg(long = "scope", value_enum, required = true, value_name = "SCOPE")]
    pub scopes: Vec<ScopeArg>,
    /// How long the token lives (90d, 12h, 1y, …) [default: until revoked]
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Check TOTP and backup codes
    Verify,
    /// List, show, log, info
    Read,
    /// Create or replace an unverified enrollment
    Enroll,
    /// Everything
    Admin,
}

/// Serve the store over HTTPS to applications and hosts holding API tokens.
///
/// One process holds the store's key and its database credentials; applications and
/// PAM hosts ask it with scoped tokens (`totpctl token create`) instead of holding
/// them. The API is under /v1 (its OpenAPI document at /v1/openapi.json); its bodies
/// are the documents `--json` prints. GET /healthz answers without a token, and GET
/// /metrics gives Prometheus text.
///
/// TLS comes from --tls-cert and --tls-key. Without them the server speaks plain
/// HTTP, which it refuses on any address but loopback unless --allow-plain-http.
/// Verifies arriving together share one durable commit, each still checked once.
/// On SIGTERM or SIGINT it stops accepting, finishes what is in flight and exits.
/// One line per request goes to stderr: never a code, a secret or a token.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl serve                        # http://127.0.0.1:8443, for a try on this host
  totpctl serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem

A client (a verify token made with `totpctl token create pam-host --scope verify`):
  curl -s -H \"Authorization: Bearer $(cat verify.token)\" -d '{\"code\":\"123456\"}' \\
      https://auth.example.com:8443/v1/users/alice/verify_totp")]
pub struct ServeArgs {
    /// The address and port to listen on
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// The server's certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM), readable by its owner only
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Speak plain HTTP on an address other than loopback (tokens then cross the
    /// network in the clear: only behind a TLS proxy on the same host)
    #[arg(long)]
    pub allow_plain_http: bool,
    /// Requests per second each token may make (0: no limit); more get 429
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub rate_limit: u32,
    /// The largest request body, in bytes; larger ones get 413
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Seconds a client has to send a request's headers, and its body
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub client_timeout: u64,
    /// Connections open at once; more wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Engine sessions (connections to the store) for requests other than verifies,
    /// which have one of their own
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub workers: usize,
}
