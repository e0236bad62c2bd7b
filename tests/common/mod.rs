//! The test environment: a temporary store, a command builder for the real binary
//! with a cleared environment, and helpers that compute codes with independent
//! implementations (oathtool).

#![allow(dead_code)]

pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The variables that could change the binary's behaviour, cleared for every test.
const CLEARED_VARS: [&str; 12] = [
    "TOTPCTL_STORE",
    "TOTPCTL_KEY_FILE",
    "TOTPCTL_PASSPHRASE",
    "TOTPCTL_NEW_PASSPHRASE",
    "NO_COLOR",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "RUST_BACKTRACE",
    "COLUMNS",
    "LINES",
];

/// A temporary store and home directory, removed when dropped. Under
/// `TOTPCTL_TEST_ENGINE=postgres` the store is a fresh database on the server that
/// `PGHOST`, `PGPORT`, `PGUSER` and `PGPASSWORD` name (scripts/test.sh starts one
/// with pg_virtualenv), dropped afterwards, and the key file is `TOTPCTL_KEY_FILE`.
pub struct TestEnv {
    pub dir: TempDir,
    /// The store's path, or its `postgresql://` URL.
    pub store: PathBuf,
    /// The database, on PostgreSQL.
    pub database: Option<String>,
}

/// Whether the suite runs on PostgreSQL (`TOTPCTL_TEST_ENGINE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("TOTPCTL_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// For a test about SQLite files only (modes, syscalls, damaged files, bytes on
/// disk): on PostgreSQL it says so and returns true, and the test returns.
pub fn skip_on_postgres(why: &str) -> bool {
    if on_postgres() {
        println!("skipped on postgres: {why}");
        return true;
    }
    false
}

/// Runs `psql` on `database` with `-v ON_ERROR_STOP=1`, the statements in `sql`;
/// returns its unaligned, tuples-only output.
#[track_caller]
pub fn psql(database: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            database,
        ])
        .arg("-c")
        .arg(sql)
        .output()
        .expect("psql is installed (Debian package postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A database name no other test uses.
pub fn fresh_database_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "totpctl_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        uuid_like()
    )
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(db) = &self.database {
            let _ = std::process::Command::new("psql")
                .args(["-X", "-q", "-d", "postgres", "-c"])
                .arg(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .output();
        }
    }
}

