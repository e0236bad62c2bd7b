//! PostgreSQL never hangs (issue 17): a session elsewhere holding the log's advisory
//! lock, an enrollment's row or a table must not stall every login. verify has one
//! deadline (`--timeout`, connecting and retries included) and ends in `store_error`
//! naming what it waited for; other commands bound every lock wait; PAM fails closed
//! within the deadline. The sessions holding the locks are real `psql` processes.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{T0, TestEnv, oathtool, on_postgres, stderr};

/// The advisory lock every write takes before it appends to the log.
const LOG_LOCK: i64 = 0x544F_5450_0000_0001;

/// A psql session that runs `sql` and then sleeps, holding what it took, until it is
/// ended (or a minute passes).
struct Holder {
    child: Child,
    db: String,
}

impl Holder {
    fn start(db: &str, sql: &str) -> Holder {
        let child = Command::new("psql")
            .args(["-X", "-q", "-d", db, "-c"])
            .arg(format!("BEGIN; {sql}; SELECT pg_sleep(60); COMMIT;"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql");
        // Until the lock is held: the session shows as waiting in pg_sleep.
        for _ in 0..100 {
            let busy = common::psql(
                db,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' \
                 AND wait_event = 'PgSleep' AND datname = current_database()",
            );
            if busy != "0" {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Holder {
            child,
            db: db.to_string(),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // The server would notice the client gone only when the sleep ends.
        common::psql(
            &self.db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid() \
               AND datname = current_database()",
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_lock_held_elsewhere_ends_verify_within_its_deadline_naming_it() {
    if !on_postgres() {
        println!(
            "skipped on SQLite: these are PostgreSQL's locks (the SQLite write lock is in tests/concurrency.rs)"
        );
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let db = env.database.clone().unwrap();
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    for (sql, named) in [
        (
            format!("SELECT pg_advisory_lock({LOG_LOCK})"),
            "audit log's lock",
        ),
        (
            "SELECT 1 FROM totpctl.totps WHERE account = 'alice' FOR UPDATE".to_string(),
            "row lock",
        ),
        (
            "LOCK TABLE totpctl.events IN ACCESS EXCLUSIVE MODE".to_string(),
            "totpctl's tables",
        ),
    ] {
        let _holder = Holder::start(&db, &sql);
        let started = Instant::now();
        let out = env
            .cmd()
            .args([
                "--json",
                "--timeout",
                "2",
                "verify",
                "alice",
                &code,
                "--at",
                &t.to_string(),
            ])
            .write_stdin("")
            .output()
            .unwrap();
        let took = started.elapsed();
        let e = common::parse_one_json(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{sql}: {e}");
        assert_eq!(e["error"]["code"], "store_error", "{sql}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(named),
            "{sql}: should name {named:?}: {e}"
        );
        assert!(took < Duration::from_secs(6), "{sql}: took {took:?}");
        // Another command waits no longer than it is told either.
        let started = Instant::now();
        let out = env.run(&["--timeout", "1", "unlock", "alice"]);
        assert_eq!(out.status.code(), Some(2), "{sql}: {}", stderr(&out));
        assert!(started.elapsed() < Duration::from_secs(6), "{sql}");
    }
    // Once nothing holds them, the code is accepted, once.
    let out = env.run(&["verify", "alice", &code, "--at", &t.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn pam_fails_closed_within_the_deadline_when_the_log_is_held() {
    if !on_postgres() {
        println!("skipped on SQLite: a PostgreSQL lock");
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let db = env.database.clone().unwrap();
    let _holder = Holder::start(&db, &format!("SELECT pg_advisory_lock({LOG_LOCK})"));
    let started = Instant::now();
    let out = env
        .cmd()
        .arg("verify")
        .arg("--pam")
        .args(env.pam_args())
        .args(["--timeout", "2"])
        .env("PAM_USER", "alice")
        .write_stdin(format!("{}\0", oathtool(&alice.secret, chrono_now(), &[])))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(6));
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
