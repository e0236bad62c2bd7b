//! A PostgreSQL connection URI in libpq's syntax, with libpq's environment
//! fallbacks (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
//! `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`, `PGAPPNAME`, `PGPASSFILE` and `~/.pgpass`).
//!
//! The password never leaves this module except into the connection: the URL is
//! shown everywhere as [`PgUrl::redacted`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use crate::base::error::invalid;

/// How TLS is used, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode> {
        Ok(match text {
            "disable" => SslMode::Disable,
            // libpq's `allow` tries plain first; totpctl prefers TLS all the same.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(invalid(format!(
                    "sslmode '{}' is not one of disable, prefer, require, verify-ca, verify-full",
                    crate::base::text::printable(other)
                )));
            }
        })
    }
}

/// Where the server is.
#[derive(Debug, Clone)]
pub enum Host {
    Tcp(String),
    /// A directory holding the server's Unix socket.
    Socket(PathBuf),
}

/// A parsed connection URI, with the environment's defaults filled in.
#[derive(Clone)]
pub struct PgUrl {
    /// The URI as given, without its password.
    redacted: String,
    pub host: Host,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    password: Option<Zeroizing<String>>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub application_name: String,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Whether `--store` names a PostgreSQL server rather than an SQLite file.
pub fn is_url(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Renders a connection URI without its password: the one place a URL is turned
/// into text for people. The password is left out, not masked, so that a command
/// line suggested with the URL pastes as is on a host that has `PGPASSWORD` or
/// `~/.pgpass`. Anything that does not parse is cut to its scheme.
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(None);
            }
            // libpq also takes a password as a query parameter.
            if u.query_pairs().any(|(k, _)| k == "password") {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .filter(|(k, _)| k != "password")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                if pairs.is_empty() {
                    u.set_query(None);
                } else {
                    u.query_pairs_mut().clear().extend_pairs(pairs);
                }
            }
            u.to_string()
        }
        Err(_) => format!("{}://…", text.split("://").next().unwrap_or("postgresql")),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

