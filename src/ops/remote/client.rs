//! The HTTP side of a remote store: one blocking client (ureq, rustls), the token
//! read from a file only its owner can read, the server's certificate checked
//! against the system's roots or `--ca-file` (never not at all, but for plain HTTP
//! to loopback), and the server's answers turned back into the typed errors the
//! command line reports (`{"error": {"code", "message"}}` to [`Error`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::base::error::{Error, invalid, store_err};
use crate::base::text::sanitize;
use crate::ops::context::Context;

/// Where Debian (and most systems) keep the bundle of trusted roots.
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The most bytes of an answer read (a `list` of a large store is streamed into
/// memory whole: 256 MiB covers a million enrollments).
const MAX_ANSWER: u64 = 256 << 20;

/// How a command reaches `serve`.
pub struct Client {
    agent: ureq::Agent,
    /// `https://host:port`, without a trailing slash.
    pub base: String,
    token: Zeroizing<String>,
    /// What the client says of itself (recorded by the server as claimed).
    claims: Vec<(&'static str, String)>,
}

/// What a remote store needs besides its URL.
pub struct RemoteAccess {
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Under `verify --pam`: nothing from the environment (no proxy, no roots but
    /// `--ca-file`).
    pub pam: bool,
}

/// An answer: its status and its JSON body (Null when it has none).
pub struct Answer {
    pub status: u16,
    pub json: Value,
}

/// Whether `store` names a server (`https://…`, or `http://` to loopback).
pub fn is_remote(store: &str) -> bool {
    store.starts_with("https://") || store.starts_with("http://")
}

impl Client {
    pub fn new(
        url: &str,
        access: &RemoteAccess,
        claims: Vec<(&'static str, String)>,
    ) -> Result<Client> {
        let base = check_url(url)?;
        if access.pam && base.starts_with("http://") {
            // Any local user who can take the port would be the server: get the
            // token and the code, and answer "accepted".
            return Err(invalid(
                "verify --pam needs an https:// server: over plain HTTP, even on this \
                 host, whoever takes the port could answer in the server's place",
            ));
        }
        let token_file = access.token_file.as_deref().ok_or_else(|| {
            invalid(format!(
                "{base} is a totpctl server: give its API token with --token-file FILE{}",
                if access.pam {
                    ""
                } else {
                    " (or TOTPCTL_TOKEN_FILE)"
                }
            ))
        })?;
        let token = read_token(token_file)?;
        let roots = match &access.ca_file {
            Some(f) => read_roots(f, "--ca-file")?,
            None if access.pam => {
                return Err(invalid(
                    "verify --pam with a server needs --ca-file FILE (which may name the \
                     system's bundle, /etc/ssl/certs/ca-certificates.crt): under PAM the \
                     environment must not choose whom to trust",
                ));
            }
            None => system_roots()?,
        };
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .build();
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_global(Some(access.timeout))
            .user_agent(concat!("totpctl/", env!("CARGO_PKG_VERSION")));
        // No redirect is followed (the token would go with it), and no proxy is used
        // under PAM (whose environment is not the admin's) or for plain HTTP on this
        // host (a proxy would carry the token off it in the clear).
        config = config.max_redirects(0);
        if access.pam || base.starts_with("http://") {
            config = config.proxy(None);
        }
        Ok(Client {
            agent: config.build().into(),
            base,
            token,
            claims,
        })
    }

    /// `METHOD PATH?QUERY` with `body` (JSON, or text when `text`).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Answer> {
        let mut uri = format!("{}{path}", self.base);
        for (i, (k, v)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(k);
            uri.push('=');
            uri.push_str(&percent(v));
        }
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("Authorization", format!("Bearer {}", self.token.as_str()));
        for (name, value) in &self.claims {
            // A header carries visible ASCII: anything else (a host name in another
            // script) is marked, not a request that cannot be made.
            let value: String = value
                .chars()
                .take(256)
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            req = req.header(*name, value);
        }
        let (bytes, kind) = body.unwrap_or((Vec::new(), "application/json"));
        let req = req
            .header("Content-Type", kind)
            .body(bytes)
            .map_err(|e| invalid(format!("cannot make the request to {}: {e}", self.base)))?;
        let mut resp = self
            .agent
            .run(req)
            .map_err(|e| unreachable(&self.base, &e))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| unreachable(&self.base, &e))?;
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                store_err(format!(
                    "{} answered something that is not totpctl's JSON (status {status}): is it \
                     a totpctl server?",
                    self.base
                ))
            })?
        };
        Ok(Answer { status, json })
    }

    /// The body of a 200 answer; any other status as the error it carries.
    pub fn ok(&self, answer: Answer, account: Option<&str>, cx: &Context) -> Result<Value> {
        if answer.status == 200 {
            return Ok(answer.json);
        }
        Err(error_of(&self.base, &answer, account, cx))
    }
}

