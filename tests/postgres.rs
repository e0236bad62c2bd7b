//! PostgreSQL beyond the shared suite: many processes and hosts on one server,
//! killed clients, a dump searched for secrets, issue 7's attacks made with psql,
//! `copy` in every direction, and the password kept out of every output.
//! Runs under `TOTPCTL_TEST_ENGINE=postgres` (scripts/test.sh); skipped otherwise.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn needs_postgres() -> bool {
    if !on_postgres() {
        println!("skipped: needs a server (TOTPCTL_TEST_ENGINE=postgres, see scripts/test.sh)");
        return false;
    }
    true
}

/// A URL of `env`'s database with the password in it, over TCP.
fn url_with_password(env: &TestEnv, extra: &str) -> (String, String) {
    let password = std::env::var("PGPASSWORD").expect("PGPASSWORD");
    let host = std::env::var("PGHOST").unwrap_or_else(|_| "localhost".into());
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
    let db = env.database.as_ref().unwrap();
    (
        format!("postgresql://{user}:{password}@{host}:{port}/{db}{extra}"),
        password,
    )
}

#[test]
fn sixty_four_processes_racing_one_code_exactly_one_wins() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    // 63 replays must not lock the account before all of them have run.
    env.set("lockout-attempts", "0");
    let secret = env.enroll_verified("bob", T0).0.secret;
    let at = (T0 + 60).to_string();
    let code = oathtool(&secret, T0 + 60, &[]);
    let children: Vec<_> = (0..64)
        .map(|_| {
            env.std_cmd()
                .args(["--json", "verify", "bob", &code, "--at", &at])
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut won = 0;
    let mut replayed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => won += 1,
            Some(1) => {
                let v = parse_one_json(&out.stdout);
                assert_eq!(v["reason"], "totp_replayed_code", "{v}");
                replayed += 1;
            }
            other => panic!("{other:?}: {} {}", stdout(&out), stderr(&out)),
        }
    }
    assert_eq!((won, replayed), (1, 63));
    env.json(&["log", "--check"]);
}

#[test]
fn sixteen_parallel_wrong_codes_count_sixteen() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    env.set("lockout-attempts", "100");
    env.enroll_verified("alice", T0);
    let at = (T0 + 90).to_string();
    let children: Vec<_> = (0..16)
        .map(|_| {
            env.std_cmd()
                .args(["verify", "alice", "000000", "--at", &at])
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        assert_eq!(c.wait_with_output().unwrap().status.code(), Some(1));
    }
    assert_eq!(env.json(&["show", "alice"])["failedAttempts"], 16);
    env.json(&["log", "--check"]);
}