impl PgUrl {
    /// Parses a `postgres://` or `postgresql://` URI. `access` may name a password
    /// file and a CA file; under `verify --pam` nothing comes from the environment
    /// or the home directory.
    pub fn parse(text: &str, access: &crate::store::access::Access) -> Result<PgUrl> {
        let env = |name: &str| if access.pam { None } else { env(name) };
        let redacted = redact(text);
        let u = url::Url::parse(text).map_err(|e| {
            invalid(format!(
                "{redacted} is not a connection URI ({e}): write \
                 postgresql://USER@HOST:PORT/DBNAME?sslmode=verify-full"
            ))
        })?;
        let mut host = u.host_str().filter(|h| !h.is_empty()).map(decode);
        let mut port = u.port();
        let mut user = Some(decode(u.username())).filter(|s| !s.is_empty());
        let mut password = u.password().map(|p| Zeroizing::new(decode(p)));
        let mut dbname = Some(decode(u.path().trim_start_matches('/'))).filter(|s| !s.is_empty());
        let mut sslmode = None;
        let mut sslrootcert = None;
        let mut connect_timeout = None;
        let mut application_name = None;
        for (key, value) in u.query_pairs() {
            let value = value.into_owned();
            match &*key {
                "host" => host = Some(value),
                "port" => port = Some(parse_port(&value)?),
                "user" => user = Some(value),
                "password" => password = Some(Zeroizing::new(value)),
                "dbname" => dbname = Some(value),
                "sslmode" => sslmode = Some(SslMode::parse(&value)?),
                "sslrootcert" => sslrootcert = Some(PathBuf::from(value)),
                "connect_timeout" => connect_timeout = Some(parse_timeout(&value)?),
                "application_name" => application_name = Some(value),
                other => {
                    return Err(invalid(format!(
                        "{redacted}: unknown parameter '{}'; totpctl takes sslmode, sslrootcert, \
                         connect_timeout, application_name, host, port, user, dbname",
                        crate::base::text::printable(other)
                    )));
                }
            }
        }
        let host = host
            .or_else(|| env("PGHOST"))
            .unwrap_or_else(|| "/var/run/postgresql".into());
        let host = if host.starts_with('/') {
            Host::Socket(PathBuf::from(host))
        } else {
            Host::Tcp(host)
        };
        let port = match port {
            Some(p) => p,
            None => match env("PGPORT") {
                Some(p) => parse_port(&p)?,
                None => 5432,
            },
        };
        let user = user
            .or_else(|| env("PGUSER"))
            .unwrap_or_else(|| crate::domain::actor::Actor::current().user);
        let dbname = dbname
            .or_else(|| env("PGDATABASE"))
            .unwrap_or_else(|| user.clone());
        let sslmode = match sslmode {
            Some(m) => m,
            None => match env("PGSSLMODE") {
                Some(m) => SslMode::parse(&m)?,
                None => SslMode::Prefer,
            },
        };
        let sslrootcert = access
            .ca_file
            .clone()
            .or(sslrootcert)
            .or_else(|| env("PGSSLROOTCERT").map(PathBuf::from));
        // A CA named on the command line is there to be checked against: the server's
        // name too, unless the URL asked for less.
        let sslmode = match (sslmode, &access.ca_file) {
            (SslMode::Prefer, Some(_)) => SslMode::VerifyFull,
            (m, _) => m,
        };
        // libpq: `require` with a root certificate verifies the chain, as verify-ca.
        let sslmode = match (sslmode, &sslrootcert) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (m, _) => m,
        };
        let connect_timeout = match connect_timeout {
            Some(t) => t,
            None => match env("PGCONNECT_TIMEOUT") {
                Some(t) => parse_timeout(&t)?,
                None => Duration::from_secs(10),
            },
        };
        let application_name = application_name
            .or_else(|| env("PGAPPNAME"))
            .unwrap_or_else(|| "totpctl".into());
        let mut url = PgUrl {
            redacted,
            host,
            port,
            user,
            dbname,
            password,
            sslmode,
            sslrootcert,
            connect_timeout,
            application_name,
        };
        if url.password.is_none() {
            url.password = match &access.password_file {
                Some(file) => Some(url.password_in_file(file)?),
                None if access.pam => None,
                None => match env("PGPASSWORD") {
                    Some(p) => Some(Zeroizing::new(p)),
                    None => url.pgpass()?,
                },
            };
        }
        Ok(url)
    }

    /// The store's place as a host's records name it: the server and database,
    /// without user, password or parameters.
    pub fn place(&self) -> String {
        let host = match &self.host {
            Host::Tcp(h) => h.clone(),
            Host::Socket(dir) => dir.display().to_string(),
        };
        format!("postgresql://{host}:{}/{}", self.port, self.dbname)
    }

    /// The password for this URL from a password file named on the command line:
    /// `.pgpass` lines, the file checked as the key file is (a regular file of this
    /// user or root, readable by no one else, in directories no one else can write).
    fn password_in_file(&self, file: &Path) -> Result<Zeroizing<String>> {
        let bytes = crate::base::files::read_trusted(file, "password file", true, 64 * 1024)
            .map_err(crate::base::error::key_error)?
            .ok_or_else(|| {
                crate::base::error::key_error(format!(
                    "password file {} does not exist",
                    file.display()
                ))
            })?;
        let text = Zeroizing::new(String::from_utf8(bytes).map_err(|_| {
            crate::base::error::key_error(format!("password file {} is not text", file.display()))
        })?);
        self.match_pgpass(&text).ok_or_else(|| {
            crate::base::error::key_error(format!(
                "password file {} has no line for {}:{}:{}:{} (HOST:PORT:DATABASE:USER:PASSWORD, \
                 * for any)",
                file.display(),
                self.host_text(),
                self.port,
                self.dbname,
                self.user
            ))
        })
    }

    /// The URI as people see it: without the password.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref().map(String::as_str)
    }

    fn host_text(&self) -> String {
        match &self.host {
            Host::Tcp(h) => h.clone(),
            // libpq matches a socket connection as "localhost" in .pgpass.
            Host::Socket(_) => "localhost".into(),
        }
    }

    /// The password from `PGPASSFILE` or `~/.pgpass`, as libpq finds it: the first
    /// line whose host, port, database and user match (`*` matches anything), and only
    /// from a file no one else can read.
    fn pgpass(&self) -> Result<Option<Zeroizing<String>>> {
        let Some(path) = env("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".pgpass")))
        else {
            return Ok(None);
        };
        let Some(text) = read_private(&path)? else {
            return Ok(None);
        };
        Ok(self.match_pgpass(&Zeroizing::new(text)))
    }

    /// The password of the first `.pgpass` line whose host, port, database and user
    /// match this URL (`*` matches anything).
    fn match_pgpass(&self, text: &str) -> Option<Zeroizing<String>> {
        let wanted = [
            self.host_text(),
            self.port.to_string(),
            self.dbname.clone(),
            self.user.clone(),
        ];
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields = split_pgpass(line);
            if fields.len() != 5 {
                continue;
            }
            if fields[..4]
                .iter()
                .zip(&wanted)
                .all(|(f, w)| f.as_str() == "*" || f == w)
            {
                return Some(Zeroizing::new(fields[4].clone()));
            }
        }
        None
    }
}