/// An enrollment as `enroll --json` printed it.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub id: String,
    pub account: String,
    pub secret: String,
    pub uri: String,
    pub json: Value,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        if on_postgres() {
            let db = fresh_database_name();
            psql("postgres", &format!("CREATE DATABASE {db}"));
            return TestEnv {
                dir,
                store: PathBuf::from(format!("postgresql:///{db}")),
                database: Some(db),
            };
        }
        let store = dir.path().join("store").join("totpctl.db");
        TestEnv {
            dir,
            store,
            database: None,
        }
    }

    /// The key file: beside an SQLite store, `TOTPCTL_KEY_FILE` on PostgreSQL.
    pub fn key_file(&self) -> PathBuf {
        if self.database.is_some() {
            return self.dir.path().join("keys").join("totpctl.key");
        }
        let mut p = self.store.as_os_str().to_owned();
        p.push(".key");
        PathBuf::from(p)
    }

    /// What a host on a server store has in its environment besides the store: the
    /// server's address and password, and the key file. Empty on SQLite.
    pub fn server_env(&self) -> Vec<(String, std::ffi::OsString)> {
        let mut vars = Vec::new();
        if self.database.is_some() {
            for k in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] {
                if let Some(v) = std::env::var_os(k) {
                    vars.push((k.to_string(), v));
                }
            }
            let key = self.key_file();
            let _ = std::fs::create_dir_all(key.parent().unwrap());
            vars.push(("TOTPCTL_KEY_FILE".into(), key.into_os_string()));
        }
        vars
    }

    /// What a PAM line gives `verify --pam`, which reads nothing from the environment:
    /// the store, and on PostgreSQL a URL that names the server in full, the key file
    /// and a password file (made here, 0600).
    pub fn pam_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["--store".into()];
        let Some(db) = &self.database else {
            args.push(self.store.clone().into_os_string());
            return args;
        };
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let encode = |v: &str| -> String {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        args.push(
            format!(
                "postgresql:///{db}?host={}&port={}&user={}",
                encode(&var("PGHOST")),
                encode(&var("PGPORT")),
                encode(&var("PGUSER"))
            )
            .into(),
        );
        let key = self.key_file();
        let _ = std::fs::create_dir_all(key.parent().unwrap());
        args.push("--key".into());
        args.push(key.into_os_string());
        let password = self.dir.path().join("pgpass");
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&password)
                .unwrap();
            use std::io::Write;
            writeln!(
                f,
                "*:*:*:*:{}",
                var("PGPASSWORD").replace('\\', "\\\\").replace(':', "\\:")
            )
            .unwrap();
        }
        args.push("--password-file".into());
        args.push(password.into_os_string());
        args
    }

    /// Whether the store exists: the SQLite file, or totpctl's tables in the database.
    pub fn store_exists(&self) -> bool {
        match &self.database {
            Some(db) => psql(db, "SELECT to_regclass('totpctl.migrations') IS NOT NULL") == "t",
            None => self.store.exists(),
        }
    }

    /// Runs SQL on the store as an attacker or auditor would, through SQLite or
    /// `psql` (with totpctl's schema first on the search path). Returns psql's
    /// output, or SQLite's first column of the first row for a query.
    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        match &self.database {
            Some(db) => psql(db, &format!("SET search_path TO totpctl; {sql}")),
            None => {
                let conn = self.sqlite();
                let trimmed = sql.trim_start().to_ascii_uppercase();
                if trimmed.starts_with("SELECT") {
                    conn.query_row(sql, [], |r| {
                        Ok(match r.get_ref(0)? {
                            rusqlite::types::ValueRef::Null => String::new(),
                            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                            rusqlite::types::ValueRef::Real(f) => f.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                        })
                    })
                    .expect(sql)
                } else {
                    conn.execute_batch(sql).expect(sql);
                    String::new()
                }
            }
        }
    }

    /// Runs SQL on the store as an attacker without the key does, with the real
    /// tools: the `sqlite3` shell on the file, or `psql` on the database. The SQL
    /// for each engine is given apart, since their dialects differ.
    #[track_caller]
    pub fn attack(&self, sqlite: &str, postgres: &str) {
        match &self.database {
            Some(db) => {
                psql(db, postgres);
            }
            None => {
                let out = std::process::Command::new("sqlite3")
                    .arg("-bail")
                    .arg(&self.store)
                    .arg(sqlite)
                    .output()
                    .expect("sqlite3 is installed (Debian package sqlite3)");
                assert!(
                    out.status.success(),
                    "sqlite3 {sqlite}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// `SELECT count(*) …` through [`TestEnv::sql`].
    #[track_caller]
    pub fn count(&self, sql: &str) -> i64 {
        self.sql(sql).trim().parse().expect(sql)
    }

    /// The binary, with the store set and every variable that could change its
    /// behaviour cleared.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as [`TestEnv::cmd`], as a std command that can be spawned without
    /// waiting for it (races, kills); stdin is null, stdout and stderr are piped.
    pub fn std_cmd(&self) -> std::process::Command {
        use std::process::Stdio;
        let bin = assert_cmd::cargo::cargo_bin("totpctl");
        let mut cmd = std::process::Command::new(&bin);
        for var in CLEARED_VARS {
            cmd.env_remove(var);
        }
        // On PATH, as an installed totpctl is: the commands it suggests name it so.
        let mut path = vec![bin.parent().unwrap().to_path_buf()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        cmd.env("PATH", std::env::join_paths(path).unwrap());
        if self.database.is_some() {
            let key = self.key_file();
            let _ = std::fs::create_dir_all(key.parent().unwrap());
            cmd.env("TOTPCTL_KEY_FILE", key);
        }
        cmd.env("HOME", self.dir.path().join("home"))
            .env("TOTPCTL_STORE", &self.store)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `totpctl ARGS` with empty stdin.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd()
            .args(args)
            .write_stdin("")
            .output()
            .expect("run totpctl")
    }

    /// Runs `totpctl --json ARGS`, expects `status`, and parses stdout as one JSON value.
    #[track_caller]
    pub fn json_status(&self, args: &[&str], status: i32) -> Value {
        let out = self
            .cmd()
            .arg("--json")
            .args(args)
            .write_stdin("")
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(status),
            "totpctl --json {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        parse_one_json(&out.stdout)
    }

    /// Runs `totpctl --json ARGS`, expects success.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        self.json_status(args, 0)
    }

    /// Creates the store (and its key) with nothing enrolled, the way a user would:
    /// by importing an empty list.
    #[track_caller]
    pub fn create_store(&self) {
        let out = self
            .cmd()
            .args(["--json", "import", "-"])
            .write_stdin("")
            .output()
            .unwrap();
        assert!(out.status.success(), "import of nothing: {}", stderr(&out));
    }

    /// Sets a setting, making the store first (as an import of nothing does) when
    /// there is none yet: `config` refuses a store that is not there.
    #[track_caller]
    pub fn set(&self, key: &str, value: &str) -> Value {
        if !self.store_exists() {
            self.create_store();
        }
        self.json(&["config", key, value])
    }

    /// Enrolls `account` with extra flags and returns what was printed.
    #[track_caller]
    pub fn enroll_with(&self, account: &str, flags: &[&str]) -> Enrolled {
        let mut args = vec!["enroll", account];
        args.extend_from_slice(flags);
        let json = self.json(&args);
        Enrolled {
            id: json["id"].as_str().expect("id").to_string(),
            account: json["account"].as_str().expect("account").to_string(),
            secret: json["secret"].as_str().expect("secret").to_string(),
            uri: json["uri"].as_str().expect("uri").to_string(),
            json,
        }
    }

    #[track_caller]
    pub fn enroll(&self, account: &str) -> Enrolled {
        self.enroll_with(account, &[])
    }

    /// Enrolls and verifies `account` at `at`; returns the enrollment and the backup
    /// codes printed at verification.
    #[track_caller]
    pub fn enroll_verified(&self, account: &str, at: i64) -> (Enrolled, Vec<String>) {
        let e = self.enroll(account);
        let code = oathtool(&e.secret, at, &[]);
        let v = self.json(&["verify", account, &code, "--at", &at.to_string()]);
        assert_eq!(v["valid"], true, "{v}");
        let codes = v["backupCodes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        (e, codes)
    }

    /// The account names `list --json FILTERS` prints, in its order.
    #[track_caller]
    pub fn accounts(&self, filters: &[&str]) -> Vec<String> {
        let mut args = vec!["list"];
        args.extend_from_slice(filters);
        self.json(&args)
            .as_array()
            .expect("list prints an array")
            .iter()
            .map(|t| t["account"].as_str().expect("account").to_string())
            .collect()
    }

    /// The raw bytes of the store file and its WAL; on PostgreSQL, a `pg_dump` of
    /// the database.
    pub fn store_bytes(&self) -> Vec<u8> {
        if let Some(db) = &self.database {
            let out = std::process::Command::new("pg_dump")
                .args(["-d", db])
                .output()
                .expect("pg_dump is installed (Debian package postgresql-client)");
            assert!(out.status.success(), "pg_dump: {}", stderr(&out));
            // Without the random token of pg_dump's \restrict lines: the same
            // database dumps to the same bytes.
            let text = String::from_utf8_lossy(&out.stdout);
            return text
                .lines()
                .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes();
        }
        let mut bytes = std::fs::read(&self.store).unwrap_or_default();
        let mut wal = self.store.as_os_str().to_owned();
        wal.push("-wal");
        bytes.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
        bytes
    }

    /// Opens the store directly with SQLite, as an attacker or auditor would.
    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.store).expect("open store with sqlite")
    }
}

/// Parses stdout that must be exactly one JSON value (and a newline).
#[track_caller]
pub fn parse_one_json(stdout: &[u8]) -> Value {
    let text = std::str::from_utf8(stdout).expect("utf-8 stdout");
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = values
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout: {text:?}"))
        .unwrap_or_else(|e| panic!("bad JSON on stdout ({e}): {text:?}"));
    assert!(
        values.next().is_none(),
        "more than one JSON value: {text:?}"
    );
    first
}

/// The TOTP code of `secret` (base32) at unix time `at`, computed by oathtool with
/// `extra` flags (`--totp=sha256`, `--digits=8`, `--time-step-size=60s`).
#[track_caller]
pub fn oathtool(secret: &str, at: i64, extra: &[&str]) -> String {
    // `extra` may choose the algorithm with --totp=sha256; oathtool takes --totp once.
    let totp = if extra.iter().any(|a| a.starts_with("--totp")) {
        None
    } else {
        Some("--totp")
    };
    let out = std::process::Command::new("oathtool")
        .args(totp)
        .arg("-b")
        .args(extra)
        .arg(format!("--now=@{at}"))
        .arg(secret)
        .output()
        .expect("oathtool is installed (Debian package oathtool)");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A fixed moment, the start of a 30-second step, so tests never straddle a step.
pub const T0: i64 = 1_764_158_400;

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `path` exists.
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Asserts a refusal: exit 2 and one line on stderr, `totpctl: …`, that names the
/// problem (`what`) and the fix (`fix`), without a panic.
#[track_caller]
pub fn assert_refused(out: &Output, what: &str, fix: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2\nstdout: {}\nstderr: {err}",
        stdout(out)
    );
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.starts_with("totpctl: "), "{err:?}");
    assert!(!err.contains("panicked"), "{err:?}");
    assert!(err.contains(what), "stderr should say {what:?}: {err:?}");
    assert!(err.contains(fix), "stderr should suggest {fix:?}: {err:?}");
}