#[test]
fn two_hosts_with_their_own_homes_and_a_copied_key_file_share_one_store() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    let alice = env.enroll("alice");
    // Host B: its own HOME and its own copy of the key file.
    let b_home = env.dir.path().join("host-b");
    std::fs::create_dir_all(&b_home).unwrap();
    let b_key = b_home.join("totpctl.key");
    std::fs::copy(env.key_file(), &b_key).unwrap();
    let host_b = |args: &[&str]| {
        let mut c = env.std_cmd();
        c.env("HOME", &b_home).env("TOTPCTL_KEY_FILE", &b_key);
        c.args(args).output().unwrap()
    };
    let code = oathtool(&alice.secret, T0, &[]);
    let out = host_b(&["verify", "alice", &code, "--at", &T0.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Host A sees it, and the same code is a replay on A.
    assert_eq!(env.json(&["show", "alice"])["verified"], true);
    let again = env.run(&["verify", "alice", &code, "--at", &T0.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    // A host without the key file is told what to set.
    let mut c = env.std_cmd();
    c.env("HOME", &b_home).env_remove("TOTPCTL_KEY_FILE");
    let out = c.args(["verify", "alice", "123456"]).output().unwrap();
    assert_refused(&out, "TOTPCTL_KEY_FILE", "TOTPCTL_PASSPHRASE");
    let out = host_b(&["log", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_killed_import_of_20000_lines_leaves_nothing_partial() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    env.create_store();
    let file = env.dir.path().join("import.txt");
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "otpauth://totp/Acme:user{i}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let db = env.database.clone().unwrap();
    let mut child = env
        .std_cmd()
        .args(["import", file.to_str().unwrap()])
        .spawn()
        .unwrap();
    // Kill it while its transaction is open and writing.
    let start = Instant::now();
    loop {
        let active = psql(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'totpctl' \
             AND state = 'idle in transaction' OR (application_name = 'totpctl' \
             AND state = 'active')",
        );
        if active != "0" || start.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    // The server notices the closed connection and rolls back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while psql(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'totpctl'",
    ) != "0"
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let imported = env.count("SELECT count(*) FROM totps WHERE issuer = 'Acme'");
    assert!(
        imported == 0 || imported == 20_000,
        "{imported} of 20000 imported"
    );
    env.json(&["log", "--check"]);
}

#[test]
fn a_dump_of_the_database_holds_no_secret_and_no_backup_code() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    let (alice, codes) = env.enroll_verified("alice", T0);
    assert!(!codes.is_empty());
    let out = std::process::Command::new("pg_dump")
        .args(["-d", env.database.as_ref().unwrap()])
        .output()
        .expect("pg_dump");
    assert!(out.status.success(), "{}", stderr(&out));
    let dump = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(dump.contains("totpctl.totps"), "the dump has the tables");
    let raw = data_encoding::BASE32_NOPAD
        .decode(alice.secret.as_bytes())
        .unwrap();
    let hex = data_encoding::HEXLOWER.encode(&raw);
    assert!(
        !dump.contains(&alice.secret.to_lowercase()),
        "base32 secret"
    );
    assert!(!dump.contains(&hex), "raw secret bytes");
    for code in &codes {
        assert!(!dump.contains(code), "backup code {code}");
        assert!(!dump.contains(&code.replace('-', "")), "backup code {code}");
    }
}

/// Issue 7's attacks, made with psql: each is refused and accepts nothing.
#[test]
fn rows_edited_with_psql_open_nothing() {
    if !needs_postgres() {
        return;
    }
    let at = |t: i64| t.to_string();
    let refused = |env: &TestEnv, args: &[&str]| {
        let out = env.cmd().arg("--json").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let v = parse_one_json(&out.stdout);
        let code = v["error"]["code"].as_str().unwrap().to_string();
        assert!(
            code == "integrity_error" || code == "store_error" || code == "key_error",
            "{v}"
        );
    };

    // Row swap: b's row carries a's sealed secret.
    let env = TestEnv::new();
    let a = env.enroll("a");
    env.enroll("b");
    env.sql("UPDATE totps SET secret = (SELECT secret FROM totps WHERE account = 'a') WHERE account = 'b'");
    refused(
        &env,
        &[
            "verify",
            "b",
            &oathtool(&a.secret, T0, &[]),
            "--at",
            &at(T0),
        ],
    );

    // One digit: a code space of ten.
    let env = TestEnv::new();
    env.enroll_verified("a", T0);
    env.sql("UPDATE totps SET digits = 1");
    refused(&env, &["verify", "a", "1", "--at", &at(T0 + 60)]);

    // The replay watermark cleared after a code was accepted.
    let env = TestEnv::new();
    let (a, _) = env.enroll_verified("a", T0);
    env.sql("UPDATE totps SET last_step = NULL");
    refused(
        &env,
        &[
            "verify",
            "a",
            &oathtool(&a.secret, T0, &[]),
            "--at",
            &at(T0),
        ],
    );

    // A used backup code made live again.
    let env = TestEnv::new();
    let (_, codes) = env.enroll_verified("a", T0);
    env.json(&["verify", "a", &codes[0], "--at", &at(T0 + 60)]);
    env.sql("UPDATE backup_codes SET used_at = NULL");
    refused(&env, &["verify", "a", &codes[0], "--at", &at(T0 + 120)]);

    // A setting forged: lockout off.
    let env = TestEnv::new();
    env.enroll_verified("a", T0);
    env.sql("INSERT INTO config (key, value) VALUES ('lockout-attempts', '0') ON CONFLICT (key) DO UPDATE SET value = '0'");
    refused(&env, &["verify", "a", "000000", "--at", &at(T0 + 60)]);

    // The key record deleted.
    let env = TestEnv::new();
    env.enroll_verified("a", T0);
    env.sql("DELETE FROM vault");
    refused(&env, &["verify", "a", "000000", "--at", &at(T0 + 60)]);
    refused(&env, &["enroll", "c"]);
}

fn copy_and_check(from: &TestEnv, dest: &str, key: &Path) -> Vec<serde_json::Value> {
    let out = from.cmd().args(["--json", "copy", dest]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let mut c = from.std_cmd();
    c.env("TOTPCTL_STORE", dest).env("TOTPCTL_KEY_FILE", key);
    let out = c.args(["--json", "log", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let mut c = from.std_cmd();
    c.env("TOTPCTL_STORE", dest).env("TOTPCTL_KEY_FILE", key);
    let out = c.args(["--json", "log"]).output().unwrap();
    parse_one_json(&out.stdout).as_array().unwrap().clone()
}

#[test]
fn copy_in_every_direction_keeps_every_event_and_checks_out() {
    if !needs_postgres() {
        return;
    }
    // Start on PostgreSQL with some history.
    let pg = TestEnv::new();
    let (a, codes) = pg.enroll_verified("alice", T0);
    pg.enroll("bob");
    pg.json(&["verify", "alice", &codes[0], "--at", &(T0 + 30).to_string()]);
    pg.run(&["verify", "bob", "000000"]);
    let source_events = pg.json(&["log"]).as_array().unwrap().len();
    let key = pg.key_file();

    // PostgreSQL → SQLite.
    let snap = pg.dir.path().join("snapshot.db");
    let events = copy_and_check(&pg, snap.to_str().unwrap(), &key);
    assert_eq!(events.len(), source_events + 1);
    assert_eq!(events.last().unwrap()["event"], "copied");

    // SQLite → SQLite, with the key file TOTPCTL_KEY_FILE names for both.
    let snap2 = pg.dir.path().join("snapshot2.db");
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &snap).env("TOTPCTL_KEY_FILE", &key);
    let out = c.args(["copy", snap2.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &snap2).env("TOTPCTL_KEY_FILE", &key);
    let out = c.args(["log", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // SQLite → PostgreSQL.
    let db = fresh_database_name();
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let dest = format!("postgresql:///{db}");
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &snap).env("TOTPCTL_KEY_FILE", &key);
    let out = c.args(["copy", &dest]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &dest);
    let out = c.args(["--json", "log", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // The copy verifies, and knows the code already used.
    let code = oathtool(&a.secret, T0 + 300, &[]);
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &dest);
    let out = c
        .args(["verify", "alice", &code, "--at", &(T0 + 300).to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = pg.std_cmd();
    c.env("TOTPCTL_STORE", &dest);
    let out = c
        .args([
            "verify",
            "alice",
            &codes[0],
            "--at",
            &(T0 + 330).to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a used backup code stays used");

    // A DEST that holds a store is refused, and left as it was.
    let out = pg.run(&["copy", &dest]);
    assert_refused(
        &out,
        "already holds a totpctl store",
        "database without totpctl data",
    );
    let out = pg.run(&["copy", snap.to_str().unwrap()]);
    assert_refused(&out, "already exists", "new path");
    psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
}

#[test]
fn the_password_never_appears_in_any_output() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    let (url, password) = url_with_password(&env, "?sslmode=require");
    let with = |args: &[&str], store: &str| {
        let mut c = env.std_cmd();
        c.env("TOTPCTL_STORE", store);
        let out = c.args(args).output().unwrap();
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains(&password),
            "{args:?} printed the password: {all}"
        );
        out
    };
    let e = with(&["--json", "enroll", "alice"], &url);
    assert_eq!(e.status.code(), Some(0), "{}", stdout(&e));
    with(&["list"], &url);
    with(&["log"], &url);
    with(&["--help"], &url);
    with(&["verify", "--help"], &url);
    with(&["verify", "alice", "000000"], &url);
    let copy = env.dir.path().join("copy.db");
    with(&["copy", copy.to_str().unwrap()], &url);
    let bad = url.replace(&password, &format!("{password}x"));
    let out = with(&["--json", "list"], &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stdout(&out).contains(&format!("{password}x")));
    // Nor in the store itself: the log names the URL without it.
    let dump = psql(
        env.database.as_ref().unwrap(),
        "SELECT string_agg(detail || coalesce(actor, ''), ' ') FROM totpctl.events",
    );
    assert!(!dump.contains(&password));
}

#[test]
fn a_server_that_is_not_there_is_a_store_error_within_connect_timeout() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    for store in [
        "postgresql://localhost:1/nothing?connect_timeout=2".to_string(),
        "postgresql://no-such-host.invalid/nothing?connect_timeout=2".to_string(),
        // A routable address that drops packets: the timeout decides.
        "postgresql://10.255.255.1:5432/nothing?connect_timeout=2".to_string(),
    ] {
        let start = Instant::now();
        let mut c = env.std_cmd();
        c.env("TOTPCTL_STORE", &store);
        let out = c.args(["--json", "list"]).output().unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{store}: too slow"
        );
        let v = parse_one_json(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{store}: {v}");
        assert_eq!(v["error"]["code"], "store_error", "{v}");
    }
    // A database without totpctl's tables is no store yet.
    let e = env.json_status(&["list"], 2);
    assert_eq!(e["error"]["code"], "store_not_found", "{e}");
    let _ = Stdio::null();
}

#[test]
fn racing_first_runs_migrate_once_and_a_newer_schema_is_refused_untouched() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    let children: Vec<_> = (0..16)
        .map(|i| {
            env.std_cmd()
                .args(["--json", "enroll", &format!("user{i}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }
    let db = env.database.as_ref().unwrap();
    assert_eq!(psql(db, "SELECT count(*) FROM totpctl.migrations"), "3");
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 16);
    env.json(&["log", "--check"]);
    // A newer totpctl's schema: refused, and left as it is.
    psql(db, "INSERT INTO totpctl.migrations (version) VALUES (99)");
    let e = env.json_status(&["list"], 2);
    assert_eq!(e["error"]["code"], "store_error", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("newer totpctl"),
        "{e}"
    );
    assert_eq!(
        psql(db, "SELECT max(version) FROM totpctl.migrations"),
        "99"
    );
    assert_eq!(psql(db, "SELECT count(*) FROM totpctl.totps"), "16");
}

#[test]
fn the_password_comes_from_pgpass_when_no_url_or_variable_gives_it() {
    if !needs_postgres() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.create_store();
    let password = std::env::var("PGPASSWORD").unwrap();
    let home = env.dir.path().join("pgpass-home");
    std::fs::create_dir_all(&home).unwrap();
    let pgpass = home.join(".pgpass");
    // Escaped colons and a wildcard, as libpq reads them.
    std::fs::write(
        &pgpass,
        format!(
            "# a comment\nother:1:*:*:wrong\n*:*:*:*:{}\n",
            password.replace(':', "\\:")
        ),
    )
    .unwrap();
    let run = |mode: u32| {
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut c = env.std_cmd();
        c.env_remove("PGPASSWORD").env("HOME", &home);
        c.env(
            "TOTPCTL_STORE",
            format!("{}?sslmode=disable", env.store.display()),
        );
        c.args(["--json", "list"]).output().unwrap()
    };
    let out = run(0o600);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A .pgpass others can read is ignored, as libpq ignores it.
    let out = run(0o644);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(!stdout(&out).contains(&password));
}

/// The README's set-up: a role that owns totpctl's schema makes and migrates the
/// store, and the hosts' role reads and writes its rows but can change none of its
/// definitions. Everything works as the hosts' role, and that role cannot add the
/// trigger an attacker with its password would want.
#[test]
fn a_hosts_role_without_ddl_rights_runs_every_command() {
    if !needs_postgres() {
        return;
    }
    let env = TestEnv::new();
    let db = env.database.clone().unwrap();
    let suffix = db.trim_start_matches("totpctl_test_");
    let (owner, hosts) = (format!("own_{suffix}"), format!("run_{suffix}"));
    psql(
        "postgres",
        &format!(
            "CREATE ROLE {owner} LOGIN PASSWORD 'owner-pw'; \
             CREATE ROLE {hosts} LOGIN PASSWORD 'hosts-pw'; \
             GRANT CREATE, CONNECT ON DATABASE {db} TO {owner}; \
             GRANT CONNECT ON DATABASE {db} TO {hosts};"
        ),
    );
    let host = std::env::var("PGHOST").unwrap_or_else(|_| "localhost".into());
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let url = |role: &str| format!("postgresql://{role}@{host}:{port}/{db}");
    let as_role = |role: &str, password: &str, args: &[&str]| {
        env.cmd()
            .env("PGPASSWORD", password)
            .env("PGUSER", role)
            .args(["--json", "--store", &url(role)])
            .args(args)
            .write_stdin("")
            .output()
            .unwrap()
    };
    let out = as_role(&owner, "owner-pw", &["enroll", "alice", "--qr", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alice = parse_one_json(&out.stdout);
    psql(
        &db,
        &format!(
            "GRANT USAGE ON SCHEMA totpctl TO {hosts}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA totpctl TO {hosts}; \
             REVOKE INSERT, UPDATE, DELETE ON totpctl.migrations FROM {hosts};"
        ),
    );
    let secret = alice["secret"].as_str().unwrap();
    let code = oathtool(secret, T0, &[]);
    let t = T0.to_string();
    for args in [
        &["verify", "alice", &code, "--at", &t][..],
        &["enroll", "bob", "--qr", "never"],
        &["list"],
        &["log", "--check"],
        &["config", "lockout-attempts", "5"],
        &["unlock", "alice"],
        &["remove", "bob", "--yes"],
    ] {
        let out = as_role(&hosts, "hosts-pw", args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stdout(&out));
    }
    // The hosts' password cannot change how the store behaves.
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &db,
            "-U",
            &hosts,
            "-c",
        ])
        .arg(
            "CREATE FUNCTION totpctl.f() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RETURN OLD; END $$",
        )
        .env("PGPASSWORD", "hosts-pw")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the hosts' role could create in the schema"
    );
    drop(env);
    psql(
        "postgres",
        &format!("DROP ROLE IF EXISTS {owner}; DROP ROLE IF EXISTS {hosts};"),
    );
}