/// `https://host[:port]`, or `http://` to a loopback address; no path, no user.
fn check_url(url: &str) -> Result<String> {
    let parsed: ureq::http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("--store {}: not a URL: {e}", sanitize(url))))?;
    let host = parsed.host().unwrap_or("");
    if host.is_empty() || url.contains('@') {
        return Err(invalid(format!(
            "--store {}: a server is https://HOST[:PORT], with no user in it",
            sanitize(url)
        )));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
        return Err(invalid(format!(
            "--store {}: a server is https://HOST[:PORT], with no path (the API's /v1 is \
             added)",
            sanitize(url)
        )));
    }
    if parsed.scheme_str() == Some("http") {
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(invalid(format!(
                "--store {}: plain HTTP is only for a server on this host (loopback): the \
                 token would cross the network in the clear; use https://",
                sanitize(url)
            )));
        }
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The token, from a file only its owner can read (as the key file).
fn read_token(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = crate::base::files::read_trusted(path, "the token file", true, 4096)
        .map_err(invalid)?
        .ok_or_else(|| invalid(format!("the token file {} does not exist", path.display())))?;
    let bytes = Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| invalid(format!("the token file {} is not text", path.display())))?;
    let token = text.trim();
    if !crate::domain::tokens::looks_like_token(token) {
        return Err(invalid(format!(
            "the token file {} does not hold an API token (one line, totpctl_…, as `totpctl \
             token create` printed it)",
            path.display()
        )));
    }
    Ok(Zeroizing::new(token.to_string()))
}

fn read_roots(path: &Path, what: &str) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = crate::base::files::read_trusted(path, what, false, 8 << 20)
        .map_err(invalid)?
        .ok_or_else(|| invalid(format!("{what} {} does not exist", path.display())))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(invalid(format!(
            "{what} {} holds no certificate (PEM, BEGIN CERTIFICATE)",
            path.display()
        )));
    }
    Ok(certs)
}

fn system_roots() -> Result<Vec<ureq::tls::Certificate<'static>>> {
    for path in SYSTEM_ROOTS {
        if Path::new(path).exists() {
            return read_roots(Path::new(path), "the system's certificate bundle");
        }
    }
    Err(invalid(
        "no system certificate bundle found (apt-get install ca-certificates): give the \
         server's CA with --ca-file FILE",
    ))
}

/// A server that could not be asked (down, slow, not trusted): a store error, as a
/// database that cannot be reached is.
fn unreachable(base: &str, e: &ureq::Error) -> anyhow::Error {
    let why = match e {
        ureq::Error::Timeout(_) => "it did not answer in time (--timeout)".to_string(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => format!(
            "its certificate is not trusted ({e}): give the CA that signed it with --ca-file"
        ),
        ureq::Error::Io(io) => format!("{io}"),
        other => format!("{other}"),
    };
    store_err(format!("cannot reach the totpctl server {base}: {why}"))
}

/// The typed error an answer carries, so that the command line reports it, and
/// exits, as it would on a local store. `account` is the one the request named.
pub fn error_of(base: &str, answer: &Answer, account: Option<&str>, cx: &Context) -> anyhow::Error {
    let e = &answer.json["error"];
    let code = e["code"].as_str().unwrap_or("");
    let message = sanitize(e["message"].as_str().unwrap_or("")).to_string();
    let name = || sanitize(account.unwrap_or("")).to_string();
    let typed = match (answer.status, code) {
        (_, "unauthorized") => Error::Unauthorized(format!(
            "{base} refused the token: {message}; it may be revoked or expired"
        )),
        (_, "forbidden") => Error::Forbidden(message),
        (_, "rate_limited") => Error::RateLimited(message),
        (_, "payload_too_large") => Error::PayloadTooLarge(format!(
            "{message}; the server's admin can raise it (serve --max-body)"
        )),
        (_, "resource_not_found") if account.is_some() && message.starts_with("no TOTP") => {
            Error::NotFound(name())
        }
        (_, "resource_not_found") => Error::Missing(message),
        (_, "user_locked") => Error::Locked {
            account: name(),
            until: e["lockedUntil"].as_str().unwrap_or("").to_string(),
            unlock: cx.account_command("unlock", account.unwrap_or("")),
        },
        (_, "totp_already_enabled") => Error::AlreadyEnabled(name()),
        (_, "backup_codes_not_available") => Error::BackupCodesNotAvailable {
            account: name(),
            verify: cx.account_command("verify", account.unwrap_or("")),
        },
        (_, "log_chain_broken") => Error::LogBroken {
            seq: e["event"].as_i64().unwrap_or(0),
            reason: message
                .split_once(": ")
                .map_or(message.clone(), |(_, r)| r.to_string()),
        },
        (_, "integrity_error") => Error::Integrity(message),
        (_, "key_error") => Error::Key(message),
        (_, "invalid_argument") if e["badLines"].is_u64() => Error::BadLines {
            summary: message,
            input: "the request body".into(),
            total: e["badLines"].as_u64().unwrap_or(0),
            lines: e["lines"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|l| {
                            let text = l["message"].as_str().unwrap_or("");
                            (l["line"].as_u64().unwrap_or(0), sanitize(text).to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        (400 | 405 | 408, _) => Error::InvalidArgument(message),
        (status, _) => Error::Store(if message.is_empty() {
            format!("{base} answered status {status}")
        } else {
            message
        }),
    };
    typed.into()
}

/// Percent-encodes a query value or a path segment.
pub fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