/// Reads a file that only its owner may read (as libpq requires of .pgpass). One that
/// others can read is an error that says so, not silently skipped: the password it
/// holds may be known, and "password missing" would hide why.
fn read_private(path: &Path) -> Result<Option<String>> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_file() {
        return Ok(None);
    }
    if mode & 0o077 != 0 {
        return Err(crate::base::error::key_error(format!(
            "password file {} can be read by others (mode {mode:o}), so libpq and totpctl \
             ignore it: run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(std::fs::read_to_string(path).ok())
}

/// Splits a .pgpass line on unescaped colons, unescaping `\:` and `\\`.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

fn parse_port(text: &str) -> Result<u16> {
    text.parse().map_err(|_| {
        invalid(format!(
            "port '{}' is not a number",
            crate::base::text::printable(text)
        ))
    })
}

fn parse_timeout(text: &str) -> Result<Duration> {
    let secs: u64 = text.parse().map_err(|_| {
        invalid(format!(
            "connect_timeout '{}' is not a number of seconds",
            crate::base::text::printable(text)
        ))
    })?;
    // libpq: 0 means wait forever; at least 2 seconds otherwise.
    Ok(match secs {
        0 => Duration::from_secs(3600),
        s => Duration::from_secs(s.max(2)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password() {
        let r = redact("postgresql://app:s3cr%40t@db.example:5433/totp?sslmode=require");
        assert!(!r.contains("s3cr"), "{r}");
        assert!(
            r.contains("//app@db.example:5433/totp?sslmode=require"),
            "{r}"
        );
        let r = redact("postgres://db/x?password=hunter2");
        assert!(!r.contains("hunter2"), "{r}");
    }

    #[test]
    fn parses_libpq_uris() {
        let u = PgUrl::parse(
            "postgresql://app:pw@db.example:5433/totp?sslmode=verify-full&connect_timeout=3\
             &application_name=bastion",
            &crate::store::access::Access::default(),
        )
        .unwrap();
        assert_eq!(u.port, 5433);
        assert_eq!(u.user, "app");
        assert_eq!(u.dbname, "totp");
        assert_eq!(u.password(), Some("pw"));
        assert_eq!(u.sslmode, SslMode::VerifyFull);
        assert_eq!(u.connect_timeout, Duration::from_secs(3));
        assert_eq!(u.application_name, "bastion");
        assert!(PgUrl::parse("postgresql://h/d?sslmode=bogus", &Default::default()).is_err());
    }

    #[test]
    fn splits_pgpass_lines() {
        assert_eq!(
            split_pgpass(r"h:5432:*:u:p\:w"),
            vec!["h", "5432", "*", "u", "p:w"]
        );
    }
}
